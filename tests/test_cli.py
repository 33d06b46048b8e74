"""The ``neurocompiler`` command, in-process through ``cli.main`` (plus two subprocess
runs of ``python -m neurocompiler``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from neurocompiler import cli
from neurocompiler.compiler import CompiledProgram
from neurocompiler.interpreter import run as interpret
from neurocompiler.machine import Machine

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# r3 <- M[0] + ... + M[r1-1] (mod n); M[r1] <- r3.
SUM = """\
main:
    const 0 r3
    const 0 r5
loop:
    le r1 r5 r6
    jump r6 done
    read r5 r7
    add r3 r7 r3
    inc r5
    jmp loop
done:
    write r3 r1
    halt
"""

# Two entry points: `double` (r2 <- 2 r1) and `square` (r2 <- r1 * r1).
ENTRIES = """\
double:
    add r1 r1 r2
    halt
square:
    mul r1 r1 r2
    halt
"""

MAIN = """\
main:
    call lib_triple r15
    inc r2
    halt
"""

LIB = """\
# lib_triple: r2 <- 3 r1; returns via r15.
lib_triple:
    add r1 r1 r2
    add r2 r1 r2
    ret r15
"""


@pytest.fixture
def write(tmp_path):
    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return write


def main_json(capsys, *argv):
    assert cli.main(list(argv)) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


def fails(capsys, *argv) -> str:
    """Run argv expecting a bad-input failure; returns the one stderr line."""
    assert cli.main(list(argv)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("neurocompiler: error: ")
    return lines[0]


# --- run --------------------------------------------------------------------------------

def test_run_json_hard_and_soft_agree(capsys, write):
    prog = write("sum.asm", SUM)
    args = ["run", prog, "--base", "32", "--set", "r1=4", "--mem", "3,1,4,1", "--json"]
    hard = main_json(capsys, *args)
    assert hard == {"halted": True, "steps": 30, "registers": hard["registers"],
                    "memory": [3, 1, 4, 1, 9] + [0] * 27}
    assert hard["registers"][1] == 4 and hard["registers"][3] == 9 and len(hard["registers"]) == 16
    soft = main_json(capsys, *args, "--soft")
    assert {k: soft[k] for k in hard} == hard
    assert isinstance(soft["p_halted"], float) and soft["p_halted"] > 0.999
    assert isinstance(soft["confidence"], float) and soft["confidence"] > 0.999


def test_run_soften_spreads_mass_but_keeps_the_answer(capsys, write):
    prog = write("sum.asm", SUM)
    args = ["run", prog, "--base", "32", "--set", "r1=4", "--mem", "3,1,4,1", "--json", "--soft"]
    sharp = main_json(capsys, *args)
    soft = main_json(capsys, *args, "--soften", "0.01")
    assert soft["memory"] == sharp["memory"] and soft["registers"] == sharp["registers"]
    assert 0.5 < soft["confidence"] < sharp["confidence"]
    assert "soften must lie in [0, 1)" in fails(capsys, *args, "--soften", "1.5")


@pytest.mark.parametrize("alu", ["circuit", "exact"])
def test_run_soft_on_every_alu_agrees_with_the_interpreter(capsys, write, alu):
    prog = write("sum.asm", SUM)
    args = ["run", prog, "--base", "32", "--set", "r1=4", "--mem", "3,1,4,1", "--json"]
    hard = main_json(capsys, *args)
    soft = main_json(capsys, *args, "--soft", "--alu", alu)
    assert {k: soft[k] for k in hard} == hard and soft["confidence"] > 0.999
    assert "power of two" in fails(capsys, *args[:-1], "--base", "24", "--soft", "--alu", "circuit")


def test_run_defaults_and_options(capsys, write):
    prog = write("sum.asm", SUM)
    out = main_json(capsys, "run", prog, "--json")  # base 128, 16 registers, memory 128
    assert len(out["registers"]) == 16 and len(out["memory"]) == 128 and out["steps"] == 6
    out = main_json(capsys, "run", prog, "--registers", "8", "--memory", "6", "--base", "16",
                    "--set", "r1=2", "--set", "r7=9", "--mem", "15,15", "--json")
    assert len(out["registers"]) == 8 and out["memory"] == [15, 15, 14, 0, 0, 0]


def test_run_readable_summary(capsys, write):
    prog = write("sum.asm", SUM)
    assert cli.main(["run", prog, "--set", "r1=2", "--mem", "5,6"]) == 0
    out = capsys.readouterr().out
    assert "halted after 18 steps" in out and "r3=11" in out and "memory[0..2]: 5 6 11" in out
    assert cli.main(["run", prog, "--set", "r1=2", "--mem", "5,6", "--soft"]) == 0
    out = capsys.readouterr().out
    assert "halted after 18 steps" in out and "p_halted: 1.0" in out and "confidence:" in out


def test_run_entry(capsys, write):
    prog = write("entries.asm", ENTRIES)
    assert main_json(capsys, "run", prog, "--set", "r1=5", "--json")["registers"][2] == 10
    for soft in ([], ["--soft"]):
        out = main_json(capsys, "run", prog, "--set", "r1=5", "--entry", "square", "--json", *soft)
        assert out["registers"][2] == 25 and out["steps"] == 2


def test_run_multi_file_linking(capsys, write):
    main, lib = write("main.asm", MAIN), write("lib.asm", LIB)
    for soft in ([], ["--soft"]):
        out = main_json(capsys, "run", main, lib, "--set", "r1=7", "--json", *soft)
        assert out["registers"][2] == 22 and out["registers"][15] == 1 and out["steps"] == 6


# --- bad input: exit 2, one line on stderr, no traceback ---------------------------------

@pytest.mark.parametrize("extra, message", [
    (["--set", "r1=200"], "--set 'r1=200': value 200 out of range 0..127"),
    (["--set", "r1=16", "--base", "16"], "value 16 out of range 0..15"),
    (["--mem", "1,2,300"], "--mem cell 2: value 300 out of range 0..127"),
    (["--set", "r20=1"], "unknown register r20 (registers are r0..r15)"),
    (["--set", "r3=1", "--registers", "3"], "unknown register r3 (registers are r0..r2)"),
    (["--set", "one=1"], "expected rI=V"),
    (["--mem", "1;2"], "'1;2' is not an integer"),
    (["--base", "1"], "base must be at least 2, got 1"),
    (["--registers", "0"], "registers must be at least 1"),
    (["--memory", "-3"], "memory must be non-negative"),
    (["--base", "ten"], "argument --base: 'ten' is not an integer"),
    (["--max-steps", "0"], "argument --max-steps: must be at least 1"),
    (["--entry", "nowhere"], "unknown entry label 'nowhere'"),
    (["--alu", "abacus", "--soft"], "unknown ALU 'abacus' (choose from table, dense, dense_best, circuit, exact)"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_run_bad_input(capsys, write, extra, message):
    prog = write("sum.asm", SUM)
    assert message in fails(capsys, "run", prog, "--json", *extra)


def test_unreadable_file(capsys, tmp_path):
    missing = tmp_path / "missing.asm"
    line = fails(capsys, "run", str(missing))
    assert f"{missing}: cannot read file" in line
    assert "cannot read file" in fails(capsys, "run", str(tmp_path))  # a directory


@pytest.mark.parametrize("text, where, message", [
    ("main:\n    const 0 r3\n    frob r1\n", "3:5", "unknown opcode 'frob'"),
    ("    add r1 r2\n", "1:5", "wrong operand count for 'add'"),
    ("    copy r1 r99\n", "1:13", "register r99 out of range (r0..r15)"),
    ("    const 300 r1\n", "1:11", "literal 300 out of range 0..127"),
    ("    jmp nowhere\n", "1:9", "undefined label 'nowhere'"),
    ("a:\na:\n    halt\n", "2:1", "duplicate label 'a'"),
])
def test_syntax_errors_name_file_line_col(capsys, write, text, where, message):
    prog = write("bad.asm", text)
    line = fails(capsys, "run", prog)
    assert line == f"neurocompiler: error: {prog}:{where}: {message}" or \
        line.startswith(f"neurocompiler: error: {prog}:{where}: {message}")


def test_error_in_second_file(capsys, write):
    main, lib = write("main.asm", MAIN), write("lib.asm", LIB.replace("ret r15", "ret r15 r1"))
    assert f"{lib}:5:5: wrong operand count for 'ret'" in fails(capsys, "run", main, lib)


@pytest.mark.parametrize("soft", [False, True])
def test_non_halting(capsys, write, soft):
    prog = write("spin.asm", "spin:\n    jmp spin\n")
    line = fails(capsys, "run", prog, "--max-steps", "50", *(["--soft"] if soft else []))
    assert line.startswith(f"neurocompiler: error: {prog}: did not halt within 50 steps")
    assert ("p_halted" in line) == soft


def test_usage_errors(capsys, write):
    assert "required: COMMAND" in fails(capsys)
    assert "required: FILE.asm" in fails(capsys, "run")
    assert "invalid choice: 'fly'" in fails(capsys, "fly")
    assert "required: -o/--output" in fails(capsys, "compile", write("sum.asm", SUM))


def test_help_and_version(capsys):
    assert cli.main(["--help"]) == 0
    assert "run" in capsys.readouterr().out
    assert cli.main(["run", "--help"]) == 0
    assert "--max-steps" in capsys.readouterr().out
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("neurocompiler ")


# --- trace ------------------------------------------------------------------------------

def test_trace_text(capsys, write):
    prog = write("sum.asm", SUM)
    assert cli.main(["trace", prog, "--set", "r1=2", "--mem", "5,6"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["step", "pc", "instruction", "changes"]
    assert lines[5].split() == ["5", "4", "read", "r5", "r7", "r7=5"]
    assert "M[2]=11" in lines[17] and lines[-1] == "halted after 18 steps"
    assert cli.main(["trace", prog, "--set", "r1=2", "--mem", "5,6", "--soft"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["step", "pc", "p(pc)", "instruction", "p_halted", "changes"]
    assert lines[5].split() == ["5", "4", "1.000000", "read", "r5", "r7", "0.000000", "r7=5"]
    assert lines[-1].startswith("halted after 18 steps (p_halted 1.0")


@pytest.mark.parametrize("soft", [False, True])
def test_trace_png(capsys, write, tmp_path, soft):
    prog = write("sum.asm", SUM)
    png = tmp_path / f"trace_{soft}.png"
    argv = ["trace", prog, "--base", "16", "--set", "r1=2", "--mem", "5,6", "--png", str(png)]
    assert cli.main(argv + (["--soft"] if soft else [])) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"wrote {png}")
    assert png.read_bytes()[:8] == PNG_MAGIC


def test_trace_non_halting_and_bad_png_path(capsys, write, tmp_path):
    prog = write("spin.asm", "spin:\n    jmp spin\n")
    assert cli.main(["trace", prog, "--max-steps", "4"]) == 2  # the trace, then the failure, like run
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "did not halt within 4 steps"
    assert err.startswith(f"neurocompiler: error: {prog}: did not halt within 4 steps") and err.count("\n") == 1
    bad = tmp_path / "no" / "dir" / "t.png"
    capsys.readouterr()
    assert cli.main(["trace", prog, "--max-steps", "4", "--png", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"neurocompiler: error: {bad}: cannot write PNG") and "Traceback" not in err


# --- compile ----------------------------------------------------------------------------

def test_compile_writes_loadable_program(capsys, write, tmp_path):
    prog = write("entries.asm", ENTRIES)
    out = tmp_path / "prog.safetensors"
    assert cli.main(["compile", prog, "-o", str(out), "--base", "32", "--entry", "square"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"wrote {out}: 4 instructions, base 32") and "\n" not in line
    loaded = CompiledProgram.load(out)
    assert loaded.config.base == 32 and loaded.program.entry == 2
    machine = Machine(loaded)
    for r1 in (0, 3, 7, 31):
        ref = interpret(loaded.program, registers={1: r1})
        state = machine.run(machine.initial_state(registers={1: r1}), max_steps=20).state
        decoded = state.decode()
        assert decoded.registers[0].tolist() == ref.registers == [0, r1, r1 * r1 % 32] + [0] * 13
        assert decoded.memory[0].tolist() == ref.memory


def test_compile_errors(capsys, write, tmp_path):
    prog = write("sum.asm", SUM)
    line = fails(capsys, "compile", prog, "-o", str(tmp_path / "missing" / "x.safetensors"))
    assert "cannot write compiled program" in line
    long = write("long.asm", "    halt\n" * 17)
    assert "program longer than base" in fails(capsys, "compile", long, "-o", "x", "--base", "16")


# --- demo -------------------------------------------------------------------------------

def test_demo(capsys):
    assert cli.main(["demo", "--machine"]) == 0
    out = capsys.readouterr().out
    assert "figure4_insertion_sort.asm" in out and "agree: yes" in out
    for token in ("M[0]", "M[7]", "steps", "p_halted" if "p_halted" in out else "halted",
                  "confidence"):
        assert token in out
    assert cli.main(["demo", "--machine", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["agree"] and d["interpreter"]["memory"][:8] == sorted(d["input"], reverse=True)


def test_lm_demo_trains_then_answers_with_program_inputs_and_confidence(tmp_path, capsys):
    tiny = ["--examples", "200", "--epochs", "1", "--dim", "32", "--layers", "2", "--no-progress"]
    assert cli.main(["demo", *tiny, "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and out.count("  Q: ") == 4
    assert len(re.findall(r"program (add|sub|mul|div) \(p = [01]\.\d{3}\)", out)) == 4
    assert "parsed r1 = " in out and "confidence" in out
    assert cli.main(["demo", *tiny, "--json", "--out", str(tmp_path / "b")]) == 0
    d = json.loads(capsys.readouterr().out)  # the training log went to stderr
    assert 0 <= d["test_accuracy"] <= 1 and len(d["answers"]) == 4
    assert {"question", "answer", "program", "p_program", "registers", "confidence", "expected"} <= d["answers"][0].keys()


# --- bench ------------------------------------------------------------------------------

@pytest.fixture
def fake_bench(monkeypatch):
    calls = []

    def alu_rows(sizes=(64, 128), batch=32, repeats=5):
        calls.append(("alu", sizes, batch, repeats))
        for n in sizes:
            yield {"alu": "table", "base": n, "batch": batch, "ms_per_call": 0.125 * n}

    def machine_rows(batches=(1, 32, 256), base=128, repeats=3):
        calls.append(("machine", list(batches), base, repeats))
        for b in batches:
            yield {"base": base, "batch": b, "steps_per_s": 1e4 / b}

    fake = types.ModuleType("neurocompiler.bench")
    fake.alu_rows, fake.machine_rows = alu_rows, machine_rows
    monkeypatch.setitem(sys.modules, "neurocompiler.bench", fake)
    return calls


def test_bench_json(capsys, fake_bench):
    assert cli.main(["bench", "alu", "--json", "--sizes", "16,32", "--batch", "8",
                     "--repeats", "2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["base"] for r in rows] == [16, 32] and rows[1]["ms_per_call"] == 4.0
    assert fake_bench == [("alu", [16, 32], 8, 2)]
    assert cli.main(["bench", "machine", "--json", "--batch", "1,4"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["batch"] for r in rows] == [1, 4]
    assert fake_bench[-1] == ("machine", [1, 4], 128, 3)


def test_bench_table(capsys, fake_bench):
    assert cli.main(["bench", "machine", "--sizes", "16"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["base", "batch", "steps_per_s"]
    assert len(lines) == 2 + 3 and lines[2].split() == ["16", "1", "1e+04"]
    assert fake_bench == [("machine", [1, 32, 256], 16, 3)]
    assert "--sizes" in fails(capsys, "bench", "alu", "--sizes", "16,x")
    assert "invalid choice" in fails(capsys, "bench", "gpu")


# --- python -m neurocompiler ------------------------------------------------------------

def _python_m(*argv: str) -> subprocess.CompletedProcess:
    src = str(Path(cli.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "neurocompiler", *argv], capture_output=True,
                          text=True, env=env, timeout=120)


def test_python_m_run_json(write):
    prog = write("sum.asm", SUM)
    proc = _python_m("run", prog, "--set", "r1=3", "--mem", "1,2,3", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["halted"] and out["registers"][3] == 6 and out["memory"][:4] == [1, 2, 3, 6]


def test_python_m_bad_program(write):
    prog = write("bad.asm", "main:\n    add r1 r2 r99\n")
    proc = _python_m("run", prog, "--json")
    assert proc.returncode == 2
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        f"neurocompiler: error: {prog}:2:15: register r99 out of range (r0..r15)"]


# --- library ------------------------------------------------------------------------------

def test_library_list(capsys):
    assert cli.main(["library", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    fib = next(r for r in rows if r["function"] == "fib")
    assert fib["inputs"] == ["r1", "r2", "r3"] and fib["outputs"] == ["r0"] and fib["return"] == "r15"
    assert cli.main(["library", "list"]) == 0
    assert "insertion_sort" in capsys.readouterr().out


@pytest.mark.parametrize("soft", [False, True])
def test_library_run(capsys, soft):
    extra = ["--soft"] if soft else []
    fib = main_json(capsys, "library", "run", "fib", "--args", "1", "1", "5", "--json", *extra)
    assert fib["outputs"] == {"r0": 13} and fib["steps"] == 40  # 8 steps per depth
    srt = main_json(capsys, "library", "run", "insertion_sort", "--args", "5", "--mem",
                    "9,3,7,1,4", "--json", *extra)
    assert srt["memory"][:6] == [1, 3, 4, 7, 9, 0]


def test_library_run_bad_input(capsys):
    assert "takes 3 argument(s)" in fails(capsys, "library", "run", "fib", "--args", "1", "2")
    assert "unknown library function 'qsort'" in fails(capsys, "library", "run", "qsort")
    assert "out of range" in fails(capsys, "library", "run", "add", "--args", "1", "500")
