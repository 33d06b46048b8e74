"""What every experiment shares: the results folder, CSV writing, seeding, a printed table."""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from ..errors import InputError
from ..files import atomic_write
from ..runner import format_table  # noqa: F401  (re-exported for experiments)


def results_dir(name: str, out: str | os.PathLike | None = None) -> Path:
    path = Path(out) if out is not None else Path("results") / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_csv(path: Path, rows: Sequence[dict]) -> None:
    """Write ``rows`` (dicts with the same keys) to ``path`` atomically."""
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else [])
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(path, write)


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def ints(text: str) -> tuple[int, ...]:
    """A comma-separated list of integers from the command line ("0,1,2")."""
    return tuple(int(t) for t in text.split(",") if t.strip())


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    arr = np.asarray(list(values), dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def names(text: str, allowed: Sequence[str], flag: str) -> tuple[str, ...]:
    """A comma-separated list of names from the command line, each one of ``allowed``."""
    out = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [t for t in out if t not in allowed]
    if bad or not out:
        raise InputError(f"{flag}: {', '.join(bad) or 'nothing given'} (choose from {', '.join(allowed)})")
    return out
