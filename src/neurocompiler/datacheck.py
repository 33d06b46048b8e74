"""Data a model cannot use, found before it trains or is scored, in one line each.

* Answers a model can never give (:meth:`Answerer.answer_problem`: an integer ``>=
  base``, a string longer than its cells, a string when every library function answers
  with an integer, ...) would count as wrong without a word. In a test split that is a
  warning (:func:`unproducible_warning`); in a training split an error
  (:func:`check_producible`), since the loss cannot reach them.
* Questions longer than the backbone's positions (``max_position_embeddings``, 512 for a
  model built from scratch; counted in the run's tokens, bos included) are rejected
  (:func:`check_lengths`).

Each example is named by where it was read (``Example.source``, ``FILE:LINE``), else by
its place in the list (``example I``, from 1).
"""

from __future__ import annotations

import json
import sys
from typing import Sequence

from .errors import InputError
from .tasks.example import Example


def head_problem(answer: object, base: int, cells: int) -> str | None:
    """Why answer heads over 0..base-1 (an integer) and ``cells`` values (a string,
    ended by a 0 cell) cannot write ``answer``, or None."""
    if isinstance(answer, bool) or not isinstance(answer, (int, str)):
        return f"answer {answer!r} is a {type(answer).__name__}, not an integer or a string"
    if isinstance(answer, int):
        return None if 0 <= answer < base else f"answer {answer} is outside 0..{base - 1}, the values of base {base}"
    text = json.dumps(answer, ensure_ascii=False)
    if len(answer) > cells:
        return f"answer {text} has {len(answer)} characters, but the model has {cells} cells"
    bad = next((ch for ch in answer if not 0 < ord(ch) < base), None)
    if bad is not None:
        return f"answer {text} holds {bad!r} (code {ord(bad)}), but the model's values stop at {base - 1}"
    return None


def locate(example: Example, index: int) -> str:
    """``FILE:LINE`` of an example read from a file, else ``example I`` (from 1)."""
    return example.source or f"example {index + 1}"


def _short(source: str, name: str) -> str:
    """``line 3`` for ``name:3`` (the file is named already), else ``source``."""
    return f"line {source[len(name) + 1:]}" if name and source.startswith(f"{name}:") else source


def unproducible(model, examples: Sequence[Example], tokenizer=None) -> list[tuple[int, Example, str]]:
    """``(index, example, reason)`` for every example whose answer ``model`` can never give."""
    out = []
    for i, e in enumerate(examples):
        reason = model.answer_problem(e.answer, tokenizer=tokenizer)
        if reason is not None:
            out.append((i, e, reason))
    return out


def unproducible_warning(model, examples: Sequence[Example], name: str, tokenizer=None) -> str | None:
    """One line for a test split (None when every answer can be given): ``FILE: 12 of 100
    answers cannot be produced by this model and will count as wrong (e.g. line 3: ...)``."""
    bad = unproducible(model, examples, tokenizer)
    if not bad:
        return None
    i, e, reason = bad[0]
    return (f"{name}: {len(bad)} of {len(examples)} answers cannot be produced by this model and will count "
            f"as wrong (e.g. {_short(locate(e, i), name)}: {reason})")


def check_producible(model, examples: Sequence[Example], name: str, tokenizer=None) -> None:
    """For a training split: the first answer ``model`` cannot give is an
    :class:`InputError` ``FILE:LINE: reason (12 of 100 training answers ...)``."""
    bad = unproducible(model, examples, tokenizer)
    if bad:
        i, e, reason = bad[0]
        at, of = (e.source, "") if e.source else (f"{name}: {locate(e, i)}", f" in {name}")
        raise InputError(f"{at}: {reason} ({len(bad)} of {len(examples)} training answers{of} cannot be produced "
                         f"by this model: fix or drop them, or choose --functions, --base or --cells that can give them)")


def warn(message: str) -> None:
    """Print ``neurocompiler: warning: message`` on stderr, as one line."""
    from .cli import one_line

    print(f"neurocompiler: warning: {one_line(message)}", file=sys.stderr)


def question_lengths(tokenizer, questions: Sequence[str]) -> list[int]:
    """Each question's length in ``tokenizer``'s tokens as :func:`tokenizer.encode`
    feeds it to the model: bos (when the tokenizer has one) and the text."""
    if not questions:
        return []
    rows = tokenizer(list(questions), add_special_tokens=False, split_special_tokens=True)["input_ids"]
    bos = 1 if tokenizer.bos_token_id is not None else 0
    return [bos + len(r) for r in rows]


def positions(model) -> int:
    """How many positions ``model``'s backbone reads (``max_position_embeddings``)."""
    return int(model.backbone.config.max_position_embeddings)


def check_lengths(tokenizer, examples: Sequence[Example], max_positions: int, where: str) -> None:
    """Questions longer than ``max_positions`` tokens (bos included) are an
    :class:`InputError` naming the first (its ``FILE:LINE``, else ``where``) and how
    many there are."""
    lengths = question_lengths(tokenizer, [e.question for e in examples])
    long = [i for i, n in enumerate(lengths) if n > max_positions]
    if not long:
        return
    i = long[0]
    at = examples[i].source or (where if len(examples) == 1 else f"{where}: {locate(examples[i], i)}")
    more = f"; {len(long)} of {len(examples)} questions are as long" if len(long) > 1 else ""
    raise InputError(f"{at}: the question is {lengths[i]} tokens long (bos included), but the model reads at most "
                     f"{max_positions}{more} (shorten or split the question)")
