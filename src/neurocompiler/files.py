"""Writing files so that a reader, or a run killed half-way, never sees a partial one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def atomic_write(path: str | os.PathLike, write: Callable[[str], object], parents: bool = False) -> None:
    """Call ``write(tmp)`` on a scratch file beside ``path``, then move it over ``path``
    in one step (``os.replace``). On any error the scratch file is removed and ``path``
    keeps its old content. A missing folder is an error (``OSError``) unless
    ``parents`` asks for it to be made."""
    path = Path(path)
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
