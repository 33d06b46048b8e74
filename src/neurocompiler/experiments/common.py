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


def bar_chart(path: Path, labels: Sequence[str], series: dict[str, Sequence[float]], title: str,
              ylabel: str = "test", line: tuple[float, str] | None = None) -> None:
    """Grouped bars in 0..1: one group per label, one bar per series; ``line`` (y, its
    legend) marks a bar to reach."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(6.4, 1.1 * len(labels)), 3.8))
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        ax.bar([x + width * i for x in range(len(labels))], list(values), width, label=name)
    ax.set_xticks([x + width * (len(series) - 1) / 2 for x in range(len(labels))], list(labels))
    if line is not None:
        ax.axhline(line[0], color="k", lw=0.8, ls="--", label=line[1])
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
