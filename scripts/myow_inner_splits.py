#!/usr/bin/env python3
"""MYOW settings chosen without a test bin: train `engram.nn.MYOW` on inner 80/20 splits of one
outer split's *training* trials and score it as the YAML job does (least squares from the
representation to (cos, sin), test bins within pi/8, bins faster than 5 cm/s), beside PCA (64
axes) on the same inner splits. docs/self_supervised.md quotes its figures.

The outer split's trials come from a run's splits.csv; the base settings from bench/myow_reach.yaml;
KEY=VALUE overrides them (model.* or train.*, YAML values). --search N draws N settings at random
from the grid in SEARCH_SPACE instead and prints one line each.

    build/tools/engram run bench/myow_reach.yaml --out out/myow
    PYTHONPATH=build/python python3 scripts/myow_inner_splits.py --run out/myow [model.miner_k=5 ...]
    PYTHONPATH=build/python python3 scripts/myow_inner_splits.py --run out/myow --search 60
"""
import argparse
import os
import random
import sys
from multiprocessing import Pool

import numpy as np
import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))
from reach_run import DEFAULT_DATA, load_recording, read_run, within  # noqa: E402  (the reach peers' shared reader and rule)

PCA_DIMS = 64
# The random search's grid (--search): every key drawn independently.
SEARCH_SPACE = {
    "model.hidden": [[256], [512], [1024], [256, 256]], "model.representation": [16, 32, 64],
    "train.lr": [1.6, 3.2, 6.4], "train.epochs": [50, 100, 200], "model.mining_weight": [0.1, 0.5, 1.0, 2.0],
    "model.miner_k": [1, 3, 5, 10], "train.noise": [0.05, 0.1, 0.2], "train.max_offset": [2, 4, 6],
    "train.weight_decay": [1e-6, 1e-4, 1e-2], "train.max_dropout": [0.5, 0.8], "model.symmetric_loss": [True, False],
    "train.min_offset": [0, 1], "model.ema_base": [0.9, 0.99], "train.batch": [128, 256],
}


def readout_accuracy(z, fit, evaluate, recording):
    """The job's readout: least squares with a bias from z to (cos, sin), fit on `fit`; accuracy on
    `evaluate` and on `fit`."""
    features = np.hstack([z, np.ones((len(z), 1))])
    weights = np.linalg.lstsq(features[fit], recording["cos_sin"][fit], rcond=None)[0]
    def score(mask):
        p = features[mask] @ weights
        return within(np.arctan2(p[:, 1], p[:, 0]), recording["angle"][mask])
    return score(evaluate), score(fit)


def inner_split(trials, s):
    order = np.random.default_rng(1000 + s).permutation(trials)
    n_test = int(round(0.2 * len(order)))
    return order[n_test:], order[:n_test]


def run_split(job):
    """One inner split: MYOW trained on its training trials, and PCA; returns their (test, train) accuracies."""
    recording, trials, s, model_keys, train_keys = job
    import engram
    train_trials, test_trials = inner_split(trials, s)
    d = recording
    train, test = np.isin(d["trial"], train_trials), np.isin(d["trial"], test_trials)
    fit, evaluate = train & d["moving"], test & d["moving"]
    spikes = d["counts"].astype(np.int32)  # the NPZ's own counts (whole numbers, exact), as the job reads them
    model = engram.nn.MYOW(seed=1000 + s, **model_keys)
    model.fit(spikes[train], d["trial"][train], **train_keys)
    myow = readout_accuracy(model.encode(spikes).astype(np.float64), fit, evaluate, d)
    counts = d["counts"]
    mean, sd = counts[train].mean(0), counts[train].std(0)
    sd[sd == 0] = 1
    x = (counts - mean) / sd
    axes = np.linalg.svd(x[train], full_matrices=False)[2][:PCA_DIMS]
    return myow, readout_accuracy(x @ axes.T, fit, evaluate, d)


def evaluate_setting(pool, recording, trials, splits, overrides):
    base = yaml.safe_load(open(os.path.join(ROOT, "bench", "myow_reach.yaml")))
    model_keys, train_keys = dict(base["model"]), dict(base["train"])
    for key, value in overrides.items():
        section, name = key.split(".", 1)
        if section not in ("model", "train"):
            sys.exit(f"myow_inner_splits: {key}: only model.* and train.* keys")
        (model_keys if section == "model" else train_keys)[name] = value
    results = pool.map(run_split, [(recording, trials, s, model_keys, train_keys) for s in range(splits)])
    mean = lambda xs: 100 * float(np.mean(xs))
    return (mean([r[0][0] for r in results]), mean([r[0][1] for r in results]), mean([r[1][0] for r in results]),
            [100 * r[0][0] for r in results])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, help="a myow or swap_vae output folder (splits.csv, accuracy.csv)")
    ap.add_argument("--outer", type=int, default=0, help="whose training trials are split (default: split 0)")
    ap.add_argument("--splits", type=int, default=5, help="inner splits (seeds 1000, 1001, ...)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count(), help="inner splits trained at once (one thread each)")
    ap.add_argument("--search", type=int, default=0, help="draw this many settings from SEARCH_SPACE")
    ap.add_argument("--search-seed", type=int, default=20261202)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("overrides", nargs="*", help="KEY=VALUE (model.* or train.*)")
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"  # the pool runs inner splits side by side

    trials = np.array(sorted(read_run(args.run)[0][args.outer][0]))
    recording = load_recording(args.data)
    overrides = {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in args.overrides)}
    settings = [overrides]
    if args.search:
        rng = random.Random(args.search_seed)
        settings = [{**{k: rng.choice(v) for k, v in SEARCH_SPACE.items()}, **overrides} for _ in range(args.search)]
    print(f"{len(trials)} training trials of outer split {args.outer}, {args.splits} inner 80/20 splits")
    with Pool(args.jobs) as pool:
        for i, setting in enumerate(settings):
            acc, train_acc, pca, per = evaluate_setting(pool, recording, trials, args.splits, setting)
            text = " ".join(f"{k}={v}" for k, v in setting.items()) or "bench/myow_reach.yaml as shipped"
            print(f"[{i}] myow {acc:.1f}% (train bins {train_acc:.1f}%; {' '.join(f'{v:.1f}' for v in per)})  "
                  f"pca {pca:.1f}%  {text}", flush=True)


if __name__ == "__main__":
    main()
