#!/usr/bin/env python3
"""How soon a user gets a first PUT: `devcluster up 1` (and a bucket and a 4 KiB PUT after it), and a
fresh folder from the `make dist` tarball to a first PUT. Wall time, medians; docs/BENCHMARKS.md
("Scripts and CI") quotes it. Usage: python3 bench/first_put.py [--runs N] (after make build, make dist)."""

import argparse
import glob
import os
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def s3(port):
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="minioadmin",
                        aws_secret_access_key="minioadmin", region_name="us-east-1",
                        config=Config(retries={"max_attempts": 1}))


def first_put(client):
    client.create_bucket(Bucket="first")
    client.put_object(Bucket="first", Key="k", Body=b"x" * 4096)


def up_then_put(devcluster, home, env=None):
    """(ms until `up 1` returned, ms until the first PUT was done), from the start of `up`."""
    port = free_port()
    client = s3(port)  # made beforehand: a test suite's client exists before the cluster does
    start = time.monotonic()
    subprocess.run([devcluster, "up", "1", "--home", home, "--base-port", str(port), "--quiet"], check=True, env=env)
    up = time.monotonic()
    first_put(client)
    done = time.monotonic()
    subprocess.run([devcluster, "down", "--purge", "--home", home, "--quiet"], check=True, env=env)
    return (up - start) * 1000, (done - start) * 1000


def from_tarball(tarball):
    with tempfile.TemporaryDirectory() as folder:
        env = {"PATH": "/usr/bin:/bin", "HOME": folder, "TMPDIR": folder}
        port = free_port()
        client = s3(port)
        start = time.monotonic()
        subprocess.run(["tar", "-xzf", tarball, "-C", folder], check=True)
        [top] = [p for p in Path(folder).iterdir() if p.name.startswith("devcluster-")]
        devcluster = str(top / "bin/devcluster")
        subprocess.run([devcluster, "up", "1", "--home", f"{folder}/home", "--base-port", str(port), "--quiet"],
                       check=True, env=env)
        first_put(client)
        elapsed = (time.monotonic() - start) * 1000
        subprocess.run([devcluster, "down", "--purge", "--home", f"{folder}/home", "--quiet"], check=True, env=env)
        return elapsed


def show(label, runs):
    print(f"{label}: {', '.join(str(round(r)) for r in runs)} ms; median {round(statistics.median(runs))} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    devcluster = str(ROOT / ".build/release/devcluster")
    pairs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as home:
            pairs.append(up_then_put(devcluster, home))
    show("devcluster up 1", [p[0] for p in pairs])
    show("devcluster up 1, then CreateBucket and a 4 KiB PUT", [p[1] for p in pairs])
    tarballs = sorted(glob.glob(str(ROOT / "dist/devcluster-*-linux-*.tar.gz")))
    if not tarballs:
        print("no tarball in dist/: run make dist for the last row")
        return
    print(f"tarball {tarballs[-1]}: {os.path.getsize(tarballs[-1]) / 1e6:.1f} MB")
    show("tarball unpacked, up 1, CreateBucket and PUT", [from_tarball(tarballs[-1]) for _ in range(max(3, args.runs - 2))])


if __name__ == "__main__":
    main()
