"""A language model augmented with the differentiable library (§3.4).

``question -> tokenizer -> LLaMA backbone -> z -> heads -> Library -> answer head``

* ``z`` is taken from all but the last layer: the backbone's last decoder layer is
  dropped, since nothing reads it, and ``z`` is the (normed) output of the one before.
* **Selection head**: a softmax over the library's functions, from the pooled ``z``.
* **Parsing heads**: the initial argument registers r1..r3 and memory cells
  ``0..cells-1``, each a one-hot classification over values 0..n-1. Two options:

  - ``pooled`` (the paper's): one linear map from the pooled ``z`` to every slot;
  - ``slots`` (ours): pointers into the question (:class:`SlotParser`): registers
    attend over the tokens; memory cell i copies the token i + 1 places after a
    learned start anchor, so it holds the i-th character of a quoted string; r1 may
    take that span's length.

* **Library**: every function runs from that state, batched, and the final states are
  mixed by the selection (issue #4).
* **Answer head**: ``scale * log(p)`` on the mixed r0 for integer answers and on
  the mixed cells for string answers (one value per cell, terminated by a 0 cell). A
  prediction's kind follows the selected function's convention (``#@ outputs``).

The compiled library is frozen unless ``trainable_library``.
"""

from __future__ import annotations

import json
import math
import pickle
from dataclasses import asdict, dataclass, field
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .config import MachineConfig
from .datacheck import head_problem
from . import noise
from .errors import InputError
from .layers import LogReadout
from .library import Library, load_specs
from .machine import Machine

ARG_REGISTERS = (1, 2, 3)  # the library ABI's argument registers
PARSINGS = ("slots", "pooled")
CELL_VALUES = ("context", "embedding", "token")  # where the slot parser reads a copied token's value
LIST_LENGTHS = ("gate", "span", "abi")  # where r1 comes from when it is a list's length
REGISTER_VALUES = ("context", "copy")  # what an argument register reads from the token it points at
RANKS_FROM_END = ("none", "characters", "all")  # which copy readings also rank from the question's end
OFFSETS_FROM = ("context", "embedding")  # a copied number's offset: from the word before's hidden state or embedding
OFFSET_PRIOR = 3.0  # initial logit of offset 0 over the others: a copy starts ~exact (register_offsets)
RANKS = 8  # a copying register tells apart the first RANKS - 1 numbers (characters) of a question
IGNORE = -100  # target of an unsupervised answer position
# Named parses, as the AugmentConfig fields each sets. "pooled" (the paper's) and "slots"
# are one soft parse; "spans" copies a quoted string's characters into exact cells, gives
# its length as r1 to the functions that take a list (the others get the r1 pointer), and
# runs the machine on K discrete spans, mixed by their probabilities (docs/RESULTS.md).
# "copies" is "spans" whose argument registers may also copy a number or a character
# from the question (register_values="copy"); "offsets" is "copies" whose copied numbers
# may also be shifted by a learned offset in -2..2 ("term number 6" -> depth 4).
_SOFT = {"cell_values": "context", "list_length": "gate", "span_candidates": 0, "register_values": "context",
         "register_offsets": 0, "ranks_from_end": "none"}
_SPANS = {"parsing": "slots", "cell_values": "token", "list_length": "abi", "span_candidates": 4,
          "register_offsets": 0, "ranks_from_end": "none"}
_COPIES = {**_SPANS, "register_values": "copy"}
PARSES = {
    "slots": {"parsing": "slots", **_SOFT},
    "pooled": {"parsing": "pooled", **_SOFT},
    "spans": {**_SPANS, "register_values": "context"},
    "copies": _COPIES,
    "offsets": {**_COPIES, "register_offsets": 2},
}


@dataclass
class BackboneConfig:
    """A LLaMA built from scratch (defaults: the paper's §4.2 sizes), or ``model_path``,
    a local Hugging Face checkpoint directory."""

    model_path: str | None = None
    vocab_size: int = 128
    dim: int = 128
    heads: int = 4
    kv_heads: int = 2
    layers: int = 4
    intermediate: int | None = None  # default 2 * dim
    max_positions: int = 512
    # Token embeddings of a model built from scratch start at N(0, embedding_std^2).
    # Hugging Face's default (0.02) leaves the residual stream dominated by what all
    # tokens share (the number tokens' z have cosine 0.8 at init), so no head can tell
    # the numbers apart and answer-only training never starts.
    embedding_std: float = 1.0

    def __post_init__(self) -> None:
        """A shape LLaMA can build, checked here so a bad one is one line naming its
        flags, not an error from inside the model. A checkpoint's own shape is its own."""
        if not (isinstance(self.embedding_std, (int, float)) and math.isfinite(self.embedding_std)
                and self.embedding_std >= 0):
            raise InputError(f"--embedding-std {self.embedding_std}: expected a finite number >= 0")
        if self.model_path is not None:
            return
        sizes = {"--dim": self.dim, "--heads": self.heads, "--kv-heads": self.kv_heads, "--layers": self.layers,
                 "vocab_size": self.vocab_size, "max_positions": self.max_positions,
                 "intermediate": 1 if self.intermediate is None else self.intermediate}
        for flag, v in sizes.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"{flag} {v}: expected a positive integer")
        if self.layers < 2:
            raise InputError(f"--layers {self.layers}: expected at least 2 (the last layer is dropped)")
        if self.dim % self.heads:
            raise InputError(f"--heads {self.heads} --dim {self.dim}: the width must be a multiple of the "
                             f"number of heads (e.g. --heads {_divisor(self.dim, self.heads)})")
        if self.heads % self.kv_heads:
            raise InputError(f"--kv-heads {self.kv_heads} --heads {self.heads}: the heads must be a multiple "
                             f"of the key-value heads (e.g. --kv-heads {_divisor(self.heads, self.kv_heads)})")
        if (self.dim // self.heads) % 2:
            raise InputError(f"--heads {self.heads} --dim {self.dim}: each head is {self.dim // self.heads} "
                             f"wide, but rotary positions need an even head width (e.g. --dim "
                             f"{2 * self.heads * -(-self.dim // (2 * self.heads))})")


def _divisor(n: int, near: int) -> int:
    """The divisor of ``n`` closest to ``near`` (a suggestion for an error message)."""
    return min((d for d in range(1, n + 1) if n % d == 0), key=lambda d: (abs(d - near), d))


@dataclass
class AugmentConfig:
    # values are 0..base-1; None: not chosen yet (train derives it from the data, runconfig.fit_base)
    base: int | None = 128
    cells: int = 16  # memory cells parsed from the question and read for string answers
    functions: tuple[str, ...] = ("add", "sub", "mul", "div")
    parsing: str = "slots"
    # "context": a cell's value comes from the token's hidden state, which also sees the
    # rest of the question, so the parse itself can do a list program's work (a bypass,
    # docs/RESULTS.md); "embedding": from the token's own input embedding, so it cannot;
    # "token": the token itself, i.e. its characters' codes (tokenizer.token_chars), as a
    # pointer network copies: exact, nothing to learn, and no bypass; with span
    # candidates a multi-character token fills one cell per character
    cell_values: str = "context"
    # r1 as a list's length: "gate" mixes a register pointer and the quoted span's length
    # through a learned gate; "span" always takes the span's length (list tasks only);
    # "abi" gives the span's length to the functions whose list is M[0..r1-1] (their
    # ``#@ memory`` header says so) and the register pointer to the others
    list_length: str = "gate"
    # 0: one soft parse, the quoted span in superposition. K > 0 (slots only): K
    # discrete spans (start, end anchor pairs: the most probable at evaluation, sampled
    # without replacement in training), each loading exact cells and an exact length;
    # the machine runs once per span and the final states are mixed by the spans'
    # renormalised probabilities. A span in superposition contaminates a list program's
    # comparisons and swaps (docs/RESULTS.md); a mixture of exact runs does not, and its
    # gradient favours the spans that answer best.
    span_candidates: int = 0
    # "context": an argument register reads the value of the token it points at from the
    # token's hidden state (a classifier over 0..base-1); "copy" (slots only): also the
    # number the token spells, or its character's code, exactly, mixed with the context
    # reading by a learned, question-dependent weight. A copy starts the parse off the
    # symmetric saddle where a uniform register carries no gradient (docs/RESULTS.md)
    register_values: str = "context"
    # D > 0 (with register_values="copy"): a copied number may be shifted by a learned
    # offset in -D..D (mod base) before it loads, so that "what is term number 6?" can
    # load the depth 4. The offset is read from the word before the number (" number",
    # " depth"), so it does not depend on which number it is, and holds for numbers
    # training never showed. It starts as the copy itself (offset 0)
    register_offsets: int = 0
    # Where the offset is read from: the word before's hidden state ("context"), or its
    # own input embedding ("embedding"): which word it is and nothing else, so that " x"
    # in "what is x5?" (-1) and " number" in "What is term number 6?" (-2), whose
    # contexts end alike, cannot share an offset through them (docs/RESULTS.md, `mixed`:
    # measured, it did not mend fib's "If x0 ..." phrasing)
    offsets_from: str = "context"
    # With register_values="copy", the score for "the i-th number (character) of the
    # question" also counts from its end: "If x0 = 5, x1 = 7 ..., what is x4?" has its
    # depth as the last number and x1 as the one before it, wherever the subscripts put
    # them from the start, and "In the string "abca", how often does the letter "c"
    # occur?" has its letter as the third character from the end, however many the string
    # holds. "none"; "characters": the character reading only; "all": numbers too (a bool
    # reads as "all" or "none"). Without copies there are no ranks, and it is ignored
    ranks_from_end: str = "none"
    # False: one set of argument-register pointers (r1..r3) that every library function
    # reads; True: a set per function, so that two functions that read different
    # numbers into the same register (add's r1 is an operand, fib's a seed) do not
    # compete for one pointer
    per_function_registers: bool = False
    # False: one span (start and end anchors) that every function reads its list from;
    # True (slots only): a span per function that touches memory, so that count's
    # string (the second quoted one in "How many "a" in "abca"?") and sort's (the only
    # one) do not compete for one pair of anchors. A function without memory sees the
    # first span's cells
    per_function_spans: bool = False
    # True (slots only): each span's anchors score the tokens through a key projection of
    # their own, so that what makes a token look like sort's end quote does not make it
    # look like count's
    span_keys: bool = False
    # In training only, the selection is mixed with the uniform distribution by this
    # weight: every function keeps at least selection_floor / F of every question, so
    # one whose parse is still unlearned gets gradient from the questions it should
    # answer, instead of losing them for good to a function that found a shortcut
    # (docs/RESULTS.md, `mixed`). Evaluation uses the learned selection. 0: the paper's.
    selection_floor: float = 0.0
    # In training only, add this weight times the mean over functions of each function's
    # own answer loss (its r0 or memory read as if it alone were selected). The paper's
    # loss, -log sum_f w_f p_f(answer), gives function f's parse a gradient weighted by
    # its posterior, which vanishes once another function answers a question type better
    # by a shortcut (div answers "how many" questions with 34 / 34 = 1). This term, a
    # mean of logs beside the log of the mean, lets every function keep learning to
    # answer every question; the selection is still learned from the paper's loss alone
    # (docs/RESULTS.md, `mixed`). The logged training loss includes it. 0: the paper's loss.
    function_loss: float = 0.0
    trainable_library: bool = False
    alu: str = "table"
    # per forward pass; runs still going are read where they stand. None: not chosen yet
    # (train measures the library's step bound at the run's base and cells, library.bounds)
    max_steps: int | None = 2000
    backbone: BackboneConfig = field(default_factory=BackboneConfig)

    def __post_init__(self) -> None:
        if isinstance(self.backbone, dict):
            self.backbone = BackboneConfig(**self.backbone)
        self.functions = tuple(self.functions)
        if self.parsing not in PARSINGS:
            raise InputError(f"parsing: expected one of {', '.join(PARSINGS)}, got {self.parsing!r}")
        if isinstance(self.ranks_from_end, bool):  # configs saved before "characters" existed
            self.ranks_from_end = "all" if self.ranks_from_end else "none"
        if self.ranks_from_end not in RANKS_FROM_END:
            raise InputError(f"ranks_from_end: expected one of {', '.join(RANKS_FROM_END)}, "
                             f"got {self.ranks_from_end!r}")
        if self.list_length not in LIST_LENGTHS:
            raise InputError(f"list_length: expected one of {', '.join(LIST_LENGTHS)}, got {self.list_length!r}")
        if self.cell_values not in CELL_VALUES:
            raise InputError(f"cell_values: expected one of {', '.join(CELL_VALUES)}, got {self.cell_values!r}")
        if self.register_values not in REGISTER_VALUES or (self.register_values == "copy"
                                                          and self.parsing != "slots"):
            raise InputError(f"register_values: expected one of {', '.join(REGISTER_VALUES)} (copy with slots "
                             f"parsing), got {self.register_values!r} with {self.parsing}")
        if self.offsets_from not in OFFSETS_FROM:
            raise InputError(f"offsets_from: expected one of {', '.join(OFFSETS_FROM)}, got {self.offsets_from!r}")
        if self.offsets_from != "context" and not self.register_offsets:
            raise InputError(f"offsets_from: {self.offsets_from!r} needs register offsets (the offsets parse, "
                             f"or register_offsets > 0)")
        if self.base is not None and (not isinstance(self.base, int) or isinstance(self.base, bool) or self.base < 2):
            raise InputError(f"base: expected an integer >= 2, got {self.base!r}")
        base = self.base or 1 << 62  # checks against the base wait for it to be chosen
        if self.register_offsets < 0 or (self.register_offsets and self.register_values != "copy") \
                or 2 * self.register_offsets >= base:
            raise InputError(f"register_offsets: expected 0, or 0 < D < base / 2 with register_values copy, "
                             f"got {self.register_offsets} with {self.register_values}")
        for name in ("per_function_spans", "span_keys"):
            if getattr(self, name) and self.parsing != "slots":
                raise InputError(f"{name}: needs slots parsing (the pooled parse has no spans)")
        if self.span_candidates < 0 or (self.span_candidates and self.parsing != "slots"):
            raise InputError(f"span_candidates: expected 0, or K > 0 with slots parsing, "
                             f"got {self.span_candidates} with {self.parsing}")
        if not self.function_loss >= 0.0:
            raise InputError(f"function_loss: expected a weight >= 0, got {self.function_loss}")
        if not 0.0 <= self.selection_floor < 1.0:
            raise InputError(f"selection_floor: expected 0 <= floor < 1, got {self.selection_floor}")
        if self.max_steps is not None and (isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int)
                                           or self.max_steps < 1):
            raise InputError(f"max_steps: expected an integer >= 1, got {self.max_steps!r}")
        if not 1 <= self.cells <= base:
            raise InputError(f"cells: expected 1..{self.base}, got {self.cells}")

    def to_dict(self) -> dict:
        return asdict(self)

    def widened(self, base: int, alu: str | None = None) -> "AugmentConfig":
        """This config at a wider ``base`` (checked: not below ours), with ``alu`` if given."""
        if not isinstance(base, int) or isinstance(base, bool) or base < self.base:
            raise InputError(f"base {base!r}: a model trained at base {self.base} can only be widened "
                             f"to a base >= {self.base}")
        return AugmentConfig(**{**self.to_dict(), "base": base, "alu": alu or self.alu, "backbone": self.backbone})


def llama_config(cfg: BackboneConfig):
    """The ``LlamaConfig`` of a model built from scratch with these sizes."""
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=cfg.vocab_size, hidden_size=cfg.dim, num_attention_heads=cfg.heads,
                       num_key_value_heads=cfg.kv_heads, num_hidden_layers=cfg.layers,
                       intermediate_size=cfg.intermediate or 2 * cfg.dim, max_position_embeddings=cfg.max_positions)


# What loading a damaged checkpoint raises: a truncated or garbage pytorch_model.bin
# (EOFError, RuntimeError from the zip reader, OSError, UnpicklingError; TypeError for a
# pickle that is not a state dict), a bad model.safetensors (SafetensorError, an
# Exception), shapes that are not the config's (RuntimeError), a bad config (ValueError,
# ZeroDivisionError for 0 heads).
_LOAD_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, EOFError, RuntimeError, TypeError,
                                                 KeyError, ZeroDivisionError, pickle.UnpicklingError)


def load_pretrained(auto, path: str) -> nn.Module:
    """``auto.from_pretrained(path)``, local files only and no remote code; a checkpoint
    that does not load, or that lacks some of the model's weights (they would be
    initialised at random, silently), is an :class:`InputError`."""
    from safetensors import SafetensorError
    from transformers.utils import logging as hf_logging

    verbosity, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # its progress bar and load report would be more lines;
    hf_logging.disable_progress_bar()  # what matters in them is checked below
    try:
        model, info = auto.from_pretrained(path, trust_remote_code=False, local_files_only=True,
                                           output_loading_info=True)
    except (*_LOAD_ERRORS, SafetensorError) as exc:
        reason = type(exc).__name__ + "".join(f": {line.split('. ')[0].rstrip('.')[:200]}"
                                              for line in str(exc).strip().splitlines()[:1])
        raise InputError(f"--model {path}: not a loadable local checkpoint ({reason}; "
                         f"give a directory saved by save_pretrained, with its config and weights)") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()
    missing = sorted(info.get("missing_keys") or ())
    if missing:
        raise InputError(f"--model {path}: the checkpoint lacks {len(missing)} of the model's weights "
                         f"(e.g. {missing[0]}); give a complete checkpoint of this architecture")
    return model


def build_backbone(cfg: BackboneConfig) -> nn.Module:
    """A ``LlamaModel``: loaded from ``cfg.model_path`` (local files only, no remote
    code), or built from the config. Its last layer is dropped (see module doc)."""
    from transformers import AutoModel, LlamaModel

    if cfg.model_path is not None:
        model = load_pretrained(AutoModel, cfg.model_path)
    else:
        model = LlamaModel(llama_config(cfg))
        nn.init.normal_(model.embed_tokens.weight, std=cfg.embedding_std)
    if not hasattr(model, "layers") or len(model.layers) < 2:
        raise InputError("the backbone must be a decoder (e.g. LLaMA) with at least 2 layers")
    model.layers = model.layers[:-1]
    model.config.num_hidden_layers = len(model.layers)
    return model


def pool(z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the hidden states over the real (unpadded) tokens: (B, T, d) -> (B, d)."""
    m = mask.to(z.dtype)[..., None]
    return (z * m).sum(1) / m.sum(1).clamp_min(1)


class PooledParser(nn.Module):
    """The paper's parse: one linear map from the pooled z to every slot's logits."""

    def __init__(self, dim: int, registers: int, cells: int, n: int) -> None:
        super().__init__()
        self.slots, self.cells, self.n = registers + cells, cells, n
        self.proj = nn.Linear(dim, self.slots * n)

    def forward(self, z: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor,
                own: torch.Tensor | None = None, copies: torch.Tensor | None = None,
                words: torch.Tensor | None = None):
        slots = self.proj(pooled).view(-1, self.slots, self.n).softmax(-1)
        return Slots(list(slots[:, :-self.cells].unbind(1)), [Span(slots[:, -self.cells:])])


class SlotParser(nn.Module):
    """Pointers into the question.

    * **Registers**: each attends over the tokens (and the pooled z, for values no
      single token holds) and mixes their value distributions. With
      ``register_values="copy"`` the same pointer also reads, exactly, the number a
      token spells (over the number tokens) and a token's character (over the
      one-character tokens); a learned weight per register mixes the three readings.
    * **Memory**: a list argument is a span of tokens. A learned *start* anchor (e.g.
      an opening quote) is found by attention, and cell i copies the value of the token
      i + 1 places after it (0 past the end of the question): its value in context,
      its own embedding's, or the token itself (``cell_values``).
    * **Length**: the span's length (distance from the start to a learned *end* anchor,
      minus one), which r1 takes when it is a list's length (``list_length``).
    * ``spans`` > 1 gives as many (start, end) anchor pairs, each its own span (one
      per library function with memory, ``per_function_spans``).
    * With ``candidates`` K > 0 the span is discrete: K (start, end) pairs, each
      loading exact cells (the tokens strictly between the anchors, then 0) and an
      exact length, returned with their renormalised probabilities. With
      ``cell_values="token"`` the cells hold the span's *characters*, each token
      contributing as many as it has, and the length counts characters: a BPE piece
      such as "dlif" fills four cells.
    """

    def __init__(self, dim: int, registers: int, cells: int, n: int, cell_values: str = "context",
                 list_length: str = "gate", candidates: int = 0, register_values: str = "context",
                 offsets: int = 0, spans: int = 1, from_end: str = "none", span_keys: bool = False,
                 offsets_from: str = "context") -> None:
        super().__init__()
        self.registers, self.cells, self.n, self.spans = registers, cells, n, spans
        self.cell_values, self.list_length, self.candidates = cell_values, list_length, candidates
        # per register: logits of reading its token in context, as a number, as a character;
        # and, per register and copy reading, a question-dependent score for "the i-th
        # number (character) of the question", so that "with 5 and 9" can tell its two
        # numbers apart even where their hidden states look alike
        self.reading = nn.Linear(dim, registers * 3) if register_values == "copy" else None
        self.rank = nn.Linear(dim, registers * 2 * RANKS) if register_values == "copy" else None
        # the same score for "the i-th from the end", for the readings ``from_end`` names
        # (0: numbers, 1: characters)
        self.from_end = {"none": (), "characters": (1,), "all": (0, 1)}[from_end] if register_values == "copy" else ()
        self.back = nn.Linear(dim, registers * len(self.from_end) * RANKS) if self.from_end else None
        for head in (self.rank, self.back):
            if head is not None:
                nn.init.zeros_(head.weight)
                nn.init.zeros_(head.bias)
        # per number token and register: logits of shifting its number by -D..D, starting near 0
        self.offsets, self.offsets_from = offsets, offsets_from
        self.offset = nn.Linear(dim, registers * (2 * offsets + 1)) if offsets else None
        if self.offset is not None:
            nn.init.zeros_(self.offset.weight)
            with torch.no_grad():
                self.offset.bias.view(registers, -1).copy_(OFFSET_PRIOR * F.one_hot(
                    torch.full((registers,), offsets), 2 * offsets + 1))
        self.queries = nn.Parameter(0.02 * torch.randn(registers + 2 * spans, dim))  # registers, (start, end)s
        self.query = nn.Linear(dim, dim)  # lets the question steer every slot
        self.key = nn.Linear(dim, dim, bias=False)  # a key bias would be invisible to the softmax
        # span_keys: each span's anchors score the tokens with a key projection of their own
        self.span_key = nn.Linear(dim, dim * spans, bias=False) if span_keys else None
        self.value = nn.Linear(dim, n)  # a token's value in context
        self.length_gate = nn.Linear(dim, spans)
        self.scale = dim ** -0.5
        # Start every pointer near uniform over the tokens. With default inits the
        # scores are O(1) and random per question, and answer-only training stalls.
        nn.init.zeros_(self.query.weight)
        nn.init.zeros_(self.query.bias)
        nn.init.normal_(self.key.weight, std=0.02)
        if self.span_key is not None:
            nn.init.normal_(self.span_key.weight, std=0.02)
        # a cell's value from a token's own embedding (cell_values="embedding")
        self.copy = nn.Linear(dim, n) if cell_values == "embedding" else None

    def forward(self, z: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor,
                own: torch.Tensor | None = None, copies: torch.Tensor | None = None,
                words: torch.Tensor | None = None):
        """``z`` (B, T, d) places the pointers and gives the registers' values. Cells
        copy a token's value in context, or its own: ``own`` is the tokens' input
        embeddings (B, T, d) for ``cell_values="embedding"``, their characters' codes
        (B, T, W) long, 0-padded, for ``"token"``. ``copies`` (B, T, 2) long, for
        ``register_values="copy"``: the number each token spells and its character's
        code, -1 where it has none; a number not below the base is not read. ``words``
        (B, T, d): the tokens' input embeddings, for ``offsets_from="embedding"``. Returns
        :class:`Slots`; with span candidates B' = B K, candidate-minor, else B' = B."""
        B, T, _ = z.shape
        R, n = self.registers, self.n
        tokens = torch.cat([pooled[:, None], z], 1)  # (B, 1 + T, d): the pooled z is a token too
        valid = torch.cat([mask.new_ones(B, 1), mask], 1).bool()
        q = self.queries[None] + self.query(pooled)[:, None]  # (B, R + 2, d)
        scores = torch.einsum("bsd,btd->bst", q, self.key(tokens)) * self.scale
        p_tok = self.value(tokens).softmax(-1)  # (B, 1 + T, n): each token's value in context
        if self.cell_values == "context":
            p_own = p_tok[:, 1:]
        elif self.cell_values == "embedding":  # rms-normed: a checkpoint's embeddings are small
            p_own = self.copy(F.rms_norm(own, own.shape[-1:])).softmax(-1)
        else:  # without candidates a cell holds one token: its character, if it has one
            single = (own[..., 1:] == 0).all(-1) if own.shape[-1] > 1 else torch.ones_like(own[..., 0], dtype=torch.bool)
            p_own = F.one_hot(torch.where(single, own[..., 0], 0), n).to(z)
        attn = scores[:, :R].masked_fill(~valid[:, None], float("-inf")).softmax(-1)
        registers = torch.einsum("bst,btn->bsn", attn, p_tok)  # (B, R, n)
        if self.reading is not None:
            named = z if self.offsets_from == "context" else F.rms_norm(words, words.shape[-1:])
            registers = self._copy(registers, scores[:, :R, 1:], mask, copies, pooled, named)
        anchors = scores[:, R:, 1:]
        if self.span_key is not None:  # (B, 2 spans, T): span j's start and end queries on its own keys
            keys = self.span_key(z).view(B, T, self.spans, -1)
            anchors = torch.einsum("bjkd,btjd->bjkt", q[:, R:].view(B, self.spans, 2, -1), keys).flatten(1, 2) \
                * self.scale
        anchors = anchors.masked_fill(~mask.bool()[:, None], float("-inf")).softmax(-1)
        gates = torch.sigmoid(self.length_gate(pooled)) if self.list_length == "gate" else None  # (B, spans)
        spans = []
        for j in range(self.spans):  # each span's start and end anchors, (B, T) each, over the real tokens
            start, end = anchors[:, 2 * j], anchors[:, 2 * j + 1]
            gate = None if gates is None else gates[:, j:j + 1]
            if self.candidates:
                spans.append(self._discrete(start, end, own if self.cell_values == "token" else p_own, gate))
            else:
                spans.append(self._soft(start, end, p_own, mask, gate))
        K = spans[0].weights.shape[1] if self.candidates else 1
        return Slots([r.repeat_interleave(K, 0) for r in registers.unbind(1)], spans)

    def _soft(self, start, end, p_own, mask, gate) -> "Span":
        """One span in superposition: cell i is the token i + 1 places after the start
        anchor, mixed over P(start); the length is P(end - start - 1 | end after start)."""
        B, T = start.shape
        n = self.n
        real = mask.to(p_own.dtype)
        shifted = torch.stack([F.pad(start, (i + 1, 0))[:, :T] for i in range(self.cells)], 1) * real[:, None]
        cells = torch.einsum("bct,btn->bcn", shifted, p_own)
        cells = cells + _zero(n, cells) * (1 - shifted.sum(-1, keepdim=True))  # past the question: 0

        outer = start[:, :, None] * end[:, None, :]  # P(start = s, end = e)
        K = min(T - 1, n)
        span = torch.stack([outer.diagonal(k + 1, 1, 2).sum(-1) for k in range(K)], -1) if K > 0 \
            else start.new_zeros(B, 0)
        # P(length = k | the end anchor lies after the start one)
        length = F.pad(span / span.sum(-1, keepdim=True).clamp_min(1e-12), (0, n - K))
        return Span(cells, None, length, gate)

    def _copy(self, context, scores, mask, copies, pooled, z=None):
        """Mix each register's reading in ``context`` (B, R, n) with its exact copies:
        the same pointer ``scores`` (B, R, T), plus a score for each token's rank among
        them, restricted to the tokens that spell a number, or that are one character
        (``copies``); a register with no such token in its question reads 0 there. With
        ``offsets``, the word before a number (a lone space skipped, :func:`_word_before`)
        gives, per register, how far to shift that number: its hidden state or its input
        embedding (``z``, (B, T, d), ``offsets_from``)."""
        B, R, T = scores.shape
        readings = [context]
        by_rank = self.rank(pooled).view(B, R, 2, RANKS)
        by_back = None if self.back is None else self.back(pooled).view(B, R, len(self.from_end), RANKS)
        for k, value in enumerate(copies.unbind(-1)):  # (B, T) each
            ok = (value >= 0) & (value < self.n) & mask.bool()
            rank = (ok.cumsum(-1) - 1).clamp(0, RANKS - 1)  # each token's place among those that are ok
            ranked = scores + by_rank[:, :, k].gather(-1, rank[:, None].expand(B, R, T))
            if k in self.from_end:  # ... and counted from the end
                back = (ok.flip(-1).cumsum(-1).flip(-1) - 1).clamp(0, RANKS - 1)
                ranked = ranked + by_back[:, :, self.from_end.index(k)].gather(-1, back[:, None].expand(B, R, T))
            attn = ranked.masked_fill(~ok[:, None], -1e9).softmax(-1)  # finite: no NaN when none is ok
            hot = F.one_hot(torch.where(ok, value, 0), self.n).to(context)  # (B, T, n)
            if k == 0 and self.offset is not None:  # each number plus its own learned offset, mod n
                # (B, T, R, 2D + 1), from the hidden state of the word before the number (" number 6",
                # " x5", " depth 4"): how the question names it, not which number it is
                shift = self.offset(_word_before(z, copies[..., 1])).view(B, T, R, -1).softmax(-1)
                read = sum(torch.einsum("bst,bts,btn->bsn", attn, shift[..., j], hot.roll(j - self.offsets, -1))
                           for j in range(shift.shape[-1]))
            else:
                read = torch.einsum("bst,btn->bsn", attn, hot)
            readings.append(torch.where(ok.any(-1)[:, None, None], read, _zero(self.n, read)))
        mix = self.reading(pooled).view(-1, self.registers, 3).softmax(-1)  # (B, R, 3)
        return torch.einsum("brk,kbrn->brn", mix, torch.stack(readings))

    def _discrete(self, start, end, own, gate) -> "Span":
        """K (start, end) pairs with start < end and at most ``cells`` tokens between,
        drawn from P(start) P(end) without replacement (Gumbel top-k) in training, the
        K most probable at evaluation. ``own``: the tokens' value distributions (B, T, n),
        or their characters' codes (B, T, W) for ``cell_values="token"``."""
        B, T = start.shape
        n, C = self.n, self.cells
        t = torch.arange(T, device=start.device)
        between = t[None, :] - t[:, None] - 1  # (T, T): tokens strictly between s and e
        ok = (between >= 0) & (between <= min(C, n - 1))
        joint = (start[:, :, None] * end[:, None, :] * ok).flatten(1)  # (B, T T)
        logp = joint.detach().clamp_min(1e-30).log().masked_fill(~ok.flatten(), float("-inf"))
        if self.training:
            logp = logp - noise.exponential_like(logp).log()  # + Gumbel noise, per question
        K = min(self.candidates, int(ok.sum()))
        pick = logp.topk(K, -1).indices  # (B, K), most probable first
        p = joint.gather(1, pick)
        weights = p / p.sum(-1, keepdim=True).clamp_min(1e-30)
        s, e = pick // T, pick % T
        pos = s[..., None] + 1 + torch.arange(C, device=start.device)  # (B, K, C): the span's tokens
        inside = pos < e[..., None]
        rows = torch.arange(B, device=start.device)[:, None, None]
        if self.cell_values == "token":  # each token's characters, one after another
            cells, count = _characters(own[rows, pos.clamp(max=T - 1)] * inside[..., None], C)
            cells = F.one_hot(cells, n).to(weights)
            length = F.one_hot(count.clamp(max=C), n).to(cells).flatten(0, 1)  # (B K, n), exact
        else:
            cells = own[rows, pos.clamp(max=T - 1)]
            cells = torch.where(inside[..., None], cells, _zero(n, cells))  # (B, K, C, n)
            length = F.one_hot(e - s - 1, n).to(cells).flatten(0, 1)  # (B K, n), exact
        return Span(cells.flatten(0, 1), weights, length, None if gate is None else gate.repeat_interleave(K, 0))


BLANKS = (9, 10, 13, 32)  # the codes of the whitespace characters a tokenizer may keep as tokens


def _word_before(z: torch.Tensor, chars: torch.Tensor) -> torch.Tensor:
    """(B, T, d): at each position, the hidden state of the nearest earlier token that is
    not a lone whitespace character (``chars`` (B, T): each token's one character's code,
    -1 if it has none, so a space is seen at bases above 32), zeros where there is none.
    A tokenizer that keeps numbers apart (LLaMA 3's, ``bpe-numbers``) reads " depth 4"
    as " depth", " ", "4": the word before the 4 is " depth", not the space."""
    B, T, _ = z.shape
    t = torch.arange(T, device=z.device).expand(B, T)
    word = sum(chars == c for c in BLANKS) == 0  # (B, T): a token that is not a lone blank
    last = torch.where(word, t, -1).cummax(-1).values  # the last word at or before each position
    before = F.pad(last, (1, 0), value=-1)[:, :-1]  # ... strictly before it
    out = z.gather(1, before.clamp_min(0)[..., None].expand_as(z))
    return out * (before >= 0)[..., None].to(z)


def _characters(codes: torch.Tensor, C: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate tokens' characters: ``codes`` (..., tokens, W), each row 0-padded,
    -> the first C characters (..., C), 0 after the last, and their count (...)."""
    lens = (codes != 0).sum(-1)  # (..., tokens)
    start = lens.cumsum(-1) - lens  # where each token's first character lands
    W = codes.shape[-1]
    where = start[..., None] + torch.arange(W, device=codes.device)  # (..., tokens, W)
    keep = (torch.arange(W, device=codes.device) < lens[..., None]) & (where < C)
    out = codes.new_zeros(*codes.shape[:-2], C + 1)  # a last column takes what is dropped
    out.scatter_(-1, torch.where(keep, where, C).flatten(-2), codes.flatten(-2) * keep.flatten(-2))
    return out[..., :C], lens.sum(-1)


def _fill(buffer: torch.Tensor, table: torch.Tensor, empty: int) -> None:
    """Copy a per-token ``table`` into a (vocab, ...) ``buffer`` in place; rows it lacks
    (a vocabulary padded past the tokenizer's) hold ``empty``."""
    k = min(len(buffer), len(table))
    buffer.fill_(empty)
    buffer[:k] = table[:k].to(buffer)


UNSEEN = -1e4  # the logit a widened head gives the values its model never saw (probability 0)


def widen_values(t: torch.Tensor, old: int, new: int, fill: float) -> torch.Tensor:
    """Pad a weight or bias whose first dimension is k blocks of ``old`` values (a value
    head, or one head per slot) to k blocks of ``new``; the new values' rows hold ``fill``."""
    k = t.shape[0] // old
    blocks = t.reshape(k, old, *t.shape[1:])
    pad = blocks.new_full((k, new - old, *t.shape[1:]), fill)
    return torch.cat([blocks, pad], 1).reshape(k * new, *t.shape[1:])


def widen_state(model: nn.Module, wider: nn.Module, heads: Sequence[str], old: int, new: int,
                own: str | None = None) -> None:
    """Load ``model``'s weights into ``wider``, the same architecture at base ``new``:
    each Linear named in ``heads`` maps to values, so its rows are padded (weights 0,
    bias :data:`UNSEEN`); the tensors under the prefix ``own`` are ``wider``'s already;
    every other tensor must keep its shape."""
    state = model.state_dict()
    if own is not None:
        state.update({k: v for k, v in wider.state_dict().items() if k.startswith(own)})
    for name in heads:
        state[f"{name}.weight"] = widen_values(state[f"{name}.weight"], old, new, 0.0)
        state[f"{name}.bias"] = widen_values(state[f"{name}.bias"], old, new, UNSEEN)
    wider.load_state_dict(state)


def _full_precision(like: torch.Tensor):
    """A context in which autocast is off on ``like``'s device: ``train --bf16`` autocasts
    the backbone, and the machine's distributions, run through hundreds of steps, would
    lose their exactness in bf16."""
    return torch.autocast(like.device.type, enabled=False)


def _zero(n: int, like: torch.Tensor) -> torch.Tensor:
    """The value 0, one-hot over n values."""
    return F.one_hot(torch.zeros((), dtype=torch.long, device=like.device), n).to(like)


@dataclass
class Span:
    """A list argument as the parser read it, per parse (B' = B, or B K with span
    candidates): the cells (B', cells, n), the candidates' weights (B, K), the span's
    length (B', n) and the length gate (B', 1), where the parser has them (see
    :meth:`AugmentedLM.r1`)."""

    cells: torch.Tensor
    weights: torch.Tensor | None = None
    length: torch.Tensor | None = None
    gate: torch.Tensor | None = None


class _FirstSpan:
    """``cells``/``memory``, ``weights``, ``length`` and ``gate``: the first span's."""

    spans: list[Span]

    @property
    def weights(self) -> torch.Tensor | None:
        return self.spans[0].weights

    @property
    def length(self) -> torch.Tensor | None:
        return self.spans[0].length

    @property
    def gate(self) -> torch.Tensor | None:
        return self.spans[0].gate


@dataclass
class Slots(_FirstSpan):
    """A parser's output: the argument registers' pointers r1..r3 (each (B', n), kept
    apart so that a constant one stays free of the others' gradient; B' as in
    :class:`Span`) and one :class:`Span` per span the parser reads (one, or one per
    function with ``per_function_spans``)."""

    pointers: list[torch.Tensor]
    spans: list[Span]

    @property
    def cells(self) -> torch.Tensor:
        return self.spans[0].cells


@dataclass
class Parse(_FirstSpan):
    """What the heads chose, as distributions: the selection (B, F), the argument
    registers' pointers r1..r3 (B', 3, n) and the spans (:class:`Span`; ``memory`` is
    the first one's cells). With span candidates B' = B K (candidate-minor, most
    probable first at evaluation) and a span's ``weights`` (B, K) holds their
    probabilities; otherwise B' = B. ``arguments``, when set, are the pointers one by
    one."""

    selection: torch.Tensor
    registers: torch.Tensor
    spans: list[Span]
    arguments: list[torch.Tensor] | None = None

    @property
    def memory(self) -> torch.Tensor:
        return self.spans[0].cells


@dataclass
class AugmentedOutput:
    parse: Parse
    int_logits: torch.Tensor  # (B, n): answer logits from the mixed r0
    str_logits: torch.Tensor  # (B, cells, n): answer logits from the mixed cells
    p_halted: torch.Tensor  # (B,) selection-weighted halting probability
    steps: torch.Tensor  # (B, F)
    own: tuple[torch.Tensor, torch.Tensor] | None = None  # per function: (B, F, n), (B, F, cells, n)


@dataclass
class Batch:
    """Questions as tokens and their answers as targets (what ``loss`` compares with)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    targets: torch.Tensor
    examples: Sequence

    def to(self, device: torch.device) -> "Batch":
        return Batch(self.input_ids.to(device), self.attention_mask.to(device), self.targets.to(device),
                     self.examples)


@dataclass
class Prediction:
    """Answers to a list of questions, each with the model's confidence in it and the
    library function it selected ("" for a model without a library)."""

    answers: list
    confidence: list[float]
    chosen: list[str]


class Answerer(nn.Module):
    """What training, evaluation and ``ask`` need from a model, so that they treat the
    augmented model and the baselines alike. A subclass has ``config``
    (:class:`AugmentConfig`), ``backbone``, ``forward(input_ids, attention_mask)`` and
    ``loss(out, targets)``; these defaults fit models that answer through heads
    (``int_logits``, ``str_logits``, ``answer_is_int``)."""

    def make_batch(self, tokenizer, examples: Sequence) -> Batch:
        from .tokenizer import encode

        ids, mask = encode(tokenizer, [e.question for e in examples])
        targets = answer_targets([e.answer for e in examples], self.config.base, self.config.cells,
                                 [getattr(e, "source", "") for e in examples])
        return Batch(ids, mask, targets, examples)

    def answer_problem(self, answer: object, tokenizer=None) -> str | None:
        """Why this model can never give ``answer`` (so it counts as wrong), or None.
        These defaults fit answer heads over values 0..base-1 and ``cells`` string
        positions; ``tokenizer`` matters only to a model that writes text."""
        return head_problem(answer, self.config.base, self.config.cells)

    def chosen(self, out) -> list[str]:
        """The library function each answer came from; a model without one selects nothing."""
        return [""] * len(out.int_logits)

    @torch.no_grad()
    def predict(self, tokenizer, questions: list[str]) -> Prediction:
        from .tokenizer import encode

        ids, mask = encode(tokenizer, questions)
        device = next(self.parameters()).device
        out = self(ids.to(device), mask.to(device))
        return Prediction(decode_answers(self, out), answer_confidence(self, out).tolist(), self.chosen(out))

    @torch.no_grad()
    def explain(self, tokenizer, question: str) -> dict:
        """One question's answer and confidence, and what the model did to find it."""
        p = self.predict(tokenizer, [question])
        return {"question": question, "answer": p.answers[0], "confidence": p.confidence[0]}

    def widen(self, base: int, alu: str | None = None) -> "Answerer":
        """The same model answering at a wider ``base`` (e.g. 256 after training at 128),
        sharing this one's backbone; ``alu`` swaps the library's ALU (e.g. "exact").
        Values the model never saw get probability 0 from its own heads."""
        raise InputError(f"{type(self).__name__} cannot be widened")

    def param_groups(self, backbone_lr_scale: float) -> list[dict]:
        """AdamW groups: the backbone at ``lr * backbone_lr_scale``, the heads (and a
        trainable library) at ``lr``. Training the backbone as fast as the heads lets the
        answer-marginal gradient collapse its token representations before the parse is
        found; at a tenth of the heads' rate the §4.2 task escapes that in a few hundred
        steps."""
        backbone = [p for p in self.backbone.parameters() if p.requires_grad]
        mine = {id(p) for p in backbone}
        heads = [p for p in self.parameters() if p.requires_grad and id(p) not in mine]
        return [{"params": backbone, "lr_scale": backbone_lr_scale}, {"params": heads, "lr_scale": 1.0}]


class AugmentedLM(Answerer):
    """Backbone + selection and parsing heads + the library + the answer head."""

    def __init__(self, config: AugmentConfig, backbone: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        self.backbone = backbone if backbone is not None else build_backbone(config.backbone)
        dim = self.backbone.config.hidden_size
        n = config.base
        self.library = Library(MachineConfig(base=n, memory=config.cells), config.functions,
                               alu=config.alu, trainable=config.trainable_library)
        specs = load_specs()
        self.register_buffer("scalar_output", torch.tensor([bool(specs[f].outputs) for f in config.functions]),
                             persistent=False)  # per function: answers in r0 (else in memory)
        # per function: the argument registers it reads (the others are loaded with 0, so
        # no gradient is traced through its machine for them), whether r1 is its list's
        # length and whether it touches memory at all
        self.reads = [specs[f].inputs for f in config.functions]
        self.list_r1 = ["M[0..r1-1]" in specs[f].memory for f in config.functions]
        self.memoryless = [specs[f].memory == "none" for f in config.functions]
        # per function: the span it reads its list from (per_function_spans: each function
        # with memory its own, in order; the memoryless ones the first)
        listing = [i for i, none in enumerate(self.memoryless) if not none] if config.per_function_spans else []
        self.span_of = [listing.index(i) if i in listing else 0 for i in range(len(config.functions))]
        self.select = nn.Linear(dim, len(config.functions))
        pointers = len(ARG_REGISTERS) * (len(config.functions) if config.per_function_registers else 1)
        if config.parsing == "slots":
            self.parser = SlotParser(dim, pointers, config.cells, n, config.cell_values,
                                     config.list_length, config.span_candidates, config.register_values,
                                     config.register_offsets, spans=max(1, len(listing)),
                                     from_end=config.ranks_from_end, span_keys=config.span_keys,
                                     offsets_from=config.offsets_from)
        else:
            self.parser = PooledParser(dim, pointers, config.cells, n)
        if config.parsing == "slots" and config.cell_values == "token":
            # each token's characters (tokenizer.token_chars), saved with the weights; set by use_tokenizer
            self.register_buffer("token_chars",
                                 torch.zeros(self.backbone.config.vocab_size, config.cells, dtype=torch.long))
        if config.register_values == "copy":
            # per token: the number it spells and its character's code, -1 where none (use_tokenizer)
            self.register_buffer("token_copies",
                                 torch.full((self.backbone.config.vocab_size, 2), -1, dtype=torch.long))
        self.int_head = LogReadout(min_scale=1.0)
        self.str_head = LogReadout(min_scale=1.0)

    def use_tokenizer(self, tokenizer) -> None:
        """Learn nothing, but know what each token copies into cells (``cell_values="token"``)
        and registers (``register_values="copy"``)."""
        from .tokenizer import token_chars, token_copies

        if hasattr(self, "token_chars"):
            _fill(self.token_chars, token_chars(tokenizer, self.config.base, self.config.cells), 0)
        if hasattr(self, "token_copies"):
            _fill(self.token_copies, token_copies(tokenizer, self.config.base), -1)

    def widen(self, base: int, alu: str | None = None) -> "AugmentedLM":
        """At base ``base`` >= the trained one: the value heads give the new values
        probability 0, copies read any number below ``base`` exactly, and the library is
        the same compiled program on a wider machine (``CompiledProgram.widened``) with
        ``alu`` (default: the trained one; the table ALU grows as base^2)."""
        old = self.config.base
        cfg = self.config.widened(base, alu)
        wider = AugmentedLM(cfg, backbone=self.backbone)
        if isinstance(self.parser, SlotParser):
            heads = ["parser.value"] + (["parser.copy"] if self.parser.copy is not None else [])
        else:
            heads = ["parser.proj"]
        program = self.library.machine.program.widened(wider.library.config)
        wider.library.machine = Machine(program, alu=cfg.alu)
        widen_state(self, wider, heads, old, base, own="library.")
        return wider.to(next(self.parameters()).device).train(self.training)

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """z: (B, T, d), the hidden states after all but the last layer."""
        return self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def parse(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Parse:
        z = self.encode(input_ids, attention_mask).float()
        with _full_precision(z):  # autocast (train --bf16) is for the backbone alone
            return self._parse(z, input_ids, attention_mask)

    def _parse(self, z: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Parse:
        pooled = pool(z, attention_mask)
        own = None  # what a cell copies from a token itself, when it does not read z
        if self.config.parsing == "slots" and self.config.cell_values == "embedding":
            own = self.backbone.get_input_embeddings()(input_ids).float()
        elif self.config.parsing == "slots" and self.config.cell_values == "token":
            own = self.token_chars[input_ids]
        copies = self.token_copies[input_ids] if hasattr(self, "token_copies") else None
        words = self.backbone.get_input_embeddings()(input_ids).float() \
            if self.config.offsets_from == "embedding" else None
        s = self.parser(z, attention_mask, pooled, own, copies, words)
        return Parse(self.select(pooled).softmax(-1), torch.stack(s.pointers, 1), s.spans, s.pointers)

    def arguments(self, parse: Parse, i: int) -> list[torch.Tensor]:
        """The pointers r1..r3 (each (B', n)) that function i reads: its own set with
        ``per_function_registers``, else the one set every function shares."""
        pointers = parse.arguments or list(parse.registers.unbind(1))
        A = len(ARG_REGISTERS)
        j = i if self.config.per_function_registers else 0
        return pointers[j * A:(j + 1) * A]

    def r1(self, parse: Parse, i: int) -> torch.Tensor:
        """(B', n): the r1 function i receives: its r1 pointer, its span's length, or a
        gated mixture of the two (``list_length``; "abi" gives the length to a function
        whose list is M[0..r1-1])."""
        pointer, span = self.arguments(parse, i)[0], parse.spans[self.span_of[i]]
        mode = self.config.list_length
        if span.length is None or (mode == "abi" and not self.list_r1[i]):
            return pointer
        if mode == "gate":
            return span.gate * span.length + (1 - span.gate) * pointer
        return span.length

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> AugmentedOutput:
        """Parse, run every function of the library on its own (so that one whose inputs
        are all exact runs untraced, and each stops when its runs halt), mix each
        function's runs over the span candidates, then over the selection."""
        parse = self.parse(input_ids, attention_mask)
        with _full_precision(input_ids):  # the computer's distributions stay float32 under autocast
            return self._run(parse, input_ids.shape[0])

    def _run(self, parse: Parse, B: int) -> AugmentedOutput:
        """Every library function on the parse, mixed over span candidates and selection."""
        n, cfg = self.config.base, self.library.config
        K = 1 if parse.weights is None else parse.weights.shape[1]  # parses per question (every span's K)
        if K > 1:  # what a memoryless function sees: the first span's candidates' cells, mixed
            first = parse.memory
            mixed = torch.einsum("bk,bkcn->bcn", parse.weights, first.reshape(B, K, *first.shape[1:]))
        finals = []  # per function: M, r0, h, steps, each over the B questions
        for i in range(len(self.config.functions)):
            span = parse.spans[self.span_of[i]]
            memory = span.cells
            one = K > 1 and self.memoryless[i]
            rows = slice(None, None, K) if one else slice(None)  # one run per question is enough
            values = [self.r1(parse, i), *self.arguments(parse, i)[1:]]
            R = _zero(n, memory).expand(memory.shape[0], cfg.registers, n)[rows]
            for r, value in zip(ARG_REGISTERS, values):
                if r in self.reads[i]:
                    R = torch.cat([R[:, :r], value[rows, None], R[:, r + 1:]], 1)
            run = self.library.run_one(i, R, memory[rows], max_steps=self.config.max_steps)
            M, r0, h, steps = run.state.M, run.state.R[:, 0], run.state.h, run.steps
            if one:
                M = mixed
            elif K > 1:  # mix the candidate spans' runs by their probabilities
                mix = lambda t: torch.einsum("bk,bk...->b...", span.weights, t.reshape(B, K, *t.shape[1:]))  # noqa: E731
                M, r0, h, steps = mix(M), mix(r0), mix(h), steps.reshape(B, K).amax(1)
            finals.append((M, r0, h, steps))
        w = parse.selection
        if self.training and self.config.selection_floor:  # exploration (selection_floor)
            w = (1 - self.config.selection_floor) * w + self.config.selection_floor / w.shape[1]
        M, r0, h = (torch.einsum("bf,bf...->b...", w, torch.stack([f[j] for f in finals], 1)) for j in range(3))
        steps = torch.stack([f[3] for f in finals], 1)
        own = None  # each function's own answer logits (function_loss)
        if self.training and self.config.function_loss:
            own = (self.int_head(torch.stack([f[1] for f in finals], 1)),
                   self.str_head(torch.stack([f[0] for f in finals], 1)))
        return AugmentedOutput(parse, self.int_head(r0), self.str_head(M), h, steps, own)

    def loss(self, out: AugmentedOutput, targets: torch.Tensor) -> torch.Tensor:
        """The answer's cross-entropy under the mixture (§3.4), plus, in training with
        ``function_loss``, that weight times the mean of each function's own."""
        loss = answer_loss(out, targets)
        if out.own is not None:
            ints, strs = out.own  # (B, F, n), (B, F, cells, n)
            F_ = ints.shape[1]
            own = _answer_ce(ints.flatten(0, 1), strs.flatten(0, 1), targets.repeat_interleave(F_, 0))
            loss = loss + self.config.function_loss * own
        return loss

    def chosen(self, out: AugmentedOutput) -> list[str]:
        return [self.config.functions[j] for j in out.parse.selection.argmax(-1).tolist()]

    @torch.no_grad()
    def explain(self, tokenizer, question: str) -> dict:
        """The answer and confidence, the selected program and its probability, the
        parsed inputs (the most probable span's, with span candidates) and P(halted)."""
        from .tokenizer import encode

        ids, mask = encode(tokenizer, [question])
        device = next(self.parameters()).device
        out = self(ids.to(device), mask.to(device))
        sel = out.parse.selection[0]
        chosen = int(sel.argmax())
        cells = out.parse.spans[self.span_of[chosen]].cells[0].argmax(-1).tolist()
        cells = cells[:cells.index(0)] if 0 in cells else cells
        registers = [int(self.r1(out.parse, chosen)[0].argmax()),
                     *(int(a[0].argmax()) for a in self.arguments(out.parse, chosen)[1:])]
        return {"question": question, "answer": decode_answers(self, out)[0],
                "confidence": float(answer_confidence(self, out)[0]),
                "program": self.config.functions[int(sel.argmax())], "p_program": float(sel.max()),
                "registers": {f"r{r}": int(v) for r, v in zip(ARG_REGISTERS, registers)},
                "memory": cells, "p_halted": float(out.p_halted[0])}

    def answer_problem(self, answer: object, tokenizer=None) -> str | None:
        """The heads' ranges, and an answer of a kind that some library function gives:
        an integer from r0 (``#@ outputs``), a string from memory."""
        if isinstance(answer, bool) or not isinstance(answer, (int, str)):
            return head_problem(answer, self.config.base, self.config.cells)
        scalar = self.scalar_output.tolist()
        names = lambda want: ", ".join(f for f, s in zip(self.config.functions, scalar) if s == want)  # noqa: E731
        if isinstance(answer, int) and not any(scalar):
            hint = f'; write it as "{answer}"' if head_problem(str(answer), self.config.base,
                                                                 self.config.cells) is None else ""
            return f"answer {answer} is an integer, but the functions {names(False)} answer strings{hint}"
        if isinstance(answer, str) and all(scalar):
            hint = f"; write it as {int(answer)}" if answer.isascii() and answer.isdigit() \
                and int(answer) < self.config.base else ""
            return (f"answer {json.dumps(answer, ensure_ascii=False)} is a string, but the functions "
                    f"{names(True)} answer integers{hint}")
        return head_problem(answer, self.config.base, self.config.cells)

    def answer_is_int(self, out: AugmentedOutput) -> torch.Tensor:
        """(B,) whether the most probable function answers with r0 (else with memory)."""
        return self.scalar_output[out.parse.selection.argmax(-1)]


def answer_targets(answers: Sequence[int | str], base: int, cells: int,
                   where: Sequence[str] | None = None) -> torch.Tensor:
    """(B, 1 + cells) targets: column 0 the integer answer, columns 1.. the string's
    values then a terminating 0 (when it fits); :data:`IGNORE` elsewhere. An answer that
    does not fit is an :class:`InputError` named by ``where[i]`` (``"FILE:LINE"``; by
    default ``"example I"``, counted from 1)."""
    t = torch.full((len(answers), 1 + cells), IGNORE, dtype=torch.long)
    for i, a in enumerate(answers):
        at = (where[i] if where is not None and where[i] else f"example {i + 1}") + ": answer"
        if isinstance(a, bool) or not isinstance(a, (int, str)):
            raise InputError(f"{at}: expected an integer or a string, got {type(a).__name__}")
        if isinstance(a, int):
            if not 0 <= a < base:
                raise InputError(f"{at} {a} is outside 0..{base - 1} (train with a larger --base)")
            t[i, 0] = a
            continue
        codes = [ord(ch) for ch in a]
        if len(codes) > cells:
            raise InputError(f"{at} has {len(codes)} characters, but the model has {cells} cells "
                             f"(train with --cells {len(codes)} or more)")
        bad = next((ch for ch in a if ord(ch) >= base or ord(ch) == 0), None)
        if bad is not None:
            raise InputError(f"{at}: character {bad!r} has no value below base {base} "
                             f"(train with a larger --base, or drop the character)")
        t[i, 1:1 + len(codes)] = torch.tensor(codes, dtype=torch.long)
        if len(codes) < cells:
            t[i, 1 + len(codes)] = 0
    return t


def answer_loss(out: AugmentedOutput, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on answers only: per example, the integer answer's or the mean over
    the string's cells; averaged over the batch."""
    return _answer_ce(out.int_logits, out.str_logits, targets)


def _answer_ce(int_logits: torch.Tensor, str_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """:func:`answer_loss` from the integer (B, n) and string (B, cells, n) logits."""
    logits = torch.cat([int_logits[:, None], str_logits], 1)  # (B, 1 + cells, n)
    per_pos = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=IGNORE, reduction="none")
    counts = (targets != IGNORE).sum(1).clamp_min(1)
    return (per_pos.sum(1) / counts).mean()


def decode_answers(model: AugmentedLM, out: AugmentedOutput) -> list[int | str]:
    """Each example's answer: r0's value when the selected function returns a scalar,
    else the cells' values up to the first 0, as characters."""
    as_int = model.answer_is_int(out).tolist()
    ints = out.int_logits.argmax(-1).tolist()
    cells = out.str_logits.argmax(-1).tolist()
    answers: list[int | str] = []
    for i, is_int in enumerate(as_int):
        if is_int:
            answers.append(ints[i])
        else:
            values = cells[i][:cells[i].index(0)] if 0 in cells[i] else cells[i]
            answers.append("".join(map(chr, values)))
    return answers


def answer_confidence(model: AugmentedLM, out: AugmentedOutput) -> torch.Tensor:
    """The machine's probability of the decoded answer: that of r0's value for integer
    answers, the least cell probability up to the terminator for strings."""
    p_int = out.int_logits.softmax(-1).max(-1).values
    p_cells = out.str_logits.softmax(-1).max(-1)
    ends = (p_cells.indices == 0).float().cumsum(-1)
    upto = ends - (p_cells.indices == 0).float() < 1  # cells up to and including the first 0
    p_str = p_cells.values.masked_fill(~upto, 1.0).min(-1).values
    return torch.where(model.answer_is_int(out), p_int, p_str)
