"""pytest suite for the engram Python module.

Run against a CMake build (PYTHONPATH=build/python) or an installed package (`pip install .`).
The CLI comparison finds the `engram` executable through $ENGRAM_CLI, else build*/tools/engram,
and skips when none exists.
"""
import csv
import gc
import os
import pathlib
import signal
import subprocess

import numpy as np
import pytest

import engram

ROOT = pathlib.Path(__file__).resolve().parents[2]

SMALL = {
    "p": 0.05,
    "areas": [{"name": "A", "n": 1000, "k": 31}],
    "stimuli": [{"name": "stim", "k": 31}],
    "fibers": [{"from": "stim", "to": "A", "beta": 0.1}, {"from": "A", "to": "A", "beta": 0.1}],
}


def find_cli():
    env = os.environ.get("ENGRAM_CLI")
    if env:
        return pathlib.Path(env)
    for build in [os.environ.get("ENGRAM_BUILD_DIR", "build"), "build", "build-py", "build-cpu"]:
        candidate = ROOT / build / "tools" / "engram"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def test_backend():
    assert engram.Backend("cpu").name == "cpu"
    assert engram.Backend("auto").name in ("cpu", "cuda")
    with pytest.raises(ValueError, match="backend"):
        engram.Backend("tpu")


def test_projection_forms_an_assembly():
    brain = engram.Brain(SMALL, brains=2, seed=3, backend="cpu")
    assert len(brain) == 2
    brain.project(25)
    assert brain.steps_taken == 25
    for b in range(2):
        winners = brain.winners("A", b)
        assert winners.dtype == np.uint32 and winners.shape == (31,)
        assert np.all(np.diff(winners.astype(np.int64)) > 0)
        assert brain.overlap("A", b) >= 25
        assert 31 <= brain.support("A", b) <= 1000


def test_brain_is_deterministic_and_accepts_yaml():
    yaml = """
p: 0.05
seed: 9
areas: [{name: A, n: 1000, k: 31}]
stimuli: [{name: stim, k: 31}]
fibers: [{from: stim, to: A, beta: 0.1}, {from: A, to: A, beta: 0.1}]
"""
    a = engram.Brain(yaml, backend="cpu")
    b = engram.Brain(dict(SMALL, seed=9), backend=engram.Backend("cpu"))
    a.project(5)
    b.project(5)
    np.testing.assert_array_equal(a.winners("A"), b.winners("A"))


def test_controls():
    brain = engram.Brain(SMALL, seed=1, backend="cpu")
    brain.inhibit("stim")
    assert brain.inhibited("stim")
    brain.disinhibit("stim")
    brain.project(3)
    brain.fix("A")
    fixed = brain.winners("A")
    brain.project(2)
    np.testing.assert_array_equal(brain.winners("A"), fixed)
    brain.unfix("A")
    brain.set_plasticity(False)
    brain.set_plasticity(True, "stim", "A")
    brain.activate("A", 1)
    np.testing.assert_array_equal(brain.winners("A"), np.arange(31, 62, dtype=np.uint32))
    brain.set_firing("A", [[1, 5, 7]])
    np.testing.assert_array_equal(brain.winners("A"), [1, 5, 7])
    brain.fire_random_subset("A", 2 / 3)
    assert len(brain.winners("A")) == 2


def test_pattern_completion():
    brain = engram.Brain(SMALL, brains=2, seed=5, backend="cpu")
    brain.project_rounds(["stim", "A"], ["A"], 30)
    assembly = [brain.winners("A", b) for b in range(2)]
    brain.complete("A", 0.5, 5)
    for b in range(2):
        recovered = np.intersect1d(assembly[b], brain.winners("A", b)).size
        assert recovered >= 0.8 * 31, recovered


def read_cli_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_run_matches_cli(tmp_path):
    config = dict(SMALL, experiment="project", steps=8, seed=11, brains=3, batch_size=2, backend="cpu")
    result = engram.run(config, as_frame=False)
    assert set(result) == {"brain", "seed", "step", "area", "k", "support", "overlap", "overlap_fraction"}
    assert len(result["step"]) == 3 * 8
    assert result["support"].dtype == np.int64

    cli = find_cli()
    if cli is None:
        pytest.skip("no engram CLI found (set ENGRAM_CLI or build into build/)")
    import json
    config_path = tmp_path / "project.yaml"
    config_path.write_text(json.dumps(config))  # JSON is YAML
    subprocess.run([str(cli), "run", str(config_path), "--backend", "cpu", "--out", str(tmp_path / "out")],
                   check=True, capture_output=True)
    rows = read_cli_csv(tmp_path / "out" / "projection.csv")
    assert len(rows) == len(result["step"])
    for i, row in enumerate(rows):
        for column in ("brain", "seed", "step", "k", "support", "overlap"):
            assert int(row[column]) == int(result[column][i]), (i, column)
        assert row["area"] == result["area"][i]
        assert float(row["overlap_fraction"]) == pytest.approx(result["overlap_fraction"][i], rel=1e-5)

    # The same run from the YAML path.
    again = engram.run(str(config_path), as_frame=False)
    np.testing.assert_array_equal(again["overlap"], result["overlap"])


def run_cli(tmp_path, config_path, out):
    cli = find_cli()
    if cli is None:
        pytest.skip("no engram CLI found (set ENGRAM_CLI or build into build/)")
    subprocess.run([str(cli), "run", str(config_path), "--backend", "cpu", "--out", str(tmp_path / out)],
                   check=True, capture_output=True)
    return tmp_path / out


def test_pattern_completion_matches_cli(tmp_path):
    config = ROOT / "examples" / "pattern_completion.yaml"
    metrics = engram.run(config, backend="cpu", as_frame=False)
    out = run_cli(tmp_path, config, "completion")
    rows = read_cli_csv(out / "metrics.csv")
    assert len(rows) == len(metrics["value"]) > 0
    recovered = [i for i, m in enumerate(metrics["metric"]) if m == "overlap" and metrics["op_kind"][i] == "compare"]
    assert recovered, "the example compares the completed assembly with the recorded one"
    for i, row in enumerate(rows):
        for column in ("brain", "seed", "step", "op"):
            assert int(row[column]) == int(metrics[column][i]), (i, column)
        for column in ("op_kind", "area", "metric"):
            assert row[column] == metrics[column][i], (i, column)
        assert float(row["value"]) == metrics["value"][i], i


SWEEP_100 = """
experiment: project
seed: 21
steps: 6
p: 0.05
backend: cpu
areas: [{name: A, n: 600, k: 24}]
stimuli: [{name: s, k: 24}]
fibers: [{from: s, to: A, beta: 0.05}, {from: A, to: A, beta: 0.05}]
sweep:
  seeds: 4
  grid:
    p: [0.03, 0.05, 0.07, 0.09, 0.11]
  zip:
    fibers[0].beta: {start: 0.0, stop: 0.2, num: 5}
    fibers[1].beta: [0.0, 0.05, 0.1, 0.15, 0.2]
"""


def test_sweep_of_100_jobs_matches_cli(tmp_path):
    config_path = tmp_path / "sweep.yaml"
    config_path.write_text(SWEEP_100)
    seen = []
    result = engram.run(str(config_path), as_frame=False, max_batch=7, progress=lambda d, t: seen.append((d, t)))
    assert len(result["id"]) == 100
    assert seen[-1] == (100, 100)
    out = run_cli(tmp_path, config_path, "sweep")
    rows = {row["id"]: row for row in read_cli_csv(out / "results.csv")}
    assert len(rows) == 100
    columns = [c for c in result if c != "id"]
    assert set(columns) | {"id"} == set(next(iter(rows.values())))
    for i, job in enumerate(result["id"]):
        row = rows[job]
        for column in columns:
            assert str(row[column]) == str(result[column][i]) or float(row[column]) == float(result[column][i]), \
                (job, column)
    # Packing does not change a job's row.
    again = engram.run(str(config_path), as_frame=False, max_batch=100)
    np.testing.assert_array_equal(again["A.support"], result["A.support"])


def test_views_alias_engine_memory():
    config = dict(SMALL, mode="explicit")
    brain = engram.Brain(config, brains=2, seed=7, backend="cpu")
    twin = engram.Brain(config, brains=2, seed=7, backend="cpu")
    graph = brain.graph("stim", "A")
    assert graph["weights"].flags.writeable and graph["weights"].dtype == np.float32
    for name in ("row_start", "row_degree", "targets"):
        assert not graph[name].flags.writeable, name
    with pytest.raises(ValueError):
        graph["targets"][0] = 1
    brain.project(1)
    twin.project(1)
    twin.project(1)
    usual = twin.winners("A", 1)
    # A neuron of brain 1 that the stimulus reaches but that would not win: make its stimulus
    # synapses strong through the view, and the engine must pick it.
    starts, degrees, targets, weights = graph["row_start"], graph["row_degree"], graph["targets"], graph["weights"]
    reached = {}
    for source in range(31):
        begin = int(starts[1, source])
        for e in range(begin, begin + int(degrees[1, source])):
            reached.setdefault(int(targets[e]), []).append(e)
    chosen = next(t for t in sorted(reached) if t not in set(usual.tolist()))
    weights[reached[chosen]] = 1000.0
    brain.project(1)
    assert chosen in brain.winners("A", 1)
    np.testing.assert_array_equal(brain.winners("A", 0), twin.winners("A", 0))  # brain 0 untouched
    inputs = brain.inputs("A")
    assert inputs.shape == (2, 1000) and not inputs.flags.writeable
    assert inputs[1, chosen] >= 1000 * 2**32
    snapshot = inputs.copy()
    brain.project(1)
    assert not np.array_equal(snapshot, inputs)  # the same array shows the newest step
    # Views keep the brain alive.
    del brain
    gc.collect()
    assert np.isfinite(weights.sum())
    with pytest.raises(ValueError, match="mode"):
        engram.Brain(SMALL, backend="cpu").graph("stim", "A")


def test_progress_callback_and_interrupt(ctrl_c):
    config = dict(SMALL, steps=40, brains=2, backend="cpu")
    seen = []
    engram.run(dict(config, steps=5), progress=lambda d, t: seen.append((d, t)), as_frame=False)
    assert seen[-1] == (10, 10) and all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    calls = []

    def interrupt(done, total):
        calls.append(done)
        if done >= 3:
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C does

    with pytest.raises(KeyboardInterrupt):
        engram.run(config, progress=interrupt)
    assert max(calls) < 80, "the run stopped soon after the interrupt"

    class Stop(Exception):
        pass

    def fail(done, total):
        raise Stop()

    with pytest.raises(Stop):
        engram.run(config, progress=fail)
    assert len(engram.run(dict(config, steps=2), as_frame=False)["step"]) == 4  # still usable


def test_experiments_lists_every_kind():
    kinds = engram.experiments()
    assert {"project", "script"} <= set(kinds)


def test_run_dataframe_when_pandas():
    pd = pytest.importorskip("pandas")
    frame = engram.run(dict(SMALL, steps=2), backend="cpu")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["step"]) == [1, 2]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"p": 2}, "p"),
        ({"areas": [{"name": "A", "n": 10, "k": 20}]}, "k"),
        ({"fibers": [{"from": "nope", "to": "A", "beta": 0.1}]}, "from"),
        ({"colour": "red"}, "colour"),
        ({"mode": "psychic"}, "mode"),
    ],
)
def test_bad_input_raises_value_error_naming_the_field(change, field):
    with pytest.raises(ValueError, match=field):
        engram.Brain(dict(SMALL, **change), backend="cpu")
    with pytest.raises(ValueError, match=field):
        engram.run(dict(SMALL, steps=1, **change), backend="cpu")


def test_bad_arguments():
    brain = engram.Brain(SMALL, backend="cpu")
    with pytest.raises(ValueError, match="area"):
        brain.winners("Z")
    with pytest.raises(ValueError, match="brain"):
        brain.winners("A", 1)
    with pytest.raises(ValueError, match="steps"):
        brain.project(-1)
    with pytest.raises(ValueError, match="experiment"):
        engram.run(dict(SMALL, experiment="telepathy"))
    with pytest.raises(ValueError, match="config"):
        engram.Brain(42)


def resident_pages():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1])


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm (Linux)")
def test_create_destroy_10000_brains_does_not_leak():
    tiny = {"p": 0.1, "areas": [{"name": "A", "n": 200, "k": 10}], "stimuli": [{"name": "s", "k": 10}],
            "fibers": [{"from": "s", "to": "A", "beta": 0.1}]}
    backend = engram.Backend("cpu")

    def cycle(count):
        for i in range(count):
            brain = engram.Brain(tiny, seed=i, backend=backend)
            brain.project(1)
            brain.winners("A")
            del brain

    cycle(1000)
    gc.collect()
    baseline = resident_pages()
    cycle(9000)
    gc.collect()
    grown = resident_pages()
    assert grown <= baseline * 1.10, (baseline, grown)


def test_docs_snippets_run(monkeypatch):
    """Every ```python block of docs/python.md runs (from the repository root)."""
    import re
    text = (ROOT / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    monkeypatch.chdir(ROOT)
    for block in blocks:
        exec(compile(block, "docs/python.md", "exec"), {})


SWEEP_RESUME = """
experiment: project
seed: 5
steps: 8
p: 0.02
backend: cpu
areas: [{name: A, n: 6000, k: 70}]
stimuli: [{name: s, k: 70}]
fibers: [{from: s, to: A, beta: 0.05}, {from: A, to: A, beta: 0.05}]
sweep:
  seeds: 6
  grid:
    p: [0.01, 0.02]
  zip:
    fibers[0].beta: [0.05, 0.1]
    fibers[1].beta: [0.05, 0.1]
"""


def sorted_lines(path):
    with open(path) as f:
        text = f.read()
    return sorted(text[: text.rfind("\n") + 1].splitlines())


def test_sweep_killed_in_python_resumes_with_identical_rows(tmp_path):
    """A Python process running a sweep into out= is SIGKILLed part-way; resume=True finishes it."""
    import sys
    import time

    config = tmp_path / "sweep.yaml"
    config.write_text(SWEEP_RESUME)
    reference, summary = engram.run(str(config), out=tmp_path / "ref", max_batch=1, as_frame=False,
                                    return_summary=True)
    expected = sorted_lines(tmp_path / "ref" / "results.csv")
    assert len(expected) == 25 and len(reference["id"]) == 24
    assert "24 done" not in summary[0] and "0 done, 24 to run" in summary[0], summary
    assert any("results.csv" in line for line in summary), summary

    script = ("import sys, engram\n"
              "engram.run(sys.argv[1], out=sys.argv[2], max_batch=1, progress=None)\n")
    partial = 0
    for attempt in range(6):
        out = tmp_path / f"killed{attempt}"
        results = out / "results.csv"
        child = subprocess.Popen([sys.executable, "-c", script, str(config), str(out)], env=dict(os.environ))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if results.exists() and results.read_text().count("\n") >= 2 + attempt:
                break
            time.sleep(0.001)
        child.send_signal(signal.SIGKILL)
        child.wait()
        lines = results.read_text().count("\n") if results.exists() else 0
        partial += 1 < lines < len(expected)
        resumed = engram.run(str(config), out=out, resume=True, max_batch=1, as_frame=False)
        assert sorted_lines(results) == expected, attempt
        assert list(resumed["id"]) == list(reference["id"])
        np.testing.assert_array_equal(resumed["A.support"], reference["A.support"])
        if partial:
            break
    assert partial >= 1, "no kill landed part-way through the sweep"

    # Without resume, a directory holding this sweep's rows is refused, naming the option.
    with pytest.raises(ValueError, match="resume"):
        engram.run(str(config), out=tmp_path / "ref")


def test_sweep_shards_and_workers_from_python(tmp_path):
    config = tmp_path / "sweep.yaml"
    config.write_text(SWEEP_RESUME)
    whole = engram.run(str(config), as_frame=False)
    ids = []
    for i in range(3):
        part = engram.run(str(config), out=tmp_path / "shards", shard=(i, 3), workers=2, as_frame=False)
        assert (tmp_path / "shards" / f"results.shard-{i}-of-3.csv").exists()
        ids += list(part["id"])
    assert sorted(ids) == sorted(whole["id"])
    in_memory = engram.run(str(config), shard="1/3", workers=3, max_batch=2, as_frame=False)
    index = {job: k for k, job in enumerate(whole["id"])}
    for k, job in enumerate(in_memory["id"]):
        assert in_memory["A.overlap"][k] == whole["A.overlap"][index[job]]
    with pytest.raises(ValueError, match="shard"):
        engram.run(str(config), shard="3/3")
