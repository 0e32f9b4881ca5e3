#!/usr/bin/env python3
"""k-cap on arrays and the brains it drives (docs/coming_from_brain_py.md): exact ties to the
lower index, then a projection whose winners are that k-cap of the area's inputs."""
import numpy as np

import engram

scores = np.array([[0.5, 2.0, 2.0, -1.0, 2.0], [3, 3, 3, 3, 3]], dtype=np.float64)
print("top-2 per row:", engram.kcap(scores, 2).tolist())  # [[1, 2], [0, 1]]: ties to the lower index

brain = engram.Brain({"mode": "explicit", "p": 0.05, "areas": [{"name": "A", "n": 2000, "k": 40}],
                      "stimuli": [{"name": "s", "k": 40}],
                      "fibers": [{"from": "s", "to": "A", "beta": 0.1}, {"from": "A", "to": "A", "beta": 0.1}]},
                     brains=3, seed=7)
brain.project(10)
inputs = brain.inputs("A")  # [brains, n] fixed-point inputs of the latest step
assert all((engram.kcap(inputs, 40)[b] == brain.winners("A", b)).all() for b in range(3))
print(brain)
print("overlap of the last two steps per brain:", [brain.overlap("A", b) for b in range(3)])
