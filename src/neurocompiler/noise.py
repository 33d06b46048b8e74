"""Training noise that does not depend on how a batch is split.

The span candidates' Gumbel noise (``augment.SlotParser._discrete``) and the general
parse's (:mod:`neurocompiler.augment.sampler`) are drawn per question: inside
:func:`rows`, row b of a draw comes from its own generator, seeded by
the step's seed, the question's place in the global batch and the draw's order within
the forward pass. So a step computed in micro-batches, or across processes, draws for
each question exactly what the whole batch would. Outside :func:`rows` (a model used on
its own), the global generator is used.
"""

from __future__ import annotations

import contextlib
import itertools
from contextvars import ContextVar
from typing import Iterator, Sequence

import torch

_ROWS: ContextVar[tuple[int, tuple[int, ...], list[int]] | None] = ContextVar("rows", default=None)


@contextlib.contextmanager
def rows(seed: int, places: Sequence[int]) -> Iterator[None]:
    """Draw noise for questions at ``places`` in the global batch of a step seeded ``seed``."""
    token = _ROWS.set((int(seed), tuple(int(p) for p in places), [0]))
    try:
        yield
    finally:
        _ROWS.reset(token)


def _draw(x: torch.Tensor) -> tuple[int, tuple[int, ...], int] | None:
    """Inside :func:`rows` and for a tensor with a row per place: (the step's seed, the
    places, this draw's order in the pass), counting the draw; else None."""
    ctx = _ROWS.get()
    if ctx is None or len(ctx[1]) != x.shape[0]:
        return None
    seed, places, calls = ctx
    site, calls[0] = calls[0], calls[0] + 1
    return seed, places, site


def exponential_like(x: torch.Tensor) -> torch.Tensor:
    """Exp(1) noise shaped like ``x`` (B, ...), one generator per row inside :func:`rows`."""
    draw = _draw(x)
    if draw is None:
        return torch.empty_like(x).exponential_()
    seed, places, site = draw
    out = torch.empty(x.shape, dtype=x.dtype)
    for b, place in enumerate(places):
        g = torch.Generator().manual_seed((seed * 1_000_003 + place * 1_009 + site) % (1 << 63))
        out[b].exponential_(generator=g)
    return out.to(x.device)


def exponential_blocks_like(x: torch.Tensor, blocks: Sequence[int] | None = None) -> torch.Tensor:
    """Exp(1) noise shaped like ``x`` (B, ..., O) whose last dimension is ``blocks``
    (sizes summing to O; None: one block): inside :func:`rows`, every row, leading index
    and block draws from its own generator, so the draw for the j-th option of a block
    does not depend on how far the batch pads the blocks (the general parse's options
    are the question's numbers, then its characters, each padded to the batch's most).
    Outside :func:`rows`, the global generator."""
    blocks = tuple(blocks) if blocks is not None else (x.shape[-1],)
    if sum(blocks) != x.shape[-1]:
        raise ValueError(f"blocks {blocks} do not cover the last dimension {x.shape[-1]}")
    draw = _draw(x) if x.dim() >= 2 else None
    if draw is None:
        return torch.empty_like(x).exponential_()
    seed, places, site = draw
    out = torch.empty(x.shape, dtype=x.dtype)
    lines = out.view(x.shape[0], -1, x.shape[-1])
    edges = [0, *itertools.accumulate(blocks)]
    for b, place in enumerate(places):
        first = seed * 1_000_003 + place * 1_009 + site
        for j in range(lines.shape[1]):
            for k in range(len(blocks)):
                if edges[k + 1] > edges[k]:
                    key = (first * 7_919 + j * 104_729 + k) % (1 << 63)
                    lines[b, j, edges[k]:edges[k + 1]].exponential_(generator=torch.Generator().manual_seed(key))
    return out.to(x.device)
