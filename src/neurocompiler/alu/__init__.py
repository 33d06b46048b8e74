"""Arithmetic-logic units behind one interface: ``alu(op_probs, a, b) -> out``."""

from .base import ALU
from .table import DenseALU, TableALU

ALU_KINDS = ("table", "dense", "dense_best")


def make_alu(kind: str, base: int) -> ALU:
    """An ALU by name: ``table`` (fast, default), ``dense`` (eq. 7 as written),
    ``dense_best`` (the dense table in its best contraction order)."""
    if kind == "table":
        return TableALU(base)
    if kind == "dense":
        return DenseALU(base, order="paper")
    if kind == "dense_best":
        return DenseALU(base, order="best")
    raise ValueError(f"unknown ALU '{kind}' (choose from {', '.join(ALU_KINDS)})")


__all__ = ["ALU", "ALU_KINDS", "DenseALU", "TableALU", "make_alu"]
