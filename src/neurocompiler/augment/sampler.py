"""The candidate sampler: K discrete choices per slot, and their probabilities."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import noise


# In training the candidates are drawn from a proposal: the model's distribution mixed
# with a prior (every option reachable: uniform over the kinds of reading, then over each
# kind's options) that has this share, as Guu et al. 2017's randomized beam search mixes
# in random choices. A parse the model has wrongly become sure against is still tried.
# The candidates' weights stay the model's probabilities.
EXPLORE = 0.1


@dataclass
class Choices:
    """One option per candidate: ``index`` (B, K), its log-probability ``logp``
    (differentiable, 0 where not ``ok``), ``ok`` (False where there was none to take),
    and ``logq``, its log-probability under the proposal it was drawn from (no gradient)."""

    index: torch.Tensor
    logp: torch.Tensor
    ok: torch.Tensor
    logq: torch.Tensor


class CandidateSampler:
    """K candidates per question in training, the most probable one in evaluation. A
    slot's options are drawn by Gumbel noise (drawn per question, :mod:`noise`) without
    replacement, from the model's distribution mixed with a ``prior`` (:data:`EXPLORE`):
    :meth:`top` for a first slot, :meth:`beam` for each later one (the best partial
    parses by their perturbed joint proposal), :meth:`every` for an enumerated one;
    :meth:`keys` ranks the values a reading from context runs."""

    def __init__(self, candidates: int) -> None:
        self.candidates = candidates

    def width(self, training: bool, choices: int = 1) -> int:
        """Candidates per question: K for each choice a parse samples (fib's samples two
        seeds and enumerates its depth: 2K; add's samples one operand: K), 1 in evaluation."""
        return self.candidates * max(1, choices) if training else 1

    def proposal(self, logp: torch.Tensor, prior: torch.Tensor | None, training: bool) -> torch.Tensor:
        """The log-probabilities candidates are drawn from: in training ``logp`` mixed with
        ``prior`` (log-probabilities over the same options), else ``logp``; no gradient."""
        logp = logp.detach()
        if not training or prior is None:
            return logp
        prior = log_softmax(prior.detach().masked_fill(torch.isinf(logp), float("-inf")))  # the same options
        return torch.logaddexp(logp + math.log1p(-EXPLORE), prior + math.log(EXPLORE))

    def top(self, logits: torch.Tensor, training: bool, width: int | None = None,
            prior: torch.Tensor | None = None) -> Choices:
        """``width`` (default :meth:`width`) options of ``logits`` (B, O) (-inf: no such
        option) without replacement (Gumbel top-k): the candidates start from different
        options."""
        K = self.width(training) if width is None else width
        logp = log_softmax(logits)
        logq = self.proposal(logp, prior, training)
        index = _noisy(logq, training).topk(min(K, logits.shape[-1]), -1).indices
        index = F.pad(index, (0, K - index.shape[-1]))
        picked = logp.gather(-1, index)
        ok = torch.isfinite(picked) & (torch.arange(K, device=index.device) < logits.shape[-1])
        return Choices(index, picked.masked_fill(~ok, 0.0), ok, logq.gather(-1, index).masked_fill(~ok, 0.0))

    def beam(self, prefix: torch.Tensor, logits: torch.Tensor, training: bool, width: int,
             prior: torch.Tensor | None = None, blocks: tuple[int, ...] | None = None) -> tuple[torch.Tensor, Choices]:
        """Extend W partial parses (proposal log-probabilities ``prefix`` (B, W), -inf where
        there is none) by one slot's options ``logits`` (B, W, O): the ``width`` best of the
        W * O joint parses by their Gumbel-perturbed proposal, without replacement (a
        stochastic beam, as in Kool et al. 2019; beam MML as in Guu et al. 2017). Returns
        each kept parse's parent (B, width) and its option. A confident first slot then
        leaves its candidates to the next slot's options instead of to its own unlikely
        ones. In evaluation (width 1) it is the joint argmax."""
        logp = log_softmax(logits)
        B, W, O = logp.shape
        logq = self.proposal(logp, prior, training)
        joint = prefix[..., None] + logq  # (B, W, O): perturbed per option before it is flattened
        top = _noisy(joint, training, blocks).flatten(1).topk(min(width, W * O), -1).indices
        joint = joint.flatten(1)
        top = F.pad(top, (0, width - top.shape[-1]))
        ok = torch.isfinite(joint.gather(-1, top)) & (torch.arange(width, device=top.device) < W * O)
        picked = logp.flatten(1).gather(-1, top)
        return top // O, Choices(top % O, picked.masked_fill(~ok, 0.0), ok,
                                 logq.flatten(1).gather(-1, top).masked_fill(~ok, 0.0))

    def keys(self, logp: torch.Tensor, training: bool) -> torch.Tensor:
        """Keys (B, ..., O) whose top-k picks the options of ``logp`` a truncated
        enumeration runs: the most probable in evaluation, a draw without replacement
        (Gumbel top-k) in training."""
        return _noisy(logp, training)

    def every(self, logits: torch.Tensor, training: bool, most: int, prior: torch.Tensor | None = None,
              blocks: tuple[int, ...] | None = None) -> Choices:
        """In training, ``most`` options of ``logits`` (B, K, O) each, as (B, K, E) choices
        (E = min(most, O)): a slot that is enumerated, not sampled, so that its part of the
        likelihood is exact over them. Where there are more than E options they are drawn
        without replacement (Gumbel top-k, from the proposal), so an option the model ranks
        low is still tried now and then; in evaluation, the argmax."""
        logp = log_softmax(logits)
        logq = self.proposal(logp, prior, training)
        index = _noisy(logq, training, blocks).topk(min(most, logits.shape[-1]) if training else 1, -1).indices
        picked = logp.gather(-1, index)
        ok = torch.isfinite(picked)
        return Choices(index, picked.masked_fill(~ok, 0.0), ok, logq.gather(-1, index).masked_fill(~ok, 0.0))


def uniform(logits: torch.Tensor) -> torch.Tensor:
    """Log-probabilities uniform over the options of ``logits`` (those not -inf)."""
    return log_softmax(torch.where(torch.isinf(logits), logits, 0.0))


def log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """log_softmax, -inf (not NaN) on a row with no option."""
    none = torch.isinf(logits).all(-1, keepdim=True)
    return torch.where(none, float("-inf"), logits.masked_fill(none, 0.0).log_softmax(-1))


def _noisy(logp: torch.Tensor, training: bool, blocks: tuple[int, ...] | None = None) -> torch.Tensor:
    """Gumbel-perturbed keys of ``logp`` (B, ..., O) in training (their top-k is a draw
    without replacement), ``logp`` itself in evaluation; no gradient. The options are
    ``blocks`` (sizes; None: one), each padded at its end: a question's draws do not
    depend on the batch it is in (:func:`noise.exponential_blocks_like`)."""
    keys = logp.detach()
    return keys - noise.exponential_blocks_like(keys, blocks).log() if training else keys  # + Gumbel noise
