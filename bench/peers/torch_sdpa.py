#!/usr/bin/env python3
"""engram's tiled attention against PyTorch's scaled_dot_product_attention on the CPU.

Runs build/bench/engram_attention_bench (JSON output) and torch.nn.functional.
scaled_dot_product_attention at the same sizes (one sequence, 4 heads, lengths 64..4096, head
dims 16 and 64, float32), forward and forward+backward, with the same thread count, and prints
per size: both times, engram/torch time ratio (< 1: engram faster), engram's GFLOP/s and its
fraction of the GEMM peak that engram_attention_bench measured in the same run. Each size takes
--rounds rounds (default 3) of one engram timing then one torch timing, and each side's time is
the best of its rounds: the two sides alternate, so a burst of load from other programs slows
both sides of a ratio rather than one.

    pip install -r bench/peers/requirements.txt   # torch and POT from PyPI (pinned)
    OMP_NUM_THREADS=2 python bench/peers/torch_sdpa.py [--bench build/bench/engram_attention_bench] [--rounds 3]
"""
import argparse
import json
import os
import subprocess
import time

import torch
import torch.nn.functional as F

HEADS = 4


def best_time(fn, min_seconds=0.3, repeats=3):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        best = min(best, elapsed / n)
    return best


def torch_times(length, dim, repeats=3):
    q, k, v = (torch.randn(1, HEADS, length, dim, requires_grad=True) for _ in range(3))
    dout = torch.randn(1, HEADS, length, dim)

    def forward():
        with torch.no_grad():
            F.scaled_dot_product_attention(q, k, v)

    out = F.scaled_dot_product_attention(q, k, v)

    def backward():
        torch.autograd.grad(out, (q, k, v), dout, retain_graph=True)

    return best_time(forward, repeats=repeats), best_time(backward, repeats=repeats)


def engram_rows(bench, pattern, repeats=3):
    """{(pass, D, L): (seconds, GFLOP/s)} and the GEMM peak of engram_attention_bench rows matching pattern.

    Each row is the best of `repeats` repetitions (each the mean over Google Benchmark's
    iterations), the same statistic best_time takes for torch."""
    run = subprocess.run([bench, "--benchmark_format=json", f"--benchmark_filter={pattern}",
                          f"--benchmark_repetitions={repeats}"], check=True, capture_output=True, text=True)
    rows, peak = {}, None
    for b in json.loads(run.stdout)["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue  # repetitions' mean, median and stddev rows
        if b["name"].startswith("BM_Gemm"):
            peak = max(peak or 0.0, b["GFLOP/s"])
            continue
        kind = "forward" if "Forward" in b["name"] else "backward"
        parts = dict(p.split(":") for p in b["name"].split("/")[1:] if ":" in p)
        seconds = b["real_time"] * {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1.0}[b["time_unit"]]
        key = (kind, int(parts["D"]), int(parts["L"]))
        if key not in rows or seconds < rows[key][0]:
            rows[key] = (seconds, b["GFLOP/s"])
    return rows, peak


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", default=os.path.join("build", "bench", "engram_attention_bench"))
    parser.add_argument("--rounds", type=int, default=3, help="alternating engram/torch timings per size")
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    _, peak = engram_rows(args.bench, "BM_Gemm")
    print(f"torch {torch.__version__}, {threads} thread(s); GEMM peak (engram sgemm 1024^3): {peak:.1f} GFLOP/s")
    print(f"{'pass':9} {'D':>3} {'L':>5} {'engram ms':>10} {'torch ms':>9} {'ratio':>6} {'GFLOP/s':>8} {'of peak':>8}")
    for dim in (16, 64):
        for length in (64, 256, 1024, 4096):
            engram, fwd, bwd = {}, float("inf"), float("inf")
            for _ in range(args.rounds):
                rows, _ = engram_rows(args.bench, f"BM_Attention.*/D:{dim}/L:{length}/", repeats=1)
                for key, row in rows.items():
                    if key not in engram or row[0] < engram[key][0]:
                        engram[key] = row
                f, b = torch_times(length, dim, repeats=1)
                fwd, bwd = min(fwd, f), min(bwd, b)
            for kind, theirs in (("forward", fwd), ("backward", bwd)):
                seconds, gflops = engram[(kind, dim, length)]
                print(f"{kind:9} {dim:3d} {length:5d} {seconds * 1e3:10.3f} {theirs * 1e3:9.3f} "
                      f"{seconds / theirs:6.2f} {gflops:8.2f} {gflops / peak:8.1%}", flush=True)


if __name__ == "__main__":
    main()
