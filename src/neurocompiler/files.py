"""Writing files so that a reader, or a run killed half-way, never sees a partial one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)  # elsewhere: set and restore (briefly process-wide)
    os.umask(old)
    return old


def file_mode(path: str | os.PathLike) -> int:
    """The mode a rewritten ``path`` should get: its current one if it exists, else what
    ``open(path, "w")`` would give (0666 less the umask)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~umask()


def atomic_write(path: str | os.PathLike, write: Callable[[str], object], parents: bool = False) -> None:
    """Call ``write(tmp)`` on a scratch file beside ``path``, then move it over ``path``
    in one step (``os.replace``). On any error the scratch file is removed and ``path``
    keeps its old content. A missing folder is an error (``OSError``) unless
    ``parents`` asks for it to be made. The file gets :func:`file_mode`, not the scratch
    file's 0600."""
    path = Path(path)
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    mode = file_mode(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
