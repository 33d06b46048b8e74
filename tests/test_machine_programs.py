"""Whole programs on the differentiable machine agree with the reference interpreter:
every case of ``programs.CASES``, at bases 16, 128 and 256 (where the program fits),
on 100 random inputs each, run as one batch, with confidence >= 0.999."""

import pytest
import torch
import torch.nn.functional as F

from neurocompiler.compiler import compile_program
from neurocompiler.interpreter import run
from neurocompiler.machine import Machine
from programs import BASES, CASES, INPUTS_PER_BASE, mismatches

PARAMS = [pytest.param(case, base, id=f"{case.name}-{base}")
          for case in CASES for base in BASES if case.runs_at(base)]


def one_hot_memory(memories, m, n):
    ints = torch.zeros(len(memories), m, dtype=torch.long)
    for i, mem in enumerate(memories):
        ints[i, :len(mem)] = torch.tensor(mem, dtype=torch.long)
    return F.one_hot(ints, n).float()


def one_hot_registers(registers, nreg, n):
    ints = torch.zeros(len(registers), nreg, dtype=torch.long)
    for i, regs in enumerate(registers):
        for r, v in regs.items():
            ints[i, r] = v
    return F.one_hot(ints, n).float()


def test_every_case_runs_somewhere_at_every_required_base_it_fits():
    assert len(CASES) >= 8
    for base in BASES:
        assert sum(case.runs_at(base) for case in CASES) >= 8


@pytest.mark.parametrize("case,base", PARAMS)
def test_program_on_machine_agrees_with_interpreter(case, base):
    program = case.assemble(base)
    cfg = program.config
    inputs = case.inputs(base)
    assert len(inputs) == INPUTS_PER_BASE
    refs = [run(program, regs, mem, max_steps=case.max_steps) for regs, mem in inputs]
    assert all(r.halted for r in refs)

    machine = Machine(compile_program(program))
    state = machine.initial_state(
        registers=one_hot_registers([r for r, _ in inputs], cfg.registers, cfg.base),
        memory=one_hot_memory([m for _, m in inputs], cfg.m, cfg.base))
    with torch.no_grad():
        out = machine.run(state, max_steps=case.max_steps)
    dec = out.state.decode()

    for i, ((regs, mem), ref) in enumerate(zip(inputs, refs)):
        got_regs, got_mem = dec.registers[i].tolist(), dec.memory[i].tolist()
        assert got_regs == ref.registers, f"input {i}: registers differ"
        assert got_mem == ref.memory, f"input {i}: memory differs"
        assert out.steps[i].item() == ref.steps, f"input {i}: steps differ"
        assert not mismatches(case.expected(regs, mem, base), got_regs, got_mem)
    assert dec.confidence.min().item() >= 0.999
    assert dec.p_halted.min().item() >= 0.999
