"""The number reader: which number or character of the question a scalar input is."""

from __future__ import annotations

import torch
from torch import nn

from .pointers import Pointer, at
from .units import Items

RANKS = 8  # a slot can tell apart the first (and last) RANKS - 1 numbers, or characters, of a question


def _rank(ok: torch.Tensor, from_end: bool) -> torch.Tensor:
    """Each item's place among the question's items (B, X), clamped to RANKS - 1."""
    if from_end:
        ok = ok.flip(-1)
    rank = (ok.cumsum(-1) - 1).clamp(0, RANKS - 1)
    return rank.flip(-1) if from_end else rank


class NumberReader(nn.Module):
    """Per scalar slot, a logit for each number (read across its tokens, at its last
    token, which has seen all its digits) and each one-character unit: a pointer score,
    plus a question-dependent score for its rank among the numbers (characters) counted
    from the start and from the end, so that "97 - 64" can tell its operands apart even
    where their hidden states look alike. Values are exact (``Items.*_value``)."""

    def __init__(self, dim: int, slots: int) -> None:
        super().__init__()
        self.slots = slots
        self.pointer = Pointer(dim, slots)
        self.rank = nn.Linear(dim, slots * 2 * 2 * RANKS)  # (slot, numbers|characters, start|end, rank)
        nn.init.zeros_(self.rank.weight)
        nn.init.zeros_(self.rank.bias)

    def forward(self, z: torch.Tensor, pooled: torch.Tensor, items: Items) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, slots, N) logits of the numbers and (B, slots, Q) of the characters, -inf where none."""
        B = z.shape[0]
        scores = self.pointer(z, pooled)
        ranks = self.rank(pooled).view(B, self.slots, 2, 2, RANKS)
        out = []
        for k, (where, ok) in enumerate(((items.number_at, items.number_ok), (items.char_at, items.char_ok))):
            logits = at(scores, where)
            for d in (0, 1):
                r = _rank(ok.long(), from_end=bool(d))[:, None].expand(-1, self.slots, -1)
                logits = logits + ranks[:, :, k, d].gather(-1, r)
            out.append(logits.masked_fill(~ok[:, None], float("-inf")))
        return out[0], out[1]
