"""Python misuse and hostile input (docs/reliability.md): Brains stepped from several threads,
weights written through views that the engine cannot represent, and hostile configs, data files
and output folders through engram.run. Every case raises an exception naming the field; none
crashes the interpreter or writes into the output folder."""
import pathlib
import struct
import threading
import zlib

import numpy as np
import pytest

import engram

SMALL = {
    "p": 0.05,
    "areas": [{"name": "A", "n": 1000, "k": 31}],
    "stimuli": [{"name": "stim", "k": 31}],
    "fibers": [{"from": "stim", "to": "A", "beta": 0.1}, {"from": "A", "to": "A", "beta": 0.1}],
}


def run_threads(targets):
    errors = []

    def guarded(target):
        try:
            target()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_one_brain_stepped_from_four_threads_is_serialised():
    brain = engram.Brain(SMALL, brains=2, seed=3, backend="cpu")
    twin = engram.Brain(SMALL, brains=2, seed=3, backend="cpu")

    def steps():
        for _ in range(10):
            brain.project(1)
            brain.winners("A", 1)

    run_threads([steps] * 4)
    assert brain.steps_taken == 40
    twin.project(40)
    # Serialised steps are the same steps: the same bits as one thread taking all 40.
    np.testing.assert_array_equal(brain.winners("A", 0), twin.winners("A", 0))


def test_two_brains_sharing_a_backend_from_two_threads():
    backend = engram.Backend("cpu")
    brains = [engram.Brain(SMALL, seed=s, backend=backend) for s in (1, 2)]
    alone = [engram.Brain(SMALL, seed=s, backend="cpu") for s in (1, 2)]
    run_threads([lambda b=b: b.project(30) for b in brains])
    for b, a in zip(brains, alone):
        a.project(30)
        np.testing.assert_array_equal(b.winners("A"), a.winners("A"))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 3e9, -1e6])
def test_weights_written_through_views_are_checked_before_the_next_step(value):
    brain = engram.Brain(dict(SMALL, mode="explicit"), brains=2, seed=7, backend="cpu")
    weights = brain.graph("stim", "A")["weights"]
    weights[5] = value
    with pytest.raises(ValueError, match=r"fiber stim->A weights\[5\]"):
        brain.project(1)
    assert brain.steps_taken == 0
    weights[5] = 2.0  # repaired: the brain steps again
    brain.project(1)
    assert brain.steps_taken == 1


def npz_with_shape(shape_text):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': %s, }" % shape_text
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(16)
    name = b"x.npy"
    crc = zlib.crc32(blob)
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, crc, len(blob), len(blob), len(name), 0)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, crc, len(blob), len(blob),
                          len(name), 0, 0, 0, 0, 0, 0)
    body = local + name + blob
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), len(body), 0)
    return body + central + name + end


HOSTILE_RUNS = [
    ("eps: 0.01\neps: -5\nexperiment: sinkhorn\nrandom: {problems: 1, n: 5, m: 5, dim: 2}\n", "given twice"),
    (dict(SMALL, experiment="project", steps=1, seed=2**64), "seed"),
    (dict(SMALL, experiment="project", steps=1, seed=-1), "seed"),
    (dict(SMALL, experiment="project", steps=1, sweep={"grid": {"seed": [1, 2]}}), "sweep.grid.seed"),
    ({"experiment": "sinkhorn", "eps_decay": 0, "random": {"problems": 1, "n": 5, "m": 5, "dim": 2}}, "eps_decay"),
    ({"experiment": "sinkhorn", "random": {"problems": 1, "n": 4000000000, "m": 5, "dim": 2}}, "memory-budget"),
]


@pytest.mark.parametrize("config,field", HOSTILE_RUNS)
def test_hostile_configs_raise_naming_the_field_and_leave_out_alone(tmp_path, config, field):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=field):
        engram.run(config, backend="cpu", out=str(out))
    assert not out.exists()


@pytest.mark.parametrize("shape,message", [("(8, 4611686018427387904, 4)", "overflows 64 bits"),
                                           ("(1, 18446744073709551615, 1)", "not a size"),
                                           ("(-3,)", "not a size")])
def test_crafted_npz_raises_instead_of_crashing(tmp_path, shape, message):
    path = tmp_path / "crafted.npz"
    path.write_bytes(npz_with_shape(shape))
    config = {"experiment": "sinkhorn", "points": {"file": str(path)}}
    with pytest.raises(ValueError, match=message):
        engram.run(config, backend="cpu", out=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_unwritable_and_foreign_out_folders(tmp_path):
    (tmp_path / "file").write_text("x")
    config = dict(SMALL, experiment="project", steps=2)
    with pytest.raises(ValueError, match="cannot be created"):
        engram.run(config, backend="cpu", out=str(tmp_path / "file" / "out"))
    sweep = dict(config, sweep={"seeds": 2})
    engram.run(sweep, backend="cpu", out=str(tmp_path / "sweep"))
    rows = (tmp_path / "sweep" / "results.csv").read_text()
    with pytest.raises(ValueError, match="different config"):
        engram.run(dict(config, sweep={"seeds": 3}), backend="cpu", out=str(tmp_path / "sweep"))
    with pytest.raises(ValueError, match="holds a sweep's results"):
        engram.run(config, backend="cpu", out=str(tmp_path / "sweep"))
    assert (tmp_path / "sweep" / "results.csv").read_text() == rows


def test_seeds_past_2_63_come_back_unsigned():
    table = engram.run(dict(SMALL, experiment="project", steps=1, seed=2**63 + 5), backend="cpu", as_frame=False)
    assert table["seed"].dtype == np.uint64
    assert int(table["seed"][0]) == 2**63 + 5
