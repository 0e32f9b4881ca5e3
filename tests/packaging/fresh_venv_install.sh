#!/usr/bin/env bash
# The portable wheel (scripts/build-wheel.sh: x86-64-v3 and baseline builds, auditwheel-repaired) built from a copy of
# the source tree, the copy then deleted, the wheel installed into a fresh virtual environment, and
# the digits example run from the installed package. The wheel must carry its data and find it at
# run time (engine/io/data_dir.hpp), never through a path into the source tree, and must carry
# every shared library outside the manylinux policy (yaml-cpp, libgomp): `ldd` of the installed
# module resolves them inside the venv, so a machine without engram's apt packages runs it.
# Slow (a full compile of the module): ctest label `packaging`, run by .ci/run after the suite.
#   tests/packaging/fresh_venv_install.sh SOURCE_DIR WORK_DIR
set -euo pipefail
source_dir="$(cd "$1" && pwd)"
work="$2"
rm -rf "$work"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
copy="$work/source-copy"
mkdir -p "$copy"
# What git tracks (plus new, not ignored files): no build folders, no venvs.
(cd "$source_dir" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$copy")
python3 -m venv "$work/venv"
# ccache keys on paths relative to the copy, so a rerun (or CI's next run) reuses the objects.
export CCACHE_BASEDIR="$copy" CCACHE_NOHASHDIR=1
export SKBUILD_CMAKE_DEFINE="CMAKE_CXX_COMPILER_LAUNCHER=ccache;CMAKE_C_COMPILER_LAUNCHER=ccache"
ENGRAM_WHEEL_TOOLS="$work/wheel-tools" "$copy/scripts/build-wheel.sh" "$work/dist"
rm -rf "$copy"
wheels=("$work"/dist/engram-*manylinux*_x86_64.whl)
[ -f "${wheels[0]}" ] || { echo "fresh_venv_install: no manylinux wheel in $work/dist" >&2; exit 1; }
"$work/venv/bin/pip" install --quiet "${wheels[0]}"
# No installed file of the package names the (deleted) source folder (pip's own record of where
# it installed from, engram-*.dist-info/direct_url.json, does by design).
package="$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/engram"
[ -f "$package/__init__.py" ] || { echo "fresh_venv_install: no package at $package" >&2; exit 1; }
if grep -rlF "$copy" "$package"; then
  echo "fresh_venv_install: the files above embed the source path $copy" >&2
  exit 1
fi
site="$(dirname "$package")"
# Both engine builds (x86-64-v3 and baseline) are in the wheel, each with its build record.
for build in _engram _engram_baseline; do
  compgen -G "$package/$build.*.so" >/dev/null || { echo "fresh_venv_install: no $build module in the wheel" >&2; exit 1; }
done
# Only what the manylinux policy guarantees (the C/C++ runtime, zlib) may come from the system.
ldd "$package"/_engram*.so | awk -v site="$site/" '
  /=>/ {
    if ($1 ~ /^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl|librt|libstdc\+\+|libgcc_s|libz\.so)/) next
    if (index($3, site) != 1) { print "fresh_venv_install: " $1 " resolves outside the wheel: " $3; bad = 1 }
    else print "bundled: " $1
  }
  END { exit bad }' >&2
cd "$work"
unset ENGRAM_DATA_DIR
# Runtime dispatch: this AVX2 machine loads the x86-64-v3 build, ENGRAM_ISA=baseline the other, and
# the two give the same Assembly Calculus trajectory bit for bit (README: integer and Philox work is
# ISA-independent), while a Sinkhorn solve agrees to rounding.
cat > "$work/isa_probe.py" <<'PY'
import hashlib, sys
import numpy as np
import engram
brain = engram.Brain({"mode": "implicit", "p": 0.05, "areas": [{"name": "A", "n": 2000, "k": 45}],
                      "stimuli": [{"name": "s", "k": 45}],
                      "fibers": [{"from": "s", "to": "A", "beta": 0.1}, {"from": "A", "to": "A", "beta": 0.1}]},
                     seed=7)
digest = hashlib.sha256()
for _ in range(12):
    brain.project(1)
    digest.update(np.ascontiguousarray(brain.winners("A")).tobytes())
rng = np.random.default_rng(3)
x, y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 0.5
ot = engram.ot.sinkhorn(None, None, x=x, y=y, eps=0.05)
print(engram.build_arch, digest.hexdigest(), repr(float(ot.cost)))
PY
if grep -qw avx2 /proc/cpuinfo; then expect_default=x86-64-v3; else expect_default=baseline; fi
read -r arch_default trajectory_default cost_default < <("$work/venv/bin/python" "$work/isa_probe.py")
read -r arch_baseline trajectory_baseline cost_baseline < <(ENGRAM_ISA=baseline "$work/venv/bin/python" "$work/isa_probe.py")
echo "isa dispatch: default $arch_default ($trajectory_default, cost $cost_default); forced $arch_baseline ($trajectory_baseline, cost $cost_baseline)" >&2
[ "$arch_default" = "$expect_default" ] || { echo "fresh_venv_install: loaded $arch_default, expected $expect_default" >&2; exit 1; }
[ "$arch_baseline" = baseline ] || { echo "fresh_venv_install: ENGRAM_ISA=baseline loaded $arch_baseline" >&2; exit 1; }
[ "$trajectory_default" = "$trajectory_baseline" ] ||
  { echo "fresh_venv_install: the two builds' winners differ" >&2; exit 1; }
python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(abs(a - b) > 1e-9 * max(1.0, abs(a)))" \
  "$cost_default" "$cost_baseline" ||
  { echo "fresh_venv_install: Sinkhorn costs differ beyond rounding: $cost_default vs $cost_baseline" >&2; exit 1; }
"$work/venv/bin/python" - <<'PY'
import os
import engram

assert "venv" in engram.__file__, engram.__file__
print("engram", engram.__version__, "from", os.path.dirname(engram.__file__))
# examples/plasticity_meta.yaml, shortened: its transfer task reads the bundled digits.
config = {
    "experiment": "plasticity_meta", "seed": 1, "backend": "cpu",
    "network": {"neurons": 40, "cap": 20, "rounds": 1, "p": 0.5},
    "rule": {"eta": 0.1, "mode": "additive", "updates": "misclassified", "init": "zeros"},
    "meta": {"method": "exact", "steps": 2, "batch": 20, "problems_per_step": 1, "lr": 0.05, "learn": ["output"]},
    "data": {"kind": "halfspace", "inputs": 20, "train_examples": 100, "test_examples": 100},
    "evaluate": {"epochs": 1, "transfer": [{"kind": "digits"}]},
    "baseline": {"epochs": 1, "lr": 0.01, "batch": 32},
}
result, summary = engram.run(config, as_frame=False, return_summary=True)
print("\n".join(summary))
tables = result if isinstance(result, dict) and all(isinstance(v, dict) for v in result.values()) else {"": result}
text = repr(tables)
assert "digits" in text, f"no digits rows in {sorted(tables)}"
print("fresh venv install: the digits example ran from the installed package")
PY
