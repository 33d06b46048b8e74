"""`neurocompiler experiment baselines`, scaled down: every model of the grid trains and
is evaluated in distribution and, where the task has one, out of distribution."""

import csv
import json

from neurocompiler.cli import main
from neurocompiler.experiments.baselines import MODELS, SETUPS
from neurocompiler.tasks import load_jsonl


def test_every_model_trains_and_is_scored_in_and_out_of_distribution(tmp_path, capsys):
    code = main(["experiment", "baselines", "--tasks", "arithmetic,reverse", "--models", ",".join(MODELS),
                 "--examples", "60", "--ood-examples", "8", "--epochs", "1", "--dim", "32", "--layers", "2",
                 "--seeds", "0", "--max-steps", "30", "--device", "cpu", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "out_of_distribution" in out and "lengths 16" in out and "(commonest answer)" in out
    assert "operands 128..255 at base 256, exact ALU" in out
    with open(tmp_path / "runs.csv") as fh:
        runs = list(csv.DictReader(fh))
    assert sorted((r["task"], r["model"]) for r in runs) == sorted(
        (t, m) for t in ("arithmetic", "reverse") for m in MODELS)
    for r in runs:
        assert 0 <= float(r["in_distribution"]) <= 1
        assert 0 <= float(r["out_of_distribution"]) <= 1
    ood = load_jsonl(tmp_path / "reverse-direct-seed0" / "data" / "ood.jsonl")
    assert len(ood) == 8 and {len(e.answer) for e in ood} == set(SETUPS["reverse"].ood["lengths"])
    # arithmetic out of distribution: operands wider than any seen, asked at base 256
    wide = load_jsonl(tmp_path / "arithmetic-direct-seed0" / "data" / "ood.jsonl")
    numbers = [int(t) for e in wide for t in e.question.replace("?", "").split() if t.isdigit()]
    assert len(wide) == 8 and min(numbers) >= 128 and max(numbers) <= 255
    assert (tmp_path / "baselines.png").stat().st_size > 0
    # "augmented" is the task's own parse: exact spans for reversal, soft slots for arithmetic
    parse = {t: json.loads((tmp_path / f"{t}-augmented-seed0" / "config.json").read_text())["model"]
             for t in ("arithmetic", "reverse")}
    assert parse["reverse"]["slots"]["span_candidates"] == 4 and parse["reverse"]["slots"]["cell_values"] == "token"
    assert parse["arithmetic"]["slots"]["span_candidates"] == 0
    assert parse["arithmetic"]["slots"]["cell_values"] == "context"


def test_unknown_models_and_tasks_are_one_line_errors(capsys):
    assert main(["experiment", "baselines", "--models", "augmented,gpt"]) == 2
    assert "--models: gpt" in capsys.readouterr().err
