"""One optimisation step's gradients: forward, loss and backward over a global batch."""

from __future__ import annotations

from typing import Sequence

import torch

from .errors import NeurocompilerError


class NonFiniteLossError(NeurocompilerError):
    """The loss became NaN or infinite."""


def accumulate_gradients(model, ddp, tokenizer, examples: Sequence, device: torch.device,
                         global_size: int, world: int, bf16: bool, where: str) -> float:
    """Forward, loss and backward on ``examples`` (this process's share of a global batch
    of ``global_size``); returns the loss. ``where`` names the step in errors."""
    batch = model.make_batch(tokenizer, list(examples)).to(device)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and device.type in ("cuda", "cpu")):
        out = ddp(batch.input_ids, batch.attention_mask)
    loss = model.loss(out, batch.targets)
    if not torch.isfinite(loss):
        raise NonFiniteLossError(f"non-finite loss ({loss.item()}) at {where}; lower --lr or enable clipping")
    # DDP averages gradients over processes; weight each share by its size so
    # the update is the single-process mean over the global batch.
    (loss * len(examples) * world / global_size).backward()
    return loss.item()
