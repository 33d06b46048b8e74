"""Diagnostic (docs/RESULTS.md, Fibonacci): a trained run's exact-answer accuracy per
phrasing, i.e. per template, told apart by the question's first word.

    python scripts/accuracy_by_phrasing.py RUN_DIR [FILE.jsonl ...]

Without files it scores the run's test split and, where the run has one, its
out-of-distribution set (``data/ood.jsonl``, written by ``experiment baselines``).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from neurocompiler.tasks import load_jsonl
from neurocompiler.train import evaluate, load_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    run = Path(args.run_dir)
    files = [Path(f) for f in args.files] or [p for p in (run / "data" / "test.jsonl", run / "data" / "ood.jsonl")
                                              if p.exists()]
    _, model, tokenizer = load_run(run)
    for path in files:
        examples = load_jsonl(path)
        answers = evaluate(model, tokenizer, examples).answers
        right = defaultdict(list)
        for e, a in zip(examples, answers):
            right[e.question.split()[0]].append(a == e.answer)
        print(path.name)
        for first, hits in right.items():
            print(f"  {first!r:10} {sum(hits) / len(hits):7.2%}  (n = {len(hits)})")


if __name__ == "__main__":
    main()
