#!/usr/bin/env bash
# Configures and builds engram into build/ (both backends when nvcc is present).
#   ENGRAM_BUILD_DIR=build  ENGRAM_CUDA=AUTO|ON|OFF  ENGRAM_WERROR=OFF|ON  ENGRAM_MPI=OFF|ON
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/cuda/bin"
build_dir="${ENGRAM_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DENGRAM_CUDA="${ENGRAM_CUDA:-AUTO}" \
  -DENGRAM_WERROR="${ENGRAM_WERROR:-OFF}" \
  -DENGRAM_MPI="${ENGRAM_MPI:-OFF}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
