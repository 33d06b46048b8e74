"""The ``train``, ``eval`` and ``ask`` commands: their arguments, the
:class:`~neurocompiler.train.TrainConfig` of a ``train`` command line, and the check
that ``train --resume`` changes nothing but how long and where the run trains.

``train`` has a few flags; every other setting is a field of the run's config, given
as ``--set KEY=VALUE`` or by a preset file (``--preset NAME|FILE.json``,
:mod:`neurocompiler.settings`). Later wins: the dataclasses' defaults (and what
``train`` derives from the data), the default preset (``general``, for every task), each
``--preset`` in turn, the flags, each ``--set`` in turn.
"""

from __future__ import annotations

import argparse
import json
import shutil
import textwrap
from pathlib import Path

from . import presets, settings
from .cli_args import _budget_options, _finite, _int_at_least, _integer
from .errors import InputError

# the train flags that are config fields: argparse dest -> dotted path (settings.fields)
FLAG_FIELDS = {"task": "task", "train_file": "train_file", "test_file": "test_file", "answers": "answers",
               "out": "out", "epochs": "epochs", "batch_size": "batch_size", "lr": "lr", "seed": "seed",
               "functions": "model.functions", "base": "model.base", "cells": "model.cells",
               "max_steps": "model.max_steps", "model": "model.backbone.model_path", "device": "device"}
# what a resume may change: where the run is, how long it trains, where it runs
RESUMABLE = {"out", "epochs", "device"}

_DESCRIPTION = ("Train a LLaMA-style model (from scratch, or --model PATH, a local Hugging Face checkpoint) to "
                "answer questions by selecting a library program and parsing its inputs, from answers alone. "
                "Writes the run directory --out (config, tokenizer, data split, safetensors checkpoint, metrics "
                "CSV/JSONL, curves.png). A progress bar shows when stderr is a terminal. Several processes: "
                "torchrun --nproc_per_node K -m neurocompiler train ... Memory: what is estimated to need more "
                "than $NEUROCOMPILER_MEMORY_BUDGET (e.g. 4G; default half of the available memory) is refused "
                "before it runs.")


def _width() -> int:
    return max(40, min(100, shutil.get_terminal_size().columns - 2))  # argparse's own, at most 100


def _epilog() -> str:
    lines = ["presets (--preset NAME; [train]: the default of every task):"]
    for name in presets.preset_names():
        preset = presets.load_preset(name)
        tasks = " [train]" if name == presets.DEFAULT else ""
        lines += textwrap.wrap(f"{name}{tasks}: {preset.description}", _width(), initial_indent="  ",
                               subsequent_indent="      ")
    lines += [""] + textwrap.wrap(
        "--set KEY=VALUE sets any field of the run's config (TrainConfig; model: AugmentConfig; its groups "
        "model.backbone, model.slots, model.selection) by its dotted path or its name, or an option of the task: --set dim=64, --set "
        "tokenizer=bpe, --set span_candidates=8, --set per_function_spans=true, --set lengths=4,6,8. Later wins: "
        "the defaults, the default preset (general), each --preset, the flags, each --set. Every key, its type and "
        "default, and every preset: docs/PRESETS.md.", _width())
    return "\n".join(lines)


def add_commands(sub) -> None:
    """The ``train``, ``eval`` and ``ask`` subcommands."""
    default = {dest: settings.fields()[path].default for dest, path in FLAG_FIELDS.items()}
    p = sub.add_parser("train", help="train a LLaMA augmented with the library",
                       description=textwrap.fill(_DESCRIPTION, _width()), epilog=_epilog(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", help="arithmetic | fib | sort | count | reverse | mixed | jsonl (default: jsonl with "
                   "--train, else arithmetic)")
    p.add_argument("--train", dest="train_file", metavar="FILE", help="--task jsonl: training data")
    p.add_argument("--test", dest="test_file", metavar="FILE", help="--task jsonl: test data")
    p.add_argument("--answers", choices=("auto", "int", "str"),
                   help="--task jsonl: how answers read: auto (default; a string of digits such as \"17\" is "
                   "an integer), int, or str (every answer is text)")
    p.add_argument("--out", metavar="DIR", help=f"the run directory (default {default['out']})")
    p.add_argument("--epochs", type=_int_at_least(1), metavar="N", help=f"default {default['epochs']}")
    p.add_argument("--batch-size", type=_int_at_least(1), metavar="N", help=f"default {default['batch_size']}")
    p.add_argument("--lr", type=_finite, help=f"learning rate of the heads (default {default['lr']:g}; the "
                   "backbone's is backbone_lr_scale times it)")
    p.add_argument("--seed", type=_integer, metavar="N", help=f"default {default['seed']}")
    p.add_argument("--functions", metavar="F,F,...", help="library functions to select from "
                   "(default: the task's; --task jsonl: the whole library)")
    p.add_argument("--base", type=_int_at_least(2), metavar="N",
                   help="values are 0..N-1 (default: --task jsonl fits it to the training file: the least power "
                   "of two above its numbers, answers' characters and the library's length; a generated task 128)")
    p.add_argument("--cells", type=_int_at_least(1), metavar="N", help="memory cells parsed (default: --task "
                   "jsonl fits them to the training file: its longest string answer and question; a generated "
                   "task its preset's, else 16)")
    p.add_argument("--max-steps", type=_int_at_least(1), metavar="N",
                   help="machine steps per pass (default: --task jsonl measures the library's longest run at the "
                   "run's base and cells on the interpreter; a generated task its preset's, else 2000)")
    p.add_argument("--model", metavar="PATH", help="local Hugging Face LLaMA checkpoint directory")
    p.add_argument("--device", metavar="NAME", help=f"auto | cpu | cuda | cuda:I | mps (default {default['device']})")
    p.add_argument("--resume", action="store_true", help="continue the run in --out (it may train for more "
                   "--epochs; every other setting stays the run's own)")
    p.add_argument("--overwrite", action="store_true", help="replace the run in --out: the old run is moved "
                   "aside to OUT.old-TIMESTAMP, not deleted")
    p.add_argument("--preset", action="append", default=[], dest="presets", metavar="NAME|FILE.json",
                   help="settings from a preset (below) or a JSON file of the same shape; repeatable, later wins")
    p.add_argument("--set", action="append", default=[], dest="settings", metavar="KEY=VALUE",
                   help="one setting, e.g. --set dim=64 (below); repeatable, later wins")
    _record_given(p)

    p = sub.add_parser("eval", help="accuracy of a trained run",
                       description="Evaluate a run on its own test split or on a JSONL file.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--test", dest="test_file", metavar="FILE.jsonl")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true", help='print {"accuracy": float, "n": int}')
    p.add_argument("--base", type=int, default=None, metavar="N",
                   help="answer at a wider base than the run's (e.g. 256 after training at 128): "
                   "the library runs on a wider machine and the heads give unseen values probability 0")
    p.add_argument("--alu", default=None, metavar="KIND",
                   help="swap the library's ALU: table, circuit, exact, dense or dense_best "
                   "(default: the run's; the table ALU grows as base^2)")
    _budget_options(p)

    p = sub.add_parser("ask", help="answer a question with a trained run",
                       description="Print the answer, the selected program and its probability, "
                       "the parsed inputs and the machine's confidence.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("question")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true")
    _budget_options(p)


def _record_given(parser: argparse.ArgumentParser) -> None:
    """Make every option of ``parser`` note, when given, its dest in ``given_options``
    (so that ``train --resume`` can tell a flag given from a default)."""
    for action in parser._actions:
        if not action.option_strings or action.dest == "help":
            continue
        base = type(action)

        def call(self, parser, namespace, values, option_string=None, _base=base):
            namespace.given_options = {**(getattr(namespace, "given_options", None) or {}), self.dest: option_string}
            _base.__call__(self, parser, namespace, values, option_string)
        action.__class__ = type(f"Given{base.__name__}", (base,), {"__call__": call})


def _defaults(task: str) -> dict:
    """What ``train`` chooses where a dataclass default does not fit: the task's library
    functions (a JSONL run: the whole library); base and step budget left to choose
    (None: a generated task gets 128 and 2000 in make_data, a JSONL run fits them to its
    data), and a JSONL run's cells too."""
    from .tasks import TASKS

    if task in TASKS:
        functions = tuple(TASKS[task].functions)
    else:
        from .library import load_specs
        functions = tuple(load_specs())
    out = {"task": task, "model.functions": functions, "model.base": None, "model.max_steps": None}
    if task not in TASKS:
        out["model.cells"] = None
    return out


def _flags(args) -> dict:
    out = {}
    for dest, path in FLAG_FIELDS.items():
        value = getattr(args, dest, None)
        if value is not None:
            out[path] = tuple(f.strip() for f in value.split(",") if f.strip()) if dest == "functions" else value
    return out


def compose(args) -> tuple[object, list[tuple[str, list[str]]]]:
    """The TrainConfig of parsed ``train`` arguments, and what the command line gave:
    (the option as written, the dotted paths it sets), for :func:`check_resume`."""
    chosen = [presets.load_preset(ref) for ref in args.presets]
    flags = _flags(args)
    raw = [text.partition("=") for text in args.settings]
    given = {**{k: v for p in chosen for k, v in p.values.items()}, **flags,
             **{key.strip(): value for key, _, value in raw if key.strip() in ("task", "train_file", "test_file")}}
    task = given.get("task") or ("jsonl" if given.get("train_file") or given.get("test_file") else "arithmetic")
    sets = [(text, *settings.parse_set(text, task)) for text in args.settings]
    preset = presets.DEFAULT
    layers = [("train's defaults", _defaults(task)),
              (f"the default preset {preset}", presets.load_preset(preset).values),
              *((f"--preset {p.name}", p.values) for p in chosen),
              ("the flags", flags),
              *((f"--set {text}", {path: value}) for text, path, value in sets)]
    cfg = settings.build(layers)
    options = [(option, [FLAG_FIELDS[dest]]) for dest, option in (getattr(args, "given_options", None) or {}).items()
               if dest in FLAG_FIELDS]
    options += [(f"--preset {p.name}", list(p.values)) for p in chosen]
    options += [(f"--set {text}", [path]) for text, path, _ in sets]
    return cfg, options


def train_config(args):
    """The :class:`~neurocompiler.train.TrainConfig` of parsed ``train`` arguments: what
    ``neurocompiler train ...`` trains (``experiment outside`` trains the same)."""
    return compose(args)[0]


def _plain(config: dict) -> dict:
    return settings.flatten(json.loads(json.dumps(config)))  # tuples as the saved lists


def check_resume(args, cfg, options) -> None:
    """Refuse ``train --resume`` with a flag, ``--set`` or ``--preset`` that would change
    the run (one line naming it); one that repeats the run's own value is fine."""
    from .tasks import TASKS
    from .train import TrainConfig

    if args.overwrite:
        raise InputError("--resume and --overwrite: choose one (continue the run, or replace it)")
    path = Path(cfg.out) / "config.json"
    if not path.is_file():
        return  # train() says there is no run to resume
    try:
        run = TrainConfig.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError):
        return  # train() reports the damaged config
    saved, new = _plain(run.to_dict()), _plain(cfg.to_dict())
    defaults = _plain({"task_options": dict(TASKS[run.task].defaults) if run.task in TASKS else {}})
    for option, paths in options:
        for name in paths:
            if name in RESUMABLE:
                continue
            was = saved.get(name, defaults.get(name))
            if new.get(name) != was:
                raise InputError(f"{option}: cannot change when resuming (the run's {name.rsplit('.', 1)[-1]} is "
                                 f"{was!r}); drop it to continue the run as it was, or start a new run (another "
                                 f"--out, or --overwrite)")


def cmd_train(args) -> int:
    from .train import train

    cfg, options = compose(args)
    if args.resume:
        check_resume(args, cfg, options)
    print(json.dumps(train(cfg, resume=args.resume, overwrite=args.overwrite)))
    return 0


def cmd_eval(args) -> int:
    from .train import evaluate_run

    result = evaluate_run(args.run_dir, args.test_file, args.device, args.base, args.alu)
    print(json.dumps(result) if args.json else f"accuracy {100 * result['accuracy']:.2f}% on {result['n']} examples")
    return 0


def cmd_ask(args) -> int:
    from .train import ask

    out = ask(args.run_dir, args.question, args.device)
    if args.json:
        print(json.dumps(out))
    elif "program" not in out:  # a baseline without the computer
        print(f"answer: {out['answer']!r}\nconfidence: {out['confidence']:.3f} (no computer)")
    else:
        regs = " ".join(f"{k}={v}" for k, v in out["registers"].items())
        memory = out["memory"]
        if memory and all(32 <= c < 127 for c in memory):  # printable: the text it read, too
            memory = f"{memory} ({''.join(map(chr, memory))!r})"
        print(f"answer: {out['answer']!r}\nprogram: {out['program']} (p = {out['p_program']:.3f})\n"
              f"parsed: {regs} memory={memory}\nconfidence: {out['confidence']:.3f} "
              f"(halted {out['p_halted']:.3f})")
    return 0
