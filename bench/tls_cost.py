#!/usr/bin/env python3
"""What TLS costs: the same loads on a plain cluster and on `devcluster up --tls` (S3 and internode over
TLS), fresh 4-node clusters on tmpfs, alternating, medians of --runs. Reports ops/s, MB/s and server CPU
per operation (all nodes summed, from /proc), the figure that stays stable on a noisy machine.
docs/BENCHMARKS.md ("TLS") quotes it. Usage: python3 bench/tls_cost.py [--runs N] (after make build)."""

import argparse
import json
import socket
import statistics
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVCLUSTER = str(ROOT / ".build" / "release" / "devcluster")
LOADS = [("4KiB", 3000, 16), ("1MiB", 300, 8)]


def free_base(count=4):
    for base in range(19000, 30000, 10):
        try:
            for p in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
    raise RuntimeError("no free ports")


def one_run(tls):
    """{(size, phase): (ops/s, MB/s, server µs per op)} on a fresh cluster."""
    out = {}
    with tempfile.TemporaryDirectory(dir="/dev/shm", prefix="dc-tls-bench-") as home:
        up = [DEVCLUSTER, "up", "4", "--home", home, "--base-port", str(free_base()), "--quiet"]
        subprocess.run(up + (["--tls"] if tls else []), check=True)
        try:
            for size, count, concurrency in LOADS:
                p = subprocess.run(
                    [DEVCLUSTER, "bench", "--home", home, "--size", size, "--count", str(count), "--concurrency",
                     str(concurrency), "--phases", "put,get", "--json"], check=True, capture_output=True, text=True)
                for phase in json.loads(p.stdout)["phases"]:
                    assert phase["errors"] == 0, phase["firstError"]
                    out[(size, phase["phase"])] = (phase["operationsPerSecond"], phase["megabytesPerSecond"],
                                                   phase["serverCPUMicrosecondsPerOperation"])
        finally:
            subprocess.run([DEVCLUSTER, "down", "--purge", "--home", home, "--quiet"], check=False)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    results = {False: [], True: []}
    for _ in range(runs):
        for tls in (False, True):
            results[tls].append(one_run(tls))
    print("| load | plain ops/s | TLS ops/s | plain MB/s | TLS MB/s | plain CPU/op | TLS CPU/op | TLS extra CPU |")
    print("|---|---|---|---|---|---|---|---|")
    for size, _, concurrency in LOADS:
        for phase in ("PUT", "GET"):
            med = {t: [statistics.median(r[(size, phase)][i] for r in results[t]) for i in range(3)] for t in results}
            extra = med[True][2] - med[False][2]
            print(f"| {phase} {size}, {concurrency} in flight | {med[False][0]:.0f} | {med[True][0]:.0f} | "
                  f"{med[False][1]:.1f} | {med[True][1]:.1f} | {med[False][2]:.0f} µs | {med[True][2]:.0f} µs | "
                  f"+{extra:.0f} µs ({extra / med[False][2] * 100:+.0f} %) |")
    print(f"\nmedians of {runs} runs each, alternating plain and TLS, fresh clusters on /dev/shm")


if __name__ == "__main__":
    main()
