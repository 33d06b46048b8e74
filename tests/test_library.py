"""The Library module: conventions parsed from the shipped files, batched runs of many
functions that do not interfere, and a differentiable selection mixture."""

import random

import pytest
import torch
import torch.nn.functional as F

from neurocompiler import MachineConfig
from neurocompiler.errors import InputError, NeurocompilerError
from neurocompiler.library import Library, load_specs
from neurocompiler.library.reference import REFERENCES, random_input

BASE = 128
CFG = MachineConfig(base=BASE)


def one_hot_inputs(inputs):
    R = torch.zeros(len(inputs), CFG.registers, dtype=torch.long)
    M = torch.zeros(len(inputs), CFG.m, dtype=torch.long)
    for i, (regs, mem) in enumerate(inputs):
        for r, v in regs.items():
            R[i, r] = v
        M[i, :len(mem)] = torch.tensor(mem, dtype=torch.long)
    return F.one_hot(R, BASE).float(), F.one_hot(M, BASE).float()


def test_specs_cover_every_function_with_its_convention():
    specs = load_specs()
    assert {"add", "sub", "mul", "div", "mod", "fib", "insertion_sort", "count", "reverse",
            "max", "argmax", "sum", "find", "copy"} <= set(specs)
    assert specs["fib"].inputs == (1, 2, 3) and specs["fib"].outputs == (0,)
    assert specs["insertion_sort"].outputs == () and "M[0..r1-1]" in specs["insertion_sort"].memory
    assert all(s.ret == 15 for s in specs.values())
    assert "returns via r15" in specs["add"].describe()


def test_each_function_in_a_shared_batch_matches_its_reference():
    lib = Library(CFG)
    rng = random.Random(0)
    names = list(lib.functions)
    for name in names:  # one input per function, all functions run on every input
        regs, mem = random_input(name, rng, BASE, max_len=6)
        R, M = one_hot_inputs([(regs, mem)])
        sel = F.one_hot(torch.tensor([names.index(name)]), len(names)).float()
        with torch.no_grad():
            out = lib(sel, R, M, max_steps=1500)
        want_regs, want_mem = REFERENCES[name](regs, mem, BASE)
        dec = out.state.decode()
        for r, v in want_regs.items():
            assert dec.registers[0, r].item() == v, name
        assert dec.memory[0].tolist() == want_mem, name
        assert dec.confidence.item() > 0.999 and dec.p_halted.item() > 0.999


def test_functions_do_not_interfere_and_subsets_agree():
    rng = random.Random(1)
    inputs = [random_input("sum", rng, BASE, max_len=6) for _ in range(3)]
    R, M = one_hot_inputs(inputs)
    full, part = Library(CFG), Library(CFG, functions=["sum", "reverse"])
    with torch.no_grad():
        a = full(torch.full((3, len(full.functions)), 1 / len(full.functions)), R, M)
        b = part(torch.full((3, 2), 0.5), R, M)
    for j, name in enumerate(part.functions):
        i = full.functions.index(name)
        Ra = a.per_function.R.reshape(3, -1, CFG.registers, BASE)[:, i]
        Rb = b.per_function.R.reshape(3, -1, CFG.registers, BASE)[:, j]
        assert torch.equal(Ra, Rb)
        assert torch.equal(a.steps[:, i], b.steps[:, j])


def test_selection_mixture_is_differentiable():
    lib = Library(CFG, functions=["add", "sub", "mul"])
    logits = torch.zeros(1, 3, requires_grad=True)
    r1 = torch.softmax(torch.randn(1, BASE), -1).requires_grad_()
    R, M = one_hot_inputs([({2: 5}, [])])
    R = torch.cat([R[:, :1], r1[:, None], R[:, 2:]], 1)
    out = lib(torch.softmax(logits, -1), R, M)
    target = torch.tensor([12])  # add with r1 = 7: raise P(add) and P(r1 = 7)
    loss = F.nll_loss(out.state.R[:, 0].clamp_min(1e-12).log(), target)
    loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    assert r1.grad.abs().sum() > 0
    torch.testing.assert_close(out.state.R.sum(-1), torch.ones(1, CFG.registers))


def test_library_errors():
    with pytest.raises(InputError, match="unknown library function"):
        Library(CFG, functions=["quicksort"])
    with pytest.raises(NeurocompilerError, match="longer than base"):
        Library(MachineConfig(base=64))  # 112 instructions do not fit
    with pytest.raises(InputError, match="selection"):
        lib = Library(CFG, functions=["add"])
        lib(torch.ones(1, 2), *one_hot_inputs([({}, [])]))


def test_a_library_links_only_what_its_functions_need():
    assert len(Library(CFG, ["fib"]).program) == 11
    sort = Library(CFG, ["insertion_sort"]).program  # its helpers live in its own file
    assert {"isort_scan_init", "isort_swap"} <= set(sort.labels)
    assert "fib" not in sort.labels


def test_deep_soft_fib_conserves_mass():
    """Depth 12 on soft inputs: x_{k+1} = x_k + x_{k-1} multiplies the operands' masses,
    so float32 rounding would compound (it reached NaN by step 97 before the register
    write renormalised); every distribution must stay a distribution."""
    lib = Library(MachineConfig(base=BASE, memory=0), ["fib"])
    gen = torch.Generator().manual_seed(0)
    B = 8
    R = F.one_hot(torch.zeros(B, CFG.registers, dtype=torch.long), BASE).float()
    R[:, 1] = torch.randn(B, BASE, generator=gen).softmax(-1)
    R[:, 2] = torch.randn(B, BASE, generator=gen).softmax(-1)
    R[:, 3] = F.one_hot(torch.tensor(12), BASE).float()
    out = lib(torch.ones(B, 1), R, torch.zeros(B, 0, BASE), max_steps=200)
    assert out.steps.flatten().tolist() == [96] * B
    assert torch.allclose(out.per_function.R.sum(-1), torch.ones(B, CFG.registers), atol=1e-5)
    assert torch.allclose(out.state.h, torch.ones(B), atol=1e-6)
