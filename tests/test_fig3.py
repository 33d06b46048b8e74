"""A scaled-down Figure 3: both ALUs learn well above chance from answers alone, and a
table-trained network keeps working when swapped to wider circuit / exact ALUs."""

import csv

from neurocompiler.cli import main
from neurocompiler.experiments.fig3 import Fig3Config, run

CHANCE = 1 / 16  # answers are values 0..15 at 4 bits


def test_fig3_scaled_down(tmp_path):
    cfg = Fig3Config(bits=4, swap_bits=6, examples=1200, epochs=2, seeds=(0,), swap_examples=300,
                     evals_per_epoch=2, eval_examples=300, out=str(tmp_path))
    result = run(cfg)
    finals = {row["alu"]: row for row in result["summary"]}
    for kind in ("table", "circuit"):
        curve = [r for r in result["curves"] if r["alu"] == kind]
        assert curve[-1]["test_acc"] > 10 * CHANCE, kind  # learned, from answers only
    table_first_epoch = max(r["test_acc"] for r in result["curves"]
                            if r["alu"] == "table" and r["epoch"] <= 1)
    assert table_first_epoch >= 0.85  # ~26 steps in; 14x chance
    swaps = {(r["swapped_to"], r["routing"]): r["accuracy"] for r in result["swaps"]}
    assert swaps["exact", "hard"] >= 0.95 and swaps["circuit", "hard"] >= 0.95
    assert "table -> exact (hard routing)" in finals
    for name in ("curves.csv", "swap.csv", "summary.csv", "fig3.png"):
        assert (tmp_path / name).stat().st_size > 0
    with open(tmp_path / "curves.csv") as fh:
        assert len(list(csv.DictReader(fh))) == len(result["curves"])


def test_fig3_command_line(tmp_path, capsys):
    code = main(["experiment", "fig3", "--bits", "3", "--swap-bits", "4", "--examples", "200",
                 "--epochs", "1", "--seeds", "0", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "table -> circuit" in out and (tmp_path / "fig3.png").exists()
