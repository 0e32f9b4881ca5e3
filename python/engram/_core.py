"""The compiled engine module this CPU runs best (engram/_isa.py chooses; ``$ENGRAM_ISA`` forces).

Everything in the package reaches the C++ engine through ``module``; ``ARCH`` names the build it is.
"""
from __future__ import annotations

import importlib
import os

from ._isa import choose_variant, cpu_flags, package_variants

_variant = choose_variant(package_variants(__package__, os.path.dirname(os.path.abspath(__file__))), cpu_flags(),
                          os.environ.get("ENGRAM_ISA") or None)
module = importlib.import_module(f".{_variant.module}", __package__)
ARCH = _variant.arch
