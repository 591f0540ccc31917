#!/usr/bin/env bash
# Builds with AddressSanitizer + UndefinedBehaviorSanitizer (clang, scripts/common.sh's sanitized
# build, shared with scripts/fuzz.sh) and runs the test suites in it. Any report fails the run:
# UBSan does not recover, ASan stops at the first error, LeakSanitizer checks every suite at
# exit (tests/sanitizers/lsan.supp names leaks of system libraries it ignores: OpenSSL's initialisation).
#   bash scripts/sanitize.sh [--subset | --thread] [CTEST-ARGS...]
# Every suite by default (the whole build: ~45 min on 2 shared Zen 4 cores); --subset builds and
# runs only the suites of core's readers, tokenizers, model math and sessions (CI runs that).
# --thread is ThreadSanitizer instead, in its own clang build (build-tsan, -DQUERYLENS_TSAN=ON),
# on the suites where a worker on its own QThread owns the model, a download or the session
# saver (QUERYLENS_TSAN_SUITES); torch runs on one thread there (libgomp is not instrumented).
# Debian's Qt is not instrumented either, so every hand-off through it (a queued signal's
# argument, a QtConcurrent task, a QFuture's result) is reported: tests/sanitizers/tsan_triage.py
# counts those and fails the run on any other report (README, "Robustness").
# Left out, said at the end of the run: the suites that need the SentencePiece plugin (ASan
# kills a process that dlopens with RTLD_DEEPBIND, and the plugin needs it, see DESIGN.md), listed
# in QUERYLENS_SANITIZE_SKIP.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Suites that load a Flan-T5 checkpoint or the plugin itself.
QUERYLENS_SANITIZE_SKIP=${QUERYLENS_SANITIZE_SKIP:-"^(test_t5_parity.*|test_sentencepiece|test_cli|test_batch_encode)$"}
# Suites that need neither the window nor the command line (so not their libraries either), and
# test_amx_kernel: the AMX kernel's loops on the model of the tiles, whose every tile load and
# store is a memcpy ASan checks (the padded copies, the tails), and the self check's fault
# catching.
# test_explain_views: the one window suite here, because it alone guards LeakSanitizer's finding
# in the explanation charts (~1 min under ASan on 2 loaded Zen 4 cores; it costs the subset the
# window library's ~57 more files to build).
QUERYLENS_SANITIZE_SUBSET=(
  test_fuzz_regressions test_fuzz_regressions_sentencepiece test_sentencepiece_model_check test_safetensors
  test_printable_text
  test_input_limits test_bpe_tokenizer test_wordpiece_tokenizer test_session_store test_hub_protocol
  test_batch_dataset test_image_preprocessor test_opt_parity test_itm_parity test_checkpoint_layouts
  test_branch_cache test_explain_views test_amx_kernel
)

# The worker and window suites, for --thread. Left out: test_chat_sessions and
# test_download_dialog start processes with QProcess, whose clone() (Qt 6's forkfd) clang 14's
# TSan runtime cannot follow ("CHECK failed: tsan_rtl.cpp:234" in ForkAfter, an abort).
QUERYLENS_TSAN_SUITES=(
  test_main_window test_explorer test_batch_window test_chat_window test_chat_long_conversation
  test_demo_window test_soak test_explain_views
)
QUERYLENS_TSAN_BUILD=${QUERYLENS_TSAN_BUILD:-$QUERYLENS_ROOT/build-tsan}

if [ "${1:-}" = "--thread" ]; then
  shift
  querylens_install_packages
  querylens_install_packages "${QUERYLENS_CHECK_PACKAGES[@]}"
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$QUERYLENS_ROOT" -B "$QUERYLENS_TSAN_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER=clang++-14 -DQUERYLENS_TSAN=ON "${launcher[@]}" >/dev/null
  cmake --build "$QUERYLENS_TSAN_BUILD" --parallel "${QUERYLENS_JOBS:-$(nproc)}" --target "${QUERYLENS_TSAN_SUITES[@]}"
  export QT_QPA_PLATFORM=offscreen
  export OMP_NUM_THREADS=1  # with the build's one torch thread: no libgomp threads at all
  # test_soak's core cycles run on the test's one thread: a few suffice here; its window cycles
  # (a worker on its QThread, closed mid-work) run as in ctest.
  export QUERYLENS_SOAK_CYCLES=${QUERYLENS_SOAK_CYCLES:-40}
  # Reports go to files, sorted below; the suites' exit status is their tests' own.
  # ignore_noninstrumented_modules: a free or memcpy inside Qt, glib or libtorch is not ours.
  reports="$QUERYLENS_TSAN_BUILD/tsan-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  export TSAN_OPTIONS=${TSAN_OPTIONS:-ignore_noninstrumented_modules=1:second_deadlock_stack=1:exitcode=0:log_path=$reports/report}
  cd "$QUERYLENS_TSAN_BUILD"
  start=$(date +%s)
  status=0
  ctest --output-on-failure --timeout 1800 -R "^($(IFS='|'; echo "${QUERYLENS_TSAN_SUITES[*]}"))$" "$@" || status=$?
  echo "sanitize.sh --thread: the worker and window suites under ThreadSanitizer in $(( $(date +%s) - start )) s"
  shopt -s nullglob
  python3 "$QUERYLENS_ROOT/tests/sanitizers/tsan_triage.py" "$reports"/report.* /dev/null || status=1
  exit $status
fi

ctest_args=()
if [ "${1:-}" = "--subset" ]; then
  shift
  querylens_build_sanitized --target "${QUERYLENS_SANITIZE_SUBSET[@]}"
  ctest_args=(-R "^($(IFS='|'; echo "${QUERYLENS_SANITIZE_SUBSET[*]}"))$")
else
  querylens_build_sanitized
fi
export QT_QPA_PLATFORM=offscreen
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$QUERYLENS_ROOT/tests/sanitizers/lsan.supp:print_suppressions=0}
cd "$QUERYLENS_SANITIZED_BUILD"
start=$(date +%s)
status=0
ctest --output-on-failure --timeout 1800 -E "$QUERYLENS_SANITIZE_SKIP" "${ctest_args[@]}" "$@" || status=$?
echo "sanitize.sh: suites under ASan + UBSan + LSan in $(( $(date +%s) - start )) s; not run (SentencePiece plugin):"
ctest -N -R "$QUERYLENS_SANITIZE_SKIP" | sed -n 's/^ *Test *#[0-9]*: /  /p'
exit $status
