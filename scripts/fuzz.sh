#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, ASan + UBSan) and runs each for a bounded
# time on a corpus seeded from the fixtures; prints executions, coverage and findings per target.
#   bash scripts/fuzz.sh [--seconds N] [TARGET...]      (default: 60 s each, every target)
# The build is scripts/common.sh's sanitized one ($QUERYLENS_SANITIZED_BUILD, default build-fuzz).
# The corpus grows in build-fuzz/corpus/TARGET (kept between runs); an input that fails is saved
# as build-fuzz/findings/TARGET-crash-... and the script exits 1.
# Turn each into a regression: copy it to tests/fuzz/regressions/TARGET/ (test_fuzz_regressions
# replays it in every build), fix the bug, and add a unit test with the message it must give.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

seconds=60
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done

build=$QUERYLENS_SANITIZED_BUILD
querylens_build_sanitized --target querylens_fuzzers

if [ ${#targets[@]} -eq 0 ]; then
  for binary in "$build"/tests/fuzz/fuzz_*; do  # the executables, not the fuzz_*_autogen folders
    [ -f "$binary" ] && [ -x "$binary" ] && targets+=("$(basename "$binary" | sed 's/^fuzz_//')")
  done
fi
rm -rf "$build/seeds"
"$build/tests/fuzz/querylens_fuzz_seeds" "$build/seeds"
mkdir -p "$build/findings" "$build/logs"

dictionary="$QUERYLENS_ROOT/tests/fuzz/dictionaries/json.dict"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export QT_QPA_PLATFORM=offscreen
status=0
failed_logs=()
summary="$build/fuzz-summary.txt"
printf '%-20s %8s %12s %9s %6s %7s  %s\n' target seconds executions exec/s cov corpus result | tee "$summary"
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus" "$build/seeds/$target"
  dict=()
  case "$target" in
    safetensors|weight_index|checkpoint_config|bpe_files|wordpiece_files|session_file|hub_protocol) dict=(-dict="$dictionary") ;;
  esac
  log="$build/logs/$target.log"
  result=ok
  "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$target-" "${dict[@]}" "$corpus" "$build/seeds/$target" >"$log" 2>&1 || {
    result="FINDING (see $log)"
    status=1
    failed_logs+=("$log")
  }
  # (a log without these lines, e.g. of a target that did not start, must not end the loop)
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1 || true)
  coverage=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
  printf '%-20s %8s %12s %9s %6s %7s  %s\n' "$target" "$seconds" "${executions:-?}" "${rate:-?}" "${coverage:-?}" \
    "$(ls "$corpus" | wc -l)" "$result" | tee -a "$summary"
done
for log in "${failed_logs[@]}"; do  # what CI shows of each finding
  echo "--- $log"
  grep -E 'ERROR|SUMMARY|FUZZ_CHECK|what\(\)|Test unit written' "$log" | head -8 || true
done
exit $status
