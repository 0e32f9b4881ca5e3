"""Neural-network kernels on arrays: engram's tiled online-softmax attention, forward and backward.

    import numpy as np, engram
    q = k = v = np.random.randn(2, 128, 4, 32).astype(np.float32)     # [batch, T, heads, head_dim]
    o, lse = engram.nn.attention(q, k, v, causal=True, return_lse=True)
    dq, dk, dv = engram.nn.attention_backward(np.ones_like(o), q, k, v, o, lse, causal=True)

engram.nn.Transformer trains the separable population transformer on arrays, and engram.nn.SwapVAE and
engram.nn.MYOW the self-supervised reach models (see their docstrings).

Layout is flash-attn's: [batch, T, heads, head_dim] (padded, with ``key_valid`` [batch, T_k] marking
real keys), [T, heads, head_dim] (one sequence), or packed variable-length [tokens, heads,
head_dim] with ``offsets`` [sequences + 1] (sequence s owns rows offsets[s]:offsets[s+1]; keys use
``k_offsets`` when given, else the same offsets). softmax(q k^T * scale) v with scale
1/sqrt(head_dim) by default; ``causal`` hides key j from query i when j > i (positions counted
from each sequence's start). A query that sees no key gets o = 0 and lse = -inf. Computation is in
float32; head_dim must be 16..128. PyTorch's ``scaled_dot_product_attention`` takes
[batch, heads, T, head_dim]: transpose axes 1 and 2 to compare.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ._core import module as _engram
from ._arrays import as_array

from ._ssl import MYOW, SwapVAE

__all__ = ["attention", "attention_backward", "Transformer", "SwapVAE", "MYOW"]


class _Layout:
    """The packed [tokens, heads, head_dim] view of the user's arrays, and the way back."""

    def __init__(self, q, k, offsets, k_offsets, key_valid):
        if q.ndim != k.ndim:
            raise ValueError(f"k: {k.ndim} dimensions, must match q's {q.ndim}")
        if offsets is not None:
            if q.ndim != 3:
                raise ValueError(f"q: shape {q.shape}; with offsets q must be packed [tokens, heads, head_dim]")
            self.q_offsets = as_array(offsets, np.int64, "offsets").ravel()
            self.k_offsets = self.q_offsets if k_offsets is None else as_array(k_offsets, np.int64, "k_offsets").ravel()
            self.batch_shape = None
        elif q.ndim == 4:
            if k.shape[0] != q.shape[0]:
                raise ValueError(f"k.shape[0]: {k.shape[0]}, must equal q's batch size {q.shape[0]}")
            batch, tq, tk = q.shape[0], q.shape[1], k.shape[1]
            self.q_offsets = np.arange(batch + 1, dtype=np.int64) * tq
            self.k_offsets = np.arange(batch + 1, dtype=np.int64) * tk
            self.batch_shape = (batch, tq, batch, tk)
        elif q.ndim == 3:
            self.q_offsets = np.array([0, q.shape[0]], dtype=np.int64)
            self.k_offsets = np.array([0, k.shape[0]], dtype=np.int64)
            self.batch_shape = None
        else:
            raise ValueError(f"q: shape {q.shape}, must be [batch, T, heads, head_dim] or [T, heads, head_dim]")
        self.key_valid = None
        if key_valid is not None:
            mask = as_array(key_valid, None, "key_valid")
            total_k = int(np.prod(k.shape[:-2]))
            if mask.size != total_k:
                raise ValueError(f"key_valid: {mask.size} entries ({mask.shape}), must be one per key row "
                                 f"({k.shape[:-2]})")
            self.key_valid = np.ascontiguousarray(mask.reshape(-1) != 0, dtype=np.uint8)

    @staticmethod
    def pack(x):
        return np.ascontiguousarray(x.reshape((-1,) + x.shape[-2:]))


def _float_tokens(value, name):
    x = as_array(value, np.float32, name)
    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: shape {x.shape}, must be [batch, T, heads, head_dim], [T, heads, head_dim] "
                         "or packed [tokens, heads, head_dim] with offsets")
    return x


def _scale(scale, head_dim):
    return 0.0 if scale is None else float(scale)


def attention(q, k, v, offsets=None, causal: bool = False, key_valid=None, *, k_offsets=None,
              scale: Optional[float] = None, return_lse: bool = False, backend: Any = None):
    """Scaled dot-product attention softmax(q k^T * scale) v per head; see the module docstring.

    Returns o with q's shape (float32), or (o, lse) with ``return_lse=True``: lse [..., heads] is
    each query row's log-sum-exp of scaled scores, what ``attention_backward`` needs.
    """
    qa, ka, va = _float_tokens(q, "q"), _float_tokens(k, "k"), _float_tokens(v, "v")
    layout = _Layout(qa, ka, offsets, k_offsets, key_valid)
    o, lse = _engram._attention_forward(layout.pack(qa), layout.pack(ka), layout.pack(va), layout.q_offsets,
                                        layout.k_offsets, bool(causal), layout.key_valid,
                                        _scale(scale, qa.shape[-1]), backend)
    o = o.reshape(qa.shape)
    lse = lse.reshape(qa.shape[:-1])
    return (o, lse) if return_lse else o


def attention_backward(dout, q, k, v, o, lse, offsets=None, causal: bool = False, key_valid=None, *,
                       k_offsets=None, scale: Optional[float] = None,
                       backend: Any = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients (dq, dk, dv) of sum(dout * o) for o, lse = attention(q, k, v, ..., return_lse=True).

    Same arguments and layouts as ``attention``; masked keys get zero dk and dv. Float32.
    """
    qa, ka, va = _float_tokens(q, "q"), _float_tokens(k, "k"), _float_tokens(v, "v")
    oa, da = _float_tokens(o, "o"), _float_tokens(dout, "dout")
    la = as_array(lse, np.float32, "lse")
    layout = _Layout(qa, ka, offsets, k_offsets, key_valid)
    for name, arr in (("o", oa), ("dout", da)):
        if arr.shape != qa.shape:
            raise ValueError(f"{name}: shape {arr.shape}, must equal q's {qa.shape}")
    if la.shape != qa.shape[:-1]:
        raise ValueError(f"lse: shape {la.shape}, must be {qa.shape[:-1]} (attention(..., return_lse=True))")
    dq, dk, dv = _engram._attention_backward(layout.pack(qa), layout.pack(ka), layout.pack(va), layout.pack(oa),
                                             np.ascontiguousarray(la.reshape(-1, qa.shape[-2])), layout.pack(da),
                                             layout.q_offsets, layout.k_offsets, bool(causal), layout.key_valid,
                                             _scale(scale, qa.shape[-1]), backend)
    return dq.reshape(qa.shape), dk.reshape(ka.shape), dv.reshape(va.shape)


class Transformer:
    """The separable population transformer (docs/training.md) on arrays: fit, predict, evaluate,
    and parameters as a state dict or NPZ file with torch-style names.

        model = engram.nn.Transformer(neurons=30, outputs=4, width=16, heads=2, head_dim=8, seed=1)
        model.fit(counts, labels, steps=200, lr=1e-3)   # counts [trials, time, neurons] float32
        model.predict(counts)                           # logits [trials, outputs]
        model.evaluate(counts, labels)                  # accuracy (classify) or MSE (regress)
        model.save("model.npz"); engram.nn.Transformer.load("model.npz")

    ``task="regress"`` predicts behaviour per time bin: fit/evaluate take ``targets`` [trials,
    time, outputs] and predict returns [trials, time, outputs]. Parameter names and shapes follow
    torch.nn conventions (``individual.0.q.weight`` is [out, in]), so ``state_dict()`` loads into
    a PyTorch module with the same names. Model keys: width, heads, head_dim, ff_hidden,
    individual_layers, population_layers, dropout, neuron_embedding, neurons, outputs, task.
    """

    def __init__(self, seed: int = 0, backend: Any = None, **config):
        self.seed = int(seed)
        self._net = _engram._Transformer({k: (v.item() if isinstance(v, np.generic) else v)
                                          for k, v in config.items()}, self.seed, backend)

    @property
    def config(self) -> dict:
        """The model's keys, as given or defaulted."""
        return self._net.config()

    def __repr__(self) -> str:
        c = self.config
        return (f"engram.nn.Transformer(task={c['task']}, outputs={c['outputs']}, width={c['width']}, "
                f"heads={c['heads']}x{c['head_dim']}, layers={c['individual_layers']}+{c['population_layers']}, "
                f"parameters={sum(int(np.prod(s)) for _, s, _ in self._net.layout())})")

    def _data(self, counts, labels, targets, name):
        x = as_array(counts, np.float32, f"{name}counts")
        if x.ndim != 3:
            raise ValueError(f"{name}counts: shape {x.shape}, must be [trials, time, neurons]")
        y = None if labels is None else as_array(labels, np.int32, f"{name}labels").ravel()
        t = None if targets is None else as_array(targets, np.float32, f"{name}targets")
        if t is not None and t.ndim != 3:
            raise ValueError(f"{name}targets: shape {t.shape}, must be [trials, time, outputs]")
        return x, y, t

    def fit(self, counts, labels=None, *, targets=None, steps: int = 1000, batch: int = 32, lr: float = 1e-4,
            weight_decay: float = 0.0, clip: float = 1.0, freeze_individual: bool = False,
            seed: Optional[int] = None, progress=None) -> dict:
        """Minibatch AdamW for ``steps`` steps; returns {"losses": per-step loss, "train_metric": ...}.

        Minibatch order and dropout are keyed by ``seed`` (default: the model's seed), so a fit is
        the same bits every time. ``progress(done, total)`` is called after each step; Ctrl-C stops
        the fit (KeyboardInterrupt) with the parameters of the last finished step.
        """
        x, y, t = self._data(counts, labels, targets, "")
        return self._net.fit(x, y, t, int(steps), int(batch), float(lr), float(weight_decay), float(clip),
                             bool(freeze_individual), self.seed if seed is None else int(seed), progress)

    def predict(self, counts, batch: int = 64) -> np.ndarray:
        """Eval-mode outputs: logits [trials, outputs] (classify) or [trials, time, outputs] (regress)."""
        x, _, _ = self._data(counts, None, None, "")
        return self._net.predict(x, int(batch))

    def evaluate(self, counts, labels=None, *, targets=None, batch: int = 64) -> float:
        """Accuracy (classify) or mean squared error (regress) in eval mode."""
        x, y, t = self._data(counts, labels, targets, "")
        return float(self._net.evaluate(x, y, t, int(batch)))

    def state_dict(self) -> "dict[str, np.ndarray]":
        """Every parameter as a float32 array, by torch-style name, in the model's order."""
        flat = self._net.params()
        return {name: flat[offset:offset + int(np.prod(shape))].reshape(shape).copy()
                for name, shape, offset in self._net.layout()}

    def load_state_dict(self, state: "dict[str, Any]") -> None:
        """Replaces every parameter; names and shapes must match exactly (errors name the tensor)."""
        layout = self._net.layout()
        flat = np.empty(sum(int(np.prod(s)) for _, s, _ in layout), dtype=np.float32)
        expected = {name for name, _, _ in layout}
        extra = sorted(set(state) - expected)
        if extra:
            raise ValueError(f"{extra[0]}: not a parameter of this model")
        for name, shape, offset in layout:
            if name not in state:
                raise ValueError(f"{name}: missing")
            value = as_array(state[name], np.float32, name)
            if value.shape != tuple(shape):
                raise ValueError(f"{name}: shape {value.shape}, must be {tuple(shape)}")
            flat[offset:offset + value.size] = value.ravel()
        self._net.set_params(flat)

    def save(self, path) -> None:
        """The parameters as an NPZ file (one array per torch-style name) plus the model's config."""
        import json
        np.savez(path, **self.state_dict(), __config__=np.array(json.dumps(self.config)))

    @classmethod
    def load(cls, path, seed: int = 0, backend: Any = None) -> "Transformer":
        """A model built from the config saved in ``path`` with its parameters (compressed NPZ too)."""
        import json
        with np.load(path, allow_pickle=False) as data:
            if "__config__" not in data:
                raise ValueError(f"{path}: no __config__ entry (not written by Transformer.save)")
            model = cls(seed=seed, backend=backend, **json.loads(str(data["__config__"])))
            model.load_state_dict({k: data[k] for k in data.files if k != "__config__"})
        return model
