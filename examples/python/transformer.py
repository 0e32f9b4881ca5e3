#!/usr/bin/env python3
"""The separable population transformer on arrays (docs/training.md): fit on spike counts,
evaluate on held-out trials, save the parameters with torch-style names and load them back."""
import os
import tempfile

import numpy as np

import engram

rng = np.random.default_rng(0)
trials, time, neurons = 160, 8, 12
labels = rng.integers(0, 2, trials).astype(np.int32)
counts = rng.poisson(1.0 + labels[:, None, None], size=(trials, time, neurons)).astype(np.float32)

model = engram.nn.Transformer(neurons=neurons, outputs=2, width=16, heads=2, head_dim=16, ff_hidden=32,
                              individual_layers=1, population_layers=1, dropout=0.0, seed=1)
report = model.fit(counts[:120], labels[:120], steps=100, batch=16, lr=3e-3)
print(model)
print(f"loss {report['losses'][:10].mean():.3f} -> {report['losses'][-10:].mean():.3f}; "
      f"held-out accuracy {model.evaluate(counts[120:], labels[120:]):.2f}")

with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "model.npz")
    model.save(path)
    again = engram.nn.Transformer.load(path)
    assert np.array_equal(again.predict(counts[120:]), model.predict(counts[120:]))
    print("saved and reloaded:", sorted(again.state_dict())[:3], "...")
