"""The paper's Table 2: character sorting at lengths 8, 10 and 12, and at 16 out of distribution.

'Sort the string "dlifdbabejld"', learned from answers alone.

The paper fine-tunes LLaMA 3.2 1B with its own tokenizer and the pooled parse: 36.54%,
35.03% and 33.36% exact answers at lengths 8, 10 and 12, blamed on multi-character tokens.

Ours trains a tiny LLaMA from scratch once per (tokenizer, parse, seed): both of our
tokenizers (``char``, and a ``bpe`` trained on the questions, whose tokens span several
letters) and the named parses (preset files, :mod:`neurocompiler.presets`): ``spans`` (ours: the quoted
string's tokens copied into exact cells, K discrete spans, each run exactly), and the
soft ``slots`` and ``pooled`` (the paper's). Each run trains on all of ``lengths`` and is
scored, exact answers only, on its test split per length and on fresh strings of
``ood_length``, longer than any it saw. Each run is one ``neurocompiler train`` run,
kept under ``results/sort/<tokenizer>-<parse>-seed<s>/``.

The soft parses backpropagate through hundreds of machine steps: 5-13 s per training
step on one CPU core, against about 1 s for ``spans``, whose machine runs untraced.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass

from ..augment import AugmentConfig
from ..library import load_specs
from ..presets import parse_names, preset_model
from ..tasks import generate, load_jsonl, save_jsonl
from ..tokenizer import TOKENIZER_KINDS
from ..train import TrainConfig, evaluate, iter_metrics, load_run, train_or_reuse
from .common import format_table, ints, mean_std, names, results_dir, write_csv

PAPER = {8: 0.3654, 10: 0.3503, 12: 0.3336}  # LLaMA 3.2 1B, Table 2


@dataclass
class SortConfig:
    lengths: tuple[int, ...] = (8, 10, 12)
    ood_length: int = 16
    examples: int = 6000  # split 70/30
    ood_examples: int = 300
    epochs: int = 2
    batch_size: int = 32
    lr: float = 3e-3
    backbone_lr_scale: float = 0.1
    tokenizers: tuple[str, ...] = ("char", "bpe")
    parsings: tuple[str, ...] = ("spans",)  # presets (neurocompiler/presets), for their model fields
    functions: tuple[str, ...] = ("insertion_sort",)
    dim: int = 128
    layers: int = 4
    max_steps: int = 2000  # insertion sort takes up to about 1,540 machine steps at length 16
    seeds: tuple[int, ...] = (0, 1)
    device: str = "auto"
    out: str | None = None


def run(cfg: SortConfig) -> dict:
    out = results_dir("sort", cfg.out)
    cells = max(*cfg.lengths, cfg.ood_length)
    rows, curves = [], []
    for tokenizer in cfg.tokenizers:
        for parsing in cfg.parsings:
            for seed in cfg.seeds:
                name = f"{tokenizer}-{parsing}-seed{seed}"
                model = AugmentConfig.from_dict({**preset_model(parsing), "base": 128, "cells": cells,
                                                 "functions": cfg.functions, "max_steps": cfg.max_steps,
                                                 "backbone": {"dim": cfg.dim, "layers": cfg.layers}})
                run_dir = out / name
                train_or_reuse(TrainConfig(task="sort", task_options={"lengths": cfg.lengths}, examples=cfg.examples,
                                           epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                                           backbone_lr_scale=cfg.backbone_lr_scale, seed=seed, tokenizer=tokenizer,
                                           device=cfg.device, out=str(run_dir), model=model))
                curves.extend({"run": name, **m} for m in iter_metrics(run_dir))
                ood = generate("sort", cfg.ood_examples, seed + 1_000_003, lengths=(cfg.ood_length,))
                save_jsonl(run_dir / "data" / f"ood{cfg.ood_length}.jsonl", ood)
                rows.append({"tokenizer": tokenizer, "parsing": parsing, "seed": seed,
                             **accuracy_by_length(run_dir, load_jsonl(run_dir / "data" / "test.jsonl") + ood)})
    keys = [f"len{n}" for n in (*cfg.lengths, cfg.ood_length)]
    summary = []
    for tokenizer in cfg.tokenizers:
        for parsing in cfg.parsings:
            mine = [r for r in rows if r["tokenizer"] == tokenizer and r["parsing"] == parsing]
            summary.append({"tokenizer": tokenizer, "parsing": parsing, "seeds": len(mine),
                            **{k: "%.4f ± %.4f" % mean_std(r[k] for r in mine) for k in keys}})
    summary.append({"tokenizer": "paper (LLaMA 3.2 1B)", "parsing": "pooled", "seeds": 1,
                    **{k: f"{PAPER[n]:.4f}" if n in PAPER else "-" for k, n in
                       zip(keys, (*cfg.lengths, cfg.ood_length))}})
    write_csv(out / "runs.csv", rows)
    write_csv(out / "epochs.csv", curves)
    write_csv(out / "summary.csv", summary)
    plot(rows, keys, out / "sort.png")
    print(format_table(summary))
    print(f"exact answers; len{cfg.ood_length} is out of distribution (trained on {cfg.lengths})")
    print(f"wrote {out / 'summary.csv'}, {out / 'runs.csv'}, {out / 'epochs.csv'}, {out / 'sort.png'}")
    return {"runs": rows, "summary": summary, "epochs": curves, "config": asdict(cfg)}


def accuracy_by_length(run_dir, examples) -> dict[str, float]:
    """Exact-answer accuracy of a trained run on ``examples``, per answer length, with
    the machine allowed enough steps for the longest string."""
    _, model, tokenizer = load_run(run_dir)
    ev = evaluate(model, tokenizer, examples)
    out = {}
    for n in sorted({len(e.answer) for e in examples}):
        right = [a == e.answer for a, e in zip(ev.answers, examples) if len(e.answer) == n]
        out[f"len{n}"] = sum(right) / len(right)
    return out


def plot(rows: list[dict], keys: list[str], path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.8))
    ax = fig.add_subplot()
    models = sorted({(r["tokenizer"], r["parsing"]) for r in rows})
    width = 0.8 / max(1, len(models))
    for i, (tokenizer, parsing) in enumerate(models):
        mine = [r for r in rows if (r["tokenizer"], r["parsing"]) == (tokenizer, parsing)]
        means = [mean_std(r[k] for r in mine)[0] for k in keys]
        ax.bar([j + i * width for j in range(len(keys))], means, width, label=f"{tokenizer}, {parsing}")
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(keys))], [k.replace("len", "length ") for k in keys])
    ax.set_ylabel("exact answers (test)")
    ax.set_ylim(0, 1.02)
    ax.set_title("Table 2: character sorting (last length out of distribution)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = SortConfig()
    p.add_argument("--lengths", default=",".join(map(str, d.lengths)), help="training string lengths")
    p.add_argument("--ood-length", type=int, default=d.ood_length, help="longer test strings")
    p.add_argument("--examples", type=int, default=d.examples)
    p.add_argument("--ood-examples", type=int, default=d.ood_examples)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="the heads' learning rate")
    p.add_argument("--backbone-lr-scale", type=float, default=d.backbone_lr_scale, metavar="S",
                   help="the backbone learns at S * --lr")
    p.add_argument("--tokenizers", default=",".join(d.tokenizers), help=f"from {', '.join(TOKENIZER_KINDS)}")
    p.add_argument("--parsings", default=",".join(d.parsings),
                   help=f"presets whose parse (model fields) to train with, from {', '.join(parse_names())}")
    p.add_argument("--functions", default=",".join(d.functions), help="library functions to select from")
    p.add_argument("--dim", type=int, default=d.dim)
    p.add_argument("--layers", type=int, default=d.layers)
    p.add_argument("--max-steps", type=int, default=d.max_steps, help="machine steps per pass")
    p.add_argument("--seeds", default=",".join(map(str, d.seeds)), help="comma-separated seeds")
    p.add_argument("--device", default=d.device)
    p.add_argument("--out", default=None, help="output folder (default results/sort)")


def config_from_args(args: argparse.Namespace) -> SortConfig:
    return SortConfig(lengths=ints(args.lengths), ood_length=args.ood_length, examples=args.examples,
                      ood_examples=args.ood_examples, epochs=args.epochs, batch_size=args.batch_size,
                      lr=args.lr, backbone_lr_scale=args.backbone_lr_scale,
                      tokenizers=names(args.tokenizers, TOKENIZER_KINDS, "--tokenizers"),
                      parsings=names(args.parsings, tuple(parse_names()), "--parsings"),
                      functions=names(args.functions, tuple(load_specs()), "--functions"),
                      dim=args.dim, layers=args.layers, max_steps=args.max_steps, seeds=ints(args.seeds),
                      device=args.device, out=args.out)

