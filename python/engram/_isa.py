"""Refuses, with a message, to load a module compiled for CPU features this machine lacks.

A binary built with -march=x86-64-v3 (the wheel from scripts/build-wheel.sh) or -march=native
executes AVX2/FMA (or AVX-512) instructions from its first call, so on an older CPU ``import``
would die on SIGILL with no word of why. The build records the features its -march level
assumes (python/CMakeLists.txt writes ``_build_info.py``); this compares them with the CPU's.
"""
from __future__ import annotations

from typing import Iterable, Optional, Set


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> Optional[Set[str]]:
    """The CPU's feature flags as the kernel lists them, or None where there is no /proc/cpuinfo."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def check_cpu_features(arch: str, required: Iterable[str], available: Optional[Set[str]]) -> None:
    """Raise ImportError when ``available`` (None: unknown, not checked) lacks a required feature."""
    if available is None:
        return
    missing = sorted(set(required) - available)
    if missing:
        raise ImportError(
            f"engram was compiled for -march={arch}, which needs the CPU features {', '.join(missing)} "
            "that this CPU lacks; build it here instead (pip install . compiles for this machine) or "
            "build with ENGRAM_ARCH=baseline (docs/python.md)")
