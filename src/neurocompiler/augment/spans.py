"""The span reader: which run of the question's units a function's list comes from."""

from __future__ import annotations

import torch
from torch import nn

from .pointers import After, Pointer, at
from .units import Items

UNITS, OTHERS = 16, 4  # a span's shape as the reader sees it: units 1..15+, punctuation units 0..3+


class SpanReader(nn.Module):
    """Per list slot, a logit for every span (:mod:`.units`): a start pointer at its
    first token, an end pointer at its last, and a score for what follows it
    (:class:`~.pointers.After`: the delimiter that closes it), plus a question-dependent
    score for its shape: how many units it holds, and how many of them are punctuation
    (a word, several words, or a run across a sentence's marks). What a span holds is
    exact: its characters' codes and their count (``Items.span_codes``, ``span_len``)."""

    def __init__(self, dim: int, slots: int) -> None:
        super().__init__()
        self.slots = slots
        self.start, self.end = Pointer(dim, slots), Pointer(dim, slots)
        self.after = After(dim, slots)
        self.shape = nn.Linear(dim, slots * (UNITS + OTHERS))
        nn.init.zeros_(self.shape.weight)
        nn.init.zeros_(self.shape.bias)

    def forward(self, z: torch.Tensor, pooled: torch.Tensor, items: Items) -> torch.Tensor:
        """(B, slots, S) logits, -inf where there is no span."""
        logits = at(self.start(z, pooled), items.span_first) + at(self.end(z, pooled), items.span_last) \
            + self.after(z, pooled, items.span_next)
        shape = self.shape(pooled).view(z.shape[0], self.slots, UNITS + OTHERS)
        size = items.span_units.clamp(max=UNITS - 1)[:, None].expand(-1, self.slots, -1)
        marks = (UNITS + items.span_others.clamp(max=OTHERS - 1))[:, None].expand(-1, self.slots, -1)
        logits = logits + shape.gather(-1, size) + shape.gather(-1, marks)
        return logits.masked_fill(~items.span_ok[:, None], float("-inf"))
