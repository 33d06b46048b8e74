"""One-step modular arithmetic in words (§4.2: "Add 3 and 4")."""

from __future__ import annotations

import random
from collections.abc import Sequence

from ..errors import InputError
from ..library.reference import REFERENCES
from .example import Example
from .options import distinct_indices, name_tuple

# {a} is the function's first argument (r1), {b} its second (r2), whatever their order
# in the sentence: "Subtract {b} from {a}" is sub(a, b).
TEMPLATES: dict[str, tuple[str, ...]] = {
    "add": ("Add {a} and {b}", "What is {a} plus {b}?", "What is the sum of {a} and {b}?",
            "Add {b} to {a}"),
    "sub": ("What is {a} minus {b}?", "Subtract {b} from {a}", "Take {b} away from {a}",
            "What is the difference of {a} and {b}?"),
    "mul": ("Multiply {a} by {b}", "What is {a} times {b}?", "What is the product of {a} and {b}?",
            "Multiply {a} and {b}"),
    "div": ("Divide {a} by {b}", "What is {a} divided by {b}?", "How many times does {b} go into {a}?",
            "What is the quotient of {a} and {b}?"),
}
OPS = tuple(TEMPLATES)


def _seconds(op: str, lo: int, hi: int) -> int:
    """How many second operands b in lo..hi ``op`` takes (div: b != 0)."""
    return hi - max(lo, 1) + 1 if op == "div" else hi - lo + 1


def _triple(index: int, ops: tuple[str, ...], lo: int, hi: int) -> tuple[str, int, int]:
    """The ``index``-th (op, a, b) triple: ops in order, then a, then b, with a and b
    in lo..hi (b != 0 for div)."""
    for op in ops:
        firsts, seconds = hi - lo + 1, _seconds(op, lo, hi)
        if index < firsts * seconds:
            i, j = divmod(index, seconds)
            return op, lo + i, (max(lo, 1) if op == "div" else lo) + j
        index -= firsts * seconds
    raise IndexError(index)


def _operands(value: object, base: int) -> tuple[int, int]:
    """The option ``operands``: None (0..base-1) or an inclusive range (lo, hi)."""
    if value is None:
        return 0, base - 1
    if (isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise InputError(f"arithmetic: option 'operands' must be two integers (lo, hi), got {value!r}")
    lo, hi = value
    if not 0 <= lo <= hi < base:
        raise InputError(f"arithmetic: option 'operands': {lo}..{hi} is not a range inside 0..{base - 1} "
                         f"(base {base})")
    return lo, hi


def arithmetic(count: int, rng: random.Random, base: int, *,
               ops: object = OPS, operands: object = None) -> list[Example]:
    """Mod-``base`` arithmetic questions; options ``ops`` (a subset of add, sub, mul,
    div) and ``operands`` (an inclusive range (lo, hi) inside 0..base-1; default the
    whole of it). A range such as (128, 255) at base 256 asks about numbers wider than
    any a base-128 model saw (docs/RESULTS.md, out of distribution).

    Each example draws a triple (op, a, b) with a, b in lo..hi (b >= 1 for div),
    uniformly over all such triples and without replacement while ``count`` does not
    exceed their number (each triple at most once). The question is one of the op's
    :data:`TEMPLATES`, chosen uniformly:

    * add: "Add {a} and {b}", "What is {a} plus {b}?", "What is the sum of {a} and {b}?",
      "Add {b} to {a}";
    * sub: "What is {a} minus {b}?", "Subtract {b} from {a}", "Take {b} away from {a}",
      "What is the difference of {a} and {b}?";
    * mul: "Multiply {a} by {b}", "What is {a} times {b}?",
      "What is the product of {a} and {b}?", "Multiply {a} and {b}";
    * div: "Divide {a} by {b}", "What is {a} divided by {b}?",
      "How many times does {b} go into {a}?", "What is the quotient of {a} and {b}?".

    The answer is the library function ``op``'s r0 with r1 = a and r2 = b: (a+b),
    (a-b), (a·b) mod base, and a // b.
    """
    chosen = name_tuple("arithmetic", "ops", ops, OPS)
    lo, hi = _operands(operands, base)
    if "div" in chosen and hi == 0:
        raise InputError("arithmetic: option 'operands': div needs a nonzero divisor, but the range is 0..0")
    total = sum((hi - lo + 1) * _seconds(op, lo, hi) for op in chosen)
    out = []
    for index in distinct_indices(rng, total, count):
        op, a, b = _triple(index, chosen, lo, hi)
        answer = REFERENCES[op]({1: a, 2: b}, [], base)[0][0]
        question = rng.choice(TEMPLATES[op]).format(a=a, b=b)
        out.append(Example(question, answer, "arithmetic", op))
    return out
