"""The span reader: which run of the question's units a function's list comes from."""

from __future__ import annotations

import torch
from torch import nn

from .pointers import Pointer, at
from .units import Items


class SpanReader(nn.Module):
    """Per list slot, a logit for every span (:mod:`.units`): a start pointer at its
    first token plus an end pointer at its last. What a span holds is exact: its
    characters' codes and their count (``Items.span_codes``, ``span_len``)."""

    def __init__(self, dim: int, slots: int) -> None:
        super().__init__()
        self.slots = slots
        self.start, self.end = Pointer(dim, slots), Pointer(dim, slots)

    def forward(self, z: torch.Tensor, pooled: torch.Tensor, items: Items) -> torch.Tensor:
        """(B, slots, S) logits, -inf where there is no span."""
        logits = at(self.start(z, pooled), items.span_first) + at(self.end(z, pooled), items.span_last)
        return logits.masked_fill(~items.span_ok[:, None], float("-inf"))
