"""The standard library Λ (``neurocompiler/library/asm/*.asm``) against its pure-Python
references (``neurocompiler.library.reference``).

1. Every file has a well-formed ``#@`` header right above its label, and the whole
   library links into at most 120 instructions at base 128.
2. On the interpreter, every function, run from its label in the whole linked library
   with r15 = base - 1 (so ``ret r15`` halts), agrees with its reference on 200 random
   inputs at bases 128 and 256; it preserves r1, r2, r3 and r15, does not depend on
   the scratch registers, and reads and writes only the cells its header documents.
3. fib takes exactly 8·d interpreter steps for d = 1..12.
4. The differentiable machine (table ALU) agrees with the interpreter on 200 random
   inputs per function and base, run as one batch, with confidence and p_halted >= 0.999.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import neurocompiler
from neurocompiler.asm import Program, assemble
from neurocompiler.compiler import compile_program
from neurocompiler.config import MachineConfig
from neurocompiler.interpreter import execute, run
from neurocompiler.library.reference import (FIB_STEPS_PER_DEPTH, PRESERVED, REFERENCES,
                                             STRING_FUNCTIONS, random_input)
from neurocompiler.machine import Machine

LIB_DIR = Path(neurocompiler.__file__).parent / "library" / "asm"
MAX_INSTRUCTIONS = 126  # below base 128: address 127 is the outer return address
BASES = (128, 256)
INPUTS = 200
MAX_STEPS = 5_000  # the longest run, a sort of 12 cells, takes under 1,000 steps
MACHINE_MAX_LEN = 8  # lists for the machine test, to keep sort runs short
SCRATCH = range(4, 15)
HEADER_KEYS = ("function", "inputs", "outputs", "memory", "return")
_RANGE = re.compile(r"(read|write|inout) M\[([^\].]+)\.\.([^\].]+)\]\Z")
_TERM = re.compile(r"([+-]?)(r[0-9]+|[0-9]+|z)")  # z: the index of the first 0 cell


def asm_files() -> list[Path]:
    return sorted(LIB_DIR.glob("*.asm"))


NAMES = [p.stem for p in asm_files()]


@lru_cache(maxsize=None)
def library(base: int) -> Program:
    """The whole library linked as one program (files in name order)."""
    return assemble([(p.name, p.read_text(encoding="utf-8")) for p in asm_files()],
                    MachineConfig(base=base))


@lru_cache(maxsize=None)
def header(name: str) -> dict[str, str]:
    """The ``#@ key: value`` lines of ``name``.asm, checked to stand right above its label
    (only ordinary ``#`` comments or blank lines may come between)."""
    lines = (LIB_DIR / f"{name}.asm").read_text(encoding="utf-8").split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("#@")]
    assert starts, f"{name}.asm: no #@ header"
    first, last = starts[0], starts[-1]
    assert starts == list(range(first, last + 1)), f"{name}.asm: the #@ lines are not one block"
    fields = {}
    for line in lines[first:last + 1]:
        m = re.fullmatch(r"#@ (\w+): (\S.*?)\s*", line)
        assert m, f"{name}.asm: malformed header line {line!r}"
        assert m.group(1) not in fields, f"{name}.asm: {m.group(1)} given twice"
        fields[m.group(1)] = m.group(2)
    assert tuple(fields) == HEADER_KEYS, f"{name}.asm: header keys {tuple(fields)}"
    rest = lines[last + 1:]
    label_at = next(i for i, line in enumerate(rest) if not line.startswith("#") and line.strip())
    assert rest[label_at].strip() == f"{name}:", \
        f"{name}.asm: the header is not right above '{name}:'"
    return fields


def _eval(expr: str, registers: list[int], zero: int) -> int:
    expr = expr.replace(" ", "")
    terms = list(_TERM.finditer(expr))
    assert terms and "".join(t.group(0) for t in terms) == expr, f"bad address {expr!r}"
    total = 0
    for t in terms:
        word = t.group(2)
        val = zero if word == "z" else registers[int(word[1:])] if word.startswith("r") else int(word)
        total += -val if t.group(1) == "-" else val
    return total


def documented_cells(name: str, registers: list[int], memory: list[int] = ()) -> tuple[set[int], set[int]]:
    """(cells it may read, cells it may write), from the header, at these registers and
    this memory (``z`` in a header is the index of its first 0 cell)."""
    spec = header(name)["memory"]
    zero = list(memory).index(0) if 0 in memory else len(memory)
    reads: set[int] = set()
    writes: set[int] = set()
    if spec == "none":
        return reads, writes
    for item in spec.split(", "):
        m = _RANGE.match(item)
        assert m, f"{name}: bad memory item {item!r}"
        cells = set(range(_eval(m.group(2), registers, zero), _eval(m.group(3), registers, zero) + 1))
        if m.group(1) in ("read", "inout"):
            reads |= cells
        if m.group(1) in ("write", "inout"):
            writes |= cells
    return reads, writes


def audited_steps(program: Program, name: str, registers: list[int], memory: list[int]) -> int:
    """Run like the interpreter, failing on any read or write outside the documented cells."""
    reads, writes = documented_cells(name, registers, memory)
    R, M = list(registers), list(memory)
    pc, steps = program.entry, 0
    while steps < MAX_STEPS:
        steps += 1
        if 0 <= pc < len(program):
            ins = program.instructions[pc]
            if ins.op == "read":
                assert R[ins.a] in reads, f"{name}: reads M[{R[ins.a]}] at {ins.loc}"
            if ins.op == "write":
                assert R[ins.b] in writes, f"{name}: writes M[{R[ins.b]}] at {ins.loc}"
        pc = execute(program, pc, R, M)
        if pc is None:
            return steps
    raise AssertionError(f"{name}: no halt within {MAX_STEPS} steps")


def full_inputs(name: str, base: int, count: int,
                max_len: int) -> list[tuple[dict, list[int], list[int], list[int]]]:
    """``count`` inputs ``(registers given, memory given, all registers, all memory)``:
    a random valid input with r15 = base - 1, random junk in r0 and the scratch
    registers, and random junk in every memory cell past the given ones."""
    rng = random.Random(f"library-{name}-{base}-{max_len}")
    out = []
    for _ in range(count):
        regs, mem = random_input(name, rng, base, max_len=max_len)
        all_regs = [rng.randrange(base) for _ in range(16)]
        for r in PRESERVED:
            all_regs[r] = regs.get(r, 0)
        all_regs[15] = base - 1
        all_mem = list(mem) + [rng.randrange(base) for _ in range(base - len(mem))]
        out.append((regs, mem, all_regs, all_mem))
    return out


# 1. Headers and linking -----------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_header_is_well_formed_and_above_its_label(name):
    fields = header(name)
    assert fields["function"] == name
    assert fields["return"] == "r15"
    inputs = fields["inputs"].split()
    if name in STRING_FUNCTIONS:  # its list is 0-terminated, so it takes no length
        assert inputs == ["none"] and "z" in fields["memory"]
        inputs = []
    assert (inputs or name in STRING_FUNCTIONS) and set(inputs) <= {"r1", "r2", "r3"}, fields["inputs"]
    assert inputs == sorted(inputs)
    assert fields["outputs"] in ("r0", "none")
    documented_cells(name, list(range(16)))  # parses
    assert library(128).labels[name] is not None


def test_every_reference_has_a_file_and_every_file_a_reference():
    assert sorted(REFERENCES) == sorted(NAMES)
    for name in ("add", "sub", "mul", "div", "mod", "fib", "insertion_sort", "count",
                 "reverse", "max", "argmax", "sum", "find", "copy"):
        assert name in NAMES


def test_outputs_header_matches_reference():
    for name in NAMES:
        regs, mem = random_input(name, random.Random(0), 128)
        out_regs, _ = REFERENCES[name](regs, mem, 128)
        assert ("r0" if out_regs else "none") == header(name)["outputs"], name


def test_whole_library_fits_below_base_128():
    program = library(128)
    assert len(program) <= MAX_INSTRUCTIONS
    assert len(program) == len(library(256))
    for name in NAMES:
        assert program.instructions[program.labels[name]].loc.file == f"{name}.asm", name


# 2. Interpreter against the references ---------------------------------------------

@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("name", NAMES)
def test_interpreter_agrees_with_reference(name, base):
    program = library(base).with_entry(name)
    for i, (regs, mem, all_regs, all_mem) in enumerate(full_inputs(name, base, INPUTS, 12)):
        got = run(program, all_regs, all_mem, max_steps=MAX_STEPS)
        assert got.halted, f"input {i}: no halt"
        want_regs, want_mem = REFERENCES[name](regs, all_mem, base)
        for r, v in want_regs.items():
            assert got.registers[r] == v, f"input {i} {regs}: r{r} = {got.registers[r]}, want {v}"
        for r in PRESERVED:
            assert got.registers[r] == all_regs[r], f"input {i}: r{r} not preserved"
        assert got.memory == want_mem, f"input {i} {regs} {mem}: memory differs"
        assert audited_steps(program, name, all_regs, all_mem) == got.steps


def test_reference_leaves_undocumented_cells_alone():
    for name in NAMES:
        rng = random.Random(name)
        for _ in range(50):
            regs, mem = random_input(name, rng, 128)
            full = [rng.randrange(128) for _ in range(128)]
            full[:len(mem)] = mem
            _, out = REFERENCES[name](regs, full, 128)
            _, writes = documented_cells(name, [regs.get(r, 0) for r in range(16)], full)
            assert [v for j, v in enumerate(out) if j not in writes] == \
                   [v for j, v in enumerate(full) if j not in writes]


# 3. Fibonacci's step count -----------------------------------------------------------

@pytest.mark.parametrize("base", BASES)
def test_fib_takes_8_steps_per_depth(base):
    assert FIB_STEPS_PER_DEPTH == 8
    program = library(base).with_entry("fib")
    rng = random.Random(base)
    for d in range(1, 13):
        for _ in range(5):
            a, b = rng.randrange(base), rng.randrange(base)
            got = run(program, {1: a, 2: b, 3: d, 15: base - 1}, max_steps=MAX_STEPS)
            assert got.halted and got.steps == FIB_STEPS_PER_DEPTH * d, (d, got.steps)
            x0, x1 = a, b
            for _ in range(d):
                x0, x1 = x1, (x0 + x1) % base
            assert got.registers[0] == x1


def test_fib_depth_1_is_a_plus_b_and_scalar_functions_take_3_steps():
    program = library(128)
    got = run(program.with_entry("fib"), {1: 100, 2: 50, 3: 1, 15: 127})
    assert (got.registers[0], got.steps) == (22, 8)
    for name in ("add", "sub", "mul", "div", "mod"):
        assert run(program.with_entry(name), {1: 7, 2: 3, 15: 127}).steps == 3


# 4. The differentiable machine against the interpreter -------------------------------

@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("name", NAMES)
def test_machine_agrees_with_interpreter(name, base):
    program = library(base).with_entry(name)
    inputs = full_inputs(name, base, INPUTS, MACHINE_MAX_LEN)
    refs = [run(program, r, m, max_steps=MAX_STEPS) for _, _, r, m in inputs]
    assert all(r.halted for r in refs)

    machine = Machine(compile_program(program))
    regs = F.one_hot(torch.tensor([r for _, _, r, _ in inputs]), base).float()
    mem = F.one_hot(torch.tensor([m for _, _, _, m in inputs]), base).float()
    state = machine.initial_state(registers=regs, memory=mem, entry=program.labels[name])
    with torch.no_grad():
        out = machine.run(state, max_steps=max(r.steps for r in refs) + 1)
    dec = out.state.decode()

    assert dec.registers.tolist() == [r.registers for r in refs]
    assert dec.memory.tolist() == [r.memory for r in refs]
    assert out.steps.tolist() == [r.steps for r in refs]
    assert float(dec.confidence.min()) >= 0.999
    assert float(dec.p_halted.min()) >= 0.999
