"""A declarative table of example programs (in the style of tracr's and CLRS's test tables).

Every :class:`ProgramCase` names ``.asm`` files shipped in ``neurocompiler/programs``
and pairs a seeded input generator with a pure-Python reference:

- ``make_input(rng, base) -> (registers, memory)``: one random initial state, with
  ``registers`` a ``{register index: value}`` dict and ``memory`` a list for
  ``M[0..len-1]`` (the rest of memory starts at 0). Lists have at most 8 elements plus
  2 "guard" cells after them that the program must leave alone, so every input fits in
  the 16 memory cells of base 16.
- ``expected(registers, memory, base) -> Observations``: what the run must end with,
  e.g. ``{"registers": {3: 7}}`` or ``{"memory": {0: 1, 1: 2}}``. Only the registers and
  cells named there are checked; every run must also halt within ``max_steps``.
- ``min_base``: a program has at most ``base`` instructions, so a case whose program is
  longer than 16 instructions (the Figure 4 listing, the textbook sorts) only runs at
  bases >= its length; :meth:`ProgramCase.runs_at` says whether it runs at a base.

The same cases are meant for the exact interpreter and for the differentiable machine
(at bases 16, 128 and 256, :data:`INPUTS_PER_BASE` inputs each), so the inputs are kept
small enough that no run takes more than a few hundred steps.

Use :meth:`ProgramCase.inputs` for the deterministic list of inputs of a case at a base,
:meth:`ProgramCase.assemble` to build its program and :func:`mismatches` to compare an
outcome with the reference.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from importlib.resources import files as resource_files
from pathlib import Path
from typing import Callable, Sequence

from neurocompiler.asm import Program, assemble
from neurocompiler.config import MachineConfig

Registers = dict[int, int]
Memory = list[int]
# {"registers": {index: value}, "memory": {address: value}}; either key may be absent.
Observations = dict[str, dict[int, int]]

BASES = (16, 128, 256)
INPUTS_PER_BASE = 100
MAX_LEN = 8  # longest list in any generated input
GUARDS = 2  # cells after each list that the program must not change


def program_path(name: str) -> Path:
    """Path of the shipped program ``name`` (e.g. ``"gcd.asm"``) in neurocompiler/programs."""
    resource = resource_files("neurocompiler") / "programs" / name
    path = Path(str(resource))
    if not path.is_file():
        raise FileNotFoundError(f"no shipped program {name!r} (looked at {path})")
    return path


def program_names() -> list[str]:
    """Every ``.asm`` file shipped in neurocompiler/programs, sorted."""
    folder = resource_files("neurocompiler") / "programs"
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".asm"))


@dataclass(frozen=True)
class ProgramCase:
    """One program (one or more files, linked in order) with inputs and a reference."""

    name: str
    files: tuple[str, ...]
    make_input: Callable[[random.Random, int], tuple[Registers, Memory]]
    expected: Callable[[Registers, Memory, int], Observations]
    max_steps: int
    branch_free: bool = False  # straight-line code: no jumps, calls or returns
    entry: str | None = None  # entry label; None starts at address 0
    # The smallest base it runs at: max(16, instruction count), since a program has at
    # most `base` instructions (ISA.md). Cases with min_base > 16 skip base 16.
    min_base: int = 16

    def runs_at(self, base: int) -> bool:
        return base >= self.min_base

    def sources(self) -> list[tuple[str, str]]:
        """``(file name, text)`` for each file, in link order."""
        return [(name, program_path(name).read_text(encoding="utf-8")) for name in self.files]

    def assemble(self, base: int, registers: int = 16) -> Program:
        """The linked program at ``base`` (memory = base)."""
        return assemble(self.sources(), MachineConfig(base=base, registers=registers), self.entry)

    def inputs(self, base: int, count: int = INPUTS_PER_BASE,
               seed: int = 0) -> list[tuple[Registers, Memory]]:
        """``count`` deterministic inputs for ``base``; the same on every run and machine."""
        rng = random.Random(f"{self.name}/{base}/{seed}")
        return [self.make_input(rng, base) for _ in range(count)]


def mismatches(expected: Observations, registers: Sequence[int],
               memory: Sequence[int]) -> list[str]:
    """Human-readable differences between an outcome and ``expected`` (empty: a match)."""
    out = []
    for r, want in sorted(expected.get("registers", {}).items()):
        got = registers[r] if r < len(registers) else None
        if got != want:
            out.append(f"r{r} = {got}, expected {want}")
    for a, want in sorted(expected.get("memory", {}).items()):
        got = memory[a] if a < len(memory) else None
        if got != want:
            out.append(f"M[{a}] = {got}, expected {want}")
    return out


# ---------------------------------------------------------------- input generators

def _values(rng: random.Random, n: int, k: int) -> list[int]:
    """``k`` values in 0..n-1: uniform, or with many duplicates and extremes, or presorted."""
    style = rng.randrange(4)
    if style == 0:  # few distinct values, including 0 and n-1: duplicates, extremes
        pool = [0, n - 1, rng.randrange(n)]
        return [rng.choice(pool) for _ in range(k)]
    values = [rng.randrange(n) for _ in range(k)]
    if style == 1:
        values.sort(reverse=rng.random() < 0.5)
    return values


def _guards(rng: random.Random, n: int) -> list[int]:
    return [rng.randrange(n) for _ in range(GUARDS)]


def _list_input(rng: random.Random, n: int) -> tuple[Registers, Memory]:
    """r1 = length 0..8, M[0..r1-1] = the list, then two guard cells."""
    k = rng.randint(0, MAX_LEN)
    return {1: k}, _values(rng, n, k) + _guards(rng, n)


def _count_input(rng: random.Random, n: int) -> tuple[Registers, Memory]:
    regs, mem = _list_input(rng, n)
    k = regs[1]
    regs[2] = rng.choice(mem[:k]) if k and rng.random() < 0.6 else rng.randrange(n)
    return regs, mem


def _pair_input(rng: random.Random, n: int) -> tuple[Registers, Memory]:
    """r1, r2 in 0..n-1: uniform, with zeros, equal, or sharing a large common factor."""
    style = rng.randrange(4)
    if style == 0:
        a, b = rng.randrange(n), rng.randrange(n)
    elif style == 1:
        a, b = rng.choice([(0, rng.randrange(n)), (rng.randrange(n), 0), (0, 0)])
    elif style == 2:
        a = rng.randrange(n)
        b = a if rng.random() < 0.5 else rng.randrange(1, n)
    else:
        g = rng.randrange(1, n)
        a, b = g * rng.randrange((n - 1) // g + 1), g * rng.randrange((n - 1) // g + 1)
    return {1: a, 2: b}, []


def _triple_input(rng: random.Random, n: int) -> tuple[Registers, Memory]:
    return {i + 1: v for i, v in enumerate(_values(rng, n, 3))}, []


def _fib_input(rng: random.Random, n: int) -> tuple[Registers, Memory]:
    # k up to 40 reaches F(k) >= n (F(14) = 377) at every base tested, in <= 287 steps.
    return {1: rng.randint(0, min(n - 1, 40))}, []


def _figure4_input(rng: random.Random, n: int) -> tuple[Registers, Memory]:
    return {}, _values(rng, n, 8) + _guards(rng, n)


# ---------------------------------------------------------------- references

def _cells(memory: Sequence[int]) -> dict[int, int]:
    return dict(enumerate(memory))


def _sorted_prefix(regs: Registers, mem: Memory, n: int) -> Observations:
    k = regs[1]
    return {"memory": _cells(sorted(mem[:k]) + mem[k:])}


def _reversed_prefix(regs: Registers, mem: Memory, n: int) -> Observations:
    k = regs[1]
    return {"memory": _cells(mem[:k][::-1] + mem[k:])}


def _figure4(regs: Registers, mem: Memory, n: int) -> Observations:
    return {"registers": {1: 8}, "memory": _cells(sorted(mem[:8], reverse=True) + mem[8:])}


def _gcd(regs: Registers, mem: Memory, n: int) -> Observations:
    return {"registers": {1: regs[1], 2: regs[2], 3: math.gcd(regs[1], regs[2])}}


def _count(regs: Registers, mem: Memory, n: int) -> Observations:
    k = regs[1]
    return {"registers": {3: mem[:k].count(regs[2])}, "memory": _cells(mem)}


def _fib(regs: Registers, mem: Memory, n: int) -> Observations:
    a, b = 0, 1
    for _ in range(regs[1]):
        a, b = b, a + b
    return {"registers": {1: regs[1], 2: a % n}}


def _sum_of_squares(regs: Registers, mem: Memory, n: int) -> Observations:
    k = regs[1]
    return {"registers": {1: k, 3: sum(v * v for v in mem[:k]) % n}, "memory": _cells(mem)}


def _max3(regs: Registers, mem: Memory, n: int) -> Observations:
    return {"registers": {1: regs[1], 2: regs[2], 3: regs[3], 4: max(regs[1], regs[2], regs[3])}}


def _multi_file(regs: Registers, mem: Memory, n: int) -> Observations:
    k = regs[1]
    total = sum(mem[:k]) % n
    after = list(mem) + [0] * max(0, k + 1 - len(mem))
    after[k] = total
    return {"registers": {3: total, 4: max(mem[:k], default=0)}, "memory": _cells(after)}


def _sort3(regs: Registers, mem: Memory, n: int) -> Observations:
    lo, mid, hi = sorted((regs[1], regs[2], regs[3]))
    return {"registers": {1: regs[1], 2: regs[2], 3: regs[3], 4: lo, 5: mid, 6: hi}}


def _divmod(regs: Registers, mem: Memory, n: int) -> Observations:
    a, b = regs[1], regs[2]
    q, r = (a // b, a % b) if b else (0, 0)
    return {"registers": {3: q, 4: r, 5: int((q * b + r) % n == a)},
            "memory": {0: q, 1: r}}


# ---------------------------------------------------------------- the table
# max_steps: a budget of about 1.5x the worst case over every input the generator can
# make (lists of length <= 8 with distinct values in any order, every gcd pair at base
# 256, fibonacci k <= 40); the worst cases are 533 steps for figure4, 356 for
# selection_sort, 355 bubble_sort, 320 insertion_sort, 338 exchange_sort, 79 gcd,
# 71 count, 46 reverse, 287 fibonacci, 78 nested_calls, 20 max3, 64 multi_file, and
# exactly 10 for the branch-free sort3 and divmod.

CASES: tuple[ProgramCase, ...] = (
    ProgramCase("figure4_insertion_sort", ("figure4_insertion_sort.asm",),
                _figure4_input, _figure4, max_steps=800, min_base=34),
    ProgramCase("selection_sort", ("selection_sort.asm",),
                _list_input, _sorted_prefix, max_steps=600, min_base=22),
    ProgramCase("bubble_sort", ("bubble_sort.asm",),
                _list_input, _sorted_prefix, max_steps=600, min_base=18),
    ProgramCase("insertion_sort", ("insertion_sort.asm",),
                _list_input, _sorted_prefix, max_steps=600, min_base=19),
    ProgramCase("exchange_sort", ("exchange_sort.asm",),
                _list_input, _sorted_prefix, max_steps=600),
    ProgramCase("gcd", ("gcd.asm",), _pair_input, _gcd, max_steps=120),
    ProgramCase("count", ("count.asm",), _count_input, _count, max_steps=120),
    ProgramCase("reverse", ("reverse.asm",), _list_input, _reversed_prefix, max_steps=80),
    ProgramCase("fibonacci", ("fibonacci.asm",), _fib_input, _fib, max_steps=400),
    ProgramCase("nested_calls", ("nested_calls.asm",), _list_input, _sum_of_squares,
                max_steps=120),
    ProgramCase("max3", ("max3.asm",), _triple_input, _max3, max_steps=30),
    ProgramCase("multi_file", ("multi_file_main.asm", "multi_file_lib.asm"),
                _list_input, _multi_file, max_steps=120),
    ProgramCase("sort3", ("sort3.asm",), _triple_input, _sort3, max_steps=20,
                branch_free=True),
    ProgramCase("divmod", ("divmod.asm",), _pair_input, _divmod, max_steps=20,
                branch_free=True),
)

CASES_BY_NAME: dict[str, ProgramCase] = {case.name: case for case in CASES}
