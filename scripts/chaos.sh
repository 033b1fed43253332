#!/usr/bin/env bash
# make chaos: the chaos checker on a fresh 4-node cluster of its own (demo timings), for DURATION
# (default 10m); the cluster is ended by its pids whatever happens. Extra arguments go to 'chaos'.
set -euo pipefail
cd "$(dirname "$0")/.."
home=$(mktemp -d /tmp/dc-chaos-XXXXXX)
export DEVCLUSTER_HOME=$home
dc=.build/release/devcluster
cleanup() { "$dc" down --purge >/dev/null 2>&1 || true; rm -rf "$home"; }
trap cleanup EXIT
# Busy ports are skipped, so a cluster already on 8080+ (make up) is left alone.
"$dc" up 4 --demo --base-port 18080 >/dev/null
"$dc" chaos --duration "${DURATION:-10m}" "$@"
