"""Run directories that no other command can damage.

* :func:`check_out` refuses an ``--out`` that is a file, or a directory that already
  holds a run or anything else, before any work is done (``--overwrite`` replaces a
  run; ``--resume`` continues it).
* A new run is written into a scratch directory beside ``--out`` (:func:`stage`) and
  moved into place in one rename (:func:`commit`); an overwritten run is moved aside to
  ``OUT.old-TIMESTAMP``, never deleted.
* :func:`lock` holds ``OUT/.lock`` (``flock``) while a run trains, so that a second
  ``train`` on the same directory is refused.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

from .errors import InputError
from .files import umask

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking
    fcntl = None  # type: ignore[assignment]

LOCK = ".lock"
_HELD: dict[str, int] = {}  # run directory -> the open lock file's descriptor


def _mode(path: Path) -> None:
    """``mkdtemp`` makes 0700 directories; give the run the umask's usual mode."""
    os.chmod(path, 0o777 & ~umask())


def _entries(path: Path) -> list[str]:
    return sorted(e.name for e in path.iterdir() if e.name != LOCK)


def holds_run(path: Path) -> bool:
    return (Path(path) / "config.json").is_file()


def check_out(out: str | os.PathLike, overwrite: bool = False) -> Path:
    """The run directory ``out``, checked before anything is computed: it must be new,
    empty, or (with ``overwrite``) hold a run."""
    text = os.fspath(out)
    if not text.strip():
        raise InputError("--out: empty path (name a new run directory, e.g. --out runs/mine)")
    path = Path(os.path.abspath(text))
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {text}: is a file, not a directory (name a new run directory)")
    if path.is_dir():
        try:
            entries = _entries(path)
        except OSError as exc:
            raise InputError(f"--out {text}: cannot read the directory ({exc.strerror or exc})") from None
        if entries and holds_run(path) and not overwrite:
            raise InputError(f"--out {text}: holds a run already; continue it with --resume, or replace it "
                             f"with --overwrite (the old run is moved aside, not deleted)")
        if entries and holds_run(path) and _busy(path):
            raise InputError(f"--out {text}: another neurocompiler process is training this run; wait for it "
                             f"to finish before replacing it")
        if entries and not holds_run(path):
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise InputError(f"--out {text}: is not empty and holds no run ({shown}); name a new or empty "
                             f"directory")
    return path


def _busy(run_dir: Path) -> bool:
    """Whether another process holds ``run_dir``'s lock (it is training)."""
    if fcntl is None or os.fspath(run_dir) in _HELD or not (run_dir / LOCK).is_file():
        return False
    try:
        fd = os.open(run_dir / LOCK, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def stage(out: Path) -> Path:
    """A scratch directory beside ``out`` to write the new run into."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    except OSError as exc:
        raise InputError(f"--out {out}: cannot create the run directory ({exc.strerror or exc})") from None
    _mode(tmp)
    return tmp


def commit(staged: Path, out: Path, overwrite: bool = False, log: Callable[[str], object] = print) -> None:
    """Move the staged run to ``out``: one rename, after moving an old run aside."""
    try:
        if out.is_dir() and _entries(out):
            if not (overwrite and holds_run(out)):
                raise InputError(f"--out {out}: was filled by something else while this run was being set up")
            aside = out.with_name(f"{out.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
            n = 1
            while aside.exists():
                aside, n = out.with_name(f"{out.name}.old-{time.strftime('%Y%m%d-%H%M%S')}-{n}"), n + 1
            os.rename(out, aside)
            log(f"moved the old run in {out} to {aside}")
        elif out.is_dir():
            (out / LOCK).unlink(missing_ok=True)
        os.rename(staged, out)  # onto a missing or empty directory
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    if os.fspath(staged) in _HELD:  # the lock moved with the directory
        _HELD[os.fspath(out)] = _HELD.pop(os.fspath(staged))


@contextlib.contextmanager
def new_run(out: Path, overwrite: bool = False, log: Callable[[str], object] = print) -> Iterator[Path]:
    """A locked scratch directory to write a new run into; moved to ``out`` when the
    block ends (:func:`commit`), removed if it raises."""
    staged = stage(out)
    lock(staged)
    try:
        yield staged
    except BaseException:
        unlock(staged)
        shutil.rmtree(staged, ignore_errors=True)
        raise
    commit(staged, out, overwrite, log)


def lock(run_dir: Path) -> None:
    """Hold ``run_dir/.lock`` until the process ends; another holder is an error."""
    key = os.fspath(run_dir)
    if fcntl is None or key in _HELD:
        return
    try:
        fd = os.open(Path(run_dir) / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise InputError(f"{run_dir}: cannot lock the run directory ({exc.strerror or exc})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise InputError(f"{run_dir}: another neurocompiler process is training this run; wait for it "
                         f"to finish") from None
    _HELD[key] = fd


def unlock(run_dir: Path) -> None:
    fd = _HELD.pop(os.fspath(run_dir), None)
    if fd is not None:
        os.close(fd)
