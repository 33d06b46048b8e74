"""Baselines without the computer (issue #6): the same backbone, tokenizer and data as
:class:`~neurocompiler.augment.AugmentedLM`, with the library taken away.

* :class:`DirectLM` (``--architecture direct``): heads straight on the pooled ``z``: a
  classifier over 0..n-1 for integer answers, one classifier per output position for
  string answers (values 0..n-1, a 0 ends the string, as the augmented model's cells),
  and a two-way head that says which kind of answer the question wants.

It has the augmented model's interface, so training, evaluation, checkpoints and
``ask`` treat both alike: ``forward(input_ids, attention_mask)``, ``loss(out,
targets)`` and ``answer_is_int(out)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .augment import IGNORE, AugmentConfig, answer_loss, build_backbone, pool


@dataclass
class DirectOutput:
    int_logits: torch.Tensor  # (B, n)
    str_logits: torch.Tensor  # (B, cells, n)
    kind_logits: torch.Tensor  # (B, 2): integer answer, string answer


class DirectLM(nn.Module):
    """Backbone + answer heads on the pooled z; no selection, no parse, no machine."""

    def __init__(self, config: AugmentConfig, backbone: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        self.backbone = backbone if backbone is not None else build_backbone(config.backbone)
        dim, n = self.backbone.config.hidden_size, config.base
        self.int_head = nn.Linear(dim, n)
        self.str_head = nn.Linear(dim, config.cells * n)
        self.kind = nn.Linear(dim, 2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> DirectOutput:
        z = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state.float()
        pooled = pool(z, attention_mask)
        strings = self.str_head(pooled).view(-1, self.config.cells, self.config.base)
        return DirectOutput(self.int_head(pooled), strings, self.kind(pooled))

    def loss(self, out: DirectOutput, targets: torch.Tensor) -> torch.Tensor:
        """The answer's cross-entropy, plus that of its kind (integer or string)."""
        kind = (targets[:, 0] == IGNORE).long()  # 1: a string answer
        return answer_loss(out, targets) + F.cross_entropy(out.kind_logits, kind)

    def answer_is_int(self, out: DirectOutput) -> torch.Tensor:
        return out.kind_logits.argmax(-1) == 0
