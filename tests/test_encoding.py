"""Binary <-> one-hot conversions (Appendix B): exact on hard values both ways, mass
one, the product of bit marginals for any distribution, exact round trips for product
distributions, gradcheck."""

import itertools

import pytest
import torch
import torch.nn.functional as F

from neurocompiler.alu.encoding import (bit_patterns, bits_to_ints, bits_to_onehot, ints_to_bits,
                                        onehot_to_bits, word_bits)

BITS = [1, 2, 3, 4]


def gen(seed):
    return torch.Generator().manual_seed(seed)


def marginal_product(p, b):
    """Product of p's own bit marginals, by enumeration of values and bits."""
    n = 2 ** b
    marg = [sum(p[..., v] for v in range(n) if (v >> i) & 1) for i in range(b)]
    out = torch.zeros_like(p)
    for v in range(n):
        term = torch.ones_like(p[..., 0])
        for i in range(b):
            term = term * (marg[i] if (v >> i) & 1 else 1 - marg[i])
        out[..., v] = term
    return out


@pytest.mark.parametrize("b", BITS)
def test_bit_patterns_little_endian(b):
    pat = bit_patterns(b)
    assert pat.shape == (2 ** b, b)
    for v in range(2 ** b):
        assert pat[v].tolist() == [float((v >> i) & 1) for i in range(b)]
        assert sum(int(x) << i for i, x in enumerate(pat[v].tolist())) == v
    assert bit_patterns(b) is pat  # cached
    assert bit_patterns(b, torch.float64).dtype == torch.float64


def test_paper_two_bit_example():
    q = torch.tensor([0.3, 0.8], dtype=torch.float64)  # b0, b1
    b0, b1 = q
    want = torch.stack([(1 - b1) * (1 - b0), (1 - b1) * b0, b1 * (1 - b0), b1 * b0])
    torch.testing.assert_close(bits_to_onehot(q), want, atol=1e-15, rtol=0)


@pytest.mark.parametrize("b", BITS)
def test_exact_on_every_hard_value_both_ways(b):
    n = 2 ** b
    values = torch.arange(n)
    onehot = F.one_hot(values, n).double()
    bits = torch.tensor([[(v >> i) & 1 for i in range(b)] for v in range(n)], dtype=torch.float64)
    assert torch.equal(onehot_to_bits(onehot), bits)
    assert torch.equal(bits_to_onehot(bits), onehot)
    assert torch.equal(ints_to_bits(values, b, torch.float64), bits)
    assert torch.equal(bits_to_ints(bits), values)


@pytest.mark.parametrize("b", BITS)
def test_bits_to_onehot_sums_to_one(b):
    q = torch.rand(20, b, generator=gen(b), dtype=torch.float64)
    p = bits_to_onehot(q)
    assert p.shape == (20, 2 ** b)
    assert (p >= 0).all()
    torch.testing.assert_close(p.sum(-1), torch.ones(20, dtype=torch.float64), atol=1e-14, rtol=0)


@pytest.mark.parametrize("b", BITS)
def test_onehot_to_bits_gives_marginals_and_round_trip_gives_their_product(b):
    n = 2 ** b
    p = torch.softmax(torch.randn(10, n, generator=gen(10 + b), dtype=torch.float64) * 2, -1)
    q = onehot_to_bits(p)
    for i in range(b):  # P(bit i = 1) by enumeration
        want = sum(p[:, v] for v in range(n) if (v >> i) & 1)
        torch.testing.assert_close(q[:, i], want, atol=1e-14, rtol=0)
    torch.testing.assert_close(bits_to_onehot(q), marginal_product(p, b), atol=1e-14, rtol=0)


@pytest.mark.parametrize("b", BITS)
def test_product_distributions_round_trip_exactly(b):
    q = torch.rand(10, b, generator=gen(20 + b), dtype=torch.float64)
    p = torch.ones(10, 2 ** b, dtype=torch.float64)  # P(v) = prod_i P(bit i = v_i), enumerated
    for v, i in itertools.product(range(2 ** b), range(b)):
        p[:, v] *= q[:, i] if (v >> i) & 1 else 1 - q[:, i]
    torch.testing.assert_close(bits_to_onehot(q), p, atol=1e-15, rtol=0)
    torch.testing.assert_close(onehot_to_bits(p), q, atol=1e-14, rtol=0)
    torch.testing.assert_close(bits_to_onehot(onehot_to_bits(p)), p, atol=1e-14, rtol=0)


def test_batch_dimensions_are_kept():
    q = torch.rand(2, 3, 4, generator=gen(30), dtype=torch.float64)
    p = bits_to_onehot(q)
    assert p.shape == (2, 3, 16)
    torch.testing.assert_close(onehot_to_bits(p), q, atol=1e-14, rtol=0)


def test_width_must_be_a_power_of_two():
    assert word_bits(16) == 4
    for bad in (0, 1, 3, 12):
        with pytest.raises(ValueError, match="power of two"):
            word_bits(bad)
    with pytest.raises(ValueError, match="power of two"):
        onehot_to_bits(torch.ones(2, 12))


def test_gradcheck_both_directions():
    q = (torch.rand(3, 3, generator=gen(40), dtype=torch.float64) * 0.8 + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(bits_to_onehot, (q,))
    p = torch.softmax(torch.randn(3, 8, generator=gen(41), dtype=torch.float64), -1).requires_grad_()
    assert torch.autograd.gradcheck(onehot_to_bits, (p,))
    assert torch.autograd.gradcheck(lambda p: bits_to_onehot(onehot_to_bits(p)), (p,))
