#!/usr/bin/env bash
# Installs what devcluster needs on Debian/Ubuntu, only what is missing: the C libraries it links,
# the command-line S3 clients of the end-to-end tests (apt), and the Python clients and test runner (pip).
# Uses sudo only when not root; runs apt-get update once, and only when something is missing.
#
# The Python packages go where python3 can take them. Where it cannot (Debian's system Python refuses
# `pip install`, PEP 668, or has no pip), they go in a virtualenv at .venv that still sees the system's
# packages; `make e2e` and scripts/run-tests.sh use .venv whenever it exists.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(libuv1-dev libisal-dev libhttp-parser-dev libssl-dev libxxhash-dev pkg-config python3 s3cmd rclone wrk
  chromium chromium-driver iproute2 groff-base bsdextrautils man-db)
# A package whose import name differs from its own is written package:module.
pip_packages=(pytest pytest-xdist:xdist setuptools wheel boto3 awscrt awscli minio selenium prometheus_client cryptography pyyaml:yaml)
venv=.venv

apt_updated=false
apt_install() {
  local sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "install-deps: not root and no sudo: run 'apt-get install $*' as root, then rerun" >&2
      exit 1
    fi
    sudo_cmd=(sudo)
  fi
  echo "install-deps: installing $*"
  if ! $apt_updated; then
    "${sudo_cmd[@]}" apt-get update -qq
    apt_updated=true
  fi
  # Through env: sudo drops the caller's environment.
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

if ! command -v swift >/dev/null 2>&1; then
  echo "install-deps: no Swift toolchain on PATH: install Swift 6 (https://www.swift.org/install/linux/)" >&2
  exit 1
fi

# The pip packages an interpreter lacks, on one line.
missing_modules() {
  "$1" - "${pip_packages[@]}" <<'PY'
import importlib.util, sys
wanted = [p.partition(":") for p in sys.argv[1:]]
print(" ".join(dist for dist, _, module in wanted if importlib.util.find_spec(module or dist) is None))
PY
}

# Whether `pip install` into an interpreter works: it has pip and is not externally managed (PEP 668).
pip_allowed() {
  "$1" - <<'PY'
import importlib.util, os, sys, sysconfig
managed = sys.prefix == sys.base_prefix and os.path.exists(
    os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
sys.exit(1 if managed or importlib.util.find_spec("pip") is None else 0)
PY
}

python=python3
if [ -x "$venv/bin/python" ]; then python=$venv/bin/python; fi
read -r -a missing <<<"$(missing_modules "$python")"
[ ${#missing[@]} -gt 0 ] || exit 0

if [ "$python" = python3 ] && ! pip_allowed python3; then
  echo "install-deps: python3 cannot pip install here: making a virtualenv in $venv for ${missing[*]}"
  # Debian's python3 makes a virtualenv only with python3-venv, which brings the pip wheel.
  if ! python3 -m venv --system-site-packages "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    apt_install python3-venv python3-pip
    python3 -m venv --system-site-packages "$venv"
  fi
  python=$venv/bin/python
  read -r -a missing <<<"$(missing_modules "$python")"
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: pip installing ${missing[*]}$([ "$python" = python3 ] || echo " in $venv")"
  "$python" -m pip install -q --disable-pip-version-check "${missing[@]}"
fi
if [ "$python" != python3 ]; then
  echo "install-deps: the end-to-end tests run with $venv (make e2e and make test use it)"
fi
