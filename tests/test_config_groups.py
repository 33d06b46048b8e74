"""The model config's groups: the earlier parses' switches live in ``model.slots`` and
the selection's training variants in ``model.selection``; configs saved before they
moved still load, each old name read as its new path."""

import json

import pytest

from neurocompiler.augment.config import MOVED, AugmentConfig, SelectionConfig, SlotsConfig
from neurocompiler.errors import InputError
from neurocompiler.runconfig import TrainConfig
from neurocompiler.settings import fields

# a run's config.json as the code before the groups wrote it (abridged: the model's fields)
OLD_MODEL = {"base": 128, "cells": 12, "functions": ["add", "fib", "count"], "parsing": "slots",
             "cell_values": "token", "list_length": "abi", "span_candidates": 4, "register_values": "copy",
             "register_offsets": 2, "offsets_from": "context", "ranks_from_end": "characters",
             "per_function_registers": True, "per_function_spans": True, "span_keys": True,
             "selection_floor": 0.05, "function_loss": 1.0, "trainable_library": False, "alu": "table",
             "max_steps": 1000, "backbone": {"dim": 64, "layers": 3}}


def test_an_old_config_json_loads_into_the_groups():
    cfg = TrainConfig.from_dict(json.loads(json.dumps({"task": "mixed", "model": OLD_MODEL})))
    m = cfg.model
    assert m.slots == SlotsConfig(cell_values="token", list_length="abi", span_candidates=4,
                                  register_values="copy", register_offsets=2, ranks_from_end="characters",
                                  per_function_registers=True, per_function_spans=True, span_keys=True)
    assert m.selection == SelectionConfig(floor=0.05, function_loss=1.0)
    assert m.backbone.dim == 64 and m.cells == 12 and m.functions == ("add", "fib", "count")
    # written back, it is the new shape, and reads back the same
    again = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again.model == m and "span_candidates" not in cfg.to_dict()["model"]


def test_every_moved_name_is_a_field_of_its_group():
    table = fields()
    for old, new in MOVED.items():
        assert f"model.{new}" in table, old
        assert f"model.{old}" not in table, old  # it left AugmentConfig itself
    assert not {f for f in AugmentConfig.__dataclass_fields__} & set(MOVED)


def test_later_keys_win_whatever_their_form():
    cfg = AugmentConfig.from_dict({"parsing": "slots", "slots": {"cell_values": "token", "span_keys": True},
                                   "cell_values": "embedding", "slots.span_keys": False})
    assert cfg.slots.cell_values == "embedding" and cfg.slots.span_keys is False
    assert AugmentConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("model, match", [
    ({"parsing": "general", "span_candidates": 4}, r"^slots\.span_candidates: a switch of the slots parse only"),
    ({"parsing": "pooled", "slots": {"span_keys": True}}, r"^slots\.span_keys: .*parsing is pooled"),
    ({"parsing": "slots", "register_offsets": 2}, r"^slots\.register_offsets: expected 0, or D > 0 with"),
    ({"parsing": "slots", "slots.register_values": "copy", "slots.register_offsets": 20, "base": 32},
     r"^slots\.register_offsets: expected D < base / 2"),
    ({"selection_floor": 1.0}, r"^selection\.floor: expected a number >= 0 and < 1, got 1\.0"),
    ({"selection": {"function_loss": float("nan")}}, r"^selection\.function_loss: expected a number >= 0"),
    ({"slots": {"list_length": "long"}}, r"^slots\.list_length: expected one of gate, span, abi"),
])
def test_a_bad_switch_is_one_line_naming_its_path(model, match):
    with pytest.raises(InputError, match=match):
        AugmentConfig.from_dict(model)


def test_a_group_leaf_is_set_by_its_name_its_tail_or_its_old_name():
    from neurocompiler.settings import parse_set

    assert parse_set("span_keys=true", None) == ("model.slots.span_keys", True)
    assert parse_set("slots.cell_values=token", None) == ("model.slots.cell_values", "token")
    assert parse_set("model.span_candidates=8", None) == ("model.slots.span_candidates", 8)
    assert parse_set("selection_floor=0.1", None) == ("model.selection.floor", 0.1)
    with pytest.raises(InputError, match=r"^--set slots\.cell_value=token: unknown key"):
        parse_set("slots.cell_value=token", None)


@pytest.mark.parametrize("model, match", [({"slots": None}, r"^slots: expected an object of settings"),
                                          ({"selection": 3}, r"^selection: expected an object"),
                                          ({"slots": {"bogus": 1}}, r"^slots: unknown field\(s\) bogus")])
def test_a_group_that_is_not_an_object_of_its_fields_is_refused(model, match):
    with pytest.raises(InputError, match=match):
        AugmentConfig(**model)


def test_experiment_mixed_with_the_general_parse_sets_none_of_the_earlier_switches():
    """``experiment mixed --parse general`` (a choice it offers) builds a config: the mixed
    preset's slots switches and the experiment's flags for them are left out."""
    from neurocompiler.experiments.mixed import MixedConfig, train_config

    model = train_config(MixedConfig(parse="general"), 0, "unused").model
    assert model.parsing == "general"
    assert model.slots == SlotsConfig() and model.selection == SelectionConfig()
    slots = train_config(MixedConfig(parse="copies"), 0, "unused").model
    assert slots.slots.register_values == "copy" and slots.slots.per_function_spans  # the experiment's own
    with pytest.raises(InputError, match=r"^selection: a variant of the slots and pooled parses"):
        AugmentConfig(selection={"floor": 0.1})  # the default parse is general
