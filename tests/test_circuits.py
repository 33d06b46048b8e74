"""Circuits on b-bit words: exact against the opcode table on hard bits (every pair at
b = 8, 100,000 random pairs at b = 16 and b = 32, vectorised, with a spot check against
``isa.alu_result`` itself), exact marginals where the docs claim them on soft bits,
gradcheck at b = 4."""

import functools
import itertools

import numpy as np
import pytest
import torch

from neurocompiler.alu import circuits
from neurocompiler.alu.circuits import CIRCUITS, divmod_
from neurocompiler.alu.encoding import bits_to_ints, bits_to_onehot, ints_to_bits
from neurocompiler.isa import ALU_NAMES, alu_result

RANDOM_PAIRS = 100_000
SPOT_CHECKS = 300


def reference(name, x, y, n):
    """Vectorised exact result for a power-of-two n <= 2^32 (numpy uint64 arithmetic:
    products wrap mod 2^64, a multiple of n)."""
    x, y, n = x.astype(np.uint64), y.astype(np.uint64), np.uint64(n)
    safe = np.where(y == 0, np.uint64(1), y)
    out = {
        "copy": lambda: x,
        "inc": lambda: x + np.uint64(1),
        "dec": lambda: x + n - np.uint64(1),
        "add": lambda: x + y,
        "sub": lambda: x + n - y,
        "mul": lambda: x * y,
        "div": lambda: np.where(y == 0, np.uint64(0), x // safe),
        "mod": lambda: np.where(y == 0, np.uint64(0), x % safe),
        "min": lambda: np.minimum(x, y),
        "max": lambda: np.maximum(x, y),
        "eq": lambda: (x == y).astype(np.uint64),
        "lt": lambda: (x < y).astype(np.uint64),
        "le": lambda: (x <= y).astype(np.uint64),
    }[name]()
    return (out % n).astype(np.int64)


def pairs(b):
    n = 2 ** b
    if b == 8:  # every pair
        i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        return i.reshape(-1), j.reshape(-1)
    rng = np.random.default_rng(b)
    x = rng.integers(0, n, RANDOM_PAIRS, dtype=np.int64)
    y = rng.integers(0, n, RANDOM_PAIRS, dtype=np.int64)
    y[:100] = 0  # division by zero, and a few equal pairs for eq / le
    y[100:200] = x[100:200]
    return x, y


@functools.lru_cache(maxsize=None)
def words(b):
    x, y = pairs(b)
    return x, y, ints_to_bits(torch.from_numpy(x), b), ints_to_bits(torch.from_numpy(y), b)


@functools.lru_cache(maxsize=None)
def division(b):
    _, _, xb, yb = words(b)
    with torch.no_grad():
        return divmod_(xb, yb)


def circuit_result(name, b):
    """Result bits of circuit ``name`` on the pairs of width b (float32 bits, exact on
    hard values); division runs once for div and mod."""
    if name in ("div", "mod"):
        return division(b)[name == "mod"]
    _, _, xb, yb = words(b)
    with torch.no_grad():
        return CIRCUITS[name](xb, yb)


def test_registry_covers_every_alu_opcode():
    assert set(CIRCUITS) == set(ALU_NAMES)


@pytest.mark.parametrize("b", [8, 16, 32])
@pytest.mark.parametrize("name", ALU_NAMES)
def test_circuit_matches_opcode_table_on_hard_bits(name, b):
    n = 2 ** b
    x, y, _, _ = words(b)
    out = circuit_result(name, b)
    assert out.shape == (len(x), b)
    assert ((out == 0) | (out == 1)).all()  # hard in, hard out
    got = bits_to_ints(out).numpy()
    want = reference(name, x, y, n)
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, f"{name} b={b}: {x[bad[0]]}, {y[bad[0]]} -> {got[bad[0]]}, want {want[bad[0]]}"
    # the opcode table is the single source of truth: spot-check the reference against it
    rng = np.random.default_rng(1000 + b)
    for k in rng.choice(len(x), SPOT_CHECKS, replace=False).tolist() + [0, 150]:
        assert got[k] == alu_result(name, int(x[k]), int(y[k]), n), (name, b, x[k], y[k])


def test_division_by_zero_and_flags():
    b = 8
    x = ints_to_bits(torch.tensor([0, 1, 77, 255]), b)
    zero = torch.zeros_like(x)
    q, r = divmod_(x, zero)
    assert not q.any() and not r.any()
    for name in ("eq", "lt", "le"):
        word = CIRCUITS[name](x, x)
        assert not word[:, 1:].any()
        assert getattr(circuits, name)(x, x).shape == (4,)


def test_comparators_return_one_bit():
    x = torch.rand(5, 3, 6, dtype=torch.float64)
    y = torch.rand(5, 3, 6, dtype=torch.float64)
    for fn in (circuits.eq, circuits.lt, circuits.le):
        assert fn(x, y).shape == (5, 3)
    assert circuits.is_zero(y).shape == (5, 3)
    for name, fn in CIRCUITS.items():
        assert fn(x, y).shape == (5, 3, 6), name


def test_one_bit_words():
    x = torch.tensor([[0.0], [1.0], [0.0], [1.0]])
    y = torch.tensor([[0.0], [0.0], [1.0], [1.0]])
    for name, fn in CIRCUITS.items():
        got = bits_to_ints(fn(x, y)).tolist()
        assert got == [alu_result(name, i, j, 2) for i, j in ((0, 0), (1, 0), (0, 1), (1, 1))], name


def exact_bit_marginals(name, qx, qy, b):
    """P(bit k of name(X, Y) = 1) for X, Y with independent bits, by enumeration."""
    n = 2 ** b
    px, py = bits_to_onehot(qx), bits_to_onehot(qy)  # P(X = i), P(Y = j)
    out = torch.zeros(qx.shape[0], b, dtype=qx.dtype)
    for i, j in itertools.product(range(n), repeat=2):
        r = alu_result(name, i, j, n)
        for k in range(b):
            if (r >> k) & 1:
                out[:, k] += px[:, i] * py[:, j]
    return out


# Which output bits the circuits get exactly on independent soft bits (circuits.py doc).
EXACT_SOFT = {"copy": [0, 1, 2, 3], "inc": [0, 1, 2, 3], "dec": [0, 1, 2, 3], "eq": [0],
              "add": [0, 1], "mul": [0, 1], "sub": [0]}


@pytest.mark.parametrize("name", list(EXACT_SOFT))
def test_documented_exact_marginals_on_independent_soft_bits(name):
    b = 4
    gen = torch.Generator().manual_seed(5)
    qx = torch.rand(4, b, generator=gen, dtype=torch.float64)
    qy = torch.rand(4, b, generator=gen, dtype=torch.float64)
    got = CIRCUITS[name](qx, qy)
    want = exact_bit_marginals(name, qx, qy, b)
    if name == "eq":
        assert not got[:, 1:].any()
    for k in EXACT_SOFT[name]:
        torch.testing.assert_close(got[:, k], want[:, k], atol=1e-13, rtol=0, msg=f"{name} bit {k}")


def _soft_words(seed, b=4, batch=2):
    gen = torch.Generator().manual_seed(seed)
    return tuple((torch.rand(batch, b, generator=gen, dtype=torch.float64) * 0.8 + 0.1).requires_grad_()
                 for _ in range(2))


@pytest.mark.parametrize("name", ALU_NAMES)
def test_gradcheck_every_circuit(name):
    assert torch.autograd.gradcheck(CIRCUITS[name], _soft_words(ALU_NAMES.index(name)))


@pytest.mark.parametrize("fn", [circuits.eq, circuits.lt, circuits.le, divmod_],
                         ids=["eq", "lt", "le", "divmod"])
def test_gradcheck_comparators_and_divmod(fn):
    assert torch.autograd.gradcheck(fn, _soft_words(99))
