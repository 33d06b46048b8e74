"""The selection head: which library function answers the question."""

from __future__ import annotations

import torch
from torch import nn


class SelectionHead(nn.Module):
    """A softmax over the library's functions from the pooled hidden state (§3.4)."""

    def __init__(self, dim: int, functions: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, functions)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.linear(pooled).softmax(-1)
