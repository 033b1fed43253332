#!/usr/bin/env bash
# Every test: formatting, the Swift unit and loop tests, then the end-to-end suite against real
# processes. Prints each runner's summary line and a final one.
set -uo pipefail
cd "$(dirname "$0")/.."
lock="flock /tmp/devcluster-swift-build.lock"
status=0

echo "== lint (swift format)"
if ! swift format lint --strict --recursive Package.swift Sources Tests; then
  echo "lint: failed"; status=1
fi

echo "== unit and loop tests (swift test)"
# A test binary left from an earlier build would pass for code that no longer compiles: a failed build
# fails the run, shows its errors, and skips swift test.
build_log=/tmp/devcluster-swift-build.log
if $lock swift build --build-tests >"$build_log" 2>&1; then
  grep -E "^Build complete" "$build_log" || true
  swift test --skip-build 2>&1 | tee /tmp/devcluster-swift-test.log | grep -E "^(✘|✔ Test run|✘ Test run|Test Suite .* (passed|failed)|Executed)" || true
  if ! grep -qE "Test run with [0-9]+ tests? in [0-9]+ suites? passed" /tmp/devcluster-swift-test.log; then
    echo "swift test: failed (see /tmp/devcluster-swift-test.log)"; grep -E "✘|error:|Fatal" /tmp/devcluster-swift-test.log | head -40; status=1
  fi
else
  echo "swift build --build-tests: failed, swift test skipped (full log: $build_log)"
  errors=$(grep -E "error:" "$build_log" | awk '!seen[$0]++' | head -40)
  if [ -n "$errors" ]; then echo "$errors"; else tail -20 "$build_log"; fi
  status=1
fi

echo "== end-to-end tests (pytest, real processes on 127.0.0.1)"
# scripts/install-deps.sh makes .venv where the system python3 cannot take the test clients.
if [ -x .venv/bin/python ]; then export PATH="$PWD/.venv/bin:$PATH"; fi
python3 -m pytest -q -p no:cacheprovider tests/e2e || status=1

echo "== done: $([ $status -eq 0 ] && echo 'all suites passed' || echo 'SOME SUITES FAILED')"
exit $status
