"""Small layers shared by the minimal networks (§4.1) and the augmented LM (§3.4).

``Choice`` and ``route`` act on one-hot inputs with weights shared across values, so a
network built from them runs at any word size: a learned categorical choice (which input
slot feeds which argument register, which opcode or library function a task needs).
``LogReadout`` maps the computer's output distributions to answer logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Choice(nn.Module):
    """Learned distributions over the last axis of a ``shape`` table of logits, e.g.
    (argument registers, input slots) for routing or (tasks, functions) for selection.
    ``hard=True`` returns their argmax as one-hot: the discrete parse the soft one
    approximates."""

    def __init__(self, *shape: int, gen: torch.Generator | None = None, std: float = 0.1) -> None:
        super().__init__()
        self.logits = nn.Parameter(std * torch.randn(*shape, generator=gen))

    def forward(self, hard: bool = False) -> torch.Tensor:
        if hard:
            return F.one_hot(self.logits.argmax(-1), self.logits.shape[-1]).to(self.logits.dtype)
        return self.logits.softmax(-1)


class LogReadout(nn.Module):
    """Answer logits ``scale * log(p)`` from an output distribution ``p`` (a bias would
    be invisible to the softmax, so there is none).

    With ``min_scale`` the scale is kept at or above it (``min_scale + softplus``). A
    scale below 1 makes the cross-entropy's gradient grow like ``p ** (scale - 1)`` at
    values of tiny probability, so on deep, blurred outputs it is dominated by noise and
    the readout learns to flatten instead of the parse to sharpen; ``min_scale=1``
    rules that out (Table 1)."""

    def __init__(self, min_scale: float | None = None) -> None:
        super().__init__()
        self.min_scale = min_scale
        # free: the scale itself, from 1; bounded: softplus(-4) ~ 0.018 above min_scale
        self.raw_scale = nn.Parameter(torch.tensor(1.0 if min_scale is None else -4.0))

    @property
    def scale(self) -> torch.Tensor:
        if self.min_scale is None:
            return self.raw_scale
        return self.min_scale + F.softplus(self.raw_scale)

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        return self.scale * p.clamp_min(1e-12).log()


def route(choice: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mix one-hot input slots ``x`` (B, slots, n) into arguments (B, args, n) with a
    routing ``choice`` (args, slots), or a per-example one (B, args, slots)."""
    if choice.dim() == 2:
        return torch.einsum("as,bsn->ban", choice, x)
    return torch.einsum("bas,bsn->ban", choice, x)
