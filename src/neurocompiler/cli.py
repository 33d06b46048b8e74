"""The ``neurocompiler`` command: argument parsing and error reporting only.

The logic lives in :mod:`neurocompiler.runner` (and :mod:`neurocompiler.plots`,
:mod:`neurocompiler.bench`). Every :class:`~neurocompiler.errors.NeurocompilerError`
and every command-line mistake is reported as one line on stderr,
``neurocompiler: error: ...``, with exit status 2; anything else is a bug and propagates.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Sequence

from . import runner
from .errors import NeurocompilerError, NotHaltedError

PROG = "neurocompiler"
EXIT_USAGE = 2


class _UsageError(Exception):
    """A command-line mistake found by argparse."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None


def _int_at_least(lo: int):
    def parse(text: str) -> int:
        val = _integer(text)
        if val < lo:
            raise argparse.ArgumentTypeError(f"must be at least {lo}, got {val}")
        return val
    parse.__name__ = f"integer >= {lo}"
    return parse


def _finite(text: str) -> float:
    """A float flag: a finite number (``nan`` and ``inf`` are refused)."""
    try:
        val = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(val):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return val


_finite.__name__ = "finite number"


def _int_list(text: str) -> list[int]:
    try:
        values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a comma-separated list of positive integers") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a comma-separated list of positive integers")
    return values


def _machine_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("machine")
    # Range checks happen in runner.make_config (MachineConfig), in one place.
    g.add_argument("--base", type=_integer, default=128, metavar="N",
                   help="values are 0..N-1, arithmetic mod N (default 128)")
    g.add_argument("--registers", type=_integer, default=16, metavar="N",
                   help="registers r0..r(N-1) (default 16)")
    g.add_argument("--memory", type=_integer, default=None, metavar="N",
                   help="memory cells M[0..N-1] (default: = base)")


def _size(text: str) -> str:
    """A ``--memory-budget`` value, checked; kept as written, for the messages."""
    from .resources import parse_size

    try:
        parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


class _MemoryBudget(argparse.Action):
    """Records ``--memory-budget`` in :mod:`neurocompiler.resources`, whose guards read it."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from . import resources

        resources.set_flag(values)
        setattr(namespace, self.dest, values)


def _budget_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--memory-budget", type=_size, action=_MemoryBudget, metavar="SIZE",
                   help="refuse (one line, exit 2) what is estimated to need more memory than SIZE, "
                   "e.g. 512M, 4G, 2.5GB (powers of 1024); default: $NEUROCOMPILER_MEMORY_BUDGET, "
                   "else half of the available memory")


def _program_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE.asm",
                   help="assembly files, linked in the order given")
    p.add_argument("--entry", metavar="LABEL", help="start at LABEL (default: address 0)")


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="rI=V", dest="sets",
                   help="initial register value, e.g. --set r1=8 (repeatable)")
    p.add_argument("--mem", metavar="V,V,...", help="initial memory, cells from 0: --mem 5,3,9")
    p.add_argument("--max-steps", type=_int_at_least(1), default=runner.DEFAULT_MAX_STEPS,
                   metavar="N", help=f"step budget (default {runner.DEFAULT_MAX_STEPS})")
    p.add_argument("--soft", action="store_true",
                   help="run on the differentiable machine instead of the reference interpreter")
    # No `choices`: naming them would import torch; runner checks the name.
    p.add_argument("--alu", default="table", metavar="KIND",
                   help="the machine's ALU for --soft: table (default), circuit, exact, dense or dense_best")
    p.add_argument("--soften", type=_finite, default=0.0, metavar="EPS",
                   help="with --soft: move mass EPS of every initial register and cell onto "
                        "the uniform distribution, to watch the run drift (default 0)")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("neurocompiler")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="A differentiable register machine and its "
                     "neural compiler.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from . import resources

    resources.set_flag(None)  # a --memory-budget of an earlier parse does not carry over

    p = sub.add_parser("run", help="run a program", description="Assemble, link and run a "
                       "program on the reference interpreter, or with --soft on the "
                       "differentiable machine.")
    _program_options(p)
    _machine_options(p)
    _run_options(p)
    _budget_options(p)
    p.add_argument("--json", action="store_true", help="print the outcome as one JSON object")

    p = sub.add_parser("trace", help="print (and plot) a run step by step",
                       description="Run a program step by step and print a trace; with "
                       "--png, also draw the counter's distribution and the registers over time.")
    _program_options(p)
    _machine_options(p)
    _run_options(p)
    _budget_options(p)
    p.add_argument("--png", metavar="PATH", help="write a figure of the trace to PATH")

    p = sub.add_parser("compile", help="compile a program to safetensors",
                       description="Compile a program into the machine's parameters and "
                       "save them (safetensors).")
    _program_options(p)
    _machine_options(p)
    _budget_options(p)
    p.add_argument("-o", "--output", required=True, metavar="OUT.safetensors",
                   help="where to write the compiled program")

    p = sub.add_parser("bench", help="run a benchmark", description="Benchmarks of the ALU, "
                       "of the machine, and of training the augmented tiny LLaMA with and "
                       "without the computer (neurocompiler.bench).")
    p.add_argument("kind", choices=("alu", "machine", "train", "memory"))
    p.add_argument("--json", action="store_true", help="print each row as one JSON line")
    p.add_argument("--sizes", type=_int_list, metavar="N,N,...",
                   help="bases to measure (alu: table sizes; machine: one run per base)")
    p.add_argument("--batch", type=_int_list, metavar="B,B,...", help="batch sizes")
    p.add_argument("--repeats", type=_int_at_least(1), metavar="N", help="timed repeats")

    p = sub.add_parser("demo", help="train a tiny LLaMA to use the calculator, then ask it questions",
                       description="Train a tiny LLaMA from scratch, on CPU, to answer natural-"
                       "language arithmetic by selecting a library program and parsing its inputs, "
                       "from answers alone; print its test accuracy and answer held-out questions "
                       "with the selected program, the parsed inputs and the confidence. With "
                       "--machine: compile the paper's Figure 4 insertion sort and compare the "
                       "reference interpreter with the differentiable machine instead.")
    p.add_argument("--machine", action="store_true", help="the Figure 4 machine demo instead")
    # defaults (None here) are DemoConfig's: 10,000 examples, 3 epochs, seed 0, dim 128, 4 layers
    p.add_argument("--examples", type=_int_at_least(20), help="generated examples, split 70/30")
    p.add_argument("--epochs", type=_int_at_least(1))
    p.add_argument("--seed", type=_integer)
    p.add_argument("--dim", type=_int_at_least(8))
    p.add_argument("--layers", type=_int_at_least(2))
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/demo)")
    p.add_argument("--device", help="auto | cpu | cuda")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    _budget_options(p)

    p = sub.add_parser("library", help="the standard library of compiled programs",
                       description="List the library's functions with their calling "
                       "conventions, or run one function on its own.")
    lib = p.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    q = lib.add_parser("list", help="every function with its calling convention")
    q.add_argument("--json", action="store_true", help="one JSON object per function")
    q = lib.add_parser("run", help="run one function, hard or --soft")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--args", nargs="*", type=_integer, default=[], metavar="V",
                   help="values for the function's input registers, in order")
    q.add_argument("--mem", metavar="V,V,...", help="memory cells from 0 (list arguments)")
    _machine_options(q)
    q.add_argument("--max-steps", type=_int_at_least(1), default=runner.DEFAULT_MAX_STEPS, metavar="N")
    q.add_argument("--soft", action="store_true", help="run on the differentiable machine")
    q.add_argument("--alu", default="table", metavar="KIND", help="the ALU for --soft")
    q.add_argument("--json", action="store_true", help="print the outcome as one JSON object")
    _budget_options(q)

    _lm_commands(sub)

    from .experiments import EXPERIMENTS, experiment_module

    p = sub.add_parser("experiment", help="reproduce a table or figure of the paper",
                       description="Run an experiment: it prints a table and writes its CSV "
                       "and PNG under results/NAME/ (or --out).")
    names = p.add_subparsers(dest="experiment", metavar="NAME", required=True)
    for name in EXPERIMENTS:
        module = experiment_module(name)
        q = names.add_parser(name, help=module.__doc__.strip().splitlines()[0],
                             description=module.__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(q)
        _budget_options(q)
    return parser


def _lm_commands(sub) -> None:
    from .augment import CELL_VALUES, LIST_LENGTHS, OFFSETS_FROM, PARSES, PARSINGS, RANKS_FROM_END, REGISTER_VALUES
    from .tokenizer import TOKENIZER_KINDS

    p = sub.add_parser("train", help="train a LLaMA augmented with the library",
                       description="Train a LLaMA-style model (from scratch, or --model PATH, a "
                       "local Hugging Face checkpoint) to answer questions by selecting a "
                       "library program and parsing its inputs, from answers alone. Writes "
                       "the run directory --out (config, tokenizer, data split, safetensors "
                       "checkpoint, metrics CSV/JSONL, curves.png). Several processes: "
                       "torchrun --nproc_per_node K -m neurocompiler train ...")
    p.add_argument("--task", default=None,
                   help="arithmetic | fib | sort | count | reverse | mixed | jsonl (default: jsonl with --train, "
                   "else arithmetic)")
    p.add_argument("--train", dest="train_file", metavar="FILE", help="--task jsonl: training data")
    p.add_argument("--test", dest="test_file", metavar="FILE", help="--task jsonl: test data")
    p.add_argument("--answers", choices=("auto", "int", "str"), default="auto",
                   help="--task jsonl: how answers read: auto (default; a string of digits such as \"17\" is "
                   "an integer), int, or str (every answer is text)")
    p.add_argument("--examples", type=_int_at_least(2), default=2000, help="generated examples (70/30)")
    p.add_argument("--lengths", type=_int_list, metavar="L,L,...", help="string lengths (sort, count, reverse)")
    p.add_argument("--depths", type=_int_list, metavar="D,D,...", help="fib depths")
    p.add_argument("--out", default="runs/latest", metavar="DIR")
    p.add_argument("--epochs", type=_int_at_least(1), default=10)
    p.add_argument("--batch-size", type=_int_at_least(1), default=32)
    p.add_argument("--lr", type=_finite, default=3e-3, help="learning rate of the heads")
    p.add_argument("--backbone-lr-scale", type=_finite, default=0.1, metavar="S",
                   help="the backbone learns at S * --lr (1 for a single rate)")
    p.add_argument("--warmup", type=_finite, default=0.0, help="fraction of steps warming up (default none)")
    p.add_argument("--seed", type=_integer, default=0)
    p.add_argument("--base", type=_int_at_least(2), default=None, metavar="N",
                   help="values are 0..N-1 (default: --task jsonl fits it to the training file: the least power "
                   "of two above its numbers, answers' characters and the library's length; a generated task 128)")
    p.add_argument("--cells", type=_int_at_least(1), default=None, help="memory cells parsed (default: --task "
                   "jsonl fits them to the training file: its longest string answer and question; a generated "
                   "task 16)")
    p.add_argument("--functions", metavar="F,F,...", help="library functions to select from "
                   "(default: the task's; --task jsonl: the whole library)")
    p.add_argument("--architecture", choices=("augmented", "direct", "autoregressive"), default="augmented",
                   help="a baseline without the computer: direct (heads straight on z) or "
                   "autoregressive (writes the answer)")
    p.add_argument("--parse", choices=tuple(PARSES), help="a named parse: general (every input a span, "
                   "number or character of the question, or read from context; one discrete parse per function, "
                   "run exactly; the default of --task jsonl), slots (soft pointers), pooled "
                   "(the paper's), spans (exact copies of a quoted string, K discrete spans) or copies (spans, and "
                   "registers that copy numbers and characters) or offsets (copies, and a learned shift of a "
                   "copied number); default: the task's. The flags below override "
                   "its parts")
    p.add_argument("--parsing", choices=PARSINGS)
    p.add_argument("--cell-values", choices=CELL_VALUES,
                   help="slots: a copied token's value from its context, its own embedding, or the token itself")
    p.add_argument("--list-length", choices=LIST_LENGTHS,
                   help="slots: r1 through a gate between a register pointer and the quoted span's "
                   "length, or always the span's length")
    p.add_argument("--span-candidates", type=_int_at_least(0), metavar="K",
                   help="slots: K discrete quoted spans (cells and length exact), one machine run each, "
                   "mixed by their probabilities (0: one soft span)")
    p.add_argument("--register-values", choices=REGISTER_VALUES,
                   help="slots: an argument register reads its token in context only, or may also copy "
                   "the number or character it holds")
    p.add_argument("--register-offsets", type=_int_at_least(0), metavar="D",
                   help="slots with register copies: a copied number may be shifted by a learned offset "
                   "in -D..D (e.g. 'term number 6' -> depth 4)")
    p.add_argument("--ranks-from-end", nargs="?", const="all", choices=RANKS_FROM_END, metavar="WHICH",
                   help="slots with register copies: rank a register's candidates from the question's end "
                   "too ('the last number'): for the characters only, or all (the default when WHICH "
                   "is left out)")
    p.add_argument("--no-ranks-from-end", dest="ranks_from_end", action="store_const", const="none",
                   help="the same as --ranks-from-end none")
    p.add_argument("--offsets-from", choices=OFFSETS_FROM, default="context",
                   help="with register offsets: read a number's offset from the word before it in context "
                   "(default), or from that word's own embedding")
    p.add_argument("--per-function-registers", action="store_true",
                   help="a set of argument-register pointers per library function, not one shared set")
    p.add_argument("--per-function-spans", action="store_true",
                   help="slots: a span (start and end anchors) per library function with memory, "
                   "not one shared span")
    p.add_argument("--span-keys", action="store_true",
                   help="slots: each span's anchors score the tokens with a key projection of their own")
    p.add_argument("--selection-floor", type=_finite, default=0.0, metavar="EPS",
                   help="in training, mix the selection with the uniform distribution by EPS, so every "
                   "function keeps some gradient from every question (0: the paper's selection)")
    p.add_argument("--function-loss", type=_finite, default=0.0, metavar="W",
                   help="in training, add W times the mean of each library function's own answer loss, "
                   "so that every function keeps learning every question (0: the paper's loss)")
    p.add_argument("--trainable-library", action="store_true")
    p.add_argument("--alu", default="table")
    p.add_argument("--max-steps", type=_int_at_least(1), default=None, metavar="N",
                   help="machine steps per pass (default: --task jsonl measures the library's longest run at the "
                   "run's base and cells on the interpreter; a generated task 2000)")
    p.add_argument("--dim", type=_int_at_least(8), default=128)
    p.add_argument("--heads", type=_int_at_least(1), default=4)
    p.add_argument("--kv-heads", type=_int_at_least(1), default=2)
    p.add_argument("--layers", type=_int_at_least(2), default=4)
    p.add_argument("--embedding-std", type=_finite, default=1.0, metavar="S",
                   help="token embeddings of a model built from scratch start at N(0, S^2)")
    p.add_argument("--tokenizer", choices=TOKENIZER_KINDS, default="char")
    p.add_argument("--model", metavar="PATH", help="local Hugging Face LLaMA checkpoint directory")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--bf16", action="store_true",
                   help="bf16 autocast of the backbone in training (CUDA or CPU); the computer stays float32")
    p.add_argument("--resume", action="store_true", help="continue the run in --out (it may train for more "
                   "--epochs; every other setting stays the run's own)")
    p.add_argument("--overwrite", action="store_true", help="replace the run in --out: the old run is moved "
                   "aside to OUT.old-TIMESTAMP, not deleted")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _budget_options(p)

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


# train flags a resume may take: where the run is, how long it trains, where and how it shows progress
_RESUMABLE = {"resume", "out", "epochs", "device", "no_progress", "memory_budget"}
# train flags whose config field is not the flag's own name
_FIELD_OF = {"lengths": ("task_options",), "depths": ("task_options",), "model": ("model.backbone.model_path",),
             "parse": (), "parsing": ("model.parsing",)}


def _fields(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(_fields(v, f"{prefix}{k}.") if isinstance(v, dict) and k != "task_options" else {prefix + k: v})
    return out


def _check_resume(args, cfg) -> None:
    """Refuse ``train --resume`` with a flag that would change the run (one line naming it)."""
    from pathlib import Path

    from .augment import PARSES
    from .errors import InputError
    from .train import TrainConfig

    if args.overwrite:
        raise _UsageError("--resume and --overwrite: choose one (continue the run, or replace it)")
    path = Path(args.out) / "config.json"
    if not path.is_file():
        return  # train() says there is no run to resume
    try:
        saved = _fields(json.loads(json.dumps(TrainConfig.from_dict(json.loads(path.read_text())).to_dict())))
    except (ValueError, TypeError):
        return  # train() reports the damaged config
    new = _fields(json.loads(json.dumps(cfg.to_dict())))  # tuples as the saved lists
    for dest, option in (getattr(args, "given_options", None) or {}).items():
        if dest in _RESUMABLE:
            continue
        names = _FIELD_OF.get(dest, ())
        if dest == "parse" and args.parse:
            names = tuple(f"model.{k}" for k in PARSES[args.parse])
        elif dest not in _FIELD_OF:
            names = tuple(k for k in new if k.rsplit(".", 1)[-1] == dest)
        for name in names or ("",):
            if not name or new.get(name) != saved.get(name):
                was = f" (the run's {name.rsplit('.', 1)[-1]} is {saved.get(name)!r})" if name else ""
                raise InputError(f"{option}: cannot change when resuming{was}; drop it to continue the run "
                                 f"as it was, or start a new run (another --out, or --overwrite)")


def train_config(args):
    """The :class:`~neurocompiler.train.TrainConfig` of parsed ``train`` arguments: what
    ``neurocompiler train ...`` trains (``experiment outside`` trains the same)."""
    from .augment import PARSES, AugmentConfig, BackboneConfig
    from .tasks import TASKS
    from .train import TrainConfig

    if args.task is None:  # a file given is the data; without one, the demo's task
        args.task = "jsonl" if args.train_file or args.test_file else "arithmetic"
    if args.cells is None and args.task in TASKS:
        args.cells = 16
    options = {}
    if args.lengths:
        options["lengths"] = tuple(args.lengths)
    if args.depths:
        options["depths"] = tuple(args.depths)
    if args.functions:
        functions = tuple(f.strip() for f in args.functions.split(",") if f.strip())
    elif args.task in TASKS:
        functions = tuple(TASKS[args.task].functions)
    else:
        from .library import load_specs
        functions = tuple(load_specs())
    backbone = BackboneConfig(model_path=args.model, dim=args.dim, heads=args.heads,
                              kv_heads=args.kv_heads, layers=args.layers, embedding_std=args.embedding_std)
    parse = dict(PARSES[args.parse or (TASKS[args.task].parse if args.task in TASKS else "general")])
    for name in parse:  # a flag given overrides that part of the named parse
        if getattr(args, name) is not None:
            parse[name] = getattr(args, name)
    model = AugmentConfig(base=args.base, cells=args.cells, functions=functions, **parse,
                          trainable_library=args.trainable_library, alu=args.alu,
                          per_function_registers=args.per_function_registers,
                          per_function_spans=args.per_function_spans, span_keys=args.span_keys,
                          offsets_from=args.offsets_from,
                          selection_floor=args.selection_floor, function_loss=args.function_loss,
                          max_steps=args.max_steps, backbone=backbone)
    cfg = TrainConfig(task=args.task, train_file=args.train_file, test_file=args.test_file, answers=args.answers,
                      examples=args.examples, task_options=options, out=args.out, epochs=args.epochs,
                      batch_size=args.batch_size, lr=args.lr, backbone_lr_scale=args.backbone_lr_scale,
                      warmup=args.warmup, seed=args.seed, tokenizer=args.tokenizer, device=args.device,
                      bf16=args.bf16, model=model, architecture=args.architecture)
    return cfg


def _cmd_train(args) -> int:
    from .train import train

    cfg = train_config(args)
    if args.resume:
        _check_resume(args, cfg)
    metrics = train(cfg, resume=args.resume, progress=not args.no_progress, overwrite=args.overwrite)
    print(json.dumps(metrics))
    return 0


def _cmd_eval(args) -> int:
    from .train import evaluate_run

    result = evaluate_run(args.run_dir, args.test_file, args.device, args.base, args.alu)
    print(json.dumps(result) if args.json else f"accuracy {100 * result['accuracy']:.2f}% on {result['n']} examples")
    return 0


def _cmd_ask(args) -> int:
    from .train import ask

    out = ask(args.run_dir, args.question, args.device)
    if args.json:
        print(json.dumps(out))
    elif "program" not in out:  # a baseline without the computer
        print(f"answer: {out['answer']!r}\nconfidence: {out['confidence']:.3f} (no computer)")
    else:
        regs = " ".join(f"{k}={v}" for k, v in out["registers"].items())
        print(f"answer: {out['answer']!r}\nprogram: {out['program']} (p = {out['p_program']:.3f})\n"
              f"parsed: {regs} memory={out['memory']}\nconfidence: {out['confidence']:.3f} "
              f"(halted {out['p_halted']:.3f})")
    return 0


def _config(args):
    return runner.make_config(args.base, args.registers, args.memory)


def _initial(args, config):
    return runner.parse_sets(args.sets, config), runner.parse_mem(args.mem, config)


def _cmd_run(args) -> int:
    config = _config(args)
    regs, mem = _initial(args, config)
    out = runner.run_program(args.files, config, regs, mem, entry=args.entry,
                             max_steps=args.max_steps, soft=args.soft, alu=args.alu,
                             soften=args.soften)
    print(json.dumps(out) if args.json else runner.format_outcome(out))
    return 0


def _cmd_trace(args) -> int:
    config = _config(args)
    regs, mem = _initial(args, config)
    trace = runner.trace_program(args.files, config, regs, mem, entry=args.entry,
                                 max_steps=args.max_steps, soft=args.soft, alu=args.alu,
                                 soften=args.soften)
    print(runner.format_trace(trace))
    if args.png:
        runner.write_trace_png(trace, args.png)
        print(f"wrote {args.png}")
    if not trace.halted:  # the trace is printed, and the run failed, as `run` says
        raise NotHaltedError(f"{trace.name}: did not halt within {trace.max_steps} steps "
                             f"(raise --max-steps, or check the program's loop)")
    return 0


def _cmd_compile(args) -> int:
    summary = runner.compile_to_file(args.files, _config(args), args.output, entry=args.entry)
    print(runner.format_compile(summary))
    return 0


def _cmd_bench(args) -> int:
    rows = runner.bench_rows(args.kind, sizes=args.sizes, batches=args.batch,
                             repeats=args.repeats)
    if args.json:
        for row in rows:
            print(json.dumps(row), flush=True)
    else:
        print(runner.format_table(list(rows)))
    return 0


def _cmd_demo(args) -> int:
    if args.machine:
        result = runner.demo()
        print(json.dumps(result) if args.json else runner.format_demo(result))
        return 0 if result["agree"] else 1
    from .demo import DemoConfig, format_demo, run_demo

    given = {k: getattr(args, k) for k in ("examples", "epochs", "seed", "out", "device", "dim", "layers")}
    result = run_demo(DemoConfig(**{k: v for k, v in given.items() if v is not None}),
                      progress=not (args.no_progress or args.json),
                      log=(lambda line: print(line, file=sys.stderr)) if args.json else print)
    print(json.dumps(result) if args.json else format_demo(result))
    return 0


def _cmd_library(args) -> int:
    if args.library_command == "list":
        rows = runner.library_list()
        if args.json:
            for row in rows:
                print(json.dumps(row))
        else:
            print(runner.format_library_list(rows))
        return 0
    config = _config(args)
    out = runner.library_run(args.name, args.args, runner.parse_mem(args.mem, config), config,
                             soft=args.soft, alu=args.alu, max_steps=args.max_steps)
    print(json.dumps(out) if args.json else runner.format_outcome(out))
    return 0


def _cmd_experiment(args) -> int:
    from .experiments import experiment_module

    module = experiment_module(args.experiment)
    module.run(module.config_from_args(args))
    return 0


_COMMANDS = {"run": _cmd_run, "trace": _cmd_trace, "compile": _cmd_compile,
             "bench": _cmd_bench, "demo": _cmd_demo, "library": _cmd_library,
             "experiment": _cmd_experiment, "train": _cmd_train, "eval": _cmd_eval, "ask": _cmd_ask}


# Terminal controls a message may carry (from a program's text, a file name, a question):
# C0/C1 controls and the bidirectional overrides. Shown escaped, e.g. \x1b.
_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7f, 0xa0)] if chr(c) not in "\t\n\r"}
_CONTROLS.update({c: f"\\u{c:04x}" for c in [*range(0x202a, 0x202f), *range(0x2066, 0x206a)]})


def one_line(message: object) -> str:
    """``message`` as one line a terminal shows as it is: controls escaped, any run of
    whitespace (newlines too) one space; other characters, unicode included, kept."""
    return " ".join(str(message).translate(_CONTROLS).split())


def _report(message: str) -> int:
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)
    return EXIT_USAGE


_MEMORY_HINT = ("use smaller sizes (--batch-size, --base, --cells, --dim, --examples, --max-steps), "
                "or a machine with more memory")


def _out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is torch running out of memory (CUDA, or the CPU allocator's
    RuntimeError), without importing torch."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
        return True
    return isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)


def _os_error(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else "file system"
    return f"{where}: {exc.strerror or exc} (check the path, its permissions and the free disk space)"


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (0 success, 2 bad input)."""
    command = PROG
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version
            return exc.code if isinstance(exc.code, int) else 0  # pragma: no cover
        command = args.command
        return _COMMANDS[args.command](args)
    except _UsageError as exc:
        return _report(str(exc))
    except NeurocompilerError as exc:  # AsmError's str is file:line:col: message
        return _report(str(exc))
    except MemoryError:
        return _report(f"{command}: out of memory ({_MEMORY_HINT})")
    except RuntimeError as exc:  # torch.OutOfMemoryError is one; anything else is a bug
        if not _out_of_memory(exc):
            raise
        return _report(f"{command}: out of memory: {str(exc).splitlines()[0][:200]} ({_MEMORY_HINT})")
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python from
        # complaining while flushing stdout at exit.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 1
    except OSError as exc:  # a file we could not read or write, past the checks that name it
        return _report(_os_error(exc))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
