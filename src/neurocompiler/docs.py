"""Render ``docs/OPCODES.md`` from the opcode table :data:`neurocompiler.isa.OPCODES`
(and ``docs/PRESETS.md`` from the preset files, :mod:`neurocompiler.docs_presets`).

The opcode reference is never edited by hand: it is generated here, and a test checks
that the committed file equals :func:`render`, so the docs cannot drift from the table.

Regenerate with::

    python -m neurocompiler.docs            # writes docs/OPCODES.md and docs/PRESETS.md of this checkout
    python -m neurocompiler.docs PATH       # writes the opcode reference to PATH instead
    python -m neurocompiler.docs --check    # exit status 1 if either is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import isa

#: Base of the worked examples.
EXAMPLE_BASE = 8
#: Operand values of the worked examples of one-operand ALU opcodes (``copy``, ``inc``,
#: ``dec``): the ends of the range show the wraparound.
UNARY_EXAMPLES: tuple[int, ...] = (0, 3, 7)
#: Operand pairs of the worked examples of two-operand ALU opcodes. They include the
#: edge cases: ``7 + 1`` and ``6 * 4`` wrap to 0, ``0 - 1`` wraps to 7, ``b = 0`` (division
#: and remainder by zero give 0), ``a = b``, and ``a < b`` as well as ``a > b``.
BINARY_EXAMPLES: tuple[tuple[int, int], ...] = (
    (3, 2), (2, 3), (5, 5), (7, 1), (0, 1), (6, 4), (6, 0), (0, 0),
)

#: Where :func:`main` writes by default: ``docs/OPCODES.md`` of the source checkout.
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "docs" / "OPCODES.md"
#: ... and ``docs/PRESETS.md`` beside it.
PRESETS_PATH = DEFAULT_PATH.parent / "PRESETS.md"

_INTRO = """\
# Opcode reference

<!-- Generated from neurocompiler.isa.OPCODES by `python -m neurocompiler.docs`.
     Do not edit by hand: change the opcode table and regenerate. -->

This file is generated from the opcode table `neurocompiler.isa.OPCODES`, the single
source of truth for the instruction set of `shared/spec/ISA.md`. Do not edit it by hand;
regenerate it with `python -m neurocompiler.docs` (a test fails when it is stale).

In the syntax column, `a` and `b` are source registers, `x` is the destination register,
`K` is a literal 0..n-1 and `L` is a label. Where an opcode has two forms, the shorter
one fills the missing destination as noted (`inc a` means `inc a a`).
"""


def _uses_b(op: isa.Opcode) -> bool:
    return any(fld == "b" for form in op.forms for _, fld in form)


def _example_table(op: isa.Opcode, n: int = EXAMPLE_BASE) -> str:
    """The worked examples of ALU opcode ``op`` at base ``n``, computed from its ``fn``."""
    syntax = op.forms[0]
    written = " ".join(f"r{i + 1}" for i in range(len(syntax)))
    lines = [f"### `{op.name}`", "", f"{op.doc}. Examples at base {n}, as `{op.name} {written}`:", ""]
    if _uses_b(op):
        lines += ["| a | b | x | note |", "| ---: | ---: | ---: | --- |"]
        for a, b in BINARY_EXAMPLES:
            lines.append(f"| {a} | {b} | {isa.alu_result(op.name, a, b, n)} | {_note(op, a, b, n)} |")
    else:
        lines += ["| a | x | note |", "| ---: | ---: | --- |"]
        for a in UNARY_EXAMPLES:
            lines.append(f"| {a} | {isa.alu_result(op.name, a, 0, n)} | {_note(op, a, 0, n)} |")
    return "\n".join(lines) + "\n"


def _note(op: isa.Opcode, a: int, b: int, n: int) -> str:
    """A remark on an example row: division by zero, or a result that wrapped around.

    Wraparound is detected from ``fn`` alone: the result at base ``n`` differs from the
    result at a base so large that no sum, difference or product of values below ``n``
    wraps there.
    """
    assert op.fn is not None
    if b == 0 and op.name in ("div", "mod"):
        return "b = 0 gives 0"
    if isa.alu_result(op.name, a, b, n) != op.fn(a, b, n * n + n):
        return f"wraps modulo {n}"
    return ""


def render() -> str:
    """The full text of ``docs/OPCODES.md``."""
    parts = [
        _INTRO,
        "## Opcodes\n",
        isa.opcode_reference_markdown(),
        "## Worked examples of the ALU opcodes\n",
        f"Each row is computed from the opcode's exact semantics (`fn` in the opcode table)\n"
        f"at base {EXAMPLE_BASE}: values are 0..{EXAMPLE_BASE - 1} and arithmetic wraps modulo "
        f"{EXAMPLE_BASE}. `a` and `b`\nare the values of the source registers, `x` the value "
        f"written to the destination.\n",
    ]
    parts += [_example_table(op) for op in isa.ALU_OPCODES]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Write :func:`render` to ``docs/OPCODES.md`` (or the path given) and, without a
    path, ``docs/PRESETS.md`` too; ``--check`` only compares and returns 1 when a file
    is stale."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    if len(args) > 1:
        print("usage: python -m neurocompiler.docs [--check] [PATH]", file=sys.stderr)
        return 2
    if args:
        targets = [(Path(args[0]), render)]
    else:
        from .docs_presets import render as render_presets
        targets = [(DEFAULT_PATH, render), (PRESETS_PATH, render_presets)]
    for path, make in targets:
        text = make()
        if check:
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if current != text:
                print(f"{path} is stale: regenerate with `python -m neurocompiler.docs`", file=sys.stderr)
                return 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
