"""The candidate sampler: K discrete choices per slot, and their probabilities."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import noise


@dataclass
class Choices:
    """One option per candidate: ``index`` (B, K), its log-probability ``logp``
    (differentiable, 0 where not ``ok``) and ``ok`` (False where there was none to take)."""

    index: torch.Tensor
    logp: torch.Tensor
    ok: torch.Tensor


class CandidateSampler:
    """K candidates per question in training, the most probable one in evaluation. A
    slot's options are drawn by Gumbel noise (drawn per question, :mod:`noise`), so a
    candidate is a sample from the parse distribution."""

    def __init__(self, candidates: int) -> None:
        self.candidates = candidates

    def width(self, training: bool, choices: int = 1) -> int:
        """Candidates per question: K for each choice a parse samples (fib's samples two
        seeds and enumerates its depth: 2K; add's samples one operand: K), 1 in evaluation."""
        return self.candidates * max(1, choices) if training else 1

    def top(self, logits: torch.Tensor, training: bool, width: int | None = None) -> Choices:
        """``width`` (default :meth:`width`) options of ``logits`` (B, O) (-inf: no such
        option) without replacement (Gumbel top-k): the candidates start from different
        options."""
        K = self.width(training) if width is None else width
        logp = _log_softmax(logits)
        keys = _noisy(logp, training)
        index = keys.topk(min(K, logits.shape[-1]), -1).indices
        return _picked(logp, F.pad(index, (0, K - index.shape[-1])), K > logits.shape[-1])

    def each(self, logits: torch.Tensor, training: bool) -> Choices:
        """One option per candidate from ``logits`` (B, K, O), each its own draw."""
        logp = _log_softmax(logits)
        return _picked(logp, _noisy(logp, training).argmax(-1), False)


    def every(self, logits: torch.Tensor, training: bool, most: int) -> Choices:
        """In training, the ``most`` most probable options of ``logits`` (B, K, O) each, as
        (B, K, E) choices (E = min(most, O)): a slot that is enumerated, not sampled,
        so that its part of the likelihood is exact over them; in evaluation :meth:`each`."""
        if not training:
            choices = self.each(logits, training)
            return Choices(choices.index[..., None], choices.logp[..., None], choices.ok[..., None])
        logp = _log_softmax(logits)
        picked, index = logp.topk(min(most, logits.shape[-1]), -1)
        ok = torch.isfinite(picked)
        return Choices(index, picked.masked_fill(~ok, 0.0), ok)


def _log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """log_softmax, -inf (not NaN) on a row with no option."""
    none = torch.isinf(logits).all(-1, keepdim=True)
    return torch.where(none, float("-inf"), logits.masked_fill(none, 0.0).log_softmax(-1))


def _noisy(logp: torch.Tensor, training: bool) -> torch.Tensor:
    keys = logp.detach()
    return keys - noise.exponential_like(keys).log() if training else keys  # + Gumbel noise


def _picked(logp: torch.Tensor, index: torch.Tensor, padded: bool) -> Choices:
    if index.dim() < logp.dim():
        picked = logp.gather(-1, index[..., None])[..., 0]
    else:
        picked = logp.gather(-1, index)
    ok = torch.isfinite(picked)
    if padded:  # the columns top() added past the options
        ok = ok & (torch.arange(index.shape[-1], device=index.device) < logp.shape[-1])
    return Choices(index, picked.masked_fill(~ok, 0.0), ok)
