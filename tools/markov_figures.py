#!/usr/bin/env python3
"""The Markov calibration figures of docs/markov.md: examples/markov.yaml run through the CLI on
the three test chains with many brains, printing per row the total variation (TV) between sampled
and chain probabilities, pooled over brains and per brain (mean, sd, largest).

    tools/markov_figures.py                                   # 32 brains, seed 11, 1500 steps
    tools/markov_figures.py --set noise=6 --set presentations=200
    tools/markov_figures.py --walk                            # the hand calibration the rule replaced
"""
from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHAINS = {
    "symmetric 0.8/0.2": [[0.8, 0.2], [0.2, 0.8]],
    "asymmetric 0.9/0.4": [[0.9, 0.1], [0.4, 0.6]],
    "three states": [[0.5, 0.3, 0.2], [0.1, 0.7, 0.2], [0.3, 0.3, 0.4]],
}


def tv(counts: list[float], row: list[float]) -> float:
    visits = sum(counts)
    return 0.5 * sum(abs(c / visits - p) for c, p in zip(counts, row)) if visits else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--brains", type=int, default=32)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--steps", type=int, default=1500, help="sample_steps")
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE added to the config (YAML value)")
    parser.add_argument("--walk", action="store_true", help="training: walk with beta 0.012, noise 2, 100 steps per state")
    parser.add_argument("--engram", default=str(ROOT / "build" / "tools" / "engram"))
    args = parser.parse_args()
    print("| chain | β | shown N_x | pooled TV per row | per-brain TV per row: mean (sd), largest |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="engram-markov-") as scratch:
        for name, chain in CHAINS.items():
            config = yaml.safe_load((ROOT / "examples" / "markov.yaml").read_text())
            config.update(transitions=chain, brains=args.brains, batch_size=min(args.brains, 8),
                          sample_steps=args.steps, seed=args.seed)
            if args.walk:
                config.pop("presentations")
                config.update(training="walk", n=100 * len(chain), beta=0.012, noise=2.0,
                              train_transitions=100 * len(chain))
            for item in args.set:
                key, value = item.split("=", 1)
                config[key] = yaml.safe_load(value)
            path = Path(scratch) / "markov.yaml"
            path.write_text(yaml.safe_dump(config))
            out = Path(scratch) / name.replace(" ", "_").replace("/", "_")
            subprocess.run([args.engram, "run", str(path), "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
            states = len(chain)
            counts: dict[int, list[list[float]]] = {}
            with (out / "markov.csv").open(newline="") as f:
                for r in csv.DictReader(f):
                    brain = counts.setdefault(int(r["brain"]), [[0.0] * states for _ in range(states)])
                    brain[int(r["from"])][int(r["to"])] += float(r["sampled_count"])
            per_brain = [[tv(c[x], chain[x]) for x in range(states)] for c in counts.values()]
            pooled = [tv([sum(c[x][y] for c in counts.values()) for y in range(states)], chain[x]) for x in range(states)]
            beta, shown = f"{config.get('beta', '')}", ""
            if (out / "calibration.csv").exists():
                with (out / "calibration.csv").open(newline="") as f:
                    rows = list(csv.DictReader(f))
                beta = f"{float(rows[0]['beta']):.5f}"
                shown = ", ".join(r["presentations"] for r in rows)
            cells = "; ".join(
                f"{statistics.mean(b[x] for b in per_brain):.3f} ({statistics.stdev(b[x] for b in per_brain):.3f}), "
                f"{max(b[x] for b in per_brain):.3f}" for x in range(states))
            print(f"| {name} | {beta} | {shown} | {', '.join(f'{v:.3f}' for v in pooled)} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
