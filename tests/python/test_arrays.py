"""engram's array API (engram.ot, engram.nn, engram.kcap) against peers and oracles.

POT (ot.bregman.sinkhorn_log) is the Sinkhorn reference and must be importable (CI installs it
from python/requirements-dev.txt); attention is checked against a float64 numpy oracle always
and against torch's scaled_dot_product_attention when torch is importable.
"""
import signal
import threading
import time

import numpy as np
import pytest

import engram

ot = pytest.importorskip("ot", reason="POT is the Sinkhorn reference (pip install -r python/requirements-dev.txt)")


def rel_diff(got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


def random_problem(rng, n, m, dim, weights):
    x, y = rng.random((n, dim)), rng.random((m, dim)) + 0.1
    if weights:
        a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
        a, b = a / a.sum(), b / b.sum()
    else:
        a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    return x, y, a, b


# ---- Sinkhorn ----

@pytest.mark.parametrize("n,m,dim,eps,weights", [(7, 5, 2, 0.5, False), (30, 40, 3, 0.05, True),
                                                   (64, 48, 5, 0.02, True)])
def test_sinkhorn_matches_pot_sinkhorn_log(n, m, dim, eps, weights):
    rng = np.random.default_rng(n * 100 + m)
    x, y, a, b = random_problem(rng, n, m, dim, weights)
    M = ot.dist(x, y)  # squared Euclidean
    plan_pot, log = ot.bregman.sinkhorn_log(a, b, M, eps, numItermax=100000, stopThr=1e-13, log=True)
    f_pot = eps * (log["log_u"] - np.log(a))
    g_pot = eps * (log["log_v"] - np.log(b))
    for kwargs in (dict(x=x, y=y), dict(M=M)):
        r = engram.ot.sinkhorn(a, b, eps=eps, tol=1e-12, plan=True, **kwargs)
        assert r.converged and r.error <= 1e-12
        assert rel_diff(r.plan, plan_pot) < 1e-6
        assert abs(r.cost - float(np.sum(plan_pot * M))) < 1e-6 * abs(r.cost)
        # Potentials are defined up to f + c, g - c: fix the gauge on f[0].
        shift = r.f[0] - f_pot[0]
        assert rel_diff(r.f - shift, f_pot) < 1e-6
        assert rel_diff(r.g + shift, g_pot) < 1e-6
        # The plan is the one the potentials define.
        plan = a[:, None] * b[None, :] * np.exp((r.f[:, None] + r.g[None, :] - M) / eps)
        assert rel_diff(r.plan, plan) < 1e-9


def test_sinkhorn_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    x, y, a, b = random_problem(rng, 12, 9, 2, True)
    eps = 0.1
    r = engram.ot.sinkhorn(a, b, x=x, y=y, eps=eps, tol=1e-13, gradient=True)
    assert r.gradient.shape == x.shape

    def value(points):
        return engram.ot.sinkhorn(a, b, x=points, y=y, eps=eps, tol=1e-13).value

    h = 1e-5
    numeric = np.zeros_like(x)
    for i in range(x.shape[0]):
        for d in range(x.shape[1]):
            up, down = x.copy(), x.copy()
            up[i, d] += h
            down[i, d] -= h
            numeric[i, d] = (value(up) - value(down)) / (2 * h)
    assert rel_diff(r.gradient, numeric) < 1e-6
    # The envelope theorem's closed form: sum_j P_ij * 2 (x_i - y_j).
    P = engram.ot.sinkhorn(a, b, x=x, y=y, eps=eps, tol=1e-13, plan=True).plan
    closed = 2 * (P.sum(1)[:, None] * x - P @ y)
    assert rel_diff(r.gradient, closed) < 1e-9


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sinkhorn_ragged_batch_equals_each_alone(dtype):
    rng = np.random.default_rng(7)
    sizes = [(20, 30), (5, 3), (41, 17), (1, 8)]
    xs = [rng.random((n, 3)).astype(dtype) for n, _ in sizes]
    ys = [rng.random((m, 3)).astype(dtype) for _, m in sizes]
    epss = [0.05, 0.5, 0.01, 0.1]
    batch = engram.ot.sinkhorn(None, None, x=xs, y=ys, eps=epss, tol=1e-6, plan=True, gradient=True)
    assert len(batch) == len(sizes)
    for i, r in enumerate(batch):
        alone = engram.ot.sinkhorn(None, None, x=xs[i], y=ys[i], eps=epss[i], tol=1e-6, plan=True, gradient=True)
        assert r.f.dtype == dtype and r.plan.shape == sizes[i]
        for field in ("f", "g", "plan", "gradient"):
            assert np.array_equal(getattr(r, field), getattr(alone, field)), (i, field)
        assert (r.cost, r.value, r.iterations, r.error) == (alone.cost, alone.value, alone.iterations, alone.error)


def test_sinkhorn_stored_costs_in_a_batch_and_unbalanced():
    rng = np.random.default_rng(11)
    Ms = [rng.random((6, 4)), rng.random((3, 9))]
    batch = engram.ot.sinkhorn(None, None, M=Ms, eps=0.2, tau=[np.inf, 1.0], tol=1e-11, plan=True)
    P0 = ot.bregman.sinkhorn_log(np.full(6, 1 / 6), np.full(4, 1 / 4), Ms[0], 0.2, stopThr=1e-13, numItermax=10**5)
    assert rel_diff(batch[0].plan, P0) < 1e-6
    P1 = ot.unbalanced.sinkhorn_unbalanced(np.full(3, 1 / 3), np.full(9, 1 / 9), Ms[1], 0.2, 1.0,
                                           method="sinkhorn_stabilized", stopThr=1e-13, numItermax=10**5)
    assert rel_diff(batch[1].plan, P1) < 1e-5


def test_sinkhorn_divergence_convention():
    rng = np.random.default_rng(5)
    x, y, a, b = random_problem(rng, 25, 30, 2, True)
    eps = 0.05
    div = engram.ot.sinkhorn_divergence(x, y, a, b, eps=eps, tol=1e-12)
    solve = lambda p, q, u, v: engram.ot.sinkhorn(u, v, x=p, y=q, eps=eps, tol=1e-12)  # noqa: E731
    xy, xx, yy = solve(x, y, a, b), solve(x, x, a, a), solve(y, y, b, b)
    assert div == pytest.approx(xy.value - 0.5 * xx.value - 0.5 * yy.value, rel=1e-12, abs=1e-15)
    assert div > 0
    # POT's empirical_sinkhorn_divergence combines the transport costs <P, C> (docs/ot.md).
    pot = ot.bregman.empirical_sinkhorn_divergence(x, y, eps, a, b, stopThr=1e-13, numIterMax=10**5)
    assert float(pot) == pytest.approx(max(0.0, xy.cost - 0.5 * xx.cost - 0.5 * yy.cost), rel=1e-6)
    both = engram.ot.sinkhorn_divergence([x, x], [y, x], eps=eps, tol=1e-12)
    assert both.shape == (2,) and abs(both[1]) < 1e-9


def test_sinkhorn_bad_input_names_the_field():
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="eps"):
        engram.ot.sinkhorn(None, None, x=x, y=x, eps=-1.0)
    with pytest.raises(ValueError, match=r"problems\[0\]\.a"):
        engram.ot.sinkhorn(np.array([1.0, -1.0, 1.0, 1.0]), None, x=x, y=x)
    with pytest.raises(ValueError, match=r"y\[1\]: dimension"):
        engram.ot.sinkhorn(None, None, x=[x, x], y=[x, np.zeros((3, 5))])
    with pytest.raises(ValueError, match="M"):
        engram.ot.sinkhorn(None, None, x=x, y=x, M=np.zeros((4, 4)))


def test_sigint_during_a_long_sinkhorn_raises_keyboard_interrupt_within_a_second(ctrl_c):
    rng = np.random.default_rng(1)
    x, y = rng.random((1500, 3)), rng.random((1500, 3))
    sent = []

    def interrupt():
        sent.append(time.monotonic())
        signal.raise_signal(signal.SIGINT)  # what Ctrl-C does

    timer = threading.Timer(0.5, interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            # Never converges (tol far below float64 resolution); bounded so that a missed Ctrl-C
            # fails the test after a minute or so instead of hanging the suite.
            engram.ot.sinkhorn(None, None, x=x, y=y, eps=1e-3, tol=1e-300, max_iter=30000)
        stopped = time.monotonic()
    finally:
        timer.cancel()
    assert sent and stopped - sent[0] < 1.0, f"stopped {stopped - sent[0]:.2f} s after SIGINT"
    assert engram.ot.sinkhorn(None, None, x=x[:5], y=y[:5], eps=0.1).converged  # still usable


# ---- attention ----

def attention_oracle(q, k, v, causal, key_valid, scale):
    """float64 softmax attention per sequence: q [Tq, H, D], k, v [Tk, H, D]; returns o, lse."""
    q, k, v = (np.asarray(t, dtype=np.float64) for t in (q, k, v))
    s = np.einsum("qhd,khd->hqk", q, k) * scale
    visible = np.ones(s.shape[1:], dtype=bool)
    if causal:
        visible &= np.arange(k.shape[0])[None, :] <= np.arange(q.shape[0])[:, None]
    if key_valid is not None:
        visible &= np.asarray(key_valid, dtype=bool)[None, :]
    s = np.where(visible[None], s, -np.inf)
    top = np.max(s, axis=2, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    w = np.exp(s - top)
    total = w.sum(axis=2, keepdims=True)
    p = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    o = np.einsum("hqk,khd->qhd", p, v)
    with np.errstate(divide="ignore"):
        lse = (np.log(total) + top)[:, :, 0].T
    return o, lse, p


def attention_backward_oracle(q, k, v, dout, causal, key_valid, scale):
    q, k, v, dout = (np.asarray(t, dtype=np.float64) for t in (q, k, v, dout))
    o, _, p = attention_oracle(q, k, v, causal, key_valid, scale)
    dv = np.einsum("hqk,qhd->khd", p, dout)
    dp = np.einsum("qhd,khd->hqk", dout, v)
    ds = p * (dp - np.sum(dp * p, axis=2, keepdims=True))
    dq = np.einsum("hqk,khd->qhd", ds, k) * scale
    dk = np.einsum("hqk,qhd->khd", ds, q) * scale
    return dq, dk, dv


@pytest.mark.parametrize("causal", [False, True])
def test_attention_padded_batch_matches_numpy_oracle(causal):
    rng = np.random.default_rng(2)
    B, T, H, D = 3, 37, 2, 32
    q, k, v, dout = (rng.standard_normal((B, T, H, D)).astype(np.float32) for _ in range(4))
    key_valid = np.ones((B, T), dtype=bool)
    key_valid[1, 30:] = False
    key_valid[2, ::3] = False
    o, lse = engram.nn.attention(q, k, v, causal=causal, key_valid=key_valid, return_lse=True)
    dq, dk, dv = engram.nn.attention_backward(dout, q, k, v, o, lse, causal=causal, key_valid=key_valid)
    assert o.shape == q.shape and o.dtype == np.float32 and lse.shape == (B, T, H)
    scale = 1 / np.sqrt(D)
    for s in range(B):
        want_o, want_lse, _ = attention_oracle(q[s], k[s], v[s], causal, key_valid[s], scale)
        rows = np.isfinite(want_lse)
        assert np.max(np.abs(o[s] - want_o)) < 2e-5
        assert np.array_equal(np.isfinite(lse[s]), rows)
        assert np.max(np.abs(lse[s][rows] - want_lse[rows])) < 2e-5
        want = attention_backward_oracle(q[s], k[s], v[s], dout[s], causal, key_valid[s], scale)
        for got, ref in zip((dq[s], dk[s], dv[s]), want):
            assert np.max(np.abs(got - ref)) < 1e-4 * max(1.0, np.max(np.abs(ref)))
        assert not np.any(dk[s][~key_valid[s]]) and not np.any(dv[s][~key_valid[s]])


def test_attention_packed_ragged_equals_each_sequence_alone():
    rng = np.random.default_rng(4)
    H, D = 3, 16
    q_len, k_len = [5, 19, 1, 40], [7, 19, 12, 33]
    q_off = np.concatenate([[0], np.cumsum(q_len)])
    k_off = np.concatenate([[0], np.cumsum(k_len)])
    q = rng.standard_normal((q_off[-1], H, D)).astype(np.float32)
    k, v = (rng.standard_normal((k_off[-1], H, D)).astype(np.float32) for _ in range(2))
    dout = rng.standard_normal(q.shape).astype(np.float32)
    o, lse = engram.nn.attention(q, k, v, offsets=q_off, k_offsets=k_off, causal=True, scale=0.3, return_lse=True)
    dq, dk, dv = engram.nn.attention_backward(dout, q, k, v, o, lse, offsets=q_off, k_offsets=k_off, causal=True,
                                              scale=0.3)
    for s in range(len(q_len)):
        qs, ks = slice(q_off[s], q_off[s + 1]), slice(k_off[s], k_off[s + 1])
        alone, alone_lse = engram.nn.attention(q[qs], k[ks], v[ks], causal=True, scale=0.3, return_lse=True)
        assert np.array_equal(o[qs], alone)
        gq, gk, gv = engram.nn.attention_backward(dout[qs], q[qs], k[ks], v[ks], alone, alone_lse, causal=True,
                                                  scale=0.3)
        assert np.array_equal(dq[qs], gq) and np.array_equal(dk[ks], gk) and np.array_equal(dv[ks], gv)
        want_o, _, _ = attention_oracle(q[qs], k[ks], v[ks], True, None, 0.3)
        assert np.max(np.abs(o[qs] - want_o)) < 2e-5


def test_attention_matches_torch_sdpa():
    torch = pytest.importorskip("torch", reason="torch is optional; the numpy oracle always runs")
    rng = np.random.default_rng(6)
    B, T, H, D = 2, 50, 4, 64
    q, k, v, dout = (rng.standard_normal((B, T, H, D)).astype(np.float32) for _ in range(4))
    o, lse = engram.nn.attention(q, k, v, causal=True, return_lse=True)
    dq, dk, dv = engram.nn.attention_backward(dout, q, k, v, o, lse, causal=True)
    tq, tk, tv = (torch.tensor(t.transpose(0, 2, 1, 3), dtype=torch.float64, requires_grad=True) for t in (q, k, v))
    to = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
    to.backward(torch.tensor(dout.transpose(0, 2, 1, 3), dtype=torch.float64))
    back = lambda t: t.detach().numpy().transpose(0, 2, 1, 3)  # noqa: E731
    assert np.max(np.abs(o - back(to))) < 2e-5
    for got, ref in ((dq, tq.grad), (dk, tk.grad), (dv, tv.grad)):
        assert np.max(np.abs(got - back(ref))) < 1e-4 * max(1.0, float(ref.abs().max()))


def test_attention_bad_input_names_the_field():
    q = np.zeros((1, 4, 2, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="head_dim"):
        engram.nn.attention(q, q, q)
    q = np.zeros((6, 2, 16), dtype=np.float32)
    with pytest.raises(ValueError, match=r"q_offsets\[2\]"):
        engram.nn.attention(q, q, q, offsets=[0, 2, 5])
    with pytest.raises(ValueError, match="key_valid"):
        engram.nn.attention(q, q, q, key_valid=np.ones(5, dtype=bool))


# ---- DLPack ----

class DLPackOnly:
    """A tensor that speaks nothing but DLPack (as torch, JAX or CuPy host arrays do)."""

    def __init__(self, array):
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


def test_dlpack_round_trip():
    rng = np.random.default_rng(8)
    q = rng.standard_normal((2, 9, 1, 16)).astype(np.float32)
    o = engram.nn.attention(DLPackOnly(q), DLPackOnly(q), DLPackOnly(q))
    assert np.array_equal(o, engram.nn.attention(q, q, q))
    back = np.from_dlpack(DLPackOnly(o))  # results are numpy arrays: they export DLPack
    assert np.shares_memory(back, o) and np.array_equal(back, o)
    x = rng.random((6, 2))
    r = engram.ot.sinkhorn(None, None, x=DLPackOnly(x), y=DLPackOnly(x[::-1].copy()), eps=0.1, plan=True)
    assert np.array_equal(r.plan, engram.ot.sinkhorn(None, None, x=x, y=x[::-1].copy(), eps=0.1, plan=True).plan)
    winners = engram.kcap(DLPackOnly(np.arange(10.0)), 3)
    assert winners.tolist() == [7, 8, 9]
    try:
        import torch
    except ImportError:
        return
    t = torch.from_numpy(q)
    assert np.array_equal(engram.nn.attention(t, t, t), o)
    assert torch.equal(torch.from_dlpack(o), torch.from_numpy(o))


# ---- k-cap ----

def kcap_oracle(row, k):
    order = sorted(range(len(row)), key=lambda i: (-row[i], i))
    return sorted(order[:k])


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64, np.float32])
def test_kcap_exact_ties_match_the_oracle(dtype):
    rng = np.random.default_rng(9)
    rows = rng.integers(-5, 6, size=(13, 300))  # many ties
    if np.issubdtype(dtype, np.floating):
        rows = rows * 0.25 + rng.choice([0.0, 1e-300, -1e-300, 2.0 ** -40], size=rows.shape)
    rows = rows.astype(dtype)
    for k in (1, 17, 300):
        got = engram.kcap(rows, k)
        assert got.shape == (13, k) and got.dtype == np.uint32
        for b in range(rows.shape[0]):
            assert got[b].tolist() == kcap_oracle(rows[b].tolist(), k)
    assert engram.kcap(np.array([0.0, -0.0, 0.0]), 2).tolist() == [0, 1]  # -0.0 ties with 0.0
    with pytest.raises(ValueError, match="k"):
        engram.kcap(rows, 301)
    with pytest.raises(ValueError, match="NaN"):
        engram.kcap(np.array([1.0, np.nan]), 1)
