"""One-step modular arithmetic in words (§4.2: "Add 3 and 4")."""

from __future__ import annotations

import random

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


def _triple(index: int, ops: tuple[str, ...], base: int) -> tuple[str, int, int]:
    """The ``index``-th (op, a, b) triple: ops in order, then a, then b (b != 0 for div)."""
    for op in ops:
        width = base - 1 if op == "div" else base
        if index < base * width:
            a, j = divmod(index, width)
            return op, a, j + 1 if op == "div" else j
        index -= base * width
    raise IndexError(index)


def arithmetic(count: int, rng: random.Random, base: int, *,
               ops: object = OPS) -> list[Example]:
    """Mod-``base`` arithmetic questions; option ``ops``: a subset of add, sub, mul, div.

    Each example draws a triple (op, a, b) with a, b in 0..base-1 (b >= 1 for div),
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
    total = sum(base * (base - 1 if op == "div" else base) for op in chosen)
    out = []
    for index in distinct_indices(rng, total, count):
        op, a, b = _triple(index, chosen, base)
        answer = REFERENCES[op]({1: a, 2: b}, [], base)[0][0]
        question = rng.choice(TEMPLATES[op]).format(a=a, b=b)
        out.append(Example(question, answer, "arithmetic", op))
    return out
