"""Discrete quoted spans (``AugmentConfig.slots.span_candidates``): cells that copy the tokens
themselves (``slots.cell_values="token"``), K exact (start, end) parses, one machine run each,
mixed by their probabilities."""

import pytest
import torch
import torch.nn.functional as F

from neurocompiler.augment import (AugmentConfig, AugmentedLM, BackboneConfig, Parse, SlotParser, Span,
                                   answer_targets, decode_answers)
from neurocompiler.augment.config import SlotsConfig
from neurocompiler.errors import InputError
from neurocompiler.library.reference import REFERENCES
from neurocompiler.presets import preset_model
from neurocompiler.tokenizer import SPECIALS, build_tokenizer, encode, token_chars

N = 128


def test_token_chars_are_the_tokens_character_codes():
    char = build_tokenizer("char")
    chars = token_chars(char, N, 4)
    for ch in "az\"? 09":
        assert chars[char.convert_tokens_to_ids(ch)].tolist() == [ord(ch), 0, 0, 0]
    assert all(chars[char.convert_tokens_to_ids(s)].eq(0).all() for s in SPECIALS)
    assert chars[char.convert_tokens_to_ids("a")].tolist() == [97, 0, 0, 0]
    assert token_chars(char, 64, 4)[char.convert_tokens_to_ids("a")].eq(0).all()  # 97 has no value below 64
    bpe = build_tokenizer("bpe", [f'Sort the string "{w}"' for w in ("abab", "cdcd", "abcd") * 50], 300)
    chars = token_chars(bpe, N, 6)
    multi = 0
    for i in range(len(bpe)):
        text = bpe.decode([i])
        fits = 0 < len(text) <= 6 and all(0 < ord(c) < N for c in text) and i not in bpe.all_special_ids
        want = [ord(c) for c in text] + [0] * (6 - len(text)) if fits else [0] * 6
        assert chars[i].tolist() == want, repr(text)
        multi += fits and len(text) > 1
    assert multi > 0  # it has multi-character pieces, and they keep their characters


def discrete(start, end, values, K=3, C=4, training=False):
    """The parser's K discrete spans from given anchor distributions and token values."""
    parser = SlotParser(dim=8, registers=3, cells=C, n=N,
                        config=SlotsConfig(cell_values="token", list_length="span", span_candidates=K))
    parser.train(training)
    own = values if values.dim() == 3 else values[..., None]  # character codes (B, T, W)
    return parser._discrete(start, end, own, None)


def test_each_span_loads_the_tokens_between_its_anchors_and_their_count():
    values = torch.tensor([[0, 34, 100, 99, 98, 34, 0]])  # <s> " d c b " <pad-ish>
    start = torch.tensor([[0.02, 0.9, 0.02, 0.02, 0.02, 0.01, 0.01]])
    end = torch.tensor([[0.01, 0.01, 0.02, 0.06, 0.03, 0.8, 0.07]])
    slots = discrete(start, end, values)
    cells, weights = slots.cells, slots.weights
    r1 = slots.length.argmax(-1).tolist()
    got = [cells[k].argmax(-1).tolist() for k in range(3)]
    # the most probable pairs: (1, 5), (1, 6) then (1, 3); at most C = 4 tokens between
    assert r1 == [3, 4, 1]
    assert got == [[100, 99, 98, 0], [100, 99, 98, 34], [100, 0, 0, 0]]
    joint = torch.tensor([0.9 * 0.8, 0.9 * 0.07, 0.9 * 0.06])
    assert torch.allclose(weights[0], joint / joint.sum())
    assert torch.equal(cells, F.one_hot(cells.argmax(-1), N).float())  # exact cells
    assert not cells.requires_grad


def test_multi_character_tokens_fill_one_cell_per_character():
    """A BPE-like span ["dl", "i", "fdb"] loads d, l, i, f, d, b and has length 6: the
    cells hold the string, not its pieces."""
    T, W = 6, 3
    codes = torch.zeros(1, T, W, dtype=torch.long)
    for t, piece in enumerate(['"', "dl", "i", "fdb", '"', "?"]):
        codes[0, t, :len(piece)] = torch.tensor([ord(c) for c in piece])
    start = F.one_hot(torch.tensor([0]), T).float() * 0.9 + 0.1 / T
    end = F.one_hot(torch.tensor([4]), T).float() * 0.9 + 0.1 / T
    slots = discrete(start, end, codes, K=2, C=7)
    assert "".join(chr(c) for c in slots.cells[0].argmax(-1).tolist() if c) == "dlifdb"
    assert slots.length[0].argmax() == 6
    slots = discrete(start, end, codes, K=2, C=4)  # more characters than cells: the first 4
    assert "".join(chr(c) for c in slots.cells[0].argmax(-1).tolist() if c) == "dlif"


def test_sampled_spans_are_distinct_and_valid_and_vary():
    torch.manual_seed(0)
    T, C = 9, 4
    start = torch.randn(2, T).softmax(-1)
    end = torch.randn(2, T).softmax(-1)
    values = torch.arange(97, 97 + 2 * T).view(2, T)  # distinct: distinct spans load distinct cells
    seen = set()
    for _ in range(20):
        slots = discrete(start, end, values, K=5, C=C, training=True)
        cells, weights = slots.cells, slots.weights
        lengths = slots.length.argmax(-1).view(2, 5)
        assert ((lengths >= 0) & (lengths <= C)).all()
        assert torch.allclose(weights.sum(-1), torch.ones(2))
        rows = [tuple(map(tuple, cells.view(2, 5, C, N)[b].argmax(-1).tolist())) for b in range(2)]
        seen.add(rows[0])
        for b in range(2):  # a draw without replacement: distinct pairs (all empty ones look alike)
            empty = lengths[b].eq(0).sum().item()
            assert len({c for n, c in zip(lengths[b].tolist(), rows[b]) if n}) + empty == 5
    assert len(seen) > 1


def test_span_weights_gradcheck():
    torch.manual_seed(0)
    values = torch.randint(97, 123, (2, 7))

    def weights(s_logits, e_logits):
        return discrete(s_logits.softmax(-1), e_logits.softmax(-1), values, K=4).weights

    s = torch.randn(2, 7, dtype=torch.float64, requires_grad=True)
    e = torch.randn(2, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(weights, (s, e))


def test_the_answer_mixes_exact_runs_of_each_span():
    """With a hand-made parse of 2 candidates per question, the string answer's
    distribution is the weighted mixture of the two exact reversals."""
    cfg = AugmentConfig(parsing="slots", base=N, cells=5, functions=("reverse",), max_steps=200,
                        slots=SlotsConfig(cell_values="token", list_length="span", span_candidates=2),
                        backbone=BackboneConfig(vocab_size=40, dim=16, heads=2, kv_heads=1, layers=2))
    m = AugmentedLM(cfg)
    strings = [("abc", "ab"), ("dcba", "dcb")]  # per question: two candidate spans
    mem = torch.stack([F.one_hot(torch.tensor([ord(ch) for ch in s] + [0] * (5 - len(s))), N).float()
                       for pair in strings for s in pair])
    regs = torch.stack([F.one_hot(torch.tensor([len(s), 0, 0]), N).float() for pair in strings for s in pair])
    w = torch.tensor([[0.7, 0.3], [0.4, 0.6]])
    m.parse = lambda ids, mask: Parse(torch.ones(2, 1), regs, [Span(mem, w)])
    out = m(torch.zeros(2, 2, dtype=torch.long), torch.ones(2, 2, dtype=torch.long))
    p = out.str_logits.div(m.str_head.scale).exp()
    for b, pair in enumerate(strings):
        want = torch.zeros(5, N)
        for k, s in enumerate(pair):
            reg = {1: len(s)}
            _, mem_out = REFERENCES["reverse"](reg, [ord(ch) for ch in s] + [0] * (5 - len(s)), N)
            want += w[b, k] * F.one_hot(torch.tensor(mem_out[:5]), N).float()
        assert torch.allclose(p[b], want, atol=1e-5)
    assert decode_answers(m, out) == ["cba", "bcd"]


def test_model_with_spans_traces_no_gradient_through_the_machine_but_trains_the_anchors():
    tok = build_tokenizer("char")
    cfg = AugmentConfig(parsing="slots", base=N, cells=6, functions=("reverse",), max_steps=200,
                        slots={"cell_values": "token", "list_length": "span", "span_candidates": 3},
                        backbone=BackboneConfig(vocab_size=len(tok), dim=16, heads=2, kv_heads=1, layers=2))
    torch.manual_seed(0)
    m = AugmentedLM(cfg)
    m.use_tokenizer(tok)
    assert m.token_chars[tok.convert_tokens_to_ids("q")].tolist() == [ord("q")] + [0] * 5
    ids, mask = encode(tok, ['Reverse "abc"', 'Reverse the string "wxyz"'])
    out = m(ids, mask)
    assert not out.parse.memory.requires_grad and not out.parse.length.requires_grad
    m.loss(out, answer_targets(["cba", "zyxw"], N, 6)).backward()
    assert m.parser.queries.grad.abs().sum() > 0 and m.parser.key.weight.grad.abs().sum() > 0
    # what each candidate holds is a piece of the question: its characters, then 0
    for k, cells in enumerate(out.parse.memory.argmax(-1).tolist()):
        text = "".join(map(chr, cells)).split("\0")[0]
        assert text in ['Reverse "abc"', 'Reverse the string "wxyz"'][k // 3]


def test_span_candidates_need_slots():
    with pytest.raises(InputError, match="slots.span_candidates: a switch of the slots parse only"):
        AugmentConfig(parsing="pooled", slots={"span_candidates": 2})
    with pytest.raises(InputError, match="slots.span_candidates: expected an integer >= 0, got -1"):
        AugmentConfig(parsing="slots", slots={"span_candidates": -1})


def test_sorting_with_spans_learns_from_answers_and_generalises_to_longer_strings(tmp_path):
    """Scaled-down Table 2: trained on strings of 3 and 4 letters from answers alone, the
    spans parse sorts held-out strings of those lengths and of 6 letters, which it never
    saw. Chance for one exact answer is below 26^-3."""
    from neurocompiler.tasks import generate, save_jsonl
    from neurocompiler.train import TrainConfig, evaluate_run, train

    cfg = AugmentConfig(parsing="slots", base=N, cells=6, functions=("insertion_sort",), max_steps=400,
                        slots=SlotsConfig(cell_values="token", list_length="span", span_candidates=4),
                        backbone=BackboneConfig(dim=32, heads=4, kv_heads=2, layers=2))
    run = tmp_path / "sort"
    train(TrainConfig(task="sort", task_options={"lengths": (3, 4)}, examples=700, epochs=2, batch_size=16,
                      seed=0, out=str(run), model=cfg, device="cpu"), progress=False, log=lambda *_: None)
    assert evaluate_run(run)["accuracy"] >= 0.9
    save_jsonl(tmp_path / "ood.jsonl", generate("sort", 40, 123, lengths=(6,)))
    assert evaluate_run(run, str(tmp_path / "ood.jsonl"))["accuracy"] >= 0.9


def test_per_function_spans_give_each_list_function_its_own_anchors():
    """With ``per_function_spans`` each function with memory reads its list from its own
    (start, end) anchors: a loss through ``count`` alone moves count's anchor queries and
    leaves ``reverse``'s (all but) untouched; the memoryless ``add`` reads the first span. Shared,
    the one pair of anchors takes count's gradient."""
    tok = build_tokenizer("char")
    question = 'How many "a" in "abca"?'
    grads = {}
    for per_function in (True, False):
        cfg = AugmentConfig.from_dict({
            "base": N, "cells": 6, "functions": ("add", "count", "reverse"), **preset_model("copies"),
            "slots.per_function_spans": per_function, "slots.span_keys": per_function, "max_steps": 60,
            "backbone": BackboneConfig(vocab_size=len(tok), dim=16, heads=2, kv_heads=1, layers=2)})
        assert cfg.slots.per_function_spans == cfg.slots.span_keys == per_function
        torch.manual_seed(0)
        m = AugmentedLM(cfg)
        m.use_tokenizer(tok)
        with torch.no_grad():  # the selection is all but certain of `count`
            m.select.bias.copy_(torch.tensor([-30.0, 30.0, -30.0]))
        ids, mask = encode(tok, [question])
        out = m(ids, mask)
        assert len(out.parse.spans) == (2 if per_function else 1)
        assert m.span_of == ([0, 0, 1] if per_function else [0, 0, 0])
        m.loss(out, answer_targets([2], N, 6)).backward()
        R = m.parser.registers
        grads[per_function] = m.parser.queries.grad[R:].abs().sum(-1)  # per anchor: start, end (, start, end)
        if per_function:  # with span_keys, each span's own key projection: count's moves, reverse's not
            keys = m.parser.span_key.weight.grad.view(2, -1).abs().sum(-1)
            assert keys[0] > 1e-4 and keys[1] < 1e-20
        assert set(m.explain(tok, question)) >= {"memory", "registers"}
    # count's pair moves; reverse's only by its selection weight, e^-60
    assert (grads[True][:2] > 1e-4).all() and (grads[True][2:] < 1e-20).all()
    assert (grads[False] > 1e-4).all()


def test_per_function_spans_need_slots():
    with pytest.raises(InputError, match="slots.per_function_spans: a switch of the slots parse only"):
        AugmentConfig(parsing="pooled", slots={"per_function_spans": True})
    with pytest.raises(InputError, match="slots.span_keys: a switch of the slots parse only"):
        AugmentConfig(parsing="pooled", slots={"span_keys": True})


def test_several_spans_with_their_own_keys_gradcheck():
    """Two soft spans, each scored with its own key projection (``span_keys``): every span
    is a distribution over cells and lengths, and the gradient checks in float64."""
    torch.manual_seed(0)
    p = SlotParser(dim=6, registers=2, cells=3, n=8, config=SlotsConfig(span_keys=True), spans=2).double()
    with torch.no_grad():
        p.query.weight.normal_()
        p.span_key.weight.normal_()
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    z = torch.randn(2, 5, 6, dtype=torch.float64, requires_grad=True)

    def spans(z):
        out = p(z, mask, z.mean(1))
        return tuple(t for s in out.spans for t in (s.cells, s.length))

    for cells, length in zip(*[iter(spans(z))] * 2):
        assert torch.allclose(cells.sum(-1), torch.ones(2, 3, dtype=torch.float64))
        assert torch.allclose(length.sum(-1), torch.ones(2, dtype=torch.float64))
    assert not torch.allclose(spans(z)[0], spans(z)[2])  # the two spans differ
    assert torch.autograd.gradcheck(spans, (z,))
