"""Diagnostic (docs/RESULTS.md, `mixed`): one library function's own parse of a trained
run's test questions, as if it alone were selected: its r1..r3 (argmax and
probability), the model's answer and the selected program.

    python scripts/function_parse.py RUN_DIR FUNCTION [PREFIX] [--show N]

PREFIX keeps the questions that start with it (one phrasing). The first N questions
are shown, then the first N wrong ones; the last line counts the right answers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from neurocompiler.augment import decode_answers
from neurocompiler.tasks import load_jsonl
from neurocompiler.tokenizer import encode
from neurocompiler.train import load_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("function")
    ap.add_argument("prefix", nargs="?", default="")
    ap.add_argument("--show", type=int, default=8)
    args = ap.parse_args()
    run = Path(args.run_dir)
    _, model, tokenizer = load_run(run)
    model.eval()
    i = model.config.functions.index(args.function)
    examples = [e for e in load_jsonl(run / "data" / "test.jsonl") if e.question.startswith(args.prefix)]
    with torch.no_grad():
        ids, mask = encode(tokenizer, [e.question for e in examples])
        out = model(ids, mask)
        answers = decode_answers(model, out)
        parse = out.parse
        registers = [model.r1(parse, i), *model.arguments(parse, i)[1:]]
    weights = parse.spans[model.span_of[i]].weights
    K = 1 if weights is None else weights.shape[1]  # rows are candidate-minor: the most probable first
    wrong = 0
    for b, e in enumerate(examples):
        right = answers[b] == e.answer
        wrong += not right
        if b < args.show or (not right and wrong <= args.show):
            regs = [f"{int(r[b * K].argmax())} ({float(r[b * K].max()):.2f})" for r in registers]
            chosen = model.config.functions[int(parse.selection[b].argmax())]
            print(f"{'ok ' if right else 'XX '}{e.question} | want {e.answer}, got {answers[b]} | "
                  f"selected {chosen} | r1..r3 {', '.join(regs)}")
    print(f"{len(examples) - wrong}/{len(examples)} right")


if __name__ == "__main__":
    main()
