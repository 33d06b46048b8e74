"""Training the augmented LM and its baselines (§3.4), new or resumed.

A run directory holds everything needed to evaluate, ask or resume:

* ``config.json``: the :class:`TrainConfig` (with the model's :class:`AugmentConfig`);
* ``tokenizer/``: the tokenizer, in Hugging Face format;
* ``backbone/config.json``: the backbone's Hugging Face config (last layer dropped);
* ``data/train.jsonl``, ``data/test.jsonl``: the exact split trained and tested on;
* ``checkpoint``: a link to the current checkpoint, one atomic unit (:mod:`checkpoint`):
  ``model.safetensors``, ``optimizer.safetensors``, ``state.json`` (epoch, step, the
  metrics so far) and ``manifest.json`` (sizes and SHA-256s, verified on load);
* ``metrics.jsonl``, ``metrics.csv`` and ``curves.png``: one row per epoch, rewritten
  from the checkpoint after each.

A new run is checked, built and validated in memory (data, question lengths, answers
the model can give, the memory budget: :mod:`footprint_lm`) before anything is written,
then written beside ``--out`` and moved into place (:mod:`rundir`). The configuration
is :mod:`runconfig`'s; loading and using a trained run is :mod:`evaluation`'s.

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
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import torch
import torch.distributed as dist
from torch import nn

from . import checkpoint, datacheck, rundir
from .augment import BackboneConfig
from .errors import InputError
from .evaluation import Evaluation, ask, evaluate, evaluate_run, load_run
from .footprint_lm import Plan, plan_training
from .library.bounds import step_budget
from .metrics import iter_metrics, plot_metrics, write_metrics
from .resources import Estimate, budget
from .runconfig import ARCHITECTURES, TrainConfig, device_problem, fit_base, fit_cells, make_data, pick_device, write_json
from .step import NonFiniteLossError, accumulate_gradients
from .tasks import Example, load_jsonl, save_jsonl
from .tokenizer import build_tokenizer, load_tokenizer, save_tokenizer


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))


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
        if cfg.model.base is None:  # fitted to the data: said, and saved with the run
            base, why = fit_base(train_set, cfg.model.functions)
            cfg.model = replace(cfg.model, base=base)
            if rank == 0:
                log(why)
        if cfg.model.cells is None:  # fitted to the data: said, and saved
            cells, why = fit_cells(train_set)
            cfg.model = replace(cfg.model, cells=cells)
            if rank == 0:
                log(why)
        if cfg.model.max_steps is None:  # measured at this base and these cells: said, and saved
            steps, why = step_budget(cfg.model.functions, cfg.model.base, cfg.model.cells)
            cfg.model = replace(cfg.model, max_steps=steps)
            if rank == 0:
                log(why)
        if not train_set or not test_set:
            raise InputError("the training and test sets must both be non-empty")
        tokenizer, model = build(cfg, run_dir, train_set)
        _validate(cfg, model, tokenizer, train_set, test_set, warn=rank == 0)
        plan = _plan(cfg, model, tokenizer, train_set, device)  # refused here: nothing written yet
        state = {"epoch": 0, "step": 0, "metrics": []}
        if rank == 0:
            _write_new_run(cfg, run_dir, tokenizer, model, train_set, test_set, overwrite, log)
    model.to(device).train()
    if rank == 0 and not resume:
        _announce(cfg, plan, model, tokenizer, train_set, device, log)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(model.param_groups(cfg.backbone_lr_scale), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if resume:
        checkpoint.load_optimizer(opt, run_dir)
    # find_unused_parameters: a parse need not touch every head on every batch (the general
    # parse's span reader on a batch with no list function, a candidate's unread kinds)
    ddp = nn.parallel.DistributedDataParallel(model, find_unused_parameters=True) if world > 1 else model

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
            # disable=None: a bar only where stderr is a terminal, never in a log file
            batches = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, disable=None)
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


def _announce(cfg: TrainConfig, plan: Plan, model, tokenizer, train_set, device: torch.device, log) -> None:
    """Say, before training, what the run selects among, what a step needs and how long
    one takes: measured on one real batch, whose gradients are then dropped and whose
    random draws are undone, so that the run is the one it would have been."""
    from .library import load_specs

    functions = cfg.model.functions
    whole = " (the whole library)" if set(functions) == set(load_specs()) else ""
    batch = [train_set[i] for i in epoch_order(len(train_set), cfg.seed, 0)[:cfg.batch_size].tolist()]
    rng = torch.get_rng_state()
    started = time.perf_counter()
    accumulate_gradients(model, model, tokenizer, batch, device, len(batch), 1, cfg.bf16, "the timing step",
                         micro_batch=plan.micro_batch)
    seconds = time.perf_counter() - started
    model.zero_grad(set_to_none=True)
    torch.set_rng_state(rng)
    steps = math.ceil(len(train_set) / cfg.batch_size)
    if cfg.architecture == "augmented":
        log(f"functions: {len(functions)}{whole}: {', '.join(functions)}")
    log(f"memory: {plan.describe()}")
    log(f"time: {seconds:.2f} s per step of {len(batch)} questions, measured on one batch; about "
        f"{seconds * steps:.0f} s per epoch of {steps} steps")


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
            mine = plain(cfg)
            for key in ("base", "cells", "max_steps"):  # not chosen yet: what the run derived from its data
                if getattr(cfg.model, key) is None:
                    mine["model"][key] = getattr(saved.model, key)
            same = plain(saved) == mine and cfg.epochs >= saved.epochs \
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
    train_set = load_jsonl(run_dir / "data" / "train.jsonl", saved.answers)
    test_set = load_jsonl(run_dir / "data" / "test.jsonl", saved.answers)
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
    with rundir.new_run(run_dir, overwrite, log) as staged:
        save_tokenizer(tokenizer, staged / "tokenizer")
        model.backbone.config.save_pretrained(staged / "backbone")
        (staged / "data").mkdir()
        save_jsonl(staged / "data" / "train.jsonl", train_set)
        save_jsonl(staged / "data" / "test.jsonl", test_set)
        write_json(staged / "config.json", cfg.to_dict())


__all__ = ["TrainConfig", "BackboneConfig", "Evaluation", "train", "train_or_reuse", "build", "make_data", "evaluate",
           "evaluate_run", "load_run", "ask", "pick_device", "device_problem", "NonFiniteLossError"]


