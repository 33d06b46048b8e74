"""``train`` has 20 options; every other setting is ``--set KEY=VALUE`` or a preset file
(issue #19): typed values, one-line mistakes, the order in which they win, resuming, and
the shipped presets (the named parses among them, exactly as they were)."""

from __future__ import annotations

import argparse
import json
import shutil
import re
from pathlib import Path

import pytest

from neurocompiler import augment, presets, settings
from neurocompiler.augment import AugmentConfig, BackboneConfig
from neurocompiler.cli import build_parser, main, train_config
from neurocompiler.errors import InputError
from neurocompiler.tasks import TASKS
from neurocompiler.train import TrainConfig

REPO = Path(__file__).resolve().parents[1]

# The named parses as augment/config.py defined them before they became preset files, by
# dotted path within the model (their switches now live in ``model.slots``).
_SOFT = {"slots.cell_values": "context", "slots.list_length": "gate", "slots.span_candidates": 0,
         "slots.register_values": "context", "slots.register_offsets": 0, "slots.ranks_from_end": "none"}
_SPANS = {"parsing": "slots", "slots.cell_values": "token", "slots.list_length": "abi", "slots.span_candidates": 4,
          "slots.register_offsets": 0, "slots.ranks_from_end": "none"}
_COPIES = {**_SPANS, "slots.register_values": "copy"}
OLD_PARSES = {
    "general": {"parsing": "general"},
    "slots": {"parsing": "slots", **_SOFT},
    "pooled": {"parsing": "pooled", **_SOFT},
    "spans": {**_SPANS, "slots.register_values": "context"},
    "copies": _COPIES,
    "offsets": {**_COPIES, "slots.register_offsets": 2},
}


def dotted(obj, path: str):
    """The value at a dotted ``path`` of nested configs: ``dotted(cfg.model, "slots.cell_values")``."""
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def config(*argv: str) -> TrainConfig:
    return train_config(build_parser().parse_args(["train", *argv]))


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err.strip().removeprefix("neurocompiler: error: ")


def train_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


# ------------------------------------------------------------------ the options

def test_train_lists_at_most_20_options_and_the_presets(capsys):
    options = [a for a in train_parser()._actions if a.option_strings]
    assert len(options) <= 20, [a.option_strings for a in options]
    assert all(a.help is not argparse.SUPPRESS for a in options)  # gone, not hidden
    strings = {s for a in options for s in a.option_strings}
    assert {"--preset", "--set", "--task", "--epochs", "--resume"} <= strings
    for gone in ("--parse", "--tokenizer", "--dim", "--no-progress", "--memory-budget", "--span-candidates",
                 "--ranks-from-end", "--lengths", "--examples", "--architecture"):
        assert gone not in strings
        assert main(["train", gone, "1"]) == 2
        assert one_line(capsys).startswith(f"unrecognized arguments: {gone} 1")
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    for name in presets.preset_names():
        assert f"\n  {name}" in out, name
    assert "$NEUROCOMPILER_MEMORY_BUDGET" in out


# ------------------------------------------------------------------ --set KEY=VALUE

@pytest.mark.parametrize("text, path, value", [
    ("bf16=true", "bf16", True), ("bf16=No", "bf16", False),
    ("per_function_spans=1", "model.slots.per_function_spans", True),
    ("dim=64", "model.backbone.dim", 64), ("model.backbone.dim=48", "model.backbone.dim", 48),
    ("lr=1e-4", "lr", 1e-4), ("embedding_std=0.02", "model.backbone.embedding_std", 0.02),
    ("tokenizer=bpe", "tokenizer", "bpe"), ("ranks_from_end=none", "model.slots.ranks_from_end", "none"),
    ("model.slots.span_keys=1", "model.slots.span_keys", True), ("model.span_keys=yes", "model.slots.span_keys", True),
    ("selection_floor=0.1", "model.selection.floor", 0.1), ("model.selection.floor=0.2", "model.selection.floor", 0.2),
    ("function_loss=2", "model.selection.function_loss", 2.0), ("span_candidates=8", "model.slots.span_candidates", 8),
    ("functions=add, sub", "model.functions", ("add", "sub")),
    ("base=none", "model.base", None), ("intermediate=null", "model.backbone.intermediate", None),
    ("base=32", "model.base", 32), ("model_path=/m", "model.backbone.model_path", "/m"),
    ("lengths=4,6,8", "task_options.lengths", (4, 6, 8)), ("alphabet=abc", "task_options.alphabet", "abc"),
])
def test_set_types_the_value_by_its_field(text, path, value):
    assert settings.parse_set(text, "sort") == (path, value)


def test_set_types_task_options_by_their_defaults():
    assert settings.parse_set("depths=1,2", "fib") == ("task_options.depths", (1, 2))
    assert settings.parse_set("lengths=3,4", "mixed") == ("task_options.lengths", (3, 4))  # mixed: None, sort's type
    assert settings.parse_set("ops=add,mul", "arithmetic") == ("task_options.ops", ("add", "mul"))
    assert settings.parse_set("operands=0,9", "arithmetic") == ("task_options.operands", (0, 9))
    cfg = config("--task", "sort", "--set", "lengths=4,6", "--set", "dim=64", "--set", "bf16=yes")
    assert cfg.task_options == {"lengths": (4, 6)} and cfg.model.backbone.dim == 64 and cfg.bf16 is True


@pytest.mark.parametrize("text, message", [
    ("dim=x", r"^--set dim=x: 'x' is not an integer$"),
    ("dim=6.5", r"^--set dim=6.5: '6.5' is not an integer$"),
    ("lr=inf", r"^--set lr=inf: 'inf' is not a finite number$"),
    ("lr=fast", r"^--set lr=fast: 'fast' is not a number$"),
    ("bf16=maybe", r"^--set bf16=maybe: 'maybe' is not true or false"),
    ("lengths=4,x", r"^--set lengths=4,x: 'x' is not an integer$"),
    ("dim", r"^--set dim: expected KEY=VALUE"),
    ("=3", r"^--set =3: expected KEY=VALUE"),
    ("dimm=64", r"^--set dimm=64: unknown key 'dimm' \(did you mean dim\?\)"),
    ("span_candidate=8", r"unknown key 'span_candidate' \(did you mean span_candidates\?\)"),
    ("model=3", r"^--set model=3: 'model' is a group of settings; set one of them, e.g. model.cells"),
    ("depths=1,2", r"^--set depths=1,2: 'depths' is an option of the fib and mixed task\(s\), not of the sort"),
    ("task_options.ops=add", r"'ops' is not an option of the sort task \(options: lengths, alphabet\)"),
])
def test_a_bad_set_is_one_line(text, message):
    with pytest.raises(InputError, match=message):
        settings.parse_set(text, "sort")


def test_a_bad_set_exits_2_with_one_line_and_no_traceback(tmp_path, capsys):
    for argv, message in ((["--set", "dimm=64"], "--set dimm=64: unknown key 'dimm' (did you mean dim?)"),
                          (["--set", "dim=x"], "--set dim=x: 'x' is not an integer"),
                          (["--set", "parsing=fancy"], "parsing: expected one of general, slots, pooled, got 'fancy'"),
                          (["--set", "lr=0"], "--lr 0.0: expected a learning rate > 0")):
        assert main(["train", "--out", str(tmp_path / "run"), *argv]) == 2
        assert one_line(capsys).startswith(message)
    assert not (tmp_path / "run").exists()


def test_an_ambiguous_key_names_every_dotted_path():
    table = {"model.size": settings.Field("model.size", int, 1),
             "model.backbone.size": settings.Field("model.backbone.size", int, 2),
             "model.lengths": settings.Field("model.lengths", int, 3)}
    with pytest.raises(ValueError, match=r"'size' is ambiguous: model.size, model.backbone.size \(give the dotted"):
        settings.resolve("size", "sort", table)
    assert settings.resolve("model.backbone.size", "sort", table) == "model.backbone.size"
    # a task option of the same name as a field is ambiguous too
    with pytest.raises(ValueError, match=r"ambiguous: model.lengths, task_options.lengths"):
        settings.resolve("lengths", "sort", table)
    assert settings.resolve("task_options.lengths", "sort", table) == "task_options.lengths"
    # the real table has no two fields of one name, so every leaf works alone
    leaves = [f.leaf for f in settings.fields().values()]
    assert len(leaves) == len(set(leaves))


# ------------------------------------------------------------------ --preset

def test_preset_by_name_and_by_file(tmp_path):
    cfg = config("--task", "arithmetic", "--preset", "spans")
    assert {k: dotted(cfg.model, k) for k in OLD_PARSES["spans"]} == OLD_PARSES["spans"]
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"description": "mine", "extends": "copies", "tokenizer": "bpe",
                                "model": {"slots": {"span_candidates": 2}, "backbone": {"dim": 48}},
                                "task_options": {"lengths": [3, 5]}}))
    cfg = config("--task", "count", "--preset", str(mine))
    assert cfg.tokenizer == "bpe" and cfg.model.backbone.dim == 48 and cfg.model.slots.span_candidates == 2
    assert cfg.model.slots.register_values == "copy" and cfg.task_options == {"lengths": (3, 5)}  # copies, extended


def test_a_preset_file_with_the_old_flat_model_keys_still_loads(tmp_path):
    """Preset files written before the slots parses' switches moved to ``model.slots`` and
    ``model.selection`` name them flat in ``model``: they load where the fields are now."""
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"extends": "copies", "model": {"span_candidates": 2, "selection_floor": 0.25,
                                                               "function_loss": 0.5}}))
    assert presets.load_preset(str(old)).values["model.slots.span_candidates"] == 2
    cfg = config("--task", "count", "--preset", str(old))
    assert cfg.model.slots.span_candidates == 2 and cfg.model.slots.register_values == "copy"  # copies, extended
    assert cfg.model.selection.floor == 0.25 and cfg.model.selection.function_loss == 0.5
    flat = tmp_path / "flat.json"
    flat.write_text('{"model": {"parsing": "slots", "span_candidates": 2}}')
    assert config("--preset", str(flat)).model.slots.span_candidates == 2


def test_precedence_defaults_task_preset_presets_flags_sets(tmp_path):
    for task in ("sort", "arithmetic", "mixed", "fib"):  # every task's default: the general parse
        assert config("--task", task).model.parsing == "general", task
        assert config("--task", task).model.slots == config("--train", "t.jsonl").model.slots
    # --preset beats the default
    assert config("--task", "sort", "--preset", "spans").model.slots.cell_values == "token"
    assert config("--task", "sort", "--preset", "slots").model.slots.cell_values == "context"
    cfg = config("--task", "sort", "--preset", "slots", "--set", "cell_values=embedding")
    assert cfg.model.slots.cell_values == "embedding" and cfg.model.slots.span_candidates == 0  # --set beats --preset
    assert config("--task", "sort", "--preset", "slots", "--preset", "spans").model.slots.cell_values == "token"  # later
    mine = tmp_path / "epochs.json"
    mine.write_text('{"epochs": 3, "model": {"cells": 9}}')
    assert config("--preset", str(mine)).epochs == 3
    assert config("--preset", str(mine), "--epochs", "5").epochs == 5  # a flag beats a preset
    assert config("--set", "epochs=7", "--epochs", "5", "--preset", str(mine)).epochs == 7  # --set beats a flag
    assert config("--set", "epochs=7", "--set", "epochs=8").epochs == 8  # the later --set
    assert config("--preset", str(mine), "--cells", "4").model.cells == 4
    # what train derives itself sits below every preset: a JSONL run fits its cells unless told
    assert config("--train", "t.jsonl", "--test", "t.jsonl").model.cells is None
    assert config("--train", "t.jsonl", "--test", "t.jsonl", "--preset", str(mine)).model.cells == 9


@pytest.mark.parametrize("text, message", [
    (None, r"none\.json: cannot read preset \(No such file or directory\)"),
    ('{"model": {"dim": }', r"p\.json: not valid JSON \(Expecting value at line 1 column 19\)"),
    ('["slots"]', r"p\.json: expected a JSON object of settings"),
    ('{"model": {"span_candidates": "4"}}',  # a preset file's old flat name
     r"p\.json: model\.slots\.span_candidates: expected an integer, got text \"4\""),
    ('{"model": {"slots": {"span_candidates": "4"}}}',
     r"p\.json: model\.slots\.span_candidates: expected an integer, got text \"4\""),
    ('{"model": {"slots": 3}}', r"p\.json: model\.slots: expected an object of settings, got an integer"),
    ('{"model": {"dim": 64}}', r"p\.json: unknown setting 'model.dim'"),
    ('{"epoch": 3}', r"p\.json: unknown setting 'epoch' \(did you mean epochs\?\)"),
    ('{"bf16": "yes"}', r"p\.json: bf16: expected true or false, got text \"yes\""),
    ('{"model": 3}', r"p\.json: model: expected an object of settings, got an integer"),
    ('{"extends": "p.json"}', r"p\.json: extends itself"),
    ('{"extends": "spams"}', r"--preset spams: no such preset \(did you mean spans\?\)"),
    ('{"description": ["two", "lines"]}', r"p\.json: description: expected one line of text"),
])
def test_a_missing_or_malformed_preset_is_one_line_naming_the_file(tmp_path, capsys, text, message):
    path = tmp_path / ("none.json" if text is None else "p.json")
    if text is not None:
        path.write_text(text)
    assert main(["train", "--preset", str(path), "--out", str(tmp_path / "run")]) == 2
    line = one_line(capsys)
    assert re.search(message, line), line
    assert not (tmp_path / "run").exists()


def test_an_unknown_preset_name_and_a_task_option_the_task_lacks(tmp_path, capsys):
    assert main(["train", "--preset", "spams", "--out", str(tmp_path / "run")]) == 2
    line = one_line(capsys)
    assert line.startswith("--preset spams: no such preset (did you mean spans?)") and "offsets" in line
    mine = tmp_path / "fib.json"
    mine.write_text('{"task_options": {"depths": [1, 2]}}')
    assert main(["train", "--task", "sort", "--preset", str(mine), "--out", str(tmp_path / "run")]) == 2
    assert one_line(capsys).startswith(f"--preset {mine}: depths: not an option of the sort task")


# ------------------------------------------------------------------ the shipped presets

def test_every_shipped_preset_loads_into_a_valid_config():
    names = presets.preset_names()
    assert {*OLD_PARSES, "mixed", "small", "finetune"} <= set(names)
    for name in names:
        preset = presets.load_preset(name)
        assert preset.description and "\n" not in preset.description, name
        cfg = settings.build([(name, preset.values)])
        assert isinstance(cfg, TrainConfig)
        assert settings.flatten(json.loads(json.dumps(cfg.to_dict()))).items() >= \
            json.loads(json.dumps(preset.values)).items()
        assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    from neurocompiler.docs_presets import preset_users

    for preset in preset_users():  # every preset a command trains with by default is shipped
        assert preset in names, preset
    for task in TASKS:
        config("--task", task)


def test_the_presets_replace_the_named_parses_exactly():
    assert not hasattr(augment, "PARSES")  # one source of truth: the files
    for name, fields in OLD_PARSES.items():
        assert presets.preset_model(name) == fields, name
        assert presets.load_preset(name).values == {f"model.{k}": v for k, v in fields.items()}
        model = AugmentConfig.from_dict(presets.preset_model(name))
        assert {k: dotted(model, k) for k in fields} == fields, name


def test_the_wheel_ships_the_presets():
    text = (REPO / "pyproject.toml").read_text()
    assert '"neurocompiler.presets" = ["*.json"]' in text
    assert (Path(presets.__file__).parent / "spans.json").is_file()


def test_train_task_mixed_with_the_mixed_preset_and_experiment_mixed_agree(tmp_path):
    from neurocompiler.experiments.mixed import MixedConfig, train_config as mixed_config
    from neurocompiler.library import load_specs

    out = str(tmp_path / "seed0")
    experiment = mixed_config(MixedConfig(), 0, out).to_dict()
    cli = config("--task", "mixed", "--preset", "mixed", "--functions", ",".join(load_specs()), "--out", out,
                 "--set", "tasks=" + ",".join(TASKS["mixed"].defaults["tasks"]),
                 "--set", "lengths=" + ",".join(map(str, MixedConfig().lengths))).to_dict()
    assert cli["model"]["base"] is None  # make_data gives a generated task 128
    cli["model"]["base"] = 128
    assert cli == experiment
    # and without the experiment's own settings, train --task mixed --preset mixed is the preset
    cfg = config("--task", "mixed", "--preset", "mixed")
    for path, value in presets.load_preset("mixed").values.items():
        assert settings.flatten(cfg.to_dict())[path] == value, path


@pytest.mark.parametrize("changes", [{}, {"parse": "copies"}, {"parse": "slots", "per_function_spans": False,
                                      "span_keys": False, "ranks_from_end": "none"},
                                     {"tasks": ("arithmetic", "reverse"), "lengths": (2, 3), "cells": 5,
                                      "offsets_from": "embedding", "function_loss": 0.0}])
def test_experiment_mixed_trains_what_it_trained_before_its_defaults_became_a_preset(changes):
    """The config the experiment built by hand, from the old named parses, before the
    mixed preset held its defaults."""
    from dataclasses import replace

    from neurocompiler.experiments.mixed import MixedConfig, train_config as mixed_config
    from neurocompiler.library import load_specs

    cfg = replace(MixedConfig(), **changes)
    parse = {**OLD_PARSES[cfg.parse or "offsets"], "slots.ranks_from_end": cfg.ranks_from_end}
    if parse["slots.register_offsets"]:
        parse["slots.offsets_from"] = cfg.offsets_from
    model = AugmentConfig.from_dict({
        "base": 128, "cells": cfg.cells or max(cfg.lengths), "functions": tuple(load_specs()), **parse,
        "slots.per_function_registers": True, "slots.per_function_spans": cfg.per_function_spans,
        "slots.span_keys": cfg.span_keys, "selection.floor": 0.0, "selection.function_loss": cfg.function_loss,
        "max_steps": 1000, "backbone": BackboneConfig(dim=128, layers=4)})
    options = {"tasks": cfg.tasks, "lengths": cfg.lengths}  # every case mixes a task with lengths
    old = TrainConfig(task="mixed", task_options=options, examples=20000, epochs=10, batch_size=32, lr=3e-3,
                      backbone_lr_scale=0.1, seed=0, tokenizer="bpe-numbers", device="auto", out="x", model=model)
    assert mixed_config(cfg, 0, "x") == old


# ------------------------------------------------------------------ resuming

def test_resume_refuses_a_changed_set_or_preset_and_takes_an_unchanged_one(tmp_path, capsys, tiny_run):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    mine = tmp_path / "same.json"
    mine.write_text('{"model": {"backbone": {"dim": 16, "layers": 2}}, "epochs": 1}')
    for argv, refused in ((["--set", "lr=0.1"], "--set lr=0.1"), (["--set", "dim=32"], "--set dim=32"),
                          (["--preset", "small"], "--preset small"), (["--preset", "spans"], "--preset spans"),
                          (["--set", "ops=add"], "--set ops=add"), (["--cells", "4"], "--cells")):
        assert main(["train", "--resume", "--out", str(run), *argv]) == 2, argv
        assert one_line(capsys).startswith(f"{refused}: cannot change when resuming (the run's ")
    assert json.loads((run / "config.json").read_text())["epochs"] == 1
    for argv in (["--set", "dim=16", "--set", "lr=0.003"], ["--preset", str(mine)], ["--preset", "slots"],
                 ["--set", "ops=add,sub,mul,div"], ["--cells", "2"]):
        assert main(["train", "--resume", "--out", str(run), "--epochs", "1", *argv]) == 0, argv  # the run's own
        assert json.loads(capsys.readouterr().out)["epoch"] == 1
    assert main(["train", "--resume", "--out", str(run), "--set", "epochs=2"]) == 0  # how long: may change
    capsys.readouterr()
    assert json.loads((run / "config.json").read_text())["epochs"] == 2


# ------------------------------------------------------------------ the docs

def test_docs_presets_md_is_up_to_date():
    from neurocompiler import docs_presets

    path = REPO / "docs" / "PRESETS.md"
    assert path.read_text(encoding="utf-8") == docs_presets.render(), (
        "docs/PRESETS.md is stale: regenerate it with `python -m neurocompiler.docs`")
    text = docs_presets.render()
    for name in presets.preset_names():
        assert f"| `{name}` |" in text
    for path in settings.fields():
        assert f"| `{path}` |" in text
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "docs/PRESETS.md" in readme
    for name in presets.preset_names():  # the README names every shipped preset
        assert f"`{name}`" in readme, name
