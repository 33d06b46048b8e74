"""The standard library Λ (§3.1, §3.4): shipped ``.asm`` functions, linked and compiled
once, run as one batch, and mixed by a selection distribution.

Each function lives in ``library/asm/NAME.asm`` under the library's calling convention:
scalar arguments in r1..r3, a list in M[0..r1-1], a scalar result in r0, list results in
place, return through ``ret r15``. The machine-readable ``#@`` lines above each label
state the convention; :func:`load_specs` parses them.

A :class:`Library` runs every selected function in its own machine state, all of them
batched along one dimension, so functions cannot interfere. ``r15`` is set to an address
outside the linked program, so a function's ``ret r15`` halts its machine. The output
is the selection-weighted mixture of the functions' final states: the paper's "all
library functions are run, weighted by this softmax output".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..alu import ALU
from ..asm import ParsedFile, Program, link, parse
from ..compiler import compile_program
from ..config import MachineConfig
from ..errors import InputError
from ..exact import ExactProgram, ExactRun, run_exact
from ..machine import Machine
from ..state import State

RETURN_REGISTER = 15
_HEADER = re.compile(r"#@\s*(\w+)\s*:\s*(.*?)\s*$")


@dataclass(frozen=True)
class FunctionSpec:
    """A library function's calling convention, from its ``#@`` header."""

    name: str
    inputs: tuple[int, ...]  # argument registers
    outputs: tuple[int, ...]  # result registers
    memory: str  # "none", or the cells it reads / writes
    ret: int  # the return-address register
    file: str

    def describe(self) -> str:
        regs = lambda rs: " ".join(f"r{r}" for r in rs) or "none"  # noqa: E731
        return (f"{self.name}: inputs {regs(self.inputs)}; outputs {regs(self.outputs)}; "
                f"memory {self.memory}; returns via r{self.ret}")


def _registers(text: str) -> tuple[int, ...]:
    return () if text.strip() == "none" else tuple(int(t.lstrip("r")) for t in text.split())


def library_sources() -> list[tuple[str, str]]:
    """``(file name, text)`` of every shipped library file, sorted by name."""
    folder = files("neurocompiler") / "library" / "asm"
    paths = sorted((p for p in folder.iterdir() if p.name.endswith(".asm")), key=lambda p: p.name)
    return [(p.name, p.read_text(encoding="utf-8")) for p in paths]


def needed_files(functions: Sequence[str], parsed: Sequence[ParsedFile]) -> list[ParsedFile]:
    """The files that define ``functions`` and, transitively, every label they reference,
    in library order: a library of only ``fib`` links only ``fib.asm``."""
    owner = {label: f.name for f in parsed for label, _, _ in f.labels}
    by_name = {f.name: f for f in parsed}
    todo = [owner[name] for name in functions if name in owner]
    keep: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo.extend(owner[ref] for item in by_name[name].items if item.label_ref
                        for ref in [item.label_ref[0]] if ref in owner)
    return [f for f in parsed if f.name in keep]


def function_program(name: str, config: MachineConfig) -> Program:
    """Library function ``name`` linked alone, entered at its label: only the files it
    needs, since the others may not fit ``config`` (e.g. base 64). Which files those
    are does not depend on the machine, so a wide one finds them."""
    wide = MachineConfig(base=max(config.base, 1 << 16), registers=max(config.registers, 16))
    sources = library_sources()
    keep = {f.name for f in needed_files([name], [parse(text, file, wide) for file, text in sources])}
    return link([parse(text, file, config) for file, text in sources if file in keep], config).with_entry(name)


def library_length(functions: Sequence[str], config: MachineConfig) -> int:
    """Instructions in the program that links ``functions`` (what ``Library`` builds);
    a base must be above it, to leave a free address for returns."""
    parsed = [parse(text, name, config) for name, text in library_sources()]
    return len(link(needed_files(functions, parsed), config))


def parse_spec(name: str, text: str) -> FunctionSpec:
    fields = {m.group(1): m.group(2) for m in map(_HEADER.match, text.splitlines()) if m}
    missing = {"function", "inputs", "outputs", "memory", "return"} - fields.keys()
    if missing:
        raise InputError(f"{name}: library header lacks {', '.join(sorted(missing))}")
    return FunctionSpec(fields["function"], _registers(fields["inputs"]),
                        _registers(fields["outputs"]), fields["memory"],
                        _registers(fields["return"])[0], name)


def load_specs() -> dict[str, FunctionSpec]:
    """Every library function's convention, by name, in file order."""
    specs = [parse_spec(name, text) for name, text in library_sources()]
    return {s.name: s for s in specs}


@dataclass
class LibraryOutput:
    """The selection mixture (``state``) and every function's own final state."""

    state: State  # mixture over functions: M (B,m,n), R (B,R,n), h (B,); c is not mixed
    per_function: State  # (B*F, ...) final states, function-major within each example
    steps: torch.Tensor  # (B, F)


class Library(nn.Module):
    """Λ as one module: link and compile once; run all (or ``functions``) batched.

    Only the files the chosen functions need are linked, so a library of ``fib`` alone
    (§4.1) is a 12-line program.
    """

    def __init__(self, config: MachineConfig | None = None, functions: Sequence[str] | None = None,
                 alu: ALU | str = "table", trainable: bool = False) -> None:
        super().__init__()
        self.config = config or MachineConfig()
        self.specs = load_specs()
        self.functions = tuple(functions) if functions is not None else tuple(self.specs)
        unknown = [f for f in self.functions if f not in self.specs]
        if unknown:
            raise InputError(f"unknown library function(s) {', '.join(unknown)} "
                             f"(library: {', '.join(self.specs)})")
        parsed = [parse(text, name, self.config) for name, text in library_sources()]
        self.program: Program = link(needed_files(self.functions, parsed), self.config)
        if len(self.program) >= self.config.base:
            raise InputError(f"the library has {len(self.program)} instructions; base "
                             f"{self.config.base} needs a free address for returns")
        self.machine = Machine(compile_program(self.program, trainable=trainable), alu=alu)
        self.register_buffer("entries", torch.tensor([self.program.labels[f] for f in self.functions]),
                             persistent=False)
        self._exact: ExactProgram | None = None  # built on first run_exact

    def initial_state(self, registers: torch.Tensor, memory: torch.Tensor) -> State:
        """One machine per (example, function): (B*F, ...) with the counter at each
        function's entry and r15 pointing outside the program."""
        B, nF = registers.shape[0], len(self.functions)
        return self._start(registers.repeat_interleave(nF, 0), memory.repeat_interleave(nF, 0),
                           self.entries.repeat(B))

    def _start(self, registers: torch.Tensor, memory: torch.Tensor, entries: torch.Tensor) -> State:
        """Machines at the addresses ``entries`` (B,), with r15 pointing outside the program."""
        n = self.config.base
        R = registers.clone()
        R[:, RETURN_REGISTER] = F.one_hot(torch.tensor(n - 1), n).to(R)
        c = F.one_hot(entries, self.machine.program.lines).to(R)
        return State(memory, R, c, torch.zeros(len(entries), dtype=R.dtype, device=R.device))

    def run_one(self, index: int, registers: torch.Tensor, memory: torch.Tensor, max_steps: int = 2000,
                tol: float = 1e-6):
        """Run function ``index`` alone from (B, R, n) registers and (B, m, n) memory;
        returns the machine's :class:`~neurocompiler.machine.Run`."""
        state = self._start(registers, memory, self.entries[index].expand(registers.shape[0]))
        return self.machine.run(state, max_steps, tol)

    def run_exact(self, index: int | torch.Tensor, registers: torch.Tensor, memory: torch.Tensor,
                  max_steps: int = 2000) -> ExactRun:
        """Run function ``index`` (or, per row, the functions ``index`` (B,) names) exactly,
        as :meth:`run_one` starts it, from (B, R) long registers and (B, m) long memory; see
        :func:`~neurocompiler.exact.run_exact`. One call for many functions' rows shares
        each step's cost among them."""
        if self._exact is None:
            self._exact = ExactProgram(self.program)
        self._exact = self._exact.to(registers.device)
        R = registers.clone()
        R[:, RETURN_REGISTER] = self.config.base - 1
        entries = self.entries.to(registers.device)[index]
        entries = entries.expand(registers.shape[0]) if entries.dim() == 0 else entries
        return run_exact(self._exact, R, memory, entries, max_steps)

    def forward(self, selection: torch.Tensor, registers: torch.Tensor, memory: torch.Tensor,
                max_steps: int = 2000, tol: float = 1e-6) -> LibraryOutput:
        """Run every selected function from (B, R, n) registers and (B, m, n) memory,
        given as distributions, and mix the final states by ``selection`` (B, F)."""
        B, nF = registers.shape[0], len(self.functions)
        if selection.shape != (B, nF):
            raise InputError(f"selection: expected shape {(B, nF)}, got {tuple(selection.shape)}")
        run = self.machine.run(self.initial_state(registers, memory), max_steps, tol)
        s = run.state
        w = selection.reshape(B, nF)
        mix = lambda t: torch.einsum("bf,bf...->b...", w, t.reshape(B, nF, *t.shape[1:]))  # noqa: E731
        state = State(mix(s.M), mix(s.R), s.c.reshape(B, nF, -1)[:, 0], mix(s.h))
        return LibraryOutput(state, s, run.steps.reshape(B, nF))
