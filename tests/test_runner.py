"""runner.py: parsing of command-line values, runs, traces, compile, bench dispatch, demo."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from neurocompiler import runner
from neurocompiler.compiler import CompiledProgram
from neurocompiler.errors import AsmError, InputError, NeurocompilerError, NotHaltedError
from neurocompiler.interpreter import run as interpret
from neurocompiler.machine import Machine

from test_cli import SUM  # noqa: E402  (r3 <- M[0] + ... + M[r1-1]; M[r1] <- r3)

LOOP = "spin:\n    jmp spin\n"


@pytest.fixture
def sum_asm(tmp_path):
    path = tmp_path / "sum.asm"
    path.write_text(SUM)
    return path


@pytest.fixture
def loop_asm(tmp_path):
    path = tmp_path / "loop.asm"
    path.write_text(LOOP)
    return path


CFG16 = runner.make_config(16)


# --- parsing ----------------------------------------------------------------------------

def test_make_config_defaults_and_errors():
    cfg = runner.make_config()
    assert (cfg.base, cfg.registers, cfg.m) == (128, 16, 128)
    assert runner.make_config(16, 4, 3).m == 3
    for bad in [dict(base=1), dict(registers=0), dict(memory=-1)]:
        with pytest.raises(InputError, match="must be"):
            runner.make_config(**bad)


def test_parse_set():
    assert runner.parse_set("r1=8", CFG16) == (1, 8)
    assert runner.parse_set("r15=15", CFG16) == (15, 15)
    assert runner.parse_sets(["r1=2", "r3=4", "r1=5"], CFG16) == {1: 5, 3: 4}
    assert runner.parse_sets(None, CFG16) == {}


@pytest.mark.parametrize("text, pattern", [
    ("r16=1", r"unknown register r16 \(registers are r0\.\.r15\)"),
    ("r20=1", "unknown register r20"),
    ("r1=16", r"'r1=16'.*value 16 out of range 0\.\.15"),
    ("r1=-1", "value -1 out of range"),
    ("r1=x", "'x' is not an integer"),
    ("r1", "expected rI=V"),
    ("x1=3", "expected rI=V"),
    ("=3", "expected rI=V"),
])
def test_parse_set_errors(text, pattern):
    with pytest.raises(InputError, match=pattern) as info:
        runner.parse_set(text, CFG16)
    assert "\n" not in str(info.value)


def test_parse_mem():
    assert runner.parse_mem("5,3,9", CFG16) == [5, 3, 9]
    assert runner.parse_mem(" 5, 3 ,9 ", CFG16) == [5, 3, 9]
    assert runner.parse_mem(None, CFG16) == []
    assert runner.parse_mem("", CFG16) == []
    assert runner.parse_mem(",".join(["1"] * 16), CFG16) == [1] * 16


@pytest.mark.parametrize("text, pattern", [
    ("1,16", r"cell 1: value 16 out of range 0\.\.15"),
    ("1,,2", "cell 1: '' is not an integer"),
    ("1,a", "cell 1: 'a' is not an integer"),
    (",".join(["1"] * 17), "17 values given, but memory has only 16 cells"),
])
def test_parse_mem_errors(text, pattern):
    with pytest.raises(InputError, match=pattern):
        runner.parse_mem(text, CFG16)


# --- runs -------------------------------------------------------------------------------

def test_run_program_hard_and_soft_agree(sum_asm):
    hard = runner.run_program([sum_asm], CFG16, {1: 3}, [5, 6, 7])
    assert hard == {"halted": True, "steps": 24, "registers": hard["registers"],
                    "memory": [5, 6, 7, 2] + [0] * 12}
    assert hard["registers"][3] == 2  # 18 mod 16
    soft = runner.run_program([sum_asm], CFG16, {1: 3}, [5, 6, 7], soft=True)
    assert set(soft) == {"halted", "steps", "registers", "memory", "p_halted", "confidence"}
    assert {k: soft[k] for k in hard} == hard
    assert soft["p_halted"] > 0.999 and soft["confidence"] > 0.999
    assert isinstance(soft["steps"], int) and isinstance(soft["p_halted"], float)


def test_run_program_not_halted(loop_asm):
    with pytest.raises(NotHaltedError, match=r"loop\.asm: did not halt within 7 steps$"):
        runner.run_program([loop_asm], CFG16, max_steps=7)
    with pytest.raises(NotHaltedError, match=r"did not halt within 7 steps \(p_halted = 0\)"):
        runner.run_program([loop_asm], CFG16, max_steps=7, soft=True)
    with pytest.raises(InputError, match="at least 1"):
        runner.run_program([loop_asm], CFG16, max_steps=0)


def test_run_program_errors_are_neurocompiler_errors(tmp_path, sum_asm):
    bad = tmp_path / "bad.asm"
    bad.write_text("main:\n    add r1 r2\n")
    with pytest.raises(AsmError, match=r"bad\.asm:2:5: wrong operand count"):
        runner.run_program([bad], CFG16)
    with pytest.raises(InputError, match="cannot read file"):
        runner.run_program([tmp_path / "missing.asm"], CFG16)
    with pytest.raises(InputError, match="unknown entry label 'nope'"):
        runner.run_program([sum_asm], CFG16, entry="nope")
    with pytest.raises(InputError, match="no program files"):
        runner.run_program([], CFG16)
    with pytest.raises(NeurocompilerError, match="unknown ALU"):
        runner.run_program([sum_asm], CFG16, soft=True, alu="abacus")


# --- traces -----------------------------------------------------------------------------

@pytest.mark.parametrize("soft", [False, True])
def test_trace_program(sum_asm, soft):
    tr = runner.trace_program([sum_asm], CFG16, {1: 2}, [5, 6], soft=soft)
    T, L1 = 18, 11
    assert tr.halted and tr.steps == T and tr.soft == soft
    assert tr.counter.shape == (T, L1)
    np.testing.assert_allclose(tr.counter.sum(1), 1.0, atol=1e-5)
    assert tr.registers.shape == (T + 1, 16) and tr.register_probs.shape == (T + 1, 16)
    assert tr.p_halted.shape == tr.confidence.shape == (T + 1,)
    assert tr.p_halted[0] == 0 and tr.p_halted[-1] > 0.999
    assert tr.labels[0] == "const 0 r3" and tr.labels[-1] == "(implicit halt)"
    assert tr.registers[-1, 3] == 11 and tr.registers[0, 1] == 2
    rows = tr.rows
    assert [r.step for r in rows] == list(range(1, T + 1))
    assert [r.pc for r in rows[:4]] == [0, 1, 2, 3]
    assert rows[4].text == "read r5 r7" and rows[4].registers == {7: 5}
    assert rows[16].text == "write r3 r1" and rows[16].memory == {2: 11}
    assert rows[-1].text == "halt" and rows[-1].p_halted > 0.999
    text = runner.format_trace(tr)
    assert "halted after 18 steps" in text and "M[2]=11" in text and "r3=11" in text
    if soft:
        assert "p(pc)" in text and "p_halted" in text


@pytest.mark.parametrize("soft", [False, True])
def test_trace_not_halted_is_reported_not_raised(loop_asm, soft):
    tr = runner.trace_program([loop_asm], CFG16, max_steps=5, soft=soft)
    assert not tr.halted and tr.steps == 5
    assert "did not halt within 5 steps" in runner.format_trace(tr)


def test_write_trace_png(tmp_path, sum_asm):
    tr = runner.trace_program([sum_asm], CFG16, {1: 2}, [5, 6], soft=True)
    out = tmp_path / "t.png"
    runner.write_trace_png(tr, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match="cannot write PNG"):
        runner.write_trace_png(tr, tmp_path / "no" / "such" / "dir.png")


# --- compile ----------------------------------------------------------------------------

def test_compile_to_file(tmp_path, sum_asm):
    out = tmp_path / "sum.safetensors"
    summary = runner.compile_to_file([sum_asm], CFG16, out)
    assert summary["instructions"] == 10 and summary["base"] == 16 and out.exists()
    assert "wrote" in runner.format_compile(summary)
    loaded = CompiledProgram.load(out)
    m = Machine(loaded)
    st = m.run(m.initial_state(registers={1: 3}, memory=[1, 2, 3]), max_steps=100).state.decode()
    ref = interpret(loaded.program, registers={1: 3}, memory=[1, 2, 3])
    assert st.registers[0].tolist() == ref.registers and st.memory[0].tolist() == ref.memory
    with pytest.raises(InputError, match="cannot write compiled program"):
        runner.compile_to_file([sum_asm], CFG16, tmp_path / "missing" / "x.safetensors")


# --- bench ------------------------------------------------------------------------------

@pytest.fixture
def fake_bench(monkeypatch):
    calls = []

    def alu_rows(sizes=(64, 128), batch=32, repeats=5):
        calls.append(("alu", list(sizes), batch, repeats))
        for n in sizes:
            yield {"alu": "table", "base": n, "batch": batch, "ms": 0.5 * n}

    def machine_rows(batches=(1, 32, 256), base=128, repeats=3):
        calls.append(("machine", list(batches), base, repeats))
        for b in batches:
            yield {"base": base, "batch": b, "steps_per_s": 1000.0 / b, "ok": True}

    fake = types.ModuleType("neurocompiler.bench")
    fake.alu_rows, fake.machine_rows = alu_rows, machine_rows
    monkeypatch.setitem(sys.modules, "neurocompiler.bench", fake)
    return calls


def test_bench_rows_dispatch(fake_bench):
    rows = list(runner.bench_rows("alu", sizes=[16, 32], batches=[8], repeats=2))
    assert [r["base"] for r in rows] == [16, 32]
    assert fake_bench[-1] == ("alu", [16, 32], 8, 2)
    list(runner.bench_rows("alu"))
    assert fake_bench[-1] == ("alu", [64, 128], 32, 5)  # bench's own defaults
    rows = list(runner.bench_rows("machine", sizes=[16, 64], batches=[1, 4]))
    assert fake_bench[-2:] == [("machine", [1, 4], 16, 3), ("machine", [1, 4], 64, 3)]
    assert len(rows) == 4
    list(runner.bench_rows("machine"))
    assert fake_bench[-1] == ("machine", [1, 32, 256], 128, 3)


def test_format_table():
    text = runner.format_table([{"name": "a", "ms": 1.23456, "n": 16, "skipped": None},
                                {"name": "bbbb", "ms": None, "n": 128, "extra": True}])
    lines = text.splitlines()
    assert lines[0].split() == ["name", "ms", "n", "skipped", "extra"]
    assert len({len(line) for line in lines[:2]}) == 1  # header and rule aligned
    assert lines[2].split() == ["a", "1.235", "16", "-"]
    assert lines[3].split() == ["bbbb", "-", "128", "True"]  # a missing key is blank
    assert lines[2].index("16") + 2 == lines[3].index("128") + 3  # numbers right-aligned
    assert runner.format_table([]) == "(no rows)"


# --- demo -------------------------------------------------------------------------------

def test_demo():
    d = runner.demo()
    assert d["agree"] and len(d["input"]) == 8
    assert d["interpreter"]["memory"][:8] == sorted(d["input"], reverse=True)
    assert d["machine"]["memory"][:8] == d["interpreter"]["memory"][:8]
    assert d["machine"]["p_halted"] > 0.999
    text = runner.format_demo(d)
    assert "agree: yes" in text and "M[7]" in text and "confidence" in text


def test_format_outcome():
    out = {"halted": True, "steps": 3, "registers": [0, 4, 0], "memory": [1, 0, 2, 0, 0]}
    text = runner.format_outcome(out)
    assert "halted after 3 steps" in text and "r1=4" in text and "r0" not in text
    assert "memory[0..2]: 1 0 2" in text
    text = runner.format_outcome({**out, "registers": [0] * 3, "memory": [0] * 5,
                                  "p_halted": 0.9, "confidence": 0.8})
    assert "registers: all 0" in text and "memory: all 0" in text
    assert "p_halted: 0.900000" in text and "confidence: 0.800000" in text
