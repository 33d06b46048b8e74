"""Checkpoints are one atomic unit: a kill at any point of a checkpoint write (or of the
metrics written after it), then ``--resume``, gives a run bit-identical to one never
interrupted; a damaged checkpoint file is refused with one line naming it."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file

from neurocompiler import checkpoint, metrics
from neurocompiler.augment import AugmentConfig, BackboneConfig
from neurocompiler.cli import main
from neurocompiler.errors import InputError
from neurocompiler.train import TrainConfig, train

QUIET = dict(progress=False, log=lambda s: None)


def tiny(out, **kw) -> TrainConfig:
    model = AugmentConfig(parsing="slots", base=16, cells=2, backbone=BackboneConfig(dim=16, heads=2, kv_heads=1, layers=2))
    return TrainConfig(**{**dict(task="arithmetic", examples=40, epochs=2, batch_size=16, out=str(out),
                                 model=model), **kw})


def result(run):
    """What a run ends with: its weights, its optimizer's state, and its metrics (less timings)."""
    ckpt = run / "checkpoint"
    rows = [{k: v for k, v in json.loads(line).items() if k != "epoch_seconds"}
            for line in (run / "metrics.jsonl").read_text().splitlines()]
    return load_file(str(ckpt / "model.safetensors")), load_file(str(ckpt / "optimizer.safetensors")), rows


def same(a, b) -> bool:
    return all(x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x) for x, y in zip(a[:2], b[:2])) \
        and a[2] == b[2]


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    run = tmp_path_factory.mktemp("whole") / "run"
    train(tiny(run), **QUIET)
    return result(run)


def test_a_kill_at_every_write_then_resume_is_bit_identical(tmp_path, monkeypatch, whole):
    run, snapshots = tmp_path / "run", []

    def snapshot(name):  # the run directory exactly as a kill at this point leaves it
        copy = tmp_path / f"kill{len(snapshots):02d}"
        shutil.copytree(run, copy, symlinks=True)
        for scratch in copy.glob("checkpoint.tmp-*"):
            if name.startswith("wrote "):  # a torn write: the file just written is half there
                torn = scratch / name.split(" ", 1)[1]
                torn.write_bytes(torn.read_bytes()[: torn.stat().st_size // 2])
        snapshots.append((name, copy))

    write = metrics.atomic_write
    monkeypatch.setattr(checkpoint, "crash_point", snapshot)
    monkeypatch.setattr(metrics, "atomic_write", lambda path, fn, **kw: (snapshot(f"before {path}"),
                                                                          write(path, fn, **kw)))
    train(tiny(run), **QUIET)
    monkeypatch.undo()
    points = [name for name, _ in snapshots]
    assert len(points) >= 16 and any(p.startswith("removed checkpoint.e0001") for p in points), points
    first_commit = points.index("replaced the link")
    for i, (name, copy) in enumerate(snapshots):
        if i <= first_commit - 1:  # killed before the first checkpoint existed: start again
            with pytest.raises(InputError, match="no checkpoint to resume from"):
                train(tiny(copy), resume=True, **QUIET)
            train(tiny(copy), overwrite=True, **QUIET)
        else:
            train(tiny(copy), resume=True, **QUIET)
        assert same(result(copy), whole), f"killed at {i}: {name}"
        assert sorted(p.name for p in copy.iterdir() if p.name.startswith("checkpoint")) == \
            ["checkpoint", (copy / "checkpoint").resolve().name], name  # no scratch left
        assert not list(copy.glob(".*.tmp")), name


def test_a_real_kill_inside_the_write_resumes_bit_identically(tmp_path, whole):
    """A process killed (os._exit, no clean-up) between making the new link and the
    commit of epoch 2's checkpoint."""
    run = tmp_path / "run"
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from neurocompiler import checkpoint
        from neurocompiler.train import train
        from test_checkpoint import tiny
        seen = []
        def die(name):
            seen.append(name)
            if name == "made the new link" and seen.count(name) == 2:
                os._exit(137)
        checkpoint.crash_point = die
        train(tiny({str(run)!r}), progress=False, log=lambda s: None)
    """)
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ, "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True)
    assert proc.returncode == 137, proc.stderr
    assert (run / "checkpoint.tmp-link").is_symlink()
    assert json.loads((run / "checkpoint" / "state.json").read_text())["epoch"] == 1
    assert main(["train", "--resume", "--out", str(run), "--epochs", "2"]) == 0
    assert same(result(run), whole)


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "zeroed tail", "optimizer as model",
                                    "missing", "manifest"])
def test_a_damaged_checkpoint_is_one_line_naming_the_file(tmp_path, capsys, damage):
    run = tmp_path / "run"
    train(tiny(run, epochs=1), **QUIET)
    model = run / "checkpoint" / "model.safetensors"
    data = model.read_bytes()
    if damage == "truncated":
        model.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        model.write_bytes(b"")
    elif damage == "garbage":
        model.write_bytes(os.urandom(len(data)))
    elif damage == "zeroed tail":
        model.write_bytes(data[:-4000] + bytes(4000))
    elif damage == "optimizer as model":
        shutil.copyfile(run / "checkpoint" / "optimizer.safetensors", model)
    elif damage == "missing":
        model.unlink()
    else:
        (run / "checkpoint" / "manifest.json").write_text("{not json")
    capsys.readouterr()
    for argv in (["eval", str(run)], ["ask", str(run), "Add 3 and 4"],
                 ["train", "--resume", "--out", str(run), "--epochs", "2"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert ("model.safetensors" in err or "manifest" in err) and "restore" in err, err


def test_a_checkpoint_without_a_manifest_still_loads_and_is_checked(tmp_path, capsys):
    """Runs written before manifests: a plain checkpoint directory, still read, and
    the first new checkpoint replaces it with a link."""
    run = tmp_path / "run"
    train(tiny(run, epochs=1), **QUIET)
    real = (run / "checkpoint").resolve()
    (run / "checkpoint").unlink()
    (real / "manifest.json").unlink()
    real.rename(run / "checkpoint")  # the old layout: a directory, no manifest
    assert main(["eval", str(run)]) == 0
    train(tiny(run, epochs=2), resume=True, **QUIET)
    assert (run / "checkpoint").is_symlink() and not (run / "checkpoint.legacy").exists()
    (run / "checkpoint" / "model.safetensors").write_bytes(b"\0" * 100)
    (run / "checkpoint" / "manifest.json").unlink()
    capsys.readouterr()
    assert main(["eval", str(run)]) == 2
    err = capsys.readouterr().err
    assert "not a readable safetensors file" in err and len(err.splitlines()) == 1
