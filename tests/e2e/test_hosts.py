"""Four hosts on one machine (network namespaces, tests/e2e/hosts.py), each running one devnode from the
MinIO-style command line a user types on each host, names resolved through a hosts file. S3 traffic
comes from a client host. A node is killed and restarted, a host is cut off by taking its link down,
and the test checks detection, degraded reads, writes meanwhile, healing and that every node ends up
holding a good shard of every object. `make demo-hosts` runs it narrated."""

import hashlib
import http.client
import json
import os
import signal
import ssl
import subprocess
import time

import boto3
import pytest
from botocore.config import Config

from conftest import DEVCLUSTER, DEVNODE, internode_headers, wait_until
from hosts import Hosts
from test_deploy import systemd_command

NAMES = ["node1", "node2", "node3", "node4"]
SIZES = [100, 40_000, 1 << 20, (3 << 20) + 17]  # inline, small, one block, several blocks


def body(key, size):
    seed = hashlib.sha256(key.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def wait(what, predicate, timeout=30, interval=0.1):
    wait_until(predicate, timeout, interval=interval, message=what)


class Node:
    """One host's node, as seen from the client host."""

    def __init__(self, hosts, name, tls=None):
        """`tls`: an ssl context trusting the nodes' CA, for nodes that serve HTTPS."""
        self.hosts, self.name, self.address, self.tls = hosts, name, hosts.address(name), tls

    def _get(self, path, timeout=5):
        """(status, headers, body), or (None, {}, b"") when the node does not answer."""
        def call():
            c = (http.client.HTTPSConnection(self.address, 9000, timeout=timeout, context=self.tls) if self.tls
                 else http.client.HTTPConnection(self.address, 9000, timeout=timeout))
            try:
                c.request("GET", path, headers=internode_headers("minioadmin", "minioadmin", "GET", path))
                r = c.getresponse()
                return r.status, dict(r.getheaders()), r.read()
            finally:
                c.close()
        try:
            return self.hosts.client(call)
        except OSError:
            return None, {}, b""

    def whole(self):
        """How many nodes this one sees online and not rebuilding (X-Dc-Whole of its cluster health)."""
        status, headers, _ = self._get("/minio/health/cluster")
        return headers.get("X-Dc-Whole") if status is not None else None

    def view(self):
        """How this node sees the others (None when it does not answer)."""
        status, _, data = self._get("/_dc/v1/status")
        return {p["id"]: p["state"] for p in json.loads(data)["peers"]} if status == 200 else None

    def shards(self):
        """Every shard this node holds, read back and checked (None when it does not answer)."""
        status, _, data = self._get("/_dc/v1/verify", timeout=60)
        return [json.loads(line) for line in data.splitlines() if line.strip()] if status == 200 else None


def detection(tmp_path, observers, peer, since):
    """How long after `since` (wall clock, s) each observer's log first says `peer` is suspect and
    offline: {observer: {event: seconds}}. What `make demo-hosts` reports of a real link cut."""
    from datetime import datetime
    out = {}
    for name in observers:
        for line in (tmp_path / f"{name}.log").read_text().splitlines():
            if not line.startswith("{"):
                continue
            e = json.loads(line)
            if e.get("peer") != peer or e.get("event") not in ("node_suspect", "node_offline"):
                continue
            at = datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp()
            if at >= since:
                out.setdefault(name, {}).setdefault(e["event"], at - since)
    return out


def seen_as(nodes, name, state):
    views = [n.view() for n in nodes if n.name != name]
    return all(v is not None and v.get(name) == state for v in views)


def fully_redundant(nodes, keys):
    """Every node holds a good shard of every object, all of the same write, each the shard its placement
    names for it."""
    by_object = {}
    for n in nodes:
        lines = n.shards()
        if lines is None:
            return False  # not yet: it does not answer
        for line in lines:
            by_object.setdefault(line["key"], {})[n.name] = line
    for key in keys:
        held = by_object.get(key, {})
        writes = {(s["versionId"], s["modTime"], s["etag"]) for s in held.values()}
        if set(held) != {n.name for n in nodes} or len(writes) != 1:
            return False
        if any(s["status"] != "ok" for s in held.values()) or len({s["shard"] for s in held.values()}) != len(nodes):
            return False
        # Each shard back on the node its placement names (no stand-in keeps it after a recovery).
        if any(s["shard"] != s.get("placed") for s in held.values()):
            return False
    return True


def test_four_hosts_detect_serve_degraded_and_heal_across_a_real_network(tmp_path):
    why = Hosts.unavailable()
    if why:
        pytest.skip(why)
    say = print if os.environ.get("DEVCLUSTER_DEMO") else (lambda line: None)
    data = tmp_path / "data"
    data.mkdir()
    for name in NAMES:
        (tmp_path / name).mkdir()
    # What `devcluster deploy --format systemd` starts on each host, as a user would type it (the path is
    # the same everywhere; each host has its own disk there).
    command, _ = systemd_command(tmp_path / "deploy", data, "--heartbeat-interval", "200ms", "--dead-after", "1s")
    assert command == [str(DEVNODE), "--address", ":9000", "--heartbeat-interval", "200ms", "--dead-after", "1s",
                       f"http://node{{1...4}}:9000{data}"]
    with Hosts(tmp_path, NAMES, say=say) as hosts:
        def start(name):
            say(f"{name}: {' '.join(command[1:])}")
            return hosts.start(name, command, binds=[(tmp_path / name, data)], log=tmp_path / f"{name}.log")

        processes = {name: start(name) for name in NAMES}
        nodes = [Node(hosts, name) for name in NAMES]
        wait("every node sees every other online",
             lambda: all(seen_as(nodes, n, "online") for n in NAMES), timeout=30)
        say("every node sees every other online")

        def s3(node):
            return hosts.client(lambda: boto3.client(
                "s3", endpoint_url=f"http://{hosts.address(node)}:9000", aws_access_key_id="minioadmin",
                aws_secret_access_key="minioadmin", region_name="us-east-1",
                config=Config(retries={"max_attempts": 1}, connect_timeout=3, read_timeout=30)))

        def put(client, key, size):
            hosts.client(lambda: client.put_object(Bucket="hosts", Key=key, Body=body(key, size)))

        def check(client, key, size):
            got = hosts.client(lambda: client.get_object(Bucket="hosts", Key=key)["Body"].read())
            assert got == body(key, size), key

        clients = {name: s3(name) for name in NAMES}
        # At once, as a script would: the nodes may still be deciding whether their empty folders mean a
        # new deployment or lost disks, and a bucket made meanwhile must not make them think the latter.
        hosts.client(lambda: clients["node1"].create_bucket(Bucket="hosts"))
        wait("every node whole in every view", lambda: all(n.whole() == "4/4" for n in nodes))
        for name in NAMES:
            log = (tmp_path / f"{name}.log").read_text()
            assert "the cluster is new" in log and "rebuilding it from them" not in log, name
        # devcluster on the client host, for a deployment it did not start: the members' URLs.
        members = ["--endpoints", "http://node{1...4}:9000"]
        status = hosts.run("client", [DEVCLUSTER, "status", "--json", *members])
        doc = json.loads(status.stdout)
        assert status.returncode == 0 and doc["verdict"] == "healthy", status.stderr
        assert [(n["id"], n["process"], n["seenAs"]) for n in doc["nodes"]] == [
            (name, "remote", "online") for name in NAMES]
        refused = hosts.run("client", [DEVCLUSTER, "wait-for", "node2=stopped", *members])
        assert refused.returncode == 64 and "did not start" in refused.stderr  # no process to know of
        objects = {f"before/{i}": SIZES[i % len(SIZES)] for i in range(8)}
        for key, size in objects.items():
            put(clients["node1"], key, size)
        for name in NAMES:
            for key, size in objects.items():
                check(clients[name], key, size)
        say(f"{len(objects)} objects written through node1, read back through every host")

        # A crash: node2's process is killed; the others notice over the network.
        hosts.stop(processes["node2"], signal.SIGKILL)
        say("node2: killed (SIGKILL)")
        waited = hosts.run("client", [DEVCLUSTER, "wait-for", "node2=offline", "--within", "15s", *members])
        assert waited.returncode == 0, waited.stderr
        assert seen_as(nodes, "node2", "offline")
        assert json.loads(hosts.run("client", [DEVCLUSTER, "status", "--json", *members]).stdout)["verdict"] == "degraded"
        say(f"node2 is offline in every other node's view (devcluster wait-for: {waited.stdout.strip()})")
        for key, size in objects.items():
            check(clients["node3"], key, size)  # degraded: one shard short
        during = {f"during-kill/{i}": SIZES[i % len(SIZES)] for i in range(4)}
        for key, size in during.items():
            put(clients["node4"], key, size)
        objects |= during
        say("degraded reads through node3 and 4 new writes through node4 while node2 is down")
        processes["node2"] = start("node2")
        wait("node2 online again", lambda: seen_as(nodes, "node2", "online"), timeout=30)
        wait("every node holds a good shard of every object", lambda: fully_redundant(nodes, objects), timeout=60,
             interval=0.5)
        say("node2 is back, and every node holds a good shard of every object (the missed writes replayed)")

        # A network fault: node3's link goes down; its process keeps running, alone.
        cut_at = time.time()
        hosts.link("node3", up=False)
        wait("node3 offline in every other view", lambda: seen_as(nodes, "node3", "offline"), timeout=15)
        assert nodes[2].view() is None  # the client cannot reach it either
        seen = detection(tmp_path, ["node1", "node2", "node4"], "node3", cut_at)
        assert all("node_offline" in seen.get(n, {}) for n in ("node1", "node2", "node4")), seen
        say("node3 is cut off: offline in every other view; after the cut, "
            + ", ".join(f"{n} suspect at {v.get('node_suspect', float('nan')) * 1000:.0f} ms and offline at "
                        f"{v['node_offline'] * 1000:.0f} ms" for n, v in sorted(seen.items()))
            + " (heartbeats every 200 ms, offline after 1 s of silence)")
        for key, size in objects.items():
            check(clients["node1"], key, size)
        cut = {f"during-cut/{i}": SIZES[i % len(SIZES)] for i in range(4)}
        for key, size in cut.items():
            put(clients["node1"], key, size)
        objects |= cut
        hosts.link("node3", up=True)
        wait("node3 online again", lambda: seen_as(nodes, "node3", "online"), timeout=30)
        wait("every node holds a good shard of every object", lambda: fully_redundant(nodes, objects), timeout=60,
             interval=0.5)
        for key, size in objects.items():
            check(clients["node3"], key, size)
        verified = hosts.run("client", [DEVCLUSTER, "verify", *members], timeout=120)
        assert verified.returncode == 0 and verified.stdout.startswith("clean"), verified.stdout + verified.stderr
        say(f"node3 is back: all {len(objects)} objects fully redundant and readable through it")
        say(f"devcluster verify --endpoints http://node{{1...4}}:9000: {verified.stdout.strip()}")
        for name in NAMES:
            assert hosts.stop(processes[name]) == 0, (tmp_path / f"{name}.log").read_text()[-2000:]


def test_four_hosts_over_tls_with_certificates_from_devcluster_certs(tmp_path):
    """The same deployment over TLS, as a user sets it up: `devcluster certs` makes a CA and a folder per
    host, each host's node runs with `--certs-dir` and https:// members, and nodes verify each other by
    host name. A client trusting the CA reads and writes; a node killed and started again is detected
    and caught up; devcluster checks it all from the client host with AWS_CA_BUNDLE."""
    why = Hosts.unavailable()
    if why:
        pytest.skip(why)
    data, here, certs = tmp_path / "data", tmp_path / "certs-here", tmp_path / "certs"
    for folder in [data, here, *(tmp_path / name for name in NAMES)]:
        folder.mkdir()
    command = [str(DEVNODE), "--certs-dir", str(here), "--address", ":9000", "--heartbeat-interval", "200ms",
               "--dead-after", "1s", f"https://node{{1...4}}:9000{data}"]
    with Hosts(tmp_path, NAMES) as hosts:
        for name in NAMES:  # the host name for its peers, its address for the client (no hosts file there)
            subprocess.run([str(DEVCLUSTER), "certs", "--hosts", name, "--name", hosts.address(name), "--out",
                            str(certs)], check=True, capture_output=True, timeout=30)
        ca = str(certs / "ca" / "ca.crt")

        def start(name):
            return hosts.start(name, command, binds=[(tmp_path / name, data), (certs / name, here)],
                               log=tmp_path / f"{name}.log")

        processes = {name: start(name) for name in NAMES}
        nodes = [Node(hosts, name, tls=ssl.create_default_context(cafile=ca)) for name in NAMES]
        wait("every node sees every other online over TLS",
             lambda: all(seen_as(nodes, n, "online") for n in NAMES), timeout=30)
        clients = {name: hosts.client(lambda name=name: boto3.client(
            "s3", endpoint_url=f"https://{hosts.address(name)}:9000", aws_access_key_id="minioadmin",
            aws_secret_access_key="minioadmin", region_name="us-east-1", verify=ca,
            config=Config(retries={"max_attempts": 1}, connect_timeout=3, read_timeout=30))) for name in NAMES}
        hosts.client(lambda: clients["node1"].create_bucket(Bucket="hosts"))
        wait("every node whole in every view", lambda: all(n.whole() == "4/4" for n in nodes))
        objects = {f"tls/{i}": SIZES[i % len(SIZES)] for i in range(8)}
        for key, size in objects.items():
            hosts.client(lambda: clients["node2"].put_object(Bucket="hosts", Key=key, Body=body(key, size)))
        for name in NAMES:
            for key, size in objects.items():
                got = hosts.client(lambda: clients[name].get_object(Bucket="hosts", Key=key)["Body"].read())
                assert got == body(key, size), (name, key)

        # Clear text to a TLS port gets nothing back.
        def plain():
            c = http.client.HTTPConnection(hosts.address("node1"), 9000, timeout=5)
            try:
                c.request("GET", "/minio/health/live")
                return c.getresponse().status
            except (OSError, http.client.HTTPException):
                return None
            finally:
                c.close()
        assert hosts.client(plain) is None

        members = ["--endpoints", "https://node{1...4}:9000"]
        env = dict(os.environ, AWS_CA_BUNDLE=ca)
        hosts.stop(processes["node2"], signal.SIGKILL)
        waited = hosts.run("client", [DEVCLUSTER, "wait-for", "node2=offline", "--within", "15s", *members], env=env)
        assert waited.returncode == 0, waited.stderr
        for key, size in objects.items():
            got = hosts.client(lambda: clients["node3"].get_object(Bucket="hosts", Key=key)["Body"].read())
            assert got == body(key, size), key
        processes["node2"] = start("node2")
        wait("node2 online again", lambda: seen_as(nodes, "node2", "online"), timeout=30)
        wait("every node holds a good shard of every object", lambda: fully_redundant(nodes, objects), timeout=60,
             interval=0.5)
        verified = hosts.run("client", [DEVCLUSTER, "verify", *members], timeout=120, env=env)
        assert verified.returncode == 0 and verified.stdout.startswith("clean"), verified.stdout + verified.stderr
        for name in NAMES:
            assert hosts.stop(processes[name]) == 0, (tmp_path / f"{name}.log").read_text()[-2000:]
