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

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Sequence

import torch
import torch.distributed as dist
from torch import nn

from .augment import Answerer, AugmentConfig, AugmentedLM, BackboneConfig
from .baselines import CausalLM, DirectLM
from .errors import InputError
from . import checkpoint, rundir
from . import datacheck
from .files import atomic_write
from .metrics import iter_metrics, plot_metrics, write_metrics
from .footprint_lm import Plan, plan_training
from .resources import Estimate, budget
from .step import NonFiniteLossError, accumulate_gradients
from .tasks import TASKS, Example, generate, load_jsonl, save_jsonl, split
from .tokenizer import build_tokenizer, load_tokenizer, save_tokenizer


ARCHITECTURES = {"augmented": AugmentedLM, "direct": DirectLM, "autoregressive": CausalLM}


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
        # (flag, value, least, most): non-finite numbers and values outside are refused
        numbers = [("--lr", self.lr, 0.0, None), ("--backbone-lr-scale", self.backbone_lr_scale, 0.0, None),
                   ("--warmup", self.warmup, 0.0, 1.0), ("weight_decay", self.weight_decay, 0.0, None),
                   ("clip", self.clip, 0.0, None)]
        if isinstance(self.model, AugmentConfig):
            numbers += [("--selection-floor", self.model.selection_floor, 0.0, 1.0),
                        ("--function-loss", self.model.function_loss, 0.0, None),
                        ("--embedding-std", self.model.backbone.embedding_std, 0.0, None)]
        for flag, v, lo, hi in numbers:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v < lo or (hi is not None and v > hi):
                span = f"{lo:g}..{hi:g}" if hi is not None else f">= {lo:g}"
                raise InputError(f"{flag} {v}: expected a finite number {span}")
        if not self.lr > 0:
            raise InputError(f"--lr {self.lr}: expected a learning rate > 0")
        for flag, n in (("--epochs", self.epochs), ("--batch-size", self.batch_size),
                        ("eval_batch_size", self.eval_batch_size), ("--examples", self.examples)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise InputError(f"{flag} {n}: expected a positive integer")
        problem = device_problem(self.device)
        if problem:
            raise InputError(problem)


# ---------------------------------------------------------------- files, atomically


def write_json(path: Path, obj) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=2) + "\n"), parents=True)


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


DEVICE_TYPES = ("cpu", "cuda", "mps")


def device_problem(name: object) -> str | None:
    """Why ``name`` is not a device name we run on ("auto", cpu, cuda, cuda:I, mps), or None."""
    if name == "auto":
        return None
    try:
        device = torch.device(name)  # type: ignore[arg-type]
    except (RuntimeError, TypeError, ValueError):
        return f"--device {name}: not a device name (auto, cpu, cuda, cuda:0, ...)"
    if device.type not in DEVICE_TYPES:
        return f"--device {name}: unsupported device type {device.type!r} (auto, cpu, cuda or mps)"
    return None


def pick_device(name: str) -> torch.device:
    """The device ``name`` means here ("auto": CUDA if there is one); a bad or absent
    one is an :class:`InputError`."""
    problem = device_problem(name)
    if problem:
        raise InputError(problem)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s) "
                             f"(use cuda:0 .. cuda:{torch.cuda.device_count() - 1})")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"--device {name}: MPS is not available on this machine (use --device cpu)")
    return device


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
             alu: str | None = None, questions: Sequence[str] = ()) -> tuple[TrainConfig, Answerer, object]:
    """A run's config, its model with the last checkpoint's weights, and its tokenizer.
    ``base`` and ``alu`` give the model at a wider base and with another ALU
    (``Answerer.widen``), refused first when answering ``questions`` (default: one short
    question) there would not fit the memory budget; the config stays the trained one."""
    run_dir = Path(run_dir)
    torch_device = pick_device(device)  # a bad name fails before anything loads
    if not (run_dir / "config.json").is_file():
        raise InputError(f"{run_dir}: not a run directory (no config.json; give the --out of a train run)")
    cfg = _read_config(run_dir / "config.json")
    damaged = "the run directory is damaged; train it again"
    try:
        tokenizer = load_tokenizer(run_dir / "tokenizer")
    except InputError as exc:
        raise InputError(f"{exc} ({damaged})") from None
    backbone = _backbone(run_dir / "backbone", cfg.architecture, damaged)
    if len(tokenizer) > backbone.config.vocab_size:
        raise InputError(f"{run_dir / 'tokenizer'}: {len(tokenizer)} tokens, but the backbone embeds "
                         f"{backbone.config.vocab_size} ({damaged})")
    model = ARCHITECTURES[cfg.architecture](cfg.model, backbone=backbone)
    try:
        model.load_state_dict(checkpoint.load_weights(run_dir))
    except RuntimeError as exc:  # names or shapes that are not this config's model
        raise InputError(f"{run_dir / checkpoint.LINK / checkpoint.FILES[0]}: does not fit the run's "
                         f"config.json ({str(exc).splitlines()[0]})") from None
    if base is not None or alu is not None:
        from .footprint_lm import check_widening

        check_widening(cfg, model, tokenizer, questions, base, alu)
        model = model.widen(cfg.model.base if base is None else base, alu)
    return cfg, model.to(torch_device), tokenizer


def _read_config(path: Path) -> TrainConfig:
    """A run's ``config.json``; anything wrong with it is one :class:`InputError`."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(d, dict) or not isinstance(d.get("model", {}), dict):
            raise TypeError("expected a JSON object of TrainConfig fields")
        return TrainConfig.from_dict(d)
    except OSError as exc:
        raise InputError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:  # JSON, UTF-8, a field's value (InputError is one)
        raise InputError(f"{path}: not a run's config ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; "
                         f"the run directory is damaged, train it again)") from None


def _backbone(folder: Path, architecture: str, damaged: str) -> nn.Module:
    """The backbone from a run's ``backbone/config.json`` (already truncated), with
    random weights: the checkpoint holds every weight."""
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    if not (folder / "config.json").is_file():
        raise InputError(f"{folder / 'config.json'}: missing ({damaged})")
    auto = AutoModelForCausalLM if architecture == "autoregressive" else AutoModel
    try:
        return auto.from_config(AutoConfig.from_pretrained(folder, local_files_only=True))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, ZeroDivisionError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200].rstrip(".")
        raise InputError(f"{folder / 'config.json'}: not a backbone config ({reason}; {damaged})") from None


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True, log=print,
          overwrite: bool = False) -> dict:
    """Train (or ``resume``) the run in ``cfg.out``; return the last epoch's metrics.

    A new run checks ``cfg.out`` first (:func:`rundir.check_out`: refused if it holds
    anything, unless ``overwrite`` and it holds a run, which is then moved aside), then
    builds and validates everything in memory, and only then writes the run, in one
    rename. A resume may change ``epochs`` (recorded in ``config.json``) and ``device``;
    every other field is the run's own."""
    rank, world = _distributed()
    device = pick_device(cfg.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
    torch.manual_seed(cfg.seed)
    if resume:
        cfg, model, tokenizer, train_set, test_set, state, plan = _resume(cfg, rank, device)
        run_dir = Path(cfg.out)
    else:
        # rank 0 checks and writes; the others may reach here after it has written the run
        run_dir = rundir.check_out(cfg.out, overwrite) if rank == 0 else Path(os.path.abspath(cfg.out))
        train_set, test_set = make_data(cfg)
        if not train_set or not test_set:
            raise InputError("the training and test sets must both be non-empty")
        tokenizer, model = build(cfg, run_dir, train_set)
        _validate(cfg, model, tokenizer, train_set, test_set, warn=rank == 0)
        plan = _plan(cfg, model, tokenizer, train_set, device)  # refused here: nothing written yet
        state = {"epoch": 0, "step": 0, "metrics": []}
        if rank == 0:
            _write_new_run(cfg, run_dir, tokenizer, model, train_set, test_set, overwrite, log)
    if rank == 0 and plan.micro_batches > 1:
        log(f"memory: {plan.describe()}")
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(model.param_groups(cfg.backbone_lr_scale), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if resume:
        checkpoint.load_optimizer(opt, run_dir)
    ddp = nn.parallel.DistributedDataParallel(model) if world > 1 else model

    steps_per_epoch = math.ceil(len(train_set) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warm = max(1, int(cfg.warmup * total))
    lr_at = lambda step: cfg.lr * min(1.0, (step + 1) / warm)  # noqa: E731
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
            loss = accumulate_gradients(model, ddp, tokenizer, [train_set[i] for i in mine], device, len(idx),
                                        world, cfg.bf16, f"epoch {epoch + 1}, step {state['step'] + 1}",
                                        micro_batch=plan.micro_batch, places=range(rank, len(idx), world))
            for group in opt.param_groups:
                group["lr"] = lr_at(state["step"]) * group["lr_scale"]
            if cfg.clip:
                torch.nn.utils.clip_grad_norm_(params, cfg.clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            state["step"] += 1
            losses.append(loss)
        seconds = time.perf_counter() - started
        state["epoch"] = epoch + 1
        if rank == 0:
            ev = evaluate(model, tokenizer, test_set, plan.eval_batch, device)
            row = {"epoch": epoch + 1, "step": state["step"], "train_loss": sum(losses) / len(losses),
                   "test_accuracy": ev.accuracy, "selection_accuracy": ev.selection_accuracy,
                   "n_test": ev.n, "epoch_seconds": round(seconds, 3)}
            state["metrics"].append(row)
            checkpoint.save(run_dir, model, opt, state)  # the commit: metrics files follow from it
            write_metrics(run_dir, state["metrics"])
            log(f"epoch {epoch + 1}: loss {row['train_loss']:.4f}, test accuracy "
                f"{100 * ev.accuracy:.2f}% ({seconds:.1f} s)")
        if world > 1:
            dist.barrier()
    if rank == 0:
        plot_metrics(run_dir)
        rundir.unlock(run_dir)
    return state["metrics"][-1] if state["metrics"] else {}


def _plan(cfg: TrainConfig, model, tokenizer, train_set, device: torch.device) -> Plan:
    """How a step fits the memory budget (micro-batches, evaluation batch); over the
    budget even at one question is a one-line error. The estimates are of host memory,
    so on an accelerator a step is the whole batch."""
    if device.type == "cpu":
        return plan_training(cfg, model, tokenizer, train_set)
    batch = max(1, cfg.batch_size)
    return Plan(batch, batch, cfg.eval_batch_size, Estimate({}), budget())


def _validate(cfg: TrainConfig, model, tokenizer, train_set, test_set, warn: bool) -> None:
    """Everything a run could fail on later, checked before it writes anything: questions
    too long for the backbone, training answers the model cannot give (errors) and test
    answers it cannot give (a warning: they will count as wrong)."""
    names = (cfg.train_file or "the training set", cfg.test_file or "the test set")
    for examples, name in zip((train_set, test_set), names):
        datacheck.check_lengths(tokenizer, examples, datacheck.positions(model), name)
    datacheck.check_producible(model, train_set, names[0], tokenizer)
    warning = datacheck.unproducible_warning(model, test_set, names[1], tokenizer)
    if warning and warn:
        datacheck.warn(warning)


def train_or_reuse(cfg: TrainConfig, progress: bool = True, log=print) -> dict:
    """What the demo and the experiments train with: a run already in ``cfg.out`` with
    the same config is reused (resumed, so a finished one costs nothing and an
    interrupted one continues); one with another config is moved aside and retrained."""
    same = False
    if rundir.holds_run(Path(cfg.out)):
        try:
            saved = TrainConfig.from_dict(json.loads((Path(cfg.out) / "config.json").read_text()))
            def plain(c: TrainConfig) -> dict:  # what makes it the same run (vocab_size: set by build)
                d = json.loads(json.dumps({**c.to_dict(), "out": "", "device": "", "epochs": 0}))
                d["model"]["backbone"]["vocab_size"] = 0
                return d
            same = plain(saved) == plain(cfg) and cfg.epochs >= saved.epochs \
                and checkpoint.current_dir(Path(cfg.out)) is not None
        except (OSError, ValueError, TypeError, InputError):
            same = False
    if same:
        return train(cfg, resume=True, progress=progress, log=log)
    return train(cfg, progress=progress, log=log, overwrite=True)


def _resume(cfg: TrainConfig, rank: int, device: torch.device):
    """The run in ``cfg.out`` as its last checkpoint left it, trained to ``cfg.epochs``."""
    run_dir = Path(cfg.out)
    if not rundir.holds_run(run_dir):
        raise InputError(f"--resume: {cfg.out} holds no run to resume (no config.json)")
    if rank == 0:
        rundir.lock(run_dir)
        checkpoint.remove_scratch(run_dir)
    if checkpoint.current_dir(run_dir) is None:
        raise InputError(f"--resume: {cfg.out} has no checkpoint to resume from (it stopped before its first "
                         f"epoch ended; start it again with --overwrite)")
    saved, model, tokenizer = load_run(run_dir)
    state = checkpoint.load_state(run_dir)
    if "metrics" not in state:  # a checkpoint from before metrics were part of it
        state["metrics"] = [m for m in iter_metrics(run_dir) if m["epoch"] <= state["epoch"]] \
            if (run_dir / "metrics.jsonl").is_file() else []
    if cfg.epochs < state["epoch"]:
        raise InputError(f"--resume: {cfg.out} has trained {state['epoch']} epochs already, more than "
                         f"--epochs {cfg.epochs}")
    train_set = load_jsonl(run_dir / "data" / "train.jsonl")
    test_set = load_jsonl(run_dir / "data" / "test.jsonl")
    plan = _plan(saved, model, tokenizer, train_set, device)  # refused here: nothing written yet
    if (saved.epochs, saved.device) != (cfg.epochs, cfg.device) and rank == 0:
        saved.epochs, saved.device = cfg.epochs, cfg.device  # what a resume may change, recorded
        write_json(run_dir / "config.json", saved.to_dict())
    saved.epochs, saved.device, saved.out = cfg.epochs, cfg.device, cfg.out  # out: where it is now
    if rank == 0 and state["metrics"]:
        write_metrics(run_dir, state["metrics"])  # a kill may have come between the checkpoint and these
    return saved, model, tokenizer, train_set, test_set, state, plan


def _write_new_run(cfg: TrainConfig, run_dir: Path, tokenizer, model, train_set, test_set,
                   overwrite: bool, log) -> None:
    """Write a new run's files into a scratch directory, then move it to ``run_dir``."""
    staged = rundir.stage(run_dir)
    rundir.lock(staged)
    try:
        save_tokenizer(tokenizer, staged / "tokenizer")
        model.backbone.config.save_pretrained(staged / "backbone")
        (staged / "data").mkdir()
        save_jsonl(staged / "data" / "train.jsonl", train_set)
        save_jsonl(staged / "data" / "test.jsonl", test_set)
        write_json(staged / "config.json", cfg.to_dict())
    except BaseException:
        rundir.unlock(staged)
        import shutil
        shutil.rmtree(staged, ignore_errors=True)
        raise
    rundir.commit(staged, run_dir, overwrite, log)


__all__ = ["TrainConfig", "BackboneConfig", "train", "evaluate", "load_run", "NonFiniteLossError"]


def ask(run_dir: str | Path, question: str, device: str = "cpu") -> dict:
    """Answer one question with a trained run: the answer and the model's confidence,
    and for the augmented model the selected program and its probability and the parsed
    inputs (:meth:`Answerer.explain`). An empty question, or one longer than the
    backbone's positions, is an :class:`InputError`."""
    if not isinstance(question, str) or not question.strip():
        raise InputError('ask: the question is empty (ask one, e.g. neurocompiler ask RUN_DIR "Add 3 and 4")')
    cfg, model, tokenizer = load_run(run_dir, device)
    datacheck.check_lengths(tokenizer, [Example(question, 0)], datacheck.positions(model), "ask: question")
    from .footprint_lm import answer_batch

    answer_batch(cfg, model, tokenizer, [question], what="ask")
    model.eval()
    return model.explain(tokenizer, question)


def evaluate_run(run_dir: str | Path, test_file: str | None = None, device: str = "cpu",
                 base: int | None = None, alu: str | None = None, warn=datacheck.warn) -> dict:
    """Accuracy of a run on its own test split, or on ``test_file`` (JSONL); ``base``
    and ``alu`` as in :func:`load_run`. Questions longer than the backbone's positions
    are an :class:`InputError`; answers the model cannot give are scored wrong, after a
    warning on stderr (``warn``)."""
    cfg, model, tokenizer = load_run(run_dir, device, base, alu)
    path = test_file or Path(run_dir) / "data" / "test.jsonl"
    examples = load_jsonl(path)
    datacheck.check_lengths(tokenizer, examples, datacheck.positions(model), str(path))
    warning = datacheck.unproducible_warning(model, examples, str(path), tokenizer)
    if warning:
        warn(warning)
    from .footprint_lm import answer_batch

    batch = answer_batch(cfg, model, tokenizer, [e.question for e in examples], base, alu)  # the largest that fits
    ev = evaluate(model, tokenizer, examples, batch)
    return {"accuracy": ev.accuracy, "n": ev.n}
