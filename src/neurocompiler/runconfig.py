"""A training run's configuration (:class:`TrainConfig`, saved as ``config.json``), its
data (:func:`make_data`) and the device it runs on (:func:`pick_device`)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Sequence

import torch

from .augment import AugmentConfig, AugmentedLM
from .baselines import CausalLM, DirectLM
from .errors import InputError
from .files import atomic_write
from .tasks import TASKS, Example, generate, load_jsonl, split
from .tasks.jsonl import ANSWER_KINDS


ARCHITECTURES = {"augmented": AugmentedLM, "direct": DirectLM, "autoregressive": CausalLM}


@dataclass
class TrainConfig:
    task: str = "arithmetic"  # a generator in tasks.TASKS, or "jsonl"
    train_file: str | None = None
    test_file: str | None = None
    # how JSONL answers read (tasks.jsonl.read_answer): "auto", a string of digits is an
    # integer ("17" as public data sets write it); "int"; "str", every answer is text
    answers: str = "auto"
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
        d["model"] = AugmentConfig.from_dict(d.get("model", {}))
        return cls(**d)

    def __post_init__(self) -> None:
        if self.answers not in ANSWER_KINDS:
            raise InputError(f"--answers {self.answers}: expected one of {', '.join(ANSWER_KINDS)}")
        if self.architecture not in ARCHITECTURES:
            raise InputError(f"architecture: expected one of {', '.join(ARCHITECTURES)}, "
                             f"got {self.architecture!r}")
        # (flag or field, value, least, most): non-finite numbers and values outside are refused
        numbers = [("--lr", self.lr, 0.0, None), ("backbone_lr_scale", self.backbone_lr_scale, 0.0, None),
                   ("warmup", self.warmup, 0.0, 1.0), ("weight_decay", self.weight_decay, 0.0, None),
                   ("clip", self.clip, 0.0, None)]
        if isinstance(self.model, AugmentConfig):
            numbers += [("embedding_std", self.model.backbone.embedding_std, 0.0, None)]
        for flag, v, lo, hi in numbers:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v < lo or (hi is not None and v > hi):
                span = f"{lo:g}..{hi:g}" if hi is not None else f">= {lo:g}"
                raise InputError(f"{flag} {v}: expected a finite number {span}")
        if not self.lr > 0:
            raise InputError(f"--lr {self.lr}: expected a learning rate > 0")
        for flag, n in (("--epochs", self.epochs), ("--batch-size", self.batch_size),
                        ("eval_batch_size", self.eval_batch_size), ("examples", self.examples)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise InputError(f"{flag} {n}: expected a positive integer")
        problem = device_problem(self.device)
        if problem:
            raise InputError(problem)


# ---------------------------------------------------------------- files, atomically


_NUMBER = re.compile(r"[0-9]+")


def fit_base(examples: Sequence[Example], functions: Sequence[str]) -> tuple[int, str]:
    """The smallest power of two that holds every value the run needs, and why: each
    integer answer and each number a question spells (inputs the parse copies), each
    character code of a string answer, and an address past the library's last
    instruction (a return lands there)."""
    from .config import MachineConfig
    from .library import library_length

    needs = [(library_length(functions, MachineConfig(base=1 << 16, memory=1)), "the library's length"),
             (1, "the least base")]
    for e in examples:
        where = e.source or "the training set"
        if isinstance(e.answer, int):
            needs.append((e.answer, f"the answer {e.answer} ({where})"))
        elif e.answer:
            code = max(map(ord, e.answer))
            needs.append((code, f"the character {chr(code)!r} (code {code}) of the answer {e.answer!r} ({where})"))
        numbers = [int(n) for n in _NUMBER.findall(e.question)]
        if numbers:
            needs.append((max(numbers), f"the number {max(numbers)} in the question ({where})"))
    top, why = max(needs, key=lambda need: need[0])
    base = 1 << top.bit_length()  # the smallest power of two above top
    return base, f"base {base}: the least power of two above {top}, {why} (--base to choose another)"


MIN_CELLS, SPAN_CELLS = 16, 64  # memory cells at least; at most the longest question asks for


def fit_cells(examples: Sequence[Example]) -> tuple[int, str]:
    """Memory cells for the data, and why: a power of two that holds the longest string
    answer and its terminating 0, and the longest question's text (a list read from the
    question, such as a sentence whose letters are counted, is at most that long) up to
    :data:`SPAN_CELLS` (a longer list costs a sort quadratically many steps)."""
    answer = max(((len(e.answer) + 1, e) for e in examples if isinstance(e.answer, str)),
                 key=lambda t: t[0], default=(0, None))
    question = max(((len(e.question.strip()), e) for e in examples), key=lambda t: t[0], default=(0, None))
    need, why = max((MIN_CELLS, "the least"),
                    (answer[0], answer[1] and f"the answer {answer[1].answer!r} and its terminating 0 "
                     f"({answer[1].source or 'the training set'})"),
                    (min(question[0], SPAN_CELLS), question[1] and (
                        f"the longest question, {question[0]} characters ({question[1].source or 'the training set'})"
                        + (f", capped at {SPAN_CELLS}" if question[0] > SPAN_CELLS else ""))),
                    key=lambda t: t[0])
    cells = 1 << (need - 1).bit_length()
    return cells, f"cells {cells}: the least power of two holding {need} characters, {why} (--cells to choose another)"


def write_json(path: Path, obj) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=2) + "\n"), parents=True)


# ---------------------------------------------------------------- data and model

DEFAULT_BASE = 128  # a generated task's base when none is given
DEFAULT_MAX_STEPS = 2000  # a generated task's step budget when none is given


def make_data(cfg: TrainConfig) -> tuple[list[Example], list[Example]]:
    """The training and test examples. A generated task with no base or step budget
    given (None in ``cfg.model``) gets :data:`DEFAULT_BASE` and :data:`DEFAULT_MAX_STEPS`,
    which ``cfg.model`` then holds; a JSONL run's are fitted to its data by the caller
    (:func:`fit_base`, :func:`neurocompiler.library.bounds.step_budget`)."""
    if cfg.task == "jsonl":
        if not cfg.train_file or not cfg.test_file:
            raise InputError("--task jsonl needs --train FILE and --test FILE")
        return load_jsonl(cfg.train_file, cfg.answers), load_jsonl(cfg.test_file, cfg.answers)
    if cfg.model.base is None or cfg.model.max_steps is None:
        cfg.model = replace(cfg.model, base=cfg.model.base or DEFAULT_BASE,
                            max_steps=cfg.model.max_steps or DEFAULT_MAX_STEPS)
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
