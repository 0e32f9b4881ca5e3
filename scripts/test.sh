#!/usr/bin/env bash
# Builds (if needed) and runs the whole test suite. GPU tests skip with the reason when no
# device is usable.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
# Tests run two at a time on 2 cores; passive OpenMP waiting keeps idle threads from spinning
# against the other test process.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
build_dir="${ENGRAM_BUILD_DIR:-build}"
# The packaging test (a fresh-venv pip install, a full compile) runs on its own: .ci/run.
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" -LE packaging
# The Python module's pytest suite, when the build has the module (ENGRAM_PYTHON; build.sh turns
# it on when nanobind is importable). It compares engram.run with this build's CLI.
if compgen -G "$build_dir/python/engram/_engram*.so" >/dev/null; then
  PYTHONPATH="$PWD/$build_dir/python${PYTHONPATH:+:$PYTHONPATH}" ENGRAM_CLI="$PWD/$build_dir/tools/engram" \
    python3 -m pytest -q tests/python
elif [ "${ENGRAM_PYTHON:-AUTO}" = "ON" ]; then
  echo "test: ENGRAM_PYTHON=ON but $build_dir/python has no engram module" >&2
  exit 1
else
  echo "test: skipping the Python tests (no module built; run scripts/install-python-deps.sh)"
fi
