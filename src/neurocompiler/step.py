"""One optimisation step's gradients: forward, loss and backward over a global batch,
in micro-batches when the whole batch would not fit in memory (gradient accumulation,
sized by :func:`neurocompiler.footprint_lm.plan_training`)."""

from __future__ import annotations

import contextlib
from typing import Sequence

import torch

from . import noise
from .augment import Batch
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


def _rows(batch: Batch, i: int, j: int) -> Batch:
    """Rows i..j-1 of ``batch``, padded as the whole batch is."""
    return Batch(batch.input_ids[i:j], batch.attention_mask[i:j], batch.targets[i:j], batch.examples[i:j])


def accumulate_gradients(model, ddp, tokenizer, examples: Sequence, device: torch.device,
                         global_size: int, world: int, bf16: bool, where: str,
                         micro_batch: int | None = None, places: Sequence[int] | None = None) -> float:
    """Forward, loss and backward on ``examples`` (this process's share of a global batch
    of ``global_size``, at ``places`` in it; default 0, 1, ...), ``micro_batch`` examples
    at a time (None: all at once); returns the loss. The micro-batches are rows of the
    whole batch (the same padding), each question draws its own training noise
    (:mod:`neurocompiler.noise`), and each micro-batch's loss is weighted by its share of
    the loss's terms, so the accumulated gradient is the whole batch's. ``where`` names
    the step in errors."""
    examples = list(examples)
    places = list(range(len(examples))) if places is None else list(places)
    seed = int(torch.randint(0, 1 << 62, (1,)))  # the step's: from the global generator, as a resume replays it
    size = micro_batch or len(examples) or 1
    whole = model.make_batch(tokenizer, examples)
    cuts = list(range(0, len(examples), size)) or [0]
    batches = [_rows(whole, i, i + size) for i in cuts]
    units = [loss_units(model, b) for b in batches]
    total = sum(units) or 1
    # DDP averages gradients over processes; weight each share by its size so
    # the update is the single-process mean over the global batch.
    share = len(examples) * world / global_size
    value = 0.0
    for k, (batch, count, cut) in enumerate(zip(batches, units, cuts)):
        last = k == len(batches) - 1
        # only the last backward synchronises DDP's gradients (every rank has one)
        sync = contextlib.nullcontext() if last or not hasattr(ddp, "no_sync") else ddp.no_sync()
        batch = batch.to(device)
        with sync, noise.rows(seed, places[cut:cut + size]):
            with torch.autocast(device.type, dtype=torch.bfloat16,
                                enabled=bf16 and device.type in ("cuda", "cpu")):
                out = ddp(batch.input_ids, batch.attention_mask)
            loss = model.loss(out, batch.targets)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"non-finite loss ({loss.item()}) at {where}; lower --lr or enable clipping")
            (loss * (count / total) * share).backward()
        value += loss.item() * count / total
    return value
