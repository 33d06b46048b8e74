"""The ALU interface: ``alu(op_probs, a, b) -> out``, all distributions.

``op_probs`` (B, |ops|) weighs the ALU's opcodes (``alu.ops``); ``a`` and ``b`` (B, n)
are distributions over operand values. The output (B, n) is
``sum_o op_probs[:, o] * P(op_o(a, b) = .)`` with a and b independent: linear in
``op_probs``, so a sub-distribution of weights gives an output of that total mass.
"""

from __future__ import annotations

import torch
from torch import nn

from ..isa import ALU_NAMES


class ALU(nn.Module):
    """Base class. Subclasses implement :meth:`op_output` for one opcode."""

    def __init__(self, base: int, ops: tuple[str, ...] = ALU_NAMES) -> None:
        super().__init__()
        self.base = base
        self.ops = tuple(ops)

    def op_output(self, name: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(B, n) distribution of ``name(a, b)``."""
        raise NotImplementedError

    def forward(self, op_probs: torch.Tensor, a: torch.Tensor, b: torch.Tensor,
                active: list[bool] | None = None) -> torch.Tensor:
        """Mixture over opcodes. ``active[o]`` False skips opcode o: the caller
        guarantees its weight is exactly zero and needs no gradient."""
        out = torch.zeros_like(a)
        for o, name in enumerate(self.ops):
            if active is not None and not active[o]:
                continue
            out = out + op_probs[:, o, None] * self.op_output(name, a, b)
        return out
