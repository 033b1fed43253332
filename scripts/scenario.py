#!/usr/bin/env python3
"""Runs a scenario: a tutorial that is also a test (DESIGN.md section 13).

  scripts/scenario.py scenarios/rebuild.scenario            # narrated: explains each step as it goes
  scripts/scenario.py --check scenarios/rebuild.scenario    # as a check: one line a step, exit 1 on a miss

A scenario is a text file of steps, one a line (# starts a comment):

  say TEXT                                 narration (a heading in the narrated run)
  run COMMAND                              a shell command that must succeed (devcluster is the built one)
  expect NODES=STATE within D              devcluster wait-for NODES=STATE --within D
  write N objects of SIZE-SIZE to BUCKET/PREFIX    seeded random objects through S3 (boto3); their SHA-256 are kept
  check objects                            every object written reads back byte-exact (from any running node)
  read the objects N times via NODE within D   GET every object written N times through NODE (byte-exact);
                                           p99 of those GETs must be under D (a bound far from the failure)
  verify within D                          devcluster verify is clean within D (it is retried until then)
  event KIND from NODE within D            NODE reports an event KIND within D (since the step before began)
  event KIND about NODE within D           an event KIND about NODE (its peer or shard) from any node

`{port}` in a command is the cluster's base port. The cluster lives in its own home, ended with
`devcluster down --purge` (by pid) whatever happens.
"""

import argparse
import hashlib
import json
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("DEVCLUSTER_BIN_DIR", ROOT / ".build" / "release"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))


class StepFailed(Exception):
    pass


def duration(text):
    m = re.fullmatch(r"([\d.]+)(ms|s|m)", text)
    if not m:
        raise ValueError(f"'{text}' is not a duration like 500ms, 5s or 2m")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[m.group(2)]


def size(text):
    m = re.fullmatch(r"(\d+)(B|KiB|MiB)", text)
    if not m:
        raise ValueError(f"'{text}' is not a size like 1KiB or 2MiB")
    return int(m.group(1)) * {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20}[m.group(2)]


class Runner:
    def __init__(self, path, check, home, port):
        self.path = Path(path)
        self.check = check
        self.home = home
        self.port = port
        self.env = dict(os.environ, DEVCLUSTER_HOME=str(home), PATH=f"{BIN}:{os.environ['PATH']}")
        if check:
            self.env["NO_COLOR"] = "1"
        self.objects = {}  # "bucket/key" -> sha256
        self.refused = []  # "bucket/key" of writes that had to fail
        self.rng = random.Random(1)
        self.step_started = time.time()
        self.previous_started = time.time()

    # MARK: running commands

    def shell(self, command, timeout=300, quiet=False):
        command = command.replace("{port}", str(self.port))
        if not self.check and not quiet:
            print(f"  $ {command}", flush=True)
        p = subprocess.run(command, shell=True, env=self.env, capture_output=True, text=True, timeout=timeout)
        if not self.check and not quiet:
            for line in (p.stdout + p.stderr).rstrip().splitlines():
                print(f"    {line}")
        return p

    def devcluster(self, *args, timeout=300):
        return subprocess.run([str(BIN / "devcluster"), *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def s3(self, node=None):
        import boto3
        from botocore.config import Config
        status = json.loads(self.devcluster("status", "--json").stdout)
        endpoint = next(n["endpoint"] for n in status["nodes"]
                        if n["process"] == "running" and n.get("view") is not None and node in (None, n["id"]))
        return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=status["accessKey"],
                            aws_secret_access_key=status["secretKey"], region_name="us-east-1",
                            config=Config(retries={"max_attempts": 3, "mode": "standard"}))

    # MARK: steps

    def step_run(self, rest):
        p = self.shell(rest)
        if p.returncode != 0:
            raise StepFailed(f"exited {p.returncode}:\n{(p.stdout + p.stderr)[-1500:]}")
        return p.stdout.strip().splitlines()[0] if p.stdout.strip() else ""

    def step_expect(self, rest):
        m = re.fullmatch(r"(\S+=\S+)(?: seen by (\S+))? within (\S+)", rest)
        if not m:
            raise StepFailed("expect NODES=STATE [seen by NODES] within D")
        args = ["wait-for", m.group(1), "--within", m.group(3)]
        if m.group(2):
            args += ["--seen-by", m.group(2)]
        p = self.shell("devcluster " + " ".join(args))
        if p.returncode != 0:
            raise StepFailed((p.stdout + p.stderr).strip())
        return p.stdout.strip()

    def step_write(self, rest):
        m = re.fullmatch(r"(\d+) objects of (\S+)-(\S+) to ([^/\s]+)/(\S*)( refused)?", rest)
        if not m:
            raise StepFailed("write N objects of SIZE-SIZE to BUCKET/PREFIX [refused]")
        count, low, high, bucket, prefix = int(m.group(1)), size(m.group(2)), size(m.group(3)), m.group(4), m.group(5)
        refused = m.group(6) is not None
        s3 = self.s3()
        if not refused:
            try:
                s3.head_bucket(Bucket=bucket)
            except Exception:
                s3.create_bucket(Bucket=bucket)
        total = 0
        for i in range(count):
            n = self.rng.randint(low, high)
            data = self.rng.randbytes(n)
            key = f"{prefix}{i:05d}"
            if refused:
                # Each must fail with a clear 503 (no write quorum), and never be visible afterwards.
                try:
                    s3.put_object(Bucket=bucket, Key=key, Body=data)
                except Exception as e:
                    status = getattr(e, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
                    if status != 503:
                        raise StepFailed(f"{key}: refused with {status or e}, not 503")
                    self.refused.append(f"{bucket}/{key}")
                    continue
                raise StepFailed(f"{key}: the write was taken, but it should have been refused")
            s3.put_object(Bucket=bucket, Key=key, Body=data)
            self.objects[f"{bucket}/{key}"] = hashlib.sha256(data).hexdigest()
            total += n
        if refused:
            return f"{count} writes refused (503), as they should be"
        return f"{count} objects, {total / (1 << 20):.1f} MiB"

    def step_check(self, rest):
        if rest != "objects":
            raise StepFailed("check objects")
        s3 = self.s3()
        bad = []
        for name, digest in self.objects.items():
            bucket, key = name.split("/", 1)
            try:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except Exception as e:
                bad.append(f"{name}: {e}")
                continue
            if hashlib.sha256(body).hexdigest() != digest:
                bad.append(f"{name}: wrong bytes")
        for name in self.refused:
            bucket, key = name.split("/", 1)
            try:
                s3.head_object(Bucket=bucket, Key=key)
                bad.append(f"{name}: refused, yet it exists")
            except Exception:
                pass
        if bad:
            raise StepFailed(f"{len(bad)} of {len(self.objects)} objects are not byte-exact: " + "; ".join(bad[:5]))
        return f"all {len(self.objects)} objects byte-exact" + (
            f", none of the {len(self.refused)} refused writes visible" if self.refused else "")

    def step_read(self, rest):
        m = re.fullmatch(r"the objects (\d+) times via (\S+) within (\S+)", rest)
        if not m:
            raise StepFailed("read the objects N times via NODE within D")
        times, node, bound = int(m.group(1)), m.group(2), duration(m.group(3))
        s3 = self.s3(node)
        latencies = []
        for _ in range(times):
            for name, digest in self.objects.items():
                bucket, key = name.split("/", 1)
                t0 = time.monotonic()
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                latencies.append(time.monotonic() - t0)
                if hashlib.sha256(body).hexdigest() != digest:
                    raise StepFailed(f"{name}: wrong bytes")
        latencies.sort()
        p50 = latencies[len(latencies) // 2]
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        result = f"{len(latencies)} GETs via {node}: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
        if p99 > bound:
            raise StepFailed(result + f", over {m.group(3)}")
        return result

    def step_verify(self, rest):
        m = re.fullmatch(r"within (\S+)", rest)
        if not m:
            raise StepFailed("verify within D")
        deadline = time.time() + duration(m.group(1))
        while True:
            p = self.devcluster("verify")
            if p.returncode == 0:
                if not self.check:
                    print(f"  $ devcluster verify\n    {p.stdout.strip()}")
                return p.stdout.strip()
            if time.time() > deadline:
                raise StepFailed(p.stdout.strip() + p.stderr.strip())
            time.sleep(0.5)

    def step_event(self, rest):
        m = re.fullmatch(r"(\S+) (from|about) (\S+) within (\S+)", rest)
        if not m:
            raise StepFailed("event KIND from|about NODE within D")
        kind, relation, node, limit = m.group(1), m.group(2), m.group(3), duration(m.group(4))
        deadline = time.time() + limit
        since = self.previous_started
        while True:
            p = self.devcluster("events", "--json")
            for line in p.stdout.splitlines():
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                t = datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp()
                subject = e.get("node") if relation == "from" else e.get("peer", e.get("shardNode"))
                if e.get("event") == kind and subject == node and t >= since - 1:
                    if not self.check:
                        pretty = self.devcluster("events", "-n", "4").stdout.rstrip()
                        print("  $ devcluster events -n 4\n" + "\n".join("    " + l for l in pretty.splitlines()))
                    return f"{kind} {relation} {node}"
            if time.time() > deadline:
                raise StepFailed(f"no {kind} {relation} {node} within {m.group(4)}")
            time.sleep(0.3)

    # MARK: the run

    def run(self):
        steps = []
        for number, raw in enumerate(self.path.read_text().splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            action, _, rest = line.partition(" ")
            if action not in ("say", "run", "expect", "write", "check", "read", "verify", "event"):
                raise SystemExit(f"{self.path}:{number}: unknown step '{action}'")
            steps.append((number, action, rest.strip()))
        start = time.time()
        done = 0
        try:
            for number, action, rest in steps:
                if action == "say":
                    print(f"\n== {rest}" if not self.check else f"   {rest}", flush=True)
                    continue
                self.previous_started = self.step_started
                self.step_started = time.time()
                try:
                    result = getattr(self, f"step_{action}")(rest)
                except StepFailed as e:
                    print(f"FAIL {self.path.name}:{number}: {action} {rest}\n     {e}", flush=True)
                    return 1
                elapsed = time.time() - self.step_started
                done += 1
                mark = "ok  " if self.check else "  ->"
                print(f"{mark} {action} {rest}" + (f": {result}" if result else "") + f" ({elapsed:.1f}s)", flush=True)
        finally:
            self.devcluster("down", "--purge", timeout=120)
        print(f"scenario {self.path.stem}: {done} steps passed in {time.time() - start:.1f}s")
        return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario")
    parser.add_argument("--check", action="store_true", help="run as a test: no narration, exit 1 on a miss")
    parser.add_argument("--home", help="the folder for the scenario's cluster home (default: a temporary one)")
    args = parser.parse_args()
    from conftest import free_base_port
    # A folder of clusters of its own: `--fresh` in a scenario never touches the user's clusters.
    stem = Path(args.scenario).stem
    home = Path(args.home) / f"scenario-{stem}" if args.home else Path(tempfile.mkdtemp(prefix="dc-scenario-"))
    port = free_base_port(20) if args.check else 8080
    sys.exit(Runner(args.scenario, args.check, home, port).run())


if __name__ == "__main__":
    main()
