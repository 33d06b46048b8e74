"""Arithmetic-logic units behind one interface: ``alu(op_probs, a, b) -> out``.

* ``table``: the fast lookup-table ALU (§3.3, eq. 7 without the n^3 table);
* ``dense`` / ``dense_best``: the paper's dense 4-D table (the reference);
* ``circuit``: relaxed logic gates on binary encodings (§3.3, eqs. 8-9, Appendix B);
* ``exact``: a conventional calculator with a straight-through gradient.
"""

from ..errors import InputError
from .base import ALU
from .circuit import CircuitALU
from .exact import ExactALU
from .table import DenseALU, TableALU

ALU_KINDS = ("table", "dense", "dense_best", "circuit", "exact")


def make_alu(kind: str, base: int) -> ALU:
    """An ALU by name; see :data:`ALU_KINDS`. One whose tables would not fit the memory
    budget (:mod:`neurocompiler.resources`) is refused before they are built."""
    from .. import footprint, resources

    if kind in ALU_KINDS:
        tables = footprint.alu(kind, base, used=())
        fix = footprint.ALU_FIX if tables.total >= footprint.PROCESS else "raise the memory budget (--memory-budget, or $NEUROCOMPILER_MEMORY_BUDGET)"
        resources.check(footprint.process() + tables, None, f"the {kind} ALU at base {base}", fix)
    if kind == "table":
        return TableALU(base)
    if kind == "dense":
        return DenseALU(base, order="paper")
    if kind == "dense_best":
        return DenseALU(base, order="best")
    if kind == "circuit":
        return CircuitALU(base)
    if kind == "exact":
        return ExactALU(base)
    raise InputError(f"unknown ALU '{kind}' (choose from {', '.join(ALU_KINDS)})")


__all__ = ["ALU", "ALU_KINDS", "CircuitALU", "DenseALU", "ExactALU", "TableALU", "make_alu"]
