#!/usr/bin/env bash
# Builds (if needed) and runs the whole test suite. GPU tests skip with the reason when no
# device is usable.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
# Tests run two at a time on 2 cores; passive OpenMP waiting keeps idle threads from spinning
# against the other test process.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
ctest --test-dir "${ENGRAM_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
