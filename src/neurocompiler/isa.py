"""The opcode table: the one source of truth for the instruction set.

Every opcode of ``shared/spec/ISA.md`` is one :class:`Opcode` row: its name, the kinds
of its operands as written in assembly, how those operands map onto the instruction
fields ``a``, ``b``, ``x``, ``k``, ``target`` of the compiled program, its class
(``alu``, ``memory``, ``control`` ...) and, for ALU opcodes, its exact semantics
``fn(a, b, n)`` over integers mod ``n``. Each ``fn`` is elementwise-generic: the same
expression runs on Python ints and on integer tensors (broadcast), so the lookup
tables are built from it in one vectorised call (``alu.tables.result_index``).

The reference interpreter, the lookup-table ALUs, the assembler, the tests and the
opcode reference in ``docs/OPCODES.md`` are all derived from :data:`OPCODES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

# Operand kinds as they appear in assembly text.
REG = "reg"  # a source register, read
DST = "dst"  # a destination register, written
IMM = "imm"  # a literal 0..n-1
LABEL = "label"  # a label (or a literal address, an extension)

# Instruction fields of the compiled program (one distribution per line each).
FIELDS = ("a", "b", "x", "k", "target")


@dataclass(frozen=True)
class Opcode:
    """One row of the opcode table.

    ``forms`` lists the accepted operand layouts; each layout is a tuple of
    ``(kind, field)`` pairs, in the order written in assembly. A field used by the
    opcode but absent from a shorter form is filled from ``defaults`` (field -> field
    it copies), as in ``inc a`` meaning ``inc a a``.
    """

    name: str
    group: str  # "alu" | "const" | "read" | "write" | "jump" | "jumpr" | "jmp" | "call" | "ret" | "store" | "halt"
    forms: tuple[tuple[tuple[str, str], ...], ...]
    doc: str
    fn: Callable[[Any, Any, int], Any] | None = None  # ints, or integer tensors elementwise
    defaults: tuple[tuple[str, str], ...] = ()

    @property
    def writes_register(self) -> bool:
        return any(kind == DST for form in self.forms for kind, _ in form)

    @property
    def is_alu(self) -> bool:
        return self.group == "alu"

    def syntax(self) -> str:
        names = {REG: "{f}", DST: "x", IMM: "K", LABEL: "L"}
        out = []
        for form in self.forms:
            ops = " ".join(names[kind].format(f=field) for kind, field in form)
            out.append(f"{self.name} {ops}".strip())
        return " / ".join(out)


# Division by zero gives 0, branch-free so that it also works elementwise on tensors:
# b + (b == 0) is a safe divisor, and (b != 0) zeroes those results.
def _div(a: Any, b: Any, n: int) -> Any:
    return a // (b + (b == 0)) * (b != 0)


def _mod(a: Any, b: Any, n: int) -> Any:
    return a % (b + (b == 0)) * (b != 0)


_A = ((REG, "a"),)
_AX = ((REG, "a"), (DST, "x"))
_ABX = ((REG, "a"), (REG, "b"), (DST, "x"))

OPCODES: tuple[Opcode, ...] = (
    Opcode("halt", "halt", ((),), "stop"),
    Opcode("const", "const", (((IMM, "k"), (DST, "x")),), "x <- K (also written `K x`)"),
    # ALU opcodes: exact semantics over integers mod n.
    Opcode("copy", "alu", (_AX,), "x <- a", fn=lambda a, b, n: a),
    Opcode("inc", "alu", (_AX, _A), "x <- a + 1 (x defaults to a)",
           fn=lambda a, b, n: (a + 1) % n, defaults=(("x", "a"),)),
    Opcode("dec", "alu", (_AX, _A), "x <- a - 1 (x defaults to a)",
           fn=lambda a, b, n: (a - 1) % n, defaults=(("x", "a"),)),
    Opcode("add", "alu", (_ABX,), "x <- a + b", fn=lambda a, b, n: (a + b) % n),
    Opcode("sub", "alu", (_ABX,), "x <- a - b", fn=lambda a, b, n: (a - b) % n),
    Opcode("mul", "alu", (_ABX,), "x <- a * b", fn=lambda a, b, n: (a * b) % n),
    Opcode("div", "alu", (_ABX,), "x <- floor(a / b), 0 when b = 0", fn=_div),
    Opcode("mod", "alu", (_ABX,), "x <- a mod b, 0 when b = 0", fn=_mod),
    Opcode("min", "alu", (_ABX,), "x <- min(a, b)", fn=lambda a, b, n: b + (a - b) * (a < b)),
    Opcode("max", "alu", (_ABX,), "x <- max(a, b)", fn=lambda a, b, n: a + (b - a) * (a < b)),
    Opcode("eq", "alu", (_ABX,), "x <- 1 if a = b else 0", fn=lambda a, b, n: (a == b) * 1),
    Opcode("lt", "alu", (_ABX,), "x <- 1 if a < b else 0", fn=lambda a, b, n: (a < b) * 1),
    Opcode("le", "alu", (_ABX,), "x <- 1 if a <= b else 0 (alias `comp`)",
           fn=lambda a, b, n: (a <= b) * 1),
    # Memory.
    Opcode("read", "read", (_AX,), "x <- M[a]; 0 when a >= memory"),
    Opcode("write", "write", (((REG, "a"), (REG, "b")),),
           "M[b] <- a (value first, address second); no effect when b >= memory"),
    # Control flow. A flag is true only when it equals exactly 1.
    Opcode("jump", "jump", (((REG, "a"), (LABEL, "target")),), "if a = 1, go to L"),
    Opcode("jumpr", "jumpr", (((REG, "a"), (REG, "b")),),
           "if a = 1, go to the address held in b"),
    Opcode("jmp", "jmp", (((LABEL, "target"),),), "go to L"),
    Opcode("call", "call", (((LABEL, "target"), (DST, "x")),),
           "x <- address of the next instruction; go to L"),
    Opcode("ret", "ret", (((REG, "a"),),), "go to the address held in a"),
    Opcode("store", "store", (((DST, "x"),),), "x <- address of this instruction"),
)

ALIASES: dict[str, str] = {"comp": "le"}

OPCODE_BY_NAME: dict[str, Opcode] = {op.name: op for op in OPCODES}
OP_INDEX: dict[str, int] = {op.name: i for i, op in enumerate(OPCODES)}
ALU_OPCODES: tuple[Opcode, ...] = tuple(op for op in OPCODES if op.is_alu)
ALU_NAMES: tuple[str, ...] = tuple(op.name for op in ALU_OPCODES)
# Opcodes whose instruction writes its destination register x.
REGISTER_WRITERS: tuple[str, ...] = tuple(op.name for op in OPCODES if op.writes_register)


def lookup(name: str) -> Opcode | None:
    """The opcode called ``name`` (aliases resolved), or None."""
    return OPCODE_BY_NAME.get(ALIASES.get(name, name))


def alu_result(name: str, a: int, b: int, n: int) -> int:
    """Exact result of ALU opcode ``name`` on values ``a``, ``b`` at base ``n``."""
    fn = OPCODE_BY_NAME[name].fn
    if fn is None:
        raise ValueError(f"{name} is not an ALU opcode")
    return int(fn(a % n, b % n, n) % n)


def opcode_reference_markdown() -> str:
    """The opcode reference table for the docs, generated from :data:`OPCODES`."""
    rows = ["| opcode | syntax | class | effect |", "| --- | --- | --- | --- |"]
    for op in OPCODES:
        rows.append(f"| `{op.name}` | `{op.syntax()}` | {op.group} | {op.doc} |")
    for alias, target in ALIASES.items():
        rows.append(f"| `{alias}` | alias of `{target}` | {OPCODE_BY_NAME[target].group} | "
                    f"{OPCODE_BY_NAME[target].doc} |")
    return "\n".join(rows) + "\n"
