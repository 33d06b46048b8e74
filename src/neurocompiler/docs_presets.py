"""Render ``docs/PRESETS.md`` from the preset files (:mod:`neurocompiler.presets`) and the
config dataclasses (:func:`neurocompiler.settings.fields`).

Like ``docs/OPCODES.md`` it is never edited by hand: ``python -m neurocompiler.docs``
writes both, and a test checks that the committed file equals :func:`render`.
"""

from __future__ import annotations

import json

from . import presets, settings

_INTRO = """\
# Presets and settings

<!-- Generated from the preset files (src/neurocompiler/presets/*.json) and the config
     dataclasses by `python -m neurocompiler.docs`. Do not edit by hand. -->

`neurocompiler train` has a few flags (`train --help`). Every other setting of a run
is a field of its config (`TrainConfig`; its `model`, an `AugmentConfig`; and the
model's groups: `model.backbone`, a `BackboneConfig`; `model.slots`, the switches of the
earlier `slots` and `pooled` parses, which the default general parse does not read; and
`model.selection`, two variants of training the selection), given one at a time with
`--set KEY=VALUE` or
many at once by a preset: `--preset NAME` for one of the files below, shipped in
`src/neurocompiler/presets/`, or `--preset FILE.json` for a file of your own of the
same shape. Both may be repeated. Later wins:

1. the dataclasses' defaults, and what `train` derives itself (the task's functions, a
   JSONL run's base, cells and step budget fitted to its data);
2. the default preset, `general` (the general parse), for every task and for a JSONL
   file alike; the experiments that reproduce docs/RESULTS.md's tables name the presets
   they were measured with (the column "default of" below);
3. each `--preset`, in order;
4. the flags (`--epochs`, `--cells`, ...);
5. each `--set`, in order.

The run's `config.json` records the values it trained with. `train --resume` refuses a
flag, a `--set` or a `--preset` that would change one of them (how long it trains,
`--epochs`, where it is, `--out`, and where it runs, `--device`, may change). A
`config.json` or a preset written before the slots parse's switches moved to
`model.slots` and `model.selection` (`"model": {"span_candidates": 4}`,
`"selection_floor": 0.1`) still loads: each old name is read as its new path.
"""

_FILE = """\
## A preset file

A partial, nested `TrainConfig` in JSON, with a one-line `description` and, optionally,
`extends`: the name or path (relative to the file) of a preset whose settings it adds
to. Every key must be a field below and every value of its type (a list for a
comma-separated one, `null` for none); a bad file is refused in one line naming it.

```json
{
  "description": "copies, a wider backbone and a BPE tokenizer",
  "extends": "copies",
  "tokenizer": "bpe",
  "model": {"slots": {"span_candidates": 8}, "backbone": {"dim": 256, "layers": 6}},
  "task_options": {"lengths": [4, 6, 8]}
}
```
"""

_KEYS = """\
## Keys of `--set KEY=VALUE`

KEY is a field's dotted path or, as here, its name alone (each is unique), or an
option of the task (below). VALUE is typed by the field: `true`/`false` (also
`yes`/`no`, `1`/`0`), an integer, a finite number, text, comma-separated items, or
`none` (also `null`) where the field may be none. A choice (`parsing`, `tokenizer`,
...) is checked by the config itself. A mistake is one line and exit status 2, e.g.
`--set dimm=64: unknown key 'dimm' (did you mean dim?)`.
"""


def _value(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return str(value)


def preset_users() -> dict[str, list[str]]:
    """Which command trains with each preset by default: ``train`` (every task, and a
    JSONL file) the general parse; each experiment the presets its table was measured
    with."""
    from .experiments import baselines, mixed, sort

    users: dict[str, list[str]] = {presets.DEFAULT: ["train"]}
    users.setdefault(mixed.PRESET, []).append("experiment mixed")
    for name in sort.SortConfig().parsings:
        users.setdefault(name, []).append("experiment sort")
    for task, setup in baselines.SETUPS.items():
        users.setdefault(setup.parse, []).append(f"experiment baselines ({task})")
    return users


def _presets_table() -> list[str]:
    users = preset_users()
    lines = ["## Shipped presets", "", "| preset | default of | description | sets |", "| --- | --- | --- | --- |"]
    for name in presets.preset_names():
        preset = presets.load_preset(name)
        own = json.loads(preset.path.read_text(encoding="utf-8")).get("extends")
        sets = ", ".join(f"`{path.rsplit('.', 1)[-1]}={_value(v)}`" for path, v in preset.values.items())
        sets = (f"(extends `{own}`) " if own else "") + sets
        lines.append(f"| `{name}` | {', '.join(users.get(name, [])) or '-'} | {preset.description} | {sets} |")
    return lines + [""]


def _keys_table() -> list[str]:
    from .tasks import TASKS

    lines = ["| key | dotted path | type | default |", "| --- | --- | --- | --- |"]
    for path, f in settings.fields().items():
        lines.append(f"| `{f.leaf}` | `{path}` | {settings.describe(f.hint)} | `{_value(f.default)}` |")
    lines += ["", "`model_path` is also `--model`; `train` sets `functions`, `base`, `cells` and `max_steps` "
              "itself (see `train --help`) unless a preset, a flag or `--set` does.", "",
              "Options of the tasks (`--set lengths=4,6,8`; into `task_options`):", "",
              "| task | option | default |", "| --- | --- | --- |"]
    for name, spec in TASKS.items():
        for option, default in spec.defaults.items():
            shared = default is None and any(other.defaults.get(option) is not None for other in TASKS.values())
            shown = "each task's own" if shared else "none" if default is None else f"`{_value(default)}`"
            lines.append(f"| {name} | `{option}` | {shown} |")
    return lines + [""]


def render() -> str:
    """The full text of ``docs/PRESETS.md``."""
    return "\n".join([_INTRO, *_presets_table(), _FILE, _KEYS, *_keys_table()])
