"""The paper's Table 1 (§4.1): recursion depth vs trainability, through ``fib``.

A minimal network is augmented with a library that holds only ``fib``, the paper's
sequential Fibonacci, where recursion depth d takes 8·d interpreter steps. Given two
one-hot inputs a and b, it must learn from answers alone to route them into fib's
argument registers (r1 = x_0, r2 = x_1; they do not commute once d >= 2) and to read
the answer x_{d+1} from r0. The depth d is the dataset's, placed in r3. Every one of
the 8·d machine steps is backpropagated through.

* **input layer**: a learned 2 x 2 routing of the input slots into r1, r2
  (:class:`~neurocompiler.layers.Choice`), shared across values;
* **output layer**: answer logits ``scale * log(r0)`` with ``scale >= 1``.

Two schedules are compared, per depth:

* ``direct``: train at depth d from the start, as the paper does;
* ``curriculum``: train ``curriculum_steps`` at each shallower depth of
  ``curriculum`` first, then at d (the issue's "curriculum over depth").

Each run reports test accuracy of the network as trained (soft routing) on held-out
pairs, and of its argmax routing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..config import MachineConfig
from ..errors import InputError
from ..library import Library
from ..library.reference import FIB_STEPS_PER_DEPTH, REFERENCES
from .common import format_table, ints, mean_std, results_dir, seed_everything, write_csv
from ..layers import Choice, LogReadout, route

# Table 1 of the paper: test accuracy (%) per depth 1..6.
PAPER = {128: (85.78, 96.20, 93.10, 46.40, 99.83, 100.0),
         256: (95.64, 99.83, 99.88, 89.39, 100.0, 100.0)}
SCHEDULES = ("direct", "curriculum")


@dataclass
class Table1Config:
    bases: tuple[int, ...] = (128, 256)
    depths: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 10, 12)
    seeds: tuple[int, ...] = (0, 1, 2)
    schedules: tuple[str, ...] = SCHEDULES
    examples: int = 2000  # distinct (a, b) pairs, split 70/30
    train_fraction: float = 0.7
    steps: int = 120  # optimiser steps at the target depth
    curriculum: tuple[int, ...] = (2, 4, 8)  # shallower depths trained first
    curriculum_steps: int = 40  # steps at each of them
    batch_size: int = 32
    lr: float = 0.1
    alu: str = "table"
    jobs: int = 1  # runs trained in parallel processes (one torch thread each)
    out: str | None = None


class FibNet(nn.Module):
    """One layer before the computer (slot routing), one after (log readout)."""

    def __init__(self, gen: torch.Generator | None = None) -> None:
        super().__init__()
        self.route = Choice(2, 2, gen=gen)  # (r1, r2) x input slots
        self.readout = LogReadout(min_scale=1.0)

    def forward(self, x: torch.Tensor, depth: int, library: Library,
                hard: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, 2) input values -> (answer logits (B, n), halted probability (B,))."""
        B, n = x.shape[0], library.config.base
        args = route(self.route(hard), F.one_hot(x, n).to(self.readout.raw_scale.dtype))
        R = F.one_hot(torch.zeros(B, library.config.registers, dtype=torch.long), n).to(args)
        R = torch.cat([R[:, :1], args, F.one_hot(torch.full((B, 1), depth), n).to(args), R[:, 4:]], 1)
        M = args.new_zeros(B, library.config.m, n)
        out = library(args.new_ones(B, 1), R, M, max_steps=FIB_STEPS_PER_DEPTH * depth + 2)
        return self.readout(out.state.R[:, 0]), out.state.h


def fib_answers(pairs: torch.Tensor, depth: int, base: int) -> torch.Tensor:
    """x_{depth+1} for every (a, b) row, from the library's reference."""
    ref = REFERENCES["fib"]
    return torch.tensor([ref({1: a, 2: b, 3: depth}, [], base)[0][0] for a, b in pairs.tolist()])


def make_pairs(base: int, count: int, gen: torch.Generator) -> torch.Tensor:
    """``count`` distinct (a, b) pairs, uniformly from Z_n x Z_n."""
    count = min(count, base * base)
    flat = torch.randperm(base * base, generator=gen)[:count]
    return torch.stack([flat // base, flat % base], 1)


def accuracy(net: FibNet, library: Library, pairs: torch.Tensor, answers: torch.Tensor,
             depth: int, hard: bool = False, batch: int = 512) -> float:
    correct = 0
    with torch.no_grad():
        for i in range(0, len(pairs), batch):
            logits, _ = net(pairs[i:i + batch], depth, library, hard=hard)
            correct += int((logits.argmax(-1) == answers[i:i + batch]).sum())
    return correct / max(1, len(pairs))


def stages(cfg: Table1Config, schedule: str, depth: int) -> list[tuple[int, int]]:
    """(depth, steps) in training order."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r} (choose from {', '.join(SCHEDULES)})")
    warm = [(d, cfg.curriculum_steps) for d in cfg.curriculum if d < depth] if schedule == "curriculum" else []
    return warm + [(depth, cfg.steps)]


def train_one(cfg: Table1Config, base: int, depth: int, seed: int, schedule: str) -> tuple[dict, list[dict]]:
    """Train one network; return its result row and its loss curve."""
    curves: list[dict] = []
    gen = seed_everything(seed)
    library = Library(MachineConfig(base=base, memory=0), ["fib"], alu=cfg.alu)
    pairs = make_pairs(base, cfg.examples, gen)
    cut = int(cfg.train_fraction * len(pairs))
    train_pairs, test_pairs = pairs[:cut], pairs[cut:]
    net = FibNet(gen)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    started, step = time.perf_counter(), 0
    for stage_depth, count in stages(cfg, schedule, depth):
        answers = fib_answers(train_pairs, stage_depth, base)
        for _ in range(count):
            idx = torch.randint(0, len(train_pairs), (cfg.batch_size,), generator=gen)
            logits, _ = net(train_pairs[idx], stage_depth, library)
            loss = F.cross_entropy(logits, answers[idx])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite loss at base {base}, depth {stage_depth}, "
                                         f"seed {seed}, step {step}")
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            curves.append({"base": base, "depth": depth, "seed": seed, "schedule": schedule,
                           "step": step, "stage_depth": stage_depth, "train_loss": loss.item()})
    seconds = time.perf_counter() - started
    test_answers = fib_answers(test_pairs, depth, base)
    routing = net.route().detach()
    return {"base": base, "depth": depth, "steps": FIB_STEPS_PER_DEPTH * depth, "seed": seed,
            "schedule": schedule, "test_acc": accuracy(net, library, test_pairs, test_answers, depth),
            "test_acc_argmax_routing": accuracy(net, library, test_pairs, test_answers, depth, hard=True),
            "routing_error": float(1 - routing.diagonal().min()), "train_steps": step,
            "train_seconds": round(seconds, 2), "n_test": len(test_pairs)}, curves


def _train_in_worker(args: tuple) -> tuple[dict, list[dict]]:
    torch.set_num_threads(1)
    return train_one(*args)


def summarise(cfg: Table1Config, rows: list[dict]) -> list[dict]:
    """One row per (base, depth): the paper's accuracy and ours, mean ± std over seeds."""
    out = []
    for base in cfg.bases:
        for depth in cfg.depths:
            paper = PAPER.get(base, ())
            row = {"base": base, "depth": depth, "steps": FIB_STEPS_PER_DEPTH * depth,
                   "paper_%": f"{paper[depth - 1]:.2f}" if depth <= len(paper) else "-"}
            for schedule in cfg.schedules:
                accs = [100 * r["test_acc"] for r in rows
                        if (r["base"], r["depth"], r["schedule"]) == (base, depth, schedule)]
                row[f"{schedule}_%"] = "%.2f ± %.2f" % mean_std(accs) if accs else "-"
                row[f"{schedule}_min_%"] = f"{min(accs):.2f}" if accs else "-"
            out.append(row)
    return out


def plot(cfg: Table1Config, rows: list[dict], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * len(cfg.bases), 4))
    for i, base in enumerate(cfg.bases):
        ax = fig.add_subplot(1, len(cfg.bases), i + 1)
        paper = PAPER.get(base, ())
        ax.plot(range(1, len(paper) + 1), paper, "k--o", label="paper", alpha=0.7)
        for schedule, color in zip(cfg.schedules, ("tab:orange", "tab:blue")):
            stats = [mean_std(100 * r["test_acc"] for r in rows
                              if (r["base"], r["depth"], r["schedule"]) == (base, d, schedule))
                     for d in cfg.depths]
            ax.errorbar(cfg.depths, [m for m, _ in stats], yerr=[s for _, s in stats], color=color,
                        marker="o", capsize=3, label=f"ours, {schedule}")
        ax.set_xlabel("recursion depth d (8·d machine steps)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"Table 1: fib, base {base}")
        ax.set_ylim(0, 102)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def run(cfg: Table1Config) -> dict:
    out = results_dir("table1", cfg.out)
    grid = [(cfg, base, depth, seed, schedule) for base in cfg.bases for depth in cfg.depths
            for schedule in cfg.schedules for seed in cfg.seeds]
    results: list[tuple[dict, list[dict]]] = []

    def report(row: dict) -> None:
        print(f"base {row['base']} depth {row['depth']:2d} {row['schedule']:10s} seed {row['seed']}: "
              f"test {100 * row['test_acc']:.2f}% ({row['train_seconds']:.0f} s)", flush=True)

    if cfg.jobs > 1:  # the costliest runs first, for balance; results kept in grid order
        with ProcessPoolExecutor(cfg.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            order = sorted(range(len(grid)), key=lambda i: -grid[i][1] * grid[i][2])
            futures = {pool.submit(_train_in_worker, grid[i]): i for i in order}
            done: dict[int, tuple[dict, list[dict]]] = {}
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                report(done[futures[future]][0])
            results = [done[i] for i in range(len(grid))]
    else:
        for args in grid:
            results.append(train_one(*args))
            report(results[-1][0])
    rows = [row for row, _ in results]
    curves = [point for _, curve in results for point in curve]
    summary = summarise(cfg, rows)
    write_csv(out / "runs.csv", rows)
    write_csv(out / "curves.csv", curves)
    write_csv(out / "summary.csv", summary)
    plot(cfg, rows, out / "table1.png")
    print(format_table(summary))
    print(f"wrote {out / 'summary.csv'}, {out / 'runs.csv'}, {out / 'curves.csv'}, {out / 'table1.png'}")
    return {"runs": rows, "curves": curves, "summary": summary, "config": asdict(cfg)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = Table1Config()
    p.add_argument("--bases", default=",".join(map(str, d.bases)), help="comma-separated bases")
    p.add_argument("--depths", default=",".join(map(str, d.depths)), help="comma-separated depths")
    p.add_argument("--seeds", default=",".join(map(str, d.seeds)), help="comma-separated seeds")
    p.add_argument("--schedules", default=",".join(d.schedules),
                   help=f"comma-separated, from {', '.join(SCHEDULES)}")
    p.add_argument("--examples", type=int, default=d.examples)
    p.add_argument("--steps", type=int, default=d.steps, help="optimiser steps at the target depth")
    p.add_argument("--curriculum", default=",".join(map(str, d.curriculum)),
                   help="shallower depths trained first by the curriculum schedule")
    p.add_argument("--curriculum-steps", type=int, default=d.curriculum_steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--alu", default=d.alu, choices=("table", "dense", "dense_best", "exact"))
    p.add_argument("--jobs", type=int, default=d.jobs, help="runs trained in parallel processes")
    p.add_argument("--out", default=None, help="output folder (default results/table1)")


def config_from_args(args: argparse.Namespace) -> Table1Config:
    schedules = tuple(s.strip() for s in args.schedules.split(",") if s.strip())
    bad = [s for s in schedules if s not in SCHEDULES]
    if bad:
        raise InputError(f"--schedules: unknown schedule {bad[0]!r} (choose from {', '.join(SCHEDULES)})")
    return Table1Config(bases=ints(args.bases), depths=ints(args.depths), seeds=ints(args.seeds),
                        schedules=schedules, examples=args.examples, steps=args.steps,
                        curriculum=ints(args.curriculum), curriculum_steps=args.curriculum_steps,
                        batch_size=args.batch_size, lr=args.lr, alu=args.alu,
                        jobs=max(1, args.jobs), out=args.out)
