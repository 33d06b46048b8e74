"""The opcode table :data:`neurocompiler.isa.OPCODES` against the contract ISA.md.

The spec is read from ``shared/spec/ISA.md`` beside the repository (``../shared`` from
the repository root, as in CI); the tests that parse it are skipped when it is absent.
The ALU semantics are checked against expectations written out independently here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neurocompiler import isa
from neurocompiler.asm import assemble
from neurocompiler.config import MachineConfig
from neurocompiler.interpreter import run

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "ISA.md"
needs_spec = pytest.mark.skipif(not SPEC.exists(), reason=f"{SPEC} not found")


# ----------------------------------------------------------------------------------
# Parsing the spec's instruction table.

def _table_rows(heading: str) -> list[list[str]]:
    """The body rows (cells) of the first table under the ``## heading`` of ISA.md."""
    text = SPEC.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip() for line in section.splitlines() if line.strip().startswith("|")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    return [c for c in cells[1:] if not all(re.fullmatch(r":?-+:?", x) for x in c)]


def spec_forms() -> list[tuple[str, tuple[str, ...], str]]:
    """Every form written in the spec's instruction table: (opcode, operand letters,
    effect). ``K x`` (the paper's shorthand) and aliases (``comp``) are left out."""
    out = []
    for cells in _table_rows("Instructions"):
        instruction, effect = re.sub(r"\(alias `[^`]*`\)", "", cells[0]), cells[1]
        for span in re.findall(r"`([^`]+)`", instruction):
            words = span.split()
            if re.fullmatch(r"[a-z]+", words[0]):
                out.append((words[0], tuple(words[1:]), effect))
    return out


def spec_aliases() -> dict[str, str]:
    """``le a b x`` (alias ``comp``) -> {"comp": "le"}."""
    out = {}
    for cells in _table_rows("Instructions"):
        m = re.search(r"`([a-z]+)[^`]*`\s*\(alias `([a-z]+)`\)", cells[0])
        if m:
            out[m.group(2)] = m.group(1)
    return out


def _spec_kind(letter: str, effect: str) -> str:
    """The operand kind of a spec letter: ``K`` literal, ``L`` label, ``x`` the destination
    when the effect writes it (``x ← ...``), any other letter a register that is read."""
    if letter == "K":
        return isa.IMM
    if letter == "L":
        return isa.LABEL
    if letter == "x" and "x ←" in effect:
        return isa.DST
    assert re.fullmatch(r"[a-z]", letter), letter
    return isa.REG


@needs_spec
def test_spec_table_parses():
    forms = spec_forms()
    names = {name for name, _, _ in forms}
    assert len(forms) >= 20
    assert {"halt", "const", "add", "write", "jump", "call", "ret", "store"} <= names
    assert spec_aliases() == {"comp": "le"}


@needs_spec
def test_every_spec_opcode_is_in_the_table():
    for name, _, _ in spec_forms():
        assert name in isa.OPCODE_BY_NAME or name in isa.ALIASES, name
        assert isa.lookup(name) is not None


@needs_spec
def test_every_table_opcode_is_in_the_spec():
    """The table may extend the spec, but today every row is a spec instruction."""
    names = {name for name, _, _ in spec_forms()}
    for op in isa.OPCODES:
        assert op.name in names, op.name


@needs_spec
def test_aliases_match_the_spec():
    assert spec_aliases() == isa.ALIASES


@needs_spec
def test_operand_forms_match_the_spec():
    for name, letters, effect in spec_forms():
        op = isa.lookup(name)
        expected = tuple(_spec_kind(letter, effect) for letter in letters)
        kinds = [tuple(kind for kind, _ in form) for form in op.forms]
        assert expected in kinds, f"{name} {' '.join(letters)}: table has {op.syntax()}"


@needs_spec
def test_every_table_form_is_written_in_the_spec():
    written: dict[str, set[tuple[str, ...]]] = {}
    for name, letters, effect in spec_forms():
        written.setdefault(isa.lookup(name).name, set()).add(
            tuple(_spec_kind(letter, effect) for letter in letters))
    for op in isa.OPCODES:
        for form in op.forms:
            assert tuple(kind for kind, _ in form) in written[op.name], (op.name, form)


@needs_spec
def test_every_spec_form_assembles():
    """Each form of the spec's table, with its letters filled in, is a valid line."""
    regs = {"a": "r1", "b": "r2", "c": "r3", "v": "r4", "x": "r5"}
    for name, letters, _ in spec_forms():
        ops = [{"K": "7", "L": "L"}.get(letter, regs.get(letter)) for letter in letters]
        assert None not in ops, (name, letters)
        line = " ".join([name, *ops])
        program = assemble(f"L: {line}\nhalt\n")
        assert program.instructions[0].op == isa.lookup(name).name, line


@needs_spec
def test_machine_parameter_defaults_match_the_spec():
    rows = {re.findall(r"`([^`]+)`", cells[0])[0]: cells[2] for cells in _table_rows("Machine parameters")}
    cfg = MachineConfig()
    assert int(rows["base"]) == cfg.base == 128
    assert int(rows["registers"]) == cfg.registers == 16
    assert rows["memory"] == "= base" and cfg.memory == cfg.base
    assert MachineConfig(base=8).memory == 8


# ----------------------------------------------------------------------------------
# ALU semantics, written out independently of isa.py.

def expected_alu(name: str, a: int, b: int, n: int) -> int:
    if name == "copy":
        return a
    if name == "inc":
        return 0 if a == n - 1 else a + 1
    if name == "dec":
        return n - 1 if a == 0 else a - 1
    if name == "add":
        s = a + b
        return s - n if s >= n else s
    if name == "sub":
        return a - b if a >= b else a - b + n
    if name == "mul":
        p = 0
        for _ in range(b):
            p = (p + a) % n
        return p
    if name == "div":
        if b == 0:
            return 0
        q = 0
        while (q + 1) * b <= a:
            q += 1
        return q
    if name == "mod":
        if b == 0:
            return 0
        r = a
        while r >= b:
            r -= b
        return r
    if name == "min":
        return a if a <= b else b
    if name == "max":
        return a if a >= b else b
    if name == "eq":
        return 1 if a == b else 0
    if name == "lt":
        return 1 if a < b else 0
    if name == "le":
        return 1 if a <= b else 0
    raise KeyError(name)


SPEC_ALU = ("copy", "inc", "dec", "add", "sub", "mul", "div", "mod", "min", "max", "eq",
            "lt", "le")


def test_alu_opcodes_are_exactly_the_spec_alu_opcodes():
    assert set(isa.ALU_NAMES) == set(SPEC_ALU)
    for name in isa.ALU_NAMES:
        assert isa.OPCODE_BY_NAME[name].fn is not None
    for op in isa.OPCODES:
        assert (op.fn is not None) == op.is_alu, op.name


@pytest.mark.parametrize("n", [8, 16])
@pytest.mark.parametrize("name", SPEC_ALU)
def test_alu_fn_matches_spec_on_all_pairs(name, n):
    fn = isa.OPCODE_BY_NAME[name].fn
    for a in range(n):
        for b in range(n):
            want = expected_alu(name, a, b, n)
            assert fn(a, b, n) == want, f"{name}({a}, {b}) at base {n}"
            assert isa.alu_result(name, a, b, n) == want


@pytest.mark.parametrize("n", [2, 3, 5, 7, 128])
def test_alu_results_stay_in_range(n):
    values = range(n) if n <= 7 else (0, 1, 2, 63, 64, 126, 127)
    for name in isa.ALU_NAMES:
        for a in values:
            for b in values:
                r = isa.alu_result(name, a, b, n)
                assert 0 <= r < n and r == expected_alu(name, a, b, n), (name, a, b, n)


def test_spec_examples():
    # "Arithmetic wraps modulo n (sub 0 1 gives n-1)".
    assert isa.alu_result("sub", 0, 1, 128) == 127
    assert isa.alu_result("div", 5, 0, 128) == 0
    assert isa.alu_result("mod", 5, 0, 128) == 0
    # `inc` turns a 0/1 flag into 1/2.
    assert [isa.alu_result("inc", f, 0, 128) for f in (0, 1)] == [1, 2]
    assert isa.lookup("comp") is isa.OPCODE_BY_NAME["le"]


def test_alu_result_reduces_its_inputs_and_rejects_non_alu():
    assert isa.alu_result("add", 130, 0, 128) == 2
    with pytest.raises(ValueError):
        isa.alu_result("jmp", 0, 0, 8)


# ----------------------------------------------------------------------------------
# Operand order, observed through the reference interpreter.

def _run(src: str, registers=None, memory=None, base=16):
    return run(assemble(src, MachineConfig(base=base)), registers, memory, max_steps=100)


def test_write_is_value_first_address_second():
    out = _run("write r1 r2\nhalt", {1: 5, 2: 3})
    assert out.memory[3] == 5 and out.memory[5] == 0


def test_read_is_address_first_destination_second():
    out = _run("read r1 r2\nhalt", {1: 3}, [0, 0, 0, 9])
    assert out.registers[2] == 9


def test_binary_alu_is_sources_then_destination():
    out = _run("sub r1 r2 r3\nlt r1 r2 r4\nhalt", {1: 2, 2: 5})
    assert out.registers[3] == 13 and out.registers[4] == 1


def test_const_is_literal_then_destination_and_shorthand():
    out = _run("const 7 r1\n9 r2\nhalt")
    assert out.registers[1] == 7 and out.registers[2] == 9


def test_jump_is_flag_then_label_and_flag_means_exactly_one():
    src = "jump r1 skip\nconst 1 r5\nskip: halt"
    assert _run(src, {1: 1}).registers[5] == 0
    assert _run(src, {1: 0}).registers[5] == 1
    assert _run(src, {1: 2}).registers[5] == 1  # 2 is not true


def test_jumpr_is_flag_then_address_register():
    src = "jumpr r1 r2\nconst 1 r5\nhalt\nconst 1 r6\nhalt"
    out = _run(src, {1: 1, 2: 3})
    assert out.registers[5] == 0 and out.registers[6] == 1
    out = _run(src, {1: 3, 2: 1})  # flag 3 is false, even though r2 = 1
    assert out.registers[5] == 1 and out.registers[6] == 0


def test_call_is_label_then_link_register_and_ret_reads_it():
    src = "call f r7\nhalt\nf: const 4 r1\nret r7"
    out = _run(src)
    assert out.halted and out.registers[7] == 1 and out.registers[1] == 4 and out.steps == 4


def test_store_writes_own_address():
    out = _run("jmp s\nhalt\ns: store r3\nhalt")
    assert out.registers[3] == 2


def test_syntax_strings():
    by = isa.OPCODE_BY_NAME
    assert by["add"].syntax() == "add a b x"
    assert by["inc"].syntax() == "inc a x / inc a"
    assert by["const"].syntax() == "const K x"
    assert by["jmp"].syntax() == "jmp L"
    assert by["halt"].syntax() == "halt"


def test_table_is_consistent():
    names = [op.name for op in isa.OPCODES]
    assert len(names) == len(set(names))
    assert all(name == name.lower() for name in names)
    for alias, target in isa.ALIASES.items():
        assert alias not in isa.OPCODE_BY_NAME and target in isa.OPCODE_BY_NAME
    for op in isa.OPCODES:
        for form in op.forms:
            fields = [fld for _, fld in form]
            assert len(fields) == len(set(fields)), op.name
            assert all(fld in isa.FIELDS for fld in fields)
            assert all(kind in (isa.REG, isa.DST, isa.IMM, isa.LABEL) for kind, _ in form)
        # Shorter forms are completed by defaults from the longest form's fields.
        longest = {fld for _, fld in max(op.forms, key=len)}
        for form in op.forms:
            missing = longest - {fld for _, fld in form}
            assert missing <= {dst for dst, _ in op.defaults}, op.name
    assert isa.REGISTER_WRITERS == tuple(op.name for op in isa.OPCODES if op.writes_register)
    assert set(isa.OP_INDEX) == set(names)
