"""Gradient accumulation (step.accumulate_gradients in micro-batches) gives the full
batch's gradients and update, for the augmented model and both baselines, and the
planner (footprint_lm.plan_training) splits a step only when the budget asks for it."""

import pytest
import torch

from neurocompiler.augment import AugmentConfig, BackboneConfig
from neurocompiler.errors import MemoryBudgetError
from neurocompiler.footprint_lm import lengths, plan_training, shapes, step_estimate
from neurocompiler.resources import Budget
from neurocompiler.step import accumulate_gradients
from neurocompiler.tasks import Example
from neurocompiler.train import TrainConfig, build, make_data

# float32 throughout (the model casts z to float32): micro-batches only reorder sums
# and change the padding, so gradients agree to a few float32 ulps of their largest
# entry; a wrong weighting is off by percents (see the last test).
RTOL = 2e-5


def tiny(architecture: str = "augmented", batch: int = 12, **model) -> TrainConfig:
    model = {"base": 16, "cells": 2, "parsing": "slots", **model}
    m = AugmentConfig(backbone=BackboneConfig(dim=16, layers=2, heads=2, kv_heads=1), **model)
    return TrainConfig(task="arithmetic", examples=60, batch_size=batch, model=m, architecture=architecture)


def one_step(cfg: TrainConfig, micro: int | None):
    """The loss, the gradients and the updated weights after one step from the
    same initial weights (seeded)."""
    train_set, _ = make_data(cfg)
    torch.manual_seed(0)
    tokenizer, model = build(cfg, None, train_set)
    model.train()
    # SGD: the update is the gradient scaled (AdamW would divide float32 noise by itself
    # where a gradient is ~0, and its first step is the gradients' signs)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    examples = train_set[:cfg.batch_size]
    loss = accumulate_gradients(model, model, tokenizer, examples, torch.device("cpu"), len(examples), 1, False,
                                "test", micro_batch=micro)
    grads = {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
    opt.step()
    return loss, grads, {k: p.detach().clone() for k, p in model.named_parameters()}


def close(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        torch.allclose(a[k], b[k], rtol=RTOL, atol=RTOL * max(1e-6, float(b[k].abs().max()))) for k in a)


def assert_micro_batches_give_the_full_step(cfg: TrainConfig) -> dict:
    """Micro-batches of 5 and of 1 give the whole batch's loss, gradients and update,
    each from the same seeded start; returns the whole batch's gradients."""
    torch.manual_seed(1)
    loss, grads, weights = one_step(cfg, None)
    for micro in (5, 1):
        torch.manual_seed(1)
        l_m, g_m, w_m = one_step(cfg, micro)
        assert l_m == pytest.approx(loss, rel=1e-5) and close(g_m, grads) and close(w_m, weights), micro
    return grads


@pytest.mark.parametrize("architecture", ["augmented", "direct", "autoregressive"])
def test_micro_batches_give_the_full_batch_gradients_and_update(architecture):
    cfg = tiny(architecture)
    loss, grads, weights = one_step(cfg, None)
    for micro in (5, 1):  # uneven (5, 5, 2) and single examples
        l_m, g_m, w_m = one_step(cfg, micro)
        assert l_m == pytest.approx(loss, rel=1e-5)
        assert close(g_m, grads), (architecture, micro)
        assert close(w_m, weights), (architecture, micro)
    assert any(g.abs().max() > 0 for g in grads.values())


def test_micro_batches_draw_each_question_the_full_batch_s_span_noise():
    """Span candidates are sampled (Gumbel top-k) in training: each question draws its
    own noise (neurocompiler.noise), so micro-batches still give the full batch's step;
    drawn from one generator for the whole batch, they would not (checked below)."""
    from neurocompiler import noise

    cfg = TrainConfig(task="sort", task_options={"lengths": (3, 4)}, examples=60, batch_size=12,
                      model=AugmentConfig(base=128, cells=4, functions=("insertion_sort", "reverse"), max_steps=60,
                                          parsing="slots",
                                          slots={"cell_values": "token", "list_length": "abi", "span_candidates": 4},
                                          backbone=BackboneConfig(dim=16, layers=2, heads=2, kv_heads=1)))
    grads = assert_micro_batches_give_the_full_step(cfg)
    shared = noise.exponential_like  # one stream for the batch: micro-batches draw other noise
    try:
        noise.exponential_like = lambda x: torch.empty_like(x).exponential_()
        _, g_shared, _ = one_step(cfg, 5)
    finally:
        noise.exponential_like = shared
    assert not close(g_shared, grads)


def test_token_mean_losses_are_weighted_by_tokens(monkeypatch):
    """The CausalLM's loss averages over answer tokens: weighting micro-batches by
    their examples instead would not reproduce the full batch."""
    from neurocompiler.baselines import CausalLM

    cfg = tiny("autoregressive")
    _, grads, _ = one_step(cfg, None)
    monkeypatch.setattr(CausalLM, "loss_over", "examples")
    _, wrong, _ = one_step(cfg, 5)
    assert not close(wrong, grads)


def _planned(cfg: TrainConfig, limit: Budget):
    train_set, _ = make_data(cfg)
    tokenizer, model = build(cfg, None, train_set)
    return plan_training(cfg, model, tokenizer, train_set, limit), model, tokenizer, train_set


def test_a_small_budget_splits_the_step_into_micro_batches():
    cfg = tiny(batch=32, base=64)
    plan, model, tokenizer, train_set = _planned(cfg, Budget(1 << 40, "flag", "1T"))
    assert (plan.micro_batch, plan.micro_batches) == (32, 1)
    s, T = shapes(model), lengths(tokenizer, train_set)
    # a budget between the step of 8 questions and that of 9
    limit = (step_estimate(cfg, s, 8, T).total + step_estimate(cfg, s, 9, T).total) // 2
    plan, *_ = _planned(cfg, Budget(limit, "flag", "x"))
    assert plan.micro_batch == 8 and plan.micro_batches == 4
    assert plan.estimate.total <= limit


def test_no_micro_batch_fits_is_one_line():
    cfg = tiny()
    with pytest.raises(MemoryBudgetError) as err:
        _planned(cfg, Budget(100 << 20, "flag", "100M"))
    msg = str(err.value)
    assert "\n" not in msg and "needs about" in msg and "100 MiB (--memory-budget 100M)" in msg
    assert "--batch-size" in msg


def test_the_step_estimate_grows_with_the_question_length():
    """A long question (3,000 characters) costs far more per micro-batch than a short
    one, so it gets a smaller micro-batch."""
    cfg = tiny(batch=32)
    train_set, _ = make_data(cfg)
    tokenizer, model = build(cfg, None, train_set)
    s = shapes(model)
    short = lengths(tokenizer, train_set)
    long = lengths(tokenizer, [Example("Add 3 and 4. " * 230, 7)])
    assert long > 2900 and short < 60
    assert step_estimate(cfg, s, 8, long).total > 10 * step_estimate(cfg, s, 8, short).parts["backbone activations"]
    limit = Budget(step_estimate(cfg, s, 4, long).total, "flag", "x")
    long_plan = plan_training(cfg, model, tokenizer, [Example("Add 3 and 4. " * 230, 7)], limit)
    short_plan = plan_training(cfg, model, tokenizer, train_set, limit)
    assert long_plan.micro_batch == 4 and short_plan.micro_batch == 32


@pytest.mark.parametrize("task, functions, options", [
    ("arithmetic", ("add", "sub", "mul", "div"), {}),  # numbers and characters: two padded blocks of options
    ("sort", ("insertion_sort", "reverse", "count"), {"lengths": (3, 4)}),
])
def test_the_general_parse_draws_each_question_the_same_candidates_in_any_micro_batch(task, functions, options):
    """The general parse (the default) samples its candidates (Gumbel top-k over each
    input's options: the question's numbers, then its characters, each block padded to
    the batch's most). Each question's draws are keyed by its place and by each option's
    place within its block, so micro-batches still give the full batch's step; keyed by
    the padded column, they would not (checked below)."""
    from neurocompiler import noise

    cfg = TrainConfig(task=task, task_options=options, examples=60, batch_size=12,
                      model=AugmentConfig(base=128, cells=4, functions=functions, max_steps=60,
                                          backbone=BackboneConfig(dim=16, layers=2, heads=2, kv_heads=1)))
    assert_micro_batches_give_the_full_step(cfg)
    if task == "arithmetic":
        blocks = noise.exponential_blocks_like
        try:  # one block over the padded columns: a character's draw moves with the batch's numbers
            noise.exponential_blocks_like = lambda x, _=None: blocks(x)
            torch.manual_seed(1)
            l_whole = one_step(cfg, None)[0]
            torch.manual_seed(1)
            l_split = one_step(cfg, 5)[0]
        finally:
            noise.exponential_blocks_like = blocks
        assert l_split != pytest.approx(l_whole, rel=1e-5)


def test_a_block_s_draws_do_not_depend_on_its_padding():
    from neurocompiler import noise

    with noise.rows(7, [3, 4]):
        short = noise.exponential_blocks_like(torch.zeros(2, 3, 5), (2, 2, 1))
    with noise.rows(7, [3, 4]):
        long = noise.exponential_blocks_like(torch.zeros(2, 3, 9), (4, 4, 1))
    assert torch.equal(long[..., :2], short[..., :2]) and torch.equal(long[..., 4:6], short[..., 2:4])
    assert torch.equal(long[..., 8], short[..., 4])
    with noise.rows(8, [3, 4]):  # another step's seed draws other noise
        assert not torch.equal(noise.exponential_blocks_like(torch.zeros(2, 3, 5), (2, 2, 1)), short)
    with pytest.raises(ValueError, match="do not cover"):
        with noise.rows(7, [3, 4]):
            noise.exponential_blocks_like(torch.zeros(2, 3, 5), (2, 2))
