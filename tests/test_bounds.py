"""The library's step bounds (library.bounds) are measured on the interpreter: no valid
random input of the machine's size takes more steps, and a JSONL run without
--max-steps uses the longest bound of its functions as its step budget."""

import json
import random

import pytest

from neurocompiler.cli import main
from neurocompiler.config import MachineConfig
from neurocompiler.interpreter import run
from neurocompiler.library import RETURN_REGISTER, function_program, load_specs
from neurocompiler.library.bounds import step_bound, step_budget
from neurocompiler.library.reference import random_input

BASE = 64  # memory = base cells, so that every random_input fits (and every function links)


def _program(name: str):
    return function_program(name, MachineConfig(base=BASE))


@pytest.mark.parametrize("name", list(load_specs()))
def test_no_random_input_takes_more_steps_than_the_bound(name):
    bound, program, rng = step_bound(name, BASE, BASE), _program(name), random.Random(7)
    most = 0
    for _ in range(150):
        registers, memory = random_input(name, rng, BASE, max_len=BASE)
        result = run(program, {**registers, RETURN_REGISTER: BASE - 1}, memory, max_steps=10 * bound + 100)
        assert result.halted and result.steps <= bound, (registers, memory[:8], result.steps, bound)
        most = max(most, result.steps)
    assert most > 0


def test_bounds_grow_with_what_the_function_reads():
    assert step_bound("add", 128, 16) == step_bound("add", 128, 100)  # no list, no loop
    assert step_bound("insertion_sort", 128, 100) > 10 * step_bound("insertion_sort", 128, 16)  # quadratic
    assert step_bound("fib", 256, 16) > step_bound("fib", 128, 16)  # its depth reaches base - 1
    steps, why = step_budget(("add", "sub", "count"), 128, 16)
    assert steps == step_bound("count", 128, 16) and why.startswith(f"max steps {steps}: ") and "count's" in why


def test_a_jsonl_run_measures_its_step_budget_and_saves_it(tmp_path, capsys):
    rows = [{"question": f"What is {a} + {b}?", "answer": a + b} for a in range(6) for b in range(6)]
    for name, part in (("train", rows[:30]), ("test", rows[30:])):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    common = ["train", "--task", "jsonl", "--train", str(tmp_path / "train.jsonl"), "--test",
              str(tmp_path / "test.jsonl"), "--functions", "add,count", "--cells", "4", "--set", "dim=16",
              "--set", "heads=2", "--set", "kv_heads=1", "--set", "layers=2", "--epochs", "1"]
    assert main([*common, "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    base = json.loads((tmp_path / "run" / "config.json").read_text())["model"]["base"]
    steps = step_bound("count", base, 4)
    assert f"max steps {steps}: the longest run of the library, count's on inputs of base {base} and 4 cells" in out
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["max_steps"] == steps
    assert main([*common, "--max-steps", "50", "--out", str(tmp_path / "given")]) == 0
    assert "max steps" not in capsys.readouterr().out
    assert json.loads((tmp_path / "given" / "config.json").read_text())["model"]["max_steps"] == 50
