#!/usr/bin/env bash
# Builds (if needed) and runs the whole test suite. GPU tests skip with the reason when no
# device is usable.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir "${ENGRAM_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
