"""ALUs: brute-force checks of every opcode, agreement of every implementation
(values and gradients), gradcheck for each, and the sizes of their tables."""

import itertools

import pytest
import torch
import torch.nn.functional as F

from neurocompiler.alu import DenseALU, TableALU, make_alu
from neurocompiler.alu.tables import dense_table_bytes, result_index
from neurocompiler.isa import ALU_NAMES, alu_result

torch.manual_seed(0)


def soft(batch, n, gen, dtype=torch.float64):
    return torch.softmax(torch.randn(batch, n, generator=gen, dtype=dtype) * 2, -1)


def brute_force(name, a, b, n):
    """Sum over every pair (i, j) of a_i b_j onto the exact result fn(i, j)."""
    out = torch.zeros_like(a)
    for i, j in itertools.product(range(n), repeat=2):
        out[:, alu_result(name, i, j, n)] += a[:, i] * b[:, j]
    return out


def implementations(n):
    return {
        "table": TableALU(n),
        "generic": TableALU(n, structured=False),
        "dense": DenseALU(n, order="paper"),
        "dense_best": DenseALU(n, order="best"),
    }


@pytest.mark.parametrize("n", [5, 8])
@pytest.mark.parametrize("name", ALU_NAMES)
def test_every_op_matches_brute_force_on_soft_inputs(name, n):
    gen = torch.Generator().manual_seed(n)
    a, b = soft(3, n, gen), soft(3, n, gen)
    expected = brute_force(name, a, b, n)
    for kind, alu in implementations(n).items():
        got = alu.op_output(name, a, b)
        torch.testing.assert_close(got, expected, atol=1e-12, rtol=0, msg=f"{kind} {name}")
        torch.testing.assert_close(got.sum(-1), torch.ones(3, dtype=a.dtype), atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", ALU_NAMES)
def test_every_op_exact_on_every_one_hot_pair(name):
    n = 8
    pairs = list(itertools.product(range(n), repeat=2))
    a = F.one_hot(torch.tensor([i for i, _ in pairs]), n).double()
    b = F.one_hot(torch.tensor([j for _, j in pairs]), n).double()
    want = torch.tensor([alu_result(name, i, j, n) for i, j in pairs])
    for kind, alu in implementations(n).items():
        out = alu.op_output(name, a, b)
        assert torch.equal(out.argmax(-1), want), kind
        assert torch.equal(out.max(-1).values, torch.ones(len(pairs), dtype=out.dtype)), kind


@pytest.mark.parametrize("n", [6, 16])
def test_fast_and_dense_agree_in_values_and_gradients(n):
    gen = torch.Generator().manual_seed(1)
    w0 = torch.softmax(torch.randn(4, len(ALU_NAMES), generator=gen, dtype=torch.float64), -1)
    a0, b0, g = soft(4, n, gen), soft(4, n, gen), torch.randn(4, n, generator=gen, dtype=torch.float64)
    results = {}
    for kind, alu in implementations(n).items():
        w, a, b = (t.clone().requires_grad_() for t in (w0, a0, b0))
        out = alu(w, a, b)
        (out * g).sum().backward()
        results[kind] = (out.detach(), w.grad, a.grad, b.grad)
    ref = results["dense"]
    for kind, got in results.items():
        for x, y in zip(got, ref):
            torch.testing.assert_close(x, y, atol=1e-12, rtol=1e-10, msg=kind)


@pytest.mark.parametrize("kind", ["table", "generic", "dense", "dense_best"])
def test_gradcheck_each_alu(kind):
    n = 5
    alu = implementations(n)[kind]
    gen = torch.Generator().manual_seed(2)
    w = torch.softmax(torch.randn(2, len(ALU_NAMES), generator=gen, dtype=torch.float64), -1)
    a, b = soft(2, n, gen), soft(2, n, gen)
    inputs = tuple(t.requires_grad_() for t in (w, a, b))
    assert torch.autograd.gradcheck(lambda w, a, b: alu(w, a, b), inputs)


def test_skipping_zero_weight_ops_is_exact():
    n = 16
    alu = TableALU(n)
    gen = torch.Generator().manual_seed(3)
    a, b = soft(3, n, gen), soft(3, n, gen)
    w = torch.zeros(3, len(ALU_NAMES), dtype=torch.float64)
    w[:, ALU_NAMES.index("add")] = 0.25
    w[:, ALU_NAMES.index("mul")] = 0.75
    active = [name in ("add", "mul") for name in ALU_NAMES]
    assert torch.equal(alu(w, a, b, active=active), alu(w, a, b))


def test_fast_table_is_small_and_never_cubic():
    n = 256
    fast = TableALU(n)
    assert fast.table_bytes() * 50 <= dense_table_bytes(len(ALU_NAMES), n)
    assert all(buf.numel() <= n * n for buf in fast.buffers())


def test_result_index_is_the_opcode_table():
    for name in ALU_NAMES:
        idx = result_index(name, 7)
        assert all(idx[i, j] == alu_result(name, i, j, 7) for i in range(7) for j in range(7))


def test_make_alu_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown ALU 'abacus'"):
        make_alu("abacus", 8)
