"""Validation of generator options: every problem is an ``InputError`` naming the task
and the option."""

from __future__ import annotations

import random
from typing import Iterable

from ..errors import InputError


def _items(task: str, option: str, value: object, single: type) -> tuple[object, ...]:
    if isinstance(value, single) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InputError(f"{task}: option {option!r} must be a sequence, got {type(value).__name__}")
    items = tuple(dict.fromkeys(value))  # drop duplicates, keep order
    if not items:
        raise InputError(f"{task}: option {option!r} must not be empty")
    return items


def int_tuple(task: str, option: str, value: object, lo: int, hi: int,
              why: str = "") -> tuple[int, ...]:
    """``value`` (an int or a sequence of ints) as a tuple of distinct ints in lo..hi."""
    items = _items(task, option, value, int)
    for v in items:
        if not isinstance(v, int) or isinstance(v, bool):
            raise InputError(f"{task}: option {option!r} must hold integers, got {v!r}")
        if not lo <= v <= hi:
            raise InputError(f"{task}: option {option!r}: {v} is not in {lo}..{hi}{why}")
    return items  # type: ignore[return-value]


def name_tuple(task: str, option: str, value: object, known: Iterable[str]) -> tuple[str, ...]:
    """``value`` (a name or a sequence of names) as a tuple of distinct known names."""
    items = _items(task, option, value, str)
    allowed = tuple(known)
    for v in items:
        if v not in allowed:
            raise InputError(f"{task}: option {option!r}: unknown name {v!r} "
                             f"(known: {', '.join(allowed)})")
    return items  # type: ignore[return-value]


def distinct_indices(rng: random.Random, total: int, count: int) -> list[int]:
    """``count`` indices into ``range(total)``: distinct when ``count <= total``,
    otherwise whole shuffled passes over the range, the last one cut short."""
    if count <= total:
        return rng.sample(range(total), count)
    out: list[int] = []
    while len(out) < count:
        out += rng.sample(range(total), min(total, count - len(out)))
    return out
