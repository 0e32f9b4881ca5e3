"""engram: batched Assembly Calculus brain simulation on CPU and CUDA.

    import engram
    brain = engram.Brain({"p": 0.05, "areas": [{"name": "A", "n": 1000, "k": 31}],
                          "stimuli": [{"name": "s", "k": 31}],
                          "fibers": [{"from": "s", "to": "A", "beta": 0.1},
                                     {"from": "A", "to": "A", "beta": 0.1}]}, seed=1)
    brain.project(10)
    brain.winners("A")          # numpy uint32 array
    engram.run("examples/project.yaml")   # DataFrame (pandas) or dict of numpy columns

Engine errors arrive as ValueError (bad input; the message names the field) or RuntimeError.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Union

import numpy as np

from ._engram import Backend, Brain, _run_columns

__all__ = ["Backend", "Brain", "run", "__version__"]
__version__ = "0.1.0"


def run(config: Union[Mapping[str, Any], str, "os.PathLike[str]"],
        backend: Union[Backend, str, None] = None,
        as_frame: Optional[bool] = None):
    """Runs a projection experiment (``experiment: project``) given as a dict, YAML text or a path.

    Returns the records the CLI writes to projection.csv (brain, seed, step, area, k, support,
    overlap, overlap_fraction): a pandas DataFrame when pandas is importable (or as_frame=True),
    else a dict of numpy arrays (as_frame=False forces the dict). The GIL is released while the
    engine runs.
    """
    if isinstance(config, Mapping):
        config = dict(config)
    columns: Dict[str, Any] = _run_columns(config, backend)
    columns["area"] = np.asarray(columns["area"], dtype=str)
    if as_frame is False:
        return columns
    try:
        import pandas as pd
    except ImportError:
        if as_frame:
            raise
        return columns
    return pd.DataFrame(columns)
