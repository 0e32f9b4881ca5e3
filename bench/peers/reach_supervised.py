#!/usr/bin/env python3
"""Supervised decoders of the reach angle, on the very splits of an engram Swap-VAE or MYOW run.

The self-supervised models are scored by a linear map from their representation to (cos, sin) of
the reach angle (docs/self_supervised.md). This script asks what the direction labels themselves
buy on the same trials: decoders trained *with* the labels on each split's training bins, scored
on its test bins by the same rule (within pi/8; bins faster than 5 cm/s). It reads the split's
trials from the run's splits.csv and prints, beside the run's own rows (accuracy.csv):

- pca64_lstsq: PCA (64 axes of the standardised counts) + least squares, the run's own `pca`
  baseline recomputed here: it must equal the run's pca row (a check of this script);
- ridge: least squares on all standardised counts with an L2 penalty;
- logistic: multinomial logistic regression on the 8 directions;
- mlp_256, mlp_512x512: scikit-learn MLP regressors to (cos, sin), ReLU, L2 penalty `alpha`.

Every penalty is chosen by 5-fold cross-validation over the split's training trials (folds by
trial), never by a test bin.

    engram run bench/myow_reach.yaml --out out/myow          # or scripts/reproduce.py --keep DIR
    python3 bench/peers/reach_supervised.py --run out/myow [--data data/reach/chewie_2013_10_03.npz]

Needs numpy and scikit-learn (bench/peers/requirements.txt).
"""
import argparse
import statistics
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPRegressor

from reach_run import DEFAULT_DATA, load_recording, read_run, within

FOLDS = 5


def regressor_score(make):
    def score(x_fit, y_fit, x_eval, angle_eval, _dirs_fit, _dirs_eval):
        p = make().fit(x_fit, y_fit).predict(x_eval)
        return within(np.arctan2(p[:, 1], p[:, 0]), angle_eval)
    return score


def classifier_score(make):
    def score(x_fit, _y_fit, x_eval, angle_eval, dirs_fit, _dirs_eval):
        predicted = make().fit(x_fit, dirs_fit).predict(x_eval)
        return within(predicted * np.pi / 4, angle_eval)
    return score


DECODERS = {
    "ridge": ([0.1, 10.0, 100.0, 300.0, 1000.0, 3000.0], lambda a: regressor_score(lambda: Ridge(alpha=a))),
    "logistic": ([0.001, 0.01, 0.1, 1.0], lambda c: classifier_score(lambda: LogisticRegression(C=c, max_iter=3000))),
    "mlp_256": ([1.0, 3.0, 10.0, 30.0],
                lambda a: regressor_score(lambda: MLPRegressor(hidden_layer_sizes=(256,), alpha=a, max_iter=500, random_state=0))),
    "mlp_512x512": ([1.0, 3.0, 10.0],
                    lambda a: regressor_score(lambda: MLPRegressor(hidden_layer_sizes=(512, 512), alpha=a, max_iter=500,
                                                                   random_state=0))),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, help="an engram swap_vae or myow output folder (splits.csv, accuracy.csv)")
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--only", action="append", choices=sorted(DECODERS), help="decoders to run (default: all)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    recording = load_recording(args.data)
    counts, trial, direction = recording["counts"], recording["trial"], recording["direction"]
    angle, cos_sin, moving = recording["angle"], recording["cos_sin"], recording["moving"]
    splits, engram_rows = read_run(args.run)

    results = {}
    for s in sorted(splits):
        train_trials = np.array(sorted(splits[s][0]))
        train = np.isin(trial, train_trials)
        test = np.isin(trial, splits[s][1])
        mean, sd = counts[train].mean(0), counts[train].std(0)
        sd[sd == 0] = 1
        x = (counts - mean) / sd
        fit, evaluate = train & moving, test & moving

        # The run's PCA baseline, recomputed: 64 principal axes of the training bins, least squares with a bias.
        axes = np.linalg.svd(x[train], full_matrices=False)[2][:64]
        pcs = np.hstack([x @ axes.T, np.ones((len(x), 1))])
        w = np.linalg.lstsq(pcs[fit], cos_sin[fit], rcond=None)[0]
        p = pcs[evaluate] @ w
        results.setdefault("pca64_lstsq", []).append(100 * within(np.arctan2(p[:, 1], p[:, 0]), angle[evaluate]))

        rng = np.random.default_rng(s)
        folds = np.array_split(rng.permutation(train_trials), FOLDS)
        for name in args.only or DECODERS:
            grid, make = DECODERS[name]
            best = None
            for value in grid:
                cv = 0.0
                for held in folds:
                    held_out = np.isin(trial, held)
                    a, b = fit & ~held_out, fit & held_out
                    cv += make(value)(x[a], cos_sin[a], x[b], angle[b], direction[a], direction[b])
                if best is None or cv > best[0]:
                    best = (cv, value)
            acc = make(best[1])(x[fit], cos_sin[fit], x[evaluate], angle[evaluate], direction[fit], direction[evaluate])
            results.setdefault(name, []).append(100 * acc)
            print(f"split {s}: {name} {100 * acc:.1f}% (penalty {best[1]} by {FOLDS}-fold CV over training trials)",
                  file=sys.stderr, flush=True)

    def line(name, values, kind):
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        per = " ".join(f"{v:.1f}" for v in values)
        print(f"| {name} | {kind} | {statistics.mean(values):.1f} ± {sd:.1f} | {per} |")

    print("| decoder | trained on | accuracy % (mean ± sd) | per split |")
    print("|---|---|---|---|")
    for method, per_split in engram_rows.items():
        line(f"engram {method}", [per_split[s] for s in sorted(per_split)], "representation (no labels) + least squares")
    for name, values in results.items():
        line(name, values, "PCA + least squares (this script)" if name == "pca64_lstsq" else "standardised counts, with labels")
    if "pca" in engram_rows:
        gap = max(abs(a - b) for a, b in zip(results["pca64_lstsq"], [engram_rows["pca"][s] for s in sorted(splits)]))
        print(f"\nthis script's PCA vs the run's pca row: largest difference {gap:.2f} points")
        if gap > 0.5:
            sys.exit("reach_supervised: this script's PCA does not reproduce the run's pca row; the splits or data differ")


if __name__ == "__main__":
    main()
