"""The circuit ALU and the exact ALU behind the ALU interface: equal to the lookup table
on every one-hot pair (values, and for the exact ALU gradients too), sound on soft
inputs (mass, finiteness, gradcheck), skipping inactive opcodes, wide words through
``forward_bits``, and ``ExactALU.compute`` against the opcode table."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neurocompiler.alu import TableALU
from neurocompiler.alu.circuit import CircuitALU
from neurocompiler.alu.circuits import CIRCUITS
from neurocompiler.alu.encoding import bits_to_ints, bits_to_onehot, ints_to_bits
from neurocompiler.alu.exact import ExactALU
from neurocompiler.isa import ALU_NAMES, alu_result

N_OPS = len(ALU_NAMES)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def every_pair(n, dtype=torch.float64):
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    i, j = i.reshape(-1), j.reshape(-1)
    return i, j, F.one_hot(i, n).to(dtype), F.one_hot(j, n).to(dtype)


def soft(batch, n, seed, dtype=torch.float64):
    return torch.softmax(torch.randn(batch, n, generator=gen(seed), dtype=dtype) * 2, -1)


def weights(batch, seed, dtype=torch.float64):
    return torch.softmax(torch.randn(batch, N_OPS, generator=gen(seed), dtype=dtype), -1)


# --- one-hot inputs: values equal the lookup table's ------------------------------------

@pytest.mark.parametrize("kind", ["circuit", "exact"])
def test_equal_to_table_on_every_one_hot_pair(kind):
    n = 16
    alu = CircuitALU(n) if kind == "circuit" else ExactALU(n)
    table = TableALU(n)
    i, j, a, b = every_pair(n)
    for name in ALU_NAMES:
        want = table.op_output(name, a, b)
        assert torch.equal(alu.op_output(name, a, b), want), name
        assert torch.equal(want.argmax(-1), torch.tensor([alu_result(name, x, y, n)
                                                          for x, y in zip(i.tolist(), j.tolist())]))
    w = weights(len(i), 1)  # mixtures, linear in op_probs
    torch.testing.assert_close(alu(w, a, b), table(w, a, b), atol=1e-15, rtol=0)


def test_exact_gradients_equal_table_gradients_on_one_hot_inputs():
    n = 16
    exact, table = ExactALU(n), TableALU(n)
    _, _, a0, b0 = every_pair(n)
    g = torch.randn(a0.shape, generator=gen(2), dtype=torch.float64)
    for w0 in [weights(len(a0), 3)] + [F.one_hot(torch.full((len(a0),), o), N_OPS).double()
                                        for o in range(N_OPS)]:
        grads = []
        for alu in (exact, table):
            w, a, b = (t.clone().requires_grad_() for t in (w0, a0, b0))
            out = alu(w, a, b)
            (out * g).sum().backward()
            grads.append((out.detach(), w.grad, a.grad, b.grad))
        for got, want, what in zip(*grads, ("out", "op_probs", "a", "b")):
            torch.testing.assert_close(got, want, atol=1e-15, rtol=0, msg=what)


# --- CircuitALU on soft inputs --------------------------------------------------------

def test_circuit_soft_inputs_conserve_mass_and_stay_finite():
    n = 8
    alu = CircuitALU(n)
    a, b = soft(5, n, 4), soft(5, n, 5)
    for name in ALU_NAMES:
        out = alu.op_output(name, a, b)
        assert torch.isfinite(out).all() and (out >= 0).all(), name
        torch.testing.assert_close(out.sum(-1), torch.ones(5, dtype=a.dtype), atol=1e-13, rtol=0)
    w = weights(5, 6)
    out = alu(w, a, b)
    torch.testing.assert_close(out.sum(-1), torch.ones(5, dtype=a.dtype), atol=1e-13, rtol=0)
    # sub-distributions: the mass is sum(w) sum(a) sum(b), as the lookup table's
    w2, a2, b2 = w * 0.5, a * 0.8, b * 0.3
    torch.testing.assert_close(alu(w2, a2, b2).sum(-1), TableALU(n)(w2, a2, b2).sum(-1),
                               atol=1e-13, rtol=0)
    torch.testing.assert_close(alu(w2, a2, b2), alu(w, a, b) * (0.5 * 0.8 * 0.3), atol=1e-14, rtol=0)


def test_circuit_zero_operand_gives_zero_and_finite_gradients():
    alu = CircuitALU(8)
    w = weights(2, 7).requires_grad_()
    a = torch.zeros(2, 8, dtype=torch.float64, requires_grad=True)
    b = soft(2, 8, 8).requires_grad_()
    out = alu(w, a, b)
    assert not out.any()
    out.sum().backward()
    assert all(torch.isfinite(t.grad).all() for t in (w, a, b))


def test_circuit_gradcheck_base_8():
    alu = CircuitALU(8)
    w, a, b = weights(2, 9), soft(2, 8, 10), soft(2, 8, 11)
    assert torch.autograd.gradcheck(alu, tuple(t.requires_grad_() for t in (w, a, b)))


def test_circuit_exact_on_independent_bits_for_copy_and_eq():
    """Operands that are products of independent bits: copy and eq are exact (the
    documented caveat: the other circuits approximate)."""
    n = 16
    alu, table = CircuitALU(n), TableALU(n)
    a = bits_to_onehot(torch.rand(4, 4, generator=gen(12), dtype=torch.float64))
    b = bits_to_onehot(torch.rand(4, 4, generator=gen(13), dtype=torch.float64))
    for name in ("copy", "eq"):
        torch.testing.assert_close(alu.op_output(name, a, b), table.op_output(name, a, b),
                                   atol=1e-14, rtol=0, msg=name)


# --- interface details ------------------------------------------------------------------

def test_circuit_base_must_be_a_power_of_two():
    for bad in (12, 1, 0, 100):
        with pytest.raises(ValueError, match="power of two"):
            CircuitALU(bad)
    with pytest.raises(ValueError, match="no circuit"):
        CircuitALU(8, ops=("add", "frobnicate"))


def test_circuit_table_is_only_the_bit_patterns():
    alu = CircuitALU(256)
    assert alu.table_bytes() == 256 * 8 * 4  # the (n, log2 n) float32 bit patterns
    assert all(buf.shape == (256, 8) for buf in alu.buffers())


@pytest.mark.parametrize("kind", ["circuit", "exact"])
def test_inactive_ops_are_skipped(kind, monkeypatch):
    n = 16
    alu = CircuitALU(n) if kind == "circuit" else ExactALU(n)
    a, b = soft(3, n, 14), soft(3, n, 15)
    w = torch.zeros(3, N_OPS, dtype=torch.float64)
    w[:, ALU_NAMES.index("add")] = 0.25
    w[:, ALU_NAMES.index("div")] = 0.75
    active = [name in ("add", "div") for name in ALU_NAMES]
    full = alu(w, a, b)

    def boom(*args):
        raise AssertionError("an inactive opcode was computed")

    if kind == "circuit":
        monkeypatch.setitem(CIRCUITS, "mul", boom)
    else:
        real = ExactALU.compute
        monkeypatch.setattr(ExactALU, "compute", staticmethod(
            lambda name, x, y, n: boom() if name == "mul" else real(name, x, y, n)))
    torch.testing.assert_close(alu(w, a, b, active=active), full, atol=1e-15, rtol=0)
    assert not alu(w, a, b, active=[False] * N_OPS).any()


def test_circuit_converts_each_operand_once_per_call():
    alu = CircuitALU(16)
    calls = []
    real = alu._to_bits
    alu._to_bits = lambda p: calls.append(1) or real(p)
    alu(weights(2, 16), soft(2, 16, 17), soft(2, 16, 18))
    assert len(calls) == 2


def test_forward_bits_on_32_bit_words_matches_exact_compute():
    b, per_op = 32, 200
    alu = CircuitALU(2, ops=ALU_NAMES)  # the base only matters for one-hot use
    rng = np.random.default_rng(19)
    batch = per_op * N_OPS
    x = torch.from_numpy(rng.integers(0, 2 ** b, batch, dtype=np.int64))
    y = torch.from_numpy(rng.integers(0, 2 ** b, batch, dtype=np.int64))
    y[:N_OPS] = 0
    ops = torch.arange(batch) % N_OPS  # row r runs opcode r mod 13
    w = F.one_hot(ops, N_OPS).float()
    out = alu.forward_bits(w, ints_to_bits(x, b), ints_to_bits(y, b))
    assert out.shape == (batch, b)
    got = bits_to_ints(out)
    for o, name in enumerate(ALU_NAMES):
        rows = ops == o
        want = ExactALU.compute(name, x[rows], y[rows], 2 ** b)
        assert torch.equal(got[rows], want), name
    # a mixture of bit words is the mixture of their bits
    w2 = weights(4, 20, torch.float32)
    xb, yb = ints_to_bits(x[:4], b), ints_to_bits(y[:4], b)
    mixed = sum(w2[:, o, None] * CIRCUITS[name](xb, yb) for o, name in enumerate(ALU_NAMES))
    torch.testing.assert_close(alu.forward_bits(w2, xb, yb), mixed)


# --- ExactALU ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 5, 16])
def test_exact_compute_every_pair(n):
    i, j = (t.reshape(-1) for t in torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij"))
    for name in ALU_NAMES:
        got = ExactALU.compute(name, i, j, n).tolist()
        assert got == [alu_result(name, x, y, n) for x, y in zip(i.tolist(), j.tolist())], name


@pytest.mark.parametrize("n", [2 ** 16, 2 ** 32, 3_000_000_019, 2 ** 61 - 1, 2 ** 61])
def test_exact_compute_random_pairs(n):
    rng = np.random.default_rng(n % 1000)
    x = torch.from_numpy(rng.integers(0, n, 2000, dtype=np.int64))
    y = torch.from_numpy(rng.integers(0, n, 2000, dtype=np.int64))
    y[:5] = 0
    y[5:10] = x[5:10]
    x[10:15] = n - 1
    y[10:15] = n - 1
    for name in ALU_NAMES:
        got = ExactALU.compute(name, x, y, n).tolist()
        assert got == [alu_result(name, a, b, n) for a, b in zip(x.tolist(), y.tolist())], name


def test_exact_compute_reduces_operands_and_rejects_huge_bases():
    assert ExactALU.compute("add", torch.tensor([-1, 17]), torch.tensor([0, 0]), 16).tolist() == [15, 1]
    with pytest.raises(ValueError):
        ExactALU.compute("add", torch.tensor([1]), torch.tensor([1]), 2 ** 62)
    with pytest.raises(ValueError):
        ExactALU.compute("read", torch.tensor([1]), torch.tensor([1]), 8)


def test_exact_on_soft_inputs_is_the_table_at_the_argmax():
    n = 16
    exact, table = ExactALU(n), TableALU(n)
    a, b, w = soft(6, n, 21), soft(6, n, 22), weights(6, 23)
    hard_a, hard_b = F.one_hot(a.argmax(-1), n).double(), F.one_hot(b.argmax(-1), n).double()
    torch.testing.assert_close(exact(w, a, b), table(w, hard_a, hard_b), atol=1e-15, rtol=0)


def test_exact_alu_at_base_65536():
    n, batch = 2 ** 16, 64
    alu = ExactALU(n)
    rng = np.random.default_rng(24)
    ia = torch.from_numpy(rng.integers(0, n, batch, dtype=np.int64))
    ib = torch.from_numpy(rng.integers(0, n, batch, dtype=np.int64))
    a = F.one_hot(ia, n).float().requires_grad_()
    b = F.one_hot(ib, n).float().requires_grad_()
    o = ALU_NAMES.index("mul")
    w = F.one_hot(torch.full((batch,), o), N_OPS).float().requires_grad_()
    out = alu(w, a, b)
    assert torch.equal(out.argmax(-1), (ia * ib) % n)
    g = torch.randn(batch, n, generator=gen(25))
    (out * g).sum().backward()
    rows = torch.arange(batch)
    torch.testing.assert_close(w.grad[:, o], g[rows, (ia * ib) % n])
    # d out / d a_i = [i b* = l]: grad_a[i] = g[i b* mod n]
    i = torch.tensor([0, 1, 12345, n - 1])
    torch.testing.assert_close(a.grad[:, i], g[rows[:, None], (i[None] * ib[:, None]) % n])
    torch.testing.assert_close(b.grad[:, i], g[rows[:, None], (ia[:, None] * i[None]) % n])
    # every opcode at once, forward and backward
    w = weights(batch, 26, torch.float32).requires_grad_()
    out = alu(w, a, b)
    (out * g).sum().backward()
    torch.testing.assert_close(out.sum(-1), torch.ones(batch), atol=1e-5, rtol=0)
