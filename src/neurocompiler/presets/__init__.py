"""Presets: a run's settings in a JSON file, shipped here as ``NAME.json`` or written by
a user, given to ``train --preset NAME|FILE.json``.

A preset is a partial, nested :class:`~neurocompiler.runconfig.TrainConfig`: its top
level fields (``"tokenizer": "bpe"``), ``"model"`` (AugmentConfig fields), within it
``"backbone"``, and ``"task_options"``; beside them a one-line ``"description"`` and
optionally ``"extends"``, the name or path of a preset whose settings it adds to (a
path relative to this file). Every key is checked against the dataclasses and every
value against its field's type (:mod:`neurocompiler.settings`), so a bad file is one
line naming it and the problem. The named parses (``general``, ``slots``, ``pooled``,
``spans``, ``copies``, ``offsets``) are presets. Every run trains with ``general`` by
default; an experiment names the preset its table was measured with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .. import settings
from ..errors import InputError

PRESET_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Preset:
    name: str  # as given: a shipped preset's name, or a path
    path: Path
    description: str
    values: dict  # {dotted path: value}, with what it extends


def preset_names() -> list[str]:
    """The presets shipped in the package, by name."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def preset_path(ref: str, relative_to: Path | None = None) -> Path:
    """The file ``ref`` names: a shipped preset, else a path (relative to a preset that
    extends it). InputError when it is neither."""
    if "/" not in ref and not ref.endswith(".json") and (PRESET_DIR / f"{ref}.json").is_file():
        return PRESET_DIR / f"{ref}.json"
    path = Path(ref) if relative_to is None else relative_to / ref
    if path.is_file() or "/" in ref or ref.endswith(".json"):
        return path
    raise InputError(f"--preset {ref}: no such preset{settings.suggest(ref, preset_names())} (shipped: "
                     f"{', '.join(preset_names())}; or the path of a JSON file)")


def load_preset(ref: str, _seen: tuple[Path, ...] = (), _relative_to: Path | None = None) -> Preset:
    """The preset ``ref`` names (a shipped name or a path), checked: every key a field,
    every value of its field's type, ``extends`` resolved (its values first)."""
    path = preset_path(ref, _relative_to)
    if path.resolve() in _seen:
        raise InputError(f"{path}: extends itself (through {', '.join(p.name for p in _seen)})")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read preset ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (a preset is JSON)") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise InputError(f"{path}: expected a JSON object of settings, e.g. "
                         '{"description": "...", "model": {"parsing": "general"}}')
    obj = dict(obj)
    description, extends = obj.pop("description", ""), obj.pop("extends", None)
    if not isinstance(description, str) or "\n" in description:
        raise InputError(f"{path}: description: expected one line of text")
    values: dict = {}
    if extends is not None:
        if not isinstance(extends, str):
            raise InputError(f"{path}: extends: expected a preset's name or path, got {json.dumps(extends)}")
        values.update(load_preset(extends, (*_seen, path.resolve()), path.parent).values)
    try:
        values.update(_flatten(obj, ""))
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None
    return Preset(ref, path, description, values)


def _flatten(obj: dict, prefix: str) -> dict:
    out: dict = {}
    for key, value in obj.items():
        path = settings.moved(prefix + key)
        if path in settings.groups() or path == settings.TASK_OPTIONS:
            if not isinstance(value, dict):
                raise ValueError(f"{path}: expected an object of settings, got {settings.json_name(value)}")
            out.update(_flatten(value, path + ".") if path != settings.TASK_OPTIONS else
                       {f"{path}.{k}": settings.from_json_option(v) for k, v in value.items()})
        elif path in settings.fields():
            try:
                out[path] = settings.from_json(value, settings.fields()[path].hint)
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}") from None
        else:
            known = [*settings.fields(), *settings.groups(), settings.TASK_OPTIONS, "description", "extends"]
            raise ValueError(f"unknown setting '{path}'{settings.suggest(path, known)}")
    return out


def parse_names() -> list[str]:
    """The shipped presets that name a parse (they set ``model.parsing``)."""
    return [name for name in preset_names() if "model.parsing" in load_preset(name).values]


def preset_model(ref: str) -> dict:
    """The ``model`` fields preset ``ref`` sets (``backbone`` left out), by dotted path
    within the model (``"slots.span_candidates"``), so that they merge with others key by
    key: ``AugmentConfig.from_dict({**preset_model("copies"), "base": 32})``."""
    return {path.split(".", 1)[1]: value for path, value in load_preset(ref).values.items()
            if path.startswith("model.") and not path.startswith("model.backbone.")}


DEFAULT = "general"  # the preset every run, of any task or JSONL file, trains with under its own
