"""Probabilistic gates (eqs. 8-9) and the 16 two-input functions in the {1, a, b, ab}
basis: truth tables on hard bits, exact probabilities on independent soft bits,
agreement between the two, gradcheck."""

import itertools

import pytest
import torch

from neurocompiler.alu.gates import (GATES16, TRUTH_TABLES, and_, coefficients, gate, mux, not_,
                                     or_, xor)

HARD = [(0, 0), (0, 1), (1, 0), (1, 1)]

EQ89 = {  # name -> (gate, truth table)
    "and": (and_, lambda a, b: a & b),
    "or": (or_, lambda a, b: a | b),
    "xor": (xor, lambda a, b: a ^ b),
}


def soft_bits(shape, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=gen, dtype=torch.float64)


def enumerate_probability(t, pa, pb):
    """P(t(A, B) = 1) for independent bits A ~ Bernoulli(pa), B ~ Bernoulli(pb)."""
    total = torch.zeros_like(pa)
    for a, b in HARD:
        weight = (pa if a else 1 - pa) * (pb if b else 1 - pb)
        total = total + weight * t(a, b)
    return total


def test_gates16_are_the_sixteen_functions_in_the_conventional_order():
    assert len(GATES16) == 16
    assert list(GATES16) == ["false", "and", "a_and_not_b", "a", "not_a_and_b", "b", "xor", "or",
                             "nor", "xnor", "not_b", "a_or_not_b", "not_a", "not_a_or_b", "nand",
                             "true"]
    tables = set()
    for k, (name, t) in enumerate(TRUTH_TABLES.items()):
        # entry k: t(1,1), t(1,0), t(0,1), t(0,0) are bits 0..3 of k
        assert [t(1, 1), t(1, 0), t(0, 1), t(0, 0)] == [(k >> s) & 1 for s in range(4)], name
        tables.add(tuple(t(a, b) for a, b in HARD))
    assert len(tables) == 16


def test_coefficients_follow_the_formula():
    for name, t in TRUTH_TABLES.items():
        c0, c1, c2, c3 = GATES16[name]
        assert c0 == t(0, 0)
        assert c1 == t(1, 0) - t(0, 0)
        assert c2 == t(0, 1) - t(0, 0)
        assert c3 == t(1, 1) - t(1, 0) - t(0, 1) + t(0, 0)
    assert coefficients(lambda a, b: a & b) == (0, 0, 0, 1)
    assert GATES16["or"] == (0, 1, 1, -1)
    assert GATES16["xor"] == (0, 1, 1, -2)


@pytest.mark.parametrize("name", list(GATES16))
def test_every_gate16_is_its_truth_table_on_hard_bits(name):
    a = torch.tensor([a for a, _ in HARD], dtype=torch.float64)
    b = torch.tensor([b for _, b in HARD], dtype=torch.float64)
    got = gate(a, b, GATES16[name])
    want = torch.tensor([TRUTH_TABLES[name](x, y) for x, y in HARD], dtype=torch.float64)
    assert torch.equal(got, want)


@pytest.mark.parametrize("name", list(GATES16))
def test_every_gate16_is_exact_on_independent_soft_bits(name):
    pa, pb = soft_bits(50, 1), soft_bits(50, 2)
    got = gate(pa, pb, GATES16[name])
    torch.testing.assert_close(got, enumerate_probability(TRUTH_TABLES[name], pa, pb),
                               atol=1e-14, rtol=0)


@pytest.mark.parametrize("name", list(EQ89))
def test_eq89_gates_on_hard_and_soft_bits(name):
    fn, t = EQ89[name]
    for a, b in HARD:
        assert fn(torch.tensor(float(a)), torch.tensor(float(b))).item() == t(a, b)
    pa, pb = soft_bits(50, 3), soft_bits(50, 4)
    torch.testing.assert_close(fn(pa, pb), enumerate_probability(t, pa, pb), atol=1e-14, rtol=0)
    torch.testing.assert_close(fn(pa, pb), gate(pa, pb, GATES16[name]), atol=1e-14, rtol=0)


def test_not_and_mux():
    for a in (0, 1):
        assert not_(torch.tensor(float(a))).item() == 1 - a
    pa, pb = soft_bits(50, 5), soft_bits(50, 6)
    torch.testing.assert_close(not_(pa), gate(pa, pb, GATES16["not_a"]), atol=1e-15, rtol=0)
    torch.testing.assert_close(not_(pb), gate(pa, pb, GATES16["not_b"]), atol=1e-15, rtol=0)
    for s, x, y in itertools.product((0, 1), repeat=3):
        got = mux(*(torch.tensor(float(v)) for v in (s, x, y))).item()
        assert got == (x if s else y)
    # independent select: P(out = 1) = P(s) P(x) + (1 - P(s)) P(y)
    ps, px, py = soft_bits(50, 7), soft_bits(50, 8), soft_bits(50, 9)
    want = torch.zeros_like(ps)
    for s, x, y in itertools.product((0, 1), repeat=3):
        w = (ps if s else 1 - ps) * (px if x else 1 - px) * (py if y else 1 - py)
        want = want + w * (x if s else y)
    torch.testing.assert_close(mux(ps, px, py), want, atol=1e-14, rtol=0)


def test_gate_accepts_coefficient_tensors():
    coeffs = torch.tensor([GATES16[name] for name in GATES16], dtype=torch.float64)  # (16, 4)
    pa, pb = soft_bits(1, 10), soft_bits(1, 11)
    got = gate(pa, pb, coeffs)  # (16,)
    want = torch.stack([gate(pa, pb, GATES16[name])[0] for name in GATES16])
    torch.testing.assert_close(got, want, atol=1e-15, rtol=0)


def test_gradcheck_gates():
    pa = (soft_bits(6, 12) * 0.8 + 0.1).requires_grad_()
    pb = (soft_bits(6, 13) * 0.8 + 0.1).requires_grad_()
    ps = (soft_bits(6, 14) * 0.8 + 0.1).requires_grad_()
    for fn in (and_, or_, xor):
        assert torch.autograd.gradcheck(fn, (pa, pb))
    assert torch.autograd.gradcheck(not_, (pa,))
    assert torch.autograd.gradcheck(mux, (ps, pa, pb))
    coeffs = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(15))
    assert torch.autograd.gradcheck(gate, (pa, pb, coeffs.requires_grad_()))
    for name in GATES16:
        assert torch.autograd.gradcheck(lambda a, b: gate(a, b, GATES16[name]), (pa, pb))
