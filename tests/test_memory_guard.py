"""The memory guard (issue #18): every command refuses, in one line and before it
allocates, what its estimate says would not fit the memory budget; budgets, sizes and
the available memory; the estimates' growth; the vectorised ALU tables; bounded reads."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from neurocompiler import footprint, isa, resources
from neurocompiler.alu.tables import result_index
from neurocompiler.cli import main
from neurocompiler.config import MachineConfig
from neurocompiler.errors import InputError, MemoryBudgetError

LOOP = "    const 1 r2\nloop:\n    add r1 r2 r1\n    jmp loop\n"
TWO = "    mul r1 r2 r3\n    halt\n"


@pytest.fixture(autouse=True)
def _clean_budget(monkeypatch):
    """No budget from the environment or from an earlier --memory-budget."""
    monkeypatch.delenv(resources.ENV, raising=False)
    resources.set_flag(None)
    yield
    resources.set_flag(None)


def program(tmp_path, text: str, name: str = "p.asm") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def refused(capsys, argv: list[str], budget: str | None) -> str:
    """Run the CLI; assert exit 2 and exactly one stderr line that gives the estimate
    and the budget (as written); return the line."""
    code = main(argv + (["--memory-budget", budget] if budget else []))
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    line = lines[0]
    assert "needs about" in line or "needs more than about" in line, line
    assert "over the memory budget of" in line, line
    if budget:
        assert f"(--memory-budget {budget})" in line, line
    return line


# ----------------------------------------------------------------- every command

def test_run_soft_at_a_huge_base(tmp_path, capsys):
    line = refused(capsys, ["run", program(tmp_path, TWO), "--soft", "--base", "100000", "--memory", "4"], "4G")
    assert "ALU tables" in line and "4.0 GiB (--memory-budget 4G)" in line and "--alu exact" in line


def test_run_soft_that_fits_still_runs(tmp_path, capsys):
    assert main(["run", program(tmp_path, TWO), "--soft", "--set", "r1=3", "--set", "r2=5", "--json",
                 "--memory-budget", "2G"]) == 0
    assert '"registers": [0, 3, 5, 15' in capsys.readouterr().out


def test_hard_run_with_a_huge_memory(tmp_path, capsys):
    line = refused(capsys, ["run", program(tmp_path, TWO), "--base", "1000000000"], "2G")
    assert "interpreter state" in line and "--memory" in line


def test_trace_stops_when_the_trace_outgrows_the_budget(tmp_path, capsys):
    line = refused(capsys, ["trace", program(tmp_path, LOOP), "--max-steps", "10000000"], "400M")
    assert "needs more than about" in line and "trace (" in line and "lower --max-steps" in line


def test_soft_trace_stops_when_the_trace_outgrows_the_budget(tmp_path, capsys):
    refused(capsys, ["trace", program(tmp_path, LOOP), "--soft", "--base", "16", "--max-steps", "10000000"], "350M")


def test_a_short_trace_with_a_large_max_steps_runs(tmp_path, capsys):
    assert main(["trace", program(tmp_path, TWO), "--max-steps", "10000000", "--memory-budget", "400M"]) == 0
    assert "halted after 2 steps" in capsys.readouterr().out


def test_compile_at_a_huge_base(tmp_path, capsys):
    out = tmp_path / "p.safetensors"
    line = refused(capsys, ["compile", program(tmp_path, TWO), "--base", "1000000000", "-o", str(out)], "4G")
    assert "program" in line and not out.exists()


def test_library_run_soft_at_a_huge_base(capsys):
    refused(capsys, ["library", "run", "mul", "--args", "3", "4", "--soft", "--base", "100000"], "8G")


def test_train_at_base_65536(tmp_path, capsys, monkeypatch):
    """train takes its budget from the environment only (no --memory-budget flag)."""
    out = tmp_path / "run"
    monkeypatch.setenv(resources.ENV, "4G")
    line = refused(capsys, ["train", "--base", "65536", "--set", "examples=40", "--epochs", "1", "--set", "dim=16",
                            "--set", "layers=2", "--out", str(out)], None)
    assert f"({resources.ENV}=4G)" in line, line
    assert not out.exists()
    assert main(["train", "--memory-budget", "4G", "--out", str(out)]) == 2  # not a train flag
    assert "unrecognized arguments: --memory-budget" in capsys.readouterr().err


def test_demo_over_the_budget(tmp_path, capsys):
    refused(capsys, ["demo", "--examples", "40", "--epochs", "1", "--dim", "16", "--layers", "2",
                     "--out", str(tmp_path / "demo"), "--no-progress"], "300M")
    assert not (tmp_path / "demo").exists()


@pytest.fixture()
def run_dir(tiny_run):
    return str(tiny_run)


def test_eval_widened_to_a_huge_base(run_dir, capsys):
    line = refused(capsys, ["eval", run_dir, "--base", "4194304", "--alu", "exact"], "1G")
    assert line.startswith("neurocompiler: error: eval: answering at base 4194304 with the exact ALU")


def test_eval_at_base_65536_exact_answers_in_batches_that_fit(run_dir):
    """The issue's `eval RUN --base 65536 --alu exact`: a tighter budget gives smaller
    evaluation batches, not a crash."""
    from neurocompiler.footprint_lm import answer_batch
    from neurocompiler.train import load_run

    cfg, model, tokenizer = load_run(run_dir, base=65536, alu="exact")
    questions = ["What is the sum of 3 and 4?"] * 40
    at = lambda size: answer_batch(cfg, model, tokenizer, questions, 65536, "exact",  # noqa: E731
                                   budget=resources.Budget(resources.parse_size(size), "flag", size))
    assert at("64G") == 40 and 1 <= at("700M") < 40
    with pytest.raises(MemoryBudgetError, match="eval: answering a question"):
        at("430M")


def test_ask_over_the_budget(run_dir, capsys):
    refused(capsys, ["ask", run_dir, "Add 3 and 4"], "300M")


def test_the_environment_variable_sets_the_budget_and_the_flag_wins(tmp_path, capsys, monkeypatch):
    path = program(tmp_path, TWO)
    monkeypatch.setenv(resources.ENV, "200M")
    line = refused(capsys, ["run", path, "--soft"], None)
    assert f"({resources.ENV}=200M)" in line
    assert main(["run", path, "--soft", "--memory-budget", "2G"]) == 0
    monkeypatch.setenv(resources.ENV, "lots")
    assert main(["run", path, "--soft"]) == 2
    assert capsys.readouterr().err.count(resources.ENV) == 1


def test_a_bad_budget_flag_is_a_usage_error(tmp_path, capsys):
    assert main(["run", program(tmp_path, TWO), "--memory-budget", "3 parsecs"]) == 2
    err = capsys.readouterr().err
    assert "--memory-budget" in err and "is not a size" in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------- input files

def test_run_dev_zero_is_refused_after_a_bounded_read():
    proc = subprocess.run([sys.executable, "-m", "neurocompiler", "run", "/dev/zero"], capture_output=True,
                          text=True, timeout=60)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr
    assert "/dev/zero: more than 16.0 MiB, over the 16.0 MiB limit for a program file" in lines[0]


def test_files_over_the_limit_name_their_size(tmp_path, monkeypatch):
    big = tmp_path / "big.asm"
    big.write_bytes(b"halt\n" * 5000)
    with pytest.raises(InputError, match=r"big.asm: 24.4 KiB, over the 10.0 KiB limit for a program file"):
        resources.read_limited(big, 10 << 10, "a program file")
    from neurocompiler.tasks import jsonl

    monkeypatch.setattr(jsonl, "JSONL_LIMIT", 1 << 10)
    data = tmp_path / "train.jsonl"
    data.write_text('{"question": "Add 1 and 2", "answer": 3}\n' * 100)
    with pytest.raises(InputError, match=r"train.jsonl: 4.0 KiB, over the 1.0 KiB limit for a JSONL file"):
        jsonl.load_jsonl(data)
    assert len(resources.read_limited(data, 1 << 20, "x")) == data.stat().st_size


# ----------------------------------------------------------------- sizes, budgets, availability

@pytest.mark.parametrize("text, value", [("512M", 512 << 20), ("4G", 4 << 30), ("2.5GB", int(2.5 * (1 << 30))),
                                         ("1.5GiB", int(1.5 * (1 << 30))), ("1024", 1024), ("64k", 64 << 10),
                                         (" 2 t ", 2 << 40)])
def test_parse_size(text, value):
    assert resources.parse_size(text) == value


@pytest.mark.parametrize("text", ["", "G", "-1G", "1.2.3", "5 parsecs", "0", "iB", "3iB"])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError):
        resources.parse_size(text)


def test_budget_describes_itself(monkeypatch):
    default = resources.budget()
    held = resources.resident_bytes()
    assert 100 << 20 < held < default.bytes  # this process, torch imported
    assert default.source == "default"
    assert default.bytes - held == pytest.approx(resources.available_bytes() / 2, rel=0.1)
    assert default.describe().startswith("half of available memory, and what this process holds: ")
    monkeypatch.setenv(resources.ENV, "3G")
    assert resources.budget().describe() == f"{resources.ENV}=3G" and resources.budget().bytes == 3 << 30
    resources.set_flag("2G")
    assert resources.budget().describe() == "--memory-budget 2G"


def test_available_bytes_is_bounded_by_meminfo_and_a_cgroup(tmp_path, monkeypatch):
    total = next(int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                 if line.startswith("MemTotal:"))
    assert 0 < resources.available_bytes() <= total
    v2, v1 = tmp_path / "v2", tmp_path / "v1"
    v2.mkdir()
    v1.mkdir()
    (v2 / "memory.max").write_text("max\n")
    (v2 / "memory.current").write_text("123\n")
    (v1 / "memory.limit_in_bytes").write_text(f"{300 << 20}\n")
    (v1 / "memory.usage_in_bytes").write_text(f"{100 << 20}\n")
    monkeypatch.setattr(resources, "_cgroup_dirs", lambda: [("v2", v2), ("v1", v1)])
    assert resources.cgroup_free_bytes() == 200 << 20
    assert resources.available_bytes() == 200 << 20
    monkeypatch.setattr(resources, "_cgroup_dirs", lambda: [("v2", v2)])
    assert resources.cgroup_free_bytes() is None


def test_check_is_one_line_with_estimate_budget_and_fix():
    est = resources.Estimate({"ALU tables": 37 << 30, "machine state": 1288 << 20, "tiny": 5})
    with pytest.raises(MemoryBudgetError) as err:
        resources.check(est, resources.Budget(12455 << 20, "default"), "run --soft p.asm", "use --alu exact")
    assert str(err.value) == ("run --soft p.asm: needs about 38.3 GiB (ALU tables 37.0 GiB, machine state 1.3 GiB, "
                              "tiny 5 B), over the memory budget of 12.2 GiB (half of available memory); "
                              "use --alu exact")
    assert isinstance(err.value, InputError)
    resources.check(est, resources.Budget(est.total, "flag", "x"), "fits", "")  # exactly at the budget: fine


# ----------------------------------------------------------------- estimates

def test_estimates_are_positive_and_grow_with_base_batch_and_steps():
    def soft(base=256, batch=1, steps=0, alu="table"):
        return footprint.soft_run(MachineConfig(base=base, memory=16), 40, alu, batch, steps).total

    assert soft() > footprint.PROCESS > 0
    assert soft(base=512) > soft() and soft(batch=8) > soft() and soft(steps=10) > soft(steps=1) > soft()
    for alu in ("table", "dense", "circuit", "exact"):
        assert soft(base=512, alu=alu) > soft(alu=alu)
    assert footprint.alu("table", 2 * 4096).total > 3.9 * footprint.alu("table", 4096).total  # n^2 tables
    cfg = MachineConfig(base=1 << 20, memory=4)
    assert footprint.hard_trace_step(cfg, 10) > 0
    assert footprint.hard_run(MachineConfig(base=1 << 20)).total > footprint.hard_run(cfg).total


def test_step_bounds_follow_the_control_flow():
    from neurocompiler.asm import assemble

    straight = assemble("    add r1 r2 r0\n    ret r15\n")
    assert footprint.step_bound(straight.instructions, 0, 15) == 3  # add, ret, the halt
    loop = assemble(LOOP)
    assert footprint.step_bound(loop.instructions, 0, 15) is None
    clobbers = assemble("    const 3 r15\n    ret r15\n")  # the return address is not known
    assert footprint.step_bound(clobbers.instructions, 0, 15) is None
    branch = assemble("    jump r1 end\n    inc r2\n    inc r2\nend:\n    halt\n")
    assert footprint.step_bound(branch.instructions, 0, None) == 4


# ----------------------------------------------------------------- vectorised tables

@pytest.mark.parametrize("n", [2, 3, 7, 13, 16])
def test_vectorised_tables_are_the_opcode_table(n):
    for name in isa.ALU_NAMES:
        idx = result_index(name, n)
        assert idx.dtype == torch.long and idx.shape == (n, n)
        want = [[isa.alu_result(name, a, b, n) for b in range(n)] for a in range(n)]
        assert idx.tolist() == want, (name, n)


def test_alu_result_stays_a_python_int():
    assert all(type(isa.alu_result(name, 5, 3, 8)) is int for name in isa.ALU_NAMES)


def test_building_a_large_table_is_fast_and_vectorised():
    import time

    t0 = time.perf_counter()
    idx = result_index("mod", 2048)
    assert time.perf_counter() - t0 < 5 and int(idx[2047, 1000]) == 2047 % 1000


# ----------------------------------------------------------------- the benchmark

def test_bench_memory_case_is_within_the_bar():
    from neurocompiler.bench_memory import measure

    row = measure("soft-1024-b1")
    assert row["bench"] == "memory" and row["case"] == "soft-1024-b1" and row["peak_bytes"] > 100 << 20, row
    assert 0.5 <= row["ratio"] <= 2.0, row


def test_bench_memory_is_a_bench_kind(monkeypatch, capsys):
    import json

    from neurocompiler import bench_memory

    row = {"bench": "memory", "case": "x", "estimate_bytes": 3, "peak_bytes": 2, "ratio": 1.5}
    monkeypatch.setattr(bench_memory, "memory_rows", lambda: iter([row]))
    assert main(["bench", "memory", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == row


def test_an_experiment_over_the_budget(tmp_path, capsys):
    """Experiments take --memory-budget too; the train() inside them is guarded."""
    refused(capsys, ["experiment", "arith", "--examples", "40", "--epochs", "1", "--dim", "16", "--layers", "2",
                     "--out", str(tmp_path / "arith")], "300M")
    assert not (tmp_path / "arith" / "seed0").exists()
