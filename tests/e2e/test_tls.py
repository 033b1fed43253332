"""TLS end to end: `devcluster up --tls` and devnodes with `--certs-dir`, through every real client of
the suite (aws cli, boto3, s3cmd, rclone, minio-py) given the cluster's CA; internode calls over TLS
(a node's port speaks nothing else, yet every node sees every other); a node failure and its rebuild;
and the refusals: plain HTTP, an untrusted client, a node without its certificate."""

import hashlib
import json
import os
import socket
import ssl
import subprocess
import urllib.request

import boto3
import botocore
import pytest
import urllib3
from botocore.config import Config
from minio import Minio

from conftest import DEVCLUSTER, DEVNODE, Cluster, free_base_port, wait_until

MiB = 1 << 20
KEY, SECRET = "minioadmin", "minioadmin"


def run(cmd, env, timeout=300):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{cmd} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
    return p.stdout


def client(endpoint, ca):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                        region_name="us-east-1", verify=ca, config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def secure(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("tls"))
    try:
        c.up(4, "--tls")
        yield c
    finally:
        c.cleanup()


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    path = tmp_path_factory.mktemp("payload") / "f"
    path.write_bytes(os.urandom(12 * MiB + 5))
    return path


def env_of(cluster):
    env = dict(os.environ)
    env.update(json.loads(cluster.run("env", "--format", "json").stdout))
    return env


def health(url, ca=None):
    context = ssl.create_default_context(cafile=ca) if ca else None
    with urllib.request.urlopen(url + "/minio/health/live", timeout=5, context=context) as r:
        return r.status


def test_every_client_works_over_tls_with_the_clusters_ca(secure, payload, tmp_path):
    env = env_of(secure)
    ca = env["AWS_CA_BUNDLE"]
    assert ca == str(secure.dir / "certs" / "ca.crt")
    assert all(n["endpoint"].startswith("https://127.0.0.1:") for n in secure.record()["nodes"])
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()
    sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()

    # aws cli, from the environment devcluster env prints (12 MiB: a multipart upload).
    run(["aws", "s3", "mb", "s3://tls-aws"], env)
    run(["aws", "s3", "cp", str(payload), "s3://tls-aws/f"], env)
    run(["aws", "s3", "cp", "s3://tls-aws/f", str(tmp_path / "aws")], env)
    assert sha(tmp_path / "aws") == digest

    # boto3, through another node.
    s3 = client(secure.endpoint("node3"), ca)
    s3.create_bucket(Bucket="tls-boto")
    s3.put_object(Bucket="tls-boto", Key="small", Body=b"x" * 1000)
    assert s3.get_object(Bucket="tls-boto", Key="small")["Body"].read() == b"x" * 1000
    assert client(secure.endpoint("node2"), ca).get_object(Bucket="tls-aws", Key="f")["Body"].read() == payload.read_bytes()

    # s3cmd with --ca-certs.
    port = secure.port("node2")
    cfg = tmp_path / "s3cfg"
    cfg.write_text(f"[default]\naccess_key = {KEY}\nsecret_key = {SECRET}\nhost_base = 127.0.0.1:{port}\n"
                   f"host_bucket = 127.0.0.1:{port}\nuse_https = True\nsignature_v2 = False\n")
    s3cmd = ["s3cmd", "-c", str(cfg), f"--ca-certs={ca}"]
    run(s3cmd + ["mb", "s3://tls-s3cmd"], env)
    run(s3cmd + ["put", "--multipart-chunk-size-mb=5", str(payload), "s3://tls-s3cmd/f"], env)
    run(s3cmd + ["get", "--force", "s3://tls-s3cmd/f", str(tmp_path / "s3cmd")], env)
    assert sha(tmp_path / "s3cmd") == digest

    # rclone with --ca-cert.
    renv = dict(env, RCLONE_CONFIG_DC_TYPE="s3", RCLONE_CONFIG_DC_PROVIDER="Minio", RCLONE_CONFIG_DC_ACCESS_KEY_ID=KEY,
                RCLONE_CONFIG_DC_SECRET_ACCESS_KEY=SECRET, RCLONE_CONFIG_DC_ENDPOINT=secure.endpoint("node4"),
                RCLONE_S3_UPLOAD_CUTOFF="5M", RCLONE_S3_CHUNK_SIZE="5M")
    renv.pop("AWS_CA_BUNDLE")
    run(["rclone", "--ca-cert", ca, "mkdir", "dc:tls-rclone"], renv)
    run(["rclone", "--ca-cert", ca, "copyto", str(payload), "dc:tls-rclone/f"], renv)
    run(["rclone", "--ca-cert", ca, "copyto", "dc:tls-rclone/f", str(tmp_path / "rclone")], renv)
    assert sha(tmp_path / "rclone") == digest

    # minio-py with an http client that trusts the CA.
    mc = Minio(f"127.0.0.1:{secure.port('node1')}", access_key=KEY, secret_key=SECRET, secure=True,
               http_client=urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca))
    mc.make_bucket("tls-minio")
    mc.fput_object("tls-minio", "f", str(payload))
    mc.fget_object("tls-minio", "f", str(tmp_path / "minio"))
    assert sha(tmp_path / "minio") == digest


def test_a_node_killed_and_restarted_over_tls_is_detected_read_around_and_rebuilt(secure, payload):
    ca = str(secure.dir / "certs" / "ca.crt")
    s3 = client(secure.endpoint("node1"), ca)
    s3.create_bucket(Bucket="tls-heal")
    for i in range(5):
        s3.put_object(Bucket="tls-heal", Key=f"k{i}", Body=payload.read_bytes()[: (i + 1) * MiB])
    secure.run("kill", "node2")
    secure.run("wait-for", "node2=offline", "--within", "10s")
    for i in range(5):
        assert s3.get_object(Bucket="tls-heal", Key=f"k{i}")["Body"].read() == payload.read_bytes()[: (i + 1) * MiB]
    s3.put_object(Bucket="tls-heal", Key="while-down", Body=b"w" * 70000)
    secure.run("wipe", "node2")
    secure.run("start", "node2")
    secure.run("wait-for", "all=online", "--within", "30s")
    wait_until(lambda: secure.run("verify", check=False).returncode == 0, 60, interval=1, message="verify clean")


def test_plain_http_and_untrusted_clients_are_refused_and_the_node_carries_on(secure):
    endpoint = secure.endpoint("node1")
    port = secure.port("node1")
    # Plain HTTP to a TLS port: no answer, the connection is dropped.
    with pytest.raises((ConnectionError, urllib.error.URLError, OSError)):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/minio/health/live", timeout=5)
    # A signed internode call in clear text never reaches the handler either: the nodes' own calls,
    # which do reach it (every node sees every other), are TLS.
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /_dc/v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(100) == b""
    s.close()
    status, _ = secure.status()
    assert all(v == "online" for n in status["nodes"] for k, v in (n.get("view") or {}).items() if k != n["id"])
    # A client without the CA: certificate verification fails.
    with pytest.raises(botocore.exceptions.SSLError):
        client(endpoint, True).list_buckets()
    # With it, the same node answers.
    assert health(endpoint, str(secure.dir / "certs" / "ca.crt")) == 200


def test_devnodes_started_by_hand_with_certs_made_by_devcluster_certs(tmp_path):
    certs = tmp_path / "certs"
    out = run([str(DEVCLUSTER), "certs", "--hosts", "localhost", "--name", "127.0.0.1", "--out", str(certs)], dict(os.environ))
    assert "localhost" in out and (certs / "localhost" / "private.key").stat().st_mode & 0o077 == 0
    folder = certs / "localhost"
    ca = str(certs / "ca" / "ca.crt")
    base = free_base_port(4)
    env = dict(os.environ)
    env.pop("MINIO_ROOT_USER", None)
    env.pop("MINIO_ROOT_PASSWORD", None)
    procs = []
    try:
        for i in range(4):
            procs.append(subprocess.Popen(
                [str(DEVNODE), "--certs-dir", str(folder), "--address", f"127.0.0.1:{base + i}",
                 "--data", str(tmp_path / f"d{i + 1}"), "--heartbeat-interval", "200ms", "--dead-after", "1s",
                 f"https://127.0.0.1:{{{base}...{base + 3}}}"],
                stdout=open(tmp_path / f"log{i + 1}", "w"), stderr=subprocess.STDOUT, env=env))

        def whole():
            try:
                context = ssl.create_default_context(cafile=ca)
                heads = []
                for i in range(4):
                    with urllib.request.urlopen(f"https://127.0.0.1:{base + i}/minio/health/cluster", timeout=2,
                                                context=context) as r:
                        heads.append(r.headers.get("X-Dc-Whole"))
                return heads == ["4/4"] * 4
            except OSError:
                return False
        wait_until(whole, 15, message="4/4 whole over TLS")
        s3 = client(f"https://localhost:{base + 2}", ca)
        s3.create_bucket(Bucket="by-hand")
        s3.put_object(Bucket="by-hand", Key="k", Body=b"z" * (3 * MiB))
        assert client(f"https://127.0.0.1:{base}", ca).get_object(Bucket="by-hand", Key="k")["Body"].read() == b"z" * (3 * MiB)
        # The container health check, over TLS.
        check = [str(DEVNODE), "--health-check", "--address", f"127.0.0.1:{base + 1}"]
        assert subprocess.run(check + ["--certs-dir", str(folder)], timeout=10).returncode == 0
        assert subprocess.run(check, timeout=10).returncode == 1  # plain HTTP gets no answer
        # A node whose URLs are https:// but whose folder has no certificate says what to do.
        p = subprocess.run([str(DEVNODE), "--certs-dir", str(tmp_path / "empty"), "--address", f"127.0.0.1:{base + 3}",
                            "--data", str(tmp_path / "d5"), f"https://127.0.0.1:{{{base}...{base + 3}}}"],
                           capture_output=True, text=True, timeout=10, env=env)
        assert p.returncode == 1 and "public.crt" in p.stderr and "devcluster certs" in p.stderr, p.stderr
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
