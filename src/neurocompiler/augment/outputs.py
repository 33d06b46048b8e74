"""What the parses and the model return, and the answer head's targets, loss and decoding."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import torch
import torch.nn.functional as F

from ..errors import InputError

if TYPE_CHECKING:
    from .model import AugmentedLM

IGNORE = -100  # target of an unsupervised answer position
FLOOR = 1e-12  # the least probability an answer logit reads (log FLOOR for 0)


def _zero(n: int, like: torch.Tensor) -> torch.Tensor:
    """The value 0, one-hot over n values."""
    return F.one_hot(torch.zeros((), dtype=torch.long, device=like.device), n).to(like)


@dataclass
class Span:
    """A list argument as the parser read it, per parse (B' = B, or B K with span
    candidates): the cells (B', cells, n), the candidates' weights (B, K), the span's
    length (B', n) and the length gate (B', 1), where the parser has them (see
    :meth:`AugmentedLM.r1`)."""

    cells: torch.Tensor
    weights: torch.Tensor | None = None
    length: torch.Tensor | None = None
    gate: torch.Tensor | None = None


class _FirstSpan:
    """``cells``/``memory``, ``weights``, ``length`` and ``gate``: the first span's."""

    spans: list[Span]

    @property
    def weights(self) -> torch.Tensor | None:
        return self.spans[0].weights

    @property
    def length(self) -> torch.Tensor | None:
        return self.spans[0].length

    @property
    def gate(self) -> torch.Tensor | None:
        return self.spans[0].gate


@dataclass
class Slots(_FirstSpan):
    """A parser's output: the argument registers' pointers r1..r3 (each (B', n), kept
    apart so that a constant one stays free of the others' gradient; B' as in
    :class:`Span`) and one :class:`Span` per span the parser reads (one, or one per
    function with ``slots.per_function_spans``)."""

    pointers: list[torch.Tensor]
    spans: list[Span]

    @property
    def cells(self) -> torch.Tensor:
        return self.spans[0].cells


@dataclass
class Parse(_FirstSpan):
    """What the heads chose, as distributions: the selection (B, F), the argument
    registers' pointers r1..r3 (B', 3, n) and the spans (:class:`Span`; ``memory`` is
    the first one's cells). With span candidates B' = B K (candidate-minor, most
    probable first at evaluation) and a span's ``weights`` (B, K) holds their
    probabilities; otherwise B' = B. ``arguments``, when set, are the pointers one by
    one."""

    selection: torch.Tensor
    registers: torch.Tensor
    spans: list[Span]
    arguments: list[torch.Tensor] | None = None

    @property
    def memory(self) -> torch.Tensor:
        return self.spans[0].cells


@dataclass
class AugmentedOutput:
    parse: Parse
    int_logits: torch.Tensor  # (B, n): answer logits from the mixed r0
    str_logits: torch.Tensor  # (B, cells, n): answer logits from the mixed cells
    p_halted: torch.Tensor  # (B,) selection-weighted halting probability
    steps: torch.Tensor  # (B, F)
    own: tuple[torch.Tensor, torch.Tensor] | None = None  # per function: (B, F, n), (B, F, cells, n)


@dataclass
class Batch:
    """Questions as tokens and their answers as targets (what ``loss`` compares with)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    targets: torch.Tensor
    examples: Sequence

    def to(self, device: torch.device) -> "Batch":
        return Batch(self.input_ids.to(device), self.attention_mask.to(device), self.targets.to(device),
                     self.examples)


@dataclass
class Prediction:
    """Answers to a list of questions, each with the model's confidence in it and the
    library function it selected ("" for a model without a library)."""

    answers: list
    confidence: list[float]
    chosen: list[str]


def answer_targets(answers: Sequence[int | str], base: int, cells: int,
                   where: Sequence[str] | None = None) -> torch.Tensor:
    """(B, 1 + cells) targets: column 0 the integer answer, columns 1.. the string's
    values then a terminating 0 (when it fits); :data:`IGNORE` elsewhere. An answer that
    does not fit is an :class:`InputError` named by ``where[i]`` (``"FILE:LINE"``; by
    default ``"example I"``, counted from 1)."""
    t = torch.full((len(answers), 1 + cells), IGNORE, dtype=torch.long)
    for i, a in enumerate(answers):
        at = (where[i] if where is not None and where[i] else f"example {i + 1}") + ": answer"
        if isinstance(a, bool) or not isinstance(a, (int, str)):
            raise InputError(f"{at}: expected an integer or a string, got {type(a).__name__}")
        if isinstance(a, int):
            if not 0 <= a < base:
                raise InputError(f"{at} {a} is outside 0..{base - 1} (train with a larger --base)")
            t[i, 0] = a
            continue
        codes = [ord(ch) for ch in a]
        if len(codes) > cells:
            raise InputError(f"{at} has {len(codes)} characters, but the model has {cells} cells "
                             f"(train with --cells {len(codes)} or more)")
        bad = next((ch for ch in a if ord(ch) >= base or ord(ch) == 0), None)
        if bad is not None:
            raise InputError(f"{at}: character {bad!r} has no value below base {base} "
                             f"(train with a larger --base, or drop the character)")
        t[i, 1:1 + len(codes)] = torch.tensor(codes, dtype=torch.long)
        if len(codes) < cells:
            t[i, 1 + len(codes)] = 0
    return t


def answer_loss(out: AugmentedOutput, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on answers only: per example, the integer answer's or the mean over
    the string's cells; averaged over the batch."""
    return _answer_ce(out.int_logits, out.str_logits, targets)


def _answer_ce(int_logits: torch.Tensor, str_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """:func:`answer_loss` from the integer (B, n) and string (B, cells, n) logits."""
    logits = torch.cat([int_logits[:, None], str_logits], 1)  # (B, 1 + cells, n)
    per_pos = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=IGNORE, reduction="none")
    counts = (targets != IGNORE).sum(1).clamp_min(1)
    return (per_pos.sum(1) / counts).mean()


def answer_nll(int_logp: torch.Tensor, str_logp: torch.Tensor, targets: torch.Tensor,
               reachable: bool = False) -> torch.Tensor:
    """The answer's negative log-likelihood under distributions given as log-probabilities
    (B, n) and (B, cells, n) whose mass may be below 1 (a mixture that loses some, as
    the general parse's does): per example, the integer's or the mean over the string's
    cells; averaged over the batch. Unlike a softmax cross-entropy it has no normaliser,
    so a parse gains nothing by losing mass on the wrong answers, and a question that no
    parse answers gives no gradient at all. With ``reachable``, only the answer
    positions some candidate gets right count (the others would add a constant)."""
    logp = torch.cat([int_logp[:, None], str_logp], 1)  # (B, 1 + cells, n)
    keep = targets != IGNORE
    picked = logp.gather(-1, targets.clamp_min(0)[..., None])[..., 0]
    if reachable:
        keep = keep & (picked > math.log(FLOOR) + 1)
    picked = picked * keep
    return (-picked.sum(1) / keep.sum(1).clamp_min(1)).mean()


def decode_answers(model: AugmentedLM, out: AugmentedOutput) -> list[int | str]:
    """Each example's answer: r0's value when the selected function returns a scalar,
    else the cells' values up to the first 0, as characters."""
    as_int = model.answer_is_int(out).tolist()
    ints = out.int_logits.argmax(-1).tolist()
    cells = out.str_logits.argmax(-1).tolist()
    answers: list[int | str] = []
    for i, is_int in enumerate(as_int):
        if is_int:
            answers.append(ints[i])
        else:
            values = cells[i][:cells[i].index(0)] if 0 in cells[i] else cells[i]
            answers.append("".join(map(chr, values)))
    return answers


def answer_confidence(model: AugmentedLM, out: AugmentedOutput) -> torch.Tensor:
    """The machine's probability of the decoded answer: that of r0's value for integer
    answers, the least cell probability up to the terminator for strings."""
    p_int = out.int_logits.softmax(-1).max(-1).values
    p_cells = out.str_logits.softmax(-1).max(-1)
    ends = (p_cells.indices == 0).float().cumsum(-1)
    upto = ends - (p_cells.indices == 0).float() < 1  # cells up to and including the first 0
    p_str = p_cells.values.masked_fill(~upto, 1.0).min(-1).values
    return torch.where(model.answer_is_int(out), p_int, p_str)
