"""``make demo``: a tiny LLaMA learns, from answers alone, to use the library's
calculator on natural-language arithmetic ("Add 3 and 4"), on CPU, in a few minutes.

It trains one run (:func:`neurocompiler.train.train`) with the settings below, prints
its test accuracy, then answers a few held-out questions, showing for each the program
the model selected, the inputs it parsed and the machine's confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from .augment import AugmentConfig, BackboneConfig
from .tasks import load_jsonl
from .train import TrainConfig, ask, iter_metrics, train_or_reuse

OPS = ("add", "sub", "mul", "div")


@dataclass
class DemoConfig:
    examples: int = 10_000  # split 70/30
    epochs: int = 3
    seed: int = 0
    out: str = "runs/demo"
    device: str = "auto"
    dim: int = 128
    layers: int = 4
    samples: int = 4  # held-out questions answered at the end


def train_config(cfg: DemoConfig) -> TrainConfig:
    # Numbers are single tokens under a BPE trained on the questions, as under LLaMA 3's
    # tokenizer in the paper's §4.2.
    model = AugmentConfig(base=128, cells=2, functions=OPS, parsing="slots",
                          backbone=BackboneConfig(dim=cfg.dim, layers=cfg.layers))
    return TrainConfig(task="arithmetic", examples=cfg.examples, epochs=cfg.epochs, seed=cfg.seed,
                       out=cfg.out, device=cfg.device, tokenizer="bpe", model=model)


def run_demo(cfg: DemoConfig, progress: bool = True, log=print) -> dict:
    """Train, evaluate and answer ``cfg.samples`` test questions (one per operation first,
    preferring non-zero answers, which are the less guessable)."""
    tcfg = train_config(cfg)
    train_or_reuse(tcfg, progress=progress, log=log)
    metrics = list(iter_metrics(cfg.out))
    test = sorted(load_jsonl(f"{cfg.out}/data/test.jsonl"), key=lambda e: e.answer == 0)
    picked = [next(e for e in test if e.function == op) for op in OPS if any(e.function == op for e in test)]
    picked += [e for e in test if e not in picked]
    answers = []
    for ex in picked[:cfg.samples]:
        out = ask(cfg.out, ex.question, "cpu")
        answers.append({**out, "expected": ex.answer, "correct": out["answer"] == ex.answer})
    return {"run_dir": cfg.out, "test_accuracy": metrics[-1]["test_accuracy"],
            "selection_accuracy": metrics[-1]["selection_accuracy"], "epochs": metrics, "answers": answers}


def format_demo(result: dict) -> str:
    lines = [f"test accuracy {100 * result['test_accuracy']:.2f}%, correct program selected "
             f"{100 * (result['selection_accuracy'] or 0):.2f}% after {len(result['epochs'])} epochs "
             f"(run directory {result['run_dir']})"]
    for a in result["answers"]:
        regs = ", ".join(f"{k} = {v}" for k, v in a["registers"].items() if k != "r3")
        lines.append(f"\n  Q: {a['question']}\n  A: {a['answer']} (expected {a['expected']}, "
                     f"{'right' if a['correct'] else 'WRONG'})\n"
                     f"     program {a['program']} (p = {a['p_program']:.3f}), parsed {regs}, "
                     f"confidence {a['confidence']:.3f}")
    lines.append(f"\nAsk your own: neurocompiler ask {result['run_dir']} \"What is 17 times 5?\"")
    return "\n".join(lines)
