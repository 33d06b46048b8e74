"""Arithmetic circuits on b-bit words, built only from the gates of :mod:`.gates`.

A word is a tensor (..., b) of bit probabilities, little-endian (bit 0 = least
significant); every result is modulo 2^b. On hard bits each circuit is the classical
one and exact; on soft bits each gate assumes its inputs independent, so a circuit's
output is exact only where that holds along the way (see "Exactness" below).

Circuits (§3.3): ripple-carry :func:`add` (full adders), two's-complement :func:`sub`
(x + not y + 1), shift-and-add :func:`mul`, restoring long division :func:`divmod_`
(quotient and remainder 0 on division by zero, as ISA.md says), the comparators
:func:`eq`, :func:`lt`, :func:`le` (one bit, shape (...,)), :func:`min_` / :func:`max_`
(a mux on lt), and :func:`inc`, :func:`dec`, :func:`copy`. :data:`CIRCUITS` maps every
ALU opcode name of :data:`~neurocompiler.isa.ALU_NAMES` to a circuit ``(x, y) -> word``;
a flag comes back as a word with bit 0 = the flag and every other bit 0.

Exactness on independent soft input bits (each output bit's marginal P(bit = 1)):
``copy``; ``inc`` and ``dec`` (each carry / borrow is an and of bits below, independent
of the bit it meets); ``eq`` (an and-tree of xnors of disjoint bit pairs); bits 0-1 of
``add`` and ``mul``; bit 0 of ``sub``. Everything else (deeper carries, where an or joins
two mutually exclusive but dependent events; ``lt``/``le`` beyond one bit; ``min``/``max``,
whose mux select depends on the data; division) is the independence approximation of
eqs. 8-9, exact only on hard bits. Exact marginals do not make an exact distribution:
back in one-hot form (a product of marginals) only ``copy`` and ``eq`` are exact.

Everything loops over bit positions only; each step is elementwise over the batch.
"""

from __future__ import annotations

from typing import Callable

import torch

from .gates import and_, mux, not_, or_, xor

Tensor = torch.Tensor
Bits = list  # a word as a list of b bit tensors (...,), little-endian


def _split(x: Tensor) -> Bits:
    return list(x.unbind(-1))


def _join(bits: Bits) -> Tensor:
    return torch.stack(bits, -1)


def _full_adder(a: Tensor, b: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """(sum, carry) of a + b + c."""
    p = xor(a, b)
    return xor(p, c), or_(and_(a, b), and_(c, p))


def _ripple(xs: Bits, ys: Bits, carry: Tensor | None) -> tuple[Bits, Tensor]:
    """xs + ys + carry over len(xs) bits: (sum bits, carry out). ``carry`` None is 0
    (a half adder at bit 0)."""
    out = []
    for a, b in zip(xs, ys):
        if carry is None:
            s, carry = xor(a, b), and_(a, b)
        else:
            s, carry = _full_adder(a, b, carry)
        out.append(s)
    return out, carry


def copy(x: Tensor, y: Tensor | None = None) -> Tensor:
    """x."""
    return x


def add(x: Tensor, y: Tensor) -> Tensor:
    """x + y mod 2^b: ripple-carry adder."""
    return _join(_ripple(_split(x), _split(y), None)[0])


def sub(x: Tensor, y: Tensor) -> Tensor:
    """x - y mod 2^b: x + not(y) + 1."""
    ys = [not_(b) for b in _split(y)]
    return _join(_ripple(_split(x), ys, torch.ones_like(x[..., 0]))[0])


def inc(x: Tensor, y: Tensor | None = None) -> Tensor:
    """x + 1 mod 2^b: a chain of half adders with carry-in 1."""
    carry, out = None, []
    for a in _split(x):
        if carry is None:  # a + 1: sum not(a), carry a
            s, carry = not_(a), a
        else:
            s, carry = xor(a, carry), and_(a, carry)
        out.append(s)
    return _join(out)


def dec(x: Tensor, y: Tensor | None = None) -> Tensor:
    """x - 1 mod 2^b: a chain of half subtractors with borrow-in 1."""
    borrow, out = None, []
    for a in _split(x):
        if borrow is None:  # a - 1: difference not(a), borrow not(a)
            s = not_(a)
            borrow = s
        else:
            s, borrow = xor(a, borrow), and_(not_(a), borrow)
        out.append(s)
    return _join(out)


def mul(x: Tensor, y: Tensor) -> Tensor:
    """x y mod 2^b: shift-and-add. Row j, the partial product x y_j << j, touches only
    bits j..b-1 of the accumulator, so the adders there are all that is needed."""
    xs, ys = _split(x), _split(y)
    n = len(xs)
    acc = [and_(xs[i], ys[0]) for i in range(n)]
    for j in range(1, n):
        row = [and_(xs[i - j], ys[j]) for i in range(j, n)]
        acc[j:] = _ripple(acc[j:], row, None)[0]
    return _join(acc)


def is_zero(y: Tensor) -> Tensor:
    """1 iff every bit of y is 0: a NOR tree, the and of the not_ of each bit."""
    bits = _split(y)
    z = not_(bits[0])
    for b in bits[1:]:
        z = and_(z, not_(b))
    return z


def divmod_(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """(x // y, x mod y), both 0 when y = 0: restoring long division.

    For each bit of x from the top: shift it into the partial remainder R (b + 1 bits),
    trial-subtract y (the carry out of R + not(y) + 1 is the quotient bit, "R >= y"),
    keep the difference where it is, R where not (a mux)."""
    xs, ys = _split(x), _split(y)
    n = len(xs)
    zero = torch.zeros_like(xs[0])
    one = torch.ones_like(xs[0])
    nys = [not_(b) for b in ys] + [not_(zero)]  # not(y) over b + 1 bits
    rem = [zero] * (n + 1)
    quo: Bits = [zero] * n
    for i in reversed(range(n)):
        rem = [xs[i]] + rem[:n]  # R <- 2 R + x_i (R < 2y before the shift: b + 1 bits do)
        diff, q = _ripple(rem, nys, one)
        quo[i] = q
        rem = [mux(q, d, r) for d, r in zip(diff, rem)]
    nz = not_(is_zero(y))
    return _join([and_(q, nz) for q in quo]), _join([and_(r, nz) for r in rem[:n]])


def div(x: Tensor, y: Tensor) -> Tensor:
    """x // y, 0 when y = 0."""
    return divmod_(x, y)[0]


def mod(x: Tensor, y: Tensor) -> Tensor:
    """x mod y, 0 when y = 0."""
    return divmod_(x, y)[1]


def eq(x: Tensor, y: Tensor) -> Tensor:
    """1 iff x = y: the and of xnor(x_i, y_i) (shape (...,))."""
    out = None
    for a, b in zip(_split(x), _split(y)):
        e = not_(xor(a, b))
        out = e if out is None else and_(out, e)
    return out


def lt(x: Tensor, y: Tensor) -> Tensor:
    """1 iff x < y (unsigned), a ripple comparator from bit 0 up: at bit i, x < y on
    bits 0..i iff (x_i = 0 and y_i = 1) or (x_i = y_i and x < y on bits 0..i-1)."""
    out = None
    for a, b in zip(_split(x), _split(y)):
        here = and_(not_(a), b)
        out = here if out is None else or_(here, and_(not_(xor(a, b)), out))
    return out


def le(x: Tensor, y: Tensor) -> Tensor:
    """1 iff x <= y: not(y < x)."""
    return not_(lt(y, x))


def _select(s: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """Word x if s else y, bitwise mux."""
    return _join([mux(s, a, b) for a, b in zip(_split(x), _split(y))])


def min_(x: Tensor, y: Tensor) -> Tensor:
    """x if x < y else y."""
    return _select(lt(x, y), x, y)


def max_(x: Tensor, y: Tensor) -> Tensor:
    """y if x < y else x."""
    return _select(lt(x, y), y, x)


def flag_word(f: Tensor, b: int) -> Tensor:
    """A one-bit flag (...,) as a b-bit word: bit 0 = f, the rest 0."""
    return torch.cat([f[..., None], torch.zeros_like(f)[..., None].expand(*f.shape, b - 1)], -1)


def _flag(circuit: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    def word(x: Tensor, y: Tensor) -> Tensor:
        return flag_word(circuit(x, y), x.shape[-1])
    word.__name__ = word.__qualname__ = f"{circuit.__name__}_word"
    word.__doc__ = f"{circuit.__name__}(x, y) as a word (bit 0 = the flag)."
    return word


CIRCUITS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "copy": copy,
    "inc": inc,
    "dec": dec,
    "add": add,
    "sub": sub,
    "mul": mul,
    "div": div,
    "mod": mod,
    "min": min_,
    "max": max_,
    "eq": _flag(eq),
    "lt": _flag(lt),
    "le": _flag(le),
}

__all__ = ["CIRCUITS", "add", "copy", "dec", "div", "divmod_", "eq", "flag_word", "inc",
           "is_zero", "le", "lt", "max_", "min_", "mod", "mul", "sub"]
