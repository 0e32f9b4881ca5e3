#!/usr/bin/env python3
"""Entropic OT on arrays (docs/coming_from_pot.md): two point clouds, the plan, the gradient of
the OT value with respect to the source points, a few steps of gradient flow that move the source
onto the target, and a ragged batch of problems in one call."""
import numpy as np

import engram

rng = np.random.default_rng(0)
x = rng.normal(0.0, 0.3, size=(300, 2))
y = rng.normal(0.0, 0.3, size=(200, 2)) + [1.0, 0.5]

r = engram.ot.sinkhorn(None, None, x=x, y=y, eps=0.01, plan=True, gradient=True)
print(f"<P, C> = {r.cost:.4f} after {r.iterations} iterations (marginal error {r.error:.1e})")

# Gradient flow on the debiased divergence's first term: x moves towards y.
for step in range(20):
    r = engram.ot.sinkhorn(None, None, x=x, y=y, eps=0.01, gradient=True)
    x = x - 0.5 * r.gradient * len(x)
print(f"after 20 steps: divergence {engram.ot.sinkhorn_divergence(x, y, eps=0.01):.4f}, "
      f"mean {x.mean(0).round(3)} (target {y.mean(0).round(3)})")

batch = engram.ot.sinkhorn(None, None, x=[x[:50], x[:10]], y=[y[:70], y[:20]], eps=[0.01, 0.1])
print("ragged batch costs:", [round(b.cost, 4) for b in batch])
