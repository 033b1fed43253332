"""devnode on its own: MinIO-style standalone start, config errors, and the internal prefix's auth."""

import http.client
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import DEVNODE, PortBlocker, free_base_port, internode_headers, process_alive, wait_until


def get(port, path, headers=None, method="GET", body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


@pytest.fixture
def standalone(tmp_path):
    """Three devnodes started by hand, the way `minio server` is: every member on the command line."""
    base = free_base_port(3)
    procs = []
    env = dict(os.environ)
    env.pop("MINIO_ROOT_USER", None)
    env.pop("MINIO_ROOT_PASSWORD", None)
    for i in range(3):
        procs.append(subprocess.Popen(
            [str(DEVNODE), "--address", f"127.0.0.1:{base + i}", "--data", str(tmp_path / f"d{i + 1}"),
             "--heartbeat-interval", "200ms", "--dead-after", "1s", f"http://127.0.0.1:{{{base}...{base + 2}}}"],
            stdout=open(tmp_path / f"log{i + 1}", "w"), stderr=subprocess.STDOUT, env=env))
    try:
        yield base, procs, tmp_path
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()


def test_standalone_nodes_find_each_other_from_the_ellipsis_list(standalone):
    base, procs, tmp = standalone
    def all_whole():
        # Online, and each past deciding whether its empty folder is a new deployment or a lost disk.
        try:
            return all(get(base + i, "/minio/health/cluster")[1].get("X-Dc-Whole") == "3/3" for i in range(3))
        except OSError:
            return False
    wait_until(all_whole, 5, message="3/3 online and whole")
    status, headers, body = get(base, "/minio/health/live")
    assert status == 200 and body == b"live\n"
    lines = [json.loads(l) for l in (tmp / "log2").read_text().splitlines()]
    assert any(l.get("msg", "").startswith("devnode") and l["node"] == "node2" for l in lines)
    # SIGTERM: a clean exit 0.
    procs[1].send_signal(signal.SIGTERM)
    assert procs[1].wait(timeout=10) == 0
    wait_until(lambda: get(base, "/minio/health/cluster")[1].get("X-Dc-Online") == "2/3", 5, message="node2 seen offline")
    # Two of three is still a majority; stopping one more would not be.
    assert get(base, "/minio/health/cluster")[0] == 200
    assert get(base, "/minio/health/cluster?maintenance=true")[0] == 412


def test_the_internal_prefix_refuses_unsigned_and_wrongly_signed_requests(standalone):
    base, _, _ = standalone
    wait_until(lambda: _live(base), 5)
    status, _, body = get(base, "/_dc/v1/status")
    assert status == 403 and b"signed with the cluster key" in body
    status, _, body = get(base, "/_dc/v1/status", internode_headers("minioadmin", "another-secret", "GET", "/_dc/v1/status"))
    assert status == 403 and b"bad signature" in body
    signed = internode_headers("minioadmin", "minioadmin", "GET", "/_dc/v1/status")
    status, _, body = get(base, "/_dc/v1/status", signed)
    assert status == 200 and json.loads(body)["node"]["id"] == "node1"
    status, _, body = get(base, "/_dc/v1/status", signed)
    assert status == 403 and b"a replay is refused" in body
    stale = int(time.time() * 1000) - 6 * 60 * 1000
    status, _, body = get(base, "/_dc/v1/status", internode_headers("minioadmin", "minioadmin", "GET", "/_dc/v1/status", ms=stale))
    assert status == 403 and b"away from this node's clock (more than 5m00s)" in body
    # S3 paths answer an unsigned request with an S3 error document: 403 once the node can read bucket
    # records (whether a bucket policy admits anonymous callers); until its peers can answer, a 503.
    # Readable for sure once every node is whole in its view (past deciding whether its empty folder
    # is a new deployment): a 403 seen before that can turn back into a 503 as the others report in.
    wait_until(lambda: get(base, "/minio/health/cluster")[1].get("X-Dc-Whole") == "3/3", 15,
               message="every node whole")
    status, headers, body = get(base, "/bucket/key")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body and headers.get("X-Amz-Request-Id"), body.decode()[100:400]


@pytest.mark.parametrize("config_change,key,hint", [
    (lambda c: c["cluster"].update(heartbeet={}), "cluster.heartbeet", "did you mean 'heartbeat'"),
    (lambda c: c["cluster"]["heartbeat"].update(deadAfter="100ms"), "cluster.heartbeat", "raise dead-after"),
    (lambda c: c["credential"].update(secretKey="short"), "credential.secretKey", "at least 8"),
    (lambda c: c["cluster"].update(listen="127.0.0.1:1"), "cluster.listen", "listen on port"),
])
def test_a_bad_config_exits_2_naming_the_key_and_the_fix(tmp_path, config_change, key, hint):
    port = free_base_port(1)
    config = {
        "version": "1", "credential": {"accessKey": "minioadmin", "secretKey": "minioadmin"},
        "cluster": {"nodeId": "node1", "listen": f"127.0.0.1:{port}", "nodes": [f"http://127.0.0.1:{port}"],
                    "heartbeat": {"interval": "1s", "deadAfter": "3s"}, "dataDir": "data"},
    }
    config_change(config)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    p = subprocess.run([str(DEVNODE), "--config", str(path)], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2, p.stderr
    assert key in p.stderr and hint in p.stderr


def test_a_busy_port_exits_3_with_a_clear_message(tmp_path):
    port = free_base_port(1)
    with PortBlocker(port):
        p = subprocess.run([str(DEVNODE), "--address", f"127.0.0.1:{port}", "--data", str(tmp_path / "d"), f"http://127.0.0.1:{port}"],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 3 and "port is in use" in p.stderr


def test_credentials_come_from_minio_environment_variables(tmp_path):
    port = free_base_port(1)
    env = dict(os.environ, MINIO_ROOT_USER="alice", MINIO_ROOT_PASSWORD="wonderland42")
    p = subprocess.Popen([str(DEVNODE), "--address", f"127.0.0.1:{port}", "--data", str(tmp_path / "d"), f"http://127.0.0.1:{port}"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _live(port), 5)
        assert get(port, "/_dc/v1/status", internode_headers("alice", "wonderland42", "GET", "/_dc/v1/status"))[0] == 200
    finally:
        p.kill()
        p.wait()


def _live(port):
    try:
        return get(port, "/minio/health/live")[0] == 200
    except OSError:
        return False


def start_single(args, tmp_path, env_extra=None):
    """devnode as MinIO users start it; answers the process and the port its first line names."""
    env = dict(os.environ, TMPDIR=str(tmp_path), **(env_extra or {}))
    for key in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"):
        if key not in (env_extra or {}):
            env.pop(key, None)
    p = subprocess.Popen([str(DEVNODE), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    assert line.startswith("devnode: one node, S3 on http://127.0.0.1:"), line
    port = int(line.split("http://127.0.0.1:")[1].split(",")[0])
    return p, port, line


def test_devnode_with_no_arguments_is_a_scratch_node_for_tests(tmp_path):
    from test_s3 import s3_client
    blocker = PortBlocker(9000) if get_free(9000) else None  # 9000 taken: it must move on
    try:
        p, port, line = start_single([], tmp_path)
        try:
            assert port > 9000
            wait_until(lambda: _live(port), 10, message="the node answers")
            s3 = s3_client(f"http://127.0.0.1:{port}")  # minioadmin / minioadmin
            s3.create_bucket(Bucket="unit")
            s3.put_object(Bucket="unit", Key="k", Body=b"scratch")
            assert s3.get_object(Bucket="unit", Key="k")["Body"].read() == b"scratch"
            data = [d for d in tmp_path.iterdir() if d.name.startswith("devnode-")]
            assert len(data) == 1 and str(data[0]) in line and "deleted when it stops" in line
        finally:
            p.send_signal(signal.SIGTERM)
            assert p.wait(timeout=15) == 0
        assert list(tmp_path.iterdir()) == []  # the scratch data went with it
    finally:
        if blocker:
            blocker.__exit__()


def test_scratch_nodes_started_at_once_each_get_a_port(tmp_path):
    """Six scratch nodes started in the same instant each end up with a port of their own, and the first
    line of each, written once it listens, names the port it holds. Whether two of them race for one
    port in a given run is up to the scheduler: when they do, the loser takes the next free port (before,
    it exited 3); when they do not, this still checks the announcement comes once the node listens."""
    nodes = []
    try:
        for i in range(6):
            env = dict(os.environ, TMPDIR=str(tmp_path))
            nodes.append(subprocess.Popen([str(DEVNODE)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          text=True))
        ports = []
        for p in nodes:
            line = p.stderr.readline()
            assert line.startswith("devnode: one node, S3 on http://127.0.0.1:"), (line, p.poll())
            ports.append(int(line.split("http://127.0.0.1:")[1].split(",")[0]))
        assert len(set(ports)) == 6
        assert all(_live(port) for port in ports)  # already listening when it said so
    finally:
        for p in nodes:
            p.send_signal(signal.SIGTERM)
        assert [p.wait(timeout=15) for p in nodes] == [0] * 6


def test_devnode_server_folder_takes_minio_credentials_and_keeps_its_data(tmp_path):
    from test_s3 import s3_client
    folder = tmp_path / "data"
    env = {"MINIO_ROOT_USER": "alice", "MINIO_ROOT_PASSWORD": "wonderland42"}
    p, port, line = start_single(["server", str(folder), "--address", f"127.0.0.1:{free_base_port(1)}"], tmp_path, env)
    try:
        assert "credentials alice / wonderland42" in line and "deleted" not in line
        wait_until(lambda: _live(port), 10, message="the node answers")
        import boto3
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="alice",
                          aws_secret_access_key="wonderland42", region_name="us-east-1")
        s3.create_bucket(Bucket="kept")
        s3.put_object(Bucket="kept", Key="k", Body=b"stays")
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=15) == 0
    assert (folder / "kept").is_dir() or any(folder.rglob("kept*"))
    # Several drives for one node, MinIO's way: refused with the reason.
    r = subprocess.run([str(DEVNODE), "server", str(tmp_path / "d{1...4}")], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "one data folder" in r.stderr


def get_free(port):
    import socket as s
    sock = s.socket()
    try:
        sock.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        sock.close()
