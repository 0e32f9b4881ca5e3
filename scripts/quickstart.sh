#!/usr/bin/env bash
# One command from a fresh clone to an assembly forming: install, build, run the example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
"${ENGRAM_BUILD_DIR:-build}"/tools/engram info
"${ENGRAM_BUILD_DIR:-build}"/tools/engram run examples/project.yaml --out out/project
