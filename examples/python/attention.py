#!/usr/bin/env python3
"""Attention on arrays (docs/coming_from_pytorch.md): a padded batch with masked keys, causal
masking, the backward pass, and ragged sequences packed with offsets."""
import numpy as np

import engram

rng = np.random.default_rng(0)
B, T, H, D = 2, 64, 4, 32
q, k, v = (rng.standard_normal((B, T, H, D)).astype(np.float32) for _ in range(3))
key_valid = np.ones((B, T), dtype=bool)
key_valid[1, 40:] = False  # the second sequence is 40 tokens long

o, lse = engram.nn.attention(q, k, v, causal=True, key_valid=key_valid, return_lse=True)
dq, dk, dv = engram.nn.attention_backward(np.ones_like(o), q, k, v, o, lse, causal=True, key_valid=key_valid)
print("o", o.shape, "| dk of padded keys is zero:", not dk[1, 40:].any())

lengths = [5, 17, 42]
offsets = np.concatenate([[0], np.cumsum(lengths)])
packed = rng.standard_normal((offsets[-1], H, D)).astype(np.float32)
out = engram.nn.attention(packed, packed, packed, offsets=offsets)
print("packed", out.shape, "for sequences of", lengths)
