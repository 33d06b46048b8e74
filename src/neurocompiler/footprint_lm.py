"""Memory estimates of training and answering with the language models (augment.py,
baselines.py), and the plans that keep them inside the budget: the micro-batch of a
training step (:func:`plan_training`) and the batch of an evaluation
(:func:`answer_batch`).

A training step holds the weights, their gradients and AdamW's two moments (4 copies),
plus, per micro-batch of B questions padded to T tokens: the backbone's activations
(B T tokens x (40 d + layers (12 d + 5 intermediate)) floats, measured with sdpa
attention; eager attention adds B heads T^2 per layer), the parse heads' (B, T, n)
value distributions, the answer heads, and the library runs: every function of
``config.functions`` on every question (B K rows with K span candidates), each step
kept for the backward pass when an input carries a gradient, for as many steps as
its control flow allows (:func:`~neurocompiler.footprint.step_bound`), at most
``max_steps``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

from . import footprint as fp
from .config import MachineConfig
from .isa import ALU_NAMES
from .resources import Budget, Estimate, budget as current_budget, format_size, over_budget

# A process that has also imported transformers' LLaMA and built a tokenizer (measured).
LM_PROCESS = 420 * fp.MiB
TRAIN_FIX = ("lower --batch-size, --max-steps, --base or the model's size (--set dim=N), or raise the memory "
             "budget ($NEUROCOMPILER_MEMORY_BUDGET, or an experiment's --memory-budget)")
ANSWER_FIX = "use a smaller --base, --alu exact, or raise --memory-budget"


@dataclass(frozen=True)
class Shapes:
    """What the estimates need to know about a model."""

    params: int  # every parameter and buffer, in elements
    dim: int
    layers: int  # decoder layers the forward pass runs
    inter: int
    heads: int
    vocab: int
    eager: bool  # eager attention keeps (B, heads, T, T) per layer
    causal: bool  # a CausalLM: logits over the vocabulary at every position
    augmented: bool  # has the library
    lines: int  # the library program's lines (0 without one)
    ops: tuple[str, ...]  # the ALU opcodes the library program holds
    bounds: tuple[int | None, ...]  # per function: its step bound (None: max_steps)


def shapes(model) -> Shapes:
    """:class:`Shapes` of a built model (AugmentedLM, DirectLM or CausalLM)."""
    c = model.backbone.config
    params = sum(t.numel() for t in model.parameters()) + sum(t.numel() for t in model.buffers())
    library = getattr(model, "library", None)
    lines, ops, bounds = 0, (), ()
    if library is not None:
        prog = library.machine.program
        lines = prog.lines
        ops = tuple(sorted({i.op for i in prog.program.instructions} & set(ALU_NAMES)))
        if prog.trainable:
            ops, bounds = ALU_NAMES, tuple(None for _ in library.functions)
        else:
            from .library import RETURN_REGISTER

            bounds = tuple(fp.step_bound(prog.program.instructions, prog.program.labels[f], RETURN_REGISTER)
                           for f in library.functions)
    return Shapes(params, c.hidden_size, c.num_hidden_layers, c.intermediate_size, c.num_attention_heads,
                  c.vocab_size, getattr(c, "_attn_implementation", "sdpa") == "eager",
                  not hasattr(model.backbone, "layers"), library is not None, lines, ops, bounds)


def lengths(tokenizer, examples: Sequence, causal: bool = False) -> int:
    """Tokens of the longest row a batch of ``examples`` pads to (bos included; for a
    CausalLM the prompt, the answer and the end token)."""
    if not examples:
        return 1
    texts = [e.question + (" =" if causal else "") for e in examples]
    rows = tokenizer(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    longest = [len(r) for r in rows]
    if causal:
        answers = tokenizer([" " + str(e.answer) for e in examples], add_special_tokens=False)["input_ids"]
        longest = [q + len(a) + 1 for q, a in zip(longest, answers)]
    return max(longest) + 1


def weights(s: Shapes, train: bool) -> Estimate:
    """The weights; in training also their gradients and AdamW's moments."""
    parts = {"weights": s.params * fp.FLOAT}
    if train:
        parts["gradients and AdamW state"] = 3 * s.params * fp.FLOAT
    return Estimate(parts)


def backbone(s: Shapes, B: int, T: int, train: bool) -> Estimate:
    """The backbone's activations (kept for backward in training; else one layer's)."""
    per_layer = 12 * s.dim + 5 * s.inter
    tokens = B * T
    if train:
        floats = tokens * (40 * s.dim + s.layers * per_layer) + B * T * T
        if s.eager:
            floats += s.layers * 2 * B * s.heads * T * T
    else:
        floats = tokens * (8 * s.dim + 2 * per_layer) + B * T * T * (1 + s.eager * s.heads)
    if s.causal:  # logits, their log-softmax and its gradient over the vocabulary
        floats += (3 if train else 1) * tokens * s.vocab
    return Estimate({"backbone activations": floats * fp.FLOAT})


def heads(cfg, s: Shapes, B: int, T: int, n: int, train: bool) -> Estimate:
    """The parse and answer heads, per question, in (., n) distributions: every token's
    value (logits, softmax; a second head for embedding cells), each copy reading's
    one-hots (int64, then float), the offsets' shifted copies, the cells, the answer
    logits and the functions' finals; in training what is kept for backward, else what
    is alive at once."""
    m = cfg.model
    K = max(1, m.slots.span_candidates)
    ans = (6 if train else 3) * (1 + m.cells) * (1 + (m.selection.function_loss > 0) * len(m.functions))
    per = ans * n
    if s.augmented and m.parsing == "general":  # augment.general: scores over tokens, context values,
        F_ = len(m.functions)  # and each function's K candidates mixed into (cells + 1, n), kept with their logs
        K = m.candidates if train else 1
        per = (3 if train else 2) * T * n + (6 if train else 3) * F_ * K * (m.cells + 1) * n \
            + 4 * (6 if train else 3) * F_ * (m.cells + 1) * n + 4 * T * T
    elif s.augmented:
        if m.parsing == "pooled":
            per += 2 * (3 + m.cells) * n
        else:
            per += (3 if train else 2) * (1 + T) * n * (1 + (m.slots.cell_values == "embedding"))
            if m.slots.register_values == "copy":
                per += (5 if train else 4) * T * n
                per += ((2 * m.slots.register_offsets + 1) if train else 2) * T * n * (m.slots.register_offsets > 0)
            per += (3 if train else 2) * K * m.cells * n + 4 * T * T
        per += 2 * len(m.functions) * (m.cells + 1) * n  # the functions' finals, stacked and mixed
    else:
        per += 2 * (1 + m.cells) * n
    return Estimate({"heads": B * per * fp.FLOAT})


def _traced(m, i: int, list_r1: bool, memoryless: bool) -> bool:
    """Whether function i's run carries a gradient (augment.AugmentedLM._run): exact
    cells (token copies of discrete spans) and an exact length do not."""
    if m.trainable_library:
        return True
    exact_cells = m.slots.span_candidates > 0 and m.slots.cell_values == "token"
    exact_r1 = m.slots.span_candidates > 0 and (m.slots.list_length == "span" or (m.slots.list_length == "abi" and list_r1))
    reads = _specs()[m.functions[i]].inputs
    pointers = any(r in reads for r in (2, 3)) or (1 in reads and not exact_r1)
    return pointers or not exact_cells


def _specs():
    from .library import load_specs

    return load_specs()


def library(cfg, s: Shapes, B: int, n: int, alu_kind: str, train: bool) -> Estimate:
    """Every library function's run on B questions: the graph of the traced ones (all
    their steps), or one step's temporaries for the others, and the final states."""
    m = cfg.model
    if not s.augmented:
        return Estimate()
    if m.parsing == "general" and not m.trainable_library:  # exact runs (exact.py): integer states only
        from .augment.general import SUPPORT

        rows = B * (m.candidates if train else 1) * len(m.functions) * SUPPORT  # every reading from context
        width = 16 + n + 1 + 2 * m.cells  # registers, memory (and its sink), the mixture's cell indices
        return Estimate({"library runs": 4 * rows * width * 8, "program": 14 * s.lines * 8 + n * n * 8 * 8})
    machine = MachineConfig(base=n, memory=m.cells)
    K = max(1, m.slots.span_candidates)
    specs = _specs()
    graph, temporaries = 0, 0
    for i, name in enumerate(m.functions):
        spec = specs[name]
        memoryless = spec.memory == "none"
        rows = B if (K > 1 and memoryless) else B * K
        bound = s.bounds[i] if i < len(s.bounds) else None
        steps = min(m.max_steps, bound) if bound is not None else m.max_steps
        if train and _traced(m, i, "M[0..r1-1]" in spec.memory, memoryless):
            per = fp.traced_step(machine, s.lines, rows, alu_kind, s.ops)
            if alu_kind == "table":  # index_add keeps each generic opcode's (rows, n^2) outer product
                per += len(fp.table_ops(s.ops)) * rows * n * n * fp.FLOAT
            graph += steps * per
        temporaries = max(temporaries, fp.step(machine, s.lines, rows, alu_kind, s.ops))
        graph += fp.state(machine, s.lines, rows).total  # its final state, kept for the mixture
    if train:  # the backward pass of one generic opcode call
        temporaries += fp.alu(alu_kind, n, B * K, s.ops, grad=True, used=s.ops).parts.get("ALU temporaries", 0)
    tables = fp.alu(alu_kind, n, 1, used=()).parts.get("ALU tables", 0)
    program = fp.program(machine, s.lines).total
    return Estimate({"library runs": graph, "machine temporaries": temporaries,
                     "ALU tables": tables, "program": program})


def step_estimate(cfg, s: Shapes, B: int, T: int, train: bool = True, n: int | None = None,
                  alu_kind: str | None = None) -> Estimate:
    """A training step on a micro-batch of B questions of T tokens (``train``), or one
    forward pass without gradients; at base ``n`` with ``alu_kind`` (default: the run's)."""
    n = n or cfg.model.base
    alu_kind = alu_kind or cfg.model.alu
    return (Estimate({"process (Python, torch, transformers)": LM_PROCESS}) + weights(s, train)
            + backbone(s, B, T, train) + heads(cfg, s, B, T, n, train) + library(cfg, s, B, n, alu_kind, train))


@dataclass(frozen=True)
class Plan:
    """A training step's micro-batch (``micro_batch`` questions per forward and
    backward pass, the per-process batch in ``batch``), the evaluation batch, and the
    estimate of the larger of a micro-batch step and an evaluation batch."""

    micro_batch: int
    batch: int
    eval_batch: int
    estimate: Estimate
    budget: Budget

    @property
    def micro_batches(self) -> int:
        return -(-self.batch // self.micro_batch)

    def describe(self) -> str:
        return (f"{self.micro_batches} micro-batch(es) of {self.micro_batch} per step, evaluation in batches "
                f"of {self.eval_batch}: about {self.estimate.render()} of {format_size(self.budget.bytes)} "
                f"({self.budget.short()})")


def _largest(fits, most: int) -> int:
    """The largest b in 1..most with fits(b) (fits is monotone), or 0."""
    if not fits(1):
        return 0
    lo, hi = 1, most
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo


def plan_training(cfg, model, tokenizer, train_examples: Sequence, budget: Budget | None = None) -> Plan:
    """The largest micro-batch (at most this process's share of ``cfg.batch_size``)
    whose training step fits the budget, and the largest evaluation batch (at most
    ``cfg.eval_batch_size``) that does. Raises the one-line
    :class:`~neurocompiler.errors.MemoryBudgetError` when a micro-batch of 1 does not.
    ``budget``: default :func:`neurocompiler.resources.budget`."""
    limit = budget or current_budget()
    s = shapes(model)
    T = lengths(tokenizer, train_examples, s.causal)
    world = max(1, int(os.environ.get("WORLD_SIZE", "1")))
    batch = max(1, -(-cfg.batch_size // world))
    train_at = lambda b: step_estimate(cfg, s, b, T)  # noqa: E731
    eval_at = lambda b: step_estimate(cfg, s, b, T, train=False)  # noqa: E731
    micro = _largest(lambda b: train_at(b).total <= limit.bytes, batch)
    if micro == 0:
        raise over_budget(train_at(1), f"train: a step on one question of {T} tokens", TRAIN_FIX, limit)
    evals = _largest(lambda b: eval_at(b).total <= limit.bytes, max(1, cfg.eval_batch_size))
    if evals == 0:
        raise over_budget(eval_at(1), f"train: evaluating one question of {T} tokens", TRAIN_FIX, limit)
    worst = max(train_at(micro), eval_at(evals), key=lambda e: e.total)
    return Plan(micro, batch, evals, worst, limit)


def widened_shapes(cfg, s: Shapes, base: int) -> Shapes:
    """:class:`Shapes` of the same model widened to ``base`` (Answerer.widen): each
    head over values grows by (dim + 1) (base - n) parameters."""
    m = cfg.model
    if cfg.architecture == "autoregressive":
        rows = 0
    elif cfg.architecture == "direct":
        rows = 1 + m.cells
    elif m.parsing == "pooled":
        rows = 3 * (len(m.functions) if m.slots.per_function_registers else 1) + m.cells
    else:
        rows = 1 + (m.slots.cell_values == "embedding")
    grown = rows * (s.dim + 1) * (base - m.base) + (base - m.base) * s.lines * 4  # heads, program rows
    return Shapes(**{**s.__dict__, "params": s.params + grown})


def answer_estimate(cfg, s: Shapes, T: int, batch: int, base: int | None = None,
                    alu_kind: str | None = None, trained: Shapes | None = None) -> Estimate:
    """Answering ``batch`` questions of T tokens at a time (no gradients) with a model of
    shapes ``s`` at ``base`` with ``alu_kind``; ``trained``: the model it is widened from,
    which is in memory too, with widen_state's copy of its weights."""
    n = base or cfg.model.base
    est = step_estimate(cfg, s, batch, T, train=False, n=n, alu_kind=alu_kind)
    if trained is not None:
        est = est + Estimate({"trained model": trained.params * fp.FLOAT * 2})
    return est


def _questions_length(tokenizer, questions: Sequence[str]) -> int:
    from .tasks import Example

    return lengths(tokenizer, [Example(q, 0) for q in questions] or [Example("?", 0)])


def _batch(at, most: int, what: str, limit: Budget) -> int:
    best = _largest(lambda b: at(b).total <= limit.bytes, max(1, most))
    if best == 0:
        raise over_budget(at(1), what, ANSWER_FIX, limit)
    return best


def check_widening(cfg, model, tokenizer, questions: Sequence[str], base: int | None, alu_kind: str | None,
                   what: str = "eval", budget: Budget | None = None) -> int:
    """Before ``model.widen(base, alu_kind)``: the largest batch (at most
    ``cfg.eval_batch_size``) the wider model can answer in; a one-line MemoryBudgetError
    when not even one question fits."""
    limit = budget or current_budget()
    trained = shapes(model)
    n = base or cfg.model.base
    wide = widened_shapes(cfg, trained, n)
    T = _questions_length(tokenizer, questions)
    at = lambda b: answer_estimate(cfg, wide, T, b, n, alu_kind, trained)  # noqa: E731
    kind = f" with the {alu_kind or cfg.model.alu} ALU" if trained.augmented else ""
    return _batch(at, min(cfg.eval_batch_size, len(questions) or 1), f"{what}: answering at base {n}{kind}", limit)


def answer_batch(cfg, model, tokenizer, questions: Sequence[str], base: int | None = None,
                 alu_kind: str | None = None, what: str = "eval", budget: Budget | None = None) -> int:
    """The largest batch (at most ``cfg.eval_batch_size``) in which ``model`` (already at
    ``base``, with ``alu_kind``) answers ``questions`` within the budget; a one-line
    MemoryBudgetError when one question does not fit."""
    limit = budget or current_budget()
    s = shapes(model)
    T = _questions_length(tokenizer, questions)
    at = lambda b: answer_estimate(cfg, s, T, b, base, alu_kind)  # noqa: E731
    return _batch(at, min(cfg.eval_batch_size, len(questions) or 1), f"{what}: answering a question of {T} tokens",
                  limit)


__all__ = ["ANSWER_FIX", "LM_PROCESS", "Plan", "Shapes", "TRAIN_FIX", "answer_batch", "answer_estimate",
           "check_widening", "lengths", "plan_training", "shapes", "step_estimate"]
