"""make dist: the tarball runs a cluster on a machine without the toolchain or the C libraries' packages
(simulated with an empty environment and ldd), make install honours DESTDIR and PREFIX, make deb installs
and removes with dpkg, and each ships the man pages generated from the argument parser."""

import json
import os
import subprocess
import tarfile
from pathlib import Path

from conftest import DEVCLUSTER, DEVNODE, ROOT, free_base_port

SYSTEM_LIBRARIES = ("libc.so", "libm.so", "libstdc++.so", "libgcc_s.so", "ld-linux", "linux-vdso")


def test_the_tarball_runs_a_cluster_with_an_empty_environment(tmp_path):
    out = tmp_path / "out"
    subprocess.run(["scripts/dist.sh"], cwd=ROOT, env=dict(os.environ, DIST_DIR=str(out)), check=True,
                   capture_output=True, timeout=300)
    [tarball] = list(out.glob("devcluster-*-linux-*.tar.gz"))
    unpacked = tmp_path / "unpacked"
    with tarfile.open(tarball) as t:
        t.extractall(unpacked, filter="data")
    [top] = list(unpacked.iterdir())
    for program in ("devnode", "devcluster"):
        libraries = subprocess.run(["ldd", str(top / "bin" / program)], capture_output=True, text=True,
                                   check=True).stdout.splitlines()
        for line in libraries:
            name = line.split()[0].rsplit("/", 1)[-1]
            # Every library is the system's C runtime or one shipped in the tarball's lib/.
            assert name.startswith(SYSTEM_LIBRARIES) or f"{top}/bin/../lib/" in line, line
        assert not any("swift" in line.lower() or "not found" in line for line in libraries)
    assert (top / "share/devcluster/Templates/node-config.json").exists()
    assert (top / "share/bash-completion/completions/devcluster").read_text().strip()
    assert (top / "share/man/man1/devcluster-exec.1").exists() and (top / "share/man/man1/devnode.1").exists()
    # No Swift, no PATH to speak of: exec starts a cluster, runs a command with devcluster on its PATH.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    r = subprocess.run([str(top / "bin/devcluster"), "exec", "--nodes", "2", "--base-port", str(free_base_port(6)),
                        "--", "sh", "-c", "devcluster status --json >/dev/null && echo ok $AWS_ENDPOINT_URL"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("ok http://127.0.0.1:"), r.stderr
    # The tutorials ship too: found next to the binary, away from any source checkout.
    listed = subprocess.run([str(top / "bin/devcluster"), "scenario", "--list"], env=env, capture_output=True,
                            text=True, timeout=30)
    assert listed.returncode == 0 and [line.split()[0] for line in listed.stdout.splitlines()] == [
        "bitrot", "partition", "rebuild", "slow"], listed.stdout + listed.stderr


def test_make_install_honours_destdir_and_prefix(tmp_path):
    r = subprocess.run(["make", "-s", "install-files", f"DESTDIR={tmp_path}", "PREFIX=/opt/dc"], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    root = tmp_path / "opt/dc"
    assert os.access(root / "bin/devcluster", os.X_OK) and os.access(root / "bin/devnode", os.X_OK)
    assert (root / "share/devcluster/Templates/node-config.json").exists()
    assert (root / "share/devcluster/scenarios/rebuild.scenario").exists()
    assert (root / "share/bash-completion/completions/devcluster").read_text().strip()
    page = subprocess.run(["man", "-l", str(root / "share/man/man1/devcluster-up.1")], capture_output=True,
                          text=True, env=dict(os.environ, MANPAGER="cat", MANWIDTH="100"))
    assert page.returncode == 0 and "--base-port" in page.stdout, page.stderr
    version = subprocess.run([str(root / "bin/devnode"), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip()


def test_the_debian_package_installs_runs_and_removes_with_dpkg(tmp_path):
    """make deb, installed with dpkg into a root of the test's own (its own package database: the
    machine's is not touched), run from there, then removed: every file it brought goes."""
    out = tmp_path / "out"
    subprocess.run(["scripts/deb.sh"], cwd=ROOT, env=dict(os.environ, DIST_DIR=str(out)), check=True,
                   capture_output=True, timeout=300)
    [deb] = list(out.glob("devcluster_*.deb"))
    info = subprocess.run(["dpkg-deb", "--field", str(deb), "Package", "Depends"], capture_output=True, text=True,
                          check=True).stdout
    assert "Package: devcluster" in info and "libuv1" in info and "libisal2" in info, info
    root = tmp_path / "root"
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/updates").mkdir()
    (root / "var/lib/dpkg/status").touch()
    # The libraries are the machine's (checked by Depends on a real system, not in this empty database).
    dpkg = ["dpkg", f"--root={root}", "--force-depends", "--force-script-chrootless", "--log=/dev/null"]
    r = subprocess.run(dpkg + ["--install", str(deb)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    status = subprocess.run(["dpkg-query", f"--admindir={root}/var/lib/dpkg", "--show", "--showformat=${Status}",
                             "devcluster"], capture_output=True, text=True)
    assert status.stdout == "install ok installed", status
    installed = root / "usr/bin/devcluster"
    assert (root / "usr/share/devcluster/Templates/node-config.json").exists()
    assert (root / "usr/share/bash-completion/completions/devcluster").read_text().strip()
    assert (root / "usr/share/man/man1/devcluster.1").exists()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    r = subprocess.run([str(installed), "exec", "--nodes", "1", "--base-port", str(free_base_port(3)),
                        "--", "sh", "-c", "devcluster status --json >/dev/null && echo ok $AWS_ENDPOINT_URL"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("ok http://127.0.0.1:"), r.stderr
    r = subprocess.run(dpkg + ["--remove", "devcluster"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert not installed.exists() and not (root / "usr/share/devcluster").exists()


def test_man_pages_cover_every_command_and_render(tmp_path):
    """The man pages come from the programs' own argument parser: one per command and subcommand, each
    rendered by man without a warning and naming every option --help names."""
    subprocess.run(["python3", "scripts/manpages.py", str(tmp_path), str(DEVCLUSTER), str(DEVNODE)], cwd=ROOT,
                   check=True, timeout=120)
    commands = json.loads(subprocess.run([str(DEVCLUSTER), "--experimental-dump-help"], capture_output=True,
                                         text=True, check=True).stdout)["command"]["subcommands"]
    for command in [c for c in commands if c["commandName"] != "help"]:
        page = tmp_path / f"devcluster-{command['commandName']}.1"
        r = subprocess.run(["groff", "-man", "-ww", "-Tutf8", str(page)], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stderr == "", (page, r.stderr)
        rendered = subprocess.run(["col", "-b"], input=r.stdout, capture_output=True, text=True).stdout
        assert command["abstract"].split(":")[0] in " ".join(rendered.split())
        for argument in command["arguments"]:
            for name in argument.get("names", []):
                if argument["shouldDisplay"] and name["kind"] == "long" and name["name"] != "help":
                    assert f"--{name['name']}" in rendered, (page.name, name)
    top = subprocess.run(["groff", "-man", "-Tutf8", str(tmp_path / "devcluster.1")], capture_output=True,
                         text=True).stdout
    assert "Exit codes" in subprocess.run(["col", "-b"], input=top, capture_output=True, text=True).stdout
    assert (tmp_path / "devnode.1").read_text().count(".TP") >= 5
