"""Chooses, among the engine builds in the package, one this CPU can run, or refuses with a message.

A binary built with -march=x86-64-v3 or -march=native executes AVX2/FMA (or AVX-512) instructions
from its first call, so on an older CPU ``import`` would die on SIGILL with no word of why. Each
build records the features its -march level assumes (python/CMakeLists.txt writes
``_build_info*.py`` beside the module); this compares them with the CPU's. The portable wheel
(scripts/build-wheel.sh) carries an x86-64-v3 build and a baseline one, so it runs everywhere and
fast where it can: dispatch per module at import, not per function, because the whole engine
(Eigen's GEMM included) gains from the wider vectors.
"""
from __future__ import annotations

import importlib
import os
from typing import Iterable, List, Optional, Sequence, Set


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


class Variant:
    """One compiled build of the engine in the package: its module name, -march level and the
    CPU features that level assumes (read from its ``_build_info*.py``)."""

    def __init__(self, module: str, arch: str, cpu_features: Iterable[str]) -> None:
        self.module = module
        self.arch = arch
        self.cpu_features = tuple(cpu_features)

    def __repr__(self) -> str:
        return f"Variant({self.module!r}, {self.arch!r}, {self.cpu_features!r})"


def choose_variant(variants: Sequence[Variant], available: Optional[Set[str]], forced: Optional[str]) -> Variant:
    """The build to load: the one assuming the most CPU features that this CPU has all of.

    ``forced`` (``$ENGRAM_ISA``) names a build's arch and takes it or fails: it lets a user compare
    builds, or rule out a faster one. Raises ImportError naming what is missing when none fits.
    """
    if not variants:
        raise ImportError("engram's package holds no compiled module (no _build_info*.py): reinstall it")
    if forced:
        chosen = [v for v in variants if v.arch == forced]
        if not chosen:
            raise ImportError(f"ENGRAM_ISA={forced!r} names no build in this package; it holds "
                              f"{', '.join(sorted(v.arch for v in variants))}")
        check_cpu_features(chosen[0].arch, chosen[0].cpu_features, available)
        return chosen[0]
    # Most features first; equal counts keep the package's order (sorted is stable).
    ranked = sorted(variants, key=lambda v: -len(v.cpu_features))
    for variant in ranked:
        if available is None or set(variant.cpu_features) <= available:
            return variant
    # None fits: report the least demanding build's missing features.
    check_cpu_features(ranked[-1].arch, ranked[-1].cpu_features, available)
    raise AssertionError("unreachable: check_cpu_features raised")


def package_variants(package: str, folder: str) -> List[Variant]:
    """The builds recorded in ``folder`` (the package's directory), in file-name order."""
    variants = []
    for name in sorted(os.listdir(folder)):
        if name.startswith("_build_info") and name.endswith(".py"):
            info = importlib.import_module(f".{name[:-3]}", package)
            variants.append(Variant(info.MODULE, info.ARCH, info.CPU_FEATURES))
    return variants
