"""`devcluster deploy`: the files that run a deployment on several hosts. What can be checked here is:
the systemd unit passes `systemd-analyze verify`, the YAML parses into what compose and Kubernetes
expect, every format starts devnode with the same command line (the one test_hosts.py runs on four
network-namespace hosts, taken from these files), and deploy/compose.yaml is what the command makes.
Not tried here: a real systemd boot, docker compose, or a Kubernetes cluster."""

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import DEVCLUSTER, DEVNODE

ROOT = Path(__file__).resolve().parents[2]


def deploy(out, *args):
    p = subprocess.run([str(DEVCLUSTER), "deploy", "--out", str(out), *args], capture_output=True, text=True,
                       timeout=30)
    return p


def systemd_command(out, data, *extra):
    """The command line devnode.service runs on every host: ExecStart with devnode.env's variables
    expanded as systemd does (split at whitespace)."""
    p = deploy(out, "--hosts", "node{1...4}:9000", "--data", str(data), "--format", "systemd", "--devnode",
               str(DEVNODE), *extra)
    assert p.returncode == 0, p.stderr
    env = {}
    for line in (out / "devnode.env").read_text().splitlines():
        if line and not line.startswith("#"):
            name, value = line.split("=", 1)
            env[name] = shlex.split(value)[0]
    [exec_start] = [line for line in (out / "devnode.service").read_text().splitlines()
                    if line.startswith("ExecStart=")]
    words = []
    for word in exec_start.removeprefix("ExecStart=").split():
        words += env[word[1:]].split() if word.startswith("$") else [word]
    return words, env


def test_the_systemd_unit_verifies_and_starts_devnode_as_a_user_would_type_it(tmp_path):
    words, env = systemd_command(tmp_path, "/srv/devnode")
    assert words == [str(DEVNODE), "--address", ":9000", "http://node{1...4}:9000/srv/devnode"]
    assert env["MINIO_ROOT_USER"] == "minioadmin"
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed: the unit's syntax is not checked")
    p = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / "devnode.service")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def test_compose_and_kubernetes_files_parse_and_run_the_same_command_line(tmp_path):
    words, _ = systemd_command(tmp_path / "systemd", "/data", "--heartbeat-interval", "200ms")
    arguments = words[1:]

    assert deploy(tmp_path / "compose", "--hosts", "node{1...4}:9000", "--data", "/data", "--format", "compose",
                  "--heartbeat-interval", "200ms").returncode == 0
    compose = yaml.safe_load((tmp_path / "compose/compose.yaml").read_text())
    assert list(compose["services"]) == ["node1", "node2", "node3", "node4"]
    for i, (name, service) in enumerate(compose["services"].items()):
        assert service["command"] == arguments and service["hostname"] == name
        assert service["ports"] == [f"127.0.0.1:{9001 + i}:9000"] and service["volumes"] == [f"{name}:/data"]
    assert list(compose["volumes"]) == ["node1", "node2", "node3", "node4"]

    p = deploy(tmp_path / "k8s", "--hosts", "node{1...4}:9000", "--data", "/data", "--format", "k8s",
               "--heartbeat-interval", "200ms", "--namespace", "storage", "--access-key", "admin",
               "--secret-key", "s3cr3t-s3cr3t")
    assert p.returncode == 0, p.stderr
    secret, headless, clients, statefulset = yaml.safe_load_all((tmp_path / "k8s/k8s.yaml").read_text())
    assert [d["kind"] for d in (secret, headless, clients, statefulset)] == ["Secret", "Service", "Service",
                                                                            "StatefulSet"]
    assert secret["stringData"] == {"MINIO_ROOT_USER": "admin", "MINIO_ROOT_PASSWORD": "s3cr3t-s3cr3t"}
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    spec = statefulset["spec"]
    assert spec["replicas"] == 4 and spec["serviceName"] == "devnode" and spec["podManagementPolicy"] == "Parallel"
    [container] = spec["template"]["spec"]["containers"]
    # The same options; the hosts are the pods' names there.
    assert container["args"] == arguments[:-1] + [
        "http://devnode-{0...3}.devnode.storage.svc.cluster.local:9000/data"]
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/minio/health/ready", "port": 9000}


def test_deploy_compose_yaml_is_what_the_command_makes(tmp_path):
    p = deploy(tmp_path, "--hosts", "node{1...4}:9000", "--data", "/data", "--format", "compose")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "compose.yaml").read_text() == (ROOT / "deploy/compose.yaml").read_text(), \
        "deploy/compose.yaml is stale: make it again with the command above (--out deploy)"


def test_what_cannot_be_deployed_is_refused_with_the_reason(tmp_path):
    cases = [
        (["--hosts", "a:9000", "b:9001", "--data", "/d", "--format", "systemd"], "the same port"),
        (["--hosts", "node{1...4}", "--data", "/d", "--format", "compose"], "is not HOST:PORT"),
        (["--hosts", "a:9000", "--data", "/d", "--format", "k8s", "--tls"], "--tls with --format k8s"),
        (["--hosts", "a:9000", "--data", "/d", "--format", "k8s", "--name", "Dev_Node"], "not a Kubernetes name"),
        (["--hosts", "a:9000", "--data", "/d", "--format", "ansible"], "systemd, compose or k8s"),
    ]
    for args, reason in cases:
        p = deploy(tmp_path / "out", *args)
        assert p.returncode == 64 and reason in p.stderr, (args, p.stderr)
    assert not (tmp_path / "out").exists()


def test_values_systemd_or_compose_would_read_differently_are_escaped_or_refused(tmp_path):
    """A password with `$` reaches compose as itself (`$$`), files with the password are the owner's
    only, and a devnode path systemd would split or expand is refused."""
    p = deploy(tmp_path / "c", "--hosts", "n{1...2}:9000", "--data", "/data", "--format", "compose",
               "--secret-key", "pa$word-long-enough")
    assert p.returncode == 0, p.stderr
    compose = yaml.safe_load((tmp_path / "c/compose.yaml").read_text())
    assert compose["services"]["n1"]["environment"]["MINIO_ROOT_PASSWORD"] == "${MINIO_ROOT_PASSWORD:-pa$$word-long-enough}"
    assert (tmp_path / "c/compose.yaml").stat().st_mode & 0o777 == 0o600
    p = deploy(tmp_path / "s", "--hosts", "n{1...2}:9000", "--data", "/data", "--format", "systemd")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "s/devnode.env").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "s/devnode.service").stat().st_mode & 0o777 == 0o644
    for devnode in ["devnode", "/opt/dev node", "/opt/%n", "/opt/$X"]:
        p = deploy(tmp_path / "bad", "--hosts", "a:9000", "--data", "/d", "--format", "systemd", "--devnode", devnode)
        assert p.returncode == 64 and "--devnode" in p.stderr, (devnode, p.stderr)
    p = deploy(tmp_path / "bad", "--hosts", "a:9000", "--data", "/d", "--format", "compose", "--secret-key", "a}b")
    assert p.returncode == 64 and "'}'" in p.stderr
