"""The context reader: a value the question does not spell out ("term number 6" -> the
depth 4, "twelve" -> 12), read softly from the hidden states."""

from __future__ import annotations

import torch
from torch import nn

from .pointers import Pointer


class ContextReader(nn.Module):
    """Per scalar slot, attention over the tokens mixes each token's value in context (a
    classifier over 0..n-1): a distribution (B, slots, n) through which gradients reach
    the backbone when a parse uses it."""

    def __init__(self, dim: int, slots: int, n: int) -> None:
        super().__init__()
        self.pointer = Pointer(dim, slots)
        self.value = nn.Linear(dim, n)

    def forward(self, z: torch.Tensor, pooled: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.pointer(z, pooled).masked_fill(~mask.bool()[:, None], float("-inf"))
        return torch.einsum("bst,btn->bsn", scores.softmax(-1), self.value(z).softmax(-1))
