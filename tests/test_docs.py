"""docs/OPCODES.md is generated from the opcode table and must never drift from it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from neurocompiler import docs, isa

REPO = Path(__file__).resolve().parents[1]
OPCODES_MD = REPO / "docs" / "OPCODES.md"


def test_opcodes_md_is_up_to_date():
    assert OPCODES_MD.exists(), "docs/OPCODES.md is missing: run `python -m neurocompiler.docs`"
    assert OPCODES_MD.read_text(encoding="utf-8") == docs.render(), (
        "docs/OPCODES.md is stale: regenerate it with `python -m neurocompiler.docs`")


def test_render_is_deterministic_and_contains_the_table():
    text = docs.render()
    assert text == docs.render()
    assert "neurocompiler.isa.OPCODES" in text
    assert "python -m neurocompiler.docs" in text
    assert isa.opcode_reference_markdown() in text
    for op in isa.OPCODES:
        assert f"| `{op.name}` |" in text
    for alias in isa.ALIASES:
        assert f"| `{alias}` |" in text


def _example_rows(text: str, name: str) -> list[list[int]]:
    """The numeric rows of the worked-example table of opcode ``name``."""
    section = text.split(f"### `{name}`\n", 1)[1].split("\n### ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and all(re.fullmatch(r"\d+", c) for c in cells[:-1]) and len(cells) >= 3:
            rows.append([int(c) for c in cells[:-1]])
    return rows


def test_every_alu_opcode_has_worked_examples_that_match_its_semantics():
    text = docs.render()
    n = docs.EXAMPLE_BASE
    for op in isa.ALU_OPCODES:
        rows = _example_rows(text, op.name)
        assert len(rows) >= 3, op.name
        for row in rows:
            *args, result = row
            a, b = (args + [0])[:2]
            assert 0 <= result < n
            assert result == isa.alu_result(op.name, a, b, n), (op.name, row)


def test_worked_examples_cover_the_edge_cases():
    text = docs.render()
    # Wraparound at base 8 and division / remainder by zero are shown.
    assert [7, 1, 0] in _example_rows(text, "add")
    assert [0, 1, 7] in _example_rows(text, "sub")
    assert [7, 0] in _example_rows(text, "inc")
    assert [0, 7] in _example_rows(text, "dec")
    assert [6, 0, 0] in _example_rows(text, "div")
    assert [6, 0, 0] in _example_rows(text, "mod")
    assert "wraps modulo 8" in text and "b = 0 gives 0" in text


def test_main_writes_the_file_and_check_detects_staleness(tmp_path, capsys):
    out = tmp_path / "sub" / "OPCODES.md"
    assert docs.main(["--check", str(out)]) == 1  # missing
    assert docs.main([str(out)]) == 0
    assert out.read_text(encoding="utf-8") == docs.render()
    assert docs.main(["--check", str(out)]) == 0
    out.write_text(docs.render() + "hand edit\n", encoding="utf-8")
    assert docs.main(["--check", str(out)]) == 1
    assert docs.main(["a", "b"]) == 2
    capsys.readouterr()


def test_module_runs_as_a_script(tmp_path):
    out = tmp_path / "OPCODES.md"
    proc = subprocess.run([sys.executable, "-m", "neurocompiler.docs", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8") == docs.render()
