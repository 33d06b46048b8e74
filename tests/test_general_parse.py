"""The general parse (issue #19): its units, its sampler, its exact runs and its gradients."""

from __future__ import annotations

import dataclasses
import random

import pytest
import torch

from neurocompiler.augment import AugmentConfig, AugmentedLM, BackboneConfig
from neurocompiler.augment.general import SUPPORT, Candidates, Reading, run_candidates
from neurocompiler.augment.sampler import CandidateSampler
from neurocompiler.augment.units import pack, question_units
from neurocompiler.interpreter import run as interpret
from neurocompiler.library import Library, RETURN_REGISTER
from neurocompiler.tokenizer import build_tokenizer, encode

# (question, numbers, one-character units, spans that must be among the spans) as data
UNIT_CASES = [
    ("Calculate 97 - 64.", [97, 64], ["-", "."], ["97", "97 - 64", "64."]),
    ("Reverse the word hello", [], [], ["hello", "the word hello"]),
    ("How many times does the letter a appear in the cat sat?", [], ["a", "?"], ["the cat sat", "a"]),
    ("Example: cat -> tac. Now do: planet", [], [":", ".", ":"], ["planet", "cat", "tac"]),
    ('Sort "dlifdbabejld"', [], ['"', '"'], ["dlifdbabejld", '"dlifdbabejld"']),
    ("x5 = 12, so 300 is too big", [5, 12], ["x", "5", "=", ","], ["x5", "12"]),
]


def _texts(tok, question: str) -> list[str]:
    ids = [tok.bos_token_id] + tok(question, add_special_tokens=False)["input_ids"]
    return ["" if i in tok.all_special_ids else tok.decode([i]) for i in ids]


@pytest.mark.parametrize("kind", ["char", "bpe"])
@pytest.mark.parametrize("question,numbers,chars,spans", UNIT_CASES)
def test_units_read_numbers_across_tokens_characters_and_spans(kind, question, numbers, chars, spans):
    tok = build_tokenizer(kind, [q for q, *_ in UNIT_CASES] * 5, vocab_size=300)
    u = question_units(_texts(tok, question), cells=16, base=128)
    assert [v for _, v in u.numbers] == numbers  # 300 does not fit base 128
    assert [chr(c) for _, c in u.chars] == chars
    texts = {"".join(map(chr, codes)) for _, _, codes in u.spans}
    assert set(spans) <= texts
    assert all(t == t.strip() and 1 <= len(t) <= 16 for t in texts)  # whole units, no blank at an edge
    assert not any(t.endswith("hel") or t.startswith("ello") for t in texts)  # never half a unit


def test_pack_pads_and_marks():
    tok = build_tokenizer("char")
    units = [question_units(_texts(tok, q), 16, 128) for q in ("add 3 and 4", "no numbers")]
    items = pack(units, 16, torch.device("cpu"))
    assert items.number_ok.tolist() == [[True, True], [False, False]]
    assert items.number_value[0].tolist() == [3, 4]
    assert items.span_len[items.span_ok].min() >= 1


# (question, span, the text of the first non-blank token after it ("" where the question ends), shape)
FOLLOW_CASES = [
    ("How many a in the cat sat? Go", "the cat sat", "?", (3, 0)),
    ("Count the a's: the cat sat", "the cat sat", "", (3, 0)),
    ("Example: cat -> tac. Now", "cat -> tac.", "N", (4, 2)),
    ("x5 = 12", "x5", "=", (2, 0)),
]


@pytest.mark.parametrize("question,span,after,shape", FOLLOW_CASES)
def test_units_know_what_follows_each_reading_and_each_span_shape(question, span, after, shape):
    tok = build_tokenizer("char")
    texts = _texts(tok, question)
    u = question_units(texts, cells=16, base=128)
    (first, last, codes), got = next((s, sh) for s, sh in zip(u.spans, u.shapes)
                                     if "".join(map(chr, s[2])) == span)
    nxt = u.follows[last]
    assert (texts[nxt][:1] if nxt >= 0 else "") == after
    assert got == shape
    assert all(u.follows[t] == -1 or (u.follows[t] > t and texts[u.follows[t]].strip()) for t in range(len(texts)))
    items = pack([u], 16, torch.device("cpu"))
    j = u.spans.index((first, last, codes))
    assert int(items.span_next[0, j]) == nxt and tuple(items.span_units[0, j:j + 1].tolist()) == (shape[0],)


def test_numbers_read_shifted_by_their_words_and_shifts_stay_in_range():
    from neurocompiler.augment.numbers import OFFSETS, NumberReader

    tok = build_tokenizer("char")
    u = question_units(_texts(tok, "Give the 1st and 127th term"), cells=16, base=128)
    items = pack([u], 16, torch.device("cpu"))
    reader = NumberReader(8, 1, 128)
    nums, _ = reader(torch.randn(1, len(_texts(tok, "Give the 1st and 127th term")), 8), torch.zeros(1, 8), items)
    shifts = 2 * OFFSETS + 1
    assert nums.shape == (1, 1, 2 * shifts)
    values = reader.value(items, torch.arange(2 * shifts)[None])[0].tolist()
    assert values == [v + d for v in (1, 127) for d in range(-OFFSETS, OFFSETS + 1)]
    fits = torch.isfinite(nums[0, 0]).tolist()
    assert fits == [0 <= v < 128 for v in values]  # 1 - 2 and 127 + 1 are no options
    p = nums[0, 0].log_softmax(-1).exp()
    assert p[OFFSETS] > 0.5 * p[:shifts].sum()  # a number starts as itself


def test_the_last_scalar_is_enumerated_in_training_only():
    s = CandidateSampler(2)
    logits = torch.tensor([[[0.0, 1.0, float("-inf")], [2.0, 0.0, 1.0]]])  # (B=1, K=2, O=3)
    every = s.every(logits, training=True, most=16)
    assert every.index.shape == (1, 2, 3)
    assert every.ok.tolist() == [[[True, True, False], [True, True, True]]]
    assert torch.allclose(every.logp[0, 1].exp().sum(), torch.tensor(1.0))
    assert s.every(logits, training=False, most=16).index.tolist() == [[[1], [0]]]


def test_sampler_draws_distinct_options_and_the_argmax_in_evaluation():
    logits = torch.tensor([[0.0, 2.0, float("-inf"), 1.0]])
    s = CandidateSampler(4)
    top = s.top(logits, training=True)
    assert top.ok.tolist() == [[True, True, True, False]]  # 3 options, 4 candidates
    assert sorted(top.index[0, :3].tolist()) == [0, 1, 3]
    assert torch.allclose(top.logp[0, :3].exp().sum(), torch.tensor(1.0))
    assert s.top(logits, training=False).index.tolist() == [[1]]


def test_the_proposal_mixes_in_the_prior_in_training_only():
    """A parse the model is sure against is still drawn (EXPLORE of the draws come from
    the prior); its weight stays the model's probability."""
    from neurocompiler.augment.sampler import EXPLORE

    s = CandidateSampler(1)
    logits = torch.tensor([[30.0, 0.0, float("-inf")]])  # option 1: e^-30 by the model
    prior = torch.zeros(1, 3)
    torch.manual_seed(0)
    drawn = [s.top(logits, True, 1, prior=prior) for _ in range(4000)]
    share = sum(int(c.index[0, 0]) == 1 for c in drawn) / len(drawn)
    assert abs(share - EXPLORE / 2) < 0.02, share  # the prior's half of EXPLORE; never option 2
    assert all(c.ok.all() and int(c.index[0, 0]) != 2 for c in drawn)
    one = next(c for c in drawn if int(c.index[0, 0]) == 1)
    assert torch.allclose(one.logp, logits.log_softmax(-1)[0, 1])  # the model's, not the proposal's
    assert torch.allclose(one.logq.exp(), torch.tensor(EXPLORE / 2), rtol=1e-3)
    assert torch.equal(s.proposal(logits.log_softmax(-1), prior, training=False), logits.log_softmax(-1))


def test_the_beam_keeps_the_best_joint_parses_without_replacement():
    s = CandidateSampler(4)
    inf = float("-inf")
    prefix = torch.tensor([[0.0, -20.0]])  # a confident first slot, and an unlikely second prefix
    logits = torch.tensor([[[0.0, 0.1, 0.2, inf], [5.0, 0.0, 0.0, 0.0]]])  # (B=1, W=2, O=4)
    for _ in range(20):
        parent, pick = s.beam(prefix, logits, training=True, width=4)
        pairs = list(zip(parent[0].tolist(), pick.index[0].tolist(), pick.ok[0].tolist()))
        assert len(set(pairs)) == 4  # distinct joint parses
        assert sorted(p[:2] for p in pairs if p[0] == 0) == [(0, 0), (0, 1), (0, 2)]  # all the first prefix's options
    parent, pick = s.beam(prefix, logits, training=False, width=1)
    assert (parent.item(), pick.index.item()) == (0, 2)  # the joint argmax
    assert torch.allclose(pick.logp, logits[0, 0].log_softmax(-1)[2])  # the option's own log-probability
    parent, none = s.beam(torch.full((1, 2), inf), logits, training=True, width=3)
    assert not none.ok.any() and torch.isfinite(none.logp).all()
    parent, few = s.beam(torch.zeros(1, 1), logits[:, :1], training=True, width=5)
    assert few.ok.tolist() == [[True, True, True, False, False]]  # 3 options for 5 candidates


def _library(functions=("add", "sub", "count", "fib", "insertion_sort")):
    from neurocompiler.config import MachineConfig

    return Library(MachineConfig(base=64, memory=8), functions)


@pytest.mark.parametrize("seed", range(3))
def test_exact_candidates_agree_with_the_interpreter(seed):
    """Exact readings: the mixed runs are the interpreter's results, weighted."""
    lib = _library()
    rng = random.Random(seed)
    B, K = 3, 2
    for i, name in enumerate(lib.functions):
        regs = torch.zeros(B * K, lib.config.registers, dtype=torch.long)
        regs[:, 1:4] = torch.tensor([[rng.randrange(1, 5) for _ in range(3)] for _ in range(B * K)])
        mem = torch.tensor([[rng.randrange(1, 64) for _ in range(8)] for _ in range(B * K)])
        weights = torch.rand(B, K).softmax(-1)
        c = Candidates(regs, mem, [], weights)
        runs = run_candidates(lib, [c] * len(lib.functions), max_steps=500, exact=True)[i]
        for b in range(B):
            want = torch.zeros(64)
            for k in range(K):
                R = regs[b * K + k].tolist()
                R[RETURN_REGISTER] = 63
                program = dataclasses.replace(lib.program, entry=int(lib.entries[i]))
                out = interpret(program, R, mem[b * K + k].tolist(), max_steps=500)
                want[out.registers[0]] += weights[b, k]
            assert torch.allclose(runs.r0[b], want, atol=1e-6), name


def test_a_context_reading_is_marginalised_and_its_gradient_is_exact():
    """add(r1 from context, r2 = 3): the answer's probability is the context's at
    answer - 3 (within the SUPPORT most probable values), and so is its gradient."""
    lib = _library(("add",))
    n = lib.config.base
    logits = torch.randn(1, n, dtype=torch.float64, requires_grad=True)
    regs = torch.zeros(1, lib.config.registers, dtype=torch.long)
    regs[0, 2] = 3
    probs = logits.softmax(-1)
    c = Candidates(regs, torch.zeros(1, 8, dtype=torch.long), [Reading(1, torch.tensor([True]), probs, probs.log())],
                   torch.ones(1, 1, dtype=torch.float64))
    runs = run_candidates(lib, [c], max_steps=10, exact=True)[0]
    p = logits.softmax(-1)[0]
    top = p.topk(SUPPORT).indices
    want = torch.zeros(n, dtype=torch.float64).index_add(0, (top + 3) % n, p[top])
    assert torch.allclose(runs.r0[0], want)
    answer = int((top[0] + 3) % n)
    (got,) = torch.autograd.grad(runs.r0[0, answer], logits)
    (want_grad,) = torch.autograd.grad(logits.softmax(-1)[0, top[0]], logits)
    assert torch.allclose(got, want_grad)


def test_the_keys_pick_which_context_values_run():
    """In training the keys are a draw (Gumbel top-k): a value the reading ranks low still
    runs when its key is high, with its own probability as weight."""
    lib = _library(("add",))
    n = lib.config.base
    probs = torch.full((1, n), 1.0 / n, dtype=torch.float64)
    keys = torch.zeros(1, n, dtype=torch.float64)
    keys[0, :SUPPORT] = -1.0  # the keys skip the first SUPPORT values
    regs = torch.zeros(1, lib.config.registers, dtype=torch.long)
    c = Candidates(regs, torch.zeros(1, 8, dtype=torch.long), [Reading(1, torch.tensor([True]), probs, keys)],
                   torch.ones(1, 1, dtype=torch.float64))
    r0 = run_candidates(lib, [c], max_steps=10, exact=True)[0].r0[0]
    assert (r0[:SUPPORT] == 0).all() and torch.allclose(r0.sum(), torch.tensor(SUPPORT / n, dtype=torch.float64))
    sampler = CandidateSampler(4)
    assert torch.equal(sampler.keys(probs.log(), training=False), probs.log())
    assert not torch.equal(sampler.keys(probs.log(), training=True), probs.log())


def test_gradcheck_through_the_candidate_weights():
    lib = _library(("sub",))
    regs = torch.zeros(2, lib.config.registers, dtype=torch.long)
    regs[:, 1], regs[:, 2] = torch.tensor([9, 5]), torch.tensor([4, 5])
    mem = torch.zeros(2, 8, dtype=torch.long)

    def f(logp):
        c = Candidates(regs, mem, [], logp.softmax(-1))
        return run_candidates(lib, [c], max_steps=10, exact=True)[0].r0

    assert torch.autograd.gradcheck(f, (torch.randn(1, 2, dtype=torch.float64, requires_grad=True),))


def test_the_model_explains_a_parse_and_every_function_answers_in_its_own_kind():
    tok = build_tokenizer("char")
    cfg = AugmentConfig(base=128, cells=16, functions=("add", "reverse"), parsing="general", max_steps=200,
                        backbone=BackboneConfig(vocab_size=len(tok), dim=16, layers=2, heads=2, kv_heads=1))
    m = AugmentedLM(cfg)
    m.use_tokenizer(tok)
    m.eval()
    x = m.explain(tok, "What is 12 + 30?")
    assert x["program"] in ("add", "reverse") and set(x) >= {"registers", "memory", "confidence", "p_program"}
    out = m(*encode(tok, ["What is 12 + 30?", "Reverse abc"]))
    assert torch.isfinite(out.int_logits).all() and torch.isfinite(out.str_logits).all()


def test_training_candidates_grow_with_the_choices_a_parse_samples():
    """In training: K per sampled choice (add samples one operand, fib two seeds, count a
    span), the last scalar enumerated under each; in evaluation one parse each."""
    tok = build_tokenizer("char")
    cfg = AugmentConfig(base=128, cells=16, functions=("add", "fib", "count", "reverse"), parsing="general",
                        max_steps=200, candidates=3,
                        backbone=BackboneConfig(vocab_size=len(tok), dim=16, layers=2, heads=2, kv_heads=1))
    m = AugmentedLM(cfg)
    m.use_tokenizer(tok)
    ids, mask = encode(tok, ["Day 1: 3. Day 2: 5. What is the count of a in 'banana' on day 6?"])
    m.train()
    widths = [c.weights.shape[1] for c in m.parse(ids, mask).candidates]
    options = m.items(ids, mask).number_ok.sum() * 5 + m.items(ids, mask).char_ok.sum() + 1
    E = min(16, int(options))
    assert widths == [3 * E, 6 * E, 3 * E, 3]
    m.eval()
    assert [c.weights.shape[1] for c in m.parse(ids, mask).candidates] == [1, 1, 1, 1]


def test_a_scalar_picks_a_kind_then_an_option_so_symbols_do_not_swamp_the_numbers():
    """At the start a number gets its kind's mass whatever the count of one-character
    units beside it: "add 3 and 4" and a question full of symbols alike."""
    from neurocompiler.augment.general import CONTEXT_PRIOR, GeneralParser
    from neurocompiler.library import load_specs

    tok = build_tokenizer("char")
    specs = load_specs()
    parser = GeneralParser.build(8, 128, [specs["add"]], candidates=4, registers=4)
    want = torch.tensor([0.0, 0.0, CONTEXT_PRIOR]).softmax(-1)
    for question in ("add 3 and 4", "F(0)=3, F(1)=4, F(k)=F(k-1)+F(k-2). F(5)=?"):
        texts = _texts(tok, question)
        items = pack([question_units(texts, 16, 128)], 16, torch.device("cpu"))
        scalars, prior, N, Q = parser.scalar_options(torch.randn(1, len(texts), 8), torch.randn(1, 8), items)
        p = scalars[0].exp()  # (slots, options)
        assert Q >= (2 if question.startswith("add") else 20)
        got = torch.stack([p[:, :N].sum(-1), p[:, N:N + Q].sum(-1), p[:, N + Q:].sum(-1)], -1)
        assert torch.allclose(got, want.expand_as(got), atol=1e-5), (question, got)
        q = prior[0].exp()  # the sampler's prior: a third per kind, then uniform within it
        assert torch.allclose(q[:, N + Q], torch.tensor(1 / 3)) and torch.allclose(q[:, N:N + Q], q[:, N:N + 1])
        assert torch.allclose(q.sum(-1), torch.tensor(1.0)) and torch.equal(torch.isinf(prior), torch.isinf(scalars))
