"""Parsing and selection in isolation (§3.1): which library function, which argument order.

Each task (:data:`TASKS`) presents three one-hot input slots and a one-hot task id. Its
answer is one library function applied to some of the slots in a task-specific order:
"subtract the first from the second" is ``sub`` with r1 = slot 1 and r2 = slot 0. A
slot a task does not use holds a random distractor. A minimal model must learn, from
answers alone, both

* **selection**: a distribution over the library's functions per task, fed to
  :class:`~neurocompiler.library.Library`, which runs every function and mixes their
  results by it ("all library functions are run, weighted by this softmax output");
* **parsing**: a routing of the three slots into the argument registers r1..r3 per task,
  a permutation to be found among 3! = 6.

The model is one layer before the computer (the per-task selection and routing tables)
and one after (``scale * log(r0)``, ``scale >= 1``). The report gives answer
accuracy on held-out examples, and the fraction of tasks whose argmax selection is the
task's function and whose argmax routing puts the right slot in every register that
function reads (either order for a commutative function).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import MachineConfig
from ..errors import InputError
from ..library import Library, load_specs
from ..library.reference import FIB_STEPS_PER_DEPTH, REFERENCES
from .common import format_table, ints, mean_std, results_dir, seed_everything, write_csv
from ..layers import Choice, LogReadout, route

SLOTS = 3  # input slots, routed into r1..r3


@dataclass(frozen=True)
class Task:
    """``function`` applied to ``slots``: ``slots[j]`` feeds argument register r(j+1).
    ``orders`` lists every slot assignment that gives the same answers (a commutative
    function accepts its arguments swapped)."""

    name: str
    function: str
    slots: tuple[int, ...]
    doc: str
    commutative: bool = False

    @property
    def orders(self) -> set[tuple[int, ...]]:
        return {self.slots, (self.slots[1], self.slots[0]) + self.slots[2:]} if self.commutative else {self.slots}


TASKS = (
    Task("add", "add", (0, 1), "slot0 plus slot1 (slot2 is noise)", commutative=True),
    Task("subtract_from", "sub", (1, 0), "subtract slot0 from slot1 (slot2 is noise)"),
    Task("product", "mul", (1, 2), "multiply slot1 by slot2 (slot0 is noise)", commutative=True),
    Task("divide", "div", (2, 0), "slot2 divided by slot0, floored (slot1 is noise)"),
    Task("remainder", "mod", (0, 2), "slot0 mod slot2 (slot1 is noise)"),
    Task("fibonacci", "fib", (2, 1, 0), "fib with x_0 = slot2, x_1 = slot1, depth slot0 in 1..max_depth"),
)


@dataclass
class SelectionConfig:
    base: int = 128
    functions: tuple[str, ...] = ("add", "sub", "mul", "div", "mod", "fib")  # the library
    examples_per_task: int = 500  # split 70/30
    train_fraction: float = 0.7
    max_depth: int = 3  # fib depths 1..max_depth
    steps: int = 120  # selection and routing settle by about step 50 at base 128
    batch_size: int = 32
    lr: float = 0.1
    seeds: tuple[int, ...] = (0, 1, 2)
    out: str | None = None


class SelectNet(nn.Module):
    """Per-task selection over the library and routing of slots into r1..r3."""

    def __init__(self, n_tasks: int, n_functions: int, gen: torch.Generator | None = None) -> None:
        super().__init__()
        self.select = Choice(n_tasks, n_functions, gen=gen)
        self.route = Choice(n_tasks, SLOTS, SLOTS, gen=gen)  # task x register x slot
        self.readout = LogReadout(min_scale=1.0)

    def forward(self, task: torch.Tensor, x: torch.Tensor, library: Library, max_steps: int,
                hard: bool = False) -> torch.Tensor:
        """task: (B,), x: (B, 3) slot values -> answer logits (B, n)."""
        B, n = x.shape[0], library.config.base
        args = route(self.route(hard)[task], F.one_hot(x, n).to(self.readout.raw_scale.dtype))
        R = F.one_hot(torch.zeros(B, library.config.registers, dtype=torch.long), n).to(args)
        R = torch.cat([R[:, :1], args, R[:, 1 + SLOTS:]], 1)
        M = args.new_zeros(B, library.config.m, n)
        out = library(self.select(hard)[task], R, M, max_steps=max_steps)
        return self.readout(out.state.R[:, 0])


@dataclass
class Data:
    task: torch.Tensor  # (N,)
    x: torch.Tensor  # (N, 3)
    y: torch.Tensor  # (N,)

    def __len__(self) -> int:
        return len(self.y)

    def take(self, idx: torch.Tensor) -> "Data":
        return Data(self.task[idx], self.x[idx], self.y[idx])


def make_data(cfg: SelectionConfig, tasks: tuple[Task, ...], gen: torch.Generator) -> tuple[Data, Data]:
    """Per task, ``examples_per_task`` random slot values and the reference's answer;
    the same 70/30 split of every task, shuffled together."""
    n, train, test = cfg.base, [], []
    for t, task in enumerate(tasks):
        x = torch.randint(0, n, (cfg.examples_per_task, SLOTS), generator=gen)
        if task.function == "fib":  # the depth slot
            depth_slot = task.slots[2]
            x[:, depth_slot] = torch.randint(1, cfg.max_depth + 1, (cfg.examples_per_task,), generator=gen)
        ref = REFERENCES[task.function]
        y = torch.tensor([ref({j + 1: row[s] for j, s in enumerate(task.slots)}, [], n)[0][0]
                          for row in x.tolist()])
        cut = int(cfg.train_fraction * len(y))
        data = Data(torch.full((len(y),), t), x, y)
        train.append(data.take(torch.arange(cut)))
        test.append(data.take(torch.arange(cut, len(y))))
    cat = lambda parts: Data(*(torch.cat([getattr(p, f) for p in parts]) for f in ("task", "x", "y")))  # noqa: E731
    train_data, test_data = cat(train), cat(test)
    return train_data.take(torch.randperm(len(train_data), generator=gen)), test_data


def parse_correct(net: SelectNet, tasks: tuple[Task, ...], functions: tuple[str, ...]) -> list[dict]:
    """Per task: is the argmax selection its function, and the argmax routing its order?"""
    specs = load_specs()
    select, routing = net.select.logits.argmax(-1), net.route.logits.argmax(-1)
    rows = []
    for t, task in enumerate(tasks):
        used = len(specs[task.function].inputs)
        order = tuple(routing[t, :used].tolist())
        rows.append({"task": task.name, "function": task.function,
                     "selected": functions[int(select[t])],
                     "routing": " ".join(f"r{j + 1}<-slot{s}" for j, s in enumerate(order)),
                     "selection_ok": functions[int(select[t])] == task.function,
                     "routing_ok": order in {o[:used] for o in task.orders}})
    return rows


def accuracy(net: SelectNet, library: Library, data: Data, max_steps: int, hard: bool = False,
             batch: int = 256) -> tuple[float, torch.Tensor]:
    """Answer accuracy overall and per task."""
    hits = torch.zeros(len(data), dtype=torch.bool)
    with torch.no_grad():
        for i in range(0, len(data), batch):
            part = data.take(torch.arange(i, min(i + batch, len(data))))
            hits[i:i + batch] = net(part.task, part.x, library, max_steps, hard=hard).argmax(-1) == part.y
    per_task = torch.zeros(int(data.task.max()) + 1).index_add_(0, data.task, hits.float())
    per_task = per_task / torch.bincount(data.task).clamp_min(1)
    return float(hits.float().mean()), per_task


def train_one(cfg: SelectionConfig, seed: int, tasks: tuple[Task, ...] = TASKS) -> tuple[dict, list[dict], list[dict]]:
    gen = seed_everything(seed)
    missing = sorted({t.function for t in tasks} - set(cfg.functions))
    if missing:
        raise InputError(f"the library lacks {', '.join(missing)}, which the tasks need")
    library = Library(MachineConfig(base=cfg.base, memory=0), cfg.functions)
    max_steps = FIB_STEPS_PER_DEPTH * cfg.max_depth + 4
    train, test = make_data(cfg, tasks, gen)
    net = SelectNet(len(tasks), len(cfg.functions), gen)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    curve, started = [], time.perf_counter()
    for step in range(1, cfg.steps + 1):
        batch = train.take(torch.randint(0, len(train), (cfg.batch_size,), generator=gen))
        loss = F.cross_entropy(net(batch.task, batch.x, library, max_steps), batch.y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss at seed {seed}, step {step}")
        opt.zero_grad()
        loss.backward()
        opt.step()
        point = {"seed": seed, "step": step, "train_loss": loss.item()}
        point.update({f"p_select_{t.name}": float(net.select().detach()[i, cfg.functions.index(t.function)])
                      for i, t in enumerate(tasks)})
        curve.append(point)
    seconds = time.perf_counter() - started
    acc, per_task = accuracy(net, library, test, max_steps)
    hard_acc, _ = accuracy(net, library, test, max_steps, hard=True)
    parses = parse_correct(net, tasks, cfg.functions)
    for row, task_acc in zip(parses, per_task.tolist()):
        row.update(seed=seed, answer_acc=task_acc)
    row = {"seed": seed, "answer_acc": acc, "answer_acc_argmax_parse": hard_acc,
           "selection_acc": sum(r["selection_ok"] for r in parses) / len(parses),
           "routing_acc": sum(r["routing_ok"] for r in parses) / len(parses),
           "chance": 1 / cfg.base, "train_seconds": round(seconds, 2), "n_test": len(test)}
    return row, parses, curve


def plot(curves: list[dict], tasks: tuple[Task, ...], path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4))
    ax = fig.add_subplot()
    seed = min(p["seed"] for p in curves)
    points = [p for p in curves if p["seed"] == seed]
    for task in tasks:
        ax.plot([p["step"] for p in points], [p[f"p_select_{task.name}"] for p in points],
                label=f"{task.name} -> {task.function}")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("selection probability of the right function")
    ax.set_title(f"Selection learned from answers alone (seed {seed})")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def run(cfg: SelectionConfig) -> dict:
    out = results_dir("selection", cfg.out)
    runs, parses, curves = [], [], []
    for seed in cfg.seeds:
        row, parse, curve = train_one(cfg, seed)
        runs.append(row)
        parses.extend(parse)
        curves.extend(curve)
        print(f"seed {seed}: answer {100 * row['answer_acc']:.2f}%, selection "
              f"{100 * row['selection_acc']:.0f}%, routing {100 * row['routing_acc']:.0f}% "
              f"({row['train_seconds']:.0f} s)", flush=True)
    summary = [{"metric": name, "mean ± std": "%.4f ± %.4f" % mean_std(r[key] for r in runs),
                "min": f"{min(r[key] for r in runs):.4f}"}
               for name, key in (("answer accuracy (test)", "answer_acc"),
                                 ("answer accuracy, argmax parse", "answer_acc_argmax_parse"),
                                 ("selection accuracy (tasks)", "selection_acc"),
                                 ("routing accuracy (tasks)", "routing_acc"))]
    write_csv(out / "runs.csv", runs)
    write_csv(out / "tasks.csv", parses)
    write_csv(out / "curves.csv", curves)
    write_csv(out / "summary.csv", summary)
    plot(curves, TASKS, out / "selection.png")
    print(format_table([{k: r[k] for k in ("task", "function", "selected", "routing", "answer_acc")}
                        for r in parses if r["seed"] == cfg.seeds[0]]))
    print(format_table(summary))
    print(f"wrote {out / 'summary.csv'}, {out / 'runs.csv'}, {out / 'tasks.csv'}, "
          f"{out / 'curves.csv'}, {out / 'selection.png'}")
    return {"runs": runs, "tasks": parses, "curves": curves, "summary": summary, "config": asdict(cfg)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = SelectionConfig()
    p.add_argument("--base", type=int, default=d.base)
    p.add_argument("--functions", default=",".join(d.functions),
                   help="the library to select from (must include every task's function)")
    p.add_argument("--examples-per-task", type=int, default=d.examples_per_task)
    p.add_argument("--max-depth", type=int, default=d.max_depth, help="deepest fib task")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--seeds", default=",".join(map(str, d.seeds)), help="comma-separated seeds")
    p.add_argument("--out", default=None, help="output folder (default results/selection)")


def config_from_args(args: argparse.Namespace) -> SelectionConfig:
    return SelectionConfig(base=args.base, functions=tuple(f.strip() for f in args.functions.split(",") if f.strip()),
                           examples_per_task=args.examples_per_task, max_depth=args.max_depth,
                           steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                           seeds=ints(args.seeds), out=args.out)
