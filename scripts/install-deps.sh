#!/usr/bin/env bash
# Installs what devcluster needs on Debian/Ubuntu, only what is missing: the C libraries it links,
# the command-line S3 clients of the end-to-end tests (apt), and the Python clients and test runner (pip).
# Uses sudo only when not root; runs apt-get update once, and only when something is missing.
set -euo pipefail

apt_packages=(libuv1-dev libisal-dev libhttp-parser-dev libssl-dev libxxhash-dev pkg-config s3cmd rclone wrk)
pip_packages=(pytest boto3 awscli minio)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "install-deps: not root and no sudo: install ${apt_packages[*]} yourself" >&2
    exit 1
  fi
fi

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "install-deps: no Swift toolchain on PATH: install Swift 6 (https://www.swift.org/install/linux/)" >&2
  exit 1
fi

python3 - "${pip_packages[@]}" <<'PY' || exit 1
import importlib.util, subprocess, sys
modules = {"pytest": "pytest", "boto3": "boto3", "awscli": "awscli", "minio": "minio"}
missing = [p for p in sys.argv[1:] if importlib.util.find_spec(modules.get(p, p)) is None]
if missing:
    print("install-deps: pip installing " + " ".join(missing))
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", *missing])
PY
