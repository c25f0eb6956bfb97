#!/usr/bin/env bash
# Installs everything (deploy/setup.sh), builds (deploy/build.sh) and runs the whole test suite:
# unit tests and integration tests, which start their own govledgerd on 127.0.0.1 with an
# ephemeral port. Exits non-zero when any test fails. Works from any directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/deploy/setup.sh"
bash "$root/deploy/build.sh"
# --no-tests=error: a build that lost its tests must fail, not pass with nothing run.
ctest --test-dir "$root/build" --output-on-failure -j2 --no-tests=error
