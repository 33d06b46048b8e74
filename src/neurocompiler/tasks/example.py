"""The record every task produces and the registry entry that describes a task."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Mapping, Protocol

AnswerKind = Literal["int", "str", "mixed"]


@dataclass(frozen=True)
class Example:
    """One natural-language question and its answer.

    ``answer`` is an ``int`` (0..base-1) for scalar answers and a ``str`` for string
    answers. ``task`` names the generator (``"jsonl"`` for loaded data without one);
    ``function`` names the library function that answers it (``""`` when unknown), and
    ``equivalents`` any other library functions that answer it as well (``add`` of the
    last two terms answers "continue 5, 7, 12 by one term" as ``fib`` does): selecting
    any of them is right (:meth:`answered_by`). ``source`` says where it was read
    (``"data/train.jsonl:14"``; ``""`` when generated); it is not compared, and not saved.
    """

    question: str
    answer: int | str
    task: str = ""
    function: str = ""
    source: str = field(default="", compare=False)
    equivalents: tuple[str, ...] = ()

    def answered_by(self, name: str) -> bool:
        """Whether selecting library function ``name`` is a right selection."""
        return bool(name) and (name == self.function or name in self.equivalents)

    @property
    def functions(self) -> list[str]:
        """Every function that answers it, the main one first (``[]`` when unknown)."""
        return [self.function, *self.equivalents] if self.function else []


class Generator(Protocol):
    """``generator(count, rng, base, **options) -> examples``; options are keyword-only."""

    def __call__(self, count: int, rng: random.Random, base: int,
                 **options: object) -> list[Example]: ...


@dataclass(frozen=True)
class TaskSpec:
    """A registered task: its generator, the library functions its examples use, the
    kind of answer (``"mixed"`` for a mixture of kinds) and its default options (every
    option the task accepts; ``None`` means "the sub-task's own default"). Every task
    trains with the general parse by default; the parse a table in docs/RESULTS.md was
    measured with is named by that table's experiment (a preset)."""

    name: str
    generator: Generator
    functions: tuple[str, ...]
    answer_kind: AnswerKind
    defaults: Mapping[str, object] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
