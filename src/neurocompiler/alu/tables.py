"""Derived artefacts of the opcode table, built in one place and cached.

``result_index(name, n)`` is the n x n table of exact results of ALU opcode ``name``
(entry [i, j] = fn(i, j) mod n). The dense 4-D table of equation 7 is its one-hot
expansion, ``dense_table(ops, n)`` with shape (|ops|, n, n, n).
"""

from __future__ import annotations

from functools import lru_cache

import torch

from ..isa import OPCODE_BY_NAME


@lru_cache(maxsize=None)
def result_index(name: str, n: int) -> torch.Tensor:
    """LongTensor (n, n): the result of ``name`` on every pair of values, from the
    opcode's own ``fn`` applied once to broadcast ``arange`` tensors (as ``alu_result``
    does to ints: operands in 0..n-1, result mod n)."""
    fn = OPCODE_BY_NAME[name].fn
    if fn is None:
        raise ValueError(f"{name} is not an ALU opcode")
    values = torch.arange(n, dtype=torch.long)
    out = torch.as_tensor(fn(values[:, None], values[None, :], n), dtype=torch.long) % n
    return out.expand(n, n).contiguous()


def dense_table(ops: tuple[str, ...], n: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """T[o, i, j, l] = 1 iff ops[o](i, j) = l: the paper's 4-D lookup table (eq. 7)."""
    table = torch.zeros(len(ops), n, n, n, dtype=dtype)
    for o, name in enumerate(ops):
        table[o].scatter_(-1, result_index(name, n).unsqueeze(-1), 1.0)
    return table


def dense_table_bytes(n_ops: int, n: int, itemsize: int = 4) -> int:
    return n_ops * n ** 3 * itemsize
