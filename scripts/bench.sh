#!/usr/bin/env bash
# make bench: builds the benchmark programs, then runs bench/run.py (Markdown report on stdout).
set -euo pipefail
cd "$(dirname "$0")/.."
flock /tmp/devcluster-swift-build.lock swift build -c release --product HTTPBenchServer
flock /tmp/devcluster-swift-build.lock swift build -c release --product CodecBench
python3 bench/run.py "$@"
