"""Diagnostic (docs/PERFORMANCE.md): where a whole-library training step of the general
parse spends its exact runs. One forward and loss, in training mode, of `train`'s
default model at 64 cells and its derived step budget, on the first 32 questions of a
file; prints each ``Library.run_exact`` call's time and, per function, its rows, its
row-steps and its longest run.

    OMP_NUM_THREADS=1 python scripts/step_cost.py FILE.jsonl [--functions add,fib]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch

from neurocompiler import library
from neurocompiler.augment import AugmentConfig, AugmentedLM, BackboneConfig
from neurocompiler.tasks import load_jsonl
from neurocompiler.tokenizer import build_tokenizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--functions", default="", help="comma-separated (default: the whole library)")
    ap.add_argument("--cells", type=int, default=64)
    ap.add_argument("--max-steps", type=int, default=20740, help="train's derived budget at base 128, 64 cells")
    args = ap.parse_args()
    questions = load_jsonl(args.file)[:32]
    torch.manual_seed(0)
    tok = build_tokenizer("char")
    functions = tuple(args.functions.split(",")) if args.functions else tuple(library.load_specs())
    model = AugmentedLM(AugmentConfig(base=128, cells=args.cells, functions=functions, parsing="general",
                                      max_steps=args.max_steps, backbone=BackboneConfig(vocab_size=len(tok))))
    model.use_tokenizer(tok)
    model.train()
    run_exact = library.Library.run_exact

    def timed(self, index, registers, memory, max_steps=2000):
        start = time.perf_counter()
        out = run_exact(self, index, registers, memory, max_steps)
        steps = defaultdict(list)
        for i, s in zip(index.tolist(), out.steps.tolist()):
            steps[functions[i]].append(s)
        print(f"run_exact: {time.perf_counter() - start:.2f} s, {len(index):,} rows, "
              f"{int(out.steps.sum()):,} row-steps, longest {int(out.steps.max()):,}")
        for name, v in sorted(steps.items(), key=lambda kv: -sum(kv[1])):
            print(f"  {name}: {len(v):,} rows, {sum(v):,} row-steps, longest {max(v):,}")
        return out

    library.Library.run_exact = timed
    batch = model.make_batch(tok, questions)
    start = time.perf_counter()
    model.loss(model(batch.input_ids, batch.attention_mask), batch.targets)
    print(f"forward and loss: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
