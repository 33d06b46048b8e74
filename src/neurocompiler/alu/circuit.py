"""The circuit ALU (§3.3, "Differentiable Circuits"): one-hot in, bits, circuits, one-hot out.

Each operand distribution (B, 2^b) becomes its bit marginals (:func:`onehot_to_bits`,
once per call), every active opcode runs as a circuit of :mod:`.circuits`, and each
result word returns to a distribution over values (:func:`bits_to_onehot`). Storage is
only the (2^b, b) table of bit patterns, against the O(n^2) index of the lookup table.

Exact on hard (one-hot) operands. On soft operands the circuits treat bits as
independent (the product of the operand's bit marginals) and every gate as acting on
independent inputs, and the output is the product of the result's bit marginals: an
approximation, exact only for ``copy`` and ``eq`` on operands with independent bits.

Mass: like the lookup table, whose output has mass ``sum(a) * sum(b)`` per unit of
opcode weight, the output here is ``sum(a) * sum(b)`` times a distribution: the bits are
the marginals of the normalised operands (``p @ patterns / sum(p)``, which is just
``onehot_to_bits`` when p sums to 1). It is thus homogeneous of degree 1 in each
operand, as the lookup table is.

:meth:`CircuitALU.forward_bits` runs the same mixture on words given as bits, for any
width (words too wide for a one-hot encoding).
"""

from __future__ import annotations

import torch

from ..errors import InputError
from ..isa import ALU_NAMES
from .base import ALU
from .circuits import CIRCUITS, divmod_
from .encoding import bit_patterns, bits_to_onehot, word_bits

Tensor = torch.Tensor


class CircuitALU(ALU):
    """An ALU of differentiable circuits; ``base`` must be a power of two."""

    def __init__(self, base: int, ops: tuple[str, ...] = ALU_NAMES) -> None:
        if not isinstance(base, int) or base < 2 or base & (base - 1):
            raise InputError(f"the circuit ALU needs a base that is a power of two >= 2 "
                             f"(its values are {{0,1}}^b words), got {base}")
        super().__init__(base, ops)
        unknown = [o for o in self.ops if o not in CIRCUITS]
        if unknown:
            raise ValueError(f"no circuit for opcode(s) {', '.join(unknown)}")
        self.bits = word_bits(base)
        self.register_buffer("_patterns", bit_patterns(self.bits).clone(), persistent=False)

    def table_bytes(self) -> int:
        return sum(b.numel() * b.element_size() for b in self.buffers())

    # --- conversions -----------------------------------------------------------------
    def _to_bits(self, p: Tensor) -> tuple[Tensor, Tensor]:
        """(bit marginals of p / sum(p), sum(p)); all-zero p gives bits 0, mass 0."""
        mass = p.sum(-1, keepdim=True)
        safe = torch.where(mass == 0, torch.ones_like(mass), mass)
        return (p @ self._patterns.to(p.dtype)) / safe, mass

    # --- circuits on words -----------------------------------------------------------
    def _results(self, x: Tensor, y: Tensor, names: list[str]) -> Tensor:
        """(..., len(names), b): each named circuit on words x, y (division run once
        when both div and mod are wanted)."""
        cache: dict[str, Tensor] = {}
        if "div" in names and "mod" in names:
            cache["div"], cache["mod"] = divmod_(x, y)
        outs = [cache[o] if o in cache else CIRCUITS[o](x, y) for o in names]
        return torch.stack(outs, -2)

    def _active_ops(self, active: list[bool] | None) -> list[int]:
        return [o for o in range(len(self.ops)) if active is None or active[o]]

    def forward_bits(self, op_probs: Tensor, x_bits: Tensor, y_bits: Tensor,
                     active: list[bool] | None = None) -> Tensor:
        """Mixture over opcodes of the result bits: (B, b) words in, (B, b) out, bit i of
        the output = sum_o op_probs[:, o] P(bit i of op_o(x, y) = 1). Any b."""
        idx = self._active_ops(active)
        if not idx:
            return torch.zeros_like(x_bits)
        res = self._results(x_bits, y_bits, [self.ops[o] for o in idx])
        return torch.einsum("bo,bok->bk", op_probs[:, idx], res)

    # --- the ALU interface -----------------------------------------------------------
    def op_output(self, name: str, a: Tensor, b: Tensor) -> Tensor:
        (x, ma), (y, mb) = self._to_bits(a), self._to_bits(b)
        return bits_to_onehot(CIRCUITS[name](x, y)) * (ma * mb)

    def forward(self, op_probs: Tensor, a: Tensor, b: Tensor,
                active: list[bool] | None = None) -> Tensor:
        """Each operand is converted to bits once; ``active[o]`` False skips opcode o."""
        idx = self._active_ops(active)
        if not idx:
            return torch.zeros_like(a)
        (x, ma), (y, mb) = self._to_bits(a), self._to_bits(b)
        res = self._results(x, y, [self.ops[o] for o in idx])  # (B, |idx|, b)
        dist = bits_to_onehot(res)  # (B, |idx|, n)
        return torch.einsum("bo,bon->bn", op_probs[:, idx], dist) * (ma * mb)


__all__ = ["CircuitALU"]
