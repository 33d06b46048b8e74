"""The paper's sequential Fibonacci (§4.1): two seeds and a depth."""

from __future__ import annotations

import random

from ..library.reference import REFERENCES
from .example import Example
from .options import distinct_indices, int_tuple

DEPTHS = (1, 2, 3, 4)

# {a} = x_0 (r1), {b} = x_1 (r2), {d} = the depth (r3); {n} = d + 1 and {t} = d + 2
# name the answer x_{d+1} by its index and by its 1-based position.
TEMPLATES = (
    "Start a Fibonacci sequence with {a} and {b}; what is the term after {d} {additions}?",
    "A sequence begins {a}, {b} and each further term is the sum of the two before it. "
    "What is term number {t}?",
    "If x0 = {a}, x1 = {b} and each term is the sum of the previous two, what is x{n}?",
    "Run the Fibonacci recurrence from {a} and {b} to depth {d}.",
)


def fib(count: int, rng: random.Random, base: int, *, depths: object = DEPTHS) -> list[Example]:
    """Fibonacci questions; option ``depths``: depths d, each 1..base-1 (d sits in r3).

    With x_0 = a, x_1 = b and x_{k+1} = x_k + x_{k-1} mod base, every question asks for
    x_{d+1}, the term after d additions, which is library ``fib``'s r0 with r1 = a,
    r2 = b, r3 = d. The triple (d, a, b), a and b in 0..base-1, is drawn uniformly and
    without replacement while ``count`` does not exceed their number. The question is
    one of :data:`TEMPLATES`, chosen uniformly, where {n} = d + 1 is the answer's index
    and {t} = d + 2 its 1-based position in the sequence:

    * "Start a Fibonacci sequence with {a} and {b}; what is the term after {d} {additions}?"
      ({additions} is "addition" when d = 1);
    * "A sequence begins {a}, {b} and each further term is the sum of the two before it.
      What is term number {t}?"
    * "If x0 = {a}, x1 = {b} and each term is the sum of the previous two, what is x{n}?"
    * "Run the Fibonacci recurrence from {a} and {b} to depth {d}."
    """
    chosen = int_tuple("fib", "depths", depths, 1, base - 1, f" (the depth sits in r3, base {base})")
    out = []
    for index in distinct_indices(rng, len(chosen) * base * base, count):
        k, rest = divmod(index, base * base)
        (a, b), d = divmod(rest, base), chosen[k]
        answer = REFERENCES["fib"]({1: a, 2: b, 3: d}, [], base)[0][0]
        question = rng.choice(TEMPLATES).format(
            a=a, b=b, d=d, n=d + 1, t=d + 2, additions="addition" if d == 1 else "additions")
        out.append(Example(question, answer, "fib", "fib"))
    return out
