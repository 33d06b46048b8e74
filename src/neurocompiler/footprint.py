"""Memory estimates of the machine, its ALUs, programs and traces, from the
configuration alone, before anything is allocated (see :mod:`neurocompiler.resources`).

Each function returns a :class:`~neurocompiler.resources.Estimate` in named parts. The
shapes are those of ``alu/``, ``compiler.py``, ``machine.py`` and ``state.py``; the
per-object costs of Python records (traces) and the process itself were measured
(``neurocompiler bench memory``, docs/PERFORMANCE.md).
"""

from __future__ import annotations

from typing import Sequence

from .config import MachineConfig
from .isa import ALU_NAMES, OPCODES, REGISTER_WRITERS
from .resources import Estimate, TraceGuard, budget, check

FLOAT, LONG = 4, 8  # float32 and int64 bytes
MiB = 1 << 20
# Peak RSS of a `neurocompiler` process that has imported torch, transformers and
# tokenizers and run a tiny program (measured: 335-345 MiB on Linux x86-64, torch 2.13).
PROCESS = 345 * MiB
# Hard trace: bytes per recorded step (TraceStep, TraceRow, numpy rows, the printed
# line), per register and per program line; soft trace likewise (Python floats).
HARD_STEP, HARD_STEP_REGISTER, HARD_STEP_LINE = 620, 24, 4
SOFT_STEP, SOFT_STEP_REGISTER, SOFT_STEP_LINE = 1400, 64, 40
# trace --png: matplotlib itself, and per step its float64 copies (lines, image)
PLOT, PLOT_STEP, PLOT_STEP_REGISTER, PLOT_STEP_LINE = 60 * MiB, 400, 32, 16

ALU_FIX = ("use --alu exact or circuit (train: --set alu=exact), a smaller --base, or raise "
           "the memory budget (--memory-budget, or $NEUROCOMPILER_MEMORY_BUDGET)")
BASE_FIX = ("use a smaller --base or --memory (train: --cells), or raise the memory budget (--memory-budget, "
            "or $NEUROCOMPILER_MEMORY_BUDGET)")


def process() -> Estimate:
    """The process itself, before it allocates anything of its own."""
    return Estimate({"process (Python, torch)": PROCESS})


def table_ops(ops: Sequence[str] = ALU_NAMES) -> list[str]:
    """The table ALU's generic opcodes (not ``TableALU.STRUCTURED``): each holds an
    n x n index and scatters a (B, n^2) outer product."""
    from .alu.table import TableALU

    return [o for o in ops if o not in TableALU.STRUCTURED]


def alu(kind: str, n: int, batch: int = 1, ops: Sequence[str] = ALU_NAMES, grad: bool = False,
        calls: int = 1, used: Sequence[str] | None = None) -> Estimate:
    """An ALU's tables and the temporaries of ``calls`` concurrent calls on ``batch`` rows
    (``grad``: with their backward); ``used``: the opcodes a program runs (None: all)."""
    k, bits = len(ops), max(1, (n - 1).bit_length())
    back = 3 if grad else 1
    if kind == "table":
        g = len(table_ops(ops))
        tables = g * n * n * LONG
        build = 2 * n * n * LONG if g else 0  # one table's temporaries while it is built
        scatter = bool(table_ops(ops if used is None else [o for o in ops if o in used]))
        call = batch * n * n * FLOAT * back if scatter else 4 * batch * n * FLOAT * back
        return Estimate({"ALU tables": tables, "ALU temporaries": max(build, call * calls)})
    if kind in ("dense", "dense_best"):
        tables = k * n ** 3 * FLOAT
        build = k * n * n * LONG  # the result indexes it is scattered from
        per = n ** 3 if kind == "dense" else k * n * n
        return Estimate({"ALU tables": tables + build, "ALU temporaries": batch * per * FLOAT * back * calls})
    if kind == "circuit":
        return Estimate({"ALU tables": 2 * n * bits * FLOAT,
                         "ALU temporaries": 3 * batch * k * n * FLOAT * back * calls})
    if kind == "exact":
        return Estimate({"ALU temporaries": batch * n * (FLOAT + k * (LONG + FLOAT) * grad) * calls})
    return Estimate()  # an unknown kind is reported by make_alu


def program(config: MachineConfig, lines: int) -> Estimate:
    """A compiled program (compiler.py: per line op, a, b, x, k, target) and the
    machine's (lines, n) buffers (machine.py), with the int64 one-hots they come from."""
    n, R, L1 = config.base, config.registers, lines
    compiled = L1 * (len(OPCODES) + 3 * R + n + L1) * FLOAT
    buffers = 3 * L1 * n * FLOAT
    return Estimate({"program": compiled + buffers + L1 * n * LONG})


def state(config: MachineConfig, lines: int, batch: int = 1, copies: float = 1.0) -> Estimate:
    """``copies`` machine states: M (B, m, n), R (B, R, n), c (B, lines), h (B,)."""
    n = config.base
    one = batch * (config.m * n + config.registers * n + lines + 1) * FLOAT
    return Estimate({"machine state": int(one * copies)})


def initial(config: MachineConfig) -> int:
    """Bytes of State.initial's one-hots (int64, then float) before they are batched."""
    return (config.m + config.registers) * config.base * (LONG + FLOAT)


def step(config: MachineConfig, lines: int, batch: int, alu_kind: str,
         used: Sequence[str] | None = None) -> int:
    """Temporaries of one untraced step: the new state and the writes' differences,
    (B, n) vectors, and the ALU's call."""
    states = state(config, lines, batch, 2.0).total
    call = alu(alu_kind, config.base, batch, used=used).parts.get("ALU temporaries", 0)
    return states + 16 * batch * config.base * FLOAT + call


def traced_step(config: MachineConfig, lines: int, batch: int, alu_kind: str,
                ops: Sequence[str] = ALU_NAMES, writes: bool = True) -> int:
    """Bytes autograd keeps per traced step: each register update's difference and the
    next state (2 x R), the same for memory when the program writes (2.5 x M,
    measured), the (B, n) vectors of every computed opcode, and the counter's
    (B, lines) products; and what the ALU keeps (dense: its (B, n^3) or (B, |ops| n^2)
    contraction, circuit: its (B, |ops|, n) one-hots)."""
    n, B = config.base, batch
    regs = 2 * B * config.registers * n
    mem = 5 * B * config.m * n // 2 if writes else 0
    vectors = B * n * (12 + (3 if alu_kind == "table" else 1) * len(ops))
    counter = 24 * B * lines
    kept = {"circuit": 4 * len(ops) * n, "dense": n ** 3, "dense_best": len(ALU_NAMES) * n * n}
    return (regs + mem + vectors + counter + B * kept.get(alu_kind, 0)) * FLOAT


def soft_run(config: MachineConfig, lines: int, alu_kind: str, batch: int = 1,
             traced_steps: int = 0, used: Sequence[str] | None = None) -> Estimate:
    """A whole run on the differentiable machine: process, program, ALU tables, the
    state, the largest of the temporaries (building the ALU, the initial one-hots, a
    step), and ``traced_steps`` steps kept for a backward pass. ``used``: the
    program's opcodes (None: all)."""
    tables = alu(alu_kind, config.base, batch, used=used)
    build = tables.parts.pop("ALU temporaries", 0)  # building the tables, or a call
    machine = step(config, lines, batch, alu_kind, used)
    call = machine - step(config, lines, batch, "exact", used)
    temporaries = max(build, initial(config), machine)
    name = "ALU temporaries" if max(build, call) * 2 >= temporaries else "machine temporaries"
    est = process() + program(config, lines) + tables + state(config, lines, batch) \
        + Estimate({name: temporaries})
    if traced_steps:
        ops = [o for o in ALU_NAMES if used is None or o in used]
        per = traced_step(config, lines, batch, alu_kind, ops, writes=used is None or "write" in used)
        est = est + Estimate({"autograd graph": traced_steps * per})
    return est


def hard_state(config: MachineConfig) -> Estimate:
    """The interpreter's register and memory lists (a few copies: the run, its result,
    the JSON) and, for values above 256, an int object per cell."""
    cells = config.m + config.registers
    per = 3 * LONG + (32 if config.base > 256 else 0) + len(str(config.base - 1)) + 2
    return Estimate({"interpreter state": cells * per})


def hard_run(config: MachineConfig) -> Estimate:
    return process() + hard_state(config)


def hard_trace_step(config: MachineConfig, lines: int) -> int:
    """Bytes per step of a hard trace (runner._hard_trace and its printed text)."""
    return HARD_STEP + HARD_STEP_REGISTER * config.registers + HARD_STEP_LINE * lines


def soft_trace_step(config: MachineConfig, lines: int) -> int:
    """Bytes per step of a soft trace (runner._soft_trace and its printed text)."""
    return SOFT_STEP + SOFT_STEP_REGISTER * config.registers + SOFT_STEP_LINE * lines


def compile_file(config: MachineConfig, lines: int) -> Estimate:
    """Compiling and saving: the program's tensors and safetensors' serialised copy."""
    est = program(config, lines)
    return process() + est + Estimate({"serialised file": est.total // 2})


# ---------------------------------------------------------------- guards

TRACE_FIX = "lower --max-steps to about {steps:,} or fewer, or raise --memory-budget"


def fix_for(est: Estimate) -> str:
    """A concrete fix for ``est``: the ALU's, when its parts outweigh the machine's."""
    alu_part = sum(v for k, v in est.parts.items() if k.startswith("ALU"))
    rest = sum(v for k, v in est.parts.items() if not k.startswith(("ALU", "process")))
    return ALU_FIX if alu_part >= rest else BASE_FIX


def _used(program) -> set[str]:
    return {ins.op for ins in program.instructions}


def _where(program, alu_kind: str | None) -> str:
    cfg = program.config
    kind = f", the {alu_kind} ALU" if alu_kind else ""
    return f" (base {cfg.base}, {cfg.m} memory cells{kind})"


def check_soft(program, what: str, alu_kind: str, batch: int = 1) -> None:
    """Refuse a soft run of a linked ``program`` that would not fit (one line)."""
    est = soft_run(program.config, len(program) + 1, alu_kind, batch, used=_used(program))
    check(est, None, what + _where(program, alu_kind), fix_for(est))


def check_hard(config: MachineConfig, what: str) -> None:
    """Refuse an interpreter run whose register and memory lists would not fit."""
    check(hard_run(config), None, f"{what} (base {config.base}, {config.m} memory cells)", BASE_FIX)


def check_compile(program, what: str) -> None:
    est = compile_file(program.config, len(program) + 1)
    check(est, None, what + _where(program, None), BASE_FIX)


def check_png(steps: int, registers: int, lines: int, soft: bool, what: str) -> None:
    """Refuse to plot a trace whose figure (matplotlib's copies of every step's counter
    and registers) would not fit beside the trace itself."""
    cfg = MachineConfig(base=2, registers=registers, memory=0)
    per = soft_trace_step(cfg, lines) if soft else hard_trace_step(cfg, lines)
    figure = PLOT + steps * (PLOT_STEP + PLOT_STEP_REGISTER * registers + PLOT_STEP_LINE * lines)
    est = process() + Estimate({"trace": steps * per, "figure": figure})
    check(est, None, what, "lower --max-steps, leave out --png, or raise --memory-budget")


def trace_guard(program, what: str, soft: bool = False, alu_kind: str = "table"):
    """A :class:`~neurocompiler.resources.TraceGuard` for a trace of ``program``: its
    run's fixed part checked now, each recorded step as it comes."""
    cfg, lines = program.config, len(program) + 1
    if soft:
        fixed, per = soft_run(cfg, lines, alu_kind, used=_used(program)), soft_trace_step(cfg, lines)
    else:
        fixed, per = hard_run(cfg), hard_trace_step(cfg, lines)
    limit = budget()
    steps = max(0, (limit.bytes - fixed.total) // per)
    fix = TRACE_FIX.format(steps=steps) if fixed.total < limit.bytes else fix_for(fixed)
    return TraceGuard(fixed, per, "trace", what + _where(program, alu_kind if soft else None), fix, limit)


# ---------------------------------------------------------------- step bounds

def step_bound(instructions: Sequence, entry: int, return_register: int | None) -> int | None:
    """The most steps a run from ``entry`` can take (the halt included), or None when
    the control flow has a cycle or jumps to an address held in a register other than
    ``return_register`` (which then must never be written: a jump there leaves the
    program). ``instructions``: a linked program's, with ``op``, ``a``, ``b``, ``x``,
    ``target``."""
    L = len(instructions)
    group = {op.name: op.group for op in OPCODES}

    def successors(pc: int) -> list[int] | None:
        ins = instructions[pc]
        g = group[ins.op]
        if g == "halt":
            return []
        if g in ("jump", "jmp"):
            nxt = [min(ins.target, L)]
            return nxt + ([pc + 1] if g == "jump" else [])
        if g in ("jumpr", "ret"):
            reg = ins.b if g == "jumpr" else ins.a
            if reg != return_register:
                return None
            return [L] + ([pc + 1] if g == "jumpr" else [])
        if g == "call":
            return None  # returns through a register the callee holds
        return [pc + 1]

    seen, todo = set(), [entry]
    while todo:  # what the run can reach must not write the return register
        pc = todo.pop()
        if pc >= L or pc in seen:
            continue
        seen.add(pc)
        if instructions[pc].op in REGISTER_WRITERS and instructions[pc].x == return_register:
            return None
        todo.extend(successors(pc) or [])
    longest: dict[int, int] = {L: 1}  # steps from an address to the halt, at most
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    stack = [entry if entry < L else L]
    while stack:  # an iterative depth-first search, post-order
        pc = stack[-1]
        if pc in longest:
            stack.pop()
            continue
        nxt = successors(pc)
        if nxt is None:
            return None
        nxt = [min(p, L) for p in nxt]
        if state.get(pc) == 1:  # its successors are done
            longest[pc] = 1 + max((longest[p] for p in nxt), default=0)
            state[pc] = 2
            stack.pop()
            continue
        state[pc] = 1
        for p in nxt:
            if state.get(p) == 1:
                return None  # a cycle
            if p not in longest:
                stack.append(p)
    return longest[entry if entry < L else L]


__all__ = ["ALU_FIX", "BASE_FIX", "PROCESS", "alu", "compile_file", "hard_run", "hard_state",
           "hard_trace_step", "program", "soft_run", "soft_trace_step", "state", "step_bound",
           "traced_step"]
