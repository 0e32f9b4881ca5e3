#!/usr/bin/env python3
"""Swap-VAE and MYOW on the bundled monkey reach recording (docs/self_supervised.md): fit each on
the training trials' spike counts (no labels), encode every bin, and read the reach direction
out of the representation with a linear decoder fitted on the training bins only. The YAML jobs
run the papers' full protocol over five splits (200 epochs: Swap-VAE decodes 70.9% there, see
docs/results.md); this shows the array API on one short run, far too short to beat the counts."""
import os
import tempfile

import numpy as np

import engram

data_dir = os.environ.get("ENGRAM_DATA_DIR", os.path.join(os.path.dirname(engram.__file__), "data"))
recording = np.load(os.path.join(data_dir, "reach", "chewie_2013_10_03.npz"))
counts, trial, direction = recording["counts"].astype(np.float32), recording["trial"], recording["direction"]

rng = np.random.default_rng(0)
test_trials = rng.permutation(trial.max() + 1)[: (trial.max() + 1) // 5]
test = np.isin(trial, test_trials)


def decoding_accuracy(z):
    """Fraction of test bins whose decoded angle lies within pi/8 of the true reach angle."""
    angle = direction * 2 * np.pi / 8
    features = np.hstack([z, np.ones((len(z), 1))])
    weights, *_ = np.linalg.lstsq(features[~test], np.stack([np.cos(angle), np.sin(angle)], 1)[~test], rcond=None)
    decoded = features[test] @ weights
    error = np.angle(np.exp(1j * (np.arctan2(decoded[:, 1], decoded[:, 0]) - angle[test])))
    return np.mean(np.abs(error) < np.pi / 8)


mean, sd = counts[~test].mean(0), counts[~test].std(0) + 1e-3
print(f"standardised counts: {decoding_accuracy((counts - mean) / sd):.1%} of test bins")
models = [engram.nn.SwapVAE(hidden=[128, 128], content=32, style=32, seed=1),
          engram.nn.MYOW(hidden=[256], representation=64, seed=1)]
for model in models:
    # Only the training trials' bins: their trial ids stay contiguous, so they pass as they are.
    curves = model.fit(counts[~test], trial[~test], epochs=6, batch=128)
    print(f"{model}\n  loss {curves['loss'][0]:.3f} -> {curves['loss'][-1]:.3f}; "
          f"decoding from its representation: {decoding_accuracy(model.encode(counts)):.1%} of test bins")

with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "myow.npz")
    models[1].save(path)
    again = engram.nn.MYOW.load(path)
    assert np.array_equal(again.encode(counts), models[1].encode(counts))
    print("saved and reloaded:", len(again.state_dict()), "tensors, e.g.", sorted(again.state_dict())[:2])
