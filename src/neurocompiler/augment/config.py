"""The augmented model's configuration (:class:`AugmentConfig`). The named parses are
preset files (``neurocompiler/presets/*.json``, :mod:`neurocompiler.settings`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from ..errors import InputError
from .backbone import BackboneConfig

ARG_REGISTERS = (1, 2, 3)  # the library ABI's argument registers


PARSINGS = ("general", "slots", "pooled")


CELL_VALUES = ("context", "embedding", "token")  # where the slot parser reads a copied token's value


LIST_LENGTHS = ("gate", "span", "abi")  # where r1 comes from when it is a list's length


REGISTER_VALUES = ("context", "copy")  # what an argument register reads from the token it points at


RANKS_FROM_END = ("none", "characters", "all")  # which copy readings also rank from the question's end


OFFSETS_FROM = ("context", "embedding")  # a copied number's offset: from the word before's hidden state or embedding


OFFSET_PRIOR = 3.0  # initial logit of offset 0 over the others: a copy starts ~exact (register_offsets)


RANKS = 8  # a copying register tells apart the first RANKS - 1 numbers (characters) of a question


@dataclass
class SlotsConfig:
    """The switches of the earlier parses, ``slots`` and ``pooled`` (``model.slots``).
    The general parse reads none of them: each was added while diagnosing one task, and
    the presets that docs/RESULTS.md's tables name (``spans``, ``copies``, ``offsets``,
    ``mixed``) set them."""

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

    def __post_init__(self) -> None:
        if isinstance(self.ranks_from_end, bool):  # configs saved before "characters" existed
            self.ranks_from_end = "all" if self.ranks_from_end else "none"
        for name, allowed in (("ranks_from_end", RANKS_FROM_END), ("list_length", LIST_LENGTHS),
                              ("cell_values", CELL_VALUES), ("register_values", REGISTER_VALUES),
                              ("offsets_from", OFFSETS_FROM)):
            if getattr(self, name) not in allowed:
                raise InputError(f"slots.{name}: expected one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.offsets_from != "context" and not self.register_offsets:
            raise InputError(f"slots.offsets_from: {self.offsets_from!r} needs register offsets (the offsets "
                             f"parse, or register_offsets > 0)")
        if isinstance(self.register_offsets, bool) or not isinstance(self.register_offsets, int) \
                or self.register_offsets < 0 or (self.register_offsets and self.register_values != "copy"):
            raise InputError(f"slots.register_offsets: expected 0, or D > 0 with register_values copy, "
                             f"got {self.register_offsets!r} with {self.register_values}")
        if isinstance(self.span_candidates, bool) or not isinstance(self.span_candidates, int) \
                or self.span_candidates < 0:
            raise InputError(f"slots.span_candidates: expected an integer >= 0, got {self.span_candidates!r}")


@dataclass
class SelectionConfig:
    """Two variants of training the earlier parses' selection (``model.selection``),
    which the ``mixed`` preset's table needs; both 0 (the paper's) by default. The
    general parse reads neither: it always adds each function's own answer loss, and
    draws its candidates with a uniform prior mixed in (:mod:`.sampler`)."""

    # In training only, the selection is mixed with the uniform distribution by this
    # weight: every function keeps at least floor / F of every question, so one whose
    # parse is still unlearned gets gradient from the questions it should answer,
    # instead of losing them for good to a function that found a shortcut
    # (docs/RESULTS.md, `mixed`). Evaluation uses the learned selection. 0: the paper's.
    floor: float = 0.0
    # In training only, add this weight times the mean over functions of each function's
    # own answer loss (its r0 or memory read as if it alone were selected). The paper's
    # loss, -log sum_f w_f p_f(answer), gives function f's parse a gradient weighted by
    # its posterior, which vanishes once another function answers a question type better
    # by a shortcut (div answers "how many" questions with 34 / 34 = 1). This term, a
    # mean of logs beside the log of the mean, lets every function keep learning to
    # answer every question; the selection is still learned from the paper's loss alone
    # (docs/RESULTS.md, `mixed`). The logged training loss includes it. 0: the paper's loss.
    function_loss: float = 0.0

    def __post_init__(self) -> None:
        for name, hi in (("floor", 1.0), ("function_loss", None)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 \
                    or (hi is not None and v >= hi):
                raise InputError(f"selection.{name}: expected a number >= 0{f' and < {hi:g}' if hi else ''}, "
                                 f"got {v!r}")


# where a field of AugmentConfig moved to (configs saved before, and the old leaf names)
MOVED = {**{name: "slots." + name for name in SlotsConfig.__dataclass_fields__},
         "selection_floor": "selection.floor", "function_loss": "selection.function_loss"}


@dataclass
class AugmentConfig:
    # values are 0..base-1; None: not chosen yet (train derives it from the data, runconfig.fit_base)
    base: int | None = 128
    # memory cells parsed from the question and read for string answers; None: not chosen
    # yet (train fits them to the data, runconfig.fit_cells)
    cells: int | None = 16
    functions: tuple[str, ...] = ("add", "sub", "mul", "div")
    # "general" (:mod:`.general`): every input read from a span of the question, as a
    # number or a string, or from context; one discrete parse per function, run
    # exactly. "slots" and "pooled": the earlier parses that docs/RESULTS.md's tables
    # name by preset (``slots``, ``spans``, ``copies``, ``offsets``, ``pooled``), with
    # their switches in ``slots``
    parsing: str = "general"
    # the general parse (parsing="general", :mod:`.general`): in training, K discrete
    # parses per function, question and sampled choice (fib's two seeds: 2K), its last
    # scalar input enumerated under each; each runs exactly where its readings are exact
    candidates: int = 4
    trainable_library: bool = False
    alu: str = "table"
    # per forward pass; runs still going are read where they stand. None: not chosen yet
    # (train measures the library's step bound at the run's base and cells, library.bounds)
    max_steps: int | None = 2000
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    slots: SlotsConfig = field(default_factory=SlotsConfig)  # the slots and pooled parses' switches
    selection: SelectionConfig = field(default_factory=SelectionConfig)

    @classmethod
    def from_dict(cls, d: dict) -> "AugmentConfig":
        """A config from its ``to_dict()``, from dotted keys (``"slots.span_keys"``), or from
        a config.json saved before the earlier parses' switches moved to ``slots`` and
        ``selection`` (their flat names, :data:`MOVED`). Later keys win."""
        flat: dict = {}

        def walk(node: dict, prefix: str) -> None:
            for key, value in node.items():
                path = prefix + (MOVED.get(key, key) if not prefix else key)
                if path in _GROUPS and isinstance(value, (dict, *_GROUPS.values())):
                    walk(value if isinstance(value, dict) else asdict(value), path + ".")
                else:
                    flat[path] = value

        from ..settings import nest

        walk(d, "")
        return cls(**nest(flat))

    def __post_init__(self) -> None:
        for name, kind in _GROUPS.items():
            value = getattr(self, name)
            if isinstance(value, dict):
                unknown = sorted(set(value) - set(kind.__dataclass_fields__))
                if unknown:
                    raise InputError(f"{name}: unknown field(s) {', '.join(unknown)}")
                setattr(self, name, kind(**value))
            elif not isinstance(value, kind):
                raise InputError(f"{name}: expected an object of settings, got {type(value).__name__}")
        self.functions = tuple(self.functions)
        if self.parsing not in PARSINGS:
            raise InputError(f"parsing: expected one of {', '.join(PARSINGS)}, got {self.parsing!r}")
        s = self.slots
        if self.parsing != "slots":  # what only the slots parse has (the others ignore cell_values, ...)
            for name in ("register_values", "span_candidates", "per_function_spans", "span_keys"):
                if getattr(s, name) != getattr(SlotsConfig(), name):
                    raise InputError(f"slots.{name}: a switch of the slots parse only, but parsing is "
                                     f"{self.parsing}")
        if self.parsing == "general" and self.selection != SelectionConfig():
            raise InputError("selection: a variant of the slots and pooled parses' training, but parsing is "
                             "general (which always adds each function's own loss)")
        if self.base is not None and (not isinstance(self.base, int) or isinstance(self.base, bool) or self.base < 2):
            raise InputError(f"base: expected an integer >= 2, got {self.base!r}")
        base = self.base or 1 << 62  # checks against the base wait for it to be chosen
        if 2 * s.register_offsets >= base:
            raise InputError(f"slots.register_offsets: expected D < base / 2, got {s.register_offsets} "
                             f"at base {self.base}")
        if isinstance(self.candidates, bool) or not isinstance(self.candidates, int) or self.candidates < 1:
            raise InputError(f"candidates: expected an integer >= 1, got {self.candidates!r}")
        if self.max_steps is not None and (isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int)
                                           or self.max_steps < 1):
            raise InputError(f"max_steps: expected an integer >= 1, got {self.max_steps!r}")
        if self.cells is not None and not 1 <= self.cells <= base:
            raise InputError(f"cells: expected 1..{self.base}, got {self.cells}")

    def to_dict(self) -> dict:
        return asdict(self)

    def widened(self, base: int, alu: str | None = None) -> "AugmentConfig":
        """This config at a wider ``base`` (checked: not below ours), with ``alu`` if given."""
        if not isinstance(base, int) or isinstance(base, bool) or base < self.base:
            raise InputError(f"base {base!r}: a model trained at base {self.base} can only be widened "
                             f"to a base >= {self.base}")
        return AugmentConfig.from_dict({**self.to_dict(), "base": base, "alu": alu or self.alu})


_GROUPS = {"backbone": BackboneConfig, "slots": SlotsConfig, "selection": SelectionConfig}  # nested configs
