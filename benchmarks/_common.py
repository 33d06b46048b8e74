"""Shared command-line plumbing of the benchmark scripts (thin: the work is in
``neurocompiler.bench``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Iterable, Sequence

# Run from a checkout without installing: put src/ first on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per row (JSON Lines) instead of a table")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads for the run (default: leave torch's default)")
    return p


def emit(rows: Iterable[dict], as_json: bool, columns: Sequence[str]) -> list[dict]:
    """Print rows as they come (JSON Lines, or a table at the end); return them."""
    from neurocompiler.bench import format_rows

    out = []
    for row in rows:
        out.append(row)
        if as_json:
            print(json.dumps(row), flush=True)
        else:
            print(f"... {len(out)} rows", file=sys.stderr, flush=True)
    if not as_json:
        print(format_rows(out, columns))
    return out
