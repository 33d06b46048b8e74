"""A run's settings by name: ``--set KEY=VALUE`` and preset files, over one table of the
fields of :class:`~neurocompiler.runconfig.TrainConfig`, its ``model``
(:class:`~neurocompiler.augment.AugmentConfig`) and its groups ``model.backbone``,
``model.slots`` and ``model.selection``: the dataclasses are the one source of
truth for what a setting is called, its type and its default.

* :func:`fields`: every field by dotted path (``model.backbone.dim``), with its type.
* :func:`resolve`: a KEY, as a dotted path, a leaf name that is unique (``dim``), or an
  option of the task (``lengths``, into ``task_options``); :func:`parse_set` types a
  VALUE by its field.
* :func:`build`: layers of settings, each a ``{dotted path: value}``, later ones win,
  as a checked TrainConfig.

Presets, files of such settings, are :mod:`neurocompiler.presets`. A problem is an
:class:`~neurocompiler.errors.InputError` of one line.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import types
import typing
from dataclasses import dataclass
from typing import Mapping, Sequence

from .errors import InputError

TASK_OPTIONS = "task_options"
_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_NONE = ("none", "null")


# ---------------------------------------------------------------- the table of fields

@dataclass(frozen=True)
class Field:
    path: str  # dotted: "lr", "model.slots.span_candidates", "model.backbone.dim"
    hint: object  # its resolved type: int, str | None, tuple[str, ...], ...
    default: object

    @property
    def leaf(self) -> str:
        return self.path.rsplit(".", 1)[-1]


@functools.cache
def _tables() -> tuple[dict[str, Field], dict[str, type]]:
    from .runconfig import TrainConfig

    leaves: dict[str, Field] = {}
    groups: dict[str, type] = {}

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            path, hint = prefix + f.name, hints[f.name]
            if dataclasses.is_dataclass(hint):
                groups[path] = hint
                walk(hint, path + ".")
            elif path != TASK_OPTIONS:
                default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
                leaves[path] = Field(path, hint, default)

    walk(TrainConfig, "")
    return leaves, groups


def fields() -> dict[str, Field]:
    """Every settable field of a run's config, by dotted path (``task_options`` is the
    task's; see :func:`resolve`)."""
    return _tables()[0]


def groups() -> dict[str, type]:
    """The nested configs by dotted path: ``model``, ``model.backbone``, ``model.slots``, ..."""
    return _tables()[1]


def _shape(hint: object) -> tuple[bool, object, object]:
    """(optional, kind, item): ``int | None`` -> (True, int, None); ``tuple[str, ...]`` ->
    (False, tuple, str)."""
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional, hint = len(args) < len(typing.get_args(hint)), args[0]
    if typing.get_origin(hint) is tuple:
        return optional, tuple, typing.get_args(hint)[0]
    return optional, hint, None


_WORDS = {bool: "true or false", int: "an integer", float: "a finite number", str: "text"}
_PLURALS = {bool: "true/false values", int: "integers", float: "numbers", str: "names"}


def describe(hint: object) -> str:
    """What a value of type ``hint`` is, in words (for messages and docs)."""
    optional, kind, item = _shape(hint)
    text = f"comma-separated {_PLURALS.get(item, 'values')}" if kind is tuple else _WORDS.get(kind, "a value")
    return text + (", or none" if optional else "")


# ---------------------------------------------------------------- typed values

def _scalar(text: str, kind: object) -> object:
    """``text`` as a value of ``kind``; ValueError says why not."""
    if kind is bool:
        if text.strip().lower() not in _BOOLS:
            raise ValueError(f"'{text}' is not true or false (true/false, yes/no, 1/0)")
        return _BOOLS[text.strip().lower()]
    if kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"'{text}' is not {'an integer' if kind is int else 'a number'}") from None
        if not math.isfinite(value):
            raise ValueError(f"'{text}' is not a finite number")
        return value
    return text.strip()


def from_text(text: str, hint: object) -> object:
    """A command-line VALUE typed by ``hint``: true/false/yes/no/1/0 for a bool, a
    finite number for a float, comma-separated items for a tuple, none or null for an
    Optional field. ValueError says what is wrong."""
    optional, kind, item = _shape(hint)
    if optional and text.strip().lower() in _NONE:
        return None
    if kind is tuple:
        return tuple(_scalar(t.strip(), item) for t in text.split(",") if t.strip())
    return _scalar(text, kind)


def json_name(value: object) -> str:
    return {bool: "true/false", int: "an integer", float: "a number", str: "text", list: "a list",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def from_json(value: object, hint: object) -> object:
    """A preset's JSON ``value`` checked against ``hint`` (a list for a tuple, which it
    becomes; an integer is a fine float). ValueError says what is wrong."""
    optional, kind, item = _shape(hint)
    if value is None and optional:
        return None
    if kind is tuple:
        if not isinstance(value, list):
            raise ValueError(f"expected a list of {describe(item)}, got {json_name(value)} {json.dumps(value)}")
        return tuple(from_json(v, item) for v in value)
    ok = (isinstance(value, bool) if kind is bool else
          isinstance(value, int) and not isinstance(value, bool) if kind is int else
          isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) if kind is float
          else isinstance(value, str) if kind is str else True)
    if not ok:
        raise ValueError(f"expected {describe(hint)}, got {json_name(value)} {json.dumps(value)}")
    return float(value) if kind is float else value


# ---------------------------------------------------------------- task options

def task_options(task: str | None) -> Mapping[str, object]:
    from .tasks import TASKS

    return TASKS[task].defaults if task in TASKS else {}


def _example(task: str, name: str) -> object:
    """A value that shows option ``name``'s type: the task's default, else (``None``:
    each sub-task's own, as in ``mixed``) another task's default of that option."""
    from .tasks import TASKS

    value = task_options(task).get(name)
    if value is None:
        value = next((s.defaults[name] for s in TASKS.values() if s.defaults.get(name) is not None), None)
    return value


def option_from_text(task: str, name: str, text: str) -> object:
    """A task option's VALUE, typed like its default: ``lengths=4,6,8`` -> (4, 6, 8)."""
    example = _example(task, name)
    if text.strip().lower() in _NONE:
        return None
    if isinstance(example, (tuple, list)):
        kind = type(example[0]) if example else str
        return tuple(_scalar(t.strip(), kind) for t in text.split(",") if t.strip())
    if isinstance(example, (bool, int, float)):
        return _scalar(text, type(example))
    if isinstance(example, str):
        return text
    try:  # no default to go by (operands, per_task): JSON, else comma-separated numbers or names
        return from_json_option(json.loads(text))
    except ValueError:
        items = tuple(int(t) if t.strip().lstrip("-").isdigit() else t.strip() for t in text.split(","))
        return items if len(items) > 1 else items[0]


def from_json_option(value: object) -> object:
    if isinstance(value, list):
        return tuple(from_json_option(v) for v in value)
    if isinstance(value, dict):
        return {k: from_json_option(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------- keys

def suggest(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def moved(path: str) -> str:
    """Where a setting saved under an earlier name lives now: ``model.span_keys`` ->
    ``model.slots.span_keys`` (:data:`~neurocompiler.augment.config.MOVED`)."""
    from .augment.config import MOVED

    group, _, leaf = path.rpartition(".")
    return f"model.{MOVED[leaf]}" if group == "model" and leaf in MOVED else path


def resolve(key: str, task: str | None = None, table: Mapping[str, Field] | None = None) -> str:
    """The dotted path ``key`` names: itself, the one field whose leaf (or dotted tail,
    ``slots.span_keys``) it is, its earlier name (``selection_floor``), or
    ``task_options.KEY`` for an option of ``task``. ValueError says why not."""
    from .augment.config import MOVED

    table = fields() if table is None else table
    key = moved(key)
    if key in MOVED and f"model.{MOVED[key]}" in table:  # a leaf's earlier name (selection_floor)
        key = f"model.{MOVED[key]}"
    options = task_options(task)
    if key in table:
        return key
    if key in groups() or key == TASK_OPTIONS:
        example = {"model": "model.cells", TASK_OPTIONS: "lengths"}.get(key, f"{key}.dim")
        raise ValueError(f"'{key}' is a group of settings; set one of them, e.g. {example}")
    name = key.removeprefix(TASK_OPTIONS + ".")
    if key.startswith(TASK_OPTIONS + "."):
        if name in options:
            return key
        raise ValueError(f"'{name}' is not an option of the {task} task"
                         f" ({'options: ' + ', '.join(options) if options else 'it takes none'})")
    matches = [p for p in table if p.endswith("." + key)] + [f"{TASK_OPTIONS}.{key}"] * (key in options)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValueError(f"'{key}' is ambiguous: {', '.join(matches)} (give the dotted path)")
    from .tasks import TASKS

    elsewhere = [t for t, spec in TASKS.items() if key in spec.defaults]
    if elsewhere:
        raise ValueError(f"'{key}' is an option of the {' and '.join(elsewhere)} task(s), not of the {task} task"
                         f" ({'options: ' + ', '.join(options) if options else 'it takes none'}; --task to choose)")
    names = sorted({f.leaf for f in table.values()} | set(table) | set(options))
    hint = suggest(key, names) or suggest(key.rsplit(".", 1)[-1], names)
    extra = f"; the {task} task's options: {', '.join(options)}" if options else ""
    raise ValueError(f"unknown key '{key}'{hint} (a field of TrainConfig, model or one of its groups{extra};"
                     f" see docs/PRESETS.md)")


def parse_set(text: str, task: str | None) -> tuple[str, object]:
    """``--set KEY=VALUE`` as (dotted path, typed value); InputError in one line."""
    key, sep, value = text.partition("=")
    key = key.strip()
    try:
        if not sep or not key:
            raise ValueError("expected KEY=VALUE, e.g. --set dim=64")
        path = resolve(key, task)
        if path.startswith(TASK_OPTIONS + "."):
            return path, option_from_text(task, path.split(".", 1)[1], value)
        return path, from_text(value, fields()[path].hint)
    except ValueError as exc:
        raise InputError(f"--set {text}: {exc}") from None


# ---------------------------------------------------------------- a config from layers

def flatten(config: dict, prefix: str = "") -> dict:
    """A config's ``to_dict()`` as ``{dotted path: value}``, task options included."""
    out: dict = {}
    for key, value in config.items():
        path = prefix + key
        if isinstance(value, dict) and path in groups():
            out.update(flatten(value, path + "."))
        elif isinstance(value, dict) and path == TASK_OPTIONS:
            out.update({f"{path}.{k}": v for k, v in value.items()})
        else:
            out[path] = value
    return out


def nest(values: Mapping[str, object]) -> dict:
    """``{dotted path: value}`` as the nested dict :meth:`TrainConfig.from_dict` reads."""
    out: dict = {}
    for path, value in values.items():
        *parents, leaf = path.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def build(layers: Sequence[tuple[str, Mapping[str, object]]]):
    """The :class:`TrainConfig` of ``layers`` (label, ``{dotted path: value}``), later
    ones winning over earlier ones and all over the dataclass defaults. A task option
    that the task does not take is refused, naming the layer that set it."""
    from .runconfig import TrainConfig

    merged: dict = {}
    where: dict = {}
    for label, values in layers:
        for path, value in values.items():
            merged[path], where[path] = value, label
    task = merged.get("task", fields()["task"].default)
    options = task_options(task)
    for path in merged:
        name = path.split(".", 1)[1] if path.startswith(TASK_OPTIONS + ".") else None
        if name is not None and name not in options:
            raise InputError(f"{where[path]}: {name}: not an option of the {task} task "
                             f"({'options: ' + ', '.join(options) if options else 'it takes none'})")
    return TrainConfig.from_dict(nest(merged))

