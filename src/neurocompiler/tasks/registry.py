"""The task registry, :func:`generate`, the ``mixed`` task and :func:`split`."""

from __future__ import annotations

import math
import random
from typing import Mapping

from ..errors import InputError
from .arithmetic import OPS, arithmetic
from .example import Example, TaskSpec
from .fib import DEPTHS, fib
from .options import name_tuple
from .strings import ALPHABET, LENGTHS, count_letters, reverse_string, sort_string

_STRING_OPTIONS = {"lengths": LENGTHS, "alphabet": ALPHABET}
_BASIC = (
    TaskSpec("arithmetic", arithmetic, OPS, "int", {"ops": OPS, "operands": None}),
    TaskSpec("fib", fib, ("fib",), "int", {"depths": DEPTHS}),
    TaskSpec("sort", sort_string, ("insertion_sort",), "str", _STRING_OPTIONS),
    TaskSpec("count", count_letters, ("count",), "int", _STRING_OPTIONS),
    TaskSpec("reverse", reverse_string, ("reverse",), "str", _STRING_OPTIONS),
)
MIXABLE = tuple(spec.name for spec in _BASIC)
_SHARED = tuple(dict.fromkeys(key for spec in _BASIC for key in spec.defaults))


def _run(spec: TaskSpec, count: int, rng: random.Random, base: int,
         options: Mapping[str, object]) -> list[Example]:
    unknown = sorted(set(options) - set(spec.defaults))
    if unknown:
        raise InputError(f"{spec.name}: unknown option(s) {', '.join(unknown)} "
                         f"(options: {', '.join(spec.defaults) or 'none'})")
    return spec.generator(count, rng, base, **{**spec.defaults, **options})


def mixed(count: int, rng: random.Random, base: int, *, tasks: object = MIXABLE,
          per_task: object = None, **shared: object) -> list[Example]:
    """An even mixture of ``tasks`` (default: all but mixed), shuffled.

    ``count`` is split as evenly as possible (the remainder goes to randomly chosen
    tasks); each task generates its share from its own seed drawn from ``rng``, and its
    examples keep their own ``task`` and ``function``. Options reach the tasks two
    ways: a shared option (``ops``, ``depths``, ``lengths``, ``alphabet``) goes to every
    chosen task that has it (``None``: each task's default), and ``per_task`` maps a
    task name to that task's own options, which win over shared ones.
    """
    names = name_tuple("mixed", "tasks", tasks, MIXABLE)
    specific = {} if per_task is None else per_task
    if not isinstance(specific, Mapping) or not all(isinstance(v, Mapping) for v in specific.values()):
        raise InputError("mixed: option 'per_task' must map task names to option mappings")
    stray = sorted(set(specific) - set(names))
    if stray:
        raise InputError(f"mixed: per_task names task(s) not mixed: {', '.join(map(str, stray))}")
    given = {key: value for key, value in shared.items() if value is not None}
    for key in given:
        if not any(key in TASKS[name].defaults for name in names):
            raise InputError(f"mixed: option {key!r} applies to none of {', '.join(names)}")
    share, extra = divmod(count, len(names))
    lucky = set(rng.sample(range(len(names)), extra))
    seeds = [rng.getrandbits(64) for _ in names]
    out: list[Example] = []
    for i, name in enumerate(names):
        spec = TASKS[name]
        options = {k: v for k, v in given.items() if k in spec.defaults}
        options.update(specific.get(name, {}))
        out += _run(spec, share + (i in lucky), random.Random(seeds[i]), base, options)
    rng.shuffle(out)
    return out


TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in _BASIC}
TASKS["mixed"] = TaskSpec(
    "mixed", mixed, tuple(dict.fromkeys(f for spec in _BASIC for f in spec.functions)), "mixed",
    {"tasks": MIXABLE, "per_task": None, **dict.fromkeys(_SHARED)},
)


def _check_int(what: str, value: object, least: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(f"{what} must be an integer, got {type(value).__name__}")
    if least is not None and value < least:
        raise InputError(f"{what} must be at least {least}, got {value}")


def generate(name: str, count: int, seed: int, base: int = 128, **options: object) -> list[Example]:
    """``count`` examples of task ``name``, a function of (name, count, seed, base,
    options) only. Unknown tasks and bad options raise ``InputError``."""
    if name not in TASKS:
        raise InputError(f"unknown task {name!r} (known: {', '.join(TASKS)})")
    _check_int("count", count, 0)
    _check_int("seed", seed)
    _check_int("base", base, 2)
    return _run(TASKS[name], count, random.Random(seed), base, options)


def split(examples: list[Example], train_fraction: float = 0.7,
          seed: int = 0) -> tuple[list[Example], list[Example]]:
    """A seeded shuffle, then the first ``round(train_fraction * len)`` examples for
    training and the rest for testing (the paper's 70/30)."""
    if not isinstance(train_fraction, (int, float)) or not (
            math.isfinite(train_fraction) and 0 <= train_fraction <= 1):
        raise InputError(f"train_fraction must be in [0, 1], got {train_fraction!r}")
    shuffled = list(examples)
    random.Random(seed).shuffle(shuffled)
    cut = round(train_fraction * len(shuffled))
    return shuffled[:cut], shuffled[cut:]
