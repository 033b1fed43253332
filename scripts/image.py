#!/usr/bin/env python3
"""make image: a container image of devnode and devcluster with no base image, built from the release
programs and the libraries they load (nothing pulled from a registry). The output is an image archive in
the format `docker load` and `podman load` both read (a manifest.json, the config, one layer; not
compressed: podman 4 loads no compressed archive), tagged devcluster:VERSION and devcluster:latest. It serves one node on :9000 with its data in /data (MinIO's `server /data`), takes
MINIO_ROOT_USER / MINIO_ROOT_PASSWORD, and has a health check (`devnode --health-check`).

Usage: image.py [OUT_DIR]   (default dist/; release programs in .build/release)
"""

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".build/release"
PORT = 9000
# Files in the image are dated at this instant, so the same programs make the same image.
EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


def version():
    text = (ROOT / "Sources/Core/Version.swift").read_text()
    return re.search(r'static let string = "(.*)"', text).group(1)


def libraries(programs):
    """Every shared library the programs load, by the path the loader finds it at, and the loader."""
    found = {}
    for program in programs:
        for line in subprocess.run(["ldd", str(program)], capture_output=True, text=True, check=True).stdout.splitlines():
            parts = line.split()
            if "not found" in line:
                sys.exit(f"image: {program} needs {parts[0]}, which this machine lacks: install it first")
            if "=>" in parts and parts[parts.index("=>") + 1].startswith("/"):
                found[parts[0]] = Path(parts[parts.index("=>") + 1])
            elif parts and parts[0].startswith("/"):
                found[parts[0]] = Path(parts[0])  # the loader, at the absolute path the programs name
    return found


def layer(programs, templates):
    """The image's one file system layer, as an uncompressed tar."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add_dir(path, mode=0o755):
            info = tarfile.TarInfo(path)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, EPOCH
            tar.addfile(info)

        def add_file(path, source, mode):
            data = Path(source).read_bytes()
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), mode, EPOCH
            tar.addfile(info, io.BytesIO(data))

        for d in ("usr", "usr/bin", "usr/lib", "usr/share", "usr/share/devcluster",
                  "usr/share/devcluster/Templates", "lib64", "data", "proc", "sys", "dev"):
            add_dir(d)  # proc, sys, dev: where a runtime mounts them (the programs read /proc)
        add_dir("tmp", 0o1777)  # a scratch node's data folder, and TMPDIR
        for program in programs:
            add_file(f"usr/bin/{program.name}", program, 0o755)
        for template in sorted(templates.rglob("*")):
            name = f"usr/share/devcluster/Templates/{template.relative_to(templates)}"
            if template.is_dir():
                add_dir(name)
            else:
                add_file(name, template, 0o644)
        for name, path in sorted(libraries(programs).items()):
            if name.startswith("/"):
                add_file(name.lstrip("/"), path.resolve(), 0o755)
            else:
                # The programs' run path ($ORIGIN/../lib) finds every other library here.
                add_file(f"usr/lib/{name}", path.resolve(), 0o644)
    return out.getvalue()


def config(diff_id, tag):
    seconds = 1_000_000_000
    return {
        "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine),
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "Entrypoint": ["/usr/bin/devnode"],
            "Cmd": ["server", "/data"],
            "Env": ["PATH=/usr/bin", "TMPDIR=/tmp"],
            "ExposedPorts": {f"{PORT}/tcp": {}},
            "Volumes": {"/data": {}},
            "WorkingDir": "/",
            "Healthcheck": {
                "Test": ["CMD", "/usr/bin/devnode", "--health-check", "--address", f"127.0.0.1:{PORT}"],
                "Interval": 5 * seconds, "Timeout": 3 * seconds, "StartPeriod": 2 * seconds, "Retries": 3,
            },
            "Labels": {"org.opencontainers.image.title": "devcluster",
                       "org.opencontainers.image.version": tag.split(":", 1)[1]},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "scripts/image.py"}],
    }


def main():
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "dist")
    tag = f"devcluster:{version()}"
    programs = [BIN / "devnode", BIN / "devcluster"]
    files = layer(programs, ROOT / "Templates")
    diff_id = "sha256:" + hashlib.sha256(files).hexdigest()
    config_bytes = json.dumps(config(diff_id, tag), sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = diff_id.split(":")[1] + "/layer.tar"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [tag, "devcluster:latest"],
                            "Layers": [layer_name]}]).encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"devcluster-image-{version()}.tar"
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in ((config_name, config_bytes), (layer_name, files), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), EPOCH
            tar.addfile(info, io.BytesIO(data))
    print(f"{archive} ({archive.stat().st_size // 1_000_000} MB): {tag}; "
          f"load it with 'docker load -i {archive}' or 'podman load -i {archive}'")


if __name__ == "__main__":
    main()
