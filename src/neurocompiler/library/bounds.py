"""Step bounds of the library's functions, measured on the reference interpreter.

:func:`step_bound` is the most steps a function takes (its ``ret`` included) on the
inputs of a machine with values 0..base-1 and ``cells`` memory cells: every argument
register at the extremes and between (0, 1, 2, base/2, base-2, base-1, all their
combinations), every list length at the ends and the middle (0, 1, 2, cells/2,
cells-1, cells), each list ascending, descending, constant and random. It is measured,
not derived from the code, so a loop's count is whatever the function really does; a
training run uses it as its step budget (``max_steps``), and a soft run still going
after it is read where it stands.
"""

from __future__ import annotations

import random
from functools import lru_cache
from itertools import product
from typing import Iterator, Sequence

from ..config import MachineConfig
from ..errors import InputError

NEVER = 10_000_000  # a function still running after this many steps on a valid input is a bug


def _values(base: int) -> list[int]:
    return sorted({0, 1, 2, base // 2, base - 2, base - 1} & set(range(base)))


def _lists(length: int, base: int, rng: random.Random, nonzero: bool = False) -> list[list[int]]:
    lo = 1 if nonzero else 0
    span = base - lo
    return [[lo + i % span for i in range(length)],  # ascending
            [lo + (span - 1 - i) % span for i in range(length)],  # descending: insertion sort's worst
            [base - 1] * length,
            [rng.randrange(lo, base) for _ in range(length)]]


def inputs(memory: str, registers: Sequence[int], base: int, cells: int,
           seed: int = 0) -> Iterator[tuple[dict[int, int], list[int]]]:
    """``(registers, memory)`` inputs of a function whose ``#@ memory`` header is
    ``memory`` and whose argument registers are ``registers``."""
    rng = random.Random(seed)
    if memory == "none":
        for combo in product(_values(base), repeat=len(registers)):
            yield dict(zip(registers, combo)), []
        return
    lengths = sorted({0, 1, 2, cells // 2, cells - 1, cells} & set(range(cells + 1)))
    if "M[0..z]" in memory:  # a 0-terminated list, no length register
        for length in (n for n in lengths if n < cells):
            for values in _lists(length, base, rng, nonzero=True):
                yield {}, values + [0]
        return
    for length in (n for n in lengths if n < base):
        for values in _lists(length, base, rng):
            if "write M[r2" in memory:  # copy: a destination after the list, inside memory
                top = min(cells - length, base - 1)  # the copy fits in memory, r2 holds a value
                for dst in sorted({length, top} & set(range(length, top + 1))):
                    yield {1: length, 2: dst}, values
                continue
            others = [r for r in registers if r != 1]
            for combo in product(sorted(set(_values(base)) | set(values[:1])), repeat=len(others)):
                yield {1: length, **dict(zip(others, combo))}, values


@lru_cache(maxsize=None)
def step_bound(name: str, base: int, cells: int) -> int:
    """The most steps library function ``name`` takes on :func:`inputs` of a machine of
    ``base`` values and ``cells`` memory cells, run on the reference interpreter."""
    from ..interpreter import run
    from . import RETURN_REGISTER, function_program, load_specs

    spec = load_specs()[name]
    program = function_program(name, MachineConfig(base=base, memory=cells))
    most = 0
    for registers, memory in inputs(spec.memory, spec.inputs, base, cells):
        result = run(program, {**registers, RETURN_REGISTER: base - 1}, memory, max_steps=NEVER)
        if not result.halted:  # pragma: no cover - a library bug, not bad input
            raise InputError(f"library function {name} did not halt on {registers} {memory[:8]}")
        most = max(most, result.steps)
    return most


def step_budget(functions: Sequence[str], base: int, cells: int) -> tuple[int, str]:
    """The most steps any of ``functions`` takes (:func:`step_bound`), and why."""
    bounds = {f: step_bound(f, base, cells) for f in functions}
    worst = max(bounds, key=bounds.get)
    return bounds[worst], (f"max steps {bounds[worst]}: the longest run of the library, {worst}'s on inputs of "
                           f"base {base} and {cells} cells, measured on the interpreter (--max-steps to choose "
                           f"another)")
