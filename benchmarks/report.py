"""The headline ratios of one run, from the JSON Lines files of the other scripts.

    python benchmarks/report.py alu.jsonl machine.jsonl size.jsonl

See ``neurocompiler.bench.summary``.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from neurocompiler.bench import summary  # noqa: E402


def load(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("alu")
    p.add_argument("machine")
    p.add_argument("size", nargs="?")
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--batch", type=int, default=32)
    args = p.parse_args()
    out = summary(load(args.alu), load(args.machine), load(args.size) if args.size else [],
                  n=args.n, batch=args.batch)
    for name, r in out.items():
        v = r["value"]
        shown = "-" if v is None else (f"{v:.4g}" if not name.endswith("bytes") else f"{v / 2**30:.3f} GiB")
        print(f"{name:34s} {shown:>12s}   bar {r['bar']:8s}  met: {r['met']}")


if __name__ == "__main__":
    main()
