"""Pointer scores shared by the readers: a learned query per slot, steered by the
question, against a key of every token (as attention scores them)."""

from __future__ import annotations

import torch
from torch import nn


class Pointer(nn.Module):
    """``scores(z, pooled)`` (B, slots, T): query_s + W pooled against key(z_t), / sqrt(d).
    Starts near uniform over the tokens: with default inits the scores are O(1) and random
    per question, and answer-only training stalls."""

    def __init__(self, dim: int, slots: int) -> None:
        super().__init__()
        self.queries = nn.Parameter(0.02 * torch.randn(slots, dim))
        self.steer = nn.Linear(dim, dim)  # lets the question move every query
        self.key = nn.Linear(dim, dim, bias=False)  # a key bias would be invisible to the softmax
        nn.init.zeros_(self.steer.weight)
        nn.init.zeros_(self.steer.bias)
        nn.init.normal_(self.key.weight, std=0.02)
        self.scale = dim ** -0.5

    def forward(self, z: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        q = self.queries[None] + self.steer(pooled)[:, None]  # (B, slots, d)
        return torch.einsum("bsd,btd->bst", q, self.key(z)) * self.scale


def at(scores: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """(B, slots, X): ``scores`` (B, slots, T) at the tokens ``where`` (B, X)."""
    return scores.gather(-1, where[:, None].expand(-1, scores.shape[1], -1))


class After(nn.Module):
    """Per slot, a score for what follows a reading: a pointer score at the first
    non-blank token after it (``*_next``), or a learned score where the question ends
    there (``*_next`` -1). A causal model's state at a reading's last token cannot see
    past it; this is where "the text ends before the ``?``" and "``5`` is followed by
    ``th``" are seen. Starts at 0 everywhere."""

    def __init__(self, dim: int, slots: int) -> None:
        super().__init__()
        self.pointer = Pointer(dim, slots)
        self.end = nn.Parameter(torch.zeros(slots))

    def forward(self, z: torch.Tensor, pooled: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
        """(B, slots, X) scores of the readings whose next tokens are ``after`` (B, X)."""
        scores = at(self.pointer(z, pooled), after.clamp_min(0))
        return torch.where(after[:, None] >= 0, scores, self.end[None, :, None])
