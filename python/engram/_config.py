"""Config dicts from Python: numpy scalars and arrays (and tuples, paths) become the plain JSON
values the engine's YAML reader takes; anything else is refused naming the field."""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np


def _plain(value: Any, path: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        if not (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_ or value.dtype.kind in "US"):
            raise ValueError(f"{path}: numpy array of dtype {value.dtype} is not a config value")
        return _plain(value.tolist(), path)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: key {key!r} is a {type(key).__name__}, keys must be str")
            out[key] = _plain(item, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if hasattr(value, "__dlpack__") or hasattr(value, "__array__"):
        return _plain(np.asarray(value), path)
    raise ValueError(f"{path or 'config'}: value {value!r} of type {type(value).__name__} is not a config value "
                     "(use numbers, strings, lists, dicts or numpy arrays)")


def to_json(config: Any) -> str:
    """JSON text of a config mapping; errors name the offending field (``areas[0].n``)."""
    return json.dumps(_plain(dict(config), ""), allow_nan=True)
