#!/usr/bin/env bash
# Builds everything with AddressSanitizer and UndefinedBehaviorSanitizer (Debug) in build-asan/
# at the repository root and runs the whole test suite there: the unit tests, and the
# integration tests against a govledgerd and a CLI built the same way, so a memory error or
# undefined behaviour in the daemon fails the test that caused it. Not part of CI: the build
# takes about ten minutes on two cores. Exits non-zero when any test fails.
# Works from any directory; installs the packages first (deploy/setup.sh).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-asan"
bash "$root/deploy/setup.sh"

cmake_args=(-S "$root" -B "$build" -G Ninja
  -DCMAKE_BUILD_TYPE=Debug
  -DGOVLEDGER_BUILD_TESTS=ON
  -DGOVLEDGER_TEST_TIMEOUT_SCALE=8
  "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined")
cmake "${cmake_args[@]}"
ninja -C "$build"

# Leak checks at exit (govledgerd itself ends with std::_Exit, so they cover the test processes);
# the one suppression is tcmalloc's registration of itself, which ASan's allocator replaces.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export LSAN_OPTIONS="suppressions=$root/deploy/lsan-suppressions.txt:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1"
ctest --test-dir "$build" --output-on-failure -j2 --no-tests=error
