"""What training, evaluation and ``ask`` need from any model (:class:`Answerer`), and
widening a trained model to a larger base."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..datacheck import head_problem
from ..errors import InputError
from .outputs import Batch, Prediction, answer_confidence, answer_targets, decode_answers


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


class Answerer(nn.Module):
    """What training, evaluation and ``ask`` need from a model, so that they treat the
    augmented model and the baselines alike. A subclass has ``config``
    (:class:`AugmentConfig`), ``backbone``, ``forward(input_ids, attention_mask)`` and
    ``loss(out, targets)``; these defaults fit models that answer through heads
    (``int_logits``, ``str_logits``, ``answer_is_int``)."""

    def make_batch(self, tokenizer, examples: Sequence) -> Batch:
        from ..tokenizer import encode

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
        from ..tokenizer import encode

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
