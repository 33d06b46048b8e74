"""Does the library help? The augmented model against a baseline without the computer, in
and out of distribution.

Every (task, model, seed) cell is one training run on the same data, tokenizer, backbone
sizes, budget and seed; only the model differs. Each run is scored on its own test
split (in distribution) and, where the task has one, on a fresh out-of-distribution set:
longer strings than any seen in training, deeper Fibonacci recursions, or arithmetic on
operands wider than any seen, answered at a wider base with the exact ALU swapped in
(``Setup.wider``).

Models (``--models``):

* ``augmented``: the backbone, selection and parsing heads, and the library (§3.4),
  with the parse the grid was measured with (``Setup.parse``, a preset: ``spans`` for
  sort and reverse, ``offsets`` for fib, ``copies`` for count, ``slots`` for arithmetic;
  ``--models general`` is the default parse of ``train``);
* ``direct``: the same backbone with heads straight on the pooled z, no computer
  (:class:`neurocompiler.baselines.DirectLM`);
* ``autoregressive``: the same sizes as a decoder that writes the answer, no computer
  (:class:`neurocompiler.baselines.CausalLM`);
* ablations of ``augmented``: the named parses ``slots`` (soft pointers, cells valued
  in context), ``spans``, ``copies`` (spans, and registers that may copy a number or a
  character) and ``pooled`` (the paper's parse, linear heads on the pooled z); ``embedding-cells`` (soft pointers whose cells copy a token's own embedding, so
  the parse cannot do a list program's work itself), ``span-length`` (that, and r1
  always the quoted span's length), ``trainable-library`` (the compiled library adapts),
  ``circuit-alu`` (the circuit ALU instead of lookup tables), ``full-library``
  (selection over the whole library, not just the task's functions), ``char-tokens``
  and ``bpe-tokens`` (the other tokenizer).

Tasks (``--tasks``) and their settings are the table :data:`SETUPS`; ``sort`` is left
out by default, as it costs seconds per step on a CPU (docs/RESULTS.md). Each run is
kept under ``results/baselines/<task>-<model>-seed<s>/``.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field

from ..augment import AugmentConfig
from ..library import load_specs
from ..presets import preset_model
from ..tasks import generate, load_jsonl, save_jsonl
from ..train import TrainConfig, evaluate, load_run, train_or_reuse
from .common import format_table, ints, mean_std, names, results_dir, write_csv


@dataclass(frozen=True)
class Setup:
    """How one task is trained, and tested out of distribution (``ood``: the task
    options of the OOD set; None: no OOD set). With ``wider`` = w > 1 the OOD set is
    asked at base w * base, every operand at least ``base`` (wider than any seen), and
    the model answers there widened (``Answerer.widen``) with the ``wide_alu``.
    ``max_steps`` covers the longest OOD input (reverse 12: 66 machine steps, count 12:
    90, fib depth 8: 64, sort 16: about 1,540). ``parse``: the preset of the augmented
    model's parse."""

    functions: tuple[str, ...]
    options: dict = field(default_factory=dict)
    ood: dict | None = None
    cells: int = 2
    tokenizer: str = "bpe"
    max_steps: int = 2000
    wider: int = 1
    wide_alu: str = "exact"
    parse: str = "slots"

    def ood_set(self, base: int) -> tuple[dict, int] | None:
        """The OOD set's task options and base, for a model trained at ``base``."""
        if self.wider > 1:
            return {**(self.ood or {}), "operands": (base, self.wider * base - 1)}, self.wider * base
        return None if self.ood is None else (dict(self.ood), base)


SETUPS = {
    # bpe-numbers: every number up to 999 is a token, so the OOD numbers 128..255 can be read
    "arithmetic": Setup(("add", "sub", "mul", "div"), tokenizer="bpe-numbers", wider=2),
    "fib": Setup(("fib",), {"depths": (1, 2, 3, 4)}, {"depths": (6, 8)}, max_steps=100, parse="offsets"),
    # bpe: the letter is a token of its own, and the string's closing quote ('"?') is not
    "count": Setup(("count",), {"lengths": (4, 6, 8)}, {"lengths": (12,)}, cells=13, tokenizer="bpe",
                   max_steps=120, parse="copies"),
    # the protocol: train on strings of length <= 12, test on 16
    "reverse": Setup(("reverse",), {"lengths": (8, 10, 12)}, {"lengths": (16,)}, cells=17, tokenizer="char",
                     max_steps=120, parse="spans"),
    "sort": Setup(("insertion_sort",), {"lengths": (8, 10, 12)}, {"lengths": (16,)}, cells=17,
                  tokenizer="char", max_steps=2000, parse="spans"),
}
@dataclass(frozen=True)
class Variant:
    """A model of the grid: its architecture, what it changes in the task's
    :class:`AugmentConfig` (``functions="all"``: the whole library), a tokenizer
    that replaces the task's, and a preset whose parse replaces the task's."""

    architecture: str = "augmented"
    overrides: dict = field(default_factory=dict)
    tokenizer: str | None = None
    parse: str | None = None


MODELS = {
    "augmented": Variant(),
    "direct": Variant("direct"),
    "autoregressive": Variant("autoregressive"),
    # ablations of the augmented model
    "slots": Variant(overrides=preset_model("slots")),
    "spans": Variant(overrides=preset_model("spans")),
    "copies": Variant(overrides=preset_model("copies")),
    "pooled": Variant(overrides=preset_model("pooled")),
    "general": Variant(parse="general"),
    "embedding-cells": Variant(overrides={**preset_model("slots"), "slots.cell_values": "embedding"}),
    "span-length": Variant(overrides={**preset_model("slots"), "slots.cell_values": "embedding",
                                      "slots.list_length": "span"}),
    "trainable-library": Variant(overrides={"trainable_library": True}),
    "circuit-alu": Variant(overrides={"alu": "circuit"}),
    "full-library": Variant(overrides={"functions": "all"}),
    "char-tokens": Variant(tokenizer="char"),
    "bpe-tokens": Variant(tokenizer="bpe"),
}


@dataclass
class BaselinesConfig:
    tasks: tuple[str, ...] = ("arithmetic", "fib", "count", "reverse")
    models: tuple[str, ...] = ("augmented", "direct", "autoregressive")
    examples: int = 10_000  # per task, split 70/30
    ood_examples: int = 500
    epochs: int = 3
    batch_size: int = 32
    lr: float = 3e-3
    backbone_lr_scale: float = 0.1
    base: int = 128  # ASCII: the string tasks' letters need it
    dim: int = 64
    layers: int = 3
    seeds: tuple[int, ...] = (0, 1)
    max_steps: int | None = None  # a cap on every task's machine steps (scaled-down grids)
    device: str = "auto"
    out: str | None = None


def run(cfg: BaselinesConfig) -> dict:
    out = results_dir("baselines", cfg.out)
    rows = []
    for task in cfg.tasks:
        setup = SETUPS[task]
        for model_name in cfg.models:
            variant = MODELS[model_name]
            options = {"functions": setup.functions, **preset_model(variant.parse or setup.parse),
                       **variant.overrides}
            if options["functions"] == "all":
                options["functions"] = tuple(load_specs())
            for seed in cfg.seeds:
                run_dir = out / f"{task}-{model_name}-seed{seed}"
                steps = min(setup.max_steps, cfg.max_steps or setup.max_steps)
                model = AugmentConfig.from_dict({"base": cfg.base, "cells": setup.cells, "max_steps": steps,
                                                 "backbone": {"dim": cfg.dim, "layers": cfg.layers}, **options})
                metrics = train_or_reuse(TrainConfig(task=task, task_options=dict(setup.options), examples=cfg.examples,
                                                     epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                                                     backbone_lr_scale=cfg.backbone_lr_scale, seed=seed,
                                                     tokenizer=variant.tokenizer or setup.tokenizer, device=cfg.device,
                                                     out=str(run_dir), model=model, architecture=variant.architecture))
                row = {"task": task, "model": model_name, "seed": seed,
                       "in_distribution": metrics["test_accuracy"], "out_of_distribution": None,
                       "final_loss": metrics["train_loss"]}
                ood_set = setup.ood_set(cfg.base)
                if ood_set is not None:
                    ood_options, base = ood_set
                    ood = generate(task, cfg.ood_examples, seed + 1_000_003, base=base, **ood_options)
                    save_jsonl(run_dir / "data" / "ood.jsonl", ood)
                    wide = (base, setup.wide_alu) if base != cfg.base else (None, None)
                    row["out_of_distribution"] = score(run_dir, load_jsonl(run_dir / "data" / "ood.jsonl"), *wide)
                rows.append(row)
    summary = []
    for task in cfg.tasks:
        first = out / f"{task}-{cfg.models[0]}-seed{cfg.seeds[0]}" / "data"
        train_set = load_jsonl(first / "train.jsonl")
        ood_file = first / "ood.jsonl"
        summary.append({"task": task, "model": "(commonest answer)", "seeds": 1,
                        "in_distribution": "%.4f" % majority(train_set, load_jsonl(first / "test.jsonl")),
                        "out_of_distribution": "%.4f" % majority(train_set, load_jsonl(ood_file))
                        if ood_file.is_file() else "-", "ood_test": "-"})
        for model_name in cfg.models:
            mine = [r for r in rows if r["task"] == task and r["model"] == model_name]
            ood = [r["out_of_distribution"] for r in mine if r["out_of_distribution"] is not None]
            summary.append({"task": task, "model": model_name, "seeds": len(mine),
                            "in_distribution": "%.4f ± %.4f" % mean_std(r["in_distribution"] for r in mine),
                            "out_of_distribution": "%.4f ± %.4f" % mean_std(ood) if ood else "-",
                            "ood_test": _describe(SETUPS[task], cfg.base)})
    write_csv(out / "runs.csv", rows)
    write_csv(out / "summary.csv", summary)
    plot(rows, cfg, out / "baselines.png")
    print(format_table(summary))
    print(f"wrote {out / 'summary.csv'}, {out / 'runs.csv'}, {out / 'baselines.png'}")
    return {"runs": rows, "summary": summary, "config": asdict(cfg)}


def majority(train_set, test_set) -> float:
    """Test accuracy of always giving the training split's commonest answer."""
    from collections import Counter

    top = Counter(str(e.answer) for e in train_set).most_common(1)[0][0]
    return sum(str(e.answer) == top for e in test_set) / len(test_set)


def score(run_dir, examples, base: int | None = None, alu: str | None = None) -> float:
    """Exact-answer accuracy of a trained run on ``examples``, answered at ``base`` with
    ``alu`` when given (``load_run``)."""
    _, model, tokenizer = load_run(run_dir, base=base, alu=alu)
    return evaluate(model, tokenizer, examples).accuracy


def _describe(setup: Setup, base: int) -> str:
    ood = setup.ood_set(base)
    if ood is None:
        return "-"
    options, wide = ood
    text = "; ".join(f"{k} {','.join(map(str, v))}" if k != "operands" else f"operands {v[0]}..{v[1]}"
                     for k, v in options.items())
    return text + (f" at base {wide}, {setup.wide_alu} ALU" if wide != base else "")


def plot(rows: list[dict], cfg: BaselinesConfig, path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(6.4, 2.2 * len(cfg.tasks)), 3.8))
    axes = [fig.add_subplot(1, 2, i + 1) for i in range(2)]
    width = 0.8 / max(1, len(cfg.models))
    for ax, key, title in zip(axes, ("in_distribution", "out_of_distribution"),
                              ("in distribution", "out of distribution")):
        for i, model_name in enumerate(cfg.models):
            means = []
            for task in cfg.tasks:
                vals = [r[key] for r in rows if r["task"] == task and r["model"] == model_name
                        and r[key] is not None]
                means.append(mean_std(vals)[0] if vals else 0.0)
            ax.bar([j + i * width for j in range(len(cfg.tasks))], means, width, label=model_name)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(cfg.tasks))], list(cfg.tasks))
        ax.set_ylim(0, 1.02)
        ax.set_title(title)
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel("exact answers (test)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = BaselinesConfig()
    p.add_argument("--tasks", default=",".join(d.tasks), help=f"from {', '.join(SETUPS)}")
    p.add_argument("--models", default=",".join(d.models), help=f"from {', '.join(MODELS)}")
    p.add_argument("--examples", type=int, default=d.examples, help="per task, split 70/30")
    p.add_argument("--ood-examples", type=int, default=d.ood_examples)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="the heads' learning rate")
    p.add_argument("--backbone-lr-scale", type=float, default=d.backbone_lr_scale, metavar="S")
    p.add_argument("--base", type=int, default=d.base)
    p.add_argument("--dim", type=int, default=d.dim)
    p.add_argument("--layers", type=int, default=d.layers)
    p.add_argument("--seeds", default=",".join(map(str, d.seeds)), help="comma-separated seeds")
    p.add_argument("--max-steps", type=int, default=None, help="cap every task's machine steps")
    p.add_argument("--device", default=d.device)
    p.add_argument("--out", default=None, help="output folder (default results/baselines)")


def config_from_args(args: argparse.Namespace) -> BaselinesConfig:
    return BaselinesConfig(tasks=names(args.tasks, tuple(SETUPS), "--tasks"),
                           models=names(args.models, tuple(MODELS), "--models"), examples=args.examples,
                           ood_examples=args.ood_examples, epochs=args.epochs, batch_size=args.batch_size,
                           lr=args.lr, backbone_lr_scale=args.backbone_lr_scale, base=args.base, dim=args.dim,
                           layers=args.layers, seeds=ints(args.seeds), max_steps=args.max_steps,
                           device=args.device, out=args.out)
