"""Binary <-> one-hot ("unit") conversions (Appendix B, "Binary to Unit Conversions").

Words are little-endian: bit 0 is the least significant, so value v has bit i equal to
``(v >> i) & 1``. A word of b bits is a tensor (..., b) of probabilities P(bit i = 1); a
one-hot distribution over the values 0..2^b - 1 is a tensor (..., 2^b).

* :func:`onehot_to_bits`: the dot-product lookup into the (2^b, b) table of binary
  encodings, ``p @ bit_patterns(b)``: each output is the marginal P(bit i = 1).
* :func:`bits_to_onehot`: the closed form for independent bits ("flipping a coin at each
  bit"), P(v) = prod_i (q_i if bit i of v else 1 - q_i). For b = 2 this is the paper's
  [(1-q1)(1-q0), (1-q1)q0, q1(1-q0), q1 q0].

The round trip one-hot -> bits -> one-hot is exact for product distributions (those
with independent bits, hard values included) and otherwise gives the product of the
bit marginals.
"""

from __future__ import annotations

from functools import lru_cache

import torch

Tensor = torch.Tensor


def word_bits(width: int) -> int:
    """b such that 2^b = width; ValueError unless ``width`` is a power of two >= 2."""
    if width < 2 or width & (width - 1):
        raise ValueError(f"a one-hot width must be a power of two >= 2, got {width}")
    return width.bit_length() - 1


@lru_cache(maxsize=None)
def bit_patterns(b: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """(2^b, b) table: row v is the little-endian binary encoding of v.

    Cached and shared: do not modify the returned tensor in place."""
    if b < 1:
        raise ValueError(f"a word needs at least one bit, got {b}")
    v = torch.arange(2 ** b, dtype=torch.long)
    return ((v[:, None] >> torch.arange(b)) & 1).to(dtype)


def onehot_to_bits(p: Tensor, patterns: Tensor | None = None) -> Tensor:
    """(..., 2^b) distribution over values -> (..., b) bit marginals, ``p @ bit_patterns``.

    ``patterns`` may pass a table already on p's device (e.g. a module buffer)."""
    if patterns is None:
        patterns = bit_patterns(word_bits(p.shape[-1]))
    return p @ patterns.to(device=p.device, dtype=p.dtype)


def bits_to_onehot(q: Tensor) -> Tensor:
    """(..., b) independent bit probabilities -> (..., 2^b) product distribution.

    Built by iterated outer products, bit 0 first: after bits 0..k-1 the table holds
    P(low k bits = v); bit k doubles it, [P * (1 - q_k), P * q_k]. O(2^b) memory."""
    out = torch.ones_like(q[..., :1])
    for k in range(q.shape[-1]):
        qk = q[..., k:k + 1]
        out = torch.cat([out * (1 - qk), out * qk], -1)
    return out


def ints_to_bits(x: Tensor, b: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Integer tensor (...) -> hard bits (..., b), little-endian (x taken mod 2^b)."""
    return ((x.long()[..., None] >> torch.arange(b, device=x.device)) & 1).to(dtype)


def bits_to_ints(q: Tensor) -> Tensor:
    """Bits (..., b) -> the integer whose bit i is ``q_i > 0.5`` (b <= 63)."""
    b = q.shape[-1]
    return ((q > 0.5).long() << torch.arange(b, device=q.device)).sum(-1)


__all__ = ["bit_patterns", "bits_to_ints", "bits_to_onehot", "ints_to_bits", "onehot_to_bits",
           "word_bits"]
