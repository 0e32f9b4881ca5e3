"""engram.nn.SwapVAE and engram.nn.MYOW on arrays: fits are the same bits for the same seed and
either counts layout, encode equals a float64 numpy forward of the state dict (and the torch
modules the names promise, when torch is importable), save/load round-trips exactly, a fit
continues from loaded parameters, and bad input is refused naming the array, index or key."""
import numpy as np
import pytest

import engram

SWAP = dict(hidden=[16], content=4, style=3, seed=3)
MYOW = dict(hidden=[16], representation=6, projection=4, projection_hidden=8, mined_projection=3,
            mined_hidden=5, miner_k=2, seed=4)
SWAP_TRAIN = dict(epochs=6, batch=32, lr=5e-3, max_offset=2)
MYOW_TRAIN = dict(epochs=6, batch=32, pool=32, lr=5e-3, max_offset=2, warmup_epochs=1)


def reach(trials=30, time=8, neurons=12, seed=0):
    """Direction-tuned Poisson counts [trials, time, neurons] and each trial's direction."""
    rng = np.random.default_rng(seed)
    direction = rng.integers(0, 8, trials)
    preferred = rng.uniform(0, 2 * np.pi, neurons)
    angle = direction * 2 * np.pi / 8
    speed = np.sin(np.linspace(0, np.pi, time))
    rate = 0.5 * np.exp(np.cos(angle[:, None, None] - preferred[None, None, :]) * speed[None, :, None])
    return rng.poisson(rate).astype(np.float32), direction


def mlp_forward(state, prefix, x):
    """Eval-mode nn.Sequential of Linear / BatchNorm1d / ReLU read from torch-style names, float64."""
    last = max(int(k.split(".")[1]) for k in state if k.startswith(prefix + "."))
    h = x.astype(np.float64)
    for i in range(last + 1):
        t = {k[len(f"{prefix}.{i}."):]: v.astype(np.float64) for k, v in state.items() if k.startswith(f"{prefix}.{i}.")}
        if "running_mean" in t:
            h = (h - t["running_mean"]) / np.sqrt(t["running_var"] + 1e-5) * t["weight"] + t["bias"]
        elif "weight" in t:
            h = h @ t["weight"].T + t["bias"]
        else:
            h = np.maximum(h, 0.0)
    return h


@pytest.mark.parametrize("cls, model, train", [(engram.nn.SwapVAE, SWAP, SWAP_TRAIN),
                                               (engram.nn.MYOW, MYOW, MYOW_TRAIN)])
def test_fit_is_deterministic_and_layout_free(cls, model, train):
    counts, _ = reach()
    a = cls(**model)
    curves = a.fit(counts, **train)
    assert all(v.shape == (train["epochs"],) for v in curves.values())
    assert curves["loss"][-1] < curves["loss"][0], curves["loss"]
    b = cls(**model)
    flat = counts.reshape(-1, counts.shape[2])
    ids = np.repeat(np.arange(counts.shape[0]) * 7 + 100, counts.shape[1])  # any ids, contiguous trials
    b.fit(flat, ids, **train)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(np.array_equal(sa[k], sb[k]) for k in sa)
    other = cls(**{**model, "seed": model["seed"] + 1})
    other.fit(counts, **train)
    assert not np.array_equal(other.state_dict()["encoder.0.weight"], sa["encoder.0.weight"])


@pytest.mark.parametrize("cls, model, train", [(engram.nn.SwapVAE, SWAP, SWAP_TRAIN),
                                               (engram.nn.MYOW, MYOW, MYOW_TRAIN)])
def test_encode_matches_a_numpy_forward_of_the_state_dict(cls, model, train):
    counts, _ = reach()
    m = cls(**model)
    m.fit(counts, **train)
    state = m.state_dict()
    assert state["encoder.0.weight"].shape == (16, 12)
    new, _ = reach(trials=5, seed=9)
    x = new.reshape(-1, 12).astype(np.float64)
    if cls is engram.nn.MYOW:
        x = (x - state["standardise.mean"]) * state["standardise.inv_std"]
        expected = mlp_forward(state, "encoder", x)
    else:
        expected = mlp_forward(state, "encoder", x)[:, :model["content"]]
    z = m.encode(new)
    assert z.shape == (5, 8, expected.shape[1])
    np.testing.assert_allclose(z.reshape(-1, expected.shape[1]), expected, rtol=1e-4, atol=1e-5)
    if cls is engram.nn.SwapVAE:
        style = mlp_forward(state, "encoder", x)[:, model["content"]:model["content"] + model["style"]]
        np.testing.assert_allclose(m.encode_style(new.reshape(-1, 12)), style, rtol=1e-4, atol=1e-5)


def test_state_dict_loads_into_torch_modules():
    torch = pytest.importorskip("torch", reason="torch is optional; the numpy forward always runs")
    counts, _ = reach()
    m = engram.nn.MYOW(**MYOW)
    m.fit(counts, **MYOW_TRAIN)
    state = m.state_dict()
    nn = torch.nn
    encoder = nn.Sequential(nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 6))
    encoder.load_state_dict({k[len("encoder."):]: torch.from_numpy(v) for k, v in state.items()
                             if k.startswith("encoder.")}, strict=False)
    encoder.eval()
    x = (counts.reshape(-1, 12) - state["standardise.mean"]) * state["standardise.inv_std"]
    with torch.no_grad():
        expected = encoder(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()
    np.testing.assert_allclose(m.encode(counts).reshape(-1, 6), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls, model, train", [(engram.nn.SwapVAE, SWAP, SWAP_TRAIN),
                                               (engram.nn.MYOW, MYOW, MYOW_TRAIN)])
def test_save_load_round_trip_and_continue(cls, model, train, tmp_path):
    counts, _ = reach()
    m = cls(**model)
    first = m.fit(counts, **train)
    m.save(tmp_path / "m.npz")
    loaded = cls.load(tmp_path / "m.npz")
    assert loaded.config == m.config and loaded.neurons == 12
    assert np.array_equal(loaded.encode(counts), m.encode(counts))
    with np.load(tmp_path / "m.npz") as d:
        np.savez_compressed(tmp_path / "c.npz", **{k: d[k] for k in d.files})
    assert np.array_equal(cls.load(tmp_path / "c.npz").encode(counts), m.encode(counts))
    # A fit from loaded parameters starts where the first one ended, not from scratch.
    again = loaded.fit(counts, **train)
    assert again["loss"][0] < first["loss"][0]
    assert not np.array_equal(loaded.encode(counts), m.encode(counts))
    wrong = {**m.state_dict()}
    wrong["encoder.0.bias"] = wrong["encoder.0.bias"][:-1]
    with pytest.raises(ValueError, match=r"encoder\.0\.bias: shape"):
        cls(**model).load_state_dict(wrong)
    with pytest.raises(ValueError, match="not a"):
        (engram.nn.MYOW if cls is engram.nn.SwapVAE else engram.nn.SwapVAE).load(tmp_path / "m.npz")


def test_bad_input_names_the_array_index_or_key():
    counts, _ = reach()
    flat = counts.reshape(-1, 12)
    ids = np.repeat(np.arange(30), 8)
    ids[20:24] = 0  # trial 0 again after trials 1 and 2
    with pytest.raises(ValueError, match=r"trial\[20\]: id 0 appears again"):
        engram.nn.SwapVAE(**SWAP).fit(flat, ids, **SWAP_TRAIN)
    with pytest.raises(ValueError, match="trial: missing"):
        engram.nn.SwapVAE(**SWAP).fit(flat, **SWAP_TRAIN)
    with pytest.raises(ValueError, match=r"model\.hiden"):
        engram.nn.SwapVAE(hiden=[4])
    with pytest.raises(ValueError, match=r"train\.epochs"):
        engram.nn.MYOW(**MYOW).fit(counts, epochs=0)
    bad = counts.copy()
    bad[2, 3, 4] = np.nan
    with pytest.raises(ValueError, match=r"counts\[19, 4\]"):
        engram.nn.SwapVAE(**SWAP).fit(bad, **SWAP_TRAIN)
    m = engram.nn.SwapVAE(**SWAP)
    with pytest.raises(ValueError, match="fit the model"):
        m.encode(counts)
    m.fit(counts, **SWAP_TRAIN)
    with pytest.raises(ValueError, match=r"counts\.shape\[1\]"):
        m.encode(counts[:, :, :5])
    with pytest.raises(ValueError, match=r"counts\.shape\[1\]"):
        m.fit(counts[:, :, :5], **SWAP_TRAIN)


def test_a_raising_progress_callback_stops_the_fit_and_keeps_the_state():
    counts, _ = reach()
    m = engram.nn.SwapVAE(**SWAP)
    seen = []

    def progress(done, total):
        seen.append((done, total))
        if done == 3:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        m.fit(counts, progress=progress, **SWAP_TRAIN)
    assert seen[-1][0] == 3 and seen[-1][1] == SWAP_TRAIN["epochs"] * (240 // 32)
    assert m.neurons == 12  # the parameters of step 3 are kept
    fresh = engram.nn.SwapVAE(**SWAP)
    fresh.fit(counts, **{**SWAP_TRAIN, "epochs": 1})
    assert not np.array_equal(fresh.state_dict()["encoder.0.weight"], m.state_dict()["encoder.0.weight"])
