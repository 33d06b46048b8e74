"""Argument types and option groups that several ``neurocompiler`` commands share.

A value argparse refuses is a :class:`_UsageError`, which the CLI reports in one line.
"""

from __future__ import annotations

import argparse
import math


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
