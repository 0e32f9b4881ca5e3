"""engram as a library: configs from Python with numpy values, the version, Brain's repr,
the bundled data found at run time, and the CLI's --version and no-output notice."""
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import engram

ROOT = pathlib.Path(__file__).resolve().parents[2]


def find_cli():
    env = os.environ.get("ENGRAM_CLI")
    if env:
        return pathlib.Path(env).resolve()
    for build in [os.environ.get("ENGRAM_BUILD_DIR", "build"), "build"]:
        candidate = ROOT / build / "tools" / "engram"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def test_config_dict_with_numpy_values_runs_and_errors_name_the_field():
    config = {"experiment": "project", "steps": np.int64(3), "p": np.float64(0.05), "seed": np.uint32(2),
              "areas": [{"name": "A", "n": np.int64(1000), "k": np.int32(31)}],
              "stimuli": [{"name": "stim", "k": np.int64(31)}],
              "fibers": [{"from": "stim", "to": "A", "beta": np.float32(0.1)},
                         {"from": "A", "to": "A", "beta": 0.1}]}
    plain = {"experiment": "project", "steps": 3, "p": 0.05, "seed": 2,
             "areas": [{"name": "A", "n": 1000, "k": 31}], "stimuli": [{"name": "stim", "k": 31}],
             "fibers": [{"from": "stim", "to": "A", "beta": float(np.float32(0.1))},
                        {"from": "A", "to": "A", "beta": 0.1}]}
    got, want = engram.run(config, as_frame=False), engram.run(plain, as_frame=False)
    assert all(np.array_equal(got[c], want[c]) for c in want)
    points = {"experiment": "sinkhorn", "eps": np.float64(0.1),
              "points": {"x": np.random.default_rng(0).random((5, 2)), "y": np.arange(6.0).reshape(3, 2) / 6}}
    assert engram.run(points, as_frame=False)["converged"].tolist() == [1]
    with pytest.raises(ValueError, match=r"areas\[0\]\.n"):
        engram.run(dict(config, areas=[{"name": "A", "n": object(), "k": 31}]))
    brain = engram.Brain(config, seed=np.int64(1))
    brain.project(2)
    assert len(brain.winners("A")) == 31


def test_version_has_one_source():
    cmake = (ROOT / "CMakeLists.txt").read_text()
    import re
    declared = re.search(r"project\(engram VERSION ([0-9.]+)", cmake).group(1)
    assert engram.__version__ == declared
    assert 'version = "' not in (ROOT / "pyproject.toml").read_text().split("[tool.")[0]
    cli = find_cli()
    if cli is not None:
        out = subprocess.run([str(cli), "--version"], capture_output=True, text=True, check=True).stdout
        assert out.strip() == f"engram {declared}"


def test_cli_run_without_out_says_nothing_is_written(tmp_path):
    cli = find_cli()
    if cli is None:
        pytest.skip("no engram CLI built")
    config = tmp_path / "p.yaml"
    config.write_text("experiment: project\nsteps: 2\np: 0.05\nareas: [{name: A, n: 500, k: 20}]\n"
                      "stimuli: [{name: s, k: 20}]\nfibers: [{from: s, to: A, beta: 0.1}]\n")
    out = subprocess.run([str(cli), "run", str(config)], capture_output=True, text=True, check=True,
                         cwd=tmp_path).stdout
    assert "no files written" in out and "--out" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]
    out = subprocess.run([str(cli), "run", str(config), "--out", str(tmp_path / "o")], capture_output=True,
                         text=True, check=True).stdout
    assert f"results written to {tmp_path / 'o'}" in out


def test_brain_repr_names_its_shape():
    brain = engram.Brain({"p": 0.05, "areas": [{"name": "A", "n": 1000, "k": 31}],
                          "stimuli": [{"name": "s", "k": 31}],
                          "fibers": [{"from": "s", "to": "A", "beta": 0.1}]}, brains=2)
    brain.project(3)
    text = repr(brain)
    for part in ("engram.Brain(2 brains", "A(n=1000, k=31)", "s(k=31)", "s->A", "steps_taken=3", "p=0.05"):
        assert part in text, (part, text)


def test_bundled_data_is_found_without_a_compiled_path(tmp_path, monkeypatch):
    """A digits run works from any folder; a wrong ENGRAM_DATA_DIR is reported by name."""
    config = {"experiment": "plasticity_meta", "seed": 1, "backend": "cpu",
              "network": {"neurons": 20, "cap": 10, "rounds": 1, "p": 0.5},
              "rule": {"eta": 0.1, "mode": "additive", "updates": "misclassified", "init": "zeros"},
              "meta": {"method": "exact", "steps": 1, "batch": 10, "problems_per_step": 1, "lr": 0.05,
                       "learn": ["output"]},
              "data": {"kind": "halfspace", "inputs": 10, "train_examples": 40, "test_examples": 40},
              "evaluate": {"epochs": 1, "transfer": [{"kind": "digits"}]},
              "baseline": {"epochs": 1, "lr": 0.01, "batch": 10}}
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGRAM_DATA_DIR", raising=False)
    assert "digits" in repr(engram.run(config, as_frame=False))
    monkeypatch.setenv("ENGRAM_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="ENGRAM_DATA_DIR"):
        engram.run(config, as_frame=False)


def spiking_task(seed, trials=96, time=6, neurons=8):
    """Poisson counts whose label is the population's rate, 1 or 2 spikes per bin (the model has no
    neuron identity: it sees a set of neurons)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, trials).astype(np.int32)
    rates = np.broadcast_to((1.0 + labels)[:, None, None], (trials, time, neurons))
    return rng.poisson(rates).astype(np.float32), labels


def test_transformer_fit_predict_evaluate_save_load(tmp_path):
    counts, labels = spiking_task(1)
    kw = dict(neurons=8, outputs=2, width=16, heads=2, head_dim=16, ff_hidden=32, individual_layers=1, population_layers=1,
              dropout=0.0, seed=3)
    model = engram.nn.Transformer(**kw)
    report = model.fit(counts[:64], labels[:64], steps=120, batch=16, lr=3e-3)
    losses = report["losses"]
    assert len(losses) == 120 and losses[-20:].mean() < 0.5 * losses[:20].mean()
    logits = model.predict(counts[64:])
    assert logits.shape == (32, 2) and logits.dtype == np.float32
    accuracy = model.evaluate(counts[64:], labels[64:])
    assert accuracy == pytest.approx(np.mean(logits.argmax(1) == labels[64:]))
    assert accuracy >= 0.8
    # The same seed gives the same bits.
    again = engram.nn.Transformer(**kw)
    assert np.array_equal(again.fit(counts[:64], labels[:64], steps=120, batch=16, lr=3e-3)["losses"], losses)
    # Torch-style names and shapes; save/load (plain and compressed NPZ) round-trips the bits.
    state = model.state_dict()
    assert state["individual.0.q.weight"].shape == (2 * 16, 16) and state["head.weight"].shape == (2, 16)
    model.save(tmp_path / "m.npz")
    loaded = engram.nn.Transformer.load(tmp_path / "m.npz")
    assert np.array_equal(loaded.predict(counts[64:]), logits)
    with np.load(tmp_path / "m.npz") as data:
        np.savez_compressed(tmp_path / "c.npz", **{k: data[k] for k in data.files})
    assert np.array_equal(engram.nn.Transformer.load(tmp_path / "c.npz").predict(counts[64:]), logits)
    fresh = engram.nn.Transformer(**kw)
    assert not np.array_equal(fresh.predict(counts[64:]), logits)
    fresh.load_state_dict(state)
    assert np.array_equal(fresh.predict(counts[64:]), logits)
    with pytest.raises(ValueError, match=r"head\.weight: shape"):
        fresh.load_state_dict(dict(state, **{"head.weight": np.zeros((3, 16))}))
    with pytest.raises(ValueError, match=r"train\.labels\[0\]"):
        model.fit(counts, np.full(len(labels), 5), steps=1)
    with pytest.raises(ValueError, match="model.colour"):
        engram.nn.Transformer(colour=1)
    assert "engram.nn.Transformer(task=classify" in repr(model)


@pytest.mark.parametrize("page", ["coming_from_pot.md", "coming_from_pytorch.md", "coming_from_brain_py.md"])
def test_coming_from_pages_run(page, monkeypatch):
    """Every ```python block of the "coming from" pages runs (from the repository root)."""
    import re
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / page).read_text(), re.S)
    assert blocks
    monkeypatch.chdir(ROOT)
    for block in blocks:
        exec(compile(block, page, "exec"), {})


def test_progress_counts_jobs_for_a_sweep_and_auto_shows_in_jupyter(monkeypatch):
    plain = {"experiment": "project", "steps": 2, "p": 0.05, "areas": [{"name": "A", "n": 300, "k": 10}],
             "stimuli": [{"name": "s", "k": 10}], "fibers": [{"from": "s", "to": "A", "beta": 0.1}]}
    assert engram._progress_unit(plain) == "step"
    assert engram._progress_unit(dict(plain, sweep={"seeds": 3})) == "job"
    import sys
    import types
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert not engram._interactive()
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert engram._interactive()


def test_every_public_callable_has_a_docstring():
    def described(obj):
        doc = (getattr(obj, "__doc__", None) or "").strip()
        # nanobind puts the signature first; a description must follow it.
        lines = [line for line in doc.splitlines() if line.strip()]
        return len(lines) >= (2 if lines and lines[0].startswith(getattr(obj, "__name__", "?") + "(") else 1)

    missing = []
    for owner, names in ((engram, engram.__all__), (engram.ot, engram.ot.__all__), (engram.nn, engram.nn.__all__)):
        for name in names:
            obj = getattr(owner, name)
            if callable(obj) and not described(obj):
                missing.append(f"{owner.__name__}.{name}")
    for cls in (engram.Brain, engram.Backend, engram.nn.Transformer):
        for name in dir(cls):
            obj = getattr(cls, name)
            if not name.startswith("_") and callable(obj) and not described(obj):
                missing.append(f"{cls.__name__}.{name}")
    assert not missing, missing


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "examples" / "python").glob("*.py")))
def test_python_examples_run(script, tmp_path):
    """Every examples/python script (one per kernel family) runs to completion."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(engram.__file__)),
                                                       os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "python" / script)], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
