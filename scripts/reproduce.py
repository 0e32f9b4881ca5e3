#!/usr/bin/env python3
"""Reruns every headline claim of the README over several seeds and writes docs/results.md.

    scripts/reproduce.py                  # every claim, full seed counts, one run per core at a time
    scripts/reproduce.py --quick          # every claim with the fewest seeds (CI; a few minutes)
    scripts/reproduce.py --only markov    # one claim; updates its row in docs/results.md
    scripts/reproduce.py --quick --check  # CI: bands hold, docs/results.md and README agree
    scripts/reproduce.py --keep runs/     # also keep each run's output folder (per-split tables)

Each claim is an engram config (an example, or a bench config) run through the CLI with its seeds
or brains raised, so the figures are what `engram run` gives. A row reports mean ± sd over the
seeds (brains keyed by (seed, brain) count as seeds: each has its own graph and draws), the range,
and the band the claim promises; a figure outside its band makes the run fail. README's
"Measured results" table is the table of docs/results.md, copied between markers, never typed
by hand.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import csv
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results.md"
README = ROOT / "README.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"

Rows = list[dict[str, str]]


@dataclass
class Claim:
    key: str
    setting: str                      # what was run, in words
    config: str                       # repo-relative YAML
    table: str                        # CSV the metric reads
    metric: Callable[[Rows], list[float]]   # one value per seed
    unit: str                         # how a value is printed: "%", "of 317", ...
    band: tuple[float, float]         # the claim: every mean must lie in [lo, hi]
    seeds: int                        # full run
    quick_seeds: int
    replicate: str = "sweep"          # sweep: `sweep: {seeds: N}`; brains: `brains: N`; seeds: the kind's own `seeds: N`
    overrides: dict = field(default_factory=dict)
    quick_overrides: dict = field(default_factory=dict)  # only where a full run would not fit CI's budget
    extra: Callable[[Rows], str] | None = None           # a second figure from the same rows
    heavy: bool = False               # a training run of minutes: started first when runs share the cores
    digits: int = 1


def per_brain(rows: Rows, value: Callable[[list[dict[str, str]]], float]) -> list[float]:
    groups: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        groups.setdefault(r["brain"], []).append(r)
    return [value(groups[b]) for b in sorted(groups, key=int)]


def convergence_step(brain: Rows) -> float:
    """First step from which consecutive winner sets agree on >= 99% (and keep agreeing)."""
    steps = sorted(brain, key=lambda r: int(r["step"]))
    first = math.inf
    for r in reversed(steps):
        if float(r["overlap_fraction"]) < 0.99:
            break
        first = int(r["step"])
    return first


def compare_overlaps(brain: Rows) -> list[float]:
    ops = sorted({int(r["op"]) for r in brain if r["op_kind"] == "compare"})
    return [next(float(r["value"]) for r in brain if int(r["op"]) == op and r["metric"] == "overlap") for op in ops]


def completion(brain: Rows) -> float:
    return compare_overlaps(brain)[-1] * 317


def association_rise(brain: Rows) -> float:
    overlaps = compare_overlaps(brain)
    return overlaps[-1] - overlaps[0]


def recall_presentation(brain: Rows) -> float:
    by_presentation: dict[int, list[float]] = {}
    for r in brain:
        by_presentation.setdefault(int(r["presentation"]), []).append(float(r["overlap"]))
    for p in sorted(by_presentation):
        if min(by_presentation[p]) >= 0.9:
            return p
    return math.inf


def column(name: str, scale: float = 1.0, where: Callable[[dict[str, str]], bool] = lambda r: True):
    return lambda rows: [float(r[name]) * scale for r in rows if where(r)]


def markov_row_tv(rows: Rows) -> dict[tuple[int, int], float]:
    """(brain, state) -> total variation between the brain's sampled row and the chain's row."""
    counts: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for r in rows:
        counts.setdefault((int(r["brain"]), int(r["from"])), []).append((float(r["sampled_count"]), float(r["chain"])))
    tv = {}
    for key, cells in counts.items():
        visits = sum(c for c, _ in cells)
        tv[key] = 0.5 * sum(abs(c / visits - p) for c, p in cells) if visits else 0.0
    return tv


def markov_worst_row(rows: Rows) -> list[float]:
    """Per brain: the largest total variation over the chain's rows."""
    tv = markov_row_tv(rows)
    brains = sorted({b for b, _ in tv})
    return [max(v for (b, _), v in tv.items() if b == brain) for brain in brains]


def markov_rows(rows: Rows) -> str:
    tv = markov_row_tv(rows)
    states = sorted({x for _, x in tv})
    per_row = " / ".join(f"{statistics.mean(v for (_, x), v in tv.items() if x == s):.3f}" for s in states)
    worst = markov_worst_row(rows)
    return f"mean TV per row {per_row}; {sum(w <= 0.1 for w in worst)} of {len(worst)} brains within 0.1 on every row"


def recovered(method: str):
    def count(rows: Rows) -> str:
        errors = [float(r["relative_error"]) for r in rows if r["method"] == method]
        return f"error < 0.05 in {sum(e < 0.05 for e in errors)}/{len(errors)} seeds, median {statistics.median(errors):.2g}"
    return count


def transfer_ratio(rows: Rows) -> str:
    values = [float(r["transfer_ratio"]) for r in rows if r.get("transfer_ratio")]
    return f"transfer / scratch {statistics.mean(values):.3f} ± {sd(values):.3f}" if values else ""


def ssl_baselines(rows: Rows) -> str:
    parts = []
    for model in ("pca", "beta_vae", "byol"):
        values = [100 * float(r["accuracy"]) for r in rows if r["method"] == model]
        if values:
            parts.append(f"{model} {statistics.mean(values):.1f} ± {sd(values):.1f}%")
    return "; ".join(parts)


def margin_over(model: str, baselines: tuple[str, ...]):
    """Per split: the model's accuracy minus the best baseline's on that split, in points."""
    def margins(rows: Rows) -> list[float]:
        by = {(r["method"], r["split"]): 100 * float(r["accuracy"]) for r in rows}
        splits = sorted({r["split"] for r in rows if r["method"] == model}, key=int)
        return [by[(model, s)] - max(by[(b, s)] for b in baselines if (b, s) in by) for s in splits]
    return margins


def plasticity_baselines(rows: Rows) -> str:
    parts = []
    for name in ("initial", "perceptron", "gradient"):
        values = [100 * float(r[f"{name}_accuracy"]) for r in rows]
        parts.append(f"{name} {statistics.mean(values):.1f} ± {sd(values):.1f}%")
    return "; ".join(parts)


def robustness_curve(model: str, attack: str, rows_of_seed: dict[str, str]) -> list[float]:
    """A seed's accuracy curve (one value per epsilon of the config, in its order) from a sweep row."""
    prefix = f"{model}_{attack}_"
    return [float(rows_of_seed[f"{prefix}{i}"]) for i in sorted(int(k[len(prefix):]) for k in rows_of_seed if k.startswith(prefix))]


def robustness_gap(attack: str):
    """Per seed: the rule-trained network's accuracy minus the gradient-trained one's, averaged over
    the config's nonzero epsilons (its first epsilon is 0), in points: the signed area between the
    two accuracy-versus-epsilon curves. Positive means the rule-trained network is more robust."""
    def gaps(rows: Rows) -> list[float]:
        out = []
        for r in rows:
            rule, grad = robustness_curve("rule", attack, r), robustness_curve("gradient", attack, r)
            out.append(100 * statistics.mean(a - b for a, b in zip(rule[1:], grad[1:])))
        return out
    return gaps


def robustness_points(picks: tuple[int, ...], labels: tuple[str, ...], attacks: tuple[str, ...] = ("pgd", "fgsm")):
    """Mean ± sd accuracy of both models at a few epsilons per attack, the other attacks' gaps, clean
    accuracies and how many images were attacked."""
    def describe(rows: Rows) -> str:
        parts = []
        for attack in attacks:
            curves = {m: [robustness_curve(m, attack, r) for r in rows] for m in ("rule", "gradient")}
            at = []
            for i, label in zip(picks, labels):
                rule = [100 * c[i] for c in curves["rule"]]
                grad = [100 * c[i] for c in curves["gradient"]]
                at.append(f"{label} {statistics.mean(rule):.0f} ± {sd(rule):.0f} vs {statistics.mean(grad):.0f} ± {sd(grad):.0f}")
            parts.append(f"{attack.upper()} rule vs gradient %: " + ", ".join(at))
        for attack in attacks[1:]:
            gap = robustness_gap(attack)(rows)
            parts.append(f"{attack.upper()} gap {statistics.mean(gap):.1f} ± {sd(gap):.1f} points")
        attacked = [int(r["attacked"]) for r in rows]
        clean = {m: [100 * float(r[f"{m}_accuracy"]) for r in rows] for m in ("rule", "gradient")}
        parts.append(f"clean accuracy rule {statistics.mean(clean['rule']):.1f} ± {sd(clean['rule']):.1f}%, gradient "
                     f"{statistics.mean(clean['gradient']):.1f} ± {sd(clean['gradient']):.1f}%")
        parts.append(f"{min(attacked)}–{max(attacked)} test images attacked per seed")
        return "; ".join(parts)
    return describe


def sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


CLAIMS = [
    Claim("projection", "projection converges: n = 10^6, k = 1000, p = 0.001, β = 0.05, implicit graph, 25 steps",
          "examples/project.yaml", "projection.csv", lambda rows: per_brain(rows, convergence_step), "first step of overlap ≥ 0.99",
          (1, 25), seeds=5, quick_seeds=2, replicate="brains",
          overrides={"p": 0.001, "steps": 25, "areas": [{"name": "A", "n": 1000000, "k": 1000}],
                     "stimuli": [{"name": "stim", "k": 1000}],
                     "fibers": [{"from": "stim", "to": "A", "beta": 0.05}, {"from": "A", "to": "A", "beta": 0.05}]},
          digits=1),
    Claim("pattern_completion", "pattern completion from half an assembly, n = 10^5, k = 317, p = 0.05",
          "examples/pattern_completion.yaml", "metrics.csv", lambda rows: per_brain(rows, completion), "of 317 recovered",
          (310, 317), seeds=16, quick_seeds=2, replicate="brains"),
    Claim("association", "association, n = 2·10^4 per area, k = 141, β = 0.1: overlap of C's assemblies for A and B",
          "examples/associate.yaml", "metrics.csv", lambda rows: per_brain(rows, association_rise), "rise in overlap (fraction of k)",
          (0.05, 1.0), seeds=8, quick_seeds=2, replicate="brains", digits=3),
    Claim("classify_synthetic", "classification, synthetic classes (r = 0.9, q = 0.01, 2 classes, 5 samples each), 200 fresh samples",
          "examples/classify_synthetic.yaml", "results.csv", column("accuracy", 100), "% correct",
          (90, 100), seeds=8, quick_seeds=2, replicate="brains"),
    Claim("classify_digits", "classification, scikit-learn 8×8 digits, 10 training images per class, designated (supervised) assemblies",
          "examples/classify_digits.yaml", "results.csv", column("accuracy", 100), "% correct (chance 10%)",
          (50, 100), seeds=8, quick_seeds=2, replicate="brains"),
    Claim("classify_digits_formed", "classification, 8×8 digits, self-formed assemblies as in Dabagia et al. (normalised "
          "in-weights, bias −1 on formed assemblies, blurred top-16 pixels), 5 training images per class",
          "examples/classify_digits_formed.yaml", "results.csv", column("accuracy", 100), "% correct (chance 10%)",
          (50, 100), seeds=8, quick_seeds=2, replicate="brains"),
    Claim("markov", "Markov chain 0.8/0.2 learned with the calibration rule (noise, β, presentations from the chain), 2000 sampled steps",
          "examples/markov.yaml", "markov.csv", markov_worst_row, "largest total variation over rows, sampled vs chain",
          (0, 0.1), seeds=16, quick_seeds=2, replicate="brains", extra=markov_rows, digits=3),
    Claim("markov_asymmetric", "Markov chain [[0.9, 0.1], [0.4, 0.6]] (states visited 4:1), same rule",
          "examples/markov.yaml", "markov.csv", markov_worst_row, "largest total variation over rows",
          (0, 0.1), seeds=16, quick_seeds=2, replicate="brains", extra=markov_rows, digits=3,
          overrides={"transitions": [[0.9, 0.1], [0.4, 0.6]]}),
    Claim("markov_three_states", "Markov chain [[0.5, 0.3, 0.2], [0.1, 0.7, 0.2], [0.3, 0.3, 0.4]], same rule",
          "examples/markov.yaml", "markov.csv", markov_worst_row, "largest total variation over rows",
          (0, 0.1), seeds=16, quick_seeds=2, replicate="brains", extra=markov_rows, digits=3,
          overrides={"transitions": [[0.5, 0.3, 0.2], [0.1, 0.7, 0.2], [0.3, 0.3, 0.4]]}),
    Claim("sequence", "sequence of 5 stimuli, n = 5·10^4, k = 224, β = 0.1: recall from the first element",
          "examples/sequence.yaml", "sequence.csv", lambda rows: per_brain(rows, recall_presentation), "presentations until recall",
          (1, 15), seeds=4, quick_seeds=1, replicate="brains"),
    Claim("plasticity", "learned plasticity rule (output table, exact meta-gradient), halfspaces d = 20, applied unchanged to digits",
          "bench/plasticity_acceptance.yaml", "results.csv", column("learned_accuracy", 100),
          "% on fresh halfspaces", (75, 100), seeds=3, quick_seeds=1, replicate="sweep", extra=plasticity_baselines,
          quick_overrides={"meta": {"method": "exact", "steps": 20, "batch": 100, "problems_per_step": 4, "lr": 0.02,
                                    "learn": ["output"]}}, heavy=True),
    Claim("plasticity_robustness_paper", "robustness as in Cristian et al. (L2 PGD, 20 steps, their ε 0.5–3.5 scaled to "
          "64 pixels, images every model gets right): halfspace-learned rule, one pass, vs backprop on the same "
          "network, 8×8 digits in [0, 1]",
          "bench/plasticity_robustness_paper.yaml", "results.csv", robustness_gap("pgd"),
          "points, rule minus gradient PGD accuracy averaged over ε", (-30, -5), seeds=8, quick_seeds=1,
          replicate="sweep", extra=robustness_points((2, 4, 6), ("ε 1", "ε 2", "ε 3"))),
    Claim("plasticity_robustness_paper_attack", "the same networks under the paper's own attack (aimed at a random wrong "
          "label, Adam on the input, the cross-entropy of the softmax probabilities, ≤ 99 steps), 100 images per seed",
          "bench/plasticity_robustness_paper.yaml", "results.csv", robustness_gap("targeted"),
          "points, rule minus gradient accuracy under the paper's attack, averaged over ε", (-15, 15), seeds=8, quick_seeds=1,
          replicate="sweep", overrides={"attack": {"kinds": ["targeted", "pgd"], "examples": 100}},
          extra=robustness_points((2, 4, 7), ("ε 1", "ε 2", "ε 3.5"), ("targeted", "pgd"))),
    Claim("plasticity_robustness_paper_masked", "as the row above with the rule's readout at BrainNet's scale (step η = 10 "
          "instead of 0.1: logits ×100, same predictions up to the small random start)",
          "bench/plasticity_robustness_paper.yaml", "results.csv", robustness_gap("targeted"),
          "points, rule minus gradient accuracy under the paper's attack, averaged over ε", (5, 60), seeds=8, quick_seeds=1,
          replicate="sweep", overrides={"rule": {"eta": 10}, "attack": {"kinds": ["targeted", "pgd"], "examples": 100}},
          extra=robustness_points((2, 4, 7), ("ε 1", "ε 2", "ε 3.5"), ("targeted", "pgd"))),
    Claim("ot_align", "hierarchical OT alignment with the true cluster labels, 8 subspaces of dim 2 in R^6, low noise",
          "examples/ot_align.yaml", "alignment.csv",
          column("relative_error", 1, lambda r: r["method"] == "hierarchical"), "squared relative error ‖(R−R̂)X‖²/‖RX‖²",
          (0, 0.05), seeds=20, quick_seeds=3, replicate="seeds", extra=recovered("hierarchical"), digits=7),
    Claim("ot_align_single", "single-level Sinkhorn-Procrustes (no labels needed), same data",
          "examples/ot_align.yaml", "alignment.csv",
          column("relative_error", 1, lambda r: r["method"] == "single_level"), "squared relative error",
          (0, 4), seeds=20, quick_seeds=3, replicate="seeds", extra=recovered("single_level"), digits=2),
    Claim("ot_align_subspaces", "hierarchical OT alignment with K-subspaces cluster labels (unlabelled), same data",
          "examples/ot_align.yaml", "alignment.csv",
          column("relative_error", 1, lambda r: r["method"] == "hierarchical"), "squared relative error",
          (0, 0.05), seeds=20, quick_seeds=3, replicate="seeds", overrides={"labels": "subspaces", "baseline": False},
          extra=recovered("hierarchical"), digits=7),
    Claim("transformer", "separable transformer, synthetic angle data (8 sectors, 100 neurons, 2000 trials), 250 steps; transfer to 60 new neurons",
          "examples/train_runs/angle_transfer.yaml", "results.csv", column("test", 100), "% test accuracy",
          (85, 100), seeds=5, quick_seeds=1, extra=transfer_ratio,
          quick_overrides={"train": {"steps": 40, "batch": 32, "lr": 0.015}, "transfer": {"steps": 20}}, heavy=True),
    Claim("swap_vae", "Swap-VAE on Chewie reaching data (5 trial splits), content block → reach angle within π/8",
          "bench/swap_vae_reach.yaml", "accuracy.csv", column("accuracy", 100, lambda r: r["method"] == "swap_vae"),
          "% accuracy", (55, 100), seeds=1, quick_seeds=1, replicate="none", extra=ssl_baselines,
          quick_overrides={"train": {"epochs": 2}, "evaluation": {"splits": 2}}, heavy=True),
    Claim("swap_vae_margin", "Swap-VAE's margin over the better of PCA and β-VAE on the same split (same run)",
          "bench/swap_vae_reach.yaml", "accuracy.csv", margin_over("swap_vae", ("pca", "beta_vae")),
          "points", (5, 100), seeds=1, quick_seeds=1, replicate="none",
          quick_overrides={"train": {"epochs": 2}, "evaluation": {"splits": 2}}, heavy=True),
    Claim("myow", "MYOW on Chewie reaching data (5 trial splits), encoder output → reach angle within π/8",
          "bench/myow_reach.yaml", "accuracy.csv", column("accuracy", 100, lambda r: r["method"] == "myow"),
          "% accuracy", (55, 100), seeds=1, quick_seeds=1, replicate="none", extra=ssl_baselines,
          quick_overrides={"train": {"epochs": 2}, "evaluation": {"splits": 2}}, heavy=True),
    Claim("myow_margin", "MYOW's margin over PCA on the same split (same run)",
          "bench/myow_reach.yaml", "accuracy.csv", margin_over("myow", ("pca",)),
          "points", (5, 100), seeds=1, quick_seeds=1, replicate="none",
          quick_overrides={"train": {"epochs": 2}, "evaluation": {"splits": 2}}, heavy=True),
]


def set_nested(config: dict, overrides: dict) -> None:
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            set_nested(config[key], value)
        else:
            config[key] = value


def absolutise_paths(node, base: Path):
    """Data paths in a config are relative to the config's folder; the derived config lives elsewhere."""
    if isinstance(node, dict):
        return {k: absolutise_paths(v, base) for k, v in node.items()}
    if isinstance(node, list):
        return [absolutise_paths(v, base) for v in node]
    if isinstance(node, str) and not os.path.isabs(node) and ("/" in node or "." in node) and (base / node).exists():
        return str((base / node).resolve())
    return node


def derived_config(claim: Claim, quick: bool, folder: Path) -> Path:
    source = ROOT / claim.config
    config = absolutise_paths(yaml.safe_load(source.read_text()), source.parent)
    set_nested(config, claim.overrides)
    if quick:
        set_nested(config, claim.quick_overrides)
    seeds = claim.quick_seeds if quick else claim.seeds
    if claim.replicate == "sweep":
        config.pop("brains", None)
        config["sweep"] = {"seeds": seeds}
    elif claim.replicate == "brains":
        config["brains"] = seeds
        config["batch_size"] = seeds
    elif claim.replicate == "seeds":
        config["seeds"] = seeds
    text = yaml.safe_dump(config, sort_keys=False)
    path = folder / f"{claim.config.replace('/', '_')}-{abs(hash(text)) % 10**8}.yaml"
    path.write_text(text)
    return path


def read_rows(path: Path) -> Rows:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def run_config(key: str, config: Path, engram: Path, scratch: Path, threads: int) -> tuple[Path, float]:
    """One `engram run` of a derived config; its output folder and wall seconds."""
    out = scratch / f"{key}-out"
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(threads))
    start = time.monotonic()
    done = subprocess.run([str(engram), "run", str(config), "--out", str(out)], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{key}: engram run failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return out, time.monotonic() - start


def run_all(claims: list[Claim], engram: Path, quick: bool, scratch: Path, jobs: int) -> dict[str, tuple[Path, float]]:
    """Runs each distinct derived config once (claims read from one run of the same config, e.g. both OT
    methods), `jobs` at a time, the training runs first so that the short ones fill in around them.
    Results do not depend on the thread count (engram's same-bits rule), so the runs share the cores:
    `jobs` runs of cores / jobs OpenMP threads each (OMP_NUM_THREADS, when set, wins)."""
    by_text: dict[str, tuple[str, Path]] = {}
    config_of: dict[str, str] = {}
    for claim in claims:
        config = derived_config(claim, quick, scratch)
        text = config.read_text()
        by_text.setdefault(text, (claim.key, config))
        config_of[claim.key] = text
    order = sorted(by_text, key=lambda t: not any(c.heavy for c in claims if config_of[c.key] == t))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    outputs: dict[str, tuple[Path, float]] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_config, *by_text[t], engram, scratch, threads): t for t in order}
        for future in concurrent.futures.as_completed(futures):
            outputs[futures[future]] = future.result()
    return {key: outputs[text] for key, text in config_of.items()}


def claim_row(claim: Claim, out: Path, seconds: float, quick: bool) -> dict[str, str]:
    table = out / claim.table
    if not table.exists():
        table = out / "results.csv"
    rows = read_rows(table)
    values = claim.metric(rows)
    if not values:
        raise SystemExit(f"{claim.key}: no values in {table}")
    mean, spread = statistics.mean(values), sd(values)
    lo, hi = claim.band
    fmt = f"{{:.{claim.digits}f}}" if claim.digits <= 3 else f"{{:.{claim.digits - 4}e}}"
    figure = f"{fmt.format(mean)} ± {fmt.format(spread)} {claim.unit} (range {fmt.format(min(values))}–{fmt.format(max(values))})"
    if claim.extra:
        figure += "; " + claim.extra(rows)
    shortened = quick and bool(claim.quick_overrides)
    holds = lo <= mean <= hi or shortened  # a shortened training run is not the claim; it checks the pipeline
    verdict = "not checked (shortened run)" if shortened else ("holds" if holds else "MISSED")
    print(f"{claim.key:20s} {figure}  [{seconds:.0f} s]  band [{lo}, {hi}] {verdict}", flush=True)
    return {"key": claim.key, "claim": claim.setting, "figure": figure, "n": str(len(values)),
            "band": f"[{lo:g}, {hi:g}]", "holds": "yes" if holds else "**no**",
            "command": f"`scripts/reproduce.py --only {claim.key}` ({claim.config})"}


HEADER = "| claim | figure: mean ± sd over seeds | seeds | band | holds | command |\n|---|---|---|---|---|---|\n"


def table_of(rows: list[dict[str, str]]) -> str:
    return HEADER + "".join(
        f"| {r['claim']} | {r['figure']} | {r['n']} | {r['band']} | {r['holds']} | {r['command']} |\n" for r in rows)


def parse_table(text: str) -> dict[str, dict[str, str]]:
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\| (.*) \| (.*) \| (\d+) \| (.*) \| (.*) \| `scripts/reproduce.py --only (\w+)` (.*) \|$", line)
        if m:
            rows[m.group(6)] = {"key": m.group(6), "claim": m.group(1), "figure": m.group(2), "n": m.group(3),
                                "band": m.group(4), "holds": m.group(5),
                                "command": f"`scripts/reproduce.py --only {m.group(6)}` {m.group(7)}"}
    return rows


def results_table() -> str:
    text = RESULTS.read_text()
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip("\n") + "\n"


def write_results(rows: dict[str, dict[str, str]], note: str) -> None:
    ordered = [rows[c.key] for c in CLAIMS if c.key in rows]
    table = table_of(ordered)
    RESULTS.write_text(
        "# Measured results\n\n"
        "Written by `scripts/reproduce.py` (never by hand): every headline claim of README rerun through\n"
        "`engram run` over several seeds. A figure is mean ± sd over the seeds (brains keyed by\n"
        "(seed, brain) have their own graphs and draws, so they count as seeds), with the range, and the\n"
        "band the claim promises; `scripts/reproduce.py` fails when a mean leaves its band. README's\n"
        "table is this one. `scripts/reproduce.py --quick` (CI) reruns every row with the fewest seeds\n"
        "(and, where marked in the script, a shorter training run) to check the pipeline and the bands.\n\n"
        f"{note}\n\n{BEGIN}\n{table}{END}\n")
    readme = README.read_text()
    if BEGIN in readme:
        readme = readme[:readme.index(BEGIN) + len(BEGIN)] + "\n" + table + readme[readme.index(END):]
        README.write_text(readme)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewest seeds; do not rewrite docs/results.md")
    parser.add_argument("--only", action="append", help="claim key (repeatable); updates those rows only")
    parser.add_argument("--check", action="store_true",
                        help="also fail unless docs/results.md has exactly these rows and README holds its table")
    parser.add_argument("--engram", default=str(ROOT / "build" / "tools" / "engram"), help="the engram CLI")
    parser.add_argument("--list", action="store_true", help="print the claim keys and exit")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep every run's output folder under this new directory (per-split tables, curves)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="engram runs at once, each with cores / jobs threads (default: one per core)")
    args = parser.parse_args()
    if args.jobs < 1:
        raise SystemExit(f"--jobs {args.jobs}: must be >= 1")
    if args.list:
        for c in CLAIMS:
            print(f"{c.key:20s} {c.config}")
        return 0
    known = {c.key for c in CLAIMS}
    for key in args.only or []:
        if key not in known:
            raise SystemExit(f"--only {key}: unknown claim (one of {', '.join(sorted(known))})")
    claims = [c for c in CLAIMS if not args.only or c.key in args.only]
    engram = Path(args.engram)
    if not engram.exists():
        raise SystemExit(f"--engram {engram}: not found (build first: scripts/build.sh)")
    failures = []
    if args.check:
        documented = set(parse_table(results_table()))
        if documented != known:
            failures.append(f"docs/results.md rows {sorted(documented)} differ from the claims {sorted(known)}")
        readme = README.read_text()
        if BEGIN not in readme or readme[readme.index(BEGIN) + len(BEGIN):readme.index(END)].strip() != results_table().strip():
            failures.append("README's results table differs from docs/results.md (run scripts/reproduce.py)")
    rows: dict[str, dict[str, str]] = {}
    start = time.monotonic()
    if args.keep is not None and args.keep.exists():
        raise SystemExit(f"--keep {args.keep}: already exists (give a new directory)")
    with tempfile.TemporaryDirectory(prefix="engram-reproduce-") as scratch:
        if args.keep is not None:
            args.keep.mkdir(parents=True)
            scratch = str(args.keep.resolve())
        outputs = run_all(claims, engram, args.quick, Path(scratch), args.jobs)
        for claim in claims:
            rows[claim.key] = claim_row(claim, *outputs[claim.key], args.quick)
            if rows[claim.key]["holds"] != "yes":
                failures.append(f"{claim.key}: {rows[claim.key]['figure']} outside {rows[claim.key]['band']}")
    print(f"reproduce: {len(rows)} claims in {time.monotonic() - start:.0f} s")
    if not args.quick:
        merged = parse_table(results_table()) if RESULTS.exists() else {}
        merged.update(rows)
        merged = {c.key: merged[c.key] for c in CLAIMS if c.key in merged}  # the script's order
        note = f"Last full run: {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, native build " \
               f"(`scripts/build.sh`), {time.monotonic() - start:.0f} s wall."
        if args.only and RESULTS.exists():  # a partial rerun keeps the note of the last full run
            note = next((line for line in RESULTS.read_text().splitlines() if line.startswith("Last full run")), note)
            # One "Rerun on" sentence per date, listing each rerun row once.
            base, *reruns = note.split(" Rerun on ")
            by_date: dict[str, list[str]] = {}
            for sentence in reruns + [f"{time.strftime('%Y-%m-%d')}: {', '.join(args.only)}."]:
                date, _, keys = sentence.rstrip(".").partition(": ")
                listed = by_date.setdefault(date, [])
                listed += [k for k in keys.split(", ") if k and k not in listed]
            note = base + "".join(f" Rerun on {d}: {', '.join(k)}." for d, k in by_date.items())
        write_results(merged, note)
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    for f in failures:
        print("FAILED:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
