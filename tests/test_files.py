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


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_umask_mode_not_the_scratch_files(tmp_path, umask):
    import os

    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "x.txt", lambda tmp: open(tmp, "w").write("one"))
    finally:
        os.umask(old)
    assert (tmp_path / "x.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_rewritten_file_keeps_its_mode(tmp_path):
    import os

    path = tmp_path / "x.txt"
    path.write_text("old")
    os.chmod(path, 0o604)
    atomic_write(path, lambda tmp: open(tmp, "w").write("new"))
    assert path.read_text() == "new" and path.stat().st_mode & 0o777 == 0o604


def test_save_jsonl_writes_the_same_modes(tmp_path):
    import os

    from neurocompiler.tasks import Example, save_jsonl

    old = os.umask(0o027)
    try:
        save_jsonl(tmp_path / "d.jsonl", [Example("q", 1)])
    finally:
        os.umask(old)
    assert (tmp_path / "d.jsonl").stat().st_mode & 0o777 == 0o640
