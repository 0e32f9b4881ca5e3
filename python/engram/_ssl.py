"""engram.nn.SwapVAE and engram.nn.MYOW: the self-supervised models of reach recordings
(docs/self_supervised.md) on arrays. Each object is one training run: ``fit`` trains it on every
trial it is given, ``encode`` maps new spike counts to the learned representation, and its state
(parameters, batch-norm running statistics, MYOW's target network and input standardisation)
goes to and from a torch-style state dict or an NPZ file.

Counts are [bins, neurons] with ``trial`` [bins] (each trial's bins contiguous and in time order;
any integer ids), or [trials, time, neurons]. The YAML jobs (``experiment: swap_vae | myow``) run
the papers' evaluation over splits; these classes are for using the models on your own data.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, Optional

import numpy as np

from ._arrays import as_array
from ._config import _plain, to_json
from ._core import module as _engram

__all__ = ["SwapVAE", "MYOW"]


def _bins(counts: Any, name: str = "counts") -> "tuple[np.ndarray, Optional[tuple]]":
    """[bins, neurons] float32 rows, and the leading shape to restore for 3-D input."""
    x = as_array(counts, np.float32, name)
    if x.ndim == 3:
        return np.ascontiguousarray(x.reshape(-1, x.shape[2])), x.shape[:2]
    if x.ndim != 2:
        raise ValueError(f"{name}: shape {x.shape}, must be [bins, neurons] or [trials, time, neurons]")
    return x, None


def _trial_ids(x: np.ndarray, lead: Optional[tuple], trial: Any) -> np.ndarray:
    """Trial ids 0, 1, ... in order of appearance; errors name the first bad index."""
    if lead is not None:
        if trial is not None:
            raise ValueError("trial: given with [trials, time, neurons] counts, whose trials are the first axis")
        return np.repeat(np.arange(lead[0], dtype=np.int32), lead[1])
    if trial is None:
        raise ValueError("trial: missing; [bins, neurons] counts need the trial id of every bin "
                         "(or pass counts as [trials, time, neurons])")
    t = as_array(trial, None, "trial").ravel()
    if not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"trial: dtype {t.dtype}, must be integer ids")
    if t.size != x.shape[0]:
        raise ValueError(f"trial: {t.size} ids for {x.shape[0]} bins (counts.shape[0])")
    if t.size == 0:
        raise ValueError("counts: no bins")
    starts = np.concatenate([[True], t[1:] != t[:-1]])
    first_bins = np.flatnonzero(starts)
    _, first_seen = np.unique(t[first_bins], return_index=True)
    if first_seen.size != first_bins.size:
        repeat = first_bins[np.setdiff1d(np.arange(first_bins.size), first_seen)[0]]
        raise ValueError(f"trial[{repeat}]: id {t[repeat]} appears again after other trials; "
                         "a trial's bins must be contiguous")
    return (np.cumsum(starts) - 1).astype(np.int32)


class _SelfSupervisedModel:
    _kind = ""
    _class_name = ""

    def __init__(self, seed: int = 0, backend: Any = None, **model: Any):
        self.seed = int(seed)
        self._backend = backend
        self._model = _plain(model, "model")
        self._net = _engram._SslModel(self._kind, to_json(self._model), backend)

    @property
    def config(self) -> dict:
        """The model keys as given (defaults are those of the YAML ``model:`` section)."""
        return dict(self._model)

    @property
    def neurons(self) -> int:
        """Input width, set by the first fit or load (0 before)."""
        return int(self._net.neurons())

    def __repr__(self) -> str:
        keys = ", ".join(f"{k}={v!r}" for k, v in self._model.items())
        state = f"neurons={self.neurons}" if self.neurons else "untrained"
        return f"engram.nn.{self._class_name}({keys}{', ' if keys else ''}seed={self.seed}) [{state}]"

    def fit(self, counts: Any, trial: Any = None, *, seed: Optional[int] = None,
            progress: Optional[Callable[[int, int], None]] = None, **train: Any) -> Dict[str, np.ndarray]:
        """Trains on every trial given, from the current parameters once there are any (a fresh
        optimiser and schedule each call). ``train`` takes the YAML ``train:`` keys (epochs, batch,
        lr, ...). Returns the per-epoch mean of each loss term, by name.

        The same counts, config and seed give the same bits on any thread count. Ctrl-C stops
        after the current step (KeyboardInterrupt) and keeps the parameters of that step.
        """
        x, lead = _bins(counts)
        ids = _trial_ids(x, lead, trial)
        out = self._net.fit(x, ids, to_json(_plain(train, "train")), self.seed if seed is None else int(seed),
                            progress)
        return {name: out["curves"][:, j].copy() for j, name in enumerate(out["curve_names"])}

    def _encode(self, counts: Any) -> "tuple[np.ndarray, Optional[tuple]]":
        x, lead = _bins(counts)
        return self._net.encode(x), lead

    @staticmethod
    def _shaped(z: np.ndarray, lead: Optional[tuple]) -> np.ndarray:
        return z if lead is None else z.reshape(*lead, z.shape[-1])

    def _standardised(self) -> bool:
        return False

    def state_dict(self) -> "dict[str, np.ndarray]":
        """Every tensor by torch-style name (``encoder.0.weight`` is [out, in], batch-norm
        ``running_mean``/``running_var`` included), float32: the networks load into nn.Sequential
        stacks of Linear, BatchNorm1d (eps 1e-5) and ReLU with the same names."""
        if not self.neurons:
            raise ValueError("state_dict: an untrained model (fit it or load a state first)")
        st = self._net.state()
        out = {name: st[store][offset:offset + int(np.prod(shape))].reshape(shape).copy()
               for name, shape, store, offset in self._net.layout(self.neurons)}
        if self._standardised():
            out["standardise.mean"] = st["mean"].copy()
            out["standardise.inv_std"] = st["inv_std"].copy()
        return out

    def load_state_dict(self, state: "dict[str, Any]") -> None:
        """Replaces the whole state; names and shapes must match this config (errors name the
        tensor). The input width comes from ``encoder.0.weight``."""
        if "encoder.0.weight" not in state:
            raise ValueError("encoder.0.weight: missing")
        first = as_array(state["encoder.0.weight"], np.float32, "encoder.0.weight")
        if first.ndim != 2:
            raise ValueError(f"encoder.0.weight: shape {first.shape}, must be [out, neurons]")
        neurons = int(first.shape[1])
        layout = self._net.layout(neurons)
        sizes = {"params": 0, "stats": 0, "target": 0}
        for _, shape, store, offset in layout:
            sizes[store] = max(sizes[store], offset + int(np.prod(shape)))
        if self._kind == "myow":
            sizes["target"] = sizes["params"]
        flats = {store: np.zeros(n, dtype=np.float32) for store, n in sizes.items()}
        expected = {name for name, _, _, _ in layout}
        extra_keys = {"standardise.mean", "standardise.inv_std"} if self._standardised() else set()
        extra = sorted(set(state) - expected - extra_keys)
        if extra:
            raise ValueError(f"{extra[0]}: not a tensor of this model")
        for name, shape, store, offset in layout:
            if name not in state:
                raise ValueError(f"{name}: missing")
            value = as_array(state[name], np.float32, name)
            if value.shape != tuple(shape):
                raise ValueError(f"{name}: shape {value.shape}, must be {tuple(shape)}")
            flats[store][offset:offset + value.size] = value.ravel()
        standardise = {"standardise.mean": np.zeros(neurons, np.float32),
                       "standardise.inv_std": np.ones(neurons, np.float32)}
        for key in sorted(extra_keys):
            if key not in state:
                raise ValueError(f"{key}: missing")
            standardise[key] = as_array(state[key], np.float32, key)
            if standardise[key].shape != (neurons,):
                raise ValueError(f"{key}: shape {standardise[key].shape}, must be ({neurons},)")
        self._net.set_state(neurons, flats["params"], flats["stats"], flats["target"], standardise["standardise.mean"],
                            standardise["standardise.inv_std"])

    def save(self, path: Any) -> None:
        """The state dict as an NPZ file, with the class and model keys (``__config__``)."""
        config = json.dumps({"class": self._class_name, "model": self._model, "seed": self.seed})
        np.savez(path, **self.state_dict(), __config__=np.array(config))

    @classmethod
    def load(cls, path: Any, backend: Any = None):
        """A model rebuilt from a file ``save`` wrote (compressed NPZ too)."""
        with np.load(path, allow_pickle=False) as data:
            if "__config__" not in data:
                raise ValueError(f"{path}: no __config__ entry (not written by {cls._class_name}.save)")
            config = json.loads(str(data["__config__"]))
            if config.get("class") != cls._class_name:
                raise ValueError(f"{path}: holds a {config.get('class')}, not a {cls._class_name}")
            model = cls(seed=config.get("seed", 0), backend=backend, **config["model"])
            model.load_state_dict({k: data[k] for k in data.files if k != "__config__"})
        return model


class SwapVAE(_SelfSupervisedModel):
    """Swap-VAE (Liu et al. 2021): a content block aligned across two views of one brain state and
    a style block under a KL prior; with ``swap=False, content=0, beta=0`` the plain beta-VAE.

        model = engram.nn.SwapVAE(hidden=[128, 128], content=64, style=64, seed=1)
        model.fit(counts, trial, epochs=200)     # counts [bins, neurons], trial [bins]
        z = model.encode(counts)                 # content block [bins, 64]
        model.save("swap_vae.npz"); engram.nn.SwapVAE.load("swap_vae.npz")

    Model keys: hidden, content, style, alpha, beta, swap, batch_norm. Train keys (``fit``):
    epochs, batch, lr, weight_decay, max_offset, max_dropout, dropout_apply. The encoder reads raw
    counts; state dict: ``encoder.*`` and ``decoder.*``.
    """
    _kind = "swap_vae"
    _class_name = "SwapVAE"

    def _blocks(self):
        content = int(self._model.get("content", 64))
        style = int(self._model.get("style", 64))
        return content, style

    def encode(self, counts: Any) -> np.ndarray:
        """The representation of each bin: the content block, or the posterior mean when the
        model has no content block (the beta-VAE). [bins, dim], or [trials, time, dim]."""
        z, lead = self._encode(counts)
        content, style = self._blocks()
        return self._shaped(np.ascontiguousarray(z[:, :content] if content > 0 else z[:, :style]), lead)

    def encode_style(self, counts: Any) -> np.ndarray:
        """The style block's posterior mean of each bin."""
        z, lead = self._encode(counts)
        content, style = self._blocks()
        return self._shaped(np.ascontiguousarray(z[:, content:content + style]), lead)


class MYOW(_SelfSupervisedModel):
    """MYOW (Azabou et al. 2021): BYOL on augmented views of a bin plus views mined from other
    trials (nearest neighbours in the target representation); ``mining=False`` is BYOL.

        model = engram.nn.MYOW(hidden=[256], representation=128, seed=1)
        model.fit(counts, trial, epochs=200)
        z = model.encode(counts)                 # representation [bins, 128]

    Model keys: hidden, representation, projection, projection_hidden, mined_projection,
    mined_hidden, mining, miner_k, mining_weight, mining_warmup_epochs, mining_rampup_epochs,
    ema_base, symmetric_loss. Train keys: epochs, batch, pool, optimizer (adamw or lars), lr,
    momentum and lars_eta (LARS), weight_decay, warmup_epochs, max_offset, min_offset,
    max_dropout, dropout_apply, noise, shared_augmentation.
    The encoder reads counts standardised per neuron by the
    training bins' mean and sd (``standardise.mean``/``standardise.inv_std`` in the state dict,
    beside the online ``encoder``, ``projector``, ``mined_projector``, ``predictor``,
    ``mined_predictor`` and the target's ``target_*``).
    """
    _kind = "myow"
    _class_name = "MYOW"

    def _standardised(self) -> bool:
        return True

    def encode(self, counts: Any) -> np.ndarray:
        """The online encoder's representation of each bin: [bins, dim] or [trials, time, dim]."""
        z, lead = self._encode(counts)
        return self._shaped(z, lead)
