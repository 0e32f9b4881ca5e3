#!/usr/bin/env python3
"""POT beside engram on the inputs of bench/ot_benchmark.cpp; prints engram/POT time ratios.

Rebuilds each benchmark's points with the same hash formula, times POT's log-domain Sinkhorn
(ot.bregman.sinkhorn_log, numpy backend, double) for the same fixed number of iterations (no
early stop; POT also computes its marginal error every 10 iterations), runs engram_bench on the
same configurations, and prints ms per iteration for both and the ratio engram / POT (< 1:
engram faster). POT gets the cost matrix precomputed (untimed) in both the stored and the online
rows; engram's online rows compute the cost on the fly.

    python3 bench/peers/pot_sinkhorn.py [--bench build/bench/engram_bench] [--large]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import ot


def points(count, dim, side):
    k = np.arange(count * dim, dtype=np.uint64)
    h = (k * np.uint64(2654435761) + np.uint64(side) * np.uint64(2246822519)) & np.uint64(0xFFFFFFFF)
    return ((h.astype(np.float64) + 0.5) / 4294967296.0).reshape(count, dim)


def cost_scale(x, y):
    both = np.vstack([x, y])
    return float(((both.max(0) - both.min(0)) ** 2).sum())


def iterations_for(n):
    return 20 if n <= 1000 else 3 if n <= 10000 else 1


def pot_ms_per_iter(x, y, eps_rel, iters):
    M = ot.dist(x, y)
    a = np.full(len(x), 1.0 / len(x))
    b = np.full(len(y), 1.0 / len(y))
    reg = eps_rel * cost_scale(x, y)
    start = time.perf_counter()
    ot.bregman.sinkhorn_log(a, b, M, reg, numItermax=iters, stopThr=0.0)
    return 1e3 * (time.perf_counter() - start) / iters


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default=os.path.join(os.path.dirname(__file__), "../../build/bench/engram_bench"))
    ap.add_argument("--large", action="store_true", help="include n = 10^4 at dim 64 (POT needs the 10^5 matrix: skipped)")
    args = ap.parse_args()
    env = dict(os.environ, ENGRAM_BENCH_OT_LARGE="1" if args.large else "0")
    out = subprocess.run([args.bench, "--benchmark_filter=BM_Sinkhorn", "--benchmark_format=json"], env=env,
                         capture_output=True, text=True, check=True)
    rows = json.loads(out.stdout)["benchmarks"]
    print(f"POT {ot.__version__}, numpy {np.__version__}; engram backend: {json.loads(out.stdout)['context'].get('engram_backend', '?')}")
    print(f"{'benchmark':58s} {'engram ms/it':>13s} {'POT ms/it':>10s} {'ratio':>7s}")
    for r in rows:
        name = r["name"]
        fields = dict(part.split(":") for part in name.split("/")[1:] if ":" in part)
        engram_ms = r["ms_per_iter"]
        if name.startswith("BM_SinkhornBatch"):
            count, n = int(fields["problems"]), int(fields["n"])
            total = 0.0
            for p in range(count):
                x, y = points(n, 3, 2 * p + 1), points(n, 3, 2 * p + 2)
                total += pot_ms_per_iter(x, y, 0.1, 20)
            pot_ms = total
        else:
            n, dim = int(fields["n"]), int(fields["dim"])
            if n > 10000:
                print(f"{name:58s} {engram_ms:13.3f} {'-':>10s} {'-':>7s}")
                continue
            x, y = points(n, dim, 1), points(n, dim, 2)
            pot_ms = pot_ms_per_iter(x, y, int(fields["eps_milli"]) / 1000.0, iterations_for(n))
        print(f"{name.replace('/iterations:1/real_time', ''):58s} {engram_ms:13.3f} {pot_ms:10.3f} {engram_ms / pot_ms:7.2f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
