"""A trained run, used: :func:`load_run` (its config, model and tokenizer, every file
checked), :func:`evaluate` and :func:`evaluate_run` (accuracy), :func:`ask` (one
question, with what the model did to answer it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from . import checkpoint, datacheck
from .augment import Answerer
from .errors import InputError
from .runconfig import ARCHITECTURES, TrainConfig, pick_device
from .tasks import Example, load_jsonl
from .tokenizer import load_tokenizer


@dataclass
class Evaluation:
    accuracy: float
    n: int
    selection_accuracy: float | None  # over examples whose function is known (Example.answered_by)
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
    known = [e.answered_by(c) for c, e in zip(chosen, examples) if e.function and c]
    return Evaluation(sum(right) / max(1, len(right)), len(right),
                      sum(known) / len(known) if known else None, answers, confidence, chosen)


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
    examples = load_jsonl(path, cfg.answers)
    datacheck.check_lengths(tokenizer, examples, datacheck.positions(model), str(path))
    warning = datacheck.unproducible_warning(model, examples, str(path), tokenizer)
    if warning:
        warn(warning)
    from .footprint_lm import answer_batch

    batch = answer_batch(cfg, model, tokenizer, [e.question for e in examples], base, alu)  # the largest that fits
    ev = evaluate(model, tokenizer, examples, batch)
    return {"accuracy": ev.accuracy, "n": ev.n}
