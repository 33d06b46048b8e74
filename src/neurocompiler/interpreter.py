"""The exact reference interpreter, in pure Python.

Step counting (shared with the differentiable machine): executing ``halt`` is one
step, and so is the implicit halt reached by running past the last instruction or
jumping outside the program. A program consisting of ``halt`` alone takes 1 step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from .asm import Program
from .errors import InputError
from .isa import OPCODE_BY_NAME, alu_result


@dataclass(frozen=True)
class TraceStep:
    step: int  # 1-based
    pc: int  # address executed (len(program) for the implicit halt)
    text: str  # the instruction's source text
    registers: tuple[int, ...]  # after the step


@dataclass
class RunResult:
    halted: bool
    steps: int
    registers: list[int]
    memory: list[int]
    trace: list[TraceStep] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"halted": self.halted, "steps": self.steps,
                "registers": list(self.registers), "memory": list(self.memory)}


def initial_values(program: Program, registers: dict[int, int] | Sequence[int] | None,
                   memory: Sequence[int] | None) -> tuple[list[int], list[int]]:
    """Full register and memory lists, zero-filled, after validating ranges."""
    cfg = program.config
    regs = [0] * cfg.registers
    items = registers.items() if isinstance(registers, dict) else enumerate(registers or [])
    for i, v in items:
        if not 0 <= i < cfg.registers:
            raise InputError(f"unknown register r{i} (r0..r{cfg.registers - 1})")
        if not 0 <= v < cfg.base:
            raise InputError(f"register r{i}: value {v} out of range 0..{cfg.base - 1}")
        regs[i] = int(v)
    mem = [0] * cfg.m
    values = list(memory or [])
    if len(values) > cfg.m:
        raise InputError(f"memory: {len(values)} values given, but memory has {cfg.m} cells")
    for i, v in enumerate(values):
        if not 0 <= v < cfg.base:
            raise InputError(f"memory cell {i}: value {v} out of range 0..{cfg.base - 1}")
        mem[i] = int(v)
    return regs, mem


def execute(program: Program, pc: int, R: list[int], M: list[int]) -> int | None:
    """Execute the instruction at ``pc`` in place on ``R`` and ``M``: one reference step.

    Returns the next address, or None when the machine halts (``halt``, or ``pc``
    outside the program).
    """
    n, m = program.config.base, program.config.m
    if not 0 <= pc < len(program):
        return None
    ins = program.instructions[pc]
    group = OPCODE_BY_NAME[ins.op].group
    if group == "halt":
        return None
    if group == "alu":
        R[ins.x] = alu_result(ins.op, R[ins.a], R[ins.b], n)
    elif group == "const":
        R[ins.x] = ins.k
    elif group == "read":
        R[ins.x] = M[R[ins.a]] if R[ins.a] < m else 0
    elif group == "write":
        if R[ins.b] < m:
            M[R[ins.b]] = R[ins.a]
    elif group == "jump":
        return ins.target if R[ins.a] == 1 else pc + 1
    elif group == "jumpr":
        return R[ins.b] if R[ins.a] == 1 else pc + 1
    elif group == "jmp":
        return ins.target
    elif group == "call":
        R[ins.x] = (pc + 1) % n
        return ins.target
    elif group == "ret":
        return R[ins.a]
    elif group == "store":
        R[ins.x] = pc % n
    else:  # pragma: no cover - the opcode table and this switch must agree
        raise AssertionError(f"unhandled opcode group {group}")
    return pc + 1


def run(program: Program, registers: dict[int, int] | Sequence[int] | None = None,
        memory: Sequence[int] | None = None, max_steps: int = 10_000,
        trace: bool = False, trace_check: Callable[[int], None] | None = None) -> RunResult:
    """Run ``program`` exactly from its entry address. With ``trace``, every step is
    recorded, and ``trace_check(steps recorded)`` is called after each (it may raise,
    e.g. :class:`~neurocompiler.resources.TraceGuard` when the trace outgrows memory)."""
    L = len(program)
    R, M = initial_values(program, registers, memory)
    pc, steps, halted = program.entry, 0, False
    log: list[TraceStep] = []
    while steps < max_steps:
        steps += 1
        nxt = execute(program, pc, R, M)
        halted = nxt is None
        if trace:
            text = program.instructions[pc].text if 0 <= pc < L else "(halt: outside the program)"
            log.append(TraceStep(steps, pc if 0 <= pc < L else L, text, tuple(R)))
            if trace_check is not None:
                trace_check(steps)
        if halted:
            break
        pc = nxt
    return RunResult(halted, steps, R, M, log)
