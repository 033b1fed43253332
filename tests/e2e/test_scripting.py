"""devcluster for scripts and CI jobs: `up --json`, `env` in every format, and `exec`, which starts a
fresh cluster, runs a command against it and removes the cluster whatever the command does."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import DEVCLUSTER, Cluster, free_base_port, process_alive, wait_until

CLIENT = """
import boto3, os, sys
s3 = boto3.client("s3")  # AWS_ENDPOINT_URL, keys and region from the environment only
s3.create_bucket(Bucket="ci-bucket")
s3.put_object(Bucket="ci-bucket", Key="k", Body=b"from exec")
assert s3.get_object(Bucket="ci-bucket", Key="k")["Body"].read() == b"from exec"
print(os.environ["DEVCLUSTER_HOME"])
"""


def exec_env(tmp_path):
    env = dict(os.environ, NO_COLOR="1", TMPDIR=str(tmp_path))
    for key in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "AWS_ENDPOINT_URL", "AWS_PROFILE", "DEVCLUSTER_HOME"):
        env.pop(key, None)
    return env


def test_up_json_and_env_in_every_format(cluster):
    p = cluster.run("up", 2, "--base-port", free_base_port(6), "--json")
    doc = json.loads(p.stdout)  # stdout is the document alone; progress went to stderr
    assert [n["id"] for n in doc["nodes"]] == ["node1", "node2"]
    assert all(process_alive(n["pid"]) for n in doc["nodes"])
    assert doc["accessKey"] == "minioadmin" and doc["environment"]["AWS_ENDPOINT_URL"] == doc["nodes"][0]["endpoint"]
    as_json = json.loads(cluster.run("env", "--format", "json").stdout)
    assert as_json == doc["environment"]
    assert as_json["DEVCLUSTER_ENDPOINTS"] == ",".join(n["endpoint"] for n in doc["nodes"])
    # The sh form, evaluated by a shell, gives the same values.
    sh = cluster.run("env").stdout
    shown = subprocess.run(["bash", "-c", sh + "\nenv"], capture_output=True, text=True, check=True).stdout
    for name, value in as_json.items():
        assert f"{name}={value}\n" in shown
    dotenv = dict(line.split("=", 1) for line in cluster.run("env", "--format", "dotenv").stdout.splitlines())
    assert dotenv == as_json
    fish = cluster.run("env", "--format", "fish").stdout.splitlines()
    assert f"set -gx AWS_SECRET_ACCESS_KEY 'minioadmin'" in fish
    node2 = json.loads(cluster.run("env", "--format", "json", "--node", "node2").stdout)
    assert node2["AWS_ENDPOINT_URL"] == doc["nodes"][1]["endpoint"]
    assert cluster.run("env", "--node", "node9", check=False).returncode == 64
    assert cluster.run("env", "--format", "csh", check=False).returncode == 64


def test_exec_runs_a_client_against_a_fresh_cluster_and_removes_it(tmp_path):
    env = exec_env(tmp_path)
    p = subprocess.run([str(DEVCLUSTER), "exec", "--nodes", "2", "--base-port", str(free_base_port(6)), "--", sys.executable, "-c", CLIENT], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    home = Path(p.stdout.strip())
    assert home.parent == tmp_path and not home.exists()
    assert "2 nodes up" in p.stderr and "cluster removed" in p.stderr
    # The command's status is exec's; a command that is not there is 127.
    p = subprocess.run([str(DEVCLUSTER), "exec", "--nodes", "1", "--quiet", "--base-port", str(free_base_port(4)), "--", "sh", "-c", "exit 7"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 7 and p.stderr == ""
    p = subprocess.run([str(DEVCLUSTER), "exec", "--nodes", "1", "--base-port", str(free_base_port(4)), "--", "no-such-program-here"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 127 and "no-such-program-here" in p.stderr
    assert subprocess.run([str(DEVCLUSTER), "exec"], env=env, capture_output=True, timeout=30).returncode == 64
    assert subprocess.run([str(DEVCLUSTER), "exec", "--nodes", "17", "--", "true"], env=env, capture_output=True,
                          timeout=30).returncode == 64
    # A cluster that cannot start is exec's failure, not the command's: 125, and the command never ran.
    broken = dict(env, DEVCLUSTER_DEVNODE=str(tmp_path / "no-devnode-here"))
    p = subprocess.run([str(DEVCLUSTER), "exec", "--nodes", "1", "--base-port", str(free_base_port(4)), "--",
                        "sh", "-c", "echo ran"], env=broken, capture_output=True, text=True, timeout=60)
    assert p.returncode == 125 and "ran" not in p.stdout, p.stderr
    assert list(tmp_path.iterdir()) == []


def test_exec_passes_a_cancel_on_and_still_removes_the_cluster(tmp_path):
    """A CI runner cancelling the job sends SIGTERM to devcluster: the command gets it, the nodes stop."""
    env = exec_env(tmp_path)
    pids_file = tmp_path.parent / f"{tmp_path.name}-pids.json"
    script = ("trap 'echo got-term; exit 5' TERM; "
              f"devcluster status --json > {pids_file}.tmp && mv {pids_file}.tmp {pids_file}; "
              "while :; do sleep 0.1; done")
    env["PATH"] = f"{DEVCLUSTER.parent}:{env['PATH']}"
    p = subprocess.Popen([str(DEVCLUSTER), "exec", "--nodes", "2", "--base-port", str(free_base_port(6)), "--", "bash", "-c", script], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(pids_file.exists, 60, message="the command started")
        nodes = json.loads(pids_file.read_text())["nodes"]
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 5 and "got-term" in out, err
    assert "cluster removed" in err
    for n in nodes:
        assert not process_alive(n["pid"]), n
    assert list(tmp_path.iterdir()) == []
    pids_file.unlink()


def test_quiet_prints_nothing_and_the_exit_code_tells(cluster):
    """--quiet on any command: standard output stays empty, the exit code carries the outcome, errors
    still reach standard error."""
    p = cluster.run("up", 2, "--base-port", free_base_port(6), "--quiet")
    assert p.stdout == "" and p.stderr == ""
    assert cluster.status()[1] == 0  # healthy
    for args in (["ls"], ["status"], ["faults"], ["kill", "node2"]):
        p = cluster.run(*args, "--quiet", check=False)
        assert (p.returncode, p.stdout) == (0, ""), (args, p.stderr)
    p = cluster.run("status", "--quiet", check=False)
    assert (p.returncode, p.stdout) == (2, "")  # one of two nodes: no quorum, unavailable
    p = cluster.run("kill", "node7", "--quiet", check=False)
    assert p.returncode == 64 and p.stdout == "" and "node7" in p.stderr


def test_ls_and_faults_as_json(cluster):
    base = free_base_port(6)
    cluster.up(2, "--base-port", str(base))
    listing = json.loads(cluster.run("ls", "--json").stdout)
    assert listing["schemaVersion"] == 1
    [entry] = listing["clusters"]
    assert entry["name"] == "dev" and entry["ports"] == [base, base + 1]
    assert entry["running"] == ["node1", "node2"] and Path(entry["home"]) == cluster.dir
    doc = json.loads(cluster.run("faults", "--json").stdout)
    assert doc["wanted"] == [] and all(n["state"] == "running" and n["faults"] == [] for n in doc["nodes"].values())
    cluster.run("slow", "node2", "300ms")
    doc = json.loads(cluster.run("faults", "--json").stdout)
    assert {(r["from"], r["to"], r["mode"], r["delayMs"]) for r in doc["wanted"]} == {
        ("node1", "node2", "delay", 300), ("node2", "node1", "delay", 300)}
    assert all(not n["behind"] and n["version"] == doc["version"] for n in doc["nodes"].values())
    cluster.run("stop", "node2")
    doc = json.loads(cluster.run("faults", "--json").stdout)
    assert doc["nodes"]["node2"] == {"state": "not running"}
