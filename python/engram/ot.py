"""Entropic optimal transport on arrays: engram's batched log-domain Sinkhorn solver.

    import numpy as np, engram
    x, y = np.random.rand(100, 2), np.random.rand(80, 2)
    r = engram.ot.sinkhorn(None, None, x=x, y=y, eps=0.01, plan=True, gradient=True)
    r.plan, r.f, r.g, r.cost, r.value, r.gradient      # numpy arrays and floats
    rs = engram.ot.sinkhorn(None, None, x=[x, x[:50]], y=[y, y[:30]], eps=0.01)  # one ragged batch
    engram.ot.sinkhorn_divergence(x, y, eps=0.01)

The problem (``docs/ot.md``): min_P <P, C> + eps KL(P | a b^T) [+ tau KL(P 1 | a) + tau KL(P^T 1 | b)],
solved through potentials f, g with P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps). With a stored
cost ``M`` this is POT's ``ot.sinkhorn(a, b, M, reg=eps, method="sinkhorn_log")``; with points
``x``, ``y`` the cost is computed on the fly (``cost="sq_euclidean"``: |x - y|^2, ``"p_norm"``:
|x - y|^p), never stored. A list of problems is solved as one batch, and each problem's results are
the same bits as when solved alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Union

import numpy as np

from ._core import module as _engram
from ._arrays import as_array

__all__ = ["SinkhornResult", "sinkhorn", "sinkhorn_divergence"]


@dataclass
class SinkhornResult:
    """One problem's solution.

    f, g: dual potentials (source, target), in cost units; P_ij = a_i b_j exp((f_i + g_j - C_ij)/eps).
    plan: the [n, m] plan when ``plan=True``, else None.
    gradient: d value / d x, [n, dim], when ``gradient=True`` (point costs), else None.
    cost: <P, C> (what POT's ``sinkhorn2`` returns). value: the entropic OT value (dual objective),
    the quantity ``gradient`` differentiates. mass: total mass of P. error: final L1 marginal error
    (unbalanced: largest change of f). iterations, converged, eps (of the last iteration).
    """
    f: np.ndarray
    g: np.ndarray
    plan: Optional[np.ndarray]
    gradient: Optional[np.ndarray]
    cost: float
    value: float
    mass: float
    error: float
    eps: float
    iterations: int
    converged: bool


def _listify(value: Any, count: int, name: str) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"{name}: {len(value)} entries, but there are {count} problems")
        return list(value)
    return [value] * count


def _points(value: Any, dtype, name: str) -> np.ndarray:
    arr = as_array(value, dtype, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name}: shape {arr.shape}, must be [points, dim]")
    return arr


def _problems(a, b, x, y, M, eps, tau):
    """(problem tuples, single-problem flag, dim, dtype) from the user's arguments."""
    batched = isinstance(x if M is None else M, (list, tuple))
    count = len(x if M is None else M) if batched else 1
    if batched and count == 0:
        raise ValueError("problems: empty list, needs at least one problem")
    xs = _listify(x, count, "x") if batched else [x]
    ys = _listify(y, count, "y") if batched else [y]
    Ms = _listify(M, count, "M") if batched else [M]
    as_ = _listify(a, count, "a") if batched else [a]
    bs = _listify(b, count, "b") if batched else [b]
    epss = _listify(eps, count, "eps")
    taus = _listify(tau, count, "tau")
    sample = next((v for v in (Ms[0], xs[0]) if v is not None), None)
    if sample is None:
        raise ValueError("give either points x and y, or a cost matrix M")
    dtype = np.float32 if as_array(sample, None, "x" if M is None else "M").dtype == np.float32 else np.float64
    out, dim = [], 0
    for i in range(count):
        tag = f"[{i}]" if batched else ""
        if Ms[i] is not None:
            if xs[i] is not None or ys[i] is not None:
                raise ValueError(f"M{tag}: give either points x and y, or a cost matrix M, not both")
            cost = as_array(Ms[i], dtype, f"M{tag}")
            if cost.ndim != 2:
                raise ValueError(f"M{tag}: shape {cost.shape}, must be [n, m]")
            n, m = cost.shape
            xi = yi = None
        else:
            if xs[i] is None or ys[i] is None:
                raise ValueError(f"{'x' if xs[i] is None else 'y'}{tag}: missing (points need both x and y)")
            xi, yi = _points(xs[i], dtype, f"x{tag}"), _points(ys[i], dtype, f"y{tag}")
            if xi.shape[1] != yi.shape[1]:
                raise ValueError(f"y{tag}: dimension {yi.shape[1]}, must equal x's, {xi.shape[1]}")
            if dim and xi.shape[1] != dim:
                raise ValueError(f"x{tag}: dimension {xi.shape[1]}, must equal the first problem's, {dim}")
            dim = xi.shape[1]
            n, m = xi.shape[0], yi.shape[0]
            cost = None
        ai = None if as_[i] is None else as_array(as_[i], dtype, f"a{tag}").ravel()
        bi = None if bs[i] is None else as_array(bs[i], dtype, f"b{tag}").ravel()
        out.append((None if xi is None else xi.ravel(), None if yi is None else yi.ravel(),
                    None if cost is None else cost.ravel(), ai, bi, float(epss[i]), float(taus[i]), n, m))
    stored = [p[2] is not None for p in out]
    if any(stored) and not all(stored):
        raise ValueError("M: every problem of a batch needs a cost matrix, or none")
    return out, not batched, dim, dtype, all(stored)


def sinkhorn(a=None, b=None, *, x=None, y=None, M=None, eps: Union[float, Sequence[float]] = 0.1,
             tau: Union[float, Sequence[float]] = float("inf"), cost: str = "sq_euclidean", p: float = 2.0,
             tol: float = 1e-9, max_iter: int = 10000, eps_decay: float = 0.5, eps_start: float = 0.0,
             plan: bool = False, gradient: bool = False, check_every: int = 10,
             backend: Any = None) -> Union[SinkhornResult, List[SinkhornResult]]:
    """Solves entropic OT between weights ``a`` (n) and ``b`` (m); None means uniform.

    The cost is either given as an [n, m] matrix ``M`` or computed from points ``x`` [n, dim] and
    ``y`` [m, dim] (``cost`` = "sq_euclidean" or "p_norm" with exponent ``p``). ``eps`` is the
    entropic regularisation in cost units (POT's ``reg``); ``tau`` < inf gives unbalanced OT with KL
    marginal penalties. The solver anneals eps from the cost scale down by ``eps_decay`` per
    iteration (1 turns annealing off) and stops a problem when its L1 marginal error reaches
    ``tol`` or after ``max_iter`` iterations. float32 input is solved in float, anything else in
    float64. Arrays may be numpy arrays or any DLPack-capable CPU tensor.

    Lists for ``x``, ``y`` (or ``M``), and optionally ``a``, ``b``, ``eps``, ``tau``, solve one
    ragged batch and return a list; each problem's results are bitwise those of solving it alone.
    Returns a SinkhornResult (potentials, cost <P, C>, value, iterations, error, optional plan and
    gradient of the value with respect to x). Ctrl-C stops a long solve within ``check_every``
    iterations (KeyboardInterrupt).
    """
    problems, single_problem, dim, dtype, stored = _problems(a, b, x, y, M, eps, tau)
    if stored:
        cost = "stored"
    solutions = _engram._sinkhorn(problems, dtype == np.float32, cost, float(p), int(dim), float(tol),
                                  int(max_iter), float(eps_decay), float(eps_start), bool(plan), bool(gradient),
                                  int(check_every), backend)
    results = [SinkhornResult(**s) for s in solutions]
    return results[0] if single_problem else results


def sinkhorn_divergence(x, y, a=None, b=None, *, eps: Union[float, Sequence[float]] = 0.1,
                        tau: Union[float, Sequence[float]] = float("inf"), cost: str = "sq_euclidean",
                        p: float = 2.0, tol: float = 1e-9, max_iter: int = 10000, eps_decay: float = 0.5,
                        eps_start: float = 0.0, check_every: int = 10, backend: Any = None):
    """The debiased Sinkhorn divergence S(a, b) = OT(a, b) - OT(a, a)/2 - OT(b, b)/2 between point clouds.

    Convention: OT here is the entropic OT *value* (the dual objective, <P, C> + eps KL(P | a b^T)
    at the optimum), as in Feydy et al. 2019 and GeomLoss; S >= 0 and S = 0 iff the measures are
    equal. POT's ``ot.bregman.empirical_sinkhorn_divergence`` instead combines the transport costs
    <P, C> of the three plans (no entropy term) and clips the result at 0, so the two differ by the
    entropy terms; see docs/ot.md. Lists of point clouds give an array of divergences (one batch).
    """
    problems, single_problem, dim, dtype, stored = _problems(a, b, x, y, None, eps, tau)
    out = _engram._sinkhorn_divergence(problems, dtype == np.float32, cost, float(p), int(dim), float(tol),
                                       int(max_iter), float(eps_decay), float(eps_start), int(check_every), backend)
    return float(out[0]) if single_problem else out
