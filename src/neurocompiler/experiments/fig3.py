"""The paper's Figure 3 (§4.1): tables vs circuits, and the swap they enable.

A minimal network routes one-hot operands and a one-hot task operation into an ALU and
reads its answer, trained with cross-entropy on answers only:

* **input layer** (one linear layer over input slots, shared across values): mixes the
  two operand slots into the ALU's two ports (``route``, 2 x 2) and maps the task's
  operation to the ALU's opcodes (``select``, K x 13). It must learn which operand goes
  where (``sub`` and ``div`` do not commute) and which of the ALU's 13 opcodes each task
  operation is, the paper's parsing/selection problem in miniature;
* the **ALU**: the lookup table, the circuit or the exact calculator;
* **output layer**: answer logits ``scale * log(out)``.

Because neither layer has a weight per value, the trained network runs unchanged at any
word size. So the experiment (1) trains with the table ALU and with the circuit ALU at
``bits`` bits and records test accuracy through training, then (2) swaps a
table-trained network to the circuit and to the exact ALU at ``swap_bits`` bits, with no
retraining, and measures accuracy on operands of that width.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..alu import make_alu
from ..alu.base import ALU
from ..isa import ALU_NAMES, alu_result
from .common import format_table, ints, mean_std, results_dir, seed_everything, write_csv
from ..layers import Choice, LogReadout, route


@dataclass
class Fig3Config:
    bits: int = 8  # word size the networks train at (table: 2^bits one-hot)
    swap_bits: int = 16  # word size of the swapped-in circuit / exact ALU
    task_ops: tuple[str, ...] = ("add", "sub", "mul", "div")
    examples: int = 10_000  # sampled (x, y, op) triples, split 70/30
    train_fraction: float = 0.7
    epochs: int = 2
    batch_size: int = 32
    lr: float = 0.05
    evals_per_epoch: int = 8
    eval_examples: int = 1_000  # test examples scored at each point of the curve
    swap_examples: int = 1_000
    seeds: tuple[int, ...] = (0, 1, 2)
    alus: tuple[str, ...] = ("table", "circuit")
    swap_to: tuple[str, ...] = ("circuit", "exact")
    out: str | None = None


class MinimalNet(nn.Module):
    """One layer before the ALU, one after (§4.1); no weight depends on the word size."""

    def __init__(self, n_task_ops: int, gen: torch.Generator | None = None) -> None:
        super().__init__()
        self.route = Choice(2, 2, gen=gen)  # ALU ports x operand slots
        self.select = Choice(n_task_ops, len(ALU_NAMES), gen=gen)  # task op -> opcode
        self.readout = LogReadout()

    def forward(self, x: torch.Tensor, task_op: torch.Tensor, alu: ALU,
                hard: bool = False) -> torch.Tensor:
        """x: (B, 2, n) one-hot operands; task_op: (B,) indices -> answer logits (B, n).
        ``hard`` replaces the learned routing and selection by their argmax (the
        discrete parse the soft one approximates)."""
        ports = route(self.route(hard), x)
        out = alu(self.select(hard)[task_op], ports[:, 0], ports[:, 1])
        return self.readout(out)


@dataclass
class Split:
    x: torch.Tensor  # (N, 2) operand values
    op: torch.Tensor  # (N,) task-op indices
    y: torch.Tensor  # (N,) answers

    def __len__(self) -> int:
        return len(self.y)


def make_data(bits: int, task_ops: tuple[str, ...], count: int, gen: torch.Generator) -> Split:
    n = 2 ** bits
    x = torch.randint(0, n, (count, 2), generator=gen)
    op = torch.randint(0, len(task_ops), (count,), generator=gen)
    y = torch.tensor([alu_result(task_ops[o], a, b, n) for (a, b), o in zip(x.tolist(), op.tolist())])
    return Split(x, op, y)


def _batches(split: Split, size: int, gen: torch.Generator | None = None):
    order = torch.randperm(len(split), generator=gen) if gen is not None else torch.arange(len(split))
    for i in range(0, len(split), size):
        idx = order[i:i + size]
        yield split.x[idx], split.op[idx], split.y[idx]


def accuracy(net: MinimalNet, alu: ALU, split: Split, bits: int, batch: int = 256,
             hard: bool = False) -> float:
    n, correct = 2 ** bits, 0
    with torch.no_grad():
        for x, op, y in _batches(split, batch):
            logits = net(F.one_hot(x, n).float(), op, alu, hard=hard)
            correct += int((logits.argmax(-1) == y).sum())
    return correct / len(split)


def train(cfg: Fig3Config, alu_kind: str, seed: int, log: list[dict]) -> tuple[MinimalNet, float]:
    """Train one network; append a row per evaluation to ``log``. Returns the network
    and its accuracy on the whole test split."""
    gen = seed_everything(seed)
    n = 2 ** cfg.bits
    data = make_data(cfg.bits, cfg.task_ops, cfg.examples, gen)
    cut = int(cfg.train_fraction * len(data))
    train_split = Split(data.x[:cut], data.op[:cut], data.y[:cut])
    test_split = Split(data.x[cut:], data.op[cut:], data.y[cut:])
    probe = Split(*(t[:cfg.eval_examples] for t in (test_split.x, test_split.op, test_split.y)))
    alu = make_alu(alu_kind, n)
    net = MinimalNet(len(cfg.task_ops), gen)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    steps_per_epoch = -(-len(train_split) // cfg.batch_size)
    eval_every = max(1, steps_per_epoch // cfg.evals_per_epoch)

    def record(step: int, loss: float, started: float) -> None:
        log.append({"alu": alu_kind, "seed": seed, "bits": cfg.bits, "step": step,
                    "epoch": step / steps_per_epoch, "train_loss": loss,
                    "test_acc": accuracy(net, alu, probe, cfg.bits),
                    "seconds": time.perf_counter() - started})

    started, step = time.perf_counter(), 0
    record(0, float("nan"), started)
    for _ in range(cfg.epochs):
        for x, op, y in _batches(train_split, cfg.batch_size, gen):
            loss = F.cross_entropy(net(F.one_hot(x, n).float(), op, alu), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % eval_every == 0 or step % steps_per_epoch == 0:
                record(step, loss.item(), started)
    return net, accuracy(net, alu, test_split, cfg.bits)


def swap(cfg: Fig3Config, net: MinimalNet, seed: int) -> list[dict]:
    """Evaluate a table-trained network with wider ALUs, no retraining."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    data = make_data(cfg.swap_bits, cfg.task_ops, cfg.swap_examples, gen)
    rows = []
    for kind in cfg.swap_to:
        alu = make_alu(kind, 2 ** cfg.swap_bits)
        for routing in ("soft", "hard"):
            rows.append({"trained_with": "table", "bits_trained": cfg.bits, "swapped_to": kind,
                         "bits_eval": cfg.swap_bits, "routing": routing, "seed": seed,
                         "accuracy": accuracy(net, alu, data, cfg.swap_bits, batch=64,
                                              hard=routing == "hard"),
                         "n": len(data)})
    return rows


def plot(curves: list[dict], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4))
    ax = fig.add_subplot()
    for kind, color in (("table", "tab:blue"), ("circuit", "tab:orange")):
        for seed in sorted({r["seed"] for r in curves if r["alu"] == kind}):
            rows = [r for r in curves if r["alu"] == kind and r["seed"] == seed]
            ax.plot([r["epoch"] for r in rows], [r["test_acc"] for r in rows], color=color,
                    alpha=0.8, label=kind if seed == min(r["seed"] for r in curves) else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title("Figure 3: lookup table vs circuit (minimal network)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def run(cfg: Fig3Config) -> dict:
    out = results_dir("fig3", cfg.out)
    curves: list[dict] = []
    swaps: list[dict] = []
    finals: dict[tuple[str, int], float] = {}
    for kind in cfg.alus:
        for seed in cfg.seeds:
            net, finals[kind, seed] = train(cfg, kind, seed, curves)
            if kind == "table" and cfg.swap_to:
                swaps.extend(swap(cfg, net, seed))
    write_csv(out / "curves.csv", curves)
    if swaps:
        write_csv(out / "swap.csv", swaps)
    plot(curves, out / "fig3.png")

    summary = []
    for kind in cfg.alus:
        rows = [r for r in curves if r["alu"] == kind]
        first = [max(r["test_acc"] for r in rows if r["seed"] == s and r["epoch"] <= 1.0 + 1e-9)
                 for s in cfg.seeds]
        final = [finals[kind, s] for s in cfg.seeds]
        hit = [next((r["epoch"] for r in rows if r["seed"] == s and r["test_acc"] >= 0.99), None)
               for s in cfg.seeds]
        summary.append({"alu": kind, "bits": cfg.bits,
                        "acc_epoch1": "%.4f ± %.4f" % mean_std(first),
                        "acc_final": "%.4f ± %.4f" % mean_std(final),
                        "epochs_to_99%": ", ".join("-" if h is None else f"{h:.2f}" for h in hit)})
    for kind in cfg.swap_to:
        for routing in ("soft", "hard"):
            accs = [r["accuracy"] for r in swaps if r["swapped_to"] == kind and r["routing"] == routing]
            if accs:
                summary.append({"alu": f"table -> {kind} ({routing} routing)", "bits": cfg.swap_bits,
                                "acc_epoch1": "-", "acc_final": "%.4f ± %.4f" % mean_std(accs),
                                "epochs_to_99%": "no retraining"})
    write_csv(out / "summary.csv", summary)
    print(format_table(summary))
    print(f"wrote {out / 'curves.csv'}, {out / 'swap.csv'}, {out / 'summary.csv'}, {out / 'fig3.png'}")
    return {"curves": curves, "swaps": swaps, "summary": summary, "config": asdict(cfg)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = Fig3Config()
    p.add_argument("--bits", type=int, default=d.bits)
    p.add_argument("--swap-bits", type=int, default=d.swap_bits)
    p.add_argument("--examples", type=int, default=d.examples)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--seeds", default=",".join(map(str, d.seeds)), help="comma-separated seeds")
    p.add_argument("--out", default=None, help="output folder (default results/fig3)")


def config_from_args(args: argparse.Namespace) -> Fig3Config:
    return Fig3Config(bits=args.bits, swap_bits=args.swap_bits, examples=args.examples,
                      epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                      seeds=ints(args.seeds),
                      out=args.out)
