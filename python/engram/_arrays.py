"""How engram's array functions read their inputs: numpy arrays, nested lists, and any CPU tensor
that speaks DLPack (torch, JAX, CuPy's host arrays) through ``np.from_dlpack`` without a copy."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np


def as_array(value: Any, dtype: Optional[Any], name: str) -> np.ndarray:
    """A C-contiguous numpy array of ``value`` (of ``dtype`` when given); errors name ``name``."""
    if value is None:
        raise ValueError(f"{name}: missing")
    if not isinstance(value, np.ndarray) and hasattr(value, "__dlpack__"):
        try:
            value = np.from_dlpack(value)
        except (TypeError, RuntimeError, BufferError, ValueError) as e:
            raise ValueError(f"{name}: cannot read this tensor through DLPack ({e}); "
                             "move it to the CPU (and detach it) first") from None
    try:
        arr = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: not a numeric array ({e})") from None
    if dtype is None and not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{name}: dtype {arr.dtype} is not numeric")
    return np.ascontiguousarray(arr)
