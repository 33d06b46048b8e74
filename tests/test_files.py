"""Atomic writes (``neurocompiler.files``), which checkpoints, metrics, CSVs and compiled
programs all go through."""

import pytest

from neurocompiler.files import atomic_write


def test_atomic_write_replaces_the_file_in_one_step(tmp_path):
    path = tmp_path / "sub" / "x.txt"
    with pytest.raises(OSError):  # a missing folder is an error ...
        atomic_write(path, lambda tmp: open(tmp, "w").write("one"))
    atomic_write(path, lambda tmp: open(tmp, "w").write("one"), parents=True)  # ... unless asked for
    atomic_write(path, lambda tmp: open(tmp, "w").write("two"))
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["x.txt"]  # no scratch file left


def test_a_failed_write_keeps_the_old_file_and_leaves_no_scratch(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("old")

    def half(tmp):
        open(tmp, "w").write("half")
        raise KeyboardInterrupt  # a kill half-way

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, half)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]
