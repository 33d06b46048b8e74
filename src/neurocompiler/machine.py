"""The differentiable register machine (§3.2; Bunel et al. 2016).

One :meth:`Machine.step` runs every instruction in superposition, weighted by the
counter ``c``. As in Bunel et al., each line's opcode, operand and destination
distributions are first mixed by ``c`` (mean field), then executed once:

* operands: ``u = R^T (c a)``, ``v = R^T (c b)`` (register reads, §3.2);
* ALU opcodes through ``alu(op_probs, u, v)`` (eq. 7);
* ``const``, ``read`` (eq. 2), ``call`` and ``store`` also produce a value;
* the register write of that value to the mixed destination (eq. 5);
* the memory write of ``u`` at address ``v`` (eqs. 3-4);
* the next counter as a mixture of the next line and jump targets (eq. 6), with
  ``jumpr``/``ret`` targets read from registers;
* halting: the running mass that executes ``halt`` moves to ``h`` and stops
  changing the state (absorbing); ``c`` is renormalised over the running mass.

With one-hot programs, counter and inputs every step equals one step of the
reference interpreter exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .alu import ALU, make_alu
from .compiler import CompiledProgram
from .config import MachineConfig
from .isa import ALU_NAMES, OP_INDEX, OPCODES, REGISTER_WRITERS
from .state import State

_TINY = 1e-12


def _cols(*names: str) -> list[int]:
    return [OP_INDEX[name] for name in names]


_HALT, _CONST, _READ, _WRITE = _cols("halt", "const", "read", "write")
_JUMP, _JUMPR, _JMP, _CALL, _RET, _STORE = _cols("jump", "jumpr", "jmp", "call", "ret", "store")
_WRITERS = _cols(*REGISTER_WRITERS)
_CONTROL = {_HALT, _JUMP, _JUMPR, _JMP, _CALL, _RET}
_SEQUENTIAL = [i for i in range(len(OPCODES)) if i not in _CONTROL]  # always go to l + 1


@dataclass
class Run:
    """A run's final state, per-example step counts and (optionally) the trace."""

    state: State
    steps: torch.Tensor  # (B,) steps taken until halted (or max_steps)
    trace: list[State] = field(default_factory=list)


class Machine(nn.Module):
    """Runs a :class:`CompiledProgram` on batched distributions.

    ``alu`` is an :class:`~neurocompiler.alu.ALU` or a name (``table`` by default).
    """

    def __init__(self, program: CompiledProgram, alu: ALU | str = "table") -> None:
        super().__init__()
        self.program = program
        self.config = program.config
        self.alu = make_alu(alu, self.config.base) if isinstance(alu, str) else alu
        if self.alu.base != self.config.base:
            raise ValueError(f"ALU base {self.alu.base} != machine base {self.config.base}")
        used = ALU_NAMES if program.trainable else {ins.op for ins in program.program.instructions}
        missing = sorted(set(used) & set(ALU_NAMES) - set(self.alu.ops))
        if missing:
            raise ValueError(f"the ALU lacks opcodes the program can run: {', '.join(missing)}")
        n, L1 = self.config.base, program.lines
        addr = torch.arange(L1)
        # call/store values: address l -> value (l + 1) mod n / l mod n.
        self.register_buffer("_next_value", F.one_hot((addr + 1) % n, n).float(), persistent=False)
        self.register_buffer("_this_value", F.one_hot(addr % n, n).float(), persistent=False)
        # jumpr/ret: value v -> address v, or the implicit halt row L when v >= L.
        self.register_buffer("_value_to_addr",
                             F.one_hot(torch.arange(n).clamp(max=L1 - 1), L1).float(), persistent=False)
        self._alu_cols = _cols(*self.alu.ops)

    def widen(self, base: int, alu: ALU | str = "circuit") -> "Machine":
        """The same program on a machine of a wider word, e.g. trained with the table
        ALU at base 256 and run with the circuit or exact ALU at base 2^16. Memory grows
        with the base when it was the default (= base)."""
        old = self.config
        memory = base if old.m == old.base else old.m
        config = MachineConfig(base=base, registers=old.registers, memory=memory)
        return Machine(self.program.widened(config), alu=alu)

    def initial_state(self, registers=None, memory=None, batch: int | None = None,
                      dtype: torch.dtype = torch.float32, entry: int | None = None,
                      soften: float = 0.0) -> State:
        """See :meth:`State.initial`. The counter starts at the program's entry."""
        device = self._next_value.device
        return State.initial(self.config, self.program.lines, registers=registers, memory=memory,
                             entry=self.program.program.entry if entry is None else entry,
                             batch=batch, soften=soften, dtype=dtype, device=device)

    def _active(self, F_ops: torch.Tensor, op: torch.Tensor) -> list[bool]:
        """Which opcodes must be computed this step. An opcode whose weight is exactly
        zero is skipped when nothing needs its gradient; when the counter carries a
        gradient, every opcode the program contains is computed, so gradients stay exact."""
        if F_ops.requires_grad and torch.is_grad_enabled():
            return (op != 0).any(0).tolist()
        return (F_ops != 0).any(0).tolist()

    def step(self, s: State) -> State:
        d = self.program.distributions()
        dtype = s.R.dtype
        op, a_sel, b_sel, x_sel, k, target = (d[f].to(dtype) for f in ("op", "a", "b", "x", "k", "target"))
        c, R, M, h = s.c, s.R, s.M, s.h
        Fo = c @ op  # (B, |ops|): opcode mixture this step
        active = self._active(Fo, op)
        u = torch.einsum("br,brn->bn", c @ a_sel, R)  # first operand's value
        v = torch.einsum("br,brn->bn", c @ b_sel, R)  # second operand's value
        run = 1 - h  # probability of still running

        # Values produced for the destination register (unnormalised: mass = weight).
        alu_w = Fo[:, self._alu_cols]
        out = self.alu(alu_w, u, v, active=[active[i] for i in self._alu_cols])
        if active[_CONST]:
            out = out + (c * op[:, _CONST]) @ k
        if active[_CALL]:
            out = out + (c * op[:, _CALL]) @ self._next_value.to(dtype)
        if active[_STORE]:
            out = out + (c * op[:, _STORE]) @ self._this_value.to(dtype)
        if active[_READ]:  # eq. 2: r_j = sum_i M_ij a_i; addresses >= m read 0
            mm = min(M.shape[1], M.shape[2])
            read = torch.einsum("bi,bin->bn", u[:, :mm], M[:, :mm])
            read[:, 0] = read[:, 0] + u[:, mm:].sum(-1)
            out = out + Fo[:, _READ, None] * read

        # Register write, eq. 5, to the destination mixed over register-writing lines.
        dest = (c * op[:, _WRITERS].sum(-1)) @ x_sel  # (B, R): P(register is written)
        # o = out / p_w, normalised by its own mass (equal on the simplex): rounding
        # error must not compound, as it would through x_{k+1} = x_k + x_{k-1}, whose
        # convolution multiplies the operands' masses.
        o = out / out.sum(-1, keepdim=True).clamp_min(_TINY)
        R_new = R + (run[:, None] * dest)[:, :, None] * (o[:, None, :] - R)

        # Memory write, eqs. 3-4: value u at address v with probability p = weight of write.
        M_new = M
        if active[_WRITE] and M.shape[1]:
            mm = min(M.shape[1], v.shape[1])
            addr = F.pad(v[:, :mm], (0, M.shape[1] - mm))  # addresses >= m write nothing
            p = (run * Fo[:, _WRITE])[:, None, None]
            M_new = M + p * addr[:, :, None] * (u[:, None, :] - M)

        # Counter, eq. 6: next line, or a jump with condition probability `flag`.
        flag = u[:, 1]  # a flag is true only when it equals exactly 1
        seq = op[:, _SEQUENTIAL].sum(-1) + (op[:, _JUMP] + op[:, _JUMPR]) * (1 - flag)[:, None]
        cs = c * seq
        c_next = F.pad(cs[:, :-1], (1, 0))
        c_next[:, -1] = c_next[:, -1] + cs[:, -1]  # the implicit halt row stays put
        to_label = op[:, _JUMP] * flag[:, None] + op[:, _JMP] + op[:, _CALL]
        c_next = c_next + (c * to_label) @ target
        to_reg = Fo[:, _JUMPR] * flag
        if active[_JUMPR] or active[_RET]:
            c_next = c_next + (to_reg[:, None] * v + Fo[:, _RET, None] * u) @ self._value_to_addr.to(dtype)
        p_halt = Fo[:, _HALT]
        still = c_next.sum(-1, keepdim=True)  # = 1 - p_halt, without the cancellation
        c_new = torch.where(still > _TINY, c_next / still.clamp_min(_TINY), c)
        h_new = h + run * p_halt
        return State(M_new, R_new, c_new, h_new)

    def run(self, state: State, max_steps: int = 10_000, tol: float = 1e-6,
            trace: bool = False) -> Run:
        """Step until every example has halted (``1 - h < tol``) or ``max_steps``."""
        steps = torch.zeros(state.batch, dtype=torch.long, device=state.h.device)
        log = [state.detach()] if trace else []
        for _ in range(max_steps):
            if bool((1 - state.h < tol).all()):
                break
            steps = steps + (1 - state.h >= tol).long()
            state = self.step(state)
            if trace:
                log.append(state.detach())
        return Run(state, steps, log)

    def forward(self, state: State, max_steps: int = 10_000, tol: float = 1e-6) -> State:
        return self.run(state, max_steps, tol).state
