"""devnode on its own: MinIO-style standalone start, config errors, and the internal prefix's auth."""

import hashlib
import hmac
import http.client
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import DEVNODE, PortBlocker, free_base_port, process_alive, wait_until


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
    def all_online():
        try:
            return all(get(base + i, "/minio/health/cluster")[1].get("X-Dc-Online") == "3/3" for i in range(3))
        except OSError:
            return False
    wait_until(all_online, 5, message="3/3 online")
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
    ms = str(int(time.time() * 1000))
    wrong_key = hmac.new(b"not-the-key", f"GET\n/_dc/v1/status\nme\n{ms}".encode(), hashlib.sha256).hexdigest()
    status, _, body = get(base, "/_dc/v1/status", {"X-Dc-Caller": "me", "X-Dc-Time": ms, "X-Dc-Signature": wrong_key})
    assert status == 403 and b"bad signature" in body
    key = hmac.new(b"minioadmin", b"devcluster-internode-v1\nminioadmin", hashlib.sha256).digest()
    sig = hmac.new(key, f"GET\n/_dc/v1/status\nme\n{ms}".encode(), hashlib.sha256).hexdigest()
    status, _, body = get(base, "/_dc/v1/status", {"X-Dc-Caller": "me", "X-Dc-Time": ms, "X-Dc-Signature": sig})
    assert status == 200 and json.loads(body)["node"]["id"] == "node1"
    stale = str(int(time.time() * 1000) - 20 * 60 * 1000)
    sig = hmac.new(key, f"GET\n/_dc/v1/status\nme\n{stale}".encode(), hashlib.sha256).hexdigest()
    status, _, body = get(base, "/_dc/v1/status", {"X-Dc-Caller": "me", "X-Dc-Time": stale, "X-Dc-Signature": sig})
    assert status == 403 and b"away from this node's clock" in body
    # S3 paths answer an unsigned request with an S3 error document: 403 once the node can read bucket
    # records (whether a bucket policy admits anonymous callers); until its peers are up, a 503.
    wait_until(lambda: get(base, "/minio/health/cluster")[1].get("X-Dc-Online") == "3/3", 10, message="all online")
    status, headers, body = get(base, "/bucket/key")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body and headers.get("X-Amz-Request-Id")


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
        key = hmac.new(b"wonderland42", b"devcluster-internode-v1\nalice", hashlib.sha256).digest()
        ms = str(int(time.time() * 1000))
        sig = hmac.new(key, f"GET\n/_dc/v1/status\nme\n{ms}".encode(), hashlib.sha256).hexdigest()
        assert get(port, "/_dc/v1/status", {"X-Dc-Caller": "me", "X-Dc-Time": ms, "X-Dc-Signature": sig})[0] == 200
    finally:
        p.kill()
        p.wait()


def _live(port):
    try:
        return get(port, "/minio/health/live")[0] == 200
    except OSError:
        return False
