"""The ``neurocompiler`` command: argument parsing and error reporting only.

The logic lives in :mod:`neurocompiler.runner` (and :mod:`neurocompiler.plots`,
:mod:`neurocompiler.bench`). Every :class:`~neurocompiler.errors.NeurocompilerError`
and every command-line mistake is reported as one line on stderr,
``neurocompiler: error: ...``, with exit status 2; anything else is a bug and propagates.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from . import cli_train, runner
from .cli_args import (_budget_options, _finite, _int_at_least, _int_list, _integer, _machine_options, _Parser,
                       _UsageError)
from .cli_train import add_commands as _lm_commands, train_config
from .errors import NeurocompilerError, NotHaltedError

__all__ = ["PROG", "build_parser", "main", "one_line", "train_config"]  # train_config: experiments, tests

PROG = "neurocompiler"
EXIT_USAGE = 2


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
             "experiment": _cmd_experiment, "train": cli_train.cmd_train, "eval": cli_train.cmd_eval,
             "ask": cli_train.cmd_ask}


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


_MEMORY_HINT = ("use smaller sizes (--batch-size, --base, --cells, --max-steps, --set dim=N, --set examples=N), "
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
