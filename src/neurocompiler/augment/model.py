"""The augmented model (§3.4): backbone, selection and parsing heads, the library, the
answer head."""

from __future__ import annotations

import json

import torch
from torch import nn

from ..config import MachineConfig
from ..datacheck import head_problem
from ..layers import LogReadout
from ..library import Library, load_specs
from ..machine import Machine
from .answerer import Answerer, _fill, _full_precision, widen_state
from .backbone import build_backbone, pool
from .config import ARG_REGISTERS, AugmentConfig
from .outputs import FLOOR, IGNORE, AugmentedOutput, answer_nll, Parse, _answer_ce, _zero, answer_confidence, answer_loss, decode_answers
from .general import GeneralParse, GeneralParser, run_candidates
from .selection import SelectionHead
from .slots import PooledParser, SlotParser
from .units import Items, Units, pack, question_units

TEXT_WIDTH = 32  # characters kept of each token's text (a longer token reads as none)
ANY_CODE = 0x110000  # token texts keep every character; units drop those the base cannot hold


def _log(p: torch.Tensor) -> torch.Tensor:
    """log p, clamped: the general parse's answer logits (its answer distribution as it is)."""
    return p.clamp_min(FLOOR).log()


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
        # per function: the span it reads its list from (slots.per_function_spans: each function
        # with memory its own, in order; the memoryless ones the first)
        listing = [i for i, none in enumerate(self.memoryless) if not none] if config.slots.per_function_spans else []
        self.span_of = [listing.index(i) if i in listing else 0 for i in range(len(config.functions))]
        self.select: nn.Module = nn.Linear(dim, len(config.functions))  # the general parse's: a SelectionHead
        pointers = len(ARG_REGISTERS) * (len(config.functions) if config.slots.per_function_registers else 1)
        if config.parsing == "general":
            self.select = SelectionHead(dim, len(config.functions))
            self.parser = GeneralParser.build(dim, n, [specs[f] for f in config.functions], config.candidates,
                                              self.library.config.registers)
            # each token's text as character codes (tokenizer.token_chars), saved with the weights
            self.register_buffer("token_text", torch.zeros(self.backbone.config.vocab_size, TEXT_WIDTH,
                                                           dtype=torch.long))
            self._units: dict[tuple[int, ...], Units] = {}
        elif config.parsing == "slots":
            self.parser = SlotParser(dim, pointers, config.cells, n, config.slots, spans=max(1, len(listing)))
        else:
            self.parser = PooledParser(dim, pointers, config.cells, n)
        if config.parsing == "slots" and config.slots.cell_values == "token":
            # each token's characters (tokenizer.token_chars), saved with the weights; set by use_tokenizer
            self.register_buffer("token_chars",
                                 torch.zeros(self.backbone.config.vocab_size, config.cells, dtype=torch.long))
        if config.slots.register_values == "copy":
            # per token: the number it spells and its character's code, -1 where none (use_tokenizer)
            self.register_buffer("token_copies",
                                 torch.full((self.backbone.config.vocab_size, 2), -1, dtype=torch.long))
        self.int_head = LogReadout(min_scale=1.0)
        self.str_head = LogReadout(min_scale=1.0)

    def use_tokenizer(self, tokenizer) -> None:
        """Learn nothing, but know what each token copies into cells (``slots.cell_values="token"``)
        and registers (``slots.register_values="copy"``)."""
        from ..tokenizer import token_chars, token_copies

        if hasattr(self, "token_chars"):
            _fill(self.token_chars, token_chars(tokenizer, self.config.base, self.config.cells), 0)
        if hasattr(self, "token_copies"):
            _fill(self.token_copies, token_copies(tokenizer, self.config.base), -1)
        if hasattr(self, "token_text"):
            _fill(self.token_text, token_chars(tokenizer, ANY_CODE, TEXT_WIDTH), 0)
            self._units.clear()

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
        elif isinstance(self.parser, GeneralParser):  # its numbers and characters read any value below base
            heads = ["parser.context.value"]
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
        if isinstance(self.parser, GeneralParser):
            return self.parser(z, attention_mask, pooled, self.items(input_ids, attention_mask), self.select(pooled))
        own = None  # what a cell copies from a token itself, when it does not read z
        if self.config.parsing == "slots" and self.config.slots.cell_values == "embedding":
            own = self.backbone.get_input_embeddings()(input_ids).float()
        elif self.config.parsing == "slots" and self.config.slots.cell_values == "token":
            own = self.token_chars[input_ids]
        copies = self.token_copies[input_ids] if hasattr(self, "token_copies") else None
        words = self.backbone.get_input_embeddings()(input_ids).float() \
            if self.config.slots.offsets_from == "embedding" else None
        s = self.parser(z, attention_mask, pooled, own, copies, words)
        return Parse(self.select(pooled).softmax(-1), torch.stack(s.pointers, 1), s.spans, s.pointers)

    def arguments(self, parse: Parse, i: int) -> list[torch.Tensor]:
        """The pointers r1..r3 (each (B', n)) that function i reads: its own set with
        ``slots.per_function_registers``, else the one set every function shares."""
        pointers = parse.arguments or list(parse.registers.unbind(1))
        A = len(ARG_REGISTERS)
        j = i if self.config.slots.per_function_registers else 0
        return pointers[j * A:(j + 1) * A]

    def r1(self, parse: Parse, i: int) -> torch.Tensor:
        """(B', n): the r1 function i receives: its r1 pointer, its span's length, or a
        gated mixture of the two (``slots.list_length``; "abi" gives the length to a function
        whose list is M[0..r1-1])."""
        pointer, span = self.arguments(parse, i)[0], parse.spans[self.span_of[i]]
        mode = self.config.slots.list_length
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

    def items(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Items:
        """The questions' exact readings (:mod:`.units`), cached per question."""
        out = []
        for b, (row, m) in enumerate(zip(input_ids.tolist(), attention_mask.tolist())):
            key = tuple(t for t, real in zip(row, m) if real)
            if key not in self._units:  # only a question not seen before reads its tokens' texts
                texts = self.token_text[input_ids[b]].tolist()
                self._units[key] = question_units(["".join(map(chr, (c for c in cs if c))) if real else ""
                                                   for cs, real in zip(texts, m)],
                                                  self.config.cells, self.config.base)
            out.append(self._units[key])
        return pack(out, self.config.cells, input_ids.device)

    def _run(self, parse: Parse, B: int) -> AugmentedOutput:
        """Every library function on the parse, mixed over span candidates and selection."""
        if isinstance(parse, GeneralParse):
            return self._run_general(parse)
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
        floor = self.config.selection.floor
        if self.training and floor:  # exploration (selection.floor)
            w = (1 - floor) * w + floor / w.shape[1]
        M, r0, h = (torch.einsum("bf,bf...->b...", w, torch.stack([f[j] for f in finals], 1)) for j in range(3))
        steps = torch.stack([f[3] for f in finals], 1)
        own = None  # each function's own answer logits (selection.function_loss)
        if self.training and self.config.selection.function_loss:
            own = (self.int_head(torch.stack([f[1] for f in finals], 1)),
                   self.str_head(torch.stack([f[0] for f in finals], 1)))
        return AugmentedOutput(parse, self.int_head(r0), self.str_head(M), h, steps, own)

    def _run_general(self, parse: GeneralParse) -> AugmentedOutput:
        """Every function on its candidate parses (:func:`.general.run_candidates`), mixed
        by the selection. A function answers only in its own kind: r0 for the ones with
        ``#@ outputs``, memory for the others, so the mixture gives an integer answer no
        probability from a list function's r0, nor a string answer from an adder's memory."""
        exact = not self.config.trainable_library
        runs = run_candidates(self.library, parse.candidates, self.config.max_steps, exact,
                              memory=(~self.scalar_output).tolist())
        scalar = self.scalar_output.to(parse.selection)  # (F,)
        r0 = torch.stack([r.r0 for r in runs], 1) * scalar[:, None]  # (B, F, n)
        M = torch.stack([r.M for r in runs], 1) * (1 - scalar)[:, None, None]  # (B, F, cells, n)
        h = torch.stack([r.h for r in runs], 1)
        w = parse.selection
        mixed = [torch.einsum("bf,bf...->b...", w, t) for t in (M, r0, h)]
        # In training, each function's own answer too (loss): its parse learns from every question it
        # can answer, however little the selection gives it yet
        own = (_log(r0), _log(M)) if self.training else None
        return AugmentedOutput(parse, _log(mixed[1]), _log(mixed[0]), mixed[2],
                               torch.stack([r.steps for r in runs], 1), own)

    def loss(self, out: AugmentedOutput, targets: torch.Tensor) -> torch.Tensor:
        """The answer's cross-entropy under the mixture (§3.4), plus, in training with
        ``selection.function_loss``, that weight times the mean of each function's own. The general
        parse's: the answer's marginal likelihood (:func:`.outputs.answer_nll`) plus the
        sum over functions of each one's own, in its own kind only, so the parse of
        ``reverse`` never learns to put a count in r0."""
        if isinstance(self.parser, GeneralParser):  # the marginal likelihood itself, and each function's
            loss = answer_nll(out.int_logits, out.str_logits, targets)
            if out.own is not None:
                ints, strs = out.own  # (B, F, n), (B, F, cells, n)
                own = targets[:, None].repeat(1, ints.shape[1], 1)  # (B, F, 1 + cells): each counts its kind only
                own[:, self.scalar_output, 1:] = IGNORE
                own[:, ~self.scalar_output, 0] = IGNORE
                # summed over functions: each parse learns as if it were selected
                loss = loss + ints.shape[1] * answer_nll(ints.flatten(0, 1), strs.flatten(0, 1), own.flatten(0, 1),
                                                         reachable=True)
            return loss
        loss = answer_loss(out, targets)
        if out.own is not None:
            ints, strs = out.own  # (B, F, n), (B, F, cells, n)
            F_ = ints.shape[1]
            own = _answer_ce(ints.flatten(0, 1), strs.flatten(0, 1), targets.repeat_interleave(F_, 0))
            loss = loss + self.config.selection.function_loss * own
        return loss

    def chosen(self, out: AugmentedOutput) -> list[str]:
        return [self.config.functions[j] for j in out.parse.selection.argmax(-1).tolist()]

    @torch.no_grad()
    def explain(self, tokenizer, question: str) -> dict:
        """The answer and confidence, the selected program and its probability, the
        parsed inputs (the most probable span's, with span candidates) and P(halted)."""
        from ..tokenizer import encode

        ids, mask = encode(tokenizer, [question])
        device = next(self.parameters()).device
        out = self(ids.to(device), mask.to(device))
        sel = out.parse.selection[0]
        chosen = int(sel.argmax())
        if isinstance(out.parse, GeneralParse):
            return {"question": question, "answer": decode_answers(self, out)[0],
                    "confidence": float(answer_confidence(self, out)[0]), "program": self.config.functions[chosen],
                    "p_program": float(sel.max()), **self.parser.explain(out.parse, chosen),
                    "p_halted": float(out.p_halted[0])}
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
