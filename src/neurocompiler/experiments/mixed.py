"""Selection and parsing across every task, by one model over the whole library.

One tiny LLaMA, trained from answers alone on an even mixture of arithmetic, Fibonacci,
sorting, counting and reversal questions, must pick the right library program for each
question and parse its inputs.

The paper trains one task at a time; this is ours. Every library function runs on every
question and the outputs are mixed by the selection (§3.4), so nothing but the answers
tells the model which program a question needs. Scored per task: exact answers, and how
often the selected (argmax) program is the one that answers it. Each seed is one
``neurocompiler train --task mixed`` run, kept under ``results/mixed/seed<s>/``.

The defaults are the ``mixed`` preset (``presets/mixed.json``), the parse its table in
docs/RESULTS.md was measured with: numbers as whole tokens (``bpe-numbers``), the
``offsets`` parse, a set of registers and a span (with its own keys) per function, a
character copy that may also be ranked from the question's end, and each function's own
answer loss beside the paper's (``selection.function_loss=1``), without which a
function that loses its questions to another's shortcut never learns them.
``neurocompiler train --task mixed`` trains with the general parse, as every task does
(``--preset mixed`` for this one); ``--parse general`` runs this experiment with it.
The experiment selects from the whole library (``train --task mixed``: the mixed task's
own functions) and sizes the cells to the longest of ``--lengths``.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass

from ..augment import OFFSETS_FROM, RANKS_FROM_END
from ..library import load_specs
from ..presets import load_preset, parse_names
from ..settings import build, fields
from ..tasks import MIXABLE, TASKS, load_jsonl
from ..tasks.strings import LENGTHS
from ..tokenizer import TOKENIZER_KINDS
from ..train import TrainConfig, evaluate, iter_metrics, load_run, train_or_reuse
from .common import bar_chart, format_table, ints, mean_std, names, results_dir, write_csv

PRESET = "mixed"  # the preset this experiment's table was measured with: the defaults below are its values
_SET = load_preset(PRESET).values


def _default(path: str):
    """The mixed preset's value of ``path`` (a dotted config field), else the field's default."""
    return _SET.get(path, fields()[path].default)


@dataclass
class MixedConfig:
    tasks: tuple[str, ...] = MIXABLE
    lengths: tuple[int, ...] = LENGTHS  # sort, count, reverse: their own default
    cells: int | None = None  # memory cells; None: the longest string's length
    examples: int = _default("examples")  # split 70/30, even across tasks
    epochs: int = _default("epochs")
    batch_size: int = _default("batch_size")
    lr: float = _default("lr")
    backbone_lr_scale: float = _default("backbone_lr_scale")
    tokenizer: str = _default("tokenizer")  # bpe-numbers: every number below 1000 one token, so a register can copy it
    parse: str | None = None  # a preset whose parse (its model fields) replaces the mixed preset's; None: that one
    per_function_registers: bool = _default("model.slots.per_function_registers")  # registers per function (RESULTS)
    per_function_spans: bool = _default("model.slots.per_function_spans")  # a span per function with memory (RESULTS)
    span_keys: bool = _default("model.slots.span_keys")  # each span's anchors with keys of their own (RESULTS)
    ranks_from_end: str = _default("model.slots.ranks_from_end")  # the letter in "In the string ..." (RESULTS)
    offsets_from: str = _default("model.slots.offsets_from")  # a number's offset from the word before's context
    function_loss: float = _default("model.selection.function_loss")  # each function's own answer loss (RESULTS)
    selection_floor: float = _default("model.selection.floor")  # exploration in training
    functions: tuple[str, ...] = ()  # empty: the whole library
    dim: int = _default("model.backbone.dim")
    layers: int = _default("model.backbone.layers")
    max_steps: int = _default("model.max_steps")
    seeds: tuple[int, ...] = (0,)
    device: str = _default("device")
    out: str | None = None


def train_config(cfg: MixedConfig, seed: int, out: str) -> TrainConfig:
    """Seed ``seed``'s run: the mixed preset, ``cfg.parse``'s parse if given, then
    this experiment's settings (which default to the preset's own)."""
    values = dict(_SET)
    if cfg.parse:
        values.update({k: v for k, v in load_preset(cfg.parse).values.items() if k.startswith("model.")})
    options = {"tasks": cfg.tasks}
    if any("lengths" in TASKS[t].defaults for t in cfg.tasks):
        options["lengths"] = cfg.lengths
    values.update({f"task_options.{k}": v for k, v in options.items()})
    values.update({"task": "mixed", "examples": cfg.examples, "epochs": cfg.epochs, "batch_size": cfg.batch_size,
                   "lr": cfg.lr, "backbone_lr_scale": cfg.backbone_lr_scale, "seed": seed, "tokenizer": cfg.tokenizer,
                   "device": cfg.device, "out": out, "model.base": 128, "model.cells": cfg.cells or max(cfg.lengths),
                   "model.functions": cfg.functions or tuple(load_specs()), "model.max_steps": cfg.max_steps,
                   "model.slots.per_function_registers": cfg.per_function_registers,
                   "model.slots.per_function_spans": cfg.per_function_spans, "model.slots.span_keys": cfg.span_keys,
                   "model.slots.ranks_from_end": cfg.ranks_from_end, "model.selection.function_loss": cfg.function_loss,
                   "model.selection.floor": cfg.selection_floor, "model.backbone.dim": cfg.dim,
                   "model.backbone.layers": cfg.layers})
    if values.get("model.slots.register_offsets"):
        values["model.slots.offsets_from"] = cfg.offsets_from
    if values["model.parsing"] == "general":  # its parse has none of the earlier parses' switches
        values = {k: v for k, v in values.items() if not k.startswith(("model.slots.", "model.selection."))}
    return build([("experiment mixed", values)])


def run(cfg: MixedConfig) -> dict:
    out = results_dir("mixed", cfg.out)
    rows, curves = [], []
    for seed in cfg.seeds:
        run_dir = out / f"seed{seed}"
        train_or_reuse(train_config(cfg, seed, str(run_dir)))
        curves.extend({"seed": seed, **m} for m in iter_metrics(run_dir))
        rows.extend({"seed": seed, **r} for r in per_task(run_dir))
    summary = []
    for task in (*cfg.tasks, "all"):
        mine = [r for r in rows if r["task"] == task]
        summary.append({"task": task, "n": sum(r["n"] for r in mine) // max(1, len(cfg.seeds)),
                        "accuracy": "%.4f ± %.4f" % mean_std(r["accuracy"] for r in mine),
                        "selection": "%.4f ± %.4f" % mean_std(r["selection"] for r in mine)})
    write_csv(out / "tasks.csv", rows)
    write_csv(out / "epochs.csv", curves)
    write_csv(out / "summary.csv", summary)
    plot(rows, (*cfg.tasks, "all"), out / "mixed.png")
    print(format_table(summary))
    print(f"wrote {out / 'summary.csv'}, {out / 'tasks.csv'}, {out / 'epochs.csv'}, {out / 'mixed.png'}")
    return {"tasks": rows, "summary": summary, "epochs": curves, "config": asdict(cfg)}


def per_task(run_dir) -> list[dict]:
    """Exact-answer and selection accuracy of a trained run on its test split, per task
    and over all of it."""
    _, model, tokenizer = load_run(run_dir)
    test = load_jsonl(run_dir / "data" / "test.jsonl")
    ev = evaluate(model, tokenizer, test)
    scored = list(zip(test, ev.answers, ev.chosen))
    rows = []
    for task in (*sorted({e.task for e in test}), "all"):
        mine = [(e, a, c) for e, a, c in scored if task in ("all", e.task)]
        rows.append({"task": task, "n": len(mine),
                     "accuracy": sum(a == e.answer for e, a, _ in mine) / len(mine),
                     "selection": sum(e.answered_by(c) for e, _, c in mine) / len(mine)})
    return rows


def plot(rows: list[dict], tasks, path) -> None:
    series = {label: [mean_std(r[key] for r in rows if r["task"] == t)[0] for t in tasks]
              for key, label in (("accuracy", "exact answers"), ("selection", "right program"))}
    bar_chart(path, list(tasks), series, "mixed: one model, every task, the whole library")


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = MixedConfig()
    p.add_argument("--tasks", default=",".join(d.tasks), help=f"from {', '.join(MIXABLE)}")
    p.add_argument("--lengths", default=",".join(map(str, d.lengths)), help="string lengths")
    p.add_argument("--cells", type=int, default=None,
                   help="memory cells (default: the longest length); a span may take more characters "
                   "than its string, e.g. the quote before it")
    p.add_argument("--examples", type=int, default=d.examples)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="the heads' learning rate")
    p.add_argument("--backbone-lr-scale", type=float, default=d.backbone_lr_scale, metavar="S",
                   help="the backbone learns at S * --lr")
    p.add_argument("--tokenizer", choices=TOKENIZER_KINDS, default=d.tokenizer)
    p.add_argument("--parse", choices=parse_names(), default=d.parse, metavar="PRESET",
                   help=f"a preset whose parse (its model fields) to train with (default: the {PRESET} preset's)")
    p.add_argument("--per-function-registers", action=argparse.BooleanOptionalAction,
                   default=d.per_function_registers,
                   help="a set of argument-register pointers per library function (default), or one shared set")
    p.add_argument("--per-function-spans", action=argparse.BooleanOptionalAction,
                   default=d.per_function_spans,
                   help="a span (start and end anchors) per library function with memory, or one shared span")
    p.add_argument("--selection-floor", type=float, default=d.selection_floor, metavar="EPS",
                   help="in training, mix the selection with the uniform distribution by EPS")
    p.add_argument("--span-keys", action=argparse.BooleanOptionalAction, default=d.span_keys,
                   help="each span's anchors score the tokens with a key projection of their own (default), "
                   "or with the shared one")
    p.add_argument("--ranks-from-end", nargs="?", const="all", default=d.ranks_from_end, choices=RANKS_FROM_END,
                   metavar="WHICH", help="a copying register may also rank its candidates from the question's "
                   "end: none, characters (default), or all (when WHICH is left out)")
    p.add_argument("--offsets-from", choices=OFFSETS_FROM, default=d.offsets_from,
                   help="with the offsets parse: read a number's offset from the word before it in context, "
                   "or from that word's own embedding")
    p.add_argument("--function-loss", type=float, default=d.function_loss, metavar="W",
                   help="in training, add W times the mean of each function's own answer loss "
                   "(0: the paper's loss)")
    p.add_argument("--functions", default="", help="library functions to select from (default all)")
    p.add_argument("--dim", type=int, default=d.dim)
    p.add_argument("--layers", type=int, default=d.layers)
    p.add_argument("--max-steps", type=int, default=d.max_steps, help="machine steps per pass")
    p.add_argument("--seeds", default=",".join(map(str, d.seeds)), help="comma-separated seeds")
    p.add_argument("--device", default=d.device)
    p.add_argument("--out", default=None, help="output folder (default results/mixed)")


def config_from_args(args: argparse.Namespace) -> MixedConfig:
    functions = names(args.functions, tuple(load_specs()), "--functions") if args.functions else ()
    return MixedConfig(tasks=names(args.tasks, MIXABLE, "--tasks"), lengths=ints(args.lengths), cells=args.cells,
                       examples=args.examples, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       backbone_lr_scale=args.backbone_lr_scale, tokenizer=args.tokenizer,
                       parse=args.parse, per_function_registers=args.per_function_registers,
                       per_function_spans=args.per_function_spans,
                       selection_floor=args.selection_floor, function_loss=args.function_loss,
                       ranks_from_end=args.ranks_from_end, offsets_from=args.offsets_from, span_keys=args.span_keys,
                       functions=functions, dim=args.dim, layers=args.layers,
                       max_steps=args.max_steps, seeds=ints(args.seeds), device=args.device, out=args.out)
