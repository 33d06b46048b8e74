"""The cost of the general parse's keyed Gumbel draws (docs/PERFORMANCE.md, "The general
parse"): one draw of a (32, 8, 40) tensor, keyed per row against per row, leading index
and kind, and one training step of 32 ``mixed`` questions with each, alternated in one
process.

    OMP_NUM_THREADS=1 python scripts/draw_cost.py
"""

from __future__ import annotations

import time

import torch

from neurocompiler import noise
from neurocompiler.augment import AugmentConfig, BackboneConfig
from neurocompiler.step import accumulate_gradients
from neurocompiler.train import TrainConfig, build, make_data

FUNCTIONS = ("add", "sub", "mul", "div", "fib", "insertion_sort", "count", "reverse")


def per_call(draw, repeats: int = 20) -> float:
    x = torch.zeros(32, 8, 40)
    with noise.rows(1, range(32)):
        start = time.perf_counter()
        for _ in range(repeats):
            draw(x)
    return (time.perf_counter() - start) / repeats


def main() -> None:
    keyed = noise.exponential_blocks_like
    per_row = lambda x, blocks=None: noise.exponential_like(x)  # noqa: E731
    print(f"one draw: keyed per option {per_call(lambda x: keyed(x, (24, 15, 1))) * 1e3:.2f} ms, "
          f"per row {per_call(per_row) * 1e3:.2f} ms")
    cfg = TrainConfig(task="mixed", task_options={"lengths": (3, 4)}, examples=200, batch_size=32,
                      model=AugmentConfig(base=128, cells=4, functions=FUNCTIONS, max_steps=200,
                                          backbone=BackboneConfig(dim=64, layers=3)))
    train_set, _ = make_data(cfg)
    torch.manual_seed(0)
    tokenizer, model = build(cfg, None, train_set)
    model.train()
    times: dict[str, list[float]] = {"keyed per option": [], "per row": []}
    for _ in range(4):
        for name, draw in (("keyed per option", keyed), ("per row", per_row)):
            noise.exponential_blocks_like = draw
            start = time.perf_counter()
            accumulate_gradients(model, model, tokenizer, train_set[:32], torch.device("cpu"), 32, 1, False, "step")
            model.zero_grad()
            times[name].append(time.perf_counter() - start)
    noise.exponential_blocks_like = keyed
    for name, ts in times.items():
        print(f"one step, {name}: median {sorted(ts)[len(ts) // 2]:.2f} s over {len(ts)}")


if __name__ == "__main__":
    main()
