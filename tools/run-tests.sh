#!/usr/bin/env bash
# make test: normal build + ctest, ASan/UBSan build + ctest, fuzz build + short fuzz runs.
# Prints how long each stage took so the CI budget stays visible.
set -euo pipefail
build=$1 asan=$2 fuzz=$3 jobs=$4 fuzz_seconds=$5
start=$(date +%s)
stage() { local t=$(date +%s); echo; echo "==== $1 (at +$((t - start))s)"; }
summary=()
run_stage() {
  local name=$1; shift
  local t0=$(date +%s)
  stage "$name"
  "$@"
  summary+=("$name: $(( $(date +%s) - t0 ))s")
}
run_stage "normal build" bash -c "cmake -S . -B '$build' -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build '$build' -j$jobs"
run_stage "normal tests" bash -c "cd '$build' && ctest --output-on-failure -j$jobs"
run_stage "asan build" make --no-print-directory build-asan ASAN_BUILD="$asan" JOBS="$jobs"
run_stage "asan tests" bash -c "cd '$asan' && ctest --output-on-failure -j$jobs"
if ls fuzz/*.c >/dev/null 2>&1; then
  run_stage "fuzz build" make --no-print-directory build-fuzz FUZZ_BUILD="$fuzz" JOBS="$jobs" FUZZ_SECONDS="$fuzz_seconds"
  run_stage "fuzz runs" bash -c "cd '$fuzz' && ctest --output-on-failure -j$jobs -L fuzz"
fi
echo
echo "==== stage times"
printf '  %s\n' "${summary[@]}"
echo "  total: $(( $(date +%s) - start ))s"
