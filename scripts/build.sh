#!/usr/bin/env bash
# Configures and builds engram into build/ (both backends when nvcc is present).
#   ENGRAM_BUILD_DIR=build  ENGRAM_CUDA=AUTO|ON|OFF  ENGRAM_WERROR=OFF|ON  ENGRAM_MPI=OFF|ON
#   ENGRAM_ARCH=native|x86-64-v3|x86-64-v4|baseline  (host ISA; native, the default, is this machine's:
#   -march=native; the others build binaries that run on other machines of that level)
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
# ccache, when installed, makes rebuilds and builds of other checkouts (git worktrees) cheap;
# a base dir of the checkout keeps cached objects independent of where the checkout lives.
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build_dir" -G Ninja "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DENGRAM_CUDA="${ENGRAM_CUDA:-AUTO}" \
  -DENGRAM_WERROR="${ENGRAM_WERROR:-OFF}" \
  -DENGRAM_MPI="${ENGRAM_MPI:-OFF}" \
  -DENGRAM_ARCH="${ENGRAM_ARCH:-native}" \
  -DENGRAM_PYTHON="$python" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
