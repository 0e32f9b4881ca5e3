"""engram: batched Assembly Calculus brain simulation on CPU and CUDA.

    import engram
    brain = engram.Brain({"p": 0.05, "areas": [{"name": "A", "n": 1000, "k": 31}],
                          "stimuli": [{"name": "s", "k": 31}],
                          "fibers": [{"from": "s", "to": "A", "beta": 0.1},
                                     {"from": "A", "to": "A", "beta": 0.1}]}, seed=1)
    brain.project(10)
    brain.winners("A")          # numpy uint32 array
    engram.run("examples/project.yaml")   # DataFrame (pandas) or dict of numpy columns
    engram.run("examples/sweep.yaml")     # a sweep: one row per job, as results.csv
    engram.run("examples/sweep.yaml", out="runs/a", resume=True, shard=(0, 4), workers=2)
    brain.graph("s", "A")["weights"]      # zero-copy, writable view of a fiber's weights

Arrays in, arrays out (numpy, or any CPU tensor through DLPack):

    engram.ot.sinkhorn(a, b, x=x, y=y, eps=0.01, plan=True, gradient=True)   # see engram.ot
    engram.nn.attention(q, k, v, causal=True)                                # see engram.nn
    engram.kcap(inputs, k)                                                    # batched top-k

Engine errors arrive as ValueError (bad input; the message names the field) or RuntimeError.
``engram.build_arch`` names the compiled build in use: the portable wheel carries an x86-64-v3 and a
baseline build and loads the faster one this CPU runs; ``ENGRAM_ISA=baseline`` forces the other.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from ._core import ARCH as build_arch, module as _engram
from . import nn, ot
from ._arrays import as_array

Backend = _engram.Backend
Brain = _engram.Brain
__version__: str = _engram.__version__
_experiments = _engram._experiments
_kcap = _engram._kcap
_progress_unit = _engram._progress_unit
_run = _engram._run
_set_data_dir = _engram._set_data_dir

__all__ = ["Backend", "Brain", "run", "experiments", "kcap", "ot", "nn", "__version__", "build_arch"]

# The bundled data (digits, reach recording) ships inside the package; $ENGRAM_DATA_DIR still wins.
_set_data_dir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))


def experiments() -> Dict[str, str]:
    """The experiment kinds ``run`` accepts (``experiment:`` values) and what each computes."""
    return dict(_experiments())


def kcap(inputs, k: int, backend: Union[Backend, str, None] = None) -> np.ndarray:
    """The k largest entries of each row of ``inputs`` ([batch, n] or [n]), as brains cap areas.

    Returns their indices, [batch, k] (or [k]) uint32 in increasing index order. Ties are exact:
    equal values rank by the lower index, so the selection is unique. Integer input is compared
    as is (int64); float input through an order-preserving map to int64 that keeps every
    distinct value distinct (so no rounding creates or breaks a tie). NaN is refused.
    """
    arr = as_array(inputs, None, "inputs")
    if arr.ndim not in (1, 2):
        raise ValueError(f"inputs: shape {arr.shape}, must be [batch, n] or [n]")
    rows = arr.reshape(1, -1) if arr.ndim == 1 else arr
    if np.issubdtype(rows.dtype, np.floating):
        values = rows.astype(np.float64) + 0.0  # -0.0 ties with 0.0
        if np.isnan(values).any():
            raise ValueError(f"inputs: NaN at {tuple(int(i) for i in np.argwhere(np.isnan(values))[0])}")
        bits = values.view(np.int64)
        keys = np.where(bits < 0, bits ^ np.int64(0x7FFFFFFFFFFFFFFF), bits)
    elif np.issubdtype(rows.dtype, np.integer) or rows.dtype == np.bool_:
        if rows.dtype == np.uint64 and rows.size and rows.max() > np.iinfo(np.int64).max:
            raise ValueError("inputs: uint64 values above 2**63 - 1 are not supported")
        keys = rows.astype(np.int64)
    else:
        raise ValueError(f"inputs: dtype {rows.dtype} is not numeric")
    winners = _kcap(np.ascontiguousarray(keys), int(k), backend)
    return winners[0] if arr.ndim == 1 else winners


def _progress_callback(progress, unit: str = "step"):
    """A (done, total) callable, a tqdm bar counting ``unit``, or None; returns (callback, bar to close)."""
    if progress is None or progress is False:
        return None, None
    if callable(progress):
        return progress, None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress is True:
            raise ImportError("progress=True needs tqdm (pip install tqdm); pass a callable instead") from None
        return None, None
    bar = tqdm(total=0, unit=unit, leave=False)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar


def _frame(columns: Dict[str, Any], as_frame: Optional[bool]):
    for name, values in columns.items():
        if isinstance(values, list):
            columns[name] = np.asarray(values, dtype=str)
    if as_frame is False:
        return columns
    try:
        import pandas as pd
    except ImportError:
        if as_frame:
            raise
        return columns
    return pd.DataFrame(columns)


def run(config: Union[Mapping[str, Any], str, "os.PathLike[str]"],
        backend: Union[Backend, str, None] = None,
        as_frame: Optional[bool] = None,
        progress: Union[bool, Callable[[int, int], Any], None] = "auto",
        max_batch: int = 256,
        memory_budget: int = 0,
        out: Union[str, "os.PathLike[str]", None] = None,
        resume: bool = False,
        force: bool = False,
        shard: Union[str, Tuple[int, int], None] = None,
        workers: int = 1,
        trace: bool = False,
        return_summary: bool = False):
    """Runs any experiment engram knows (``experiment:``; see ``experiments()``), or a sweep of one.

    ``config`` is a dict, YAML text or a path, exactly what ``engram run`` reads. Returns the
    tables the CLI writes as CSV: a pandas DataFrame when pandas is importable (or as_frame=True),
    else a dict of numpy arrays (as_frame=False forces dicts). One table comes back as itself;
    several as a dict {name: table}. A sweep returns its results table (one row per job, as
    results.csv), packed into batches of at most ``max_batch`` jobs and run by ``workers`` batches
    at once (each on its own backend).

    ``out`` writes what ``engram run --out`` writes, through the same scheduler: a run's tables as
    <name>.csv, a sweep's rows appended and fsync'd to results.csv as batches finish, with a
    manifest. A sweep killed part-way finishes with ``resume=True`` (the rows on disk are kept and
    only the missing jobs run); ``force=True`` discards rows of another config. ``shard=(i, N)``
    (or "i/N") runs every N-th job from i into results.shard-i-of-N.csv; ``engram merge`` joins
    the shards. With ``out`` a sweep returns the rows of its results file.
    ``return_summary=True`` returns (result, summary lines), the lines the CLI prints.

    ``progress`` is a callable (done, total), True for a tqdm bar (``tqdm.auto``: a widget in
    Jupyter), or "auto" (a bar when tqdm is installed and stderr is a terminal or this is a Jupyter
    kernel). The bar counts jobs for a sweep and steps otherwise, like the CLI's. The GIL is released while the engine runs;
    Ctrl-C (or an exception raised by the progress callback) stops the run at the engine's next
    check and is re-raised here.
    """
    if isinstance(config, Mapping):
        config = dict(config)
    if progress == "auto":
        progress = True if _interactive() and _has_tqdm() else None
    callback, bar = _progress_callback(progress, _progress_unit(config) if progress is True else "step")
    if isinstance(shard, tuple):
        shard = f"{shard[0]}/{shard[1]}"
    if out is not None:
        out = os.fspath(out)
    try:
        tables, summary = _run(config, backend, callback, max_batch, memory_budget, out, resume, force, shard,
                               workers, trace)
    finally:
        if bar is not None:
            bar.close()
    frames = {name: _frame(columns, as_frame) for name, columns in tables}
    result = next(iter(frames.values())) if len(frames) == 1 else frames
    return (result, list(summary)) if return_summary else result


def _interactive() -> bool:
    """A terminal, or a Jupyter kernel (whose stderr is no terminal but shows tqdm.auto's widget)."""
    return sys.stderr.isatty() or "ipykernel" in sys.modules


def _has_tqdm() -> bool:
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True
