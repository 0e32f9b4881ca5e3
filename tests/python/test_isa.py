"""The import-time choice of engine build (engram/_isa.py) against what the builds recorded
(_build_info*.py)."""
import pytest

import engram
from engram import _build_info, _core, _isa

V3 = _isa.Variant("_engram", "x86-64-v3", ("avx", "avx2", "bmi2", "f16c", "fma"))
V4 = _isa.Variant("_engram_v4", "x86-64-v4", V3.cpu_features + ("avx512f", "avx512bw"))
BASE = _isa.Variant("_engram_baseline", "baseline", ())


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


def test_the_fastest_build_the_cpu_runs_is_chosen():
    avx2_cpu = {"sse2", "avx", "avx2", "bmi2", "f16c", "fma"}
    assert _isa.choose_variant([BASE, V3, V4], avx2_cpu, None) is V3
    assert _isa.choose_variant([BASE, V3, V4], avx2_cpu | {"avx512f", "avx512bw"}, None) is V4
    assert _isa.choose_variant([V3, BASE], {"sse2", "sse4_2"}, None) is BASE
    # Unknown features (no /proc/cpuinfo): the most demanding build, as a plain build would load.
    assert _isa.choose_variant([BASE, V3], None, None) is V3


def test_no_fitting_build_names_the_missing_features():
    with pytest.raises(ImportError, match=r"-march=x86-64-v3.*avx2, bmi2, f16c, fma"):
        _isa.choose_variant([V3, V4], {"sse2", "avx"}, None)
    with pytest.raises(ImportError, match="no compiled module"):
        _isa.choose_variant([], {"sse2"}, None)


def test_engram_isa_forces_a_build_or_fails():
    full = {"avx", "avx2", "bmi2", "f16c", "fma", "avx512f", "avx512bw"}
    assert _isa.choose_variant([BASE, V3, V4], full, "baseline") is BASE
    with pytest.raises(ImportError, match=r"ENGRAM_ISA='x86-64-v2' names no build.*baseline, x86-64-v3"):
        _isa.choose_variant([BASE, V3], full, "x86-64-v2")
    with pytest.raises(ImportError, match=r"-march=x86-64-v4.*avx512bw, avx512f"):
        _isa.choose_variant([BASE, V4], {"avx2"}, "x86-64-v4")


def test_the_loaded_build_is_the_recorded_one():
    assert engram.build_arch == _core.ARCH
    assert _core.module.__name__.endswith(_core._variant.module)
    assert engram.Brain is _core.module.Brain
    assert any(v.arch == engram.build_arch for v in
               _isa.package_variants("engram", __import__("os").path.dirname(engram.__file__)))
