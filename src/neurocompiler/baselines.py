"""Baselines without the computer (issue #6): the same backbone, tokenizer and data as
:class:`~neurocompiler.augment.AugmentedLM`, with the library taken away.

* :class:`DirectLM` (``--architecture direct``): heads straight on the pooled ``z``: a
  classifier over 0..n-1 for integer answers, one classifier per output position for
  string answers (values 0..n-1, a 0 ends the string, as the augmented model's cells),
  and a two-way head that says which kind of answer the question wants.

* :class:`CausalLM` (``--architecture autoregressive``): plain autoregressive
  fine-tuning, what a user would otherwise pick. A ``LlamaForCausalLM`` with the same
  sizes (all its layers) reads "question =" and is trained to write the answer's text
  and then an end token (the tokenizer's pad); it answers by greedy decoding.

All three are :class:`~neurocompiler.augment.Answerer` models, so training, evaluation,
checkpoints and ``ask`` treat them alike. :class:`DirectLM` decodes like the augmented
model (``answer_is_int``); :class:`CausalLM` brings its own ``make_batch`` (question and
answer tokens), ``predict`` (greedy decoding) and ``param_groups`` (no heads).
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .augment import (IGNORE, Answerer, AugmentConfig, Batch, Prediction, answer_loss, build_backbone,
                      llama_config, load_pretrained, pool, widen_state)
from .tokenizer import pad_id


@dataclass
class DirectOutput:
    int_logits: torch.Tensor  # (B, n)
    str_logits: torch.Tensor  # (B, cells, n)
    kind_logits: torch.Tensor  # (B, 2): integer answer, string answer


class DirectLM(Answerer):
    """Backbone + answer heads on the pooled z; no selection, no parse, no machine."""

    def __init__(self, config: AugmentConfig, backbone: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        self.backbone = backbone if backbone is not None else build_backbone(config.backbone)
        dim, n = self.backbone.config.hidden_size, config.base
        self.int_head = nn.Linear(dim, n)
        self.str_head = nn.Linear(dim, config.cells * n)
        self.kind = nn.Linear(dim, 2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> DirectOutput:
        z = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state.float()
        pooled = pool(z, attention_mask)
        strings = self.str_head(pooled).view(-1, self.config.cells, self.config.base)
        return DirectOutput(self.int_head(pooled), strings, self.kind(pooled))

    def loss(self, out: DirectOutput, targets: torch.Tensor) -> torch.Tensor:
        """The answer's cross-entropy, plus that of its kind (integer or string)."""
        kind = (targets[:, 0] == IGNORE).long()  # 1: a string answer
        return answer_loss(out, targets) + F.cross_entropy(out.kind_logits, kind)

    def answer_is_int(self, out: DirectOutput) -> torch.Tensor:
        return out.kind_logits.argmax(-1) == 0

    def widen(self, base: int, alu: str | None = None) -> "DirectLM":
        """At base ``base``: the classifiers give the new values probability 0 (there is
        no ALU; ``alu`` is ignored)."""
        wider = DirectLM(self.config.widened(base), backbone=self.backbone)
        widen_state(self, wider, ["int_head", "str_head"], self.config.base, base)
        return wider.to(next(self.parameters()).device).train(self.training)


def _prompt(question: str) -> str:
    return question + " ="


class CausalLM(Answerer):
    """A decoder that writes the answer: no heads, no computer."""

    loss_over = "tokens"  # its loss is a mean over answer tokens (step.loss_units)

    def __init__(self, config: AugmentConfig, backbone: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        self.backbone = backbone if backbone is not None else build_causal_lm(config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        positions = (attention_mask.cumsum(-1) - 1).clamp_min(0)  # left padding when generating
        return self.backbone(input_ids=input_ids, attention_mask=attention_mask,
                             position_ids=positions).logits.float()

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=IGNORE)

    def make_batch(self, tokenizer, examples) -> Batch:
        """Rows ``bos, question " =", " " answer, end``, right-padded; the end is the pad
        id. ``targets`` holds the next token to predict at each position, :data:`IGNORE`
        outside the answer."""
        end = pad_id(tokenizer)
        rows, starts = [], []
        for e in examples:
            prompt = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
            prompt += tokenizer(_prompt(e.question), add_special_tokens=False)["input_ids"]
            answer = tokenizer(" " + str(e.answer), add_special_tokens=False)["input_ids"] + [end]
            rows.append(prompt + answer)
            starts.append(len(prompt))
        T = max(len(r) for r in rows)
        ids = torch.full((len(rows), T), end, dtype=torch.long)
        mask = torch.zeros((len(rows), T), dtype=torch.long)
        targets = torch.full((len(rows), T), IGNORE, dtype=torch.long)
        for i, (r, s) in enumerate(zip(rows, starts)):
            ids[i, :len(r)] = torch.tensor(r)
            mask[i, :len(r)] = 1
            targets[i, s - 1:len(r) - 1] = torch.tensor(r[s:])  # position t predicts token t + 1
        return Batch(ids, mask, targets, list(examples))

    def widen(self, base: int, alu: str | None = None) -> "CausalLM":
        """The same decoder: it writes numbers as text, whatever the base (no ALU)."""
        return CausalLM(self.config.widened(base), backbone=self.backbone).train(self.training)

    def answer_problem(self, answer: object, tokenizer=None) -> str | None:
        """What greedy decoding (:meth:`predict`) can give: the text it writes, stripped,
        read as an ``int`` when it is all digits; with ``tokenizer``, text it can spell
        in at most ``max_new`` tokens."""
        if isinstance(answer, bool) or not isinstance(answer, (int, str)):
            return f"answer {answer!r} is a {type(answer).__name__}, not an integer or a string"
        if isinstance(answer, int) and answer < 0:
            return f"answer {answer} is negative"
        text = str(answer)
        if isinstance(answer, str) and text.isdigit():
            hint = f"; write it as {int(text)}" if text.isascii() else ""
            return f"answer {json.dumps(text)} is a string of digits, but this model reads such text as a number{hint}"
        if text != text.strip():
            return f"answer {json.dumps(text)} starts or ends with a space, but this model's answers are stripped"
        if tokenizer is not None:
            ids = tokenizer(" " + text, add_special_tokens=False)["input_ids"]
            most = inspect.signature(self.predict).parameters["max_new"].default
            if len(ids) > most:
                return f"answer {json.dumps(text)} is {len(ids)} tokens long, but this model writes at most {most}"
            if tokenizer.unk_token_id in ids or tokenizer.decode(ids).strip() != text:
                return f"answer {json.dumps(text, ensure_ascii=False)} has characters this model's tokenizer cannot write"
        return None

    def param_groups(self, backbone_lr_scale: float) -> list[dict]:
        """No heads: the decoder is the whole model, at the full rate."""
        return [{"params": [p for p in self.parameters() if p.requires_grad], "lr_scale": 1.0}]

    @torch.no_grad()
    def predict(self, tokenizer, questions: list[str], max_new: int = 24) -> Prediction:
        """Greedy answers (an ``int`` when the text is a number, else the text) and, per
        answer, the least probability among its tokens."""
        end, device = pad_id(tokenizer), next(self.parameters()).device
        prompts = [([tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else [])
                   + tokenizer(_prompt(q), add_special_tokens=False)["input_ids"] for q in questions]
        T = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), T), end, dtype=torch.long)
        mask = torch.zeros((len(prompts), T), dtype=torch.long)
        for i, p in enumerate(prompts):  # left-padded, so every row continues at the end
            ids[i, T - len(p):] = torch.tensor(p)
            mask[i, T - len(p):] = 1
        ids, mask = ids.to(device), mask.to(device)
        out = [[] for _ in prompts]
        least = torch.ones(len(prompts), device=device)
        done = torch.zeros(len(prompts), dtype=torch.bool, device=device)
        for _ in range(max_new):
            p = self(ids, mask)[:, -1].softmax(-1)
            conf, nxt = p.max(-1)
            least = torch.where(done, least, torch.minimum(least, conf))
            for i, t in enumerate(nxt.tolist()):
                if not done[i] and t != end:
                    out[i].append(t)
            done |= nxt == end
            if bool(done.all()):
                break
            ids = torch.cat([ids, nxt[:, None]], 1)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], 1)
        texts = [tokenizer.decode(o).strip() for o in out]
        return Prediction([int(t) if t.isdigit() else t for t in texts], least.tolist(), [""] * len(texts))


def build_causal_lm(config: AugmentConfig) -> nn.Module:
    """A ``LlamaForCausalLM`` with the backbone's sizes and all its layers, from the
    config or (``model_path``) a local checkpoint."""
    from transformers import AutoModelForCausalLM, LlamaForCausalLM

    cfg = config.backbone
    if cfg.model_path is not None:
        return load_pretrained(AutoModelForCausalLM, cfg.model_path)
    model = LlamaForCausalLM(llama_config(cfg))
    nn.init.normal_(model.model.embed_tokens.weight, std=cfg.embedding_std)
    return model
