#!/usr/bin/env bash
# Configures and builds engram into build/ (both backends when nvcc is present).
#   ENGRAM_BUILD_DIR=build  ENGRAM_CUDA=AUTO|ON|OFF  ENGRAM_WERROR=OFF|ON  ENGRAM_MPI=OFF|ON
#   ENGRAM_PYTHON=AUTO|ON|OFF  (AUTO: build the Python module into <build>/python when python3
#   can import nanobind; scripts/install-python-deps.sh installs it)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/cuda/bin"
build_dir="${ENGRAM_BUILD_DIR:-build}"
python="${ENGRAM_PYTHON:-AUTO}"
if [ "$python" = "AUTO" ]; then
  if python3 -c "import nanobind" >/dev/null 2>&1; then python=ON; else python=OFF; fi
fi
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DENGRAM_CUDA="${ENGRAM_CUDA:-AUTO}" \
  -DENGRAM_WERROR="${ENGRAM_WERROR:-OFF}" \
  -DENGRAM_MPI="${ENGRAM_MPI:-OFF}" \
  -DENGRAM_PYTHON="$python" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
