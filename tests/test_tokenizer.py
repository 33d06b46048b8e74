import json
import random
import re

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

from neurocompiler.errors import InputError
from neurocompiler.tokenizer import (TOKENIZER_KINDS, build_tokenizer, encode, load_tokenizer,
                                     save_tokenizer)

LETTERS = "abcdefghijkl"


def sort_questions(n: int = 300, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [f'Sort the string "{"".join(rng.choice(LETTERS) for _ in range(rng.randint(6, 12)))}"'
            for _ in range(n)]


@pytest.fixture(scope="module")
def char():
    return build_tokenizer("char")


@pytest.fixture(scope="module")
def bpe():
    return build_tokenizer("bpe", sort_questions(), vocab_size=400)


def test_kinds_are_fast_tokenizers_with_specials(char, bpe):
    assert TOKENIZER_KINDS == ("char", "bpe", "bpe-numbers")
    for tok in (char, bpe, build_tokenizer("bpe-numbers", sort_questions(), vocab_size=400)):
        assert isinstance(tok, PreTrainedTokenizerFast)
        assert (tok.pad_token, tok.unk_token, tok.bos_token) == ("<pad>", "<unk>", "<s>")
        assert (tok.pad_token_id, tok.unk_token_id, tok.bos_token_id) == (0, 1, 2)
    assert len(char) == 3 + 95


def test_char_is_one_token_per_character_and_round_trips(char):
    assert char("a b", add_special_tokens=False)["input_ids"] == [
        char.convert_tokens_to_ids(c) for c in "a b"]
    text = 'Sort the string "dlifdbabejld" ,  . ~{}<s>'
    ids = char(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    assert len(ids) == len(text)
    assert char.convert_ids_to_tokens(ids) == list(text)
    assert char.decode(ids) == text


def test_char_unknown_characters_map_to_unk_one_each(char):
    ids = char("é\n\n😀a", add_special_tokens=False)["input_ids"]
    assert ids == [char.unk_token_id] * 4 + [char.convert_tokens_to_ids("a")]


def test_char_ignores_texts():
    assert build_tokenizer("char", ["xyz"], vocab_size=5).get_vocab() == build_tokenizer("char").get_vocab()


def test_bpe_splits_quoted_strings_into_multichar_tokens(bpe, char):
    text = 'Sort the string "dlifdbabejld"'
    ids = bpe(text, add_special_tokens=False)["input_ids"]
    pieces = bpe.convert_ids_to_tokens(ids)
    inner = pieces[pieces.index('Ġ"') + 1:-1]  # the tokens of dlifdbabejld
    assert "".join(inner) == "dlifdbabejld"
    assert any(len(p) > 1 for p in inner) and len(inner) < 12
    assert len(ids) < len(char(text, add_special_tokens=False)["input_ids"])
    assert bpe.decode(ids) == text
    assert bpe.decode(bpe("é\n <s>", add_special_tokens=False, split_special_tokens=True)["input_ids"]) == "é\n <s>"
    assert len(bpe) <= 400


def test_bpe_is_deterministic(bpe):
    again = build_tokenizer("bpe", sort_questions(), vocab_size=400)
    assert again.backend_tokenizer.to_str() == bpe.backend_tokenizer.to_str()


@pytest.mark.parametrize("texts", [None, [], ["", ""], "Sort the string"])
def test_bpe_needs_texts(texts):
    with pytest.raises(InputError, match="texts"):
        build_tokenizer("bpe", texts)


def test_build_errors():
    with pytest.raises(InputError, match="unknown tokenizer kind 'word'"):
        build_tokenizer("word")
    with pytest.raises(InputError, match="vocab_size"):
        build_tokenizer("bpe", sort_questions(10), vocab_size=100)


@pytest.mark.parametrize("kind", TOKENIZER_KINDS)
def test_save_load_round_trip(kind, char, bpe, tmp_path):
    tok = {"char": char, "bpe": bpe}.get(kind) or build_tokenizer(kind, sort_questions(), vocab_size=400)
    save_tokenizer(tok, tmp_path / "run")
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"tokenizer.json", "tokenizer_config.json"} <= names
    assert not any(n.startswith(".tokenizer-") for n in names)  # scratch dir cleaned up
    # A run dir also holds the model's own config.json; it must not confuse the loader.
    (tmp_path / "run" / "config.json").write_text(json.dumps({"d_model": 64}))
    loaded = load_tokenizer(tmp_path / "run")
    texts = sort_questions(20, seed=1) + ["é <s> x", ""]
    for a, b in zip(encode(tok, texts), encode(loaded, texts)):
        assert torch.equal(a, b)
    assert loaded("ab")["input_ids"][0] == loaded.bos_token_id


def tiny_llama_style(tmp_path):
    """A checkpoint-style tokenizer like LLaMA 3.2's: bos/eos, no pad, bos added by the post-processor."""
    vocab = {"<|begin_of_text|>": 0, "<|end_of_text|>": 1, **{c: i + 2 for i, c in enumerate("abcĠ")}}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", 0)])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>",
                                 eos_token="<|end_of_text|>")
    hf.save_pretrained(tmp_path)
    return tmp_path


def test_checkpoint_tokenizer_gets_eos_as_pad(tmp_path):
    tok = load_tokenizer(tiny_llama_style(tmp_path))
    assert tok.pad_token == "<|end_of_text|>" and tok.pad_token_id == 1
    ids, mask = encode(tok, ["ab c", "a"])
    assert ids.tolist() == [[0, 2, 3, 5, 4], [0, 2, 1, 1, 1]]  # one bos, not two
    assert mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]


def test_encode_pads_right_with_mask(char):
    ids, mask = encode(char, ["abc", "", "a"], max_length=4)
    assert ids.dtype == mask.dtype == torch.long and ids.shape == mask.shape == (3, 4)
    a, b, c = (char.convert_tokens_to_ids(x) for x in "abc")
    assert ids.tolist() == [[2, a, b, c], [2, 0, 0, 0], [2, a, 0, 0]]
    assert mask.tolist() == [[1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0]]
    ids, mask = encode(char, [])
    assert ids.shape == mask.shape == (0, 0)


def test_encode_errors(char):
    with pytest.raises(InputError, match="text 1 is 6 tokens long, more than max_length 5"):
        encode(char, ["abcd", "abcde"], max_length=5)
    with pytest.raises(InputError, match="list of texts"):
        encode(char, "abc")
    with pytest.raises(InputError, match="text 0 is a int"):
        encode(char, [3])


def test_load_errors(tmp_path):
    with pytest.raises(InputError, match=re.escape(f"no tokenizer directory at {tmp_path / 'nope'}")):
        load_tokenizer(tmp_path / "nope")
    with pytest.raises(InputError, match=re.escape(f"no tokenizer in {tmp_path} (neither")):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(InputError, match=re.escape(f"cannot load a tokenizer from {tmp_path}: ")) as info:
        load_tokenizer(tmp_path)
    assert "\n" not in str(info.value)


def test_save_into_a_file_is_an_input_error(char, tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match=re.escape(f"cannot save the tokenizer to {tmp_path / 'f'}")):
        save_tokenizer(char, tmp_path / "f")
