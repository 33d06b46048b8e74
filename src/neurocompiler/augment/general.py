"""The general parse: one discrete parse per function, learned by marginal likelihood.

Every input of a library function is read from the question (:mod:`.units`):

* a **list** (``M[0..r1-1]``, with r1 its length, or ``M[0..z]``) from a span, by the
  :class:`~.spans.SpanReader`;
* a **scalar** register from a number (shifted by -2..2: "the 6th term" is depth 4) or
  a one-character unit, by the :class:`~.numbers.NumberReader`, or from context, by the
  :class:`~.context.ContextReader` (a soft value, for what the question does not spell).

Every reading is scored where it stands and by what follows it (in a causal model only
the next token sees that a span ends at a ``?``). A scalar's reading is a kind (a
number, a character, from context), then an option of that kind. A function and one
reading per input form a discrete parse. The :class:`~.sampler.CandidateSampler` grows
K of them per function, input by input, as a stochastic beam over the partial parses,
and in training enumerates the last scalar input over :data:`ENUMERATE` options under
each (its likeliest, or a draw of them where it has more); each runs on the
library, exactly (``Library.run_exact``) unless a reading is soft or the library is
trainable, when it runs on the differentiable machine. Each function's runs are mixed by
the candidates' renormalised probabilities and the functions by the
:class:`~.selection.SelectionHead`, so the loss is the answer's marginal likelihood over
the sampled parses (maximum marginal likelihood over a latent program, as in Guu et al.
2017 and Liang et al.'s Neural Symbolic Machines): its gradient moves probability to the
parses that answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..library import FunctionSpec, Library
from .context import ContextReader
from .numbers import NumberReader
from .sampler import CandidateSampler, log_softmax, uniform
from .spans import SpanReader
from .units import Items

KINDS = 3  # a scalar's reading: a number, a character, or from context
# The context reading's initial logit beside the exact readings' 0. Its value is a
# distribution, so early on it hedges: a count run over 16 letters answers "1" more
# often than one over the wrong letter; starting it less likely lets the exact readings,
# which answer with certainty once found, be found first.
CONTEXT_PRIOR = -3.0
# In training a function's last scalar input is not sampled but enumerated over
# ENUMERATE options (all of them, or a draw without replacement where there are more),
# one exact run each: the parse's likelihood is exact along that input, so fib's depth
# ("the 6th term": 6 shifted by -2) is found among the options at once instead of by a
# lucky draw jointly with both seeds.
ENUMERATE = 16


@dataclass(frozen=True)
class Layout:
    """Which inputs each function reads: its list slot (or None), whether r1 is the
    list's length, and its scalar registers with their slots."""

    lists: tuple[int | None, ...]
    list_r1: tuple[bool, ...]
    scalars: tuple[tuple[tuple[int, int], ...], ...]  # per function: (register, scalar slot)

    @classmethod
    def of(cls, specs: Sequence[FunctionSpec]) -> "Layout":
        lists, list_r1, scalars = [], [], []
        n_lists = n_scalars = 0
        for spec in specs:
            has_list = "M[0..r1-1]" in spec.memory or "M[0..z]" in spec.memory
            lists.append(n_lists if has_list else None)
            n_lists += has_list
            list_r1.append("M[0..r1-1]" in spec.memory)
            regs = [r for r in spec.inputs if not (r == 1 and list_r1[-1])]
            scalars.append(tuple((r, n_scalars + j) for j, r in enumerate(regs)))
            n_scalars += len(regs)
        return cls(tuple(lists), tuple(list_r1), tuple(scalars))

    @property
    def list_slots(self) -> int:
        return sum(s is not None for s in self.lists)

    @property
    def scalar_slots(self) -> int:
        return sum(len(s) for s in self.scalars)


@dataclass
class Reading:
    """One scalar register's reading in every candidate row (rows first): whether it is
    from context, its distribution over 0..n-1 (one-hot where exact) and the keys whose
    top-k picks the values a reading from context runs (:func:`_expand`)."""

    register: int
    from_context: torch.Tensor  # (rows,) bool
    values: torch.Tensor  # (rows, n)
    keys: torch.Tensor  # (rows, n)

    def map(self, f) -> "Reading":
        return Reading(self.register, f(self.from_context), f(self.values), f(self.keys))


@dataclass
class Candidates:
    """Function i's K parses per question (rows B K, candidate-minor): exact register
    values (B K, registers) and memory (B K, cells) as integers; each scalar register's
    :class:`Reading`; and the weights (B, K), renormalised over the candidates."""

    registers: torch.Tensor
    memory: torch.Tensor
    soft_values: list[Reading]
    weights: torch.Tensor


@dataclass
class GeneralParse:
    """The selection (B, F) and every function's :class:`Candidates`."""

    selection: torch.Tensor
    candidates: list[Candidates]


class GeneralParser(nn.Module):
    """Given its readers and sampler (pytorch-ntm style), parse a batch for ``layout``."""

    def __init__(self, layout: Layout, spans: SpanReader, numbers: NumberReader, context: ContextReader,
                 kinds: nn.Linear, sampler: CandidateSampler, registers: int) -> None:
        super().__init__()
        self.layout, self.sampler, self.registers = layout, sampler, registers
        self.spans, self.numbers, self.context, self.kinds = spans, numbers, context, kinds

    @classmethod
    def build(cls, dim: int, n: int, specs: Sequence[FunctionSpec], candidates: int,
              registers: int) -> "GeneralParser":
        layout = Layout.of(specs)
        S = max(1, layout.scalar_slots)
        kinds = nn.Linear(dim, S * KINDS)  # per slot: number, character or context, from the question
        nn.init.zeros_(kinds.weight)
        with torch.no_grad():  # a question mostly spells its inputs: the context reading starts as the fallback
            kinds.bias.view(S, KINDS).copy_(torch.tensor([0.0, 0.0, CONTEXT_PRIOR]))
        return cls(layout, SpanReader(dim, max(1, layout.list_slots)), NumberReader(dim, S, n),
                   ContextReader(dim, S, n), kinds, CandidateSampler(candidates), registers)

    def forward(self, z: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor, items: Items,
                selection: torch.Tensor) -> GeneralParse:
        lists = self.spans(z, pooled, items)  # (B, L, S)
        scalars, prior, N, Q = self.scalar_options(z, pooled, items)
        values = self.context(z, pooled, mask)  # (B, S, n)
        keys = self.sampler.keys(values.clamp_min(1e-30).log(), self.training)  # which values run (drawn in training)
        out = [self._candidates(i, items, lists, scalars, prior, values, keys, N, Q)
               for i in range(len(self.layout.lists))]
        return GeneralParse(selection, out)

    def scalar_options(self, z: torch.Tensor, pooled: torch.Tensor,
                       items: Items) -> tuple[torch.Tensor, torch.Tensor, int, int]:
        """(B, S, O) log-probabilities of each scalar slot's options: a kind, then an option
        of it (N shifted numbers, then Q characters, then the context reading, the only one
        of its kind), so a question with many one-character units (symbols) gives
        characters no more mass than one with few. Also the sampler's prior over them
        (uniform over the kinds the question has, then over each kind's options), N and Q."""
        nums, chars = self.numbers(z, pooled, items)
        kinds = self.kinds(pooled).view(z.shape[0], -1, KINDS).log_softmax(-1)
        scalars = torch.cat([kinds[..., :1] + log_softmax(nums), kinds[..., 1:2] + log_softmax(chars),
                             kinds[..., 2:]], -1)
        has = torch.stack([torch.isfinite(nums).any(-1), torch.isfinite(chars).any(-1),
                           torch.ones_like(nums[..., 0], dtype=torch.bool)], -1)
        each = -has.sum(-1, keepdim=True).float().log()  # (B, S, 1): a kind's share
        prior = torch.cat([each + uniform(nums), each + uniform(chars), each], -1)
        return scalars, prior, nums.shape[-1], chars.shape[-1]

    def explain(self, parse: GeneralParse, i: int) -> dict:
        """Function i's most probable parse of the first question: the registers it loads
        (a reading from context at its most probable value) and the list it reads."""
        c = parse.candidates[i]
        k = int(c.weights[0].argmax())
        registers = {x.register: int(x.values[k].argmax() if x.from_context[k] else c.registers[k, x.register])
                     for x in c.soft_values}
        if self.layout.list_r1[i]:
            registers[1] = int(c.registers[k, 1])
        codes = c.memory[k].tolist()
        return {"registers": {f"r{r}": v for r, v in sorted(registers.items())},
                "from_context": [f"r{x.register}" for x in c.soft_values if x.from_context[k]],
                "memory": codes[:codes.index(0)] if 0 in codes else codes}

    def _candidates(self, i: int, items: Items, lists: torch.Tensor, scalars: torch.Tensor, prior: torch.Tensor,
                    values: torch.Tensor, keys: torch.Tensor, N: int, Q: int) -> Candidates:
        """Function i's K candidates, grown slot by slot from one empty parse: its list's
        span (K of them), then its scalars, each a beam step over the partial parses
        (:meth:`~.sampler.CandidateSampler.beam`) from the options the inputs before it
        left: an exact unit feeds one input at most (two operands are two numbers of the
        question), the context reading any. The last scalar is enumerated."""
        slot = self.layout.lists[i]
        sampled = (slot is not None) + max(0, len(self.layout.scalars[i]) - 1)  # the last scalar is enumerated
        B, K = values.shape[0], self.sampler.width(self.training, sampled)
        device = values.device
        rows = torch.arange(B, device=device)[:, None]
        regs = torch.zeros(B, 1, self.registers, dtype=torch.long, device=device)
        memory = torch.zeros(B, 1, items.span_codes.shape[-1], dtype=torch.long, device=device)
        logp, ok = values.new_zeros(B, 1), torch.ones(B, 1, dtype=torch.bool, device=device)
        logq = values.new_zeros(B, 1)  # the proposal's log-probability of each partial parse (no gradient)
        taken = torch.zeros(B, 1, scalars.shape[-1], dtype=torch.bool, device=device)
        soft: list[Reading] = []  # rows (B, W)
        if slot is not None:
            span = self.sampler.top(lists[:, slot], self.training, K, prior=uniform(lists[:, slot]))
            memory = items.span_codes[rows, span.index]
            regs = regs.expand(B, K, -1).clone()
            if self.layout.list_r1[i]:
                regs[..., 1] = items.span_len[rows, span.index]
            logp, ok, logq, taken = span.logp, span.ok, span.logq, taken.expand(B, K, -1)
        last = len(self.layout.scalars[i]) - 1
        for j, (r, s) in enumerate(self.layout.scalars[i]):
            options = scalars[:, s, None].expand(B, regs.shape[1], -1).masked_fill(taken, float("-inf"))
            explore = prior[:, s, None].expand_as(options)
            if j == last:  # enumerated (its likeliest options, or in training a draw): W parses become W * E
                pick = self.sampler.every(options, self.training, ENUMERATE, prior=explore, blocks=(N, Q, 1))
                E = pick.index.shape[-1]
                pick = type(pick)(*(t.flatten(1) for t in (pick.index, pick.logp, pick.ok, pick.logq)))
                parent = torch.arange(regs.shape[1], device=device).repeat_interleave(E).expand(B, -1)
            else:
                parent, pick = self.sampler.beam(logq.masked_fill(~ok, float("-inf")), options, self.training, K,
                                                 prior=explore, blocks=(N, Q, 1))
            keep = lambda t: t.gather(1, parent.view(B, -1, *[1] * (t.dim() - 2)).expand(-1, -1, *t.shape[2:]))  # noqa: E731
            regs, memory, logp, logq, ok, taken = (keep(t) for t in (regs, memory, logp, logq, ok, taken))
            soft = [x.map(keep) for x in soft]
            o = pick.index
            ctx = o >= N + Q
            if j < last:  # what the later inputs may no longer read
                taken = taken | self._same_unit(o, N, Q)
            number = self.numbers.value(items, o)
            char = items.char_value[rows, (o - N).clamp(0, Q - 1)]
            regs[..., r] = torch.where(o < N, number, torch.where(o < N + Q, char, 0)) * pick.ok  # 0: no option
            exact = F.one_hot(regs[..., r], values.shape[-1]).to(values)
            soft.append(Reading(r, ctx, torch.where(ctx[..., None], values[:, s, None], exact),
                                keys[:, s, None].expand_as(exact)))
            logp, logq, ok = logp + pick.logp, logq + pick.logq, ok & pick.ok
        weights = logp.masked_fill(~ok, float("-inf")).softmax(-1)
        weights = torch.nan_to_num(weights)  # a question with no parse at all (every candidate not ok)
        return Candidates(regs.flatten(0, 1), memory.flatten(0, 1), [x.map(lambda t: t.flatten(0, 1)) for x in soft],
                          weights)

    def _same_unit(self, option: torch.Tensor, N: int, Q: int) -> torch.Tensor:
        """(B, K, N + Q + 1): the options that read the unit ``option`` reads (every
        shift of a number), none for the context reading."""
        shifts = self.numbers.shifts
        number = F.one_hot((option // shifts).clamp(max=N // shifts - 1), N // shifts).bool() & (option < N)[..., None]
        char = F.one_hot((option - N).clamp(0, Q - 1), Q).bool() & ((option >= N) & (option < N + Q))[..., None]
        return torch.cat([number.repeat_interleave(shifts, -1), char, torch.zeros_like(char[..., :1])], -1)


@dataclass
class Runs:
    """Function i's runs mixed over its candidates: memory (B, cells, n), r0 (B, n),
    P(halted) (B,) and steps (B,)."""

    M: torch.Tensor
    r0: torch.Tensor
    h: torch.Tensor
    steps: torch.Tensor


def run_candidates(library: Library, candidates: Sequence[Candidates], max_steps: int,
                   exact: bool, memory: Sequence[bool] | None = None) -> list[Runs]:
    """Run every function on its candidates and mix each function's. With ``exact`` (a
    frozen library) every run is exact, all functions' rows in one batch: a reading from
    context is marginalised over its :data:`SUPPORT` most probable values, one exact run
    each, weighted by its probability (the truncated mass counts as a wrong answer), so
    gradients reach the context reader through the weights. Without it (a trainable
    library) the candidates run on the differentiable machine, the soft readings as
    distributions. ``memory``: per function, whether its answer is its memory (else its
    r0; the other output is left 0); None: both."""
    if exact:
        return _marginal(library, candidates, max_steps, memory)
    out = []
    for i, c in enumerate(candidates):
        run = _soft(library, i, c, max_steps)
        B, K = c.weights.shape
        mix = lambda t: torch.einsum("bk,bk...->b...", c.weights, t.reshape(B, K, *t.shape[1:]))  # noqa: E731
        out.append(Runs(mix(run.M), mix(run.r0), mix(run.h), run.steps.reshape(B, K).amax(1)))
    return out


SUPPORT = 16  # values of a reading from context that run exactly (its most probable; a draw in training)


def _expand(c: Candidates, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each candidate row once per value of its readings from context (a row with s of
    them runs SUPPORT ** (1 / s) values of each): registers, weights, originating rows."""
    rows = c.registers.shape[0]
    origin = torch.arange(rows, device=c.registers.device)
    registers, weight = c.registers, c.weights.new_ones(rows)
    count = sum(x.from_context.long() for x in c.soft_values) if c.soft_values else origin * 0
    width = torch.floor(SUPPORT ** (1 / count.clamp_min(1).double()) + 1e-9).long().clamp(1, n)
    top = min(SUPPORT, n)
    for x in c.soft_values:  # expand each row that reads its register from context
        ctx = x.from_context[origin]
        if not ctx.any():
            continue
        v = x.keys[origin[ctx]].topk(top, -1).indices  # (rows, top): the most probable, or in training a draw
        p = x.values[origin[ctx]].gather(-1, v)
        keep = (torch.arange(top, device=p.device) < width[origin[ctx], None]).flatten()
        grown = registers[ctx].repeat_interleave(top, 0)
        grown[:, x.register] = v.flatten()
        registers = torch.cat([registers[~ctx], grown[keep]])
        weight = torch.cat([weight[~ctx], (weight[ctx, None] * p).flatten()[keep]])
        origin = torch.cat([origin[~ctx], origin[ctx].repeat_interleave(top)[keep]])
    return registers, weight, origin


def _marginal(library: Library, candidates: Sequence[Candidates], max_steps: int,
              memory: Sequence[bool] | None) -> list[Runs]:
    """Per candidate row: exact runs over the top values of its soft readings, mixed
    straight into each question's distributions (no per-row distribution is built);
    every function's rows in one call of the exact executor."""
    n = library.config.base
    parts = [_expand(c, n) for c in candidates]
    index = torch.cat([torch.full_like(o, i) for i, (_, _, o) in enumerate(parts)])
    run = library.run_exact(index, torch.cat([r for r, _, _ in parts]),
                            torch.cat([c.memory[o] for c, (_, _, o) in zip(candidates, parts)]), max_steps=max_steps)
    out, start = [], 0
    for i, (c, (_, weight, origin)) in enumerate(zip(candidates, parts)):
        (B, K), C = c.weights.shape, c.memory.shape[1]
        mine = slice(start, start + len(origin))
        start += len(origin)
        regs, cells, halted = run.registers[mine], run.memory[mine], run.halted[mine]
        w, q = c.weights.flatten()[origin] * weight, origin // K  # each run's weight and question
        r0 = w.new_zeros(B * n)
        if memory is None or not memory[i]:
            r0 = r0.index_add(0, q * n + regs[:, 0], w)
        M = w.new_zeros(B * C * n)
        if memory is None or memory[i]:
            at = (q[:, None] * C + torch.arange(C, device=q.device)) * n + cells
            M = M.index_add(0, at.flatten(), w.repeat_interleave(C))
        h = w.new_zeros(B).index_add(0, q, w * halted.to(w))
        steps = torch.zeros(B, dtype=torch.long, device=q.device).scatter_reduce(0, q, run.steps[mine], "amax")
        out.append(Runs(M.view(B, C, n), r0.view(B, n), h, steps))
    return out


def _soft(library: Library, i: int, c: Candidates, max_steps: int) -> Runs:
    """Every candidate on the differentiable machine, its soft readings as distributions."""
    n = library.config.base
    R = F.one_hot(c.registers, n).to(c.weights)
    for x in c.soft_values:
        R = torch.cat([R[:, :x.register], x.values[:, None], R[:, x.register + 1:]], 1)
    out = library.run_one(i, R, F.one_hot(c.memory, n).to(R), max_steps=max_steps)
    return Runs(out.state.M, out.state.R[:, 0], out.state.h, out.steps)
