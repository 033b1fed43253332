#!/usr/bin/env bash
# make fuzz: runs libFuzzer on every parser that takes bytes from outside (Sources/FuzzTargets), each
# for FUZZ_SECONDS (default 60), starting from its corpus in fuzz/corpus/<target>/ and adding what it
# finds there; a crash is kept as fuzz/corpus/<target>/crash-* (a regression input that `make test`
# replays) and ends the run with its status. FUZZ_TARGETS picks some (space-separated names).
# The fuzz build has its own build folder (.build/fuzz, or FUZZ_BUILD_DIR): address sanitizer and
# coverage instrumentation.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
scratch=${FUZZ_BUILD_DIR:-.build/fuzz}
echo "fuzz: building the fuzz target with -sanitize=fuzzer,address (in $scratch)"
DEVCLUSTER_FUZZ=1 flock /tmp/devcluster-swift-build.lock swift build --scratch-path "$scratch" \
  --product DevclusterFuzz -Xswiftc -sanitize=fuzzer,address
binary="$scratch/debug/DevclusterFuzz"
targets="${FUZZ_TARGETS:-http aws-chunked xml sigv4 range config metadata internode form-data bucket-documents storage-calls post-policy}"
status=0
for t in $targets; do
  corpus="fuzz/corpus/$t"
  mkdir -p "$corpus" "$scratch/found/$t"
  echo "fuzz: $t for ${seconds}s (corpus: $(ls "$corpus" | wc -l) inputs)"
  # New inputs go to a folder of their own, merged into the corpus (minimised) afterwards.
  if ! FUZZ_TARGET="$t" "$binary" "$scratch/found/$t" "$corpus" -max_total_time="$seconds" -max_len=65536 \
      -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$corpus/" -print_final_stats=1 2>"$scratch/$t.log"; then
    status=1
    echo "fuzz: $t FOUND A CRASH (kept in $corpus/crash-*): see $scratch/$t.log"
    grep -E "fuzz invariant broken|ERROR: AddressSanitizer|Fatal error" "$scratch/$t.log" | head -5 || true
  fi
  grep -E "^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::new_units_added|cov: " \
    "$scratch/$t.log" | tail -4 | sed "s/^/fuzz: $t: /" || true
  # (A crash input already in the corpus crashes the merge's run of it too: its artifact goes with the rest.)
  FUZZ_TARGET="$t" "$binary" -merge=1 -artifact_prefix="$scratch/found/" "$corpus" "$scratch/found/$t" \
    >/dev/null 2>&1 || true
  rm -rf "$scratch/found/$t"
done
exit $status
