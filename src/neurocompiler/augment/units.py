"""What a question offers a library function's inputs, read from its tokens' characters.

A question is cut into *units*: maximal runs of letters, of digits, or of other
characters, with whitespace between them (``"Calculate 97-64."`` is ``Calculate``,
``97``, ``-``, ``64``, ``.``). A unit boundary that falls inside a token is not one
this tokenizer can point at, so it is dropped. From the units:

* **numbers**: each run of digits, across however many tokens the tokenizer cut it into
  (``"9" "7"`` as LLaMA 2 writes digits, or ``" 97"``), read as its integer;
* **characters**: each one-character unit, read as its code (``a`` in ``the letter a``);
* **spans**: every run of whole units, whitespace inside kept and at the edges dropped,
  read as its characters' codes (``the cat sat``, ``hello``, ``dlifdbabejld``).

These are the exact readings the parse chooses among (:mod:`.general`); a reading from
context (:mod:`.context`) covers what the question does not spell out. Each reading
also knows the first non-blank token after it (``follows``): in a causal model a
token's state cannot see what comes next, so only that token can say that a span ends
there (``"... in the cat sat?"``: the ``?``) or that ``5`` is an ordinal (``5th``). Extraction is
plain Python on the token texts, cached per question; :func:`pack` turns a batch of
them into tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

BLANK = frozenset(" \t\n\r")


def _kind(ch: str) -> int:
    """A character's class: 0 blank, 1 letter, 2 digit, 3 anything else."""
    if ch in BLANK:
        return 0
    if "0" <= ch <= "9":
        return 2
    return 1 if ch.isalpha() else 3


@dataclass(frozen=True)
class Units:
    """One question's exact readings, each with the token(s) that hold it.

    ``numbers``: (last token, value); ``chars``: (token, code); ``spans``: (first
    token, last token, codes). Tokens are indices into the question's token row.
    ``follows[t]``: the first token after t with a non-blank character, -1 past the
    question's last."""

    numbers: tuple[tuple[int, int], ...]
    chars: tuple[tuple[int, int], ...]
    spans: tuple[tuple[int, int, tuple[int, ...]], ...]
    follows: tuple[int, ...] = ()
    shapes: tuple[tuple[int, int], ...] = ()  # per span: its units, and of them those neither letters nor digits


def question_units(texts: Sequence[str], cells: int, base: int) -> Units:
    """The units of a question whose tokens' texts are ``texts`` ("" for a special or
    padding token). Spans hold 1..``cells`` characters, every code below ``base``;
    numbers below ``base`` are kept."""
    T = len(texts)
    starts, ends = [False] * T, [False] * T  # may a unit start (end) at token t?
    for t, text in enumerate(texts):
        core = text.lstrip("".join(BLANK))
        if not core or core[-1] in BLANK:
            continue
        before = text[-len(core) - 1] if len(core) < len(text) else (texts[t - 1][-1:] if t else "")
        after = texts[t + 1][:1] if t + 1 < T else ""
        starts[t] = before == "" or _kind(before) == 0 or _kind(before) != _kind(core[0])
        ends[t] = after == "" or _kind(after) == 0 or _kind(after) != _kind(core[-1])
    numbers, chars, spans = [], [], []
    for s in range(T):
        if not starts[s]:
            continue
        codes: list[int] = []
        for e in range(s, T):
            text = texts[e].lstrip("".join(BLANK)) if e == s else texts[e]
            if not text:
                break  # a special token ends every span
            codes += [ord(ch) for ch in text]
            if len(codes) > cells or any(c >= base for c in codes):
                break
            if ends[e]:
                spans.append((s, e, tuple(codes)))
        first = texts[s].lstrip("".join(BLANK))
        if first.isdigit() and first.isascii():  # a number: this token and the digit-only ones after it
            e, digits = s, first
            while e + 1 < T and texts[e + 1].isdigit() and texts[e + 1].isascii():
                e, digits = e + 1, digits + texts[e + 1]
            if ends[e] and int(digits) < base:
                numbers.append((e, int(digits)))
        if len(first) == 1 and ends[s] and ord(first) < base:
            chars.append((s, ord(first)))
    shapes = tuple(_shape(codes) for _, _, codes in spans)
    follows, after = [-1] * T, -1
    for t in range(T - 1, -1, -1):
        follows[t] = after
        if not texts[t]:
            after = -1  # a special or padding token: the question has ended
        elif texts[t].strip("".join(BLANK)):
            after = t
    return Units(tuple(numbers), tuple(chars), tuple(spans), tuple(follows), shapes)


def _shape(codes: Sequence[int]) -> tuple[int, int]:
    """How many units ``codes`` holds, and how many of them are neither letters nor digits."""
    units = others = 0
    last = 0
    for c in codes:
        kind = _kind(chr(c))
        if kind and kind != last:
            units, others = units + 1, others + (kind == 3)
        last = kind
    return units, others


@dataclass
class Items:
    """A batch's exact readings as tensors, each padded along its second axis with
    ``ok`` False: numbers and characters (``*_at`` the token, ``*_value``), and spans
    (``span_first``, ``span_last``, ``span_codes`` (B, S, cells) 0-padded, ``span_len``);
    ``*_next``: the first non-blank token after each, -1 where the question ends;
    ``span_units``, ``span_others``: each span's :attr:`Units.shapes`."""

    number_at: torch.Tensor
    number_value: torch.Tensor
    number_ok: torch.Tensor
    char_at: torch.Tensor
    char_value: torch.Tensor
    char_ok: torch.Tensor
    span_first: torch.Tensor
    span_last: torch.Tensor
    span_codes: torch.Tensor
    span_len: torch.Tensor
    span_ok: torch.Tensor
    number_next: torch.Tensor
    char_next: torch.Tensor
    span_next: torch.Tensor
    span_units: torch.Tensor
    span_others: torch.Tensor


def _pad(rows: Sequence[Sequence[tuple]], width: int, fill: tuple) -> list[list[tuple]]:
    return [list(r) + [fill] * (width - len(r)) for r in rows]


def pack(units: Sequence[Units], cells: int, device: torch.device) -> Items:
    """Tensors of ``units`` (one per question); every axis at least 1 wide."""
    N = max(1, *(len(u.numbers) for u in units))
    Q = max(1, *(len(u.chars) for u in units))
    S = max(1, *(len(u.spans) for u in units))
    nums = torch.tensor(_pad([u.numbers for u in units], N, (0, -1)), dtype=torch.long).view(len(units), N, 2)
    chs = torch.tensor(_pad([u.chars for u in units], Q, (0, -1)), dtype=torch.long).view(len(units), Q, 2)
    ends = torch.tensor(_pad([[s[:2] for s in u.spans] for u in units], S, (0, -1)),
                        dtype=torch.long).view(len(units), S, 2)
    codes = torch.zeros(len(units), S, cells, dtype=torch.long)
    for b, u in enumerate(units):
        for j, (_, _, c) in enumerate(u.spans):
            codes[b, j, :len(c)] = torch.tensor(c)
    T = max(1, *(len(u.follows) for u in units))
    follows = torch.tensor([list(u.follows) + [-1] * (T - len(u.follows)) for u in units], dtype=torch.long)
    shapes = torch.tensor(_pad([u.shapes for u in units], S, (0, 0)), dtype=torch.long).view(len(units), S, 2)
    nxt = lambda where: follows.gather(1, where.clamp(0, T - 1))  # noqa: E731
    put = lambda t: t.to(device)  # noqa: E731
    return Items(put(nums[..., 0]), put(nums[..., 1].clamp_min(0)), put(nums[..., 1] >= 0),
                 put(chs[..., 0]), put(chs[..., 1].clamp_min(0)), put(chs[..., 1] >= 0),
                 put(ends[..., 0]), put(ends[..., 1].clamp_min(0)), put(codes), put((codes > 0).sum(-1)),
                 put(ends[..., 1] >= 0), put(nxt(nums[..., 0])), put(nxt(chs[..., 0])),
                 put(nxt(ends[..., 1].clamp_min(0))), put(shapes[..., 0]), put(shapes[..., 1]))
