"""A run's per-epoch metrics: ``metrics.jsonl``, ``metrics.csv`` and ``curves.png``.

The rows live in the checkpoint (``state.json``); these files are rewritten from them,
atomically, after every checkpoint, so that they never disagree with it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Iterator, Sequence

from .files import atomic_write


def write_metrics(run_dir: Path, rows: Sequence[dict]) -> None:
    """``metrics.jsonl`` and ``metrics.csv``: one row per epoch."""
    lines = "".join(json.dumps(row) + "\n" for row in rows)
    atomic_write(Path(run_dir) / "metrics.jsonl", lambda tmp: Path(tmp).write_text(lines))
    text = io.StringIO(newline="")
    if rows:
        w = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)
    atomic_write(Path(run_dir) / "metrics.csv", lambda tmp: Path(tmp).write_text(text.getvalue(), newline=""))


def iter_metrics(run_dir: str | Path) -> Iterator[dict]:
    for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines():
        if line:
            yield json.loads(line)


def plot_metrics(run_dir: Path) -> None:
    """``curves.png``: the training loss and the test accuracy per epoch."""
    from matplotlib.figure import Figure

    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return
    rows = list(iter_metrics(run_dir))
    if not rows:
        return
    fig = Figure(figsize=(9, 3.5))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    epochs = [r["epoch"] for r in rows]
    ax1.plot(epochs, [r["train_loss"] for r in rows], marker="o")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("train loss")
    ax2.plot(epochs, [r["test_accuracy"] for r in rows], marker="o", label="answer")
    if any(r["selection_accuracy"] is not None for r in rows):
        ax2.plot(epochs, [r["selection_accuracy"] for r in rows], marker="x", label="selection")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("test accuracy")
    ax2.set_ylim(0, 1.02)
    ax2.legend()
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(Path(run_dir) / "curves.png", lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
