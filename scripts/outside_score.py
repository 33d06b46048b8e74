"""A trained run's accuracy on an outside-style test file (docs/RESULTS.md, "Outside-style
data"): exact answers, a right function selected (the record's or an equivalent it
lists) and the record's main function selected, per task and phrasing, per task and
over all.

    python scripts/outside_score.py RUN_DIR TEST.jsonl [--weakest N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neurocompiler.experiments.common import format_table
from neurocompiler.experiments.outside import score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("test_file")
    ap.add_argument("--weakest", type=int, default=0, help="print only the N phrasings with the fewest exact answers")
    args = ap.parse_args()
    rows = score(Path(args.run_dir), Path(args.test_file))
    totals = [r for r in rows if r["phrasing"] == "all"]
    phrasings = [r for r in rows if r["phrasing"] != "all"]
    if args.weakest:
        phrasings = sorted(phrasings, key=lambda r: r["accuracy"])[:args.weakest]
    print(format_table(phrasings))
    print(format_table(totals))


if __name__ == "__main__":
    main()
