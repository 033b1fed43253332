"""The pytest plugin (python/): a user's test suite with a cluster per session, a bucket per test and
faults, run as a user would, alone and with pytest-xdist; and the package installs with pip."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import BIN, ROOT


def run_suite(*extra, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"), PATH=f"{BIN}:{os.environ['PATH']}", NO_COLOR="1")
    env.pop("DEVCLUSTER_HOME", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "devcluster_pytest.plugin", "-p", "no:cacheprovider",
         str(ROOT / "tests/plugin"), *extra], env=env, capture_output=True, text=True, timeout=timeout)


def test_a_users_suite_with_a_node_crash_passes_and_leaves_nothing_behind(tmp_path):
    before = set(os.listdir("/tmp"))
    r = run_suite("-p", "no:randomly", "--devcluster-nodes", "4")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 passed" in r.stdout
    assert not [d for d in set(os.listdir("/tmp")) - before if d.startswith("devcluster-pytest-")]


def test_the_suite_runs_under_pytest_xdist_with_a_cluster_per_worker():
    pytest.importorskip("xdist", reason="pytest-xdist is not installed (scripts/install-deps.sh installs it)")
    r = run_suite("-n", "2", "--devcluster-nodes", "4")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 passed" in r.stdout


def test_the_suite_runs_unchanged_against_a_tls_cluster():
    """--devcluster-tls: the same suite over HTTPS; its clients trust the cluster's CA by themselves."""
    r = run_suite("-p", "no:randomly", "--devcluster-tls", "-o", "log_cli=false", "-s")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 passed" in r.stdout and "endpoint https://127.0.0.1:" in r.stdout


def test_the_package_installs_with_pip_and_registers_the_plugin(tmp_path):
    source = tmp_path / "source"  # pip builds in the folder it is given: not in the repository
    shutil.copytree(ROOT / "python", source)
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps",
                        "--target", str(target), str(source)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    [info] = list(target.glob("pytest_devcluster-*.dist-info"))
    assert "devcluster = devcluster_pytest.plugin" in (info / "entry_points.txt").read_text()
    assert (target / "devcluster_pytest" / "plugin.py").exists()
