"""Learning on outside-style data (issue #19), scaled down: ``train --train F --test G``
with the general parse, on question banks unlike our generators (tasks/outside.py)."""

from __future__ import annotations

import json
import random

import pytest

from neurocompiler.cli import main
from neurocompiler.tasks.outside import write_outside


def mixture(folder, tasks: tuple[str, ...], train: int, test: int) -> tuple[str, str]:
    """One train and one test file holding ``tasks``' questions, ``train`` / ``test``
    in all, shuffled together (a mixture whose questions need different functions)."""
    files = write_outside(folder, tasks=tasks, train=train // len(tasks), test=test // len(tasks), seed=1)
    paths = []
    for split in (0, 1):
        lines = [line for task in tasks for line in files[task][split].read_text().splitlines()]
        random.Random(split).shuffle(lines)
        path = folder / f"{'+'.join(tasks)}-{('train', 'test')[split]}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        paths.append(str(path))
    return paths[0], paths[1]


@pytest.mark.parametrize("tasks,functions,bar", [
    # chance: an exact integer in 0..127 (< 1%), an exact 3..10-letter string (far less)
    (("outside-arith",), "add,sub,mul,div", 0.5),
    # two list tasks in one file: reversing and sorting read the same span, so only the
    # selection tells them apart
    (("outside-reverse", "outside-sort"), "reverse,insertion_sort", 0.7),  # measured: 98.7%
    # chance: the commonest count (2) is 27% of the test questions
    (("outside-count",), "count,reverse", 0.6),
])
def test_the_general_parse_learns_outside_style_questions(tmp_path, capsys, tasks, functions, bar):
    train_file, test_file = mixture(tmp_path / "data", tasks, train=1600, test=150)
    run = tmp_path / "run"
    assert main(["train", "--train", str(train_file), "--test", str(test_file), "--out", str(run),
                 "--functions", functions, "--epochs", "2"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    config = json.loads((run / "config.json").read_text())["model"]
    assert config["parsing"] == "general" and config["cells"] >= 16  # derived, not given
    assert metrics["test_accuracy"] >= bar, metrics
    assert metrics["selection_accuracy"] >= 0.8, metrics


def test_experiment_outside_trains_with_the_users_command_and_reports_per_phrasing(tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["experiment", "outside", "--runs", "outside-arith", "--train", "48", "--test", "24",
                 "--epochs", "1", "--device", "cpu", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "outside-arith" in printed and "symbol-calc" in printed
    for name in ("summary.csv", "phrasings.csv", "epochs.csv", "outside.png"):
        assert (out / name).stat().st_size > 0
    config = json.loads((out / "outside-arith" / "config.json").read_text())
    assert len(config["model"]["functions"]) == 15  # no --functions: the whole library
    summary = (out / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("run,functions,base,cells,max_steps,n,accuracy,selection")
