"""A devcluster cluster driven through its command line: started in a folder of its own on free ports,
broken on purpose, and removed at the end."""

import json
import os
import random
import shutil
import subprocess
import tempfile


class DevclusterError(RuntimeError):
    """A devcluster command failed; the message has its output."""


class Cluster:
    """One cluster. `Cluster.start(nodes=4)` makes it; `close()` stops it and deletes its data."""

    def __init__(self, binary, home, record):
        self.binary = binary
        self.home = home
        self._record = record

    @classmethod
    def start(cls, nodes=4, binary=None, demo=True, tls=False, attempts=3):
        """Starts a fresh cluster on free ports (`demo`: failures detected within about a second; `tls`:
        HTTPS, with the cluster's CA in `ca_bundle`)."""
        binary = binary or os.environ.get("DEVCLUSTER_BIN") or shutil.which("devcluster")
        if not binary:
            raise DevclusterError("devcluster is not on PATH: install it, or pass --devcluster-bin PATH")
        home = tempfile.mkdtemp(prefix="devcluster-pytest-")
        last = None
        for _ in range(attempts):
            # Spread over a wide range, so parallel sessions (pytest -n) rarely try the same ports;
            # devcluster skips busy ports itself, and a race for one is retried here.
            base = random.randrange(20000, 40000, 20)
            args = ["up", str(nodes), "--base-port", str(base), "--json"] + (["--demo"] if demo else []) + (
                ["--tls"] if tls else [])
            r = cls._call(binary, home, args, check=False)
            if r.returncode == 0:
                return cls(binary, home, json.loads(r.stdout))
            last = r
            cls._call(binary, home, ["down", "--purge"], check=False)
        shutil.rmtree(home, ignore_errors=True)
        raise DevclusterError(f"devcluster up failed:\n{last.stdout}{last.stderr}")

    @staticmethod
    def _call(binary, home, args, check=True, timeout=120):
        env = dict(os.environ, DEVCLUSTER_HOME=home, NO_COLOR="1")
        r = subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise DevclusterError(f"devcluster {' '.join(args)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
        return r

    def run(self, *args, check=True, timeout=120):
        """Any devcluster command on this cluster; answers the completed process."""
        return self._call(self.binary, self.home, [str(a) for a in args], check=check, timeout=timeout)

    # What a client needs.
    @property
    def endpoints(self):
        return [n["endpoint"] for n in self._record["nodes"]]

    @property
    def endpoint(self):
        return self.endpoints[0]

    def endpoint_of(self, node):
        return next(n["endpoint"] for n in self._record["nodes"] if n["id"] == node)

    @property
    def nodes(self):
        return [n["id"] for n in self._record["nodes"]]

    @property
    def access_key(self):
        return self._record["accessKey"]

    @property
    def secret_key(self):
        return self._record["secretKey"]

    @property
    def region(self):
        return self._record["region"]

    @property
    def environment(self):
        """AWS_ENDPOINT_URL, keys, region and DEVCLUSTER_HOME (and AWS_CA_BUNDLE with TLS), as
        `devcluster env` prints them."""
        return dict(self._record["environment"])

    @property
    def ca_bundle(self):
        """The CA file HTTPS clients must trust (a `tls` cluster), else None."""
        return self._record["environment"].get("AWS_CA_BUNDLE")

    def client(self, node=None, **config):
        """A boto3 S3 client for one node (the first by default), retrying as boto3 does by default."""
        import boto3
        from botocore.config import Config
        return boto3.client(
            "s3", endpoint_url=self.endpoint_of(node) if node else self.endpoint,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key, region_name=self.region,
            verify=self.ca_bundle, config=Config(**config) if config else None)

    # Breaking it: each is the devcluster command of the same name.
    def kill(self, nodes):
        self.run("kill", nodes)

    def stop(self, nodes):
        self.run("stop", nodes)

    def start_nodes(self, nodes):
        self.run("start", nodes)

    def restart(self, nodes):
        self.run("restart", nodes)

    def pause(self, nodes):
        self.run("pause", nodes)

    def resume(self, nodes):
        self.run("resume", nodes)

    def partition(self, group_a, group_b, oneway=False):
        self.run("partition", ",".join(group_a), ",".join(group_b), *(["--oneway"] if oneway else []))

    def isolate(self, nodes):
        self.run("isolate", nodes)

    def slow(self, nodes, delay):
        self.run("slow", nodes, delay)

    def disk_full(self, nodes, undo=False):
        self.run("disk-full", nodes, *(["--undo"] if undo else []))

    def heal_partition(self):
        self.run("heal-partition")

    def wait_for(self, condition, within="10s", seen_by=None):
        """`node2=offline`, `node2=online`, `node2=stopped` ...; raises DevclusterError on timeout."""
        self.run("wait-for", condition, "--within", within, *(["--seen-by", seen_by] if seen_by else []))

    def events(self, last=1000):
        """The merged timeline: every node's events and the launcher's actions, oldest first."""
        out = self.run("events", "-n", last, "--json").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def status(self):
        return json.loads(self.run("status", "--json", check=False).stdout)

    def verify(self):
        """Whether every object is readable, byte-exact and fully redundant on every node."""
        return self.run("verify", check=False).returncode == 0

    def restore(self, within="30s"):
        """Undoes every fault: faults cleared, paused nodes resumed, stopped ones started, all online."""
        self.run("faults", "clear")
        status = self.status()
        for node in status["nodes"]:
            if node["process"] == "paused":
                self.resume(node["id"])
            elif node["process"] == "stopped":
                self.start_nodes(node["id"])
        for node in self.nodes:
            self.wait_for(f"{node}=online", within=within)

    def close(self):
        """Stops every node and deletes the cluster's data."""
        self.run("down", "--purge", check=False)
        shutil.rmtree(self.home, ignore_errors=True)
