"""Training, evaluation and checkpoints for the augmented LM (§3.4).

A run directory holds everything needed to evaluate, ask or resume:

* ``config.json``: the :class:`TrainConfig` (with the model's :class:`AugmentConfig`);
* ``tokenizer/``: the tokenizer, in Hugging Face format;
* ``backbone/config.json``: the backbone's Hugging Face config (last layer dropped);
* ``data/train.jsonl``, ``data/test.jsonl``: the exact split trained and tested on;
* ``checkpoint/``: ``model.safetensors``, ``optimizer.safetensors`` and ``state.json``
  (epoch, step), each written atomically, ``state.json`` last;
* ``metrics.jsonl``, ``metrics.csv`` and ``curves.png``: one row per epoch.

Training is AdamW with linear warm-up to a constant learning rate and gradient-norm
clipping. The example order of epoch e is a permutation seeded by (seed, e), so a run
resumed after epoch e retraces an uninterrupted one exactly. Non-finite losses stop the
run with :class:`NonFiniteLossError` rather than training through them.

Several processes (``torchrun --nproc_per_node K``) train as one: each global batch is
split across them, DDP averages gradients, and the loss is scaled so the update equals
the single-process one (gloo on CPU, NCCL on CUDA). Only rank 0 writes files.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterator, Sequence

import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch import nn

from .augment import Answerer, AugmentConfig, AugmentedLM, BackboneConfig
from .baselines import CausalLM, DirectLM
from .errors import InputError, NeurocompilerError
from .files import atomic_write
from .tasks import TASKS, Example, generate, load_jsonl, save_jsonl, split
from .tokenizer import build_tokenizer, load_tokenizer, save_tokenizer


ARCHITECTURES = {"augmented": AugmentedLM, "direct": DirectLM, "autoregressive": CausalLM}


class NonFiniteLossError(NeurocompilerError):
    """The loss became NaN or infinite."""


@dataclass
class TrainConfig:
    task: str = "arithmetic"  # a generator in tasks.TASKS, or "jsonl"
    train_file: str | None = None
    test_file: str | None = None
    examples: int = 2000  # generated examples, split 70/30
    task_options: dict = field(default_factory=dict)
    out: str = "runs/latest"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 3e-3  # the heads'; the backbone's is lr * backbone_lr_scale
    backbone_lr_scale: float = 0.1
    warmup: float = 0.0  # fraction of all steps spent warming up (a warm-up delays the parse)
    weight_decay: float = 0.01
    clip: float = 1.0
    seed: int = 0
    tokenizer: str = "char"  # char | bpe | bpe-numbers; ignored with a checkpoint (its own is used)
    bpe_vocab: int = 512
    device: str = "auto"
    bf16: bool = False  # bf16 autocast of the backbone (CUDA or CPU); the computer stays float32
    eval_batch_size: int = 128
    model: AugmentConfig = field(default_factory=AugmentConfig)
    architecture: str = "augmented"  # or a baseline without the computer: "direct", "autoregressive"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise InputError(f"config.json: unknown field(s) {', '.join(sorted(unknown))}")
        d = dict(d)
        d["model"] = AugmentConfig(**d.get("model", {}))
        return cls(**d)

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise InputError(f"architecture: expected one of {', '.join(ARCHITECTURES)}, "
                             f"got {self.architecture!r}")


# ---------------------------------------------------------------- files, atomically


def write_json(path: Path, obj) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=2) + "\n"), parents=True)


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata), parents=True)


def optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """An optimizer's state as flat tensors plus JSON metadata (no pickle)."""
    sd = opt.state_dict()
    tensors = {f"{i}.{k}": v if torch.is_tensor(v) else torch.tensor(v)
               for i, st in sd["state"].items() for k, v in st.items()}
    return tensors, {"param_groups": json.dumps(sd["param_groups"])}


def load_optimizer(opt: torch.optim.Optimizer, path: Path) -> None:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as fh:
        groups = json.loads(fh.metadata()["param_groups"])
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key in fh.keys():
            i, name = key.split(".", 1)
            state.setdefault(int(i), {})[name] = fh.get_tensor(key)
    opt.load_state_dict({"state": state, "param_groups": groups})


# ---------------------------------------------------------------- data and model

def make_data(cfg: TrainConfig) -> tuple[list[Example], list[Example]]:
    if cfg.task == "jsonl":
        if not cfg.train_file or not cfg.test_file:
            raise InputError("--task jsonl needs --train FILE and --test FILE")
        return load_jsonl(cfg.train_file), load_jsonl(cfg.test_file)
    if cfg.task not in TASKS:
        raise InputError(f"unknown task {cfg.task!r} (choose from {', '.join(TASKS)}, jsonl)")
    examples = generate(cfg.task, cfg.examples, cfg.seed, base=cfg.model.base, **cfg.task_options)
    return split(examples, 0.7, cfg.seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {name}: CUDA is not available on this machine")
    return torch.device(name)


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))


# ---------------------------------------------------------------- evaluation

@dataclass
class Evaluation:
    accuracy: float
    n: int
    selection_accuracy: float | None  # over examples whose function is known
    answers: list[int | str]
    confidence: list[float]
    chosen: list[str]  # the selected (argmax) function per example


@torch.no_grad()
def evaluate(model: Answerer, tokenizer, examples: Sequence[Example], batch_size: int = 128,
             device: torch.device | None = None) -> Evaluation:
    model.eval()
    device = device or next(model.parameters()).device
    answers: list[int | str] = []
    confidence: list[float] = []
    chosen: list[str] = []
    for i in range(0, len(examples), batch_size):
        p = model.predict(tokenizer, [e.question for e in examples[i:i + batch_size]])
        answers.extend(p.answers)
        confidence.extend(p.confidence)
        chosen.extend(p.chosen)
    model.train()
    right = [a == e.answer for a, e in zip(answers, examples)]
    known = [(c == e.function) for c, e in zip(chosen, examples) if e.function and c]
    return Evaluation(sum(right) / max(1, len(right)), len(right),
                      sum(known) / len(known) if known else None, answers, confidence, chosen)


# ---------------------------------------------------------------- the loop

def _distributed() -> tuple[int, int]:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def build(cfg: TrainConfig, run_dir: Path, train_examples: Sequence[Example]):
    """The tokenizer and the model for a new run (written to ``run_dir`` by rank 0)."""
    if cfg.model.backbone.model_path:
        tokenizer = load_tokenizer(cfg.model.backbone.model_path)
    else:
        tokenizer = build_tokenizer(cfg.tokenizer, [e.question for e in train_examples], cfg.bpe_vocab)
    cfg.model.backbone.vocab_size = len(tokenizer)
    model = ARCHITECTURES[cfg.architecture](cfg.model)
    if hasattr(model, "use_tokenizer"):
        model.use_tokenizer(tokenizer)
    return tokenizer, model


def load_run(run_dir: str | Path, device: str = "cpu", base: int | None = None,
             alu: str | None = None) -> tuple[TrainConfig, Answerer, object]:
    """A run's config, its model with the last checkpoint's weights, and its tokenizer.
    ``base`` and ``alu`` give the model at a wider base and with another ALU
    (``Answerer.widen``); the config stays the trained one."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise InputError(f"{run_dir}: not a run directory (no config.json)")
    try:
        cfg = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    except (json.JSONDecodeError, TypeError) as exc:
        raise InputError(f"{run_dir / 'config.json'}: unreadable ({exc})") from None
    tokenizer = load_tokenizer(run_dir / "tokenizer")
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    # the backbone's own (already truncated) config; the checkpoint holds every weight
    auto = AutoModelForCausalLM if cfg.architecture == "autoregressive" else AutoModel
    backbone = auto.from_config(AutoConfig.from_pretrained(run_dir / "backbone", local_files_only=True))
    model = ARCHITECTURES[cfg.architecture](cfg.model, backbone=backbone)
    weights = run_dir / "checkpoint" / "model.safetensors"
    if not weights.is_file():
        raise InputError(f"{run_dir}: no checkpoint yet ({weights} is missing)")
    model.load_state_dict(load_file(str(weights)))
    if base is not None or alu is not None:
        model = model.widen(cfg.model.base if base is None else base, alu)
    return cfg, model.to(pick_device(device)), tokenizer


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True, log=print) -> dict:
    """Train (or resume) the run in ``cfg.out``; return the last epoch's metrics."""
    rank, world = _distributed()
    run_dir = Path(cfg.out)
    device = pick_device(cfg.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
    torch.manual_seed(cfg.seed)

    state = {"epoch": 0, "step": 0}
    if resume:
        if not (run_dir / "checkpoint" / "state.json").is_file():
            raise InputError(f"--resume: {run_dir} has no checkpoint to resume from")
        saved = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
        saved.epochs = cfg.epochs  # the one setting a resume may change: train for longer
        cfg = saved
        _, model, tokenizer = load_run(run_dir)
        train_set = load_jsonl(run_dir / "data" / "train.jsonl")
        test_set = load_jsonl(run_dir / "data" / "test.jsonl")
        state = json.loads((run_dir / "checkpoint" / "state.json").read_text())
    else:
        train_set, test_set = make_data(cfg)
        if not train_set or not test_set:
            raise InputError("the training and test sets must both be non-empty")
        tokenizer, model = build(cfg, run_dir, train_set)
        if rank == 0:
            run_dir.mkdir(parents=True, exist_ok=True)
            for name in ("metrics.jsonl", "metrics.csv"):
                (run_dir / name).unlink(missing_ok=True)
            save_tokenizer(tokenizer, run_dir / "tokenizer")
            model.backbone.config.save_pretrained(run_dir / "backbone")
            (run_dir / "data").mkdir(exist_ok=True)
            save_jsonl(run_dir / "data" / "train.jsonl", train_set)
            save_jsonl(run_dir / "data" / "test.jsonl", test_set)
            write_json(run_dir / "config.json", cfg.to_dict())
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(model.param_groups(cfg.backbone_lr_scale), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if resume:
        load_optimizer(opt, run_dir / "checkpoint" / "optimizer.safetensors")
    ddp = nn.parallel.DistributedDataParallel(model) if world > 1 else model

    steps_per_epoch = math.ceil(len(train_set) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warm = max(1, int(cfg.warmup * total))
    lr_at = lambda step: cfg.lr * min(1.0, (step + 1) / warm)  # noqa: E731
    metrics: dict = {}
    for epoch in range(state["epoch"], cfg.epochs):
        started, losses = time.perf_counter(), []
        torch.manual_seed(cfg.seed * 100_003 + epoch + 1)  # sampled r1 candidates: a resume replays them
        order = epoch_order(len(train_set), cfg.seed, epoch).tolist()
        batches = range(0, len(order), cfg.batch_size)
        if progress and rank == 0:
            from tqdm import tqdm
            batches = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False)
        for start in batches:
            idx = order[start:start + cfg.batch_size]
            mine = idx[rank::world]  # this process's share of the global batch
            chunk = [train_set[i] for i in mine]
            batch = model.make_batch(tokenizer, chunk).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16 and device.type in ("cuda", "cpu")):
                out = ddp(batch.input_ids, batch.attention_mask)
            loss = model.loss(out, batch.targets)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"non-finite loss ({loss.item()}) at epoch {epoch + 1}, "
                                         f"step {state['step'] + 1}; lower --lr or enable clipping")
            # DDP averages gradients over processes; weight each share by its size so
            # the update is the single-process mean over the global batch.
            (loss * len(mine) * world / len(idx)).backward()
            for group in opt.param_groups:
                group["lr"] = lr_at(state["step"]) * group["lr_scale"]
            if cfg.clip:
                torch.nn.utils.clip_grad_norm_(params, cfg.clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            state["step"] += 1
            losses.append(loss.item())
        seconds = time.perf_counter() - started
        state["epoch"] = epoch + 1
        if rank == 0:
            ev = evaluate(model, tokenizer, test_set, cfg.eval_batch_size, device)
            metrics = {"epoch": epoch + 1, "step": state["step"], "train_loss": sum(losses) / len(losses),
                       "test_accuracy": ev.accuracy, "selection_accuracy": ev.selection_accuracy,
                       "n_test": ev.n, "epoch_seconds": round(seconds, 3)}
            save_checkpoint(run_dir, model, opt, state)
            append_metrics(run_dir, metrics)
            log(f"epoch {epoch + 1}: loss {metrics['train_loss']:.4f}, test accuracy "
                f"{100 * ev.accuracy:.2f}% ({seconds:.1f} s)")
        if world > 1:
            dist.barrier()
    if rank == 0:
        plot_metrics(run_dir)
    return metrics


def save_checkpoint(run_dir: Path, model: Answerer, opt: torch.optim.Optimizer, state: dict) -> None:
    ckpt = run_dir / "checkpoint"
    meta = {"epoch": str(state["epoch"]), "step": str(state["step"])}
    save_tensors(ckpt / "model.safetensors", dict(model.state_dict()), meta)
    tensors, opt_meta = optimizer_tensors(opt)
    save_tensors(ckpt / "optimizer.safetensors", tensors, {**meta, **opt_meta})
    write_json(ckpt / "state.json", state)  # last: it commits the checkpoint


def append_metrics(run_dir: Path, row: dict) -> None:
    with open(run_dir / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line]

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    atomic_write(run_dir / "metrics.csv", write, parents=True)


def plot_metrics(run_dir: Path) -> None:
    from matplotlib.figure import Figure

    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    fig = Figure(figsize=(9, 3.5))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    epochs = [r["epoch"] for r in rows]
    ax1.plot(epochs, [r["train_loss"] for r in rows], marker="o")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("train loss")
    ax2.plot(epochs, [r["test_accuracy"] for r in rows], marker="o", label="answer")
    if any(r["selection_accuracy"] is not None for r in rows):
        ax2.plot(epochs, [r["selection_accuracy"] for r in rows], marker="x", label="selection")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("test accuracy")
    ax2.set_ylim(0, 1.02)
    ax2.legend()
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(run_dir / "curves.png", lambda tmp: fig.savefig(tmp, dpi=110, format="png"), parents=True)


def iter_metrics(run_dir: str | Path) -> Iterator[dict]:
    for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines():
        if line:
            yield json.loads(line)


__all__ = ["TrainConfig", "BackboneConfig", "train", "evaluate", "load_run", "NonFiniteLossError"]


def ask(run_dir: str | Path, question: str, device: str = "cpu") -> dict:
    """Answer one question with a trained run: the answer and the model's confidence,
    and for the augmented model the selected program and its probability and the parsed
    inputs (:meth:`Answerer.explain`)."""
    _, model, tokenizer = load_run(run_dir, device)
    model.eval()
    return model.explain(tokenizer, question)


def evaluate_run(run_dir: str | Path, test_file: str | None = None, device: str = "cpu",
                 base: int | None = None, alu: str | None = None) -> dict:
    """Accuracy of a run on its own test split, or on ``test_file`` (JSONL); ``base``
    and ``alu`` as in :func:`load_run`."""
    cfg, model, tokenizer = load_run(run_dir, device, base, alu)
    examples = load_jsonl(test_file or Path(run_dir) / "data" / "test.jsonl")
    ev = evaluate(model, tokenizer, examples, cfg.eval_batch_size)
    return {"accuracy": ev.accuracy, "n": ev.n}
