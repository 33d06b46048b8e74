"""The batched exact executor (``neurocompiler.exact``) against the reference interpreter:
final registers, memory, ``halted`` and step counts agree on library functions, the
program table, random programs (with and without the ALU lookup table) and batches of
very different run lengths; and against the differentiable machine on one-hot inputs."""

from __future__ import annotations

import random
from functools import lru_cache

import pytest
import torch
import torch.nn.functional as F
from programs import CASES

from neurocompiler.asm import Instruction, Program, assemble
from neurocompiler.config import MachineConfig
from neurocompiler.errors import InputError
from neurocompiler.exact import ExactProgram, run_exact
from neurocompiler.interpreter import run
from neurocompiler.isa import OPCODES
from neurocompiler.library import RETURN_REGISTER, Library, library_length, load_specs
from neurocompiler.library.reference import random_input

NAMES = tuple(load_specs())


@lru_cache(maxsize=None)
def library(base: int, name: str | None = None) -> Library:
    """The whole library at ``base``, or only ``name`` (what fits at a small base)."""
    return Library(MachineConfig(base=base), None if name is None else [name])


def tensors(states: list[tuple[dict[int, int] | list[int], list[int]]], cfg: MachineConfig):
    """(B, R) registers and (B, m) memory, zero-filled, from (registers, memory) pairs."""
    R = torch.zeros(len(states), cfg.registers, dtype=torch.long)
    M = torch.zeros(len(states), cfg.m, dtype=torch.long)
    for i, (regs, mem) in enumerate(states):
        for r, v in (regs.items() if isinstance(regs, dict) else enumerate(regs)):
            R[i, r] = v
        M[i, :len(mem)] = torch.tensor(mem, dtype=torch.long)
    return R, M


def assert_agrees(program: Program, R: torch.Tensor, M: torch.Tensor, entries: list[int],
                  max_steps: int, out=None) -> None:
    """``run_exact`` (or its result ``out``) matches ``interpreter.run`` row by row."""
    if out is None:
        out = run_exact(program, R, M, torch.tensor(entries), max_steps)
    for i, entry in enumerate(entries):
        p = Program(program.instructions, program.labels, program.config, entry)
        ref = run(p, R[i].tolist(), M[i].tolist(), max_steps=max_steps)
        got = (out.registers[i].tolist(), out.memory[i].tolist(), bool(out.halted[i]), int(out.steps[i]))
        assert got == (ref.registers, ref.memory, ref.halted, ref.steps), f"row {i} from pc {entry}"


def garbage(rng: random.Random, cfg: MachineConfig, k: int) -> list[tuple[list[int], list[int]]]:
    """``k`` arbitrary states, values biased to flags, small addresses and n - 1."""
    n = cfg.base
    pick = lambda: rng.choice((0, 1, 2, n - 1, rng.randrange(min(n, 20)), rng.randrange(n)))  # noqa: E731
    return [([pick() for _ in range(cfg.registers)], [pick() for _ in range(cfg.m)])
            for _ in range(k)]


# ---------------------------------------------------------------- library functions

LIBRARY_CASES = [(16, name) for name in NAMES
                 if library_length([name], MachineConfig(base=1024)) < 16]
LIBRARY_CASES += [(40, name) for name in NAMES if (16, name) not in LIBRARY_CASES]  # the sorts
LIBRARY_CASES += [(128, name) for name in NAMES]


@pytest.mark.parametrize("base,name", LIBRARY_CASES, ids=[f"{n}-{b}" for b, n in LIBRARY_CASES])
def test_library_function_agrees_with_interpreter(base, name):
    lib = library(base) if base == 128 else library(base, name)
    index, cfg = lib.functions.index(name), lib.config
    rng = random.Random(f"{name}/{base}")
    states = [random_input(name, rng, base, max_len=min(12, base // 4)) for _ in range(40)]
    R, M = tensors(states + garbage(rng, cfg, 12), cfg)
    R[-12:, 1] = R[-12:, 1] % 6  # garbage with short lists, so most of it halts
    for max_steps in (2000, 1 + rng.randrange(40)):  # the second one cuts runs off
        out = lib.run_exact(index, R, M, max_steps=max_steps)
        start = R.clone()
        start[:, RETURN_REGISTER] = base - 1
        assert_agrees(lib.program, start, M, [lib.program.labels[name]] * len(R), max_steps, out)
    assert out.halted.dtype == torch.bool and out.steps.dtype == torch.long


def test_mixed_functions_of_very_different_lengths_in_one_batch():
    """Rows run different functions (add: 2 steps .. insertion_sort: ~1000) from their
    own entries; compaction must not mix rows up."""
    lib = library(128)
    rng = random.Random(7)
    names = [rng.choice(NAMES) for _ in range(120)]
    states = [random_input(name, rng, 128, max_len=rng.choice((0, 2, 12))) for name in names]
    R, M = tensors(states, lib.config)
    R[:, RETURN_REGISTER] = 127
    entries = [lib.program.labels[name] for name in names]
    out = run_exact(lib.program, R, M, torch.tensor(entries), 3000)
    assert out.halted.all() and out.steps.min() <= 3 and out.steps.max() > 500
    assert_agrees(lib.program, R, M, entries, 3000, out)


def test_no_memory_and_a_cached_program():
    lib = Library(MachineConfig(base=128, memory=0), ["fib"])
    R = torch.zeros(5, 16, dtype=torch.long)
    R[:, 1], R[:, 2], R[:, 3] = 1, 1, torch.arange(1, 6)
    out = lib.run_exact(0, R, torch.zeros(5, 0, dtype=torch.long))
    assert out.steps.tolist() == [8, 16, 24, 32, 40] and out.memory.shape == (5, 0)
    assert out.registers[:, 0].tolist() == [2, 3, 5, 8, 13]
    assert lib.run_exact(0, R, torch.zeros(5, 0, dtype=torch.long)).steps.tolist() == out.steps.tolist()


# ---------------------------------------------------------------- the program table

@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_program_table_agrees_with_interpreter(case):
    for base in (max(16, case.min_base), 128):
        program = case.assemble(base)
        R, M = tensors(case.inputs(base, count=25), program.config)
        assert_agrees(program, R, M, [program.entry] * len(R), case.max_steps)


# ---------------------------------------------------------------- random programs

def random_program(rng: random.Random, cfg: MachineConfig, length: int,
                   straight: bool) -> Program:
    """Random instructions over the whole opcode table (straight: no control flow);
    targets land in the program, just past it, or anywhere below the base."""
    ops = [op for op in OPCODES if not straight or op.group in ("alu", "const", "read", "write", "store")]
    reg = lambda: rng.randrange(cfg.registers)  # noqa: E731
    body = []
    for _ in range(length):
        op = rng.choice(ops)
        target = rng.choice((rng.randrange(length), rng.randrange(length + 2), rng.randrange(cfg.base)))
        body.append(Instruction(op.name, reg(), reg(), reg(), rng.randrange(cfg.base), target))
    return Program(tuple(body), {}, cfg)


@pytest.mark.parametrize("alu_table", [None, False])
@pytest.mark.parametrize("straight", [True, False], ids=["straight", "jumping"])
def test_random_programs_agree_with_interpreter(straight, alu_table):
    rng = random.Random(f"{straight}/{alu_table}")
    for _ in range(24):
        base = rng.choice((8, 16, 128))
        cfg = MachineConfig(base=base, registers=rng.choice((3, 6)),
                            memory=rng.choice((base, base // 2, 0)))
        program = random_program(rng, cfg, rng.randint(1, min(base, 14)), straight)
        ex = ExactProgram(program, alu_table=alu_table)
        assert (ex.lut is None) == (alu_table is False)
        R, M = tensors(garbage(rng, cfg, 16), cfg)
        entries = [rng.choice((0, 0, rng.randrange(len(program) + 1), base, -3))
                   for _ in range(len(R))]
        max_steps = rng.choice((0, 1, 5, 60))
        out = run_exact(ex, R, M, torch.tensor(entries), max_steps)
        assert_agrees(program, R, M, entries, max_steps, out)


EDGES = """
    write r1 r2     # r2 >= memory: no effect
    read r2 r3      # past memory: 0, even after that write
    write r1 r4
    read r4 r5
    store r6
    jump r0 7       # taken only when r0 == 1
    halt
    call 6 r7       # at address n - 1: the return address wraps to 0
"""


def test_memory_bounds_and_wrapping_return_address():
    program = assemble(EDGES, MachineConfig(base=8, registers=8, memory=4))
    assert len(program) == 8
    rows = [[r0, 5, r2, 9, r4, 9, 9, 9] for r0 in (0, 1, 2) for r2 in (4, 7) for r4 in (0, 3)]
    R = torch.tensor(rows) % 8
    M = torch.tensor([[1, 2, 3, 4]] * len(rows))
    out = run_exact(program, R, M, torch.zeros(len(rows), dtype=torch.long), 20)
    assert out.registers[:, 3].eq(0).all() and out.registers[:, 5].eq(5).all()
    assert out.steps.tolist() == [8 if r[0] == 1 else 7 for r in rows]
    assert out.registers[R[:, 0] == 1, 7].eq(0).all()
    assert_agrees(program, R, M, [0] * len(rows), 20, out)


# ---------------------------------------------------------------- the differentiable machine

@pytest.mark.parametrize("name", ["count", "fib", "reverse", "div"])
def test_agrees_with_the_differentiable_machine(name):
    lib = library(128)
    index, n = lib.functions.index(name), 128
    rng = random.Random(name)
    R, M = tensors([random_input(name, rng, n, max_len=5) for _ in range(6)], lib.config)
    with torch.no_grad():
        soft = lib.run_one(index, F.one_hot(R, n).float(), F.one_hot(M, n).float(), max_steps=400)
    out = lib.run_exact(index, R, M, max_steps=400)
    assert torch.equal(soft.state.R.argmax(-1), out.registers)
    assert torch.equal(soft.state.M.argmax(-1), out.memory)
    assert torch.equal(soft.steps, out.steps) and out.halted.all()


# ---------------------------------------------------------------- edges and errors

def test_bad_inputs_are_refused():
    lib = library(16, "add")
    R, M = torch.zeros(2, 16, dtype=torch.long), torch.zeros(2, 16, dtype=torch.long)
    with pytest.raises(InputError, match="values must lie in 0..15"):
        lib.run_exact(0, R, M + 16)
    with pytest.raises(InputError, match="shape"):
        lib.run_exact(0, R, M[:, :3])
    with pytest.raises(InputError, match="long tensor"):
        lib.run_exact(0, R.float(), M)
    out = run_exact(lib.program, R, M, torch.tensor([0, 1]), max_steps=0)
    assert out.steps.tolist() == [0, 0] and not out.halted.any()
    assert ExactProgram(lib.program).to("cpu").table.device.type == "cpu"
