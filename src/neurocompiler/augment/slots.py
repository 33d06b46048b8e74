"""The pointer parses (``slots``, ``pooled``): soft pointers into the question, and
discrete span candidates with exact copies (docs/RESULTS.md). Research variants kept
for the paper's tables; the default parse is :mod:`.general`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import noise
from .config import OFFSET_PRIOR, RANKS, SlotsConfig
from .outputs import Slots, Span, _zero


class PooledParser(nn.Module):
    """The paper's parse: one linear map from the pooled z to every slot's logits."""

    def __init__(self, dim: int, registers: int, cells: int, n: int) -> None:
        super().__init__()
        self.slots, self.cells, self.n = registers + cells, cells, n
        self.proj = nn.Linear(dim, self.slots * n)

    def forward(self, z: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor,
                own: torch.Tensor | None = None, copies: torch.Tensor | None = None,
                words: torch.Tensor | None = None):
        slots = self.proj(pooled).view(-1, self.slots, self.n).softmax(-1)
        return Slots(list(slots[:, :-self.cells].unbind(1)), [Span(slots[:, -self.cells:])])


class SlotParser(nn.Module):
    """Pointers into the question.

    * **Registers**: each attends over the tokens (and the pooled z, for values no
      single token holds) and mixes their value distributions. With
      ``register_values="copy"`` the same pointer also reads, exactly, the number a
      token spells (over the number tokens) and a token's character (over the
      one-character tokens); a learned weight per register mixes the three readings.
    * **Memory**: a list argument is a span of tokens. A learned *start* anchor (e.g.
      an opening quote) is found by attention, and cell i copies the value of the token
      i + 1 places after it (0 past the end of the question): its value in context,
      its own embedding's, or the token itself (``cell_values``).
    * **Length**: the span's length (distance from the start to a learned *end* anchor,
      minus one), which r1 takes when it is a list's length (``list_length``).
    * Its switches are ``config`` (:class:`SlotsConfig`). ``spans`` > 1 gives as many (start, end) anchor pairs, each its own span (one
      per library function with memory, ``per_function_spans``).
    * With ``span_candidates`` K > 0 the span is discrete: K (start, end) pairs, each
      loading exact cells (the tokens strictly between the anchors, then 0) and an
      exact length, returned with their renormalised probabilities. With
      ``cell_values="token"`` the cells hold the span's *characters*, each token
      contributing as many as it has, and the length counts characters: a BPE piece
      such as "dlif" fills four cells.
    """

    def __init__(self, dim: int, registers: int, cells: int, n: int, config: SlotsConfig | None = None,
                 spans: int = 1) -> None:
        super().__init__()
        c = config or SlotsConfig()
        register_values, offsets, from_end = c.register_values, c.register_offsets, c.ranks_from_end
        self.registers, self.cells, self.n, self.spans = registers, cells, n, spans
        self.cell_values, self.list_length, self.candidates = c.cell_values, c.list_length, c.span_candidates
        # per register: logits of reading its token in context, as a number, as a character;
        # and, per register and copy reading, a question-dependent score for "the i-th
        # number (character) of the question", so that "with 5 and 9" can tell its two
        # numbers apart even where their hidden states look alike
        self.reading = nn.Linear(dim, registers * 3) if register_values == "copy" else None
        self.rank = nn.Linear(dim, registers * 2 * RANKS) if register_values == "copy" else None
        # the same score for "the i-th from the end", for the readings ``from_end`` names
        # (0: numbers, 1: characters)
        self.from_end = {"none": (), "characters": (1,), "all": (0, 1)}[from_end] if register_values == "copy" else ()
        self.back = nn.Linear(dim, registers * len(self.from_end) * RANKS) if self.from_end else None
        for head in (self.rank, self.back):
            if head is not None:
                nn.init.zeros_(head.weight)
                nn.init.zeros_(head.bias)
        # per number token and register: logits of shifting its number by -D..D, starting near 0
        self.offsets, self.offsets_from = offsets, c.offsets_from
        self.offset = nn.Linear(dim, registers * (2 * offsets + 1)) if offsets else None
        if self.offset is not None:
            nn.init.zeros_(self.offset.weight)
            with torch.no_grad():
                self.offset.bias.view(registers, -1).copy_(OFFSET_PRIOR * F.one_hot(
                    torch.full((registers,), offsets), 2 * offsets + 1))
        self.queries = nn.Parameter(0.02 * torch.randn(registers + 2 * spans, dim))  # registers, (start, end)s
        self.query = nn.Linear(dim, dim)  # lets the question steer every slot
        self.key = nn.Linear(dim, dim, bias=False)  # a key bias would be invisible to the softmax
        # span_keys: each span's anchors score the tokens with a key projection of their own
        self.span_key = nn.Linear(dim, dim * spans, bias=False) if c.span_keys else None
        self.value = nn.Linear(dim, n)  # a token's value in context
        self.length_gate = nn.Linear(dim, spans)
        self.scale = dim ** -0.5
        # Start every pointer near uniform over the tokens. With default inits the
        # scores are O(1) and random per question, and answer-only training stalls.
        nn.init.zeros_(self.query.weight)
        nn.init.zeros_(self.query.bias)
        nn.init.normal_(self.key.weight, std=0.02)
        if self.span_key is not None:
            nn.init.normal_(self.span_key.weight, std=0.02)
        # a cell's value from a token's own embedding (cell_values="embedding")
        self.copy = nn.Linear(dim, n) if c.cell_values == "embedding" else None

    def forward(self, z: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor,
                own: torch.Tensor | None = None, copies: torch.Tensor | None = None,
                words: torch.Tensor | None = None):
        """``z`` (B, T, d) places the pointers and gives the registers' values. Cells
        copy a token's value in context, or its own: ``own`` is the tokens' input
        embeddings (B, T, d) for ``cell_values="embedding"``, their characters' codes
        (B, T, W) long, 0-padded, for ``"token"``. ``copies`` (B, T, 2) long, for
        ``register_values="copy"``: the number each token spells and its character's
        code, -1 where it has none; a number not below the base is not read. ``words``
        (B, T, d): the tokens' input embeddings, for ``offsets_from="embedding"``. Returns
        :class:`Slots`; with span candidates B' = B K, candidate-minor, else B' = B."""
        B, T, _ = z.shape
        R, n = self.registers, self.n
        tokens = torch.cat([pooled[:, None], z], 1)  # (B, 1 + T, d): the pooled z is a token too
        valid = torch.cat([mask.new_ones(B, 1), mask], 1).bool()
        q = self.queries[None] + self.query(pooled)[:, None]  # (B, R + 2, d)
        scores = torch.einsum("bsd,btd->bst", q, self.key(tokens)) * self.scale
        p_tok = self.value(tokens).softmax(-1)  # (B, 1 + T, n): each token's value in context
        if self.cell_values == "context":
            p_own = p_tok[:, 1:]
        elif self.cell_values == "embedding":  # rms-normed: a checkpoint's embeddings are small
            p_own = self.copy(F.rms_norm(own, own.shape[-1:])).softmax(-1)
        else:  # without candidates a cell holds one token: its character, if it has one
            single = (own[..., 1:] == 0).all(-1) if own.shape[-1] > 1 else torch.ones_like(own[..., 0], dtype=torch.bool)
            p_own = F.one_hot(torch.where(single, own[..., 0], 0), n).to(z)
        attn = scores[:, :R].masked_fill(~valid[:, None], float("-inf")).softmax(-1)
        registers = torch.einsum("bst,btn->bsn", attn, p_tok)  # (B, R, n)
        if self.reading is not None:
            named = z if self.offsets_from == "context" else F.rms_norm(words, words.shape[-1:])
            registers = self._copy(registers, scores[:, :R, 1:], mask, copies, pooled, named)
        anchors = scores[:, R:, 1:]
        if self.span_key is not None:  # (B, 2 spans, T): span j's start and end queries on its own keys
            keys = self.span_key(z).view(B, T, self.spans, -1)
            anchors = torch.einsum("bjkd,btjd->bjkt", q[:, R:].view(B, self.spans, 2, -1), keys).flatten(1, 2) \
                * self.scale
        anchors = anchors.masked_fill(~mask.bool()[:, None], float("-inf")).softmax(-1)
        gates = torch.sigmoid(self.length_gate(pooled)) if self.list_length == "gate" else None  # (B, spans)
        spans = []
        for j in range(self.spans):  # each span's start and end anchors, (B, T) each, over the real tokens
            start, end = anchors[:, 2 * j], anchors[:, 2 * j + 1]
            gate = None if gates is None else gates[:, j:j + 1]
            if self.candidates:
                spans.append(self._discrete(start, end, own if self.cell_values == "token" else p_own, gate))
            else:
                spans.append(self._soft(start, end, p_own, mask, gate))
        K = spans[0].weights.shape[1] if self.candidates else 1
        return Slots([r.repeat_interleave(K, 0) for r in registers.unbind(1)], spans)

    def _soft(self, start, end, p_own, mask, gate) -> "Span":
        """One span in superposition: cell i is the token i + 1 places after the start
        anchor, mixed over P(start); the length is P(end - start - 1 | end after start)."""
        B, T = start.shape
        n = self.n
        real = mask.to(p_own.dtype)
        shifted = torch.stack([F.pad(start, (i + 1, 0))[:, :T] for i in range(self.cells)], 1) * real[:, None]
        cells = torch.einsum("bct,btn->bcn", shifted, p_own)
        cells = cells + _zero(n, cells) * (1 - shifted.sum(-1, keepdim=True))  # past the question: 0

        outer = start[:, :, None] * end[:, None, :]  # P(start = s, end = e)
        K = min(T - 1, n)
        span = torch.stack([outer.diagonal(k + 1, 1, 2).sum(-1) for k in range(K)], -1) if K > 0 \
            else start.new_zeros(B, 0)
        # P(length = k | the end anchor lies after the start one)
        length = F.pad(span / span.sum(-1, keepdim=True).clamp_min(1e-12), (0, n - K))
        return Span(cells, None, length, gate)

    def _copy(self, context, scores, mask, copies, pooled, z=None):
        """Mix each register's reading in ``context`` (B, R, n) with its exact copies:
        the same pointer ``scores`` (B, R, T), plus a score for each token's rank among
        them, restricted to the tokens that spell a number, or that are one character
        (``copies``); a register with no such token in its question reads 0 there. With
        ``offsets``, the word before a number (a lone space skipped, :func:`_word_before`)
        gives, per register, how far to shift that number: its hidden state or its input
        embedding (``z``, (B, T, d), ``offsets_from``)."""
        B, R, T = scores.shape
        readings = [context]
        by_rank = self.rank(pooled).view(B, R, 2, RANKS)
        by_back = None if self.back is None else self.back(pooled).view(B, R, len(self.from_end), RANKS)
        for k, value in enumerate(copies.unbind(-1)):  # (B, T) each
            ok = (value >= 0) & (value < self.n) & mask.bool()
            rank = (ok.cumsum(-1) - 1).clamp(0, RANKS - 1)  # each token's place among those that are ok
            ranked = scores + by_rank[:, :, k].gather(-1, rank[:, None].expand(B, R, T))
            if k in self.from_end:  # ... and counted from the end
                back = (ok.flip(-1).cumsum(-1).flip(-1) - 1).clamp(0, RANKS - 1)
                ranked = ranked + by_back[:, :, self.from_end.index(k)].gather(-1, back[:, None].expand(B, R, T))
            attn = ranked.masked_fill(~ok[:, None], -1e9).softmax(-1)  # finite: no NaN when none is ok
            hot = F.one_hot(torch.where(ok, value, 0), self.n).to(context)  # (B, T, n)
            if k == 0 and self.offset is not None:  # each number plus its own learned offset, mod n
                # (B, T, R, 2D + 1), from the hidden state of the word before the number (" number 6",
                # " x5", " depth 4"): how the question names it, not which number it is
                shift = self.offset(_word_before(z, copies[..., 1])).view(B, T, R, -1).softmax(-1)
                read = sum(torch.einsum("bst,bts,btn->bsn", attn, shift[..., j], hot.roll(j - self.offsets, -1))
                           for j in range(shift.shape[-1]))
            else:
                read = torch.einsum("bst,btn->bsn", attn, hot)
            readings.append(torch.where(ok.any(-1)[:, None, None], read, _zero(self.n, read)))
        mix = self.reading(pooled).view(-1, self.registers, 3).softmax(-1)  # (B, R, 3)
        return torch.einsum("brk,kbrn->brn", mix, torch.stack(readings))

    def _discrete(self, start, end, own, gate) -> "Span":
        """K (start, end) pairs with start < end and at most ``cells`` tokens between,
        drawn from P(start) P(end) without replacement (Gumbel top-k) in training, the
        K most probable at evaluation. ``own``: the tokens' value distributions (B, T, n),
        or their characters' codes (B, T, W) for ``cell_values="token"``."""
        B, T = start.shape
        n, C = self.n, self.cells
        t = torch.arange(T, device=start.device)
        between = t[None, :] - t[:, None] - 1  # (T, T): tokens strictly between s and e
        ok = (between >= 0) & (between <= min(C, n - 1))
        joint = (start[:, :, None] * end[:, None, :] * ok).flatten(1)  # (B, T T)
        logp = joint.detach().clamp_min(1e-30).log().masked_fill(~ok.flatten(), float("-inf"))
        if self.training:
            logp = logp - noise.exponential_like(logp).log()  # + Gumbel noise, per question
        K = min(self.candidates, int(ok.sum()))
        pick = logp.topk(K, -1).indices  # (B, K), most probable first
        p = joint.gather(1, pick)
        weights = p / p.sum(-1, keepdim=True).clamp_min(1e-30)
        s, e = pick // T, pick % T
        pos = s[..., None] + 1 + torch.arange(C, device=start.device)  # (B, K, C): the span's tokens
        inside = pos < e[..., None]
        rows = torch.arange(B, device=start.device)[:, None, None]
        if self.cell_values == "token":  # each token's characters, one after another
            cells, count = _characters(own[rows, pos.clamp(max=T - 1)] * inside[..., None], C)
            cells = F.one_hot(cells, n).to(weights)
            length = F.one_hot(count.clamp(max=C), n).to(cells).flatten(0, 1)  # (B K, n), exact
        else:
            cells = own[rows, pos.clamp(max=T - 1)]
            cells = torch.where(inside[..., None], cells, _zero(n, cells))  # (B, K, C, n)
            length = F.one_hot(e - s - 1, n).to(cells).flatten(0, 1)  # (B K, n), exact
        return Span(cells.flatten(0, 1), weights, length, None if gate is None else gate.repeat_interleave(K, 0))


BLANKS = (9, 10, 13, 32)  # the codes of the whitespace characters a tokenizer may keep as tokens


def _word_before(z: torch.Tensor, chars: torch.Tensor) -> torch.Tensor:
    """(B, T, d): at each position, the hidden state of the nearest earlier token that is
    not a lone whitespace character (``chars`` (B, T): each token's one character's code,
    -1 if it has none, so a space is seen at bases above 32), zeros where there is none.
    A tokenizer that keeps numbers apart (LLaMA 3's, ``bpe-numbers``) reads " depth 4"
    as " depth", " ", "4": the word before the 4 is " depth", not the space."""
    B, T, _ = z.shape
    t = torch.arange(T, device=z.device).expand(B, T)
    word = sum(chars == c for c in BLANKS) == 0  # (B, T): a token that is not a lone blank
    last = torch.where(word, t, -1).cummax(-1).values  # the last word at or before each position
    before = F.pad(last, (1, 0), value=-1)[:, :-1]  # ... strictly before it
    out = z.gather(1, before.clamp_min(0)[..., None].expand_as(z))
    return out * (before >= 0)[..., None].to(z)


def _characters(codes: torch.Tensor, C: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate tokens' characters: ``codes`` (..., tokens, W), each row 0-padded,
    -> the first C characters (..., C), 0 after the last, and their count (...)."""
    lens = (codes != 0).sum(-1)  # (..., tokens)
    start = lens.cumsum(-1) - lens  # where each token's first character lands
    W = codes.shape[-1]
    where = start[..., None] + torch.arange(W, device=codes.device)  # (..., tokens, W)
    keep = (torch.arange(W, device=codes.device) < lens[..., None]) & (where < C)
    out = codes.new_zeros(*codes.shape[:-2], C + 1)  # a last column takes what is dropped
    out.scatter_(-1, torch.where(keep, where, C).flatten(-2), codes.flatten(-2) * keep.flatten(-2))
    return out[..., :C], lens.sum(-1)
