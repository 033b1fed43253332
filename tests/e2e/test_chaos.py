"""The chaos checker against real nodes: a run under every fault passes and leaves the cluster as it
found it; a deliberately broken build (quorums off by one) is caught; bad starts are refused."""

import os
import random
import re
import signal
import subprocess
import time

from conftest import DEVCLUSTER

DURATION = os.environ.get("DC_CHAOS_DURATION", "60s")


def summary_number(out, label):
    m = re.search(rf"{label}:\s+(\d+)", out)
    assert m, f"no '{label}' in:\n{out}"
    return int(m.group(1))


def test_chaos_run_passes_and_restores_the_cluster(running):
    seed = random.randint(1, 999_999)
    p = running.run("chaos", "--duration", DURATION, "--seed", seed, check=False, timeout=900)
    out = p.stdout + p.stderr
    assert p.returncode == 0, f"chaos failed (seed {seed}):\n{out}"
    assert "chaos: PASSED" in out and "anomalies:  0" in out, out
    assert "verify:     clean" in out, out
    # It really ran: acknowledged writes and faults, several kinds of them.
    acked = int(re.search(r"(\d+) acknowledged", out).group(1))
    assert acked > 50, out
    kinds = re.search(r"faults:\s+(.*)", out).group(1)
    assert kinds != "none" and kinds.count(",") >= 1, out
    # Nothing left behind: every node up, seeing every other, no fault wanted or applied.
    status, _ = running.status()
    assert status["verdict"] == "healthy", status
    assert "no faults wanted" in running.run("faults").stdout


def test_chaos_round_that_crashed_a_node_now_passes(running):
    # Seed 2521 opens with node3 isolated (refused) under load, then node4 paused: the round that once
    # made node3 arm a stall timer for a read that had already failed, and crash a second later.
    # Crashes fail a run.
    p = running.run("chaos", "--duration", "4s", "--seed", 2521, check=False, timeout=300)
    out = p.stdout + p.stderr
    assert "cut node3 off from node1,node2,node4 (reject)" in out and "pause node4" in out, out
    assert p.returncode == 0 and "crashes:    0" in out, out


def test_chaos_catches_a_broken_build(cluster):
    # Every quorum off by one: both halves of a 2/2 split accept writes. Seed 7 splits 2/2 at once.
    cluster.env["DEVNODE_UNSAFE_HALF_QUORUMS"] = "1"
    cluster.up(4)
    assert "UNSAFE BUILD FOR TESTS" in cluster.log("node1")
    p = cluster.run("chaos", "--duration", "15s", "--seed", 7, "--faults", "split", check=False, timeout=600)
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    assert "chaos: FAILED" in out and "--seed 7" in out and "--faults split" in out, out
    assert summary_number(out, "anomalies") > 0, out
    assert "stale read" in out or "lost acknowledged write" in out, out


def test_an_interrupted_chaos_run_ends_its_faults_and_fails(running):
    # Seed 5 with kill and pause only: something is down or stopped most of the time.
    p = subprocess.Popen([str(DEVCLUSTER), "chaos", "--duration", "60s", "--seed", "5", "--faults", "kill,pause",
                          "--name", running.name], env=running.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    time.sleep(5)
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=300)
    assert p.returncode == 1, out
    assert "interrupted" in out and "chaos: FAILED" in out, out
    status, _ = running.status()
    assert status["verdict"] == "healthy", status
    assert all(n["process"] == "running" for n in status["nodes"]), status
    assert "no faults wanted" in running.run("faults").stdout


def test_chaos_refuses_an_unhealthy_cluster_and_unknown_faults(running):
    p = running.run("chaos", "--faults", "kill,meteor", check=False)
    assert p.returncode != 0 and "--faults" in p.stderr, p.stderr
    running.run("kill", "node2")
    p = running.run("chaos", "--duration", "5s", check=False)
    assert p.returncode != 0 and "not healthy" in p.stderr, p.stdout + p.stderr
