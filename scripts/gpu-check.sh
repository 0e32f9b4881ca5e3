#!/usr/bin/env bash
# Puts a machine with a GPU to use at once: builds the CUDA backend, runs every CUDA test (the
# `/cuda` instances of the backend-parameterised suites and the CUDA-only ones) and the GPU
# benchmarks, and writes one report. Sized for < 8 minutes on one modern GPU (the build is most
# of it; ccache makes a rerun quick). Without a usable GPU it says why and exits 0.
#
#   scripts/gpu-check.sh [REPORT]        # default report: gpu-check-report.txt
#   ENGRAM_BUILD_DIR=build-cuda          # where the CUDA build goes (default build-cuda)
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/cuda/bin"
report="${1:-gpu-check-report.txt}"
build_dir="${ENGRAM_BUILD_DIR:-build-cuda}"
start=$(date +%s)

say() { echo "gpu-check: $*" | tee -a "$report"; }
: > "$report"

if ! command -v nvidia-smi >/dev/null 2>&1; then
  say "skipped: no GPU on this machine (nvidia-smi not found); nothing to check"
  exit 0
fi
if ! devices=$(nvidia-smi -L 2>&1) || [ -z "$devices" ]; then
  say "skipped: no usable GPU (nvidia-smi: ${devices:-no devices listed})"
  exit 0
fi
if ! command -v nvcc >/dev/null 2>&1; then
  say "skipped: a GPU is present but nvcc (the CUDA toolkit) is not installed"
  exit 0
fi
say "devices: $devices"
say "building $build_dir (ENGRAM_CUDA=ON) ..."
if ! ENGRAM_CUDA=ON ENGRAM_PYTHON=OFF ENGRAM_BUILD_DIR="$build_dir" timeout 420 scripts/build.sh >"$report.build.log" 2>&1; then
  say "FAILED: the CUDA build (log: $report.build.log)"
  tail -30 "$report.build.log" | tee -a "$report"
  exit 1
fi
say "build done in $(( $(date +%s) - start )) s"
"$build_dir/tools/engram" info | tee -a "$report"

status=0
# Every CUDA test: the cuda instances of backend-parameterised suites, and suites named for CUDA.
say "tests:"
if ! timeout 180 "$build_dir/tests/engram_tests" --gtest_filter='*/cuda:*cuda*:*Cuda*:*CUDA*:*Gpu*:*GPU*' \
    --gtest_brief=1 2>&1 | tee -a "$report"; then
  status=1
  say "FAILED: CUDA tests"
fi
# The GPU benchmarks, short: throughput figures, each beside its CPU peer where one exists.
say "benchmarks (cuda):"
ENGRAM_BENCH_BACKEND=cuda timeout 120 "$build_dir/bench/engram_bench" \
  --benchmark_filter='BM_TransformerSteps|BM_Sweep|BM_Plastic|BM_Sinkhorn' --benchmark_min_time=0.2 \
  2>&1 | tee -a "$report" || { status=1; say "FAILED: engram_bench on cuda"; }
ENGRAM_BENCH_BACKEND=cuda timeout 60 "$build_dir/bench/engram_attention_bench" --benchmark_min_time=0.2 \
  2>&1 | tee -a "$report" || { status=1; say "FAILED: engram_attention_bench on cuda"; }
say "done in $(( $(date +%s) - start )) s, status $status (report: $report)"
exit $status
