"""The Table 2 sorting and the ``mixed`` experiments' commands, scaled down to their
plumbing: every (tokenizer, parsing) model is trained and scored per length and out of
distribution; the mixed model is scored per task, for answers and selection."""

import csv
import json

import pytest

from neurocompiler.cli import main
from neurocompiler.experiments.mixed import per_task
from neurocompiler.experiments.sort import accuracy_by_length
from neurocompiler.tasks import load_jsonl
from neurocompiler.train import evaluate_run

TINY = ["--epochs", "1", "--dim", "32", "--layers", "2", "--max-steps", "60", "--device", "cpu"]


def rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_sort_command_scores_every_model_per_length_and_out_of_distribution(tmp_path, capsys):
    code = main(["experiment", "sort", "--lengths", "2,3", "--ood-length", "4", "--examples", "60",
                 "--ood-examples", "12", "--parsings", "spans,slots,pooled", "--seeds", "0", *TINY,
                 "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "paper (LLaMA 3.2 1B)" in out and "len4" in out
    runs = rows(tmp_path / "runs.csv")
    assert sorted((r["tokenizer"], r["parsing"]) for r in runs) == [
        ("bpe", "pooled"), ("bpe", "slots"), ("bpe", "spans"),
        ("char", "pooled"), ("char", "slots"), ("char", "spans")]
    for r in runs:
        assert all(0 <= float(r[k]) <= 1 for k in ("len2", "len3", "len4"))
    assert (tmp_path / "sort.png").stat().st_size > 0
    ood = load_jsonl(tmp_path / "char-slots-seed0" / "data" / "ood4.jsonl")
    assert len(ood) == 12 and {len(e.answer) for e in ood} == {4}


def test_accuracy_by_length_partitions_the_overall_accuracy(tmp_path):
    main(["experiment", "sort", "--lengths", "2,3", "--examples", "60", "--tokenizers", "char",
          "--parsings", "slots", "--seeds", "0", "--ood-length", "4", "--ood-examples", "4", *TINY,
          "--out", str(tmp_path)])
    run = tmp_path / "char-slots-seed0"
    test = load_jsonl(run / "data" / "test.jsonl")
    by = accuracy_by_length(run, test)
    counts = {n: sum(len(e.answer) == n for e in test) for n in (2, 3)}
    overall = sum(by[f"len{n}"] * c for n, c in counts.items()) / len(test)
    assert overall == pytest.approx(evaluate_run(run)["accuracy"])


def test_mixed_command_scores_answers_and_selection_per_task(tmp_path, capsys):
    code = main(["experiment", "mixed", "--tasks", "arithmetic,reverse", "--lengths", "2,3", "--cells", "5",
                 "--functions", "add,sub,reverse", "--examples", "80", *TINY, "--out", str(tmp_path)])
    assert code == 0
    assert json.loads((tmp_path / "seed0" / "config.json").read_text())["model"]["cells"] == 5
    assert "selection" in capsys.readouterr().out
    tasks = rows(tmp_path / "tasks.csv")
    assert [r["task"] for r in tasks] == ["arithmetic", "reverse", "all"]
    assert int(tasks[0]["n"]) + int(tasks[1]["n"]) == int(tasks[2]["n"]) == 24
    again = {r["task"]: r for r in per_task(tmp_path / "seed0")}
    assert again["all"]["accuracy"] == pytest.approx(float(tasks[2]["accuracy"]))
    assert (tmp_path / "mixed.png").stat().st_size > 0


def test_experiments_reject_unknown_names_in_one_line(capsys):
    assert main(["experiment", "sort", "--tokenizers", "char,words"]) == 2
    err = capsys.readouterr().err
    assert "--tokenizers: words" in err and "Traceback" not in err
    assert main(["experiment", "mixed", "--tasks", "arithmetic,poetry"]) == 2
    assert "--tasks: poetry" in capsys.readouterr().err
