"""Diagnostic (docs/RESULTS.md, outside-style data): the general parse's development
loop. It trains `train`'s default model (the tiny LLaMA, the character tokenizer, base
128, the general parse, `train`'s AdamW and learning rates, no warm-up) on a file's questions,
32 per step, and every few steps prints test accuracy, the right function's share and
accuracy per phrasing (the test file's ``phrasing`` keys); at the end, the parse of a
few questions of each phrasing that is not yet at 100%.

    python scripts/parse_loop.py TRAIN.jsonl TEST.jsonl [--functions fib] [--steps 200]

Cells are 16 and the step budget 3,000 (smaller than `train` derives, for speed): a
loop for seeing what the parse learns, not a measurement of `train`.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter, defaultdict

import torch

from neurocompiler.augment import AugmentConfig, AugmentedLM, BackboneConfig
from neurocompiler.augment.outputs import decode_answers
from neurocompiler.library import load_specs
from neurocompiler.runconfig import TrainConfig
from neurocompiler.tasks import load_jsonl
from neurocompiler.tokenizer import build_tokenizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--functions", default="", help="comma-separated (default: the whole library)")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--questions", type=int, default=200, help="test questions scored")
    args = ap.parse_args()
    train = load_jsonl(args.train)
    test = load_jsonl(args.test)[:args.questions]
    with open(args.test, encoding="utf-8") as fh:
        phrasing = [json.loads(line).get("phrasing", "") for line in fh if line.strip()][:args.questions]
    torch.manual_seed(0)
    tok = build_tokenizer("char")
    functions = tuple(args.functions.split(",")) if args.functions else tuple(load_specs())
    model = AugmentedLM(AugmentConfig(base=128, cells=16, functions=functions, parsing="general", max_steps=3000,
                                      backbone=BackboneConfig(vocab_size=len(tok))))
    model.use_tokenizer(tok)
    t = TrainConfig()
    opt = torch.optim.AdamW([{"params": g["params"], "lr": t.lr * g["lr_scale"]}
                             for g in model.param_groups(t.backbone_lr_scale)], weight_decay=t.weight_decay)
    rng, start = random.Random(0), time.time()

    def score() -> tuple[float, float, dict[str, float]]:
        model.eval()
        right, chosen = [], []
        with torch.no_grad():
            for i in range(0, len(test), 100):
                part = test[i:i + 100]
                b = model.make_batch(tok, part)
                out = model(b.input_ids, b.attention_mask)
                right += [a == e.answer for a, e in zip(decode_answers(model, out), part)]
                chosen += [c == e.function for c, e in zip(model.chosen(out), part)]
        model.train()
        per = defaultdict(list)
        for p, ok in zip(phrasing, right):
            per[p].append(ok)
        return (sum(right) / len(right), sum(chosen) / len(chosen),
                {p: round(sum(v) / len(v), 2) for p, v in sorted(per.items())})

    for step in range(1, args.steps + 1):
        b = model.make_batch(tok, rng.sample(train, 32))
        loss = model.loss(model(b.input_ids, b.attention_mask), b.targets)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), t.clip)
        opt.step()
        if step % args.every == 0 or step == args.steps:
            accuracy, selection, per = score()
            print(f"step {step}: loss {loss.item():.2f}, accuracy {accuracy:.3f}, right function {selection:.3f}, "
                  f"{time.time() - start:.0f} s; per phrasing {per}", flush=True)
    model.eval()
    shown: Counter = Counter()
    for e, p in zip(test, phrasing):
        if per.get(p, 1.0) < 1.0 and shown[p] < 3:
            shown[p] += 1
            x = model.explain(tok, e.question)
            print(f"{p}: {e.question!r} -> {x['answer']!r} (want {e.answer!r}) {x['program']} "
                  f"p={x['p_program']:.2f} {x['registers']} from context {x['from_context']}")


if __name__ == "__main__":
    main()
