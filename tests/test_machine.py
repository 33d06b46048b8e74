"""The differentiable machine: one step per opcode against the reference step, soft
inputs against brute-force enumeration, gradients, and conservation of mass."""

import itertools
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocompiler.asm import assemble
from neurocompiler.compiler import compile_program
from neurocompiler.config import MachineConfig
from neurocompiler.interpreter import execute, initial_values, run
from neurocompiler.isa import DST, IMM, LABEL, OPCODES, REG
from neurocompiler.machine import Machine
from neurocompiler.state import State


def _value(draw, n, lines):
    """Register/cell values that exercise flags (0, 1, 2), wraparound and addresses."""
    return draw(st.one_of(st.sampled_from([0, 1, 2, n - 1]), st.integers(0, min(n - 1, lines + 1)),
                          st.integers(0, n - 1)))


def _random_instruction(draw, op, n, nreg):
    form = draw(st.sampled_from(op.forms))
    parts = [op.name]
    for kind, _ in form:
        if kind in (REG, DST):
            parts.append(f"r{draw(st.integers(0, nreg - 1))}")
        elif kind == IMM:
            parts.append(str(draw(st.integers(0, n - 1))))
        else:
            assert kind == LABEL
            parts.append("t")
    return " ".join(parts)


@pytest.mark.parametrize("base", [8, 16, 128])
@pytest.mark.parametrize("op", OPCODES, ids=lambda op: op.name)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_one_step_equals_reference_step(op, base, data):
    draw = data.draw
    nreg = 4
    memory = draw(st.sampled_from([base, base // 2]))
    lines = draw(st.integers(1, 8))
    pc = draw(st.integers(0, lines))  # == lines: the implicit halt past the end
    label_at = draw(st.integers(0, lines - 1))
    body = ["halt"] * lines
    if pc < lines:
        body[pc] = _random_instruction(draw, op, base, nreg)
    else:
        body[label_at] = _random_instruction(draw, op, base, nreg)
    body[label_at] = "t: " + body[label_at]
    cfg = MachineConfig(base=base, registers=nreg, memory=memory)
    program = assemble("\n".join(body), cfg)
    regs = [_value(draw, base, lines) for _ in range(nreg)]
    mem = [_value(draw, base, lines) for _ in range(memory)]

    R, M = initial_values(program, regs, mem)
    nxt = execute(program, pc, R, M)

    machine = Machine(compile_program(program))
    s = machine.step(machine.initial_state(registers=regs, memory=mem, entry=pc))
    assert torch.equal(s.R[0], F.one_hot(torch.tensor(R), base).float())
    assert torch.equal(s.M[0], F.one_hot(torch.tensor(M, dtype=torch.long), base).float().reshape(memory, base))
    if nxt is None:  # halted: h = 1, the counter stays where it was
        assert s.h.item() == 1.0
        assert s.c[0].argmax().item() == pc
    else:
        assert s.h.item() == 0.0
        assert torch.equal(s.c[0], F.one_hot(torch.tensor(min(max(nxt, 0), lines)), lines + 1).float())


# A branch-free program in which every instruction's operands are independent
# random variables, so the machine's per-register marginals are exact.
BRANCH_FREE = """
    add r1 r2 r3
    mul r4 r5 r6
    sub r3 r6 r7
    lt r1 r4 r8
    write r7 r0
    read r9 r10
    max r2 r5 r11
    halt
"""
SOFT_INPUTS = (0, 1, 4, 9)  # r2, r5 stay one-hot


def test_branch_free_soft_inputs_give_the_brute_force_expectation():
    n, nreg = 8, 12
    cfg = MachineConfig(base=n, registers=nreg)
    program = assemble(BRANCH_FREE, cfg)
    gen = torch.Generator().manual_seed(0)
    probs = {r: torch.softmax(torch.randn(n, generator=gen, dtype=torch.float64), -1) for r in SOFT_INPUTS}
    memory = [3, 1, 0, 2, 7, 5, 6, 4]
    fixed = {2: 5, 5: 3}

    want_R = torch.zeros(nreg, n, dtype=torch.float64)
    want_M = torch.zeros(n, n, dtype=torch.float64)
    for values in itertools.product(range(n), repeat=len(SOFT_INPUTS)):
        weight = torch.prod(torch.stack([probs[r][v] for r, v in zip(SOFT_INPUTS, values)]))
        out = run(program, {**fixed, **dict(zip(SOFT_INPUTS, values))}, memory)
        assert out.halted
        want_R[torch.arange(nreg), out.registers] += weight
        want_M[torch.arange(n), out.memory] += weight

    R0 = F.one_hot(torch.tensor([fixed.get(r, 0) for r in range(nreg)]), n).double()
    for r in SOFT_INPUTS:
        R0[r] = probs[r]
    machine = Machine(compile_program(program))
    state = machine.initial_state(registers=R0[None], memory=memory, dtype=torch.float64)
    final = machine.run(state, max_steps=50)
    assert final.steps.item() == 8
    torch.testing.assert_close(final.state.R[0], want_R, atol=1e-12, rtol=0)
    torch.testing.assert_close(final.state.M[0], want_M, atol=1e-12, rtol=0)
    assert final.state.h.item() == pytest.approx(1.0, abs=1e-12)


STEP_PROGRAM = """
start: add r0 r1 r2
    jump r2 mid
    write r1 r0
    read r1 r2
mid: call fn r2
    jumpr r0 r1
    halt
fn: lt r0 r1 r0
    5 r1
    store r2
    ret r2
"""


def _soft_state(cfg, lines, gen, batch=2, dtype=torch.float64):
    def dist(*shape):
        return torch.softmax(torch.randn(*shape, generator=gen, dtype=dtype) * 1.5, -1)

    return State(M=dist(batch, cfg.m, cfg.base), R=dist(batch, cfg.registers, cfg.base),
                 c=dist(batch, lines), h=torch.rand(batch, generator=gen, dtype=dtype) * 0.5)


@pytest.mark.parametrize("alu", ["table", "dense"])
def test_gradcheck_one_machine_step(alu):
    cfg = MachineConfig(base=12, registers=3, memory=4)
    machine = Machine(compile_program(assemble(STEP_PROGRAM, cfg)), alu=alu)
    s = _soft_state(cfg, machine.program.lines, torch.Generator().manual_seed(0))

    def step(M, R, c, h):
        out = machine.step(State(M, R, c, h))
        return out.M, out.R, out.c, out.h

    inputs = tuple(t.clone().requires_grad_() for t in (s.M, s.R, s.c, s.h))
    assert torch.autograd.gradcheck(step, inputs)


def test_gradcheck_one_step_of_an_adaptive_program():
    cfg = MachineConfig(base=11, registers=3, memory=3)
    program = compile_program(assemble(STEP_PROGRAM.replace("5 r1", "4 r1"), cfg), trainable=True,
                              sharpness=2.0).double()
    machine = Machine(program)
    s = _soft_state(cfg, program.lines, torch.Generator().manual_seed(1), batch=1)
    names = [name for name, _ in machine.named_parameters()]
    assert len(names) == 6

    def step(*logits):
        out = torch.func.functional_call(machine, dict(zip(names, logits)), (s,), {"max_steps": 1})
        return out.M, out.R, out.c, out.h

    inputs = tuple(p.detach().clone().requires_grad_() for p in machine.parameters())
    assert torch.autograd.gradcheck(step, inputs)


def test_table_and_dense_machines_agree_over_many_steps_with_gradients():
    cfg = MachineConfig(base=12, registers=3, memory=12)
    program = compile_program(assemble(STEP_PROGRAM, cfg))
    results = []
    for alu in ("table", "dense_best"):
        machine = Machine(program, alu=alu)
        s = _soft_state(cfg, program.lines, torch.Generator().manual_seed(3))
        R = s.R.clone().requires_grad_()
        for _ in range(12):
            s = machine.step(State(s.M, R if _ == 0 else s.R, s.c, s.h))
        loss = (s.R.log() * torch.arange(12.0, dtype=s.R.dtype)).sum() + s.M.square().sum()
        (grad,) = torch.autograd.grad(loss, R)
        results.append((s.R.detach(), s.M.detach(), s.c.detach(), s.h.detach(), grad))
    for x, y in zip(*results):
        torch.testing.assert_close(x, y, atol=1e-10, rtol=1e-8)


LOOP = """
top: inc r1
    add r1 r2 r2
    write r2 r1
    read r3 r4
    lt r4 r2 r5
    jump r5 top
    mul r2 r4 r3
    jumpr r5 r3
    call top r6
    jmp top
"""


def test_mass_is_conserved_over_1000_soft_steps():
    cfg = MachineConfig(base=16, registers=8)
    program = compile_program(assemble(LOOP, cfg), trainable=True, sharpness=3.0)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # perturb every line so nothing is one-hot
        for p in program.parameters():
            p.add_(torch.randn(p.shape, generator=gen))
    machine = Machine(program)
    s = _soft_state(cfg, program.lines, gen, batch=4, dtype=torch.float32)
    s = State(s.M, s.R, s.c, torch.zeros(4))
    with torch.no_grad():
        for _ in range(1000):
            s = machine.step(s)
    for name, mass in s.masses().items():
        assert torch.isfinite(mass).all(), name
        torch.testing.assert_close(mass, torch.ones_like(mass), atol=1e-5, rtol=0, msg=name)
    assert ((s.h >= 0) & (s.h <= 1 + 1e-6)).all()
    for t in (s.M, s.R, s.c):
        assert (t >= -1e-6).all()


def test_gradients_reach_soft_inputs_through_a_loop():
    cfg = MachineConfig(base=32, registers=6)
    program = assemble("""
        loop: add r1 r2 r2
            dec r3
            eq r3 r0 r5
            inc r5
            jump r5 loop
            halt
    """, cfg)  # r2 <- r2 + r1 * r3, r3 counting down; r0 = 0, r5 is scratch
    machine = Machine(compile_program(program))
    logits = (torch.randn(1, 32, generator=torch.Generator().manual_seed(0))
              + 3 * F.one_hot(torch.tensor([3]), 32)).requires_grad_()  # r1 is probably 3
    R = F.one_hot(torch.tensor([[0, 3, 1, 4, 0, 0]]), 32).float()
    R = torch.cat([R[:, :1], torch.softmax(logits, -1)[:, None], R[:, 2:]], 1)
    out = machine.run(machine.initial_state(registers=R), max_steps=100)
    target = torch.tensor([13])  # 1 + 3 * 4 when r1 = 3
    loss = F.nll_loss(out.state.R[:, 2].clamp_min(1e-12).log(), target)
    loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    assert logits.grad[0, 3] < 0  # raising P(r1 = 3) lowers the loss


def test_machine_refuses_an_alu_without_the_programs_opcodes():
    from neurocompiler.alu import TableALU

    program = compile_program(assemble("mul r1 r2 r3\nhalt", MachineConfig(base=8)))
    with pytest.raises(ValueError, match="lacks opcodes the program can run: mul"):
        Machine(program, alu=TableALU(8, ops=("add", "sub")))
    Machine(program, alu=TableALU(8, ops=("mul",)))  # enough for this program
