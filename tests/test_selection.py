"""Parsing and selection in isolation (§3.1), scaled down: from answers alone, a minimal
model learns which of six library functions each task needs and the permutation of its
input slots into that function's argument registers."""

import torch

from neurocompiler.cli import main
from neurocompiler.experiments.selection import (TASKS, SelectionConfig, SelectNet, make_data,
                                                   parse_correct, run)
from neurocompiler.library.reference import REFERENCES

BASE = 32
CHANCE = 1 / BASE


def test_selection_scaled_down_learns_function_and_permutation(tmp_path):
    cfg = SelectionConfig(base=BASE, examples_per_task=100, steps=60, seeds=(0,), out=str(tmp_path))
    result = run(cfg)
    (row,) = result["runs"]
    assert row["answer_acc"] >= 0.9  # chance 1/32; the bar at full size is 0.99
    assert row["selection_acc"] == 1.0 and row["routing_acc"] == 1.0
    assert len({t.function for t in TASKS}) >= 5
    for name in ("summary.csv", "runs.csv", "tasks.csv", "curves.csv", "selection.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_tasks_need_distinct_permutations_and_data_follow_them():
    assert len({t.slots for t in TASKS}) == len(TASKS)
    cfg = SelectionConfig(base=BASE, examples_per_task=20)
    train, test = make_data(cfg, TASKS, torch.Generator().manual_seed(0))
    assert len(train) == 6 * 14 and len(test) == 6 * 6
    for t, x, y in zip(train.task.tolist(), train.x.tolist(), train.y.tolist()):
        task = TASKS[t]
        args = {j + 1: x[s] for j, s in enumerate(task.slots)}
        assert REFERENCES[task.function](args, [], BASE)[0][0] == y
        if task.function == "fib":
            assert 1 <= x[task.slots[2]] <= cfg.max_depth


def test_parse_check_accepts_either_order_only_for_commutative_functions():
    functions = SelectionConfig().functions
    net = SelectNet(len(TASKS), len(functions))
    with torch.no_grad():
        net.select.logits.zero_()
        net.route.logits.zero_()
        for t, task in enumerate(TASKS):
            net.select.logits[t, functions.index(task.function)] = 5
            swapped = (task.slots[1], task.slots[0]) + task.slots[2:]
            for j, s in enumerate(swapped):
                net.route.logits[t, j, s] = 5
    ok = {r["task"]: r["routing_ok"] for r in parse_correct(net, TASKS, functions)}
    assert ok == {t.name: t.commutative for t in TASKS}


def test_selection_command_line(tmp_path, capsys):
    code = main(["experiment", "selection", "--base", "32", "--steps", "2", "--seeds", "0",
                 "--examples-per-task", "10", "--out", str(tmp_path)])
    assert code == 0 and "selection accuracy" in capsys.readouterr().out
    code = main(["experiment", "selection", "--functions", "add,sub", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "lacks" in err and "Traceback" not in err
