"""The §4.2 experiment's command, scaled down to its plumbing: it trains one run per
seed and tabulates accuracy and wall time per epoch. (That the recipe learns is
asserted in tests/test_train.py.)"""

import csv

from neurocompiler.cli import main


def test_arith_command_writes_its_table(tmp_path, capsys):
    code = main(["experiment", "arith", "--examples", "60", "--epochs", "2", "--base", "16",
                 "--dim", "32", "--layers", "2", "--seeds", "0,1", "--device", "cpu", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "seconds_per_epoch" in out and "paper: 99.2% by epoch 62" in out
    with open(tmp_path / "epochs.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["seed"], r["epoch"]) for r in rows] == [("0", "1"), ("0", "2"), ("1", "1"), ("1", "2")]
    assert (tmp_path / "arith.png").stat().st_size > 0 and (tmp_path / "seed1" / "checkpoint").is_dir()
