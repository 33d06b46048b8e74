"""A run directory is never damaged by another command: ``train --out`` refuses what
holds anything before doing any work, ``--overwrite`` moves the old run aside, a new run
appears in one rename, ``--resume`` refuses changed flags and records a longer run, and
a second trainer of the same run is refused."""

import hashlib
import json
import os
from pathlib import Path

import pytest

from neurocompiler import rundir
from neurocompiler.augment import AugmentConfig, BackboneConfig
from neurocompiler.cli import main
from neurocompiler.train import TrainConfig, train, train_or_reuse

QUIET = dict(progress=False, log=lambda s: None)
SMALL = ["--set", "examples=40", "--batch-size", "16", "--base", "16", "--cells", "2", "--set", "dim=16",
         "--set", "heads=2", "--set", "kv_heads=1", "--set", "layers=2"]


def tiny(out, **kw) -> TrainConfig:
    model = AugmentConfig(parsing="slots", base=16, cells=2, backbone=BackboneConfig(dim=16, heads=2, kv_heads=1, layers=2))
    return TrainConfig(**{**dict(task="arithmetic", examples=40, epochs=1, batch_size=16, out=str(out),
                                 model=model), **kw})


def fingerprint(path: Path) -> dict:
    """Every file under ``path`` (links as their targets) with its content's hash."""
    out = {}
    for p in sorted(path.rglob("*")):
        key = str(p.relative_to(path))
        if p.is_symlink():
            out[key] = "-> " + os.readlink(p)
        elif p.is_file():
            out[key] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    run = tmp_path_factory.mktemp("done") / "run"
    train(tiny(run), **QUIET)
    return run


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_an_existing_run_is_refused_and_left_as_it_was(tmp_path, capsys, done):
    before = fingerprint(done)
    assert main(["train", "--out", str(done), *SMALL]) == 2
    assert "holds a run already" in one_line(capsys) and fingerprint(done) == before
    # a new run that then fails validation must not have touched the old one either
    data = done.parent / "long.jsonl"
    data.write_text('{"question": "Add 1 and 2", "answer": 3}\n{"question": "Say hello", "answer": "hello"}\n')
    assert main(["train", "--out", str(done), "--overwrite", "--task", "jsonl", "--train", str(data), "--test",
                 str(data), *SMALL, "--base", "128", "--functions", "add,reverse"]) == 2
    assert "long.jsonl:2: answer" in one_line(capsys) and fingerprint(done) == before


@pytest.mark.parametrize("out, what", [("", "empty path"), ("file.txt", "is a file"),
                                       (".", "is not empty and holds no run"),
                                       ("/proc/nope/run", "cannot create the run directory")])
def test_bad_out_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, out, what):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text('{"question": "Add 1 and 2", "answer": 3, "extra": 1}\n')
    (tmp_path / "file.txt").write_text("mine\n")
    before = fingerprint(tmp_path)
    assert main(["train", "--out", out, *SMALL]) == 2
    assert what in one_line(capsys)
    assert fingerprint(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["data", "file.txt"]


def test_overwrite_moves_the_old_run_aside(tmp_path, capsys, done):
    run = tmp_path / "run"
    os.system(f"cp -a {done} {run}")
    before = fingerprint(run)
    assert main(["train", "--out", str(run), "--overwrite", "--seed", "1", *SMALL]) == 0
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("run.old-")]
    assert len(aside) == 1 and fingerprint(aside[0]) == before
    assert json.loads((run / "config.json").read_text())["seed"] == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.new-")]  # no scratch left


def test_an_empty_out_directory_is_used(tmp_path):
    (tmp_path / "run").mkdir()
    train(tiny(tmp_path / "run"), **QUIET)
    assert (tmp_path / "run" / "checkpoint" / "model.safetensors").is_file()


def test_resume_refuses_changed_flags_and_records_more_epochs(tmp_path, capsys, done):
    run = tmp_path / "run"
    os.system(f"cp -a {done} {run}")
    before = fingerprint(run)
    for flag, value in (("--lr", "5"), ("--task", "sort"), ("--set", "dim=64"), ("--functions", "add")):
        assert main(["train", "--resume", "--out", str(run), flag, value]) == 2
        err = one_line(capsys)
        label = f"--set {value}" if flag == "--set" else flag
        assert err.startswith(f"neurocompiler: error: {label}: cannot change when resuming"), err
        assert fingerprint(run) == before
    # the flags the run was made with may be repeated
    assert main(["train", "--resume", "--out", str(run), *SMALL, "--epochs", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["epoch"] == 1  # finished: its last metrics, not {}
    assert main(["train", "--resume", "--out", str(run), "--epochs", "2"]) == 0
    capsys.readouterr()
    assert json.loads((run / "config.json").read_text())["epochs"] == 2
    assert [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    assert main(["train", "--resume", "--overwrite", "--out", str(run)]) == 2
    one_line(capsys)


def test_resume_removes_scratch_a_kill_left(tmp_path, done):
    run = tmp_path / "run"
    os.system(f"cp -a {done} {run}")
    (run / ".metrics.csv.abc12_yz.tmp").write_text("half")
    (run / "checkpoint.tmp-xyz").mkdir()
    (run / "checkpoint.tmp-xyz" / "model.safetensors").write_bytes(b"half")
    os.system(f"cp -a {run / 'checkpoint'}/ {run / 'checkpoint.backup'}")  # the user's own: kept
    (run / ".notes.tmp").write_text("mine")
    train(tiny(run, epochs=2), resume=True, **QUIET)
    assert not (run / ".metrics.csv.abc12_yz.tmp").exists() and not (run / "checkpoint.tmp-xyz").exists()
    assert (run / "checkpoint.backup" / "model.safetensors").is_file() and (run / ".notes.tmp").read_text() == "mine"


def test_a_second_trainer_of_the_same_run_is_refused(tmp_path, capsys, done):
    import fcntl

    run = tmp_path / "run"
    os.system(f"cp -a {done} {run}")
    fd = os.open(run / rundir.LOCK, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another process training it
    try:
        assert main(["train", "--resume", "--out", str(run), "--epochs", "2"]) == 2
        assert "another neurocompiler process is training this run" in one_line(capsys)
        before = fingerprint(run)
        assert main(["train", "--overwrite", "--out", str(run), *SMALL]) == 2  # nor replaced under it
        assert "before replacing it" in one_line(capsys) and fingerprint(run) == before
    finally:
        os.close(fd)


def test_experiments_reuse_a_run_with_their_config_and_move_aside_another(tmp_path, done):
    run = tmp_path / "run"
    os.system(f"cp -a {done} {run}")
    before = fingerprint(run)
    train_or_reuse(tiny(run), **QUIET)  # the same config, finished: nothing changes
    assert fingerprint(run) == before
    train_or_reuse(tiny(run, seed=3), **QUIET)  # another config: retrained, the old one kept aside
    assert json.loads((run / "config.json").read_text())["seed"] == 3
    assert [fingerprint(p) for p in tmp_path.iterdir() if p.name.startswith("run.old-")] == [before]


def test_a_failure_while_a_new_run_is_written_leaves_the_old_run_and_no_scratch(tmp_path, monkeypatch, done):
    """A new run is written beside --out and moved into place only when complete: a
    failure (or a kill) half-way through leaves the old run as it was."""
    import neurocompiler.train as T

    run = tmp_path / "run"
    os.system(f"cp -a {done} {run}")
    before = fingerprint(run)
    writes = []

    def fail_on_test_split(path, examples):
        writes.append(path)
        if Path(path).name == "test.jsonl":
            raise OSError(28, "No space left on device", str(path))
        return real(path, examples)

    real = T.save_jsonl
    monkeypatch.setattr(T, "save_jsonl", fail_on_test_split)
    with pytest.raises(OSError):
        train(tiny(run, seed=5), overwrite=True, **QUIET)
    assert [Path(w).parent.parent.name.startswith(".run.new-") for w in writes] == [True, True]
    assert fingerprint(run) == before and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
