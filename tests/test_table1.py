"""A scaled-down Table 1 (§4.1): a minimal network learns, from answers alone, to route
two inputs into the library's ``fib`` through 8·d differentiable machine steps."""

import csv

from neurocompiler.cli import main
from neurocompiler.experiments.table1 import PAPER, Table1Config, fib_answers, make_pairs, run, stages
from neurocompiler.interpreter import run as interpret
from neurocompiler.library import Library
from neurocompiler.config import MachineConfig

import torch

BASE = 32
CHANCE = 1 / BASE


def small(out, **kw) -> Table1Config:
    args = dict(bases=(BASE,), depths=(2, 5), seeds=(0,), steps=40, curriculum=(2,),
                curriculum_steps=20, examples=400, out=str(out))
    args.update(kw)
    return Table1Config(**args)


def test_table1_scaled_down_learns_far_above_chance(tmp_path):
    result = run(small(tmp_path))
    accs = {(r["depth"], r["schedule"]): r["test_acc"] for r in result["runs"]}
    assert set(accs) == {(d, s) for d in (2, 5) for s in ("direct", "curriculum")}
    for key, acc in accs.items():
        assert acc >= 0.9, key  # chance is 1/32: learned, through 40 machine steps at d = 5
    deep = next(r for r in result["runs"] if (r["depth"], r["schedule"]) == (5, "curriculum"))
    assert deep["test_acc_argmax_routing"] == 1.0 and deep["routing_error"] < 0.05
    assert {r["steps"] for r in result["runs"]} == {16, 40}
    for name in ("summary.csv", "runs.csv", "curves.csv", "table1.png"):
        assert (tmp_path / name).stat().st_size > 0
    with open(tmp_path / "runs.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 4


def test_parallel_jobs_train_the_same_networks(tmp_path):
    cfg = small(tmp_path, depths=(3,), steps=8, curriculum_steps=4, examples=100)
    one = run(cfg)["runs"]
    cfg.jobs = 2
    two = run(cfg)["runs"]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "train_seconds"} for r in rows]  # noqa: E731
    assert strip(one) == strip(two)


def test_fib_answers_agree_with_the_library_on_the_interpreter():
    lib = Library(MachineConfig(base=BASE), ["fib"])
    pairs = make_pairs(BASE, 20, torch.Generator().manual_seed(1))
    for depth in (1, 4, 12):
        for (a, b), y in zip(pairs.tolist(), fib_answers(pairs, depth, BASE).tolist()):
            res = interpret(lib.program, registers={1: a, 2: b, 3: depth, 15: BASE - 1})
            assert res.registers[0] == y and res.steps == 8 * depth


def test_curriculum_trains_shallower_depths_first():
    cfg = Table1Config(curriculum=(2, 4, 8), curriculum_steps=5, steps=7)
    assert stages(cfg, "direct", 6) == [(6, 7)]
    assert stages(cfg, "curriculum", 6) == [(2, 5), (4, 5), (6, 7)]
    assert stages(cfg, "curriculum", 2) == [(2, 7)]
    assert PAPER[128][3] == 46.40 and PAPER[256][0] == 95.64  # the paper's Table 1


def test_table1_command_line(tmp_path, capsys):
    code = main(["experiment", "table1", "--bases", "16", "--depths", "1", "--seeds", "0",
                 "--steps", "3", "--schedules", "direct", "--examples", "50", "--out", str(tmp_path)])
    assert code == 0
    assert "direct_%" in capsys.readouterr().out and (tmp_path / "table1.png").exists()
    code = main(["experiment", "table1", "--schedules", "greedy", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "greedy" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
