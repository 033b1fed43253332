"""make image: the container image has everything devnode needs and nothing pulled from anywhere, and it
serves S3 as its config says (entry point, command, environment, health check). Where podman can run
containers here, the image runs under podman; where it cannot, the test says why in one line and runs
the image's root file system as a container runtime would: chrooted, with /proc mounted, in network and
mount namespaces of its own (only a loopback), with the config's command and environment."""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile

import pytest

from conftest import ROOT, wait_until
from hosts import Hosts

IMAGE_CLIENT = """
import boto3, sys
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9000", aws_access_key_id="imageuser",
                  aws_secret_access_key="imagesecret1", region_name="us-east-1",
                  config=Config(retries={"max_attempts": 1}))
s3.create_bucket(Bucket="from-image")
s3.put_object(Bucket="from-image", Key="k", Body=b"in a container")
assert s3.get_object(Bucket="from-image", Key="k")["Body"].read() == b"in a container"
print("ok")
"""


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    out = tmp_path_factory.mktemp("image")
    subprocess.run([sys.executable, "scripts/image.py", str(out)], cwd=ROOT, check=True, capture_output=True,
                   timeout=300)
    [archive] = list(out.glob("devcluster-image-*.tar"))
    with tarfile.open(archive) as t:
        [manifest] = json.load(t.extractfile("manifest.json"))
        config = json.load(t.extractfile(manifest["Config"]))
        layer = t.extractfile(manifest["Layers"][0]).read()
    return archive, manifest, config, layer


def test_the_image_holds_the_programs_their_libraries_and_a_health_check(image, tmp_path):
    archive, manifest, config, layer = image
    assert manifest["RepoTags"][0].startswith("devcluster:") and manifest["RepoTags"][1] == "devcluster:latest"
    c = config["config"]
    assert c["Entrypoint"] == ["/usr/bin/devnode"] and c["Cmd"] == ["server", "/data"]
    assert "9000/tcp" in c["ExposedPorts"] and "/data" in c["Volumes"]
    assert c["Healthcheck"]["Test"][:3] == ["CMD", "/usr/bin/devnode", "--health-check"]
    with tarfile.open(fileobj=io.BytesIO(layer)) as t:
        members = {m.name: m for m in t.getmembers()}
    assert any("/ld-linux" in name for name in members)  # the program loader, where the programs name it
    for path in ("usr/bin/devnode", "usr/bin/devcluster", "usr/lib/libc.so.6",
                 "usr/lib/libuv.so.1", "usr/lib/libisal.so.2", "usr/share/devcluster/Templates/node-config.json"):
        assert path in members, path
    assert members["tmp"].mode == 0o1777 and members["data"].isdir()
    # Nothing else: no shell, no package manager, no base image.
    assert not any(name.startswith(("bin/", "etc/", "usr/bin/sh")) for name in members)
    # The same programs make the same image.
    again = tmp_path / "again"
    subprocess.run([sys.executable, "scripts/image.py", str(again)], cwd=ROOT, check=True, capture_output=True,
                   timeout=300)
    assert (again / archive.name).read_bytes() == archive.read_bytes()


def podman_cannot_run(archive, tag):
    """Why podman cannot run the image here (None when it can): not installed, or its runtime refused."""
    if shutil.which("podman") is None:
        return "podman is not installed"
    load = subprocess.run(["podman", "load", "-i", str(archive)], capture_output=True, text=True, timeout=120)
    assert load.returncode == 0, load.stderr  # loading needs no runtime: the archive must always load
    probe = subprocess.run(["podman", "run", "--rm", "--network", "none", "--entrypoint", "/usr/bin/devnode",
                            tag, "--version"], capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or [f"exit {probe.returncode}"])[-1]
        return "podman cannot run containers here: " + last
    return None


@pytest.fixture
def podman_images(image):
    """Takes the image's tags out of podman's store again after the test (it loads them)."""
    yield
    if shutil.which("podman"):
        subprocess.run(["podman", "rmi", "--force", *image[1]["RepoTags"]], capture_output=True, timeout=120)


def serve_and_check(start, enter, stop):
    """Starts the image's node, then runs its health check and a boto3 client in its network namespace;
    `stop` answers the node's exit status, checked once the node is gone whatever happened before."""
    pid = start()
    try:
        wait_until(lambda: subprocess.run(enter(pid, health=True), capture_output=True, timeout=30).returncode == 0, 20,
                   message="the image's health check passes")
        client = subprocess.run(enter(pid, health=False), capture_output=True, text=True, timeout=60)
        assert client.stdout.strip() == "ok", client.stderr
    finally:
        code = stop(pid)
    assert code == 0, f"the node exited {code}"


def test_the_image_serves_s3_with_minio_credentials(image, podman_images, tmp_path):
    archive, manifest, config, layer = image
    tag = manifest["RepoTags"][0]
    env = {"MINIO_ROOT_USER": "imageuser", "MINIO_ROOT_PASSWORD": "imagesecret1"}
    health_check = config["config"]["Healthcheck"]["Test"][1:]
    why = podman_cannot_run(archive, tag)
    if why is None:
        def start():
            run = subprocess.run(["podman", "run", "-d", "--network", "none"]
                                 + [f"--env={k}={v}" for k, v in env.items()] + [tag],
                                 capture_output=True, text=True, check=True, timeout=120)
            return run.stdout.strip()

        def enter(container, health):
            if health:
                return ["podman", "healthcheck", "run", container]
            pid = subprocess.run(["podman", "inspect", "--format", "{{.State.Pid}}", container], capture_output=True,
                                 text=True, check=True).stdout.strip()
            return ["nsenter", "-t", pid, "-n", sys.executable, "-c", IMAGE_CLIENT]

        def stop(container):
            subprocess.run(["podman", "stop", "-t", "10", container], capture_output=True, timeout=60)
            code = subprocess.run(["podman", "inspect", "--format", "{{.State.ExitCode}}", container],
                                  capture_output=True, text=True, timeout=60).stdout.strip()
            subprocess.run(["podman", "rm", "-f", container], capture_output=True, timeout=60)
            return int(code or -1)

        return serve_and_check(start, enter, stop)
    namespaces = Hosts.unavailable()
    if namespaces:
        pytest.skip(f"{why}, and {namespaces}")
    print(f"\n{why}: running the image's root file system chrooted in a network namespace instead")
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    with tarfile.open(fileobj=io.BytesIO(layer)) as t:
        t.extractall(rootfs, filter="tar")
    c = config["config"]
    image_env = dict(item.split("=", 1) for item in c["Env"]) | env
    processes = {}

    def start():
        # A network namespace of this test's own, with only a loopback; the process is the image's
        # entry point itself (exec all the way), so its pid is the node's.
        command = " ".join(c["Entrypoint"] + c["Cmd"])
        # /proc mounted as a runtime mounts it (Swift reads its arguments there), in a mount namespace
        # that ends with the process.
        shell = (f"mount -t proc proc {rootfs}/proc && {shutil.which('ip')} link set lo up"
                 f" && exec {shutil.which('chroot')} {rootfs} {command}")
        with open(tmp_path / "node.log", "wb") as log:
            p = subprocess.Popen(["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", shell],
                                 env=image_env, stdout=log, stderr=subprocess.STDOUT)
        processes[p.pid] = p
        return p.pid

    def enter(pid, health):
        inside = [shutil.which("chroot"), str(rootfs)] + health_check if health else [sys.executable, "-c", IMAGE_CLIENT]
        return ["nsenter", "-t", str(pid), "-n", "-m"] + inside

    def stop(pid):
        p = processes.pop(pid)
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=15)
            return "killed: it did not stop on SIGTERM"

    serve_and_check(start, enter, stop)
    assert any((rootfs / "data").iterdir())  # the data went to the volume's folder


def test_the_compose_file_runs_a_four_node_cluster_from_the_image(image, podman_images, tmp_path):
    """deploy/compose.yaml, run as a compose tool would run it, without a container runtime: each service
    on a host of its own (network namespace, its host name, /etc/hosts naming the others), the image's
    root file system with the service's command, environment and volume; then S3 from a client host,
    one node killed, and every object still read."""
    import yaml
    from test_hosts import body

    why = Hosts.unavailable()
    if why:
        pytest.skip(why)
    archive, manifest, config, layer = image
    compose = yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())
    services = compose["services"]
    assert len(services) == 4
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    with tarfile.open(fileobj=io.BytesIO(layer)) as t:
        t.extractall(rootfs, filter="tar")
    (rootfs / "etc").mkdir()
    (rootfs / "etc/hosts").touch()  # what a runtime provides, bound over by each host's own
    c = config["config"]

    def defaults(value):  # ${VAR:-default}, as compose reads it with VAR unset
        return value.split(":-", 1)[1].rstrip("}") if value.startswith("${") else value

    with Hosts(tmp_path, list(services)) as hosts:
        processes = {}
        for name, service in services.items():
            assert service["image"] in manifest["RepoTags"] and service["hostname"] == name
            volume = tmp_path / f"volume-{name}"
            volume.mkdir()
            env = dict(item.split("=", 1) for item in c["Env"]) | {
                k: defaults(v) for k, v in service["environment"].items()}
            argv = [shutil.which("chroot"), str(rootfs)] + c["Entrypoint"] + service["command"]
            binds = [(volume, rootfs / "data"), (hosts.hosts_file, rootfs / "etc/hosts")]
            processes[name] = hosts.start(name, argv, binds=binds, proc=rootfs / "proc", env=env,
                                          log=tmp_path / f"{name}.log")

        def s3(name):
            import boto3
            from botocore.config import Config
            return boto3.client("s3", endpoint_url=f"http://{hosts.address(name)}:9000", aws_access_key_id="minioadmin",
                                aws_secret_access_key="minioadmin", region_name="us-east-1",
                                config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=30))

        def cluster_ready():
            import urllib.request
            try:
                return all(urllib.request.urlopen(f"http://{hosts.address(n)}:9000/minio/health/cluster",
                                                  timeout=2).status == 200 for n in services)
            except OSError:
                return False

        wait_until(lambda: hosts.client(cluster_ready), 30, interval=0.2, message="write quorum in every node")
        client = hosts.client(s3, "node1")
        keys = {f"k{i}": [100, 300_000, 2 << 20][i % 3] for i in range(6)}
        hosts.client(lambda: client.create_bucket(Bucket="compose"))
        for key, size in keys.items():
            hosts.client(lambda: client.put_object(Bucket="compose", Key=key, Body=body(key, size)))
        hosts.stop(processes["node2"], signal.SIGKILL)  # docker compose kill node2
        other = hosts.client(s3, "node3")
        for key, size in keys.items():
            got = hosts.client(lambda: other.get_object(Bucket="compose", Key=key)["Body"].read())
            assert got == body(key, size), key
        for name in ("node1", "node3", "node4"):
            assert hosts.stop(processes[name]) == 0, (tmp_path / f"{name}.log").read_text()[-2000:]
        assert any((tmp_path / "volume-node1").iterdir())
