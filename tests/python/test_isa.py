"""The import-time CPU check (engram/_isa.py) against what the build recorded (_build_info.py)."""
import pytest

import engram
from engram import _build_info, _isa


def test_missing_features_are_named():
    with pytest.raises(ImportError, match=r"-march=x86-64-v4.*avx512bw, avx512f"):
        _isa.check_cpu_features("x86-64-v4", ("avx2", "avx512f", "avx512bw"), {"avx2", "fma"})


def test_present_or_unknown_features_pass():
    _isa.check_cpu_features("x86-64-v3", ("avx2", "fma"), {"avx2", "fma", "sse4_2"})
    _isa.check_cpu_features("x86-64-v3", ("avx2", "fma"), None)


def test_cpuinfo_flags_are_read(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\nbogomips\t: 1\n")
    assert _isa.cpu_flags(str(info)) == {"fpu", "sse2", "avx2", "fma"}
    assert _isa.cpu_flags(str(tmp_path / "absent")) is None


def test_recorded_features_match_the_build_arch():
    flags = _isa.cpu_flags()
    if flags is None:
        pytest.skip("no /proc/cpuinfo on this system")
    # The module imported, so this CPU has every feature the build assumed.
    assert set(_build_info.CPU_FEATURES) <= flags, (_build_info.ARCH, _build_info.CPU_FEATURES)
    if _build_info.ARCH == "baseline":
        assert _build_info.CPU_FEATURES == ()
    elif _build_info.ARCH == "native" and "avx2" in flags:
        # -march=native on an AVX2 machine must have recorded it: the macro parsing works.
        assert {"avx", "avx2", "fma"} <= set(_build_info.CPU_FEATURES), _build_info.CPU_FEATURES
    assert engram.__version__
