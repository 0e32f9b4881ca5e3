#!/usr/bin/env python3
"""The Assembly Calculus authors' C++ engine (NEMO) beside engram, in one run.

Builds the reference from the checkout you give (github dmitropolsky/assemblies; nothing of it
is vendored here): cpp/brain.cc with engram's own driver bench/peers/nemo_driver.cpp,
g++ -O3 -march=native, one thread. Then times each row of the table on both: a stimulus of k
neurons projected into area A (n, k) with the recurrence A -> A, p = 0.01, beta = 0.05, the
marginal time per step after step 25 (steps 26..50). engram's side is engram_bench's
BM_NemoStep / BM_NemoLazyBrains (bench/nemo_rows_benchmark.cpp), run with OMP_NUM_THREADS=1
(per core, against the one-threaded reference) and with every core.

The reference's exact rows use its explicit mode (every edge built up front: the build time
and memory are printed); engram's exact rows use the implicit graph (no build phase).

    python3 bench/peers/nemo_assembly.py --checkout /path/to/assemblies \\
        [--bench build/bench/engram_bench] [--skip-large-explicit]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# (label, engram benchmark name, reference driver arguments: n k p beta warm timed explicit brains)
ROWS = [
    ("lazy, n = 10^5, k = 317", "BM_NemoStep/lazy0_exact1:0/n:100000/k:317", (100000, 317, 0, 1)),
    ("lazy, n = 10^6, k = 1000", "BM_NemoStep/lazy0_exact1:0/n:1000000/k:1000", (1000000, 1000, 0, 1)),
    ("lazy, 1000 brains of n = 10^5, 25 steps", "BM_NemoLazyBrains/brains:1000", (100000, 317, 0, 1000)),
    ("exact, n = 10^5, k = 317", "BM_NemoStep/lazy0_exact1:1/n:100000/k:317", (100000, 317, 1, 1)),
    ("exact, n = 2.5*10^5, k = 500", "BM_NemoStep/lazy0_exact1:1/n:250000/k:500", (250000, 500, 1, 1)),
]


def build_reference(checkout, workdir):
    source = os.path.join(checkout, "cpp", "brain.cc")
    if not os.path.isfile(source):
        sys.exit(f"nemo_assembly.py: {source} not found: --checkout must name a clone of dmitropolsky/assemblies")
    exe = os.path.join(workdir, "nemo_driver")
    cmd = ["g++", "-O3", "-march=native", "-std=c++17", "-I", os.path.join(checkout, "cpp"),
           os.path.join(HERE, "nemo_driver.cpp"), source, "-o", exe]
    subprocess.run(cmd, check=True)
    return exe


def run_reference(exe, n, k, explicit, brains):
    warm, timed = (25, 0) if brains > 1 else (25, 25)
    args = [exe, str(n), str(k), "0.01", "0.05", str(warm), str(timed), str(int(explicit)), str(brains)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + args, capture_output=True, text=True, check=True, env=env)
    result = json.loads(out.stdout)
    result["max_rss_mib"] = int(out.stderr.strip().splitlines()[-1]) / 1024
    return result


def run_engram(bench, names, threads):
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    pattern = "^(" + "|".join(n.replace("/", "/") for n in names) + ")(/iterations:[0-9]+)?(/real_time)?$"
    out = subprocess.run([bench, f"--benchmark_filter={pattern}", "--benchmark_format=json"], env=env,
                         capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    times = {}
    for r in report["benchmarks"]:
        base = r["name"].split("/iterations:")[0]
        unit = {"ms": 1.0, "us": 1e-3, "ns": 1e-6, "s": 1e3}[r["time_unit"]]
        times[base] = r["real_time"] * unit
    return times, report["context"].get("num_cpus")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkout", required=True, help="a clone of github.com/dmitropolsky/assemblies")
    ap.add_argument("--bench", default=os.path.join(HERE, "../../build/bench/engram_bench"))
    ap.add_argument("--skip-large-explicit", action="store_true",
                    help="skip the reference's n = 2.5*10^5 explicit row (a 16 s build, 5 GB)")
    args = ap.parse_args()
    rows = [r for r in ROWS if not (args.skip_large_explicit and r[2][0] == 250000)]
    with tempfile.TemporaryDirectory() as workdir:
        exe = build_reference(args.checkout, workdir)
        reference = [run_reference(exe, *r[2]) for r in rows]
    names = [r[1] for r in rows]
    one, _ = run_engram(args.bench, names, 1)
    every, cpus = run_engram(args.bench, names, None)

    print(f"reference: NEMO cpp/brain.cc (g++ -O3 -march=native, 1 thread); engram: engram_bench, "
          f"1 thread and all {cpus} cores. Time per step after step 25 (whole runs: seconds).")
    print()
    print("| case | reference (1 thread) | engram (1 thread) | engram (all cores) | engram 1 thread / reference |")
    print("|---|---|---|---|---|")
    for (label, name, (n, k, explicit, brains)), ref in zip(rows, reference):
        if brains > 1:
            ref_value, unit = ref["total_s"], "s"
            mine_one, mine_all = one[name] / 1e3, every[name] / 1e3
        else:
            ref_value, unit = ref["ms_per_step"], "ms/step"
            mine_one, mine_all = one[name], every[name]
        extra = ""
        if explicit:
            extra = f" after a {ref['build_s']:.1f} s build, {ref['max_rss_mib'] / 1024:.1f} GiB"
        print(f"| {label} | {ref_value:.3g} {unit}{extra} | {mine_one:.3g} {unit} | {mine_all:.3g} {unit} | "
              f"{mine_one / ref_value:.2f} |")


if __name__ == "__main__":
    main()
