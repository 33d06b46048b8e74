"""Pure-Python references for the standard library Λ (``library/asm/*.asm``), in the
style of CLRS's reference implementations, and a generator of valid random inputs.

Every library function follows one calling convention (the library ABI): scalar
arguments in r1, r2, r3; a list argument is ``M[0..r1-1]`` with its length in r1; a
scalar result in r0; list results written in place; return with ``ret r15``. Every
function also preserves r1, r2, r3 and r15; r4..r14 are scratch.

``REFERENCES[name](registers, memory, base) -> (registers_out, memory_out)``:

* ``registers``: ``{index: value}`` of the argument registers (absent ones are 0);
* ``memory``: the values of ``M[0..len-1]`` (the rest of memory is 0), at most
  ``base`` cells, since memory defaults to ``base`` cells;
* ``registers_out``: the registers the function defines, ``{0: result}`` for a scalar
  result and ``{}`` for a function that only writes memory;
* ``memory_out``: the whole memory after the call, ``base`` cells (the input, padded
  with zeros, with the documented cells changed).

``random_input(name, rng, base, max_len)`` draws a valid input for ``name``: a list of
0..max_len values in ``M[0..]`` (for ``string_sort``, nonzero values and a 0) followed by
:data:`GUARDS` random "guard" cells the function must neither depend on nor change (for ``copy``, random cells up to the end of
its destination and :data:`GUARDS` past it), values 0..base-1, fib depth 1..12.
"""

from __future__ import annotations

import random
from typing import Callable

Registers = dict[int, int]
Memory = list[int]
Reference = Callable[[Registers, Memory, int], tuple[Registers, Memory]]

FIB_STEPS_PER_DEPTH = 8  # §4.1: recursion depth d takes 8·d interpreter steps
FIB_MAX_DEPTH = 12  # deepest fib depth random_input draws
GUARDS = 2  # random cells after a list argument that a function must leave alone
PRESERVED = (1, 2, 3, 15)  # registers every library function leaves as it found them


def _full(memory: Memory, base: int) -> Memory:
    if len(memory) > base:
        raise ValueError(f"memory: {len(memory)} values given, but memory has {base} cells")
    return list(memory) + [0] * (base - len(memory))


def _args(registers: Registers, memory: Memory, base: int) -> tuple[int, int, int, Memory]:
    return registers.get(1, 0), registers.get(2, 0), registers.get(3, 0), _full(memory, base)


def _scalar(op: Callable[[int, int, int], int]) -> Reference:
    def ref(registers: Registers, memory: Memory, base: int) -> tuple[Registers, Memory]:
        a, b, _, mem = _args(registers, memory, base)
        return {0: op(a, b, base) % base}, mem
    return ref


def fib(registers: Registers, memory: Memory, base: int) -> tuple[Registers, Memory]:
    """x_0 = r1, x_1 = r2, x_{k+1} = x_k + x_{k-1} mod n; r0 <- x_{d+1}, d = max(r3, 1)."""
    a, b, d, mem = _args(registers, memory, base)
    for _ in range(max(d, 1)):
        a, b = b, (a + b) % base
    return {0: b}, mem


def insertion_sort(registers: Registers, memory: Memory, base: int) -> tuple[Registers, Memory]:
    """M[0..r1-1] sorted ascending, in place."""
    n, _, _, mem = _args(registers, memory, base)
    mem[:n] = sorted(mem[:n])
    return {}, mem


def string_sort(registers: Registers, memory: Memory, base: int) -> tuple[Registers, Memory]:
    """The 0-terminated string M[0..k-1] (M[k] the first 0 cell) sorted ascending, in place."""
    mem = _full(memory, base)
    k = mem.index(0) if 0 in mem else len(mem)
    mem[:k] = sorted(mem[:k])
    return {}, mem


def count(registers: Registers, memory: Memory, base: int) -> tuple[Registers, Memory]:
    """r0 <- #{i < r1 : M[i] = r2}."""
    n, x, _, mem = _args(registers, memory, base)
    return {0: mem[:n].count(x)}, mem


def reverse(registers: Registers, memory: Memory, base: int) -> tuple[Registers, Memory]:
    """M[0..r1-1] reversed, in place."""
    n, _, _, mem = _args(registers, memory, base)
    mem[:n] = mem[:n][::-1]
    return {}, mem


def max_(registers: Registers, memory: Memory, base: int) -> tuple[Registers, Memory]:
    """r0 <- max(M[0..r1-1]), 0 for an empty list."""
    n, _, _, mem = _args(registers, memory, base)
    return {0: max(mem[:n], default=0)}, mem


def argmax(registers: Registers, memory: Memory, base: int) -> tuple[Registers, Memory]:
    """r0 <- the first index of max(M[0..r1-1]), 0 for an empty list."""
    n, _, _, mem = _args(registers, memory, base)
    xs = mem[:n]
    return {0: xs.index(max(xs)) if xs else 0}, mem


def sum_(registers: Registers, memory: Memory, base: int) -> tuple[Registers, Memory]:
    """r0 <- (M[0] + ... + M[r1-1]) mod n."""
    n, _, _, mem = _args(registers, memory, base)
    return {0: sum(mem[:n]) % base}, mem


def find(registers: Registers, memory: Memory, base: int) -> tuple[Registers, Memory]:
    """r0 <- the first i < r1 with M[i] = r2, or r1 when there is none."""
    n, x, _, mem = _args(registers, memory, base)
    xs = mem[:n]
    return {0: xs.index(x) if x in xs else n}, mem


def copy(registers: Registers, memory: Memory, base: int) -> tuple[Registers, Memory]:
    """M[r2..r2+r1-1] <- M[0..r1-1]; needs r1 <= r2 and r2 + r1 <= base."""
    n, dst, _, mem = _args(registers, memory, base)
    if not (n <= dst and dst + n <= base):
        raise ValueError(f"copy: needs r1 <= r2 and r2 + r1 <= {base}, got r1={n}, r2={dst}")
    mem[dst:dst + n] = mem[:n]
    return {}, mem


REFERENCES: dict[str, Reference] = {
    "add": _scalar(lambda a, b, n: a + b),
    "sub": _scalar(lambda a, b, n: a - b),
    "mul": _scalar(lambda a, b, n: a * b),
    "div": _scalar(lambda a, b, n: a // b if b else 0),
    "mod": _scalar(lambda a, b, n: a % b if b else 0),
    "fib": fib,
    "insertion_sort": insertion_sort,
    "string_sort": string_sort,
    "count": count,
    "reverse": reverse,
    "max": max_,
    "argmax": argmax,
    "sum": sum_,
    "find": find,
    "copy": copy,
}

SCALAR_FUNCTIONS = ("add", "sub", "mul", "div", "mod")
LIST_FUNCTIONS = ("insertion_sort", "count", "reverse", "max", "argmax", "sum", "find", "copy")
STRING_FUNCTIONS = ("string_sort",)  # a 0-terminated list in M[0..], no length argument


def _value(rng: random.Random, base: int) -> int:
    """A value 0..base-1, with the edge cases 0, 1 and base-1 drawn more often."""
    if rng.random() < 0.15:
        return rng.choice((0, 1, base - 1))
    return rng.randrange(base)


def _values(rng: random.Random, base: int, count: int) -> list[int]:
    """``count`` values; a third of the lists use a small alphabet, to get repeats."""
    top = rng.choice((base, base, min(4, base)))
    return [rng.randrange(top) for _ in range(count)]


def random_input(name: str, rng: random.Random, base: int,
                 max_len: int = 12) -> tuple[Registers, Memory]:
    """A random valid input ``(registers, memory)`` for library function ``name``."""
    if name not in REFERENCES:
        raise KeyError(f"no library function {name!r} (known: {', '.join(sorted(REFERENCES))})")
    if name in SCALAR_FUNCTIONS:
        return {1: _value(rng, base), 2: _value(rng, base)}, []
    if name == "fib":
        return {1: rng.randrange(base), 2: rng.randrange(base),
                3: rng.randint(1, min(FIB_MAX_DEPTH, base - 1))}, []
    if name == "copy":
        length = rng.randint(0, max(0, min(max_len, base // 2)))
        dst = rng.randint(length, base - max(length, 1))  # r2 <= base - 1 too
        end = min(base, dst + length + GUARDS)
        return {1: length, 2: dst}, _values(rng, base, end)
    if name in STRING_FUNCTIONS:  # nonzero values, their 0 terminator, then guards
        length = rng.randint(0, max(0, min(max_len, base - 2 - GUARDS)))
        return {}, [1 + v % (base - 1) for v in _values(rng, base, length)] + [0] + _values(rng, base, GUARDS)
    length = rng.randint(0, max(0, min(max_len, base - 1 - GUARDS)))
    memory = _values(rng, base, length + GUARDS)
    registers = {1: length}
    if name in ("count", "find"):
        inside = memory[:length]
        registers[2] = rng.choice(inside) if inside and rng.random() < 0.6 else _value(rng, base)
    return registers, memory
