#!/usr/bin/env python3
"""make bench: the foundation's benchmarks, each reported as the median of several runs, with ratios
against a peer measured in the same run (the machine is shared and noisy). Prints a Markdown report.

  python3 bench/run.py [--runs N] [--seconds S] [--only http|cluster|store|soak|heal|s3|faults] [--keys N]
      [--soak-minutes M]
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import Cluster, free_base_port, rss_kib  # noqa: E402

BIN = ROOT / ".build" / "release"


def sh(*args, **kw):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True, check=True, **kw).stdout


def wrk(url, connections, seconds):
    out = sh("wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    scale = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9}[transfer.group(2)]
    return rps, float(transfer.group(1)) * scale


def start(cmd):
    p = subprocess.Popen(list(map(str, cmd)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.4)
    return p


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def http_bench(runs, seconds):
    cserver = Path(tempfile.gettempdir()) / "devcluster-bench-cserver"
    sh("gcc", "-O2", "-o", cserver, ROOT / "bench" / "cserver" / "server.c", "-luv", "-lhttp_parser")
    base = free_base_port(3)
    swift = start([BIN / "HTTPBenchServer", base])
    c = start([cserver, base + 1])
    cluster = Cluster(tempfile.mkdtemp(prefix="dc-bench-"))
    results = {k: [] for k in ("swift_small", "c_small", "swift_big", "c_big", "node_live")}
    try:
        cluster.up(1, demo=False)
        node_port = cluster.port("node1")
        for _ in range(runs):  # alternate, so drift in machine load hits both sides alike
            results["swift_small"].append(wrk(f"http://127.0.0.1:{base}/", 50, seconds))
            results["c_small"].append(wrk(f"http://127.0.0.1:{base + 1}/", 50, seconds))
            results["swift_big"].append(wrk(f"http://127.0.0.1:{base}/big", 8, seconds))
            results["c_big"].append(wrk(f"http://127.0.0.1:{base + 1}/big", 8, seconds))
            results["node_live"].append(wrk(f"http://127.0.0.1:{node_port}/minio/health/live", 50, seconds))
    finally:
        stop(swift)
        stop(c)
        cluster.cleanup()
    med = {k: (statistics.median(r for r, _ in v), statistics.median(b for _, b in v)) for k, v in results.items()}
    rows = [
        ("small response, -c50 (req/s)", f"{med['swift_small'][0]:,.0f}", f"{med['c_small'][0]:,.0f}", med["swift_small"][0] / med["c_small"][0]),
        ("1 MiB body, -c8 (GB/s)", f"{med['swift_big'][1] / 1e9:.2f}", f"{med['c_big'][1] / 1e9:.2f}", med["swift_big"][1] / med["c_big"][1]),
        ("devnode /minio/health/live, -c50 (req/s)", f"{med['node_live'][0]:,.0f}", f"{med['c_small'][0]:,.0f}", med["node_live"][0] / med["c_small"][0]),
    ]
    lines = ["| test (median of %d runs, %ds each) | Swift (HTTP layer) | C (libuv + http_parser) | ratio |" % (runs, seconds), "|---|---|---|---|"]
    lines += [f"| {name} | {a} | {b} | {ratio:.2f} |" for name, a, b, ratio in rows]
    lines.append("")
    lines.append("All runs (req/s): " + json.dumps({k: [round(r) for r, _ in v] for k, v in results.items()}))
    return "\n".join(lines)


def event_time(e):
    return datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp()


def cluster_bench(runs):
    up_times, rss, detect_default, detect_demo = [], [], [], []
    for demo, target in ((False, detect_default), (True, detect_demo)):
        for _ in range(runs):
            c = Cluster(tempfile.mkdtemp(prefix="dc-bench-"))
            try:
                t0 = time.monotonic()
                c.up(4, demo=demo)
                up_times.append(time.monotonic() - t0)
                if not demo:
                    time.sleep(5)
                    rss.extend(rss_kib(pid) / 1024 for pid in c.pids().values())
                time.sleep(0.5)
                c.run("kill", "node2")
                c.run("wait-for", "node2=offline", "--within", "10s")
                events = c.events()
                kill = next(event_time(e) for e in events if e["event"] == "launcher_kill")
                offline = [event_time(e) for e in events if e["event"] == "node_offline" and e["peer"] == "node2"]
                target.append(max(offline) - kill)
            finally:
                c.cleanup()
                shutil.rmtree(c.home, ignore_errors=True)
    lines = [
        f"| measure (median of {runs} runs per profile) | result | aim |", "|---|---|---|",
        f"| `devcluster up 4` to all-online (s) | {statistics.median(up_times):.3f} (max {max(up_times):.3f}) | <= 1 |",
        f"| idle devnode RSS after 5 s (MiB) | {statistics.median(rss):.1f} (max {max(rss):.1f}) | <= 20 |",
        f"| kill to node_offline in every survivor's view, defaults 1s/3s (s) | {statistics.median(detect_default):.2f} (max {max(detect_default):.2f}) | <= 3.5 |",
        f"| kill to node_offline in every survivor's view, demo 200ms/1s (s) | {statistics.median(detect_demo):.2f} (max {max(detect_demo):.2f}) | <= 1.2 |",
    ]
    return "\n".join(lines)


def codec_bench(runs):
    """CodecBench: encode and decode GB/s per core (thread CPU time), median of `runs`."""
    rows = {}
    for _ in range(runs):
        for line in sh(BIN / "CodecBench", "1").splitlines():
            m = re.match(r"(\S+) encode ([\d.]+) GB/s\s+decode\((\d+) lost\) ([\d.]+) GB/s", line)
            if m:
                rows.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(4)), m.group(3)))
    lines = [f"| geometry (median of {runs}) | encode GB/s per core | decode GB/s per core (m data shards lost) |", "|---|---|---|"]
    for geometry, v in rows.items():
        lines.append(f"| {geometry} | {statistics.median(e for e, _, _ in v):.2f} | {statistics.median(d for _, d, _ in v):.2f} ({v[0][2]} lost) |")
    return "\n".join(lines)


def devcluster_bench(args, tolerate_errors=False):
    """The phases of a `devcluster bench --json` run; it exits 1 when any request failed, which a
    caller that only needs the data in place can tolerate (the phases say how many failed)."""
    r = subprocess.run([str(BIN / "devcluster"), "bench", "--json", *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0 and not (tolerate_errors and r.returncode == 1 and r.stdout.strip()):
        raise subprocess.CalledProcessError(r.returncode, r.args, r.stdout, r.stderr)
    return {p["phase"]: p for p in json.loads(r.stdout)["phases"]}


def moto_server():
    port = free_base_port(1)
    p = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            import urllib.request
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return p, port
        except Exception:
            time.sleep(0.1)
    stop(p)
    raise RuntimeError("moto.server did not start (pip install 'moto[server]')")


STORE_LOADS = [  # (label, size, count, concurrency)
    ("4 KiB", "4KiB", 3000, 16),
    ("1 MiB", "1MiB", 300, 8),
    ("64 MiB", "64MiB", 8, 4),
]
# Where the cluster homes go: the machine's disk, and memory (what the CPU costs without the disk).
STORE_HOMES = [("ext4", None), ("tmpfs", "/dev/shm")]


def store_bench(runs):
    """devcluster bench against a fresh 4-node cluster per run and against moto's server (restarted per
    run too), alternating, `runs` times, with the cluster home on disk and on tmpfs. Reports throughput
    and the servers' CPU time per operation (all nodes summed), which holds up on a busy machine."""
    results = {}
    for fs, parent in STORE_HOMES:
        for _ in range(runs):
            cluster = Cluster(tempfile.mkdtemp(prefix="dc-bench-", dir=parent))
            moto, moto_port = moto_server()
            try:
                cluster.up(4, demo=False)
                for label, size, count, conc in STORE_LOADS:
                    load = ["--size", size, "--count", str(count), "--concurrency", str(conc), "--duration", "60s",
                            "--phases", "put,get,delete"]
                    ours = devcluster_bench(["--home", cluster.home, "--name", cluster.name, "--verbose", *load])
                    peer = devcluster_bench(["--endpoint", f"http://127.0.0.1:{moto_port}", "--access-key", "a",
                                             "--secret-key", "b", "--server-pid", moto.pid, *load])
                    for phase in ("PUT", "GET"):
                        results.setdefault((fs, label, phase), []).append((ours[phase], peer[phase]))
            finally:
                stop(moto)
                cluster.cleanup()
    med = statistics.median
    lines = [f"| home | load (concurrency) | devcluster ops/s | MB/s | p50 / p99 ms | server CPU us/op | "
             f"internode requests/op | moto ops/s | moto CPU us/op | devcluster / moto |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (fs, label, phase), v in results.items():
        conc = next(c for l, _, _, c in STORE_LOADS if l == label)
        ops = med(o["operationsPerSecond"] for o, _ in v)
        mb = med(o["megabytesPerSecond"] for o, _ in v)
        p50 = med(o["latencyMs"]["p50"] for o, _ in v)
        p99 = med(o["latencyMs"]["p99"] for o, _ in v)
        cpu = med(o["serverCPUMicrosecondsPerOperation"] or 0 for o, _ in v)
        peer = med(p["operationsPerSecond"] for _, p in v)
        peer_cpu = med(p["serverCPUMicrosecondsPerOperation"] or 0 for _, p in v)
        errors = sum(o["errors"] for o, _ in v)
        runs_ops = ", ".join(f"{o['operationsPerSecond']:.0f}" for o, _ in v)
        runs_cpu = ", ".join(f"{o['serverCPUMicrosecondsPerOperation'] or 0:.0f}" for o, _ in v)
        requests = med(o.get("internodeRequestsPerOperation") or 0 for o, _ in v)
        lines.append(f"| {fs} | {phase} {label} (c{conc}) | {ops:.0f} ({runs_ops}) | {mb:.1f} | {p50:.1f} / {p99:.1f} | "
                     f"{cpu:.0f} ({runs_cpu}) | {requests:.2f} | {peer:.0f} | {peer_cpu:.0f} | {ops / peer:.2f}x |"
                     + (f" {errors} errors" if errors else ""))
    lines.append("")
    # Stability: the last run on a fresh cluster against the first (files deleted by one run must not
    # make the next slower).
    for (fs, label, phase), v in results.items():
        if phase == "PUT" and len(v) > 1:
            first, last = v[0][0]["operationsPerSecond"], v[-1][0]["operationsPerSecond"]
            lines.append(f"- {fs}, PUT {label}: run {len(v)} at {last / first:.0%} of run 1 ({last:.0f} / {first:.0f} ops/s)")
    lines.append("")
    lines.append(f"Peak RSS of each node during one 1 GiB streaming PUT: {streaming_put_rss()}")
    return "\n".join(lines)


def soak_bench(minutes):
    """PUT, GET and DELETE of 2000 4 KiB objects, 16 in flight, round after round for `minutes` on one
    cluster with its home on disk: the rate and CPU per operation of the first rounds against the last."""
    c = Cluster(tempfile.mkdtemp(prefix="dc-bench-"))
    rounds = []
    try:
        c.up(4, demo=False)
        end = time.monotonic() + minutes * 60
        while time.monotonic() < end:
            r = devcluster_bench(["--home", c.home, "--name", c.name, "--size", "4KiB", "--count", "2000",
                                  "--concurrency", "16", "--phases", "put,get,delete", "--bucket", "soak"])
            rounds.append(r)
        rss = [rss_kib(pid) / 1024 for pid in c.pids().values()]
    finally:
        c.cleanup()
        shutil.rmtree(c.home, ignore_errors=True)
    third = max(1, len(rounds) // 3)
    med = statistics.median
    lines = [f"{len(rounds)} rounds in {minutes} min; each node's RSS at the end: "
             + ", ".join(f"{m:.0f}" for m in rss) + " MiB.", "",
             "| phase | first third: ops/s, CPU us/op | last third: ops/s, CPU us/op | last / first (ops/s) |",
             "|---|---|---|---|"]
    for phase in ("PUT", "GET", "DELETE"):
        def stats(rs):
            return (med(r[phase]["operationsPerSecond"] for r in rs),
                    med(r[phase]["serverCPUMicrosecondsPerOperation"] or 0 for r in rs))
        (fo, fc), (lo, lc) = stats(rounds[:third]), stats(rounds[-third:])
        lines.append(f"| {phase} | {fo:.0f}, {fc:.0f} | {lo:.0f}, {lc:.0f} | {lo / fo:.0%} |")
    return "\n".join(lines)


def streaming_put_rss():
    """Peak RSS (VmHWM) of every node of a fresh 4-node cluster after one 1 GiB PUT."""
    c = Cluster(tempfile.mkdtemp(prefix="dc-bench-"))
    try:
        c.up(4, demo=False)
        devcluster_bench(["--home", c.home, "--name", c.name, "--size", "1GiB", "--count", "1", "--concurrency", "1",
                          "--phases", "put", "--duration", "120s"])
        peaks = []
        for pid in c.pids().values():
            status = Path(f"/proc/{pid}/status").read_text()
            peaks.append(int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024)
        return ", ".join(f"{p:.0f}" for p in peaks) + f" MiB (max {max(peaks):.0f}; aim <= 100)"
    finally:
        c.cleanup()
        shutil.rmtree(c.home, ignore_errors=True)


def heal_bench(runs):
    """Rebuild rate of a wiped node, and time from a node's return to full redundancy of what it missed."""
    rebuild = {"1 MiB": [], "4 KiB": []}
    missed = []
    for _ in range(runs):
        for label, size, count in (("1 MiB", "1MiB", 300), ("4 KiB", "4KiB", 2000)):
            c = Cluster(tempfile.mkdtemp(prefix="dc-bench-"))
            try:
                c.up(4, demo=True)
                devcluster_bench(["--home", c.home, "--name", c.name, "--size", size, "--count", str(count),
                                  "--concurrency", "8", "--phases", "put", "--keep"])
                c.run("wipe", "node4")
                deadline = time.monotonic() + 300
                while not [e for e in c.events() if e["event"] == "heal_finished" and e["node"] == "node4"]:
                    assert time.monotonic() < deadline, "the rebuild did not finish"
                    time.sleep(0.2)
                done = [e for e in c.events() if e["event"] == "heal_finished" and e["node"] == "node4"][-1]
                seconds = max(done["ms"], 1) / 1000
                rebuild[label].append((done["bytes"] / seconds / 1e6, done["objects"] / seconds))
            finally:
                c.cleanup()
                shutil.rmtree(c.home, ignore_errors=True)
        c = Cluster(tempfile.mkdtemp(prefix="dc-bench-"))
        try:
            c.up(4, demo=True)
            c.run("kill", "node2")
            c.run("wait-for", "node2=offline", "--within", "5s")
            devcluster_bench(["--home", c.home, "--name", c.name, "--size", "1MiB", "--count", "200",
                              "--concurrency", "8", "--phases", "put", "--keep"])
            c.run("start", "node2")
            back = time.monotonic()
            while True:
                nodes = json.loads(c.run("status", "--json", check=False).stdout)["nodes"]
                if all(n.get("data") == "ok" for n in nodes):
                    break
                time.sleep(0.05)
            missed.append(time.monotonic() - back)
            assert c.run("verify", check=False).returncode == 0, "not clean after the replay"
        finally:
            c.cleanup()
            shutil.rmtree(c.home, ignore_errors=True)
    med = statistics.median
    lines = [f"| measure (median of {runs} runs) | result | aim |", "|---|---|---|"]
    for label, v in rebuild.items():
        lines.append(f"| rebuild of a wiped node, {label} objects | {med(m for m, _ in v):.0f} MB/s, {med(o for _, o in v):.0f} objects/s | >= 200 MB/s |")
    lines.append(f"| 200 x 1 MiB written while a node was down: its return to fully redundant (s) | {med(missed):.2f} (max {max(missed):.2f}) | <= 5 |")
    lines.append("")
    lines.append("All runs: " + json.dumps({"rebuild": {k: [[round(m), round(o)] for m, o in v] for k, v in rebuild.items()},
                                            "missed_s": [round(x, 2) for x in missed]}))
    return "\n".join(lines)


def s3_bench(runs, keys):
    """A 1 GiB multipart upload with 8 parts in flight (boto3), and ListObjectsV2 over `keys` keys."""
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    uploads, rss, pages, full = [], [], [], []
    c = Cluster(tempfile.mkdtemp(prefix="dc-bench-"))
    try:
        c.up(4, demo=False)
        s3 = boto3.client("s3", endpoint_url=c.endpoint("node1"), aws_access_key_id="minioadmin",
                          aws_secret_access_key="minioadmin", region_name="us-east-1",
                          config=Config(max_pool_connections=16))
        s3.create_bucket(Bucket="big")
        path = Path(tempfile.gettempdir()) / "devcluster-bench-1gib"
        if not path.exists() or path.stat().st_size != 1 << 30:
            with open(path, "wb") as f:
                for _ in range(1024):
                    f.write(os.urandom(1 << 20))
        config = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=32 << 20, max_concurrency=8)
        for i in range(runs):
            t0 = time.monotonic()
            s3.upload_file(str(path), "big", f"one-gib-{i}", Config=config)
            uploads.append((1 << 30) / (time.monotonic() - t0) / 1e6)
        rss = [int(re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1)) / 1024
               for pid in c.pids().values()]
        devcluster_bench(["--home", c.home, "--name", c.name, "--size", "1B", "--count", str(keys), "--concurrency", "32",
                          "--phases", "put", "--keep", "--bucket", "many", "--duration", "30m"],
                         tolerate_errors=True)
        stored = None  # the keys the PUTs stored (a few of 100 000 may have failed on a busy machine)
        for _ in range(runs):
            t0 = time.monotonic()
            listed, token, first = 0, None, None
            while True:
                kwargs = {"Bucket": "many", "MaxKeys": 1000}
                if token:
                    kwargs["ContinuationToken"] = token
                p0 = time.monotonic()
                page = s3.list_objects_v2(**kwargs)
                pages.append((time.monotonic() - p0) * 1000)
                listed += page.get("KeyCount", 0)
                if not page.get("IsTruncated"):
                    break
                token = page["NextContinuationToken"]
            assert listed > keys * 0.99 and listed == (stored or listed), f"listed {listed} of {keys}"
            stored = listed
            full.append(listed / (time.monotonic() - t0))
    finally:
        # 100 000 objects take a while to purge: stop the nodes, and let the files go in the background.
        c.run("down", check=False, timeout=120)
        subprocess.Popen(["rm", "-rf", c.home])
    med = statistics.median
    pages.sort()
    return "\n".join([
        f"| measure (median of {runs} runs) | result |", "|---|---|",
        f"| 1 GiB multipart upload, 32 MiB parts, 8 in flight (boto3 upload_file) | {med(uploads):.0f} MB/s (runs: {', '.join(f'{u:.0f}' for u in uploads)}) |",
        f"| peak RSS of each node after those uploads (MiB) | {', '.join(f'{r:.0f}' for r in rss)} |",
        f"| ListObjectsV2 of a bucket of {keys} keys, pages of 1000 | {med(full):.0f} keys/s |",
        f"| latency of one page of 1000 keys (ms): p50 / p99 | {pages[len(pages) // 2]:.1f} / {pages[int(len(pages) * 0.99)]:.1f} |",
    ])


def set_slow_node_avoidance(c, on):
    """Rewrites every node's config with cluster.slowNodeAvoidance, and restarts the nodes."""
    for node in c.record()["nodes"]:
        path = c.dir / node["id"] / "config.json"
        config = json.loads(path.read_text())
        config["cluster"]["slowNodeAvoidance"] = "on" if on else "off"
        path.write_text(json.dumps(config, indent=2))
    c.run("restart", "all", timeout=120)


def faults_bench(runs):
    """GET latency through node1 with node3 slowed by 500 ms, with and without slow-node avoidance
    (against the same cluster unslowed, in the same run); time from a 2/2 split's heal to every view
    online, for both heartbeat profiles."""
    get = {"unslowed": [], "slowed, avoidance on": [], "slowed, avoidance off": []}
    for _ in range(runs):
        c = Cluster(tempfile.mkdtemp(prefix="dc-bench-"))
        try:
            c.up(4, demo=False)
            common = ["--home", c.home, "--name", c.name, "--size", "256KiB", "--count", "200", "--bucket", "slowb"]
            devcluster_bench(common + ["--concurrency", "8", "--phases", "put", "--keep"])
            via1 = common + ["--concurrency", "4", "--phases", "get", "--keep", "--endpoint", c.endpoint("node1"),
                             "--access-key", "minioadmin", "--secret-key", "minioadmin"]
            get["unslowed"].append(devcluster_bench(via1)["GET"]["latencyMs"])
            c.run("slow", "node3", "500ms")
            get["slowed, avoidance on"].append(devcluster_bench(via1)["GET"]["latencyMs"])
            set_slow_node_avoidance(c, False)  # the nodes keep the fault across the restart
            c.run("wait-for", "all=online", "--within", "15s")
            get["slowed, avoidance off"].append(devcluster_bench(via1)["GET"]["latencyMs"])
        finally:
            c.cleanup()
            shutil.rmtree(c.home, ignore_errors=True)
    heal = {"demo 200ms/1s": [], "defaults 1s/3s": []}
    for label, demo in (("demo 200ms/1s", True), ("defaults 1s/3s", False)):
        for _ in range(runs):
            c = Cluster(tempfile.mkdtemp(prefix="dc-bench-"))
            try:
                c.up(4, demo=demo)
                c.run("partition", "--split", "node1,node2/node3,node4")
                c.run("wait-for", "node3,node4=offline", "--seen-by", "node1,node2", "--within", "15s")
                c.run("wait-for", "node1,node2=offline", "--seen-by", "node3,node4", "--within", "15s")
                c.run("heal-partition")
                c.run("wait-for", "all=online", "--within", "15s")
                events = c.events()
                cleared = max(event_time(e) for e in events if e["event"] == "launcher_faults")
                online = [event_time(e) for e in events if e["event"] == "node_online" and event_time(e) >= cleared]
                heal[label].append(max(online) - cleared)
            finally:
                c.cleanup()
                shutil.rmtree(c.home, ignore_errors=True)
    med = statistics.median
    base = med(r["p99"] for r in get["unslowed"])
    lines = [f"| GET of 256 KiB through node1, 4 in flight (median of {runs} runs) | p50 ms | p99 ms | max ms | p99 vs unslowed |",
             "|---|---|---|---|---|"]
    for label, rs in get.items():
        p99 = med(r["p99"] for r in rs)
        lines.append(f"| {label} | {med(r['p50'] for r in rs):.0f} | {p99:.0f} | {med(r['max'] for r in rs):.0f} | {p99 / base:.1f}x |")
    lines += ["", f"| partition heal to every view online (median of {runs} runs) | s | aim |", "|---|---|---|"]
    for label, v in heal.items():
        lines.append(f"| 2/2 split healed, {label} heartbeats | {med(v):.2f} (max {max(v):.2f}) | one or two heartbeats |")
    lines += ["", "All runs: " + json.dumps({"get_p99_ms": {k: [round(r["p99"]) for r in v] for k, v in get.items()},
                                             "heal_s": {k: [round(x, 2) for x in v] for k, v in heal.items()}})]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--only", choices=["http", "cluster", "store", "soak", "heal", "s3", "faults"])
    parser.add_argument("--soak-minutes", type=int, default=10)
    parser.add_argument("--keys", type=int, default=100_000, help="keys in the listing benchmark")
    args = parser.parse_args()
    print(f"Machine: {os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}; {datetime.now():%Y-%m-%d %H:%M}\n")
    if args.only in (None, "http"):
        print("### HTTP layer vs C\n")
        print(http_bench(args.runs, args.seconds) + "\n")
    if args.only in (None, "cluster"):
        print("### Cluster start, memory, failure detection\n")
        print(cluster_bench(max(args.runs, 3)) + "\n")
    if args.only in (None, "store"):
        print("### Erasure codec\n")
        print(codec_bench(args.runs) + "\n")
        print("### Object store: devcluster bench, 4 nodes, against moto in the same run\n")
        print(store_bench(args.runs) + "\n")
    if args.only in (None, "soak"):
        print(f"### Soak: {args.soak_minutes} minutes of PUT, GET and DELETE of 4 KiB objects on disk\n")
        print(soak_bench(args.soak_minutes) + "\n")
    if args.only in (None, "heal"):
        print("### Healing\n")
        print(heal_bench(args.runs) + "\n")
    if args.only in (None, "s3"):
        print("### S3 breadth: multipart and listings\n")
        print(s3_bench(args.runs, args.keys) + "\n")
    if args.only in (None, "faults"):
        print("### Faults: a slow node, a healed partition\n")
        print(faults_bench(args.runs) + "\n")
    print(f"Load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
