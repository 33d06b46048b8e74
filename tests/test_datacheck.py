"""Data a model cannot use is said, in one line (``neurocompiler.datacheck``): answers a
model can never give, questions longer than its positions; and the checks behind the
one-line errors of issue #18 (configs, devices, model shapes, sources of examples)."""

import json
import math

import pytest

from neurocompiler.augment import AugmentConfig, AugmentedLM, BackboneConfig, answer_targets
from neurocompiler.baselines import CausalLM, DirectLM
from neurocompiler.cli import one_line
from neurocompiler.datacheck import (check_lengths, check_producible, positions, unproducible,
                                     unproducible_warning)
from neurocompiler.errors import InputError
from neurocompiler.tasks import Example, load_jsonl, save_jsonl
from neurocompiler.tokenizer import build_tokenizer
from neurocompiler.train import TrainConfig, pick_device

TINY = dict(vocab_size=98, dim=16, layers=2)


def model(*functions, base=128, cells=4, kind=AugmentedLM):
    return kind(AugmentConfig(base=base, cells=cells, functions=functions, parsing="slots",
                             backbone=BackboneConfig(**TINY)))


@pytest.fixture(scope="module")
def arith():
    return model("add", "sub")


def test_augmented_answers_need_a_function_of_their_kind_and_the_heads_range(arith):
    assert arith.answer_problem(7) is None and arith.answer_problem(127) is None
    assert arith.answer_problem("66") == 'answer "66" is a string, but the functions add, sub answer integers; write it as 66'
    assert arith.answer_problem("200").endswith("answer integers")  # no hint: 200 is no value at base 128
    assert arith.answer_problem(128) == "answer 128 is outside 0..127, the values of base 128"
    assert "not an integer or a string" in arith.answer_problem(True)
    assert "not an integer or a string" in arith.answer_problem(1.5)
    strings = model("reverse", base=128, cells=4)
    assert strings.answer_problem("abcd") is None and strings.answer_problem("") is None
    assert strings.answer_problem(5) == 'answer 5 is an integer, but the functions reverse answer strings; write it as "5"'
    assert strings.answer_problem("abcde") == 'answer "abcde" has 5 characters, but the model has 4 cells'
    assert strings.answer_problem("é") == "answer \"é\" holds 'é' (code 233), but the model's values stop at 127"
    both = model("add", "reverse")
    assert both.answer_problem(5) is None and both.answer_problem("ab") is None


def test_baselines_say_what_their_heads_and_decoder_can_write():
    direct = model("add", kind=DirectLM)
    assert direct.answer_problem("66") is None and direct.answer_problem(7) is None  # a kind head picks
    assert "outside 0..127" in direct.answer_problem(300)
    causal = model("add", kind=CausalLM)
    tok = build_tokenizer("char")
    assert causal.answer_problem(300, tokenizer=tok) is None and causal.answer_problem("ab", tokenizer=tok) is None
    assert causal.answer_problem("66") == ('answer "66" is a string of digits, but this model reads such text as a '
                                           "number; write it as 66")
    assert "stripped" in causal.answer_problem(" ab")
    assert causal.answer_problem("é", tokenizer=tok) == 'answer "é" has characters this model\'s tokenizer cannot write'
    assert causal.answer_problem("a" * 30, tokenizer=tok) == ('answer "' + "a" * 30 + '" is 31 tokens long, but '
                                                             "this model writes at most 24")


def test_the_warning_and_the_error_are_one_line_each(arith, tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [
        {"question": "Add 1 and 2", "answer": 3}, {"question": "q", "answer": "sixty-six"},
        {"question": "q", "answer": 300}, {"question": "q", "answer": 4}]))
    examples = load_jsonl(path)
    assert [(i, e.source) for i, e, _ in unproducible(arith, examples)] == [(1, f"{path}:2"), (2, f"{path}:3")]
    assert unproducible_warning(arith, examples, str(path)) == (
        f'{path}: 2 of 4 answers cannot be produced by this model and will count as wrong (e.g. line 2: answer '
        f'"sixty-six" is a string, but the functions add, sub answer integers)')
    assert unproducible_warning(arith, examples[:1], str(path)) is None
    with pytest.raises(InputError, match=rf'^{path}:2: answer "sixty-six" is a string.* \(2 of 4 training answers cannot'):
        check_producible(arith, examples, str(path))
    check_producible(arith, examples[:1], str(path))  # nothing to say
    generated = [Example("q", 1), Example("q", 1000)]
    with pytest.raises(InputError, match=r"^the training set: example 2: answer 1000 is outside .* in the training set"):
        check_producible(arith, generated, "the training set")


def test_questions_longer_than_the_positions_are_refused(arith, tmp_path):
    tok = build_tokenizer("char")
    assert positions(arith) == 512
    ok = [Example("x" * 511, 1)]  # 512 with bos
    check_lengths(tok, ok, 512, "data")
    long = [Example("a", 1), Example("x" * 512, 1, source="f.jsonl:7"), Example("y" * 600, 1)]
    with pytest.raises(InputError, match=r"^f\.jsonl:7: the question is 513 tokens long \(bos included\), but the "
                                         r"model reads at most 512; 2 of 3 questions are as long \(shorten"):
        check_lengths(tok, long, 512, "data")
    with pytest.raises(InputError, match=r"^data: example 2: the question is 513 tokens"):
        check_lengths(tok, [Example("a", 1), Example("x" * 512, 1)], 512, "data")
    with pytest.raises(InputError, match=r"^ask: the question is 513 tokens long .* at most 512 \(shorten"):
        check_lengths(tok, [Example("x" * 512, 1)], 512, "ask")


def test_examples_know_their_source_which_is_neither_compared_nor_saved(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"question": "Add 1 and 2", "answer": 3}\n\n{"question": "q", "answer": "ab", "task": "t"}\n')
    a, b = load_jsonl(path)
    assert (a.source, b.source) == (f"{path}:1", f"{path}:3")
    assert a == Example("Add 1 and 2", 3, "jsonl", "") and hash(a) == hash(Example("Add 1 and 2", 3, "jsonl"))
    save_jsonl(tmp_path / "out.jsonl", [a, b])
    assert [set(json.loads(line)) for line in (tmp_path / "out.jsonl").read_text().splitlines()] == \
        [{"question", "answer", "task", "function"}] * 2


def test_answer_errors_name_where_the_answer_was_read(arith):
    with pytest.raises(InputError, match=r"^f\.jsonl:3: answer 200 is outside 0\.\.127"):
        answer_targets([1, 200], 128, 4, ["f.jsonl:2", "f.jsonl:3"])
    with pytest.raises(InputError, match=r"^example 2: answer has 5 characters, but the model has 4 cells"):
        answer_targets(["ab", "abcde"], 128, 4)
    tok = build_tokenizer("char")
    with pytest.raises(InputError, match=r"^d\.jsonl:9: answer 300"):
        arith.make_batch(tok, [Example("q", 1, source="d.jsonl:8"), Example("q", 300, source="d.jsonl:9")])


@pytest.mark.parametrize("field, value, match", [
    ("lr", math.nan, r"--lr nan"), ("lr", 0.0, r"--lr 0.0: expected a learning rate > 0"),
    ("warmup", 2.0, r"^warmup 2.0: expected a finite number 0..1"), ("backbone_lr_scale", math.inf, "^backbone_lr"),
    ("clip", -1.0, "clip"), ("epochs", 0, "--epochs 0"), ("examples", 0, "^examples 0: expected a positive integer"),
    ("device", "bogus", "--device bogus: not a device name"),
    ("device", "meta", "unsupported device type 'meta'"),
])
def test_train_config_refuses_what_the_command_line_refuses(field, value, match):
    with pytest.raises(InputError, match=match):
        TrainConfig(**{field: value})


def test_train_config_checks_the_model_numbers_too():
    # the model's selection checks its own numbers (SelectionConfig), built directly or read back
    for kw, match in ((dict(function_loss=math.inf), r"^selection\.function_loss: expected a number >= 0, got inf$"),
                      (dict(floor=math.nan), r"^selection\.floor: expected a number >= 0 and < 1, got nan$")):
        with pytest.raises(InputError, match=match):
            TrainConfig(model=AugmentConfig(selection=kw))
        with pytest.raises(InputError, match=match):
            TrainConfig.from_dict({"model": {"selection": kw}})
    TrainConfig()  # the defaults are fine, and so is a saved config read back
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()


def test_pick_device():
    assert pick_device("cpu").type == "cpu" and pick_device("auto").type in ("cpu", "cuda")
    for bad, match in (("bogus", "not a device name"), ("cuda:99", "cuda:99"), ("", "not a device name")):
        with pytest.raises(InputError, match=match):
            pick_device(bad)


@pytest.mark.parametrize("kw, match", [
    (dict(heads=3, dim=32), r"^heads 3, dim 32: the width must be a multiple of the number of heads"),
    (dict(heads=4, kv_heads=3), r"^kv_heads 3, heads 4"), (dict(heads=4, dim=12), r"even head width"),
    (dict(layers=1), r"^layers 1"), (dict(dim=0), r"^dim 0: expected a positive integer"),
    (dict(heads=0), r"^heads 0"), (dict(embedding_std=math.nan), r"^embedding_std nan"),
    (dict(max_positions=0), r"max_positions 0"),
])
def test_impossible_backbone_shapes_are_one_line(kw, match):
    with pytest.raises(InputError, match=match):
        BackboneConfig(**kw)


def test_a_checkpoint_brings_its_own_shape():
    BackboneConfig(model_path="somewhere", heads=3, dim=32)  # ignored: the checkpoint's config decides


def test_one_line_escapes_terminal_controls_and_keeps_unicode():
    assert one_line("a\x1b[31mb\x07\u202ec") == "a\\x1b[31mb\\x07\\u202ec"
    assert one_line("line one\n  line\ttwo\r\n") == "line one line two"
    assert one_line("café ✓ 数") == "café ✓ 数"
