"""Swappable ALUs: every program gives the same outcome on the table, circuit and exact
ALUs, and a machine built at one base runs unchanged at a wider word size."""

import pytest
import torch

from neurocompiler import MachineConfig, assemble, compile_program, run
from neurocompiler.errors import InputError
from neurocompiler.machine import Machine
from programs import CASES
from test_machine_programs import one_hot_memory, one_hot_registers

INPUTS = 12  # per case; the table ALU covers 100 per case in test_machine_programs


@pytest.mark.parametrize("alu", ["circuit", "exact"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_program_agrees_on_every_alu(case, alu):
    base = 128
    program = case.assemble(base)
    cfg = program.config
    inputs = case.inputs(base, count=INPUTS, seed=1)
    state_args = dict(registers=one_hot_registers([r for r, _ in inputs], cfg.registers, cfg.base),
                      memory=one_hot_memory([m for _, m in inputs], cfg.m, cfg.base))
    compiled = compile_program(program)
    outcomes = {}
    for kind in ("table", alu):
        machine = Machine(compiled, alu=kind)
        with torch.no_grad():
            out = machine.run(machine.initial_state(**state_args), max_steps=case.max_steps)
        outcomes[kind] = (out.state.decode(), out.steps)
    (t, t_steps), (o, o_steps) = outcomes["table"], outcomes[alu]
    assert torch.equal(t.registers, o.registers) and torch.equal(t.memory, o.memory)
    assert torch.equal(t_steps, o_steps)
    assert o.confidence.min() >= 0.999 and o.p_halted.min() >= 0.999
    for i, (regs, mem) in enumerate(inputs):
        assert o.registers[i].tolist() == run(program, regs, mem, case.max_steps).registers


SUMSQ = """
loop: eq r1 r0 r4
    jump r4 done
    dec r1
    read r1 r5
    mul r5 r5 r5
    add r2 r5 r2
    jmp loop
done: halt
"""  # r2 <- sum of M[i]^2 for i < r1


@pytest.mark.parametrize("alu", ["circuit", "exact"])
@pytest.mark.parametrize("trainable", [False, True])
def test_machine_built_at_one_base_runs_at_a_wider_word(alu, trainable):
    small = Machine(compile_program(assemble(SUMSQ, MachineConfig(base=16, registers=6)),
                                    trainable=trainable))
    wide = small.widen(2 ** 12, alu=alu)
    assert wide.config.base == 4096 and wide.config.m == 4096
    values = [1000, 77, 3001]
    ref = run(assemble(SUMSQ, MachineConfig(base=4096, registers=6)), {1: 3}, values)
    with torch.no_grad():
        out = wide.run(wide.initial_state(registers={1: 3}, memory=values), max_steps=100)
    dec = out.state.decode()
    assert dec.registers[0].tolist() == ref.registers and ref.registers[2] > 16
    assert dec.confidence.item() > 0.99 and dec.p_halted.item() > 0.999
    if not trainable:  # an adaptive program's residual e^-20 mass runs on a few steps
        assert out.steps.item() == ref.steps


def test_widening_to_a_narrower_word_is_refused():
    machine = Machine(compile_program(assemble(SUMSQ, MachineConfig(base=64, registers=6))))
    with pytest.raises(InputError, match="cannot widen"):
        machine.widen(32)
