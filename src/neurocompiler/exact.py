"""An exact, batched executor for linked programs on integer tensors.

:func:`run_exact` runs one program on many machine states at once, with exactly the
semantics and step counts of :func:`neurocompiler.interpreter.run` (halt and the
implicit halt are one step each; a row still running after ``max_steps`` reports
``halted`` False and ``steps == max_steps``).

Every opcode group is reduced, once, to the same few table columns, so that a step is
one instruction gather, one register gather and a handful of ``where`` / ``scatter``
calls whatever the opcode. Registers get extra columns: a sink for writes that do
nothing and constants (0, 1, and addresses of an always-zero memory cell and of a
memory sink). The ALU results of the opcodes present in the program come from their
opcode table ``fn``: evaluated once on every operand pair (a lookup table) when that
is small, else on every step. Rows that have halted leave the working set whenever it
halves, so a batch costs about its long runs' steps over their rows only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .asm import Instruction, Program
from .errors import InputError
from .isa import OPCODE_BY_NAME

TABLE_LIMIT = 1 << 22  # most entries of a precomputed ALU lookup table
_WRITES_X = {"alu", "const", "read", "call", "store"}
# Table columns: registers a, b, row (ALU operand), raddr, waddr (memory addresses),
# flag (jump when == 1), dest (jump address), read with one gather; then x (register
# written), base (lookup table offset), target, fall (next pc unless jumping), cost (1
# step, 0 for a halted row), alu_op and value (the static result).
X, BASE, TARGET, FALL, COST, ALU_OP, VALUE = range(7, 14)


@dataclass
class ExactRun:
    """Final states of a batch: ``registers`` (B, R), ``memory`` (B, m), ``halted``
    (B,) bool and ``steps`` (B,) long, as :func:`~neurocompiler.interpreter.run`."""

    registers: torch.Tensor
    memory: torch.Tensor
    halted: torch.Tensor
    steps: torch.Tensor


class ExactProgram:
    """A program compiled once into an instruction table (H + 1, columns).

    Rows ``L..H`` are ``halt`` (every address outside the program) and ``H``, past every
    reachable address, is where a halted row waits: its step costs 0 and changes
    nothing. ``alu_table`` forces (True) or forbids (False) the ALU lookup table; None
    uses it when it has at most :data:`TABLE_LIMIT` entries.
    """

    def __init__(self, program: Program, alu_table: bool | None = None) -> None:
        cfg = program.config
        n, m, nR, L = cfg.base, cfg.m, cfg.registers, len(program)
        self.program, self.base, self.m, self.registers, self.length = program, n, m, nR, L
        self.halt_row = H = max(n, L + 1)  # targets and register values are < n
        self.width = W = max(m, n) + 2  # memory, zero padded to n cells, then zero cell, sink
        self.constants = torch.tensor([0, 0, 1, W - 2, W - 1])  # extra registers' values
        self.alu_names = tuple(sorted({i.op for i in program.instructions
                                       if OPCODE_BY_NAME[i.op].is_alu}))
        self.alu_fns = tuple(OPCODE_BY_NAME[name].fn for name in self.alu_names)
        rows = [self._row(pc, ins) for pc, ins in enumerate(program.instructions)]
        halt = self._row(L, None)
        rows += [halt] * (H - L) + [halt[:COST] + [0] + halt[COST + 1:]]
        self.table = torch.tensor(rows, dtype=torch.long)
        size = (len(self.alu_names) + 1) * n * n
        self.lut: torch.Tensor | None = None
        if alu_table or (alu_table is None and size <= TABLE_LIMIT):
            ra, rb = torch.arange(n)[:, None].expand(n, n), torch.arange(n)[None].expand(n, n)
            parts = [fn(ra, rb, n) % n for fn in self.alu_fns] + [ra]  # constant rows: value
            self.lut = torch.cat([p.expand(n, n) for p in parts]).flatten()

    def _row(self, pc: int, ins: Instruction | None) -> list[int]:
        """The table row of instruction ``ins`` at address ``pc`` (None: halt)."""
        n, sink, zero, one, zaddr, wsink = self.base, *range(self.registers, self.registers + 5)
        g = "halt" if ins is None else OPCODE_BY_NAME[ins.op].group
        a, b, x, k, t = (0, 0, 0, 0, 0) if ins is None else (ins.a, ins.b, ins.x, ins.k, ins.target)
        j = self.alu_names.index(ins.op) if ins is not None and g == "alu" else -1
        value = {"const": k, "call": (pc + 1) % n, "store": pc % n}.get(g, 0)
        row = len(self.alu_names) * n + value if j < 0 else j * n  # lookup table block
        return [a, b, a if j >= 0 else zero,  # a, b, row: the ALU's operand a
                a if g == "read" else zaddr, b if g == "write" else wsink,  # memory addresses
                {"jump": a, "jumpr": a, "ret": one}.get(g, zero),  # flag: jump when == 1
                {"jumpr": b, "ret": a}.get(g, zero),  # dest: a register-held address
                x if g in _WRITES_X else sink, row * n,
                t if g == "jump" else 0,  # a taken jump goes to R[dest] + target
                {"jmp": t, "call": t, "halt": self.halt_row}.get(g, pc + 1),  # not taken
                1, j, value]

    @property
    def device(self) -> torch.device:
        return self.table.device

    def to(self, device: torch.device | str) -> "ExactProgram":
        """This program with its tensors on ``device`` (itself when already there)."""
        if self.table.device == torch.device(device):
            return self
        out = object.__new__(ExactProgram)
        out.__dict__.update(self.__dict__, table=self.table.to(device),
                            constants=self.constants.to(device),
                            lut=None if self.lut is None else self.lut.to(device))
        return out


def _check(name: str, t: torch.Tensor, shape: tuple[int, ...], base: int | None) -> None:
    if t.dtype != torch.long or tuple(t.shape) != shape:
        raise InputError(f"{name}: expected a long tensor of shape {shape}, "
                         f"got {t.dtype} {tuple(t.shape)}")
    if base is not None and t.numel() and (t.min() < 0 or t.max() >= base):
        raise InputError(f"{name}: values must lie in 0..{base - 1}")


@torch.no_grad()
def run_exact(program: Program | ExactProgram, registers: torch.Tensor, memory: torch.Tensor,
              entries: torch.Tensor, max_steps: int) -> ExactRun:
    """Run ``program`` exactly on every row: registers (B, R), memory (B, m), start
    addresses ``entries`` (B,), long tensors; at most ``max_steps`` steps per row."""
    ex = program if isinstance(program, ExactProgram) else ExactProgram(program)
    dev = registers.device
    ex = ex.to(dev)
    B, n, m, nR, H = registers.shape[0], ex.base, ex.m, ex.registers, ex.halt_row
    _check("registers", registers, (B, nR), n)
    _check("memory", memory, (B, m), n)
    _check("entries", entries, (B,), None)
    R = torch.cat([registers, ex.constants.expand(B, -1)], 1)
    M = torch.cat([memory, memory.new_zeros(B, ex.width - m)], 1)
    entries = entries.to(dev)
    pc = torch.where((entries < 0) | (entries >= ex.length), ex.length, entries)  # outside: halt
    steps = torch.zeros(B, dtype=torch.long, device=dev)
    rows = torch.arange(B, device=dev)
    out = [R.clone(), M.clone(), steps.clone(), pc.clone()]  # results, by original row
    table, lut = ex.table, ex.lut

    def flush(done: torch.Tensor) -> None:  # write finished working rows back
        for dst, src in zip(out, (R, M, steps, pc)):
            dst[rows[done]] = src[done]

    for _ in range(max_steps):
        f = table.index_select(0, pc)
        g = R.gather(1, f[:, :7])
        ra, rb, rrow, _, _, rf, rd = g.unbind(1)
        mem = M.gather(1, g[:, 3:4])  # 0 unless a read
        if lut is not None:  # ALU result or static value, plus the memory read
            val = lut.index_select(0, torch.add(rb, rrow, alpha=n).add_(f[:, BASE]))[:, None] + mem
        else:
            val, alu_op = f[:, VALUE] + mem[:, 0], f[:, ALU_OP]
            for j, fn in enumerate(ex.alu_fns):
                val = torch.where(alu_op == j, fn(ra, rb, n) % n, val)
            val = val[:, None]
        R.scatter_(1, f[:, X:X + 1], val)
        M.scatter_(1, g[:, 4:5], g[:, :1])  # M[R[b]] <- R[a], or into the sink
        if m < n:
            M[:, m:n] = 0  # cells past memory read as 0
        pc = torch.where(rf == 1, rd + f[:, TARGET], f[:, FALL])
        steps += f[:, COST]
        live = pc != H
        alive = int(live.sum())
        if alive == 0:
            break
        if 2 * alive <= len(rows):  # compact: keep only the rows still running
            flush(~live)
            keep = live.nonzero().squeeze(1)
            R, M, pc, steps, rows = (t[keep] for t in (R, M, pc, steps, rows))
    flush(torch.ones_like(rows, dtype=torch.bool))
    return ExactRun(out[0][:, :nR].contiguous(), out[1][:, :m].contiguous(), out[3] == H, out[2])
