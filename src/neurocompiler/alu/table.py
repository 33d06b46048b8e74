"""Lookup-table ALUs (§3.3, eq. 7).

* :class:`TableALU`, the fast one: never materialises an n x n x n table. Opcodes with
  structure use it (shifts, circular convolutions, cumulative sums: O(n) or O(n^2));
  any other opcode uses the generic path, a scatter of the outer product ``a b^T``
  into the result index of ``alu.tables`` (O(n^2) time, an n x n index).
* :class:`DenseALU`, the reference: the paper's 4-D table T (|ops|, n, n, n), contracted
  either in the order eq. 7 is written ("paper": op first, then a, then b) or in the
  best order we found ("best": the outer product of op, a, b against T as one GEMM).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..isa import ALU_NAMES
from .base import ALU
from .tables import dense_table, result_index


def _suffix(p: torch.Tensor) -> torch.Tensor:
    """S[k] = sum_{j >= k} p[j]."""
    return p.flip(-1).cumsum(-1).flip(-1)


def _circular_convolution(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """out[t] = sum_i a[i] b[(t - i) mod n]: the distribution of a + b mod n.

    One grouped ``conv1d`` (a cross-correlation, one group per example) of b, padded
    circularly, with a reversed: [t] = sum_j a[n-1-j] b[(t + j + 1) mod n]. Its backward
    is a convolution too, several times faster than differentiating a strided view."""
    B, n = a.shape
    windows = torch.cat([b[:, 1:], b], -1).reshape(1, B, 2 * n - 1)
    return F.conv1d(windows, a.flip(-1).reshape(B, 1, n), groups=B).reshape(B, n)


def _negate(b: torch.Tensor) -> torch.Tensor:
    """The distribution of -b mod n."""
    return b.flip(-1).roll(1, -1)


def _flag(p_true: torch.Tensor, total: torch.Tensor, n: int) -> torch.Tensor:
    """Distribution with mass total - p_true on 0 and p_true on 1."""
    return F.pad(torch.stack([total - p_true, p_true], -1), (0, n - 2))


class TableALU(ALU):
    """The fast lookup-table ALU: O(|ops| n^2) per call, tables of O(n^2) bytes."""

    STRUCTURED = ("copy", "inc", "dec", "add", "sub", "min", "max", "eq", "lt", "le")

    def __init__(self, base: int, ops: tuple[str, ...] = ALU_NAMES, structured: bool = True) -> None:
        super().__init__(base, ops)
        self.structured = structured
        n = base
        generic = [o for o in self.ops if not (structured and o in self.STRUCTURED)]
        for name in generic:
            self.register_buffer(f"_idx_{name}", result_index(name, n).reshape(-1), persistent=False)

    def table_bytes(self) -> int:
        return sum(b.numel() * b.element_size() for b in self.buffers())

    def op_output(self, name: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        n = self.base
        if self.structured and name in self.STRUCTURED:
            if name in ("copy", "inc", "dec"):  # eq. 7 sums over b too: a_l * sum(b)
                shift = {"copy": 0, "inc": 1, "dec": -1}[name]
                return a.roll(shift, -1) * b.sum(-1, keepdim=True)
            if name == "add":
                return _circular_convolution(a, b)
            if name == "sub":
                return _circular_convolution(a, _negate(b))
            total = a.sum(-1) * b.sum(-1)
            if name == "eq":
                return _flag((a * b).sum(-1), total, n)
            sb = _suffix(b)
            if name == "lt":
                return _flag((a * (sb - b)).sum(-1), total, n)
            if name == "le":
                return _flag((a * sb).sum(-1), total, n)
            if name == "min":  # P(a=k, b>=k) + P(b=k, a>k)
                return a * sb + b * (_suffix(a) - a)
            if name == "max":  # P(a=k, b<=k) + P(b=k, a<k)
                return a * b.cumsum(-1) + b * (a.cumsum(-1) - a)
        idx = getattr(self, f"_idx_{name}")
        outer = (a.unsqueeze(-1) * b.unsqueeze(-2)).reshape(a.shape[0], -1)
        return torch.zeros_like(a).index_add(1, idx, outer)


class DenseALU(ALU):
    """The paper's dense 4-D lookup table, eq. 7: o_l = T_ijkl f_i u_j v_k."""

    def __init__(self, base: int, ops: tuple[str, ...] = ALU_NAMES, order: str = "paper") -> None:
        super().__init__(base, ops)
        if order not in ("paper", "best"):
            raise ValueError(f"order must be 'paper' or 'best', got {order!r}")
        self.order = order
        self.register_buffer("T", dense_table(self.ops, base), persistent=False)

    def table_bytes(self) -> int:
        return self.T.numel() * self.T.element_size()

    def op_output(self, name: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        o = self.ops.index(name)
        w = torch.zeros(a.shape[0], len(self.ops), dtype=a.dtype, device=a.device)
        w[:, o] = 1
        return self.forward(w, a, b)

    def forward(self, op_probs, a, b, active=None):  # eq. 7 in one contraction
        T = self.T.to(a.dtype)
        if self.order == "paper":  # op, then first operand, then second, as written
            t = torch.einsum("ijkl,bi->bjkl", T, op_probs)
            t = torch.einsum("bjkl,bj->bkl", t, a)
            return torch.einsum("bkl,bk->bl", t, b)
        outer = op_probs[:, :, None, None] * a[:, None, :, None] * b[:, None, None, :]
        return outer.reshape(a.shape[0], -1) @ T.reshape(-1, self.base)
