"""The number reader: which number or character of the question a scalar input is, and
which small shift of the number ("the 6th term" is depth 4)."""

from __future__ import annotations

import torch
from torch import nn

from .pointers import After, Pointer, at
from .units import Items

RANKS = 8  # a slot can tell apart the first (and last) RANKS - 1 numbers, or characters, of a question
OFFSETS = 2  # a number may load shifted by -OFFSETS..OFFSETS
# The initial logit of "no shift" over the others' 0: a number starts as itself with
# probability e^3 / (e^3 + 4) = 0.83, and the shifts stay reachable.
OFFSET_PRIOR = 3.0


def _rank(ok: torch.Tensor, from_end: bool) -> torch.Tensor:
    """Each item's place among the question's items (B, X), clamped to RANKS - 1."""
    if from_end:
        ok = ok.flip(-1)
    rank = (ok.cumsum(-1) - 1).clamp(0, RANKS - 1)
    return rank.flip(-1) if from_end else rank


class NumberReader(nn.Module):
    """Per scalar slot, a logit for each number (read across its tokens, at its last
    token, which has seen all its digits) and each one-character unit: a pointer score,
    a score for what follows it (:class:`~.pointers.After`), plus a question-dependent
    score for its rank among the numbers (characters) counted from the start and from
    the end, so that "97 - 64" can tell its operands apart even where their hidden
    states look alike. Values are exact (``Items.*_value``).

    A number is read with a shift in -:data:`OFFSETS`..:data:`OFFSETS`, one option
    each (number-major: option ``i * shifts + s`` is number i shifted by ``s -
    OFFSETS``). The shift's score is read from the number's own token and the token
    after it, the words around it ("term 6", "6th", "F(6)"), not from its value, so it
    holds for numbers training never showed. A shift that leaves 0..n-1 is no option."""

    def __init__(self, dim: int, slots: int, n: int) -> None:
        super().__init__()
        self.slots, self.n, self.shifts = slots, n, 2 * OFFSETS + 1
        self.pointer = Pointer(dim, slots)
        self.after = After(dim, slots)
        self.rank = nn.Linear(dim, slots * 2 * 2 * RANKS)  # (slot, numbers|characters, start|end, rank)
        nn.init.zeros_(self.rank.weight)
        nn.init.zeros_(self.rank.bias)
        self.shift_at, self.shift_after = nn.Linear(dim, slots * self.shifts), nn.Linear(dim, slots * self.shifts)
        for layer in (self.shift_at, self.shift_after):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        with torch.no_grad():
            self.shift_at.bias.view(slots, self.shifts)[:, OFFSETS] = OFFSET_PRIOR

    def forward(self, z: torch.Tensor, pooled: torch.Tensor, items: Items) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, slots, N * shifts) logits of the shifted numbers and (B, slots, Q) of the
        characters, -inf where there is none."""
        B = z.shape[0]
        scores = self.pointer(z, pooled)
        ranks = self.rank(pooled).view(B, self.slots, 2, 2, RANKS)
        readings = ((items.number_at, items.number_next, items.number_ok),
                    (items.char_at, items.char_next, items.char_ok))
        out = []
        for k, (where, after, ok) in enumerate(readings):
            logits = at(scores, where) + self.after(z, pooled, after)
            for d in (0, 1):
                r = _rank(ok.long(), from_end=bool(d))[:, None].expand(-1, self.slots, -1)
                logits = logits + ranks[:, :, k, d].gather(-1, r)
            out.append(logits.masked_fill(~ok[:, None], float("-inf")))
        return self._shifted(z, items, out[0]), out[1]

    def _shifted(self, z: torch.Tensor, items: Items, numbers: torch.Tensor) -> torch.Tensor:
        B, N = items.number_at.shape
        rows = torch.arange(B, device=z.device)[:, None]
        after = z[rows, items.number_next.clamp_min(0)] * (items.number_next >= 0)[..., None]
        shift = (self.shift_at(z[rows, items.number_at]) + self.shift_after(after)).view(B, N, self.slots, -1)
        shift = shift.log_softmax(-1).permute(0, 2, 1, 3)  # (B, slots, N, shifts)
        value = items.number_value[:, None, :, None] + torch.arange(-OFFSETS, OFFSETS + 1, device=z.device)
        fits = (value >= 0) & (value < self.n)
        return (numbers[..., None] + shift).masked_fill(~fits, float("-inf")).flatten(2)

    def value(self, items: Items, option: torch.Tensor) -> torch.Tensor:
        """The value of number option ``option`` (B, K), shift included."""
        rows = torch.arange(option.shape[0], device=option.device)[:, None]
        number = items.number_value[rows, (option // self.shifts).clamp(max=items.number_value.shape[1] - 1)]
        return number + option % self.shifts - OFFSETS
