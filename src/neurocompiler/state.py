"""The machine state S = (M, R, c, h) (eq. 1), batched, and its decoded outcome.

Shapes (batch first, distributions along the last axis):

* ``M`` (B, m, n): memory cells, each a distribution over values;
* ``R`` (B, R, n): registers;
* ``c`` (B, L+1): instruction counter of the still-running machine, over addresses
  (row L is the implicit halt);
* ``h`` (B,): probability that the machine has halted.

``M`` and ``R`` are marginals over the halted and running machine together; ``c`` is
conditional on running, so it stays a distribution even once ``h`` is near 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F

from .config import MachineConfig
from .errors import InputError


@dataclass
class State:
    M: torch.Tensor
    R: torch.Tensor
    c: torch.Tensor
    h: torch.Tensor

    @property
    def batch(self) -> int:
        return self.R.shape[0]

    def detach(self) -> "State":
        return State(self.M.detach(), self.R.detach(), self.c.detach(), self.h.detach())

    @classmethod
    def initial(cls, config: MachineConfig, lines: int, *,
                registers: Mapping[int, int] | Sequence[int] | torch.Tensor | None = None,
                memory: Sequence[int] | torch.Tensor | None = None,
                entry: int = 0, batch: int | None = None, soften: float = 0.0,
                dtype: torch.dtype = torch.float32,
                device: torch.device | str | None = None) -> "State":
        """The initial state: counter one-hot at ``entry``, ``h`` = 0.

        ``registers`` is a mapping {index: value}, a list of values, or a tensor of
        distributions (B, R, n); ``memory`` is a list of values for cells 0.. or a
        tensor (B, m, n). Values not given are 0 (one-hot). ``soften`` (0 <= eps < 1)
        moves mass eps of every register and cell onto the uniform distribution, to
        watch a soft run drift.
        """
        n, m, nreg = config.base, config.m, config.registers
        B = batch or next((t.shape[0] for t in (registers, memory) if torch.is_tensor(t)), 1)
        R = _values_or_dists(registers, (B, nreg, n), n, "register", dtype, device)
        M = _values_or_dists(memory, (B, m, n), n, "memory cell", dtype, device)
        if not 0.0 <= soften < 1.0:
            raise InputError(f"soften must lie in [0, 1), got {soften}")
        if soften:
            R, M = ((1 - soften) * t + soften / n for t in (R, M))
        c = F.one_hot(torch.full((B,), entry, device=device), lines).to(dtype)
        h = torch.zeros(B, dtype=dtype, device=device)
        return cls(M, R, c, h)

    def decode(self) -> "Outcome":
        rp, rv = self.R.max(-1)
        if self.M.shape[1]:
            mp, mv = self.M.max(-1)
        else:
            mp = mv = self.M.new_zeros(self.batch, 0)
        conf = torch.cat([rp, mp], 1).min(1).values
        return Outcome(rv, rp, mv, mp, self.h, conf)

    def masses(self) -> dict[str, torch.Tensor]:
        """Total probability of each distribution (all ones when mass is conserved)."""
        return {"R": self.R.sum(-1), "M": self.M.sum(-1), "c": self.c.sum(-1)}


@dataclass
class Outcome:
    """Most probable value of each register and cell, with its probability; the
    halting probability; ``confidence``, the least of those probabilities."""

    registers: torch.Tensor  # (B, R) long
    register_probs: torch.Tensor  # (B, R)
    memory: torch.Tensor  # (B, m) long
    memory_probs: torch.Tensor  # (B, m)
    p_halted: torch.Tensor  # (B,)
    confidence: torch.Tensor  # (B,)

    def to_json(self, index: int = 0) -> dict:
        return {
            "registers": self.registers[index].tolist(),
            "memory": self.memory[index].tolist(),
            "p_halted": float(self.p_halted[index]),
            "confidence": float(self.confidence[index]),
        }


def _values_or_dists(values, shape, n, what, dtype, device) -> torch.Tensor:
    B, count, _ = shape
    if torch.is_tensor(values):
        if tuple(values.shape) != shape:
            raise InputError(f"{what} distributions: expected shape {shape}, got {tuple(values.shape)}")
        return values.to(dtype=dtype, device=device)
    ints = torch.zeros(count, dtype=torch.long)
    items = values.items() if isinstance(values, Mapping) else enumerate(values or [])
    for i, v in items:
        if not 0 <= i < count:
            raise InputError(f"unknown {what} {i} (0..{count - 1})")
        if not 0 <= v < n:
            raise InputError(f"{what} {i}: value {v} out of range 0..{n - 1}")
        ints[i] = v
    return F.one_hot(ints, n).to(dtype=dtype, device=device).expand(B, count, n).clone()
