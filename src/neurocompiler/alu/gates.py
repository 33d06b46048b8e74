"""Probabilistic logic gates (§3.3, "Differentiable Circuits", eqs. 8-9).

A bit is a tensor of probabilities P(bit = 1). Each gate returns P(output = 1) when its
two inputs are *independent* bits; on hard bits (0 or 1) it is the classical gate.

* eqs. 8-9 as written: :func:`and_`, :func:`or_`, :func:`xor`, :func:`not_`;
* the multiplexer ``mux(s, x, y) = s x + (1 - s) y`` ("x if s else y");
* every two-input boolean function in the basis {1, a, b, ab}: a function ``t`` of two
  bits is the multilinear polynomial ``c0 + c1 a + c2 b + c3 ab`` with
  ``c0 = t(0,0)``, ``c1 = t(1,0) - t(0,0)``, ``c2 = t(0,1) - t(0,0)``,
  ``c3 = t(1,1) - t(1,0) - t(0,1) + t(0,0)``. :data:`GATES16` holds the coefficients of
  all 16 functions, derived from their truth tables by :func:`coefficients`; evaluate
  one with :func:`gate`.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

Tensor = torch.Tensor


def and_(a: Tensor, b: Tensor) -> Tensor:
    """and(a, b) = a b (eq. 8)."""
    return a * b


def or_(a: Tensor, b: Tensor) -> Tensor:
    """or(a, b) = a b + (1 - a) b + a (1 - b) (eq. 8)."""
    return a * b + (1 - a) * b + a * (1 - b)


def xor(a: Tensor, b: Tensor) -> Tensor:
    """xor(a, b) = (1 - a) b + a (1 - b) (eq. 9)."""
    return (1 - a) * b + a * (1 - b)


def not_(a: Tensor) -> Tensor:
    """not(a) = 1 - a (eq. 9)."""
    return 1 - a


def mux(s: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """x if s else y: s x + (1 - s) y."""
    return s * x + (1 - s) * y


def gate(a: Tensor, b: Tensor, coeffs: Sequence[float] | Tensor) -> Tensor:
    """c0 + c1 a + c2 b + c3 a b: a two-input boolean function in the {1, a, b, ab} basis.

    ``coeffs`` is a 4-sequence or a tensor whose last dimension is 4 (broadcast
    against ``a`` and ``b``, e.g. learned coefficients, one set per gate)."""
    if isinstance(coeffs, Tensor):
        c0, c1, c2, c3 = coeffs.unbind(-1)
    else:
        c0, c1, c2, c3 = coeffs
    return c0 + c1 * a + c2 * b + c3 * (a * b)


TruthFn = Callable[[int, int], int]

# The 16 functions of two bits, in the conventional order (the one of difflogic):
# entry k has t(1,1), t(1,0), t(0,1), t(0,0) = bits 0, 1, 2, 3 of k.
TRUTH_TABLES: dict[str, TruthFn] = {
    "false": lambda a, b: 0,
    "and": lambda a, b: a & b,
    "a_and_not_b": lambda a, b: a & (1 - b),
    "a": lambda a, b: a,
    "not_a_and_b": lambda a, b: (1 - a) & b,
    "b": lambda a, b: b,
    "xor": lambda a, b: a ^ b,
    "or": lambda a, b: a | b,
    "nor": lambda a, b: 1 - (a | b),
    "xnor": lambda a, b: 1 - (a ^ b),
    "not_b": lambda a, b: 1 - b,
    "a_or_not_b": lambda a, b: a | (1 - b),
    "not_a": lambda a, b: 1 - a,
    "not_a_or_b": lambda a, b: (1 - a) | b,
    "nand": lambda a, b: 1 - (a & b),
    "true": lambda a, b: 1,
}


def coefficients(t: TruthFn) -> tuple[int, int, int, int]:
    """(c0, c1, c2, c3) of the multilinear extension of the truth table ``t``."""
    t00, t01, t10, t11 = t(0, 0), t(0, 1), t(1, 0), t(1, 1)
    return (t00, t10 - t00, t01 - t00, t11 - t10 - t01 + t00)


GATES16: dict[str, tuple[int, int, int, int]] = {
    name: coefficients(t) for name, t in TRUTH_TABLES.items()
}

__all__ = ["GATES16", "TRUTH_TABLES", "and_", "coefficients", "gate", "mux", "not_", "or_", "xor"]
