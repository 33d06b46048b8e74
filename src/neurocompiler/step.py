"""One optimisation step's gradients: forward, loss and backward over a global batch,
in micro-batches when the whole batch would not fit in memory (gradient accumulation,
sized by :func:`neurocompiler.footprint_lm.plan_training`)."""

from __future__ import annotations

import contextlib
from typing import Sequence

import torch

from .errors import NeurocompilerError


class NonFiniteLossError(NeurocompilerError):
    """The loss became NaN or infinite."""


def loss_units(model, batch) -> int:
    """How many terms ``model.loss`` averages over on ``batch``: its supervised tokens
    for a model whose loss is a token mean (``loss_over = "tokens"``, the CausalLM
    baseline), else its examples."""
    if getattr(model, "loss_over", "examples") == "tokens":
        from .augment import IGNORE

        return int((batch.targets != IGNORE).sum())
    return len(batch.examples)


def accumulate_gradients(model, ddp, tokenizer, examples: Sequence, device: torch.device,
                         global_size: int, world: int, bf16: bool, where: str,
                         micro_batch: int | None = None) -> float:
    """Forward, loss and backward on ``examples`` (this process's share of a global batch
    of ``global_size``), ``micro_batch`` examples at a time (None: all at once); returns
    the loss. Each micro-batch's loss is weighted by its share of the loss's terms, so
    the accumulated gradient is the whole batch's. ``where`` names the step in errors."""
    examples = list(examples)
    size = micro_batch or len(examples) or 1
    chunks = [examples[i:i + size] for i in range(0, len(examples), size)] or [examples]
    batches = [model.make_batch(tokenizer, chunk) for chunk in chunks]
    units = [loss_units(model, b) for b in batches]
    total = sum(units) or 1
    # DDP averages gradients over processes; weight each share by its size so
    # the update is the single-process mean over the global batch.
    share = len(examples) * world / global_size
    value = 0.0
    for k, (batch, count) in enumerate(zip(batches, units)):
        last = k == len(batches) - 1
        # only the last backward synchronises DDP's gradients (every rank has one)
        sync = contextlib.nullcontext() if last or not hasattr(ddp, "no_sync") else ddp.no_sync()
        batch = batch.to(device)
        with sync:
            with torch.autocast(device.type, dtype=torch.bfloat16,
                                enabled=bf16 and device.type in ("cuda", "cpu")):
                out = ddp(batch.input_ids, batch.attention_mask)
            loss = model.loss(out, batch.targets)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"non-finite loss ({loss.item()}) at {where}; lower --lr or enable clipping")
            (loss * (count / total) * share).backward()
        value += loss.item() * count / total
    return value
