"""The exact ALU: a conventional calculator behind the ALU interface (§4.1, the "swap
for a more general tool" of bootstrapping).

Forward: the operands' most probable values a* = argmax a, b* = argmax b, the exact
integer result f_o(a*, b*) of every active opcode (:meth:`ExactALU.compute`, vectorised
torch integer arithmetic, no table), one-hot, mixed by ``op_probs``:
``out = sum_o w_o onehot(f_o(a*, b*))``.

Backward (straight-through): the gradient of the lookup table of eq. 7,
``out_l = sum_{o,i,j} w_o a_i b_j [f_o(i, j) = l]``, evaluated at the hard point
(a, b) = (onehot(a*), onehot(b*)), computed without any table:

* d out_l / d w_o = [f_o(a*, b*) = l]          -> grad_w[o] = g[f_o(a*, b*)]
* d out_l / d a_i = sum_o w_o [f_o(i, b*) = l]  -> grad_a[i] = sum_o w_o g[f_o(i, b*)]
* d out_l / d b_j = sum_o w_o [f_o(a*, j) = l]  -> grad_b[j] = sum_o w_o g[f_o(a*, j)]

each a gather, O(n) per opcode and example. On one-hot operands forward and gradients
equal the lookup-table ALU's exactly; on soft operands the forward is the table's at the
argmax and the gradient is the table's gradient there.
"""

from __future__ import annotations

import torch

from .base import ALU

Tensor = torch.Tensor

_MAX_N = 2 ** 61  # every intermediate below stays under 2^63


def _mulmod(x: Tensor, y: Tensor, n: int) -> Tensor:
    """x y mod n for 0 <= x, y < n <= 2^61 without int64 overflow."""
    if n <= 2 ** 31:  # x y < 2^62
        return (x * y) & (n - 1) if n & (n - 1) == 0 else (x * y) % n
    # Horner over base-2^s digits of y, s >= 1 chosen so that n 2^s <= 2^62.
    s = 62 - (n - 1).bit_length()
    digits = []
    yy = y.clone()
    while True:
        digits.append(yy & ((1 << s) - 1))
        yy = yy >> s
        if len(digits) * s >= (n - 1).bit_length():
            break
    acc = torch.zeros_like(x)
    for d in reversed(digits):
        acc = ((acc << s) % n + (x * d) % n) % n
    return acc


def _wrap_up(r: Tensor, n: int) -> Tensor:
    """r mod n for 0 <= r < 2n (cheaper than an integer division)."""
    return torch.where(r >= n, r - n, r)


def _wrap_down(r: Tensor, n: int) -> Tensor:
    """r mod n for -n <= r < n."""
    return torch.where(r < 0, r + n, r)


def _reduced(name: str, x: Tensor, y: Tensor, n: int) -> Tensor:
    """``name(x, y)`` mod n for operands already in 0..n-1. Torch broadcasts x and y
    where both are used; copy, inc and dec return x's shape."""
    if name == "copy":
        return x
    if name == "inc":
        return _wrap_up(x + 1, n)
    if name == "dec":
        return _wrap_down(x - 1, n)
    if name == "add":
        return _wrap_up(x + y, n)
    if name == "sub":
        return _wrap_down(x - y, n)
    if name == "mul":
        return _mulmod(x, y, n)
    if name in ("div", "mod"):
        nz = y != 0
        safe = torch.where(nz, y, 1)
        q = torch.div(x, safe, rounding_mode="floor") if name == "div" else x % safe
        return torch.where(nz, q, 0)
    if name == "min":
        return torch.minimum(x, y)
    if name == "max":
        return torch.maximum(x, y)
    if name in ("eq", "lt", "le"):
        flag = (x == y) if name == "eq" else (x < y) if name == "lt" else (x <= y)
        return flag.long() if n > 1 else torch.zeros_like(flag, dtype=torch.long)
    raise ValueError(f"{name} is not an ALU opcode")


class ExactALU(ALU):
    """Exact integer arithmetic at the argmax, straight-through table gradients."""

    @staticmethod
    def compute(name: str, x: Tensor, y: Tensor, n: int) -> Tensor:
        """Exact result of ALU opcode ``name`` on integer tensors (broadcast), mod n, as
        :func:`neurocompiler.isa.alu_result` (operands taken mod n first). n <= 2^61."""
        if not 1 <= n <= _MAX_N:
            raise ValueError(f"ExactALU.compute supports 1 <= n <= 2^61, got {n}")
        x = torch.as_tensor(x).long() % n
        y = torch.as_tensor(y).long() % n
        x, y = torch.broadcast_tensors(x, y)
        return _reduced(name, x, y, n)

    def _indices(self, active: list[bool] | None) -> list[int]:
        return [o for o in range(len(self.ops)) if active is None or active[o]]

    def op_output(self, name: str, a: Tensor, b: Tensor) -> Tensor:
        w = torch.zeros(a.shape[0], len(self.ops), dtype=a.dtype, device=a.device)
        w[:, self.ops.index(name)] = 1
        return self.forward(w, a, b)

    def forward(self, op_probs: Tensor, a: Tensor, b: Tensor,
                active: list[bool] | None = None) -> Tensor:
        idx = self._indices(active)
        if not idx:
            return torch.zeros_like(a)
        return _Exact.apply(op_probs, a, b, tuple(self.ops[o] for o in idx), tuple(idx), self.base)


class _Exact(torch.autograd.Function):
    """out = sum_o w_o onehot(f_o(argmax a, argmax b)); straight-through table gradient."""

    @staticmethod
    def forward(ctx, w, a, b, names, idx, n):
        ia, ib = a.argmax(-1), b.argmax(-1)  # (B,)
        res = torch.stack([_reduced(name, ia, ib, n) for name in names], -1)  # (B, O)
        out = torch.zeros_like(a).scatter_add_(-1, res, w[:, list(idx)].to(a.dtype))
        ctx.save_for_backward(w, ia, ib, res)
        ctx.names, ctx.idx, ctx.n = names, idx, n
        return out

    @staticmethod
    def backward(ctx, g):
        w, ia, ib, res = ctx.saved_tensors
        names, idx, n = ctx.names, ctx.idx, ctx.n
        grad_w = grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_w = torch.zeros_like(w)
            grad_w[:, list(idx)] = g.gather(-1, res).to(w.dtype)
        values = torch.arange(n, device=g.device)
        if ctx.needs_input_grad[1]:
            grad_a = torch.zeros_like(g)
            for o, name in zip(idx, names):  # grad_a[i] += w_o g[f_o(i, b*)]
                f = _reduced(name, values[None], ib[:, None], n).expand_as(g)
                grad_a += w[:, o, None].to(g.dtype) * g.gather(-1, f)
        if ctx.needs_input_grad[2]:
            grad_b = torch.zeros_like(g)
            for o, name in zip(idx, names):  # grad_b[j] += w_o g[f_o(a*, j)]
                f = _reduced(name, ia[:, None], values[None], n).expand_as(g)
                grad_b += w[:, o, None].to(g.dtype) * g.gather(-1, f)
        return grad_w, grad_a, grad_b, None, None, None


__all__ = ["ExactALU"]
