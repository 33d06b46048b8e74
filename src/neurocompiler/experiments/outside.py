"""Outside-style data, trained on as a user would: ``neurocompiler train --train F --test G
--out D`` with no other flag (issue #19).

The question bank (:mod:`neurocompiler.tasks.outside`) is deliberately unlike our
generators: operators as symbols, unquoted words beside examples and distractors,
multi-word text, numbers split into digits by the default tokenizer, answers as JSON
strings. One run per task and one on the file that mixes them all, each with the
defaults ``train`` derives from the data (base, cells, step budget, the general parse
and, for the mixture, the whole library). The table reports accuracy and how often the
right function was selected, per task and per phrasing.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..evaluation import evaluate, load_run
from ..metrics import iter_metrics
from ..tasks import load_jsonl
from ..tasks.outside import OUTSIDE_MIXTURE, OUTSIDE_TASKS, write_outside
from ..train import train_or_reuse
from .common import bar_chart, format_table, names, results_dir, write_csv

RUNS = (*OUTSIDE_TASKS, OUTSIDE_MIXTURE)


@dataclass
class OutsideConfig:
    runs: tuple[str, ...] = RUNS
    train: int = 2000  # training questions per task (the mixture holds every task's)
    test: int = 300
    epochs: int = 10
    seed: int = 0
    device: str = "auto"
    out: str | None = None


def train_args(train_file: Path, test_file: Path, out: Path, cfg: OutsideConfig) -> list[str]:
    """The user's command line: the files, the run directory, and nothing else that
    changes the model (epochs, seed and device only say how long, which and where)."""
    return ["train", "--train", str(train_file), "--test", str(test_file), "--out", str(out),
            "--epochs", str(cfg.epochs), "--seed", str(cfg.seed), "--device", cfg.device]


def run(cfg: OutsideConfig) -> dict:
    from ..cli import build_parser, train_config

    out = results_dir("outside", cfg.out)
    files = write_outside(out / "data", tasks=OUTSIDE_TASKS, train=cfg.train, test=cfg.test, seed=cfg.seed)
    rows, curves, summary = [], [], []
    for name in cfg.runs:
        train_file, test_file = files[name]
        run_dir = out / name
        train_or_reuse(train_config(build_parser().parse_args(train_args(train_file, test_file, run_dir, cfg))))
        curves.extend({"run": name, **m} for m in iter_metrics(run_dir))
        mine = score(run_dir, test_file)
        rows.extend({"run": name, **r} for r in mine)
        last = list(iter_metrics(run_dir))[-1]
        config = json.loads((run_dir / "config.json").read_text())["model"]
        summary.append({"run": name, "functions": len(config["functions"]), "base": config["base"],
                        "cells": config["cells"], "max_steps": config["max_steps"],
                        **{k: r[k] for r in mine if r["task"] == "all" for k in ("n", "accuracy", "selection")},
                        "epochs": last["epoch"], "epoch_seconds": round(last.get("epoch_seconds", 0.0), 1)})
    write_csv(out / "summary.csv", summary)
    write_csv(out / "phrasings.csv", rows)
    write_csv(out / "epochs.csv", curves)
    plot(summary, out / "outside.png")
    print(format_table(summary))
    print(format_table([r for r in rows if r["phrasing"] != "all"]))
    print(f"wrote {out / 'summary.csv'}, {out / 'phrasings.csv'}, {out / 'epochs.csv'}, {out / 'outside.png'}")
    return {"summary": summary, "phrasings": rows, "epochs": curves, "config": asdict(cfg)}


def score(run_dir: Path, test_file: Path) -> list[dict]:
    """Exact-answer and selection accuracy of a run on ``test_file``, per task and
    phrasing (read from the file's ``phrasing`` keys), per task (phrasing "all") and
    over all of it. ``selection``: a right function was selected (the record's function
    or one of its equivalents, :meth:`Example.answered_by`); ``label``: the record's
    main function was."""
    _, model, tokenizer = load_run(run_dir)
    test = load_jsonl(test_file)
    with open(test_file, encoding="utf-8") as fh:
        phrasing = [json.loads(line).get("phrasing", "") for line in fh if line.strip()]
    ev = evaluate(model, tokenizer, test)
    scored = list(zip(test, phrasing, ev.answers, ev.chosen))
    tasks = sorted({e.task for e in test})
    groups = sorted({(e.task, p) for e, p, _, _ in scored}) + [(t, "all") for t in tasks] + [("all", "all")]
    rows = []
    for task, p in groups:
        mine = [(e, a, c) for e, q, a, c in scored if task in ("all", e.task) and p in ("all", q)]
        rows.append({"task": task, "phrasing": p, "n": len(mine),
                     "accuracy": round(sum(a == e.answer for e, a, _ in mine) / len(mine), 4),
                     "selection": round(sum(e.answered_by(c) for e, _, c in mine) / len(mine), 4),
                     "label": round(sum(c == e.function for e, _, c in mine) / len(mine), 4)})
    return rows


def plot(summary: list[dict], path: Path) -> None:
    bar_chart(path, [r["run"].removeprefix("outside-") for r in summary],
              {"exact answers": [r["accuracy"] for r in summary], "right function": [r["selection"] for r in summary]},
              "outside-style data, `train` with no flags", line=(0.95, "the bar (95%)"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = OutsideConfig()
    p.add_argument("--runs", default=",".join(d.runs), help=f"from {', '.join(RUNS)}")
    p.add_argument("--train", type=int, default=d.train, help="training questions per task")
    p.add_argument("--test", type=int, default=d.test, help="test questions per task")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device)
    p.add_argument("--out", default=None, help="output folder (default results/outside)")


def config_from_args(args: argparse.Namespace) -> OutsideConfig:
    return OutsideConfig(runs=names(args.runs, RUNS, "--runs"), train=args.train, test=args.test,
                         epochs=args.epochs, seed=args.seed, device=args.device, out=args.out)



