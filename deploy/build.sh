#!/usr/bin/env bash
# Configures and builds govledger in build/ at the repository root (CMake + Ninja,
# RelWithDebInfo, tests included, ccache when installed). Works from any directory.
#   bash deploy/build.sh                       everything, tests included
#   bash deploy/build.sh govledgerd govledger  only the named ninja targets
# Binaries: build/ledger/govledgerd (the daemon), build/cli/govledger (the CLI).
# Environment: GOVLEDGER_BUILD_TYPE (default RelWithDebInfo), GOVLEDGER_BUILD_JOBS (default:
# ninja's choice).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
build_type="${GOVLEDGER_BUILD_TYPE:-RelWithDebInfo}"

if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$build/CMakeCache.txt"; then
  echo "build.sh: $build was configured with another generator; remove it and rerun" >&2
  exit 1
fi

# Options are passed every time so that a build directory configured by hand with other values
# (tests switched off, another build type) is brought back to the documented configuration.
cmake_args=(-S "$root" -B "$build" -G Ninja
  -DCMAKE_BUILD_TYPE="$build_type"
  -DGOVLEDGER_BUILD_TESTS=ON)
cmake "${cmake_args[@]}"  # ccache, when installed, is found by CMakeLists.txt

ninja_args=(-C "$build")
if [ -n "${GOVLEDGER_BUILD_JOBS:-}" ]; then
  ninja_args+=(-j "$GOVLEDGER_BUILD_JOBS")
fi
ninja "${ninja_args[@]}" "$@"
