"""What the reach peers share: the bundled recording's arrays, an engram run's splits and rows, and
the papers' scoring rule (docs/self_supervised.md, "Evaluation protocol").

Imported by reach_supervised.py and myow_public.py (scripts in this folder) and by
scripts/myow_inner_splits.py (which puts this folder on its path).
"""
import csv
import os

import numpy as np

MIN_SPEED = 5.0  # cm/s: only faster bins are fit and scored, as the papers' get_angular_data(velocity_threshold=5)
DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "reach",
                            "chewie_2013_10_03.npz")


def load_recording(path=DEFAULT_DATA):
    """The NPZ's arrays, with each bin's reach angle, its (cos, sin) and whether it is moving."""
    with np.load(path) as z:
        r = {"counts": z["counts"].astype(np.float64), "trial": z["trial"], "time_bin": z["time_bin"],
             "direction": z["direction"], "velocity": z["velocity"].astype(np.float64)}
    r["angle"] = r["direction"] * np.pi / 4
    r["cos_sin"] = np.stack([np.cos(r["angle"]), np.sin(r["angle"])], axis=1)
    r["moving"] = np.linalg.norm(r["velocity"], axis=1) > MIN_SPEED
    return r


def read_run(run):
    """An engram swap_vae or myow output folder: {split: {0: training trials, 1: test trials}} from
    splits.csv, and {method: {split: accuracy %}} from accuracy.csv."""
    splits, rows = {}, {}
    with open(os.path.join(run, "splits.csv")) as f:
        for row in csv.DictReader(f):
            splits.setdefault(int(row["split"]), {0: [], 1: []})[int(row["test"])].append(int(row["trial"]))
    with open(os.path.join(run, "accuracy.csv")) as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["method"], {})[int(row["split"])] = 100 * float(row["accuracy"])
    return splits, rows


def within(predicted, true, tolerance=np.pi / 8):
    """Fraction of angles within `tolerance` of the truth (pi/8: accuracy; 3 pi/16: delta-accuracy)."""
    diff = np.abs(np.remainder(predicted - true + np.pi, 2 * np.pi) - np.pi)
    return float((diff < tolerance).mean())
