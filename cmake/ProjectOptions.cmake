# Warnings and sanitizers as interface targets that each of our targets links PRIVATE,
# so that nothing is set directory-wide.
add_library(querylens_options INTERFACE)
target_compile_options(querylens_options INTERFACE -Wall -Wextra -Wshadow=local -Wnon-virtual-dtor)
# Undefined behaviour stops the program (-fno-sanitize-recover): a report is a failed test, not a
# line in a log nobody reads.
if(QUERYLENS_SANITIZE)
  target_compile_options(querylens_options INTERFACE -fsanitize=address,undefined -fno-sanitize-recover=undefined
                         -fno-omit-frame-pointer)
  target_link_options(querylens_options INTERFACE -fsanitize=address,undefined)
endif()
# ThreadSanitizer instruments our code only: Qt, libtorch and OpenBLAS are Debian's builds, so
# torch runs on one thread there and scripts/sanitize.sh --thread sorts out the reports of
# hand-offs through Qt (tests/sanitizers/tsan_triage.py).
if(QUERYLENS_TSAN)
  if(QUERYLENS_SANITIZE OR QUERYLENS_FUZZ)
    message(FATAL_ERROR "QUERYLENS_TSAN cannot be combined with AddressSanitizer (QUERYLENS_SANITIZE, QUERYLENS_FUZZ)")
  endif()
  target_compile_options(querylens_options INTERFACE -fsanitize=thread -fno-omit-frame-pointer -gline-tables-only)
  target_link_options(querylens_options INTERFACE -fsanitize=thread)
endif()
if(QUERYLENS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "QUERYLENS_FUZZ needs clang's libFuzzer: configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # Every library gets libFuzzer's coverage instrumentation; only the fuzz_* executables link its main.
  target_compile_options(querylens_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                         -fno-sanitize-recover=undefined -fno-omit-frame-pointer -gline-tables-only)
  target_link_options(querylens_options INTERFACE -fsanitize=address,undefined)
endif()

# The compiler flags of each instruction-set level of the kernels (core/model/kernels/isa.h), for
# the files of that level only, never a whole target: one binary runs on every CPU. The tests use
# them too (the AMX loops on a software model of the tiles, tests/core).
# (-Wno-*uninitialized: GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which it then
# reports as used uninitialized, GCC bug 105593.)
set(QUERYLENS_AVX2_FLAGS -mavx2 -mfma -mf16c)
set(QUERYLENS_AVX512_FLAGS ${QUERYLENS_AVX2_FLAGS} -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni
    -Wno-uninitialized -Wno-maybe-uninitialized)
set(QUERYLENS_AVX512BF16_FLAGS ${QUERYLENS_AVX512_FLAGS} -mavx512bf16)
set(QUERYLENS_AMX_FLAGS ${QUERYLENS_AVX512BF16_FLAGS} -mamx-tile -mamx-bf16)
