"""Fixtures for end-to-end tests: real devnode processes started by the real devcluster, on free
ports of 127.0.0.1, in a temporary home. Every process a test starts is ended by its pid."""

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("DEVCLUSTER_BIN_DIR", ROOT / ".build" / "release"))
DEVCLUSTER = BIN / "devcluster"
DEVNODE = BIN / "devnode"


def port_block_free(base, count):
    for port in range(base, base + count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def _ephemeral_range():
    """The kernel's range for outgoing connections' ports: a node must not listen in it, or a client
    connection of a previous test could hold its port."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


# Ports for test clusters: below the ephemeral range (unless it starts too low to leave room).
PORTS_LOW = 20000
PORTS_HIGH = max(PORTS_LOW + 2000, min(32000, _ephemeral_range()[0] - 100))
_next_base = [PORTS_LOW + (os.getpid() * 37) % (PORTS_HIGH - PORTS_LOW)]


def free_base_port(count=8):
    """A base port with `count` free ports after it (never 8080: tests must not assume it is free)."""
    for _ in range(2000):
        base = _next_base[0]
        _next_base[0] = PORTS_LOW + (base - PORTS_LOW + count + 3) % (PORTS_HIGH - PORTS_LOW - count)
        if port_block_free(base, count):
            return base
    raise RuntimeError("no free port block found")


class PortBlocker:
    """Holds a port busy with a listening socket (a stand-in for some other program)."""

    def __init__(self, port):
        self.port = port
        self.socket = socket.socket()
        # Still blocks a second listener, and binds even while old connections linger in TIME_WAIT.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", port))
        self.socket.listen(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.socket.close()


def process_alive(pid, marker=None):
    """Alive and not a zombie (and, with a marker, still running our command line)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat[stat.rindex(")") + 2]
    if state in "ZX":
        return False
    if marker is not None:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False
        return marker in cmdline
    return True


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Cluster:
    """One cluster home, driven through the devcluster command line."""

    def __init__(self, home, name="dev"):
        self.home = Path(home)
        self.name = name
        self.env = dict(os.environ, DEVCLUSTER_HOME=str(self.home), NO_COLOR="1")
        for key in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"):
            self.env.pop(key, None)

    def run(self, *args, check=True, timeout=60):
        cmd = [str(DEVCLUSTER), *map(str, args), "--name", self.name]
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p

    def up(self, count=4, *extra, demo=True):
        args = ["up", count, "--base-port", free_base_port(count + 4), *extra]
        if demo:
            args.append("--demo")
        return self.run(*args)

    @property
    def dir(self):
        return self.home / self.name

    def record(self):
        return json.loads((self.dir / "cluster.json").read_text())

    def status(self):
        p = self.run("status", "--json", check=False)
        assert p.returncode in (0, 1, 2), p.stderr
        return json.loads(p.stdout), p.returncode

    def node(self, node_id):
        return next(n for n in self.record()["nodes"] if n["id"] == node_id)

    def pid(self, node_id):
        process = self.node(node_id).get("process")
        return process["pid"] if process else None

    def port(self, node_id):
        return self.node(node_id)["port"]

    def endpoint(self, node_id):
        return self.node(node_id)["endpoint"]

    def marker(self, node_id):
        return str(self.dir / node_id / "config.json")

    def events(self):
        p = self.run("events", "--json")
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

    def log(self, node_id):
        return (self.dir / node_id / "node.log").read_text()

    def signed_headers(self, method, target, caller="test", body=b""):
        r = self.record()
        return internode_headers(r["accessKey"], r["secretKey"], method, target, caller, body)

    def pids(self):
        return {n["id"]: (n["process"]["pid"] if n.get("process") else None) for n in self.record()["nodes"]}

    def cleanup(self):
        """down --purge, then SIGKILL anything of ours still alive, by pid."""
        if not (self.dir / "cluster.json").exists():
            return
        pids = {}
        try:
            pids = {nid: pid for nid, pid in self.pids().items() if pid}
            self.run("down", "--purge", check=False, timeout=60)
        finally:
            for nid, pid in pids.items():
                if process_alive(pid, self.marker(nid)):
                    os.kill(pid, signal.SIGKILL)


@contextmanager
def four_nodes(home, *buckets):
    """A 4-node cluster (demo timings) with these buckets, ended by its pids however the test ends."""
    from test_s3 import s3_client
    c = Cluster(home)
    try:
        c.up(4)
        for bucket in buckets:
            s3_client(c.endpoint("node1")).create_bucket(Bucket=bucket)
        yield c
    finally:
        c.cleanup()


@pytest.fixture
def home():
    with tempfile.TemporaryDirectory(prefix="dc-e2e-") as d:
        yield d


@pytest.fixture
def cluster(home):
    c = Cluster(home)
    yield c
    c.cleanup()


@pytest.fixture
def running(cluster):
    """A 4-node cluster with the demo timings (200ms heartbeats, offline after 1s)."""
    cluster.up(4)
    return cluster


def internode_headers(access_key, secret_key, method, target, caller="test", body=b"", ms=None, nonce=None,
                      trailer=False):
    """The headers of a request to a node's internal endpoints, signed as a node or devcluster signs
    (Sources/Cluster/ClusterKey.swift): HMAC-SHA256 over method, target, caller, time, nonce and the
    body's Poly1305 tag (key: HMAC of the nonce). `trailer`: the body is streamed and ends with its tag
    (`body_tag`). A fresh random session per call, so no two calls share a nonce."""
    key = internode_key(access_key, secret_key)
    ms = str(int(time.time() * 1000)) if ms is None else str(ms)
    nonce = nonce or f"{os.urandom(8).hex()}.1"
    tag = "trailer" if trailer else body_tag(key, nonce, body).hex()
    sig = hmac.new(key, f"{method}\n{target}\n{caller}\n{ms}\n{nonce}\n{tag}".encode(), hashlib.sha256).hexdigest()
    return {"X-Dc-Caller": caller, "X-Dc-Time": ms, "X-Dc-Nonce": nonce, "X-Dc-Body": tag, "X-Dc-Signature": sig}


def internode_key(access_key, secret_key):
    return hmac.new(secret_key.encode(), f"devcluster-internode-v2\n{access_key}".encode(), hashlib.sha256).digest()


def body_tag(key, nonce, body):
    """Poly1305 of `body` under the request's own key."""
    from cryptography.hazmat.primitives.poly1305 import Poly1305
    return Poly1305.generate_tag(hmac.new(key, f"body\n{nonce}".encode(), hashlib.sha256).digest(), body)


def wait_until(predicate, timeout, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{message} not met within {timeout}s")


def s3_error(call):
    """The S3 error code and HTTP status a boto3 call fails with (it must fail)."""
    import botocore
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]
