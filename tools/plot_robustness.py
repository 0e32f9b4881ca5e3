#!/usr/bin/env python3
"""Plot accuracy against the L-infinity budget epsilon for the rule-trained and the
gradient-trained plastic networks, one panel per attack, from the robustness.csv that

    engram run bench/plasticity_robustness.yaml --out out/robustness

writes (columns model, attack, epsilon, accuracy; docs/plasticity.md):

    tools/plot_robustness.py out/robustness/robustness.csv robustness.png

Needs matplotlib (pip install matplotlib).
"""
import argparse
import csv
import sys
from collections import defaultdict


def read_curves(path):
    curves = defaultdict(list)  # (attack, model) -> [(epsilon, accuracy)]
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    needed = {"model", "attack", "epsilon", "accuracy"}
    if not rows or not needed <= set(rows[0]):
        raise SystemExit(f"{path}: expected columns {sorted(needed)} (a plasticity_robustness robustness.csv)")
    for row in rows:
        curves[(row["attack"], row["model"])].append((float(row["epsilon"]), float(row["accuracy"])))
    return curves


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("robustness", help="robustness.csv of a plasticity_robustness run")
    parser.add_argument("out", help="image to write (png, pdf, svg)")
    args = parser.parse_args(argv)
    curves = read_curves(args.robustness)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    attacks = sorted({attack for attack, _ in curves})
    fig, axes = plt.subplots(1, len(attacks), figsize=(4.5 * len(attacks), 3.6), sharey=True, squeeze=False)
    labels = {"rule": "rule-trained (learned plasticity)", "gradient": "gradient-trained (backprop)"}
    for ax, attack in zip(axes[0], attacks):
        for (a, model), points in sorted(curves.items()):
            if a != attack:
                continue
            points.sort()
            ax.plot([e for e, _ in points], [acc for _, acc in points], marker="o", label=labels.get(model, model))
        ax.set_title(attack.upper())
        ax.set_xlabel("L-infinity budget epsilon")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy")
    axes[0][0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
