#!/usr/bin/env python3
"""Reference outputs and gradients of one small separable transformer, computed with PyTorch.

Writes tests/data/transformer_reference.npz (numpy.savez, uncompressed), which
tests/unit/transformer_test.cpp loads: the test copies the parameters into engram's
SeparableTransformer, runs one forward and backward pass, and compares logits, loss and every
parameter gradient with PyTorch's at 1e-4 relative.

The model below is written independently of engram's code, from the architecture description
(models/include/engram/models/transformer/separable_transformer.hpp): linear count embedding,
pre-norm layers (LayerNorm, multi-head attention, LayerNorm, GELU MLP), a final LayerNorm per
module, a learned neuron embedding, mean pooling over neurons and time, a linear head, and
softmax cross-entropy. Parameters are drawn with numpy from a fixed seed, so the file is
reproducible. Run once (needs torch, numpy):  python scripts/make_transformer_reference.py
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)  # the reference itself is double; engram runs float

WIDTH, HEADS, HEAD_DIM, FF = 16, 2, 16, 32
IND_LAYERS, POP_LAYERS = 2, 2
BATCH, TIME, NEURONS, CLASSES = 3, 5, 7, 4
HD = HEADS * HEAD_DIM


def tensor_list():
    shapes = [("embed.weight", (WIDTH, 1)), ("embed.bias", (WIDTH,))]

    def layer(prefix):
        return [(prefix + ".ln1.weight", (WIDTH,)), (prefix + ".ln1.bias", (WIDTH,)),
                (prefix + ".q.weight", (HD, WIDTH)), (prefix + ".q.bias", (HD,)),
                (prefix + ".k.weight", (HD, WIDTH)), (prefix + ".k.bias", (HD,)),
                (prefix + ".v.weight", (HD, WIDTH)), (prefix + ".v.bias", (HD,)),
                (prefix + ".o.weight", (WIDTH, HD)), (prefix + ".o.bias", (WIDTH,)),
                (prefix + ".ln2.weight", (WIDTH,)), (prefix + ".ln2.bias", (WIDTH,)),
                (prefix + ".ff1.weight", (FF, WIDTH)), (prefix + ".ff1.bias", (FF,)),
                (prefix + ".ff2.weight", (WIDTH, FF)), (prefix + ".ff2.bias", (WIDTH,))]

    for l in range(IND_LAYERS):
        shapes += layer(f"individual.{l}")
    shapes += [("individual.norm.weight", (WIDTH,)), ("individual.norm.bias", (WIDTH,))]
    shapes += [("neuron_embedding", (NEURONS, WIDTH))]
    for l in range(POP_LAYERS):
        shapes += layer(f"population.{l}")
    shapes += [("population.norm.weight", (WIDTH,)), ("population.norm.bias", (WIDTH,))]
    shapes += [("head.weight", (CLASSES, WIDTH)), ("head.bias", (CLASSES,))]
    return shapes


def block(x, p, prefix):
    """Pre-norm transformer layer over x [sequences, length, width]."""
    s, length, _ = x.shape
    a = F.layer_norm(x, (WIDTH,), p[prefix + ".ln1.weight"], p[prefix + ".ln1.bias"], eps=1e-5)

    def heads(t):
        return t.reshape(s, length, HEADS, HEAD_DIM).transpose(1, 2)

    q = heads(F.linear(a, p[prefix + ".q.weight"], p[prefix + ".q.bias"]))
    k = heads(F.linear(a, p[prefix + ".k.weight"], p[prefix + ".k.bias"]))
    v = heads(F.linear(a, p[prefix + ".v.weight"], p[prefix + ".v.bias"]))
    att = F.scaled_dot_product_attention(q, k, v)  # scale 1/sqrt(HEAD_DIM)
    att = att.transpose(1, 2).reshape(s, length, HD)
    x = x + F.linear(att, p[prefix + ".o.weight"], p[prefix + ".o.bias"])
    b = F.layer_norm(x, (WIDTH,), p[prefix + ".ln2.weight"], p[prefix + ".ln2.bias"], eps=1e-5)
    f = F.gelu(F.linear(b, p[prefix + ".ff1.weight"], p[prefix + ".ff1.bias"]))
    return x + F.linear(f, p[prefix + ".ff2.weight"], p[prefix + ".ff2.bias"])


def model(counts, p):
    b, t, n = counts.shape
    x = counts.permute(0, 2, 1).reshape(b * n, t, 1)  # each neuron its own sequence over time
    x = F.linear(x, p["embed.weight"], p["embed.bias"])
    for l in range(IND_LAYERS):
        x = block(x, p, f"individual.{l}")
    x = F.layer_norm(x, (WIDTH,), p["individual.norm.weight"], p["individual.norm.bias"], eps=1e-5)
    x = x.reshape(b, n, t, WIDTH).permute(0, 2, 1, 3)  # [b, t, n, width]
    x = x + p["neuron_embedding"]
    x = x.reshape(b * t, n, WIDTH)  # at each time step the neurons form a sequence
    for l in range(POP_LAYERS):
        x = block(x, p, f"population.{l}")
    x = F.layer_norm(x, (WIDTH,), p["population.norm.weight"], p["population.norm.bias"], eps=1e-5)
    pooled = x.reshape(b, t * n, WIDTH).mean(dim=1)
    return F.linear(pooled, p["head.weight"], p["head.bias"])


def main():
    rng = np.random.default_rng(20261123)
    params = {}
    for name, shape in tensor_list():
        if name.endswith("norm.weight") or ".ln" in name and name.endswith(".weight"):
            values = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            values = 0.3 * rng.standard_normal(shape)
        params[name] = torch.tensor(values.astype(np.float32).astype(np.float64), requires_grad=True)
    counts = rng.poisson(1.5, size=(BATCH, TIME, NEURONS)).astype(np.float32)
    labels = rng.integers(0, CLASSES, size=BATCH)
    logits = model(torch.tensor(counts, dtype=torch.float64), params)
    loss = F.cross_entropy(logits, torch.tensor(labels))
    loss.backward()
    out = {"counts": counts, "labels": labels.astype(np.int64),
           "logits": logits.detach().numpy(), "loss": np.array([loss.item()])}
    for name, _ in tensor_list():
        out["param/" + name] = params[name].detach().numpy()
        out["grad/" + name] = params[name].grad.numpy()
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "tests", "data", "transformer_reference.npz")
    np.savez(path, **out)
    print(f"wrote {os.path.normpath(path)}: loss {loss.item():.6f}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
