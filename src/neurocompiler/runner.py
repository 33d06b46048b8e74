"""The logic behind the ``neurocompiler`` command (``cli.py`` only parses arguments and
reports errors).

* :func:`make_config`, :func:`parse_set`, :func:`parse_sets`, :func:`parse_mem`: turn
  command-line text into a :class:`~neurocompiler.config.MachineConfig` and initial
  values, raising :class:`~neurocompiler.errors.InputError` with a one-line message
  that names the bad token.
* :func:`run_program`: assemble, link and run, on the reference interpreter or (soft)
  on the differentiable machine; returns the JSON-ready outcome.
* :func:`trace_program`: the same run, step by step, as a :class:`Trace` for the text
  trace and for :func:`neurocompiler.plots.plot_trace`.
* :func:`compile_to_file`: compile and save to safetensors.
* :func:`bench_rows`: dispatch to ``neurocompiler.bench`` (imported lazily).
* :func:`demo`: the paper's Figure 4 insertion sort on the interpreter and the machine.
* ``format_*``: the human-readable renderings of each of those results.
"""

from __future__ import annotations

import importlib
import math
import os
import random
import re
from dataclasses import dataclass, field
from importlib.resources import as_file
from importlib.resources import files as resource_files
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from . import footprint
from .asm import Program, assemble_files
from .config import MachineConfig
from .errors import InputError, NotHaltedError

DEFAULT_MAX_STEPS = 10_000
SOFT_TOL = 1e-6  # a soft run stops once every example has 1 - p_halted < SOFT_TOL

_INT = re.compile(r"[+-]?[0-9]+\Z")
_SET = re.compile(r"\s*r([0-9]+)\s*=\s*(\S+)\s*\Z")

PathLike = str | os.PathLike


# ---------------------------------------------------------------------------------------
# Parsing command-line values


def make_config(base: int = 128, registers: int = 16, memory: int | None = None) -> MachineConfig:
    """A validated machine configuration; bad values are an :class:`InputError`."""
    try:
        return MachineConfig(base=base, registers=registers, memory=memory)
    except (ValueError, TypeError) as exc:
        raise InputError(f"invalid machine: {exc}") from None


def _int_token(tok: str, what: str, config: MachineConfig) -> int:
    if not _INT.match(tok):
        raise InputError(f"{what}: '{tok}' is not an integer (values are 0..{config.base - 1})")
    val = int(tok)
    if not 0 <= val < config.base:
        raise InputError(f"{what}: value {val} out of range 0..{config.base - 1}")
    return val


def parse_set(text: str, config: MachineConfig) -> tuple[int, int]:
    """``"r1=8"`` -> ``(1, 8)``, checking the register and the value against ``config``."""
    m = _SET.match(text)
    if not m:
        raise InputError(f"--set '{text}': expected rI=V, e.g. r1=8")
    idx = int(m.group(1))
    if idx >= config.registers:
        raise InputError(f"--set '{text}': unknown register r{idx} "
                         f"(registers are r0..r{config.registers - 1})")
    return idx, _int_token(m.group(2), f"--set '{text}'", config)


def parse_sets(texts: Iterable[str] | None, config: MachineConfig) -> dict[int, int]:
    """Several ``rI=V`` settings; a register set twice keeps the last value."""
    out: dict[int, int] = {}
    for text in texts or []:
        idx, val = parse_set(text, config)
        out[idx] = val
    return out


def parse_mem(text: str | None, config: MachineConfig) -> list[int]:
    """``"5,3,9"`` -> ``[5, 3, 9]``: the values of cells 0, 1, 2, ... (empty: none)."""
    if text is None or not text.strip():
        return []
    tokens = [t.strip() for t in text.split(",")]
    if len(tokens) > config.m:
        raise InputError(f"--mem: {len(tokens)} values given, but memory has only "
                         f"{config.m} cells")
    return [_int_token(tok, f"--mem cell {i}", config) for i, tok in enumerate(tokens)]


# ---------------------------------------------------------------------------------------
# Programs


def program_name(paths: Sequence[PathLike]) -> str:
    """How messages name a (possibly multi-file) program."""
    return ", ".join(str(p) for p in paths) or "<no files>"


def load_program(paths: Sequence[PathLike], config: MachineConfig, entry: str | None = None) -> Program:
    """Assemble and link ``paths`` (in order), starting at ``entry`` when given."""
    if not paths:
        raise InputError("no program files given")
    return assemble_files(list(paths), config, entry)


def _machine(program: Program, alu: str):
    from .alu import ALU_KINDS
    from .compiler import compile_program
    from .machine import Machine

    if alu not in ALU_KINDS:
        raise InputError(f"unknown ALU '{alu}' (choose from {', '.join(ALU_KINDS)})")
    return Machine(compile_program(program), alu=alu)


def _check_max_steps(max_steps: int) -> None:
    if max_steps < 1:
        raise InputError(f"--max-steps must be at least 1, got {max_steps}")


def run_program(paths: Sequence[PathLike], config: MachineConfig,
                registers: dict[int, int] | None = None, memory: Sequence[int] | None = None,
                entry: str | None = None, max_steps: int = DEFAULT_MAX_STEPS,
                soft: bool = False, alu: str = "table", soften: float = 0.0) -> dict[str, Any]:
    """Run a program and return its outcome as a JSON-ready dict.

    Hard (default): the exact reference interpreter. ``{"halted", "steps", "registers",
    "memory"}``. Soft: the differentiable machine; the decoded outcome plus
    ``p_halted`` and ``confidence`` (the least probability among the decoded registers
    and cells); ``steps`` is the machine's step count (batch element 0).

    A run that does not halt within ``max_steps`` raises :class:`NotHaltedError`
    (soft: when ``p_halted < 0.5`` after ``max_steps``).
    """
    _check_max_steps(max_steps)
    program = load_program(paths, config, entry)
    name = program_name(paths)
    if not soft:
        from .interpreter import run

        footprint.check_hard(program.config, f"run {name}")
        res = run(program, registers=registers or {}, memory=list(memory or []),
                  max_steps=max_steps)
        if not res.halted:
            raise NotHaltedError(f"{name}: did not halt within {max_steps} steps")
        return res.to_json()

    import torch

    footprint.check_soft(program, f"run --soft {name}", alu)
    machine = _machine(program, alu)
    with torch.no_grad():
        state = machine.initial_state(registers=registers or {}, memory=list(memory or []),
                                      soften=soften)
        result = machine.run(state, max_steps=max_steps, tol=SOFT_TOL)
    outcome = result.state.decode().to_json(0)
    if not outcome["p_halted"] >= 0.5:
        raise NotHaltedError(f"{name}: did not halt within {max_steps} steps "
                             f"(p_halted = {outcome['p_halted']:.6g})")
    return {"halted": True, "steps": int(result.steps[0]), **outcome}


# ---------------------------------------------------------------------------------------
# Traces


@dataclass
class TraceRow:
    """One executed step. ``pc`` is the (most probable) address executed, ``p_pc`` its
    probability given that the machine is still running (1 for hard runs),
    ``p_halted`` the halting probability after the step, ``changes`` the (decoded)
    registers and memory cells whose value the step changed."""

    step: int
    pc: int
    p_pc: float
    text: str
    p_halted: float
    registers: dict[int, int] = field(default_factory=dict)
    memory: dict[int, int] = field(default_factory=dict)


@dataclass
class Trace:
    """A run step by step, for printing and plotting. ``T`` = number of steps.

    * ``counter`` (T, L+1): distribution of the address executed at step t+1 (one-hot
      for hard runs; for soft runs, the counter conditional on still running);
    * ``registers`` (T+1, R): (most probable) register values after t steps;
    * ``register_probs`` (T+1, R): their probabilities (1 for hard runs);
    * ``p_halted`` (T+1,), ``confidence`` (T+1,): halting probability and the least
      probability among the decoded registers and memory cells, after t steps.
    """

    name: str
    soft: bool
    labels: list[str]  # L+1 addresses: instruction text, last the implicit halt
    counter: Any  # numpy (T, L+1)
    registers: Any  # numpy (T+1, R) int
    register_probs: Any  # numpy (T+1, R)
    p_halted: Any  # numpy (T+1,)
    confidence: Any  # numpy (T+1,)
    rows: list[TraceRow]
    halted: bool
    max_steps: int

    @property
    def steps(self) -> int:
        return len(self.rows)


_IMPLICIT_HALT = "(implicit halt)"


def _labels(program: Program) -> list[str]:
    return [ins.text for ins in program.instructions] + [_IMPLICIT_HALT]


def _changes(before: Sequence[int], after: Sequence[int]) -> dict[int, int]:
    return {i: int(b) for i, (a, b) in enumerate(zip(before, after)) if a != b}


def _hard_trace(program: Program, name: str, registers, memory, max_steps: int) -> Trace:
    import numpy as np

    from .interpreter import initial_values, run

    guard = footprint.trace_guard(program, f"trace {name}")
    R0, M0 = initial_values(program, registers, memory)
    res = run(program, registers=R0, memory=M0, max_steps=max_steps, trace=True, trace_check=guard)
    L, m = len(program), program.config.m
    counter = np.zeros((len(res.trace), L + 1), dtype=np.float32)
    regs = np.zeros((len(res.trace) + 1, program.config.registers), dtype=np.int64)
    regs[0] = R0
    rows = []
    prev = tuple(R0)
    for t, st in enumerate(res.trace):
        counter[t, st.pc] = 1.0
        regs[t + 1] = st.registers
        mem: dict[int, int] = {}
        if st.pc < L and program.instructions[st.pc].op == "write":  # M[b] <- a
            ins = program.instructions[st.pc]
            if prev[ins.b] < m:
                mem[prev[ins.b]] = prev[ins.a]
        halted_now = res.halted and t == len(res.trace) - 1
        rows.append(TraceRow(st.step, st.pc, 1.0, st.text, 1.0 if halted_now else 0.0,
                             _changes(prev, st.registers), mem))
        prev = st.registers
    T = len(rows)
    p_halted = np.zeros(T + 1)
    if res.halted:
        p_halted[-1] = 1.0
    return Trace(name, False, _labels(program), counter, regs, np.ones(regs.shape),
                 p_halted, np.ones(T + 1), rows, res.halted, max_steps)


def _soft_trace(program: Program, name: str, registers, memory, max_steps: int, alu: str,
                soften: float = 0.0) -> Trace:
    import numpy as np
    import torch

    guard = footprint.trace_guard(program, f"trace --soft {name}", soft=True, alu_kind=alu)
    machine = _machine(program, alu)
    labels = _labels(program)
    counters, regs, rprobs, halts, confs, rows = [], [], [], [], [], []
    prev_r = prev_m = None

    def record(state):
        nonlocal prev_r, prev_m
        out = state.decode()
        r, m_ = out.registers[0].tolist(), out.memory[0].tolist()
        regs.append(r)
        rprobs.append(out.register_probs[0].tolist())
        halts.append(float(out.p_halted[0]))
        confs.append(float(out.confidence[0]))
        changes = (_changes(prev_r, r), _changes(prev_m, m_)) if prev_r is not None else None
        prev_r, prev_m = r, m_
        return changes

    with torch.no_grad():
        state = machine.initial_state(registers=registers, memory=memory, soften=soften)
        record(state)
        for step in range(1, max_steps + 1):
            result = machine.run(state, max_steps=1, tol=SOFT_TOL)
            if int(result.steps[0]) == 0:  # halted (1 - p_halted < tol)
                break
            c = state.c[0]
            counters.append(c.tolist())
            p_pc, pc = (float(v) for v in c.max(-1))
            state = result.state
            reg_changes, mem_changes = record(state)
            rows.append(TraceRow(step, int(pc), p_pc, labels[int(pc)], halts[-1],
                                 reg_changes, mem_changes))
            guard(step)
    counter = np.array(counters, dtype=np.float32).reshape(len(rows), len(labels))
    return Trace(name, True, labels, counter, np.array(regs, dtype=np.int64),
                 np.array(rprobs), np.array(halts), np.array(confs), rows,
                 halts[-1] >= 0.5, max_steps)


def trace_program(paths: Sequence[PathLike], config: MachineConfig,
                  registers: dict[int, int] | None = None, memory: Sequence[int] | None = None,
                  entry: str | None = None, max_steps: int = DEFAULT_MAX_STEPS,
                  soft: bool = False, alu: str = "table", soften: float = 0.0) -> Trace:
    """Run step by step and record a :class:`Trace`. A run that does not halt within
    ``max_steps`` is not an error here: the trace says so (``Trace.halted``)."""
    _check_max_steps(max_steps)
    program = load_program(paths, config, entry)
    name = program_name(paths)
    registers, memory = registers or {}, list(memory or [])
    if soft:
        return _soft_trace(program, name, registers, memory, max_steps, alu, soften)
    return _hard_trace(program, name, registers, memory, max_steps)


def write_trace_png(trace: Trace, path: PathLike) -> None:
    """Plot ``trace`` (see :func:`neurocompiler.plots.plot_trace`) to a PNG file."""
    footprint.check_png(trace.steps, trace.registers.shape[1], len(trace.labels), trace.soft,
                        f"trace --png {path}")
    from .plots import plot_trace

    fig = plot_trace(trace)
    try:
        fig.savefig(os.fspath(path), format="png", dpi=100)
    except OSError as exc:
        raise InputError(f"{path}: cannot write PNG: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------------------
# Compile


def _same_file(a: PathLike, b: PathLike) -> bool:
    """Whether paths ``a`` and ``b`` name one file (resolved links, or one inode)."""
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:  # one of them does not exist (yet)
        pass
    return Path(a).resolve() == Path(b).resolve()


def compile_to_file(paths: Sequence[PathLike], config: MachineConfig, out_path: PathLike,
                    entry: str | None = None) -> dict[str, Any]:
    """Compile a program and save it (safetensors, atomically); returns a summary.
    ``out_path`` may not be one of the program's files (also through a link)."""
    from .compiler import compile_program

    program = load_program(paths, config, entry)
    for p in paths:
        if _same_file(p, out_path):
            raise InputError(f"{out_path}: is the program file {p}; compiling would replace it "
                             f"(choose another -o, e.g. {Path(p).with_suffix('.safetensors').name})")
    footprint.check_compile(program, f"compile {program_name(paths)}")
    compiled = compile_program(program)
    try:
        compiled.save(out_path)
    except OSError as exc:
        raise InputError(f"{out_path}: cannot write compiled program: "
                         f"{exc.strerror or exc}") from None
    return {"path": str(out_path), "program": program_name(paths),
            "instructions": len(program), "base": config.base,
            "registers": config.registers, "memory": config.m, "entry": program.entry,
            "bytes": Path(out_path).stat().st_size}


# ---------------------------------------------------------------------------------------
# Bench


def _ints(values: Sequence[int] | None) -> list[int] | None:
    return None if values is None else [int(v) for v in values]


def bench_rows(kind: str, sizes: Sequence[int] | None = None, batches: Sequence[int] | None = None,
               repeats: int | None = None) -> Iterator[dict]:
    """Rows of ``neurocompiler.bench``, which is imported only here.

    ``alu`` calls ``alu_rows(sizes, batch, repeats)`` once per batch size in
    ``batches``; ``machine`` calls ``machine_rows(batches, base, repeats)`` once per
    base in ``sizes``. Options not given keep the bench functions' own defaults."""
    if kind == "memory":  # the memory guard's estimates against measured peaks
        yield from importlib.import_module("neurocompiler.bench_memory").memory_rows()
        return
    bench = importlib.import_module("neurocompiler.bench")
    kw = {} if repeats is None else {"repeats": int(repeats)}
    if kind == "alu":
        if sizes is not None:
            kw["sizes"] = _ints(sizes)
        for b in batches or [None]:
            yield from bench.alu_rows(**kw, **({} if b is None else {"batch": int(b)}))
    elif kind == "train":
        for b in batches or [None]:
            yield from bench.train_rows(**kw, **({} if b is None else {"batch": int(b)}))
    elif kind == "machine":
        if batches is not None:
            kw["batches"] = _ints(batches)
        for base in sizes or [None]:
            yield from bench.machine_rows(**kw, **({} if base is None else {"base": int(base)}))
    else:
        raise InputError(f"unknown benchmark '{kind}' (choose from alu, machine)")


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if v == 0 or not math.isfinite(v):
            return str(v)
        return f"{v:.4g}" if 1e-3 <= abs(v) < 1e6 else f"{v:.3e}"
    return str(v)


def format_table(rows: Sequence[dict]) -> str:
    """Rows as an aligned table; columns in order of first appearance."""
    if not rows:
        return "(no rows)"
    cols: list[str] = []
    for r in rows:
        cols.extend(k for k in r if k not in cols)
    cells = [[_cell(r.get(c, "")) for c in cols] for r in rows]
    width = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    numeric = [all(isinstance(r[c], (int, float)) and not isinstance(r[c], bool)
                   for r in rows if r.get(c) is not None) for c in cols]

    def line(items: Sequence[str]) -> str:
        return "  ".join(s.rjust(w) if num else s.ljust(w)
                         for s, w, num in zip(items, width, numeric)).rstrip()

    return "\n".join([line(cols), line(["-" * w for w in width]), *map(line, cells)])


# ---------------------------------------------------------------------------------------
# Demo

DEMO_PROGRAM = "figure4_insertion_sort.asm"
DEMO_BASE = 128
DEMO_SEED = 2407  # the paper's arXiv number, 2407.04899
DEMO_LENGTH = 8  # the listing sorts M[0..7]


def demo(seed: int = DEMO_SEED, alu: str = "table") -> dict[str, Any]:
    """The paper's Figure 4 insertion sort on a fixed random list of 8 values, run on
    the reference interpreter and soft on the differentiable machine at base 128."""
    import torch

    from .compiler import compile_program
    from .interpreter import run
    from .machine import Machine

    config = make_config(DEMO_BASE)
    rng = random.Random(seed)
    values = [rng.randrange(DEMO_BASE) for _ in range(DEMO_LENGTH)]
    resource = resource_files("neurocompiler") / "programs" / DEMO_PROGRAM
    with as_file(resource) as path:
        program = load_program([path], config)
    footprint.check_soft(program, "demo --machine", alu)
    ref = run(program, memory=values, max_steps=DEFAULT_MAX_STEPS)
    machine = Machine(compile_program(program), alu=alu)
    with torch.no_grad():
        result = machine.run(machine.initial_state(memory=values),
                             max_steps=DEFAULT_MAX_STEPS, tol=SOFT_TOL)
    out = result.state.decode()
    soft = {"halted": float(out.p_halted[0]) >= 0.5, "steps": int(result.steps[0]),
            **out.to_json(0),
            "register_probs": out.register_probs[0].tolist(),
            "memory_probs": out.memory_probs[0].tolist()}
    hard = ref.to_json()
    agree = all(hard[k] == soft[k] for k in ("halted", "steps", "registers", "memory"))
    return {"program": DEMO_PROGRAM, "instructions": len(program), "base": DEMO_BASE,
            "input": values, "interpreter": hard, "machine": soft, "agree": agree}


# ---------------------------------------------------------------------------------------
# Human-readable renderings


def _last_nonzero(values: Sequence[int]) -> int:
    return max((i for i, v in enumerate(values) if v), default=-1)


def format_outcome(out: dict[str, Any]) -> str:
    """A run's outcome: steps, non-zero registers, memory up to the last non-zero cell,
    and for soft runs the probabilities."""
    lines = [f"halted after {out['steps']} steps" if out["halted"]
             else f"not halted after {out['steps']} steps"]
    regs = [f"r{i}={v}" for i, v in enumerate(out["registers"]) if v]
    lines.append("registers: " + (" ".join(regs) if regs else "all 0"))
    last = _last_nonzero(out["memory"])
    if last < 0:
        lines.append("memory: all 0")
    else:
        lines.append(f"memory[0..{last}]: " + " ".join(str(v) for v in out["memory"][:last + 1]))
    if "p_halted" in out:
        lines.append(f"p_halted: {out['p_halted']:.6f}")
        lines.append(f"confidence: {out['confidence']:.6f} "
                     "(least probability among decoded registers and cells)")
    return "\n".join(lines)


def _fmt_changes(row: TraceRow) -> str:
    parts = [f"r{i}={v}" for i, v in row.registers.items()]
    parts += [f"M[{a}]={v}" for a, v in row.memory.items()]
    return " ".join(parts)


def format_trace(trace: Trace, text_width: int = 28) -> str:
    """The per-step text trace. Hard: step, pc, instruction, changes. Soft: step, most
    probable pc, its probability, instruction, p_halted, changes of decoded values."""
    w = max([len("instruction")] + [min(len(r.text), text_width) for r in trace.rows])

    def clip(s: str) -> str:
        return s if len(s) <= text_width else s[:text_width - 1] + "…"

    if trace.soft:
        lines = [f"{'step':>6}  {'pc':>4}  {'p(pc)':>8}  {'instruction':<{w}}  {'p_halted':>8}  changes"]
        lines += [f"{r.step:>6}  {r.pc:>4}  {r.p_pc:>8.6f}  {clip(r.text):<{w}}  "
                  f"{r.p_halted:>8.6f}  {_fmt_changes(r)}".rstrip() for r in trace.rows]
    else:
        lines = [f"{'step':>6}  {'pc':>4}  {'instruction':<{w}}  changes"]
        lines += [f"{r.step:>6}  {r.pc:>4}  {clip(r.text):<{w}}  {_fmt_changes(r)}".rstrip()
                  for r in trace.rows]
    if trace.halted:
        end = f"halted after {trace.steps} steps"
        if trace.soft:
            end += (f" (p_halted {trace.p_halted[-1]:.6f}, "
                    f"confidence {trace.confidence[-1]:.6f})")
    else:
        end = f"did not halt within {trace.max_steps} steps"
        if trace.soft:
            end += f" (p_halted {trace.p_halted[-1]:.6f})"
    lines.append(end)
    return "\n".join(lines)


def format_compile(summary: dict[str, Any]) -> str:
    return (f"wrote {summary['path']}: {summary['instructions']} instructions, "
            f"base {summary['base']}, {summary['registers']} registers, "
            f"{summary['memory']} memory cells, entry {summary['entry']} "
            f"({summary['bytes']} bytes)")


def format_demo(d: dict[str, Any]) -> str:
    hard, soft = d["interpreter"], d["machine"]
    lines = [f"{d['program']}: the paper's Figure 4 insertion sort "
             f"({d['instructions']} instructions), base {d['base']}",
             f"input M[0..{len(d['input']) - 1}]: " + " ".join(map(str, d["input"])),
             "", f"{'':<12}  {'interpreter':>11}  {'machine (soft)':>14}  {'p':>8}"]

    def row(label: str, a: Any, b: Any, p: float | None = None) -> None:
        ps = "" if p is None else f"{p:.6f}"
        mark = "" if a == b else "  <- differs"
        lines.append(f"{label:<12}  {a!s:>11}  {b!s:>14}  {ps:>8}{mark}")

    last = max(_last_nonzero(hard["memory"]), _last_nonzero(soft["memory"]), len(d["input"]) - 1)
    for i in range(last + 1):
        row(f"M[{i}]", hard["memory"][i], soft["memory"][i], soft["memory_probs"][i])
    for i, (a, b) in enumerate(zip(hard["registers"], soft["registers"])):
        if a or b:
            row(f"r{i}", a, b, soft["register_probs"][i])
    row("steps", hard["steps"], soft["steps"])
    row("halted", hard["halted"], soft["halted"], soft["p_halted"])
    lines.append(f"{'confidence':<12}  {'':>11}  {soft['confidence']:>14.6f}")
    lines.append("")
    lines.append("agree: yes (memory, registers, steps and halting are identical)" if d["agree"]
                 else "agree: NO (the machine's decoded outcome differs from the interpreter's)")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# The library Λ


def library_list() -> list[dict[str, Any]]:
    """Every library function with its calling convention."""
    from .library import load_specs

    return [{"function": s.name, "inputs": [f"r{r}" for r in s.inputs],
             "outputs": [f"r{r}" for r in s.outputs], "memory": s.memory,
             "return": f"r{s.ret}", "file": s.file} for s in load_specs().values()]


def format_library_list(rows: Sequence[dict]) -> str:
    return format_table([{**r, "inputs": " ".join(r["inputs"]) or "-",
                          "outputs": " ".join(r["outputs"]) or "-"} for r in rows])


def library_run(name: str, args: Sequence[int], memory: Sequence[int], config: MachineConfig,
                soft: bool = False, alu: str = "table",
                max_steps: int = DEFAULT_MAX_STEPS) -> dict[str, Any]:
    """Run one library function on its own: ``args`` fill its input registers in order,
    ``memory`` the cells from 0; r15 points outside the program, so ``ret`` halts."""
    from .library import RETURN_REGISTER, Library, function_program, load_specs

    specs = load_specs()
    if name not in specs:
        raise InputError(f"unknown library function '{name}' (library: {', '.join(specs)})")
    spec = specs[name]
    if len(args) != len(spec.inputs):
        raise InputError(f"{name} takes {len(spec.inputs)} argument(s) "
                         f"({' '.join(f'r{r}' for r in spec.inputs) or 'none'}), got {len(args)}")
    registers = {r: v for r, v in zip(spec.inputs, args)}
    program = function_program(name, config)  # only the files `name` needs
    registers[RETURN_REGISTER] = config.base - 1
    if soft:
        footprint.check_soft(program, f"library run --soft {name}", alu)
    else:
        footprint.check_hard(config, f"library run {name}")
    from .interpreter import initial_values

    initial_values(program, registers, memory)  # validates ranges, one message per problem
    if not soft:
        from .interpreter import run

        res = run(program, registers, list(memory), max_steps=max_steps)
        if not res.halted:
            raise NotHaltedError(f"{name}: did not halt within {max_steps} steps")
        out = res.to_json()
    else:
        import torch

        lib = Library(config, functions=[name], alu=alu)
        state = lib.machine.initial_state(registers=registers, memory=list(memory))
        with torch.no_grad():
            result = lib(torch.ones(1, 1), state.R, state.M, max_steps=max_steps)
        decoded = result.state.decode().to_json(0)
        if decoded["p_halted"] < 0.5:
            raise NotHaltedError(f"{name}: did not halt within {max_steps} steps")
        out = {"halted": True, "steps": int(result.steps[0, 0]), **decoded}
    out["function"] = name
    out["outputs"] = {f"r{r}": out["registers"][r] for r in spec.outputs}
    return out
