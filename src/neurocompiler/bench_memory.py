"""``neurocompiler bench memory``: the memory guard's estimates against measured peaks.

Each case runs in a fresh Python process, which computes the estimate the guard would
(:mod:`neurocompiler.footprint`, :mod:`neurocompiler.footprint_lm`), prints it, then
does the work. The parent reads the child's peak resident set size from the kernel
(``os.wait4``'s ``ru_maxrss``, for that child alone) and yields one row per case:
``{"bench": "memory", "case", "estimate_bytes", "peak_bytes", "ratio"}`` (ratio =
estimate / peak; the guard's bar is 0.5 <= ratio <= 2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from importlib.resources import as_file, files as resource_files
from typing import Callable, Iterator, Sequence

SORT = "figure4_insertion_sort.asm"
COUNTDOWN = "    const 1 r2\nloop:\n    sub r1 r2 r1\n    eq r1 r0 r3\n    jump r3 done\n    jmp loop\ndone:\n    halt\n"


def _soft(base: int, memory: int, batch: int, alu: str, grad_steps: int = 0) -> int:
    """The Figure 4 sort on ``batch`` random lists (soft memory when ``grad_steps``, run
    that many steps and differentiated)."""
    import torch

    from . import footprint
    from .asm import assemble_files
    from .compiler import compile_program
    from .config import MachineConfig
    from .machine import Machine

    cfg = MachineConfig(base=base, memory=memory)
    with as_file(resource_files("neurocompiler") / "programs" / SORT) as path:
        program = assemble_files([path], cfg)
    used = {ins.op for ins in program.instructions}
    est = footprint.soft_run(cfg, len(program) + 1, alu, batch, traced_steps=grad_steps, used=used)
    _report(est.total)
    machine = Machine(compile_program(program), alu=alu)
    gen = torch.Generator().manual_seed(0)
    cells = torch.zeros(batch, cfg.m, dtype=torch.long)
    cells[:, :8] = torch.randint(0, base, (batch, 8), generator=gen)
    memory_t = torch.nn.functional.one_hot(cells, base).float()
    if grad_steps:
        memory_t = torch.softmax(memory_t * 10, -1).requires_grad_()
        run = machine.run(machine.initial_state(memory=memory_t), max_steps=grad_steps)
        (run.state.M[:, :8] * torch.arange(base)).sum().backward()
    else:
        with torch.no_grad():
            machine.run(machine.initial_state(memory=memory_t), max_steps=10_000)
    return est.total


def _hard_trace(steps: int) -> int:
    """``neurocompiler trace`` of a countdown loop of ``steps`` steps, printed to /dev/null."""
    from . import footprint
    from .cli import main
    from .config import MachineConfig

    loops = steps // 4
    cfg = MachineConfig(base=1 << 20, memory=4)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "countdown.asm")
        with open(path, "w") as fh:
            fh.write(COUNTDOWN)
        lines = COUNTDOWN.count("\n") - 1  # instructions + the implicit halt
        est = footprint.hard_run(cfg).total + 4 * loops * footprint.hard_trace_step(cfg, lines)
        _report(est)
        stdout, sys.stdout = sys.stdout, open(os.devnull, "w")
        try:
            code = main(["trace", path, "--base", str(cfg.base), "--memory", "4", "--set", f"r1={loops}",
                         "--max-steps", str(10 * steps)])
        finally:
            sys.stdout.close()
            sys.stdout = stdout
        assert code == 0, code
    return est


def _train(architecture: str, base: int, batch: int, dim: int, alu: str = "table") -> int:
    """One optimisation step of a tiny model on arithmetic, in the micro-batches
    :func:`~neurocompiler.footprint_lm.plan_training` chooses."""
    import torch

    from .augment import AugmentConfig, BackboneConfig
    from .footprint_lm import plan_training, shapes, lengths, step_estimate
    from .step import accumulate_gradients
    from .train import TrainConfig, build, make_data

    model_cfg = AugmentConfig(parsing="slots", base=base, cells=2, alu=alu, backbone=BackboneConfig(dim=dim, layers=4))
    cfg = TrainConfig(task="arithmetic", examples=max(100, 2 * batch), batch_size=batch, model=model_cfg,
                      architecture=architecture)
    train_set, _ = make_data(cfg)
    tokenizer, model = build(cfg, None, train_set)
    plan = plan_training(cfg, model, tokenizer, train_set)
    examples = train_set[:batch]
    est = step_estimate(cfg, shapes(model), plan.micro_batch, lengths(tokenizer, examples, architecture
                                                                          == "autoregressive"))
    _report(est.total)
    model.train()
    opt = torch.optim.AdamW(model.param_groups(cfg.backbone_lr_scale), lr=1e-3)
    accumulate_gradients(model, model, tokenizer, examples, torch.device("cpu"), len(examples), 1, False,
                         "bench", micro_batch=plan.micro_batch)
    opt.step()
    return est.total


def _eval_wide(base: int, alu: str) -> int:
    """Evaluating a freshly trained tiny run widened to ``base`` (``eval --base --alu``)."""
    from .augment import AugmentConfig, BackboneConfig
    from .footprint_lm import _questions_length, answer_estimate, shapes
    from .tasks import load_jsonl
    from .train import TrainConfig, evaluate, load_run, train

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        model_cfg = AugmentConfig(parsing="slots", base=128, cells=2, backbone=BackboneConfig(dim=32, layers=2))
        train(TrainConfig(task="arithmetic", examples=200, epochs=1, out=out, model=model_cfg),
              progress=False, log=lambda line: None)
        cfg, model, tokenizer = load_run(out, base=base, alu=alu)
        examples = load_jsonl(os.path.join(out, "data", "test.jsonl"))
        questions = [e.question for e in examples]
        est = answer_estimate(cfg, shapes(model), _questions_length(tokenizer, questions), len(examples),
                              base, alu)
        _report(est.total)
        evaluate(model, tokenizer, examples, len(examples))
    return est.total


CASES: dict[str, Callable[[], int]] = {
    "soft-1024-b1": lambda: _soft(1024, 1024, 1, "table"),
    "soft-4096-m16-b1": lambda: _soft(4096, 16, 1, "table"),
    "soft-1024-m16-b64": lambda: _soft(1024, 16, 64, "table"),
    "soft-grad-512-m16-b32": lambda: _soft(512, 16, 32, "table", grad_steps=100),
    "trace-hard-400k": lambda: _hard_trace(400_000),
    "train-augmented-256-b64": lambda: _train("augmented", 256, 64, 64),
    "train-direct-1024-b64": lambda: _train("direct", 1024, 64, 64),
    "eval-wide-16384-exact": lambda: _eval_wide(16384, "exact"),
}


def _report(estimate: int) -> None:
    print(json.dumps({"estimate_bytes": int(estimate)}), flush=True)


def _child(name: str) -> None:
    """Runs in the fresh process: one case."""
    import torch

    torch.set_num_threads(1)
    CASES[name]()
    print(json.dumps({"vm_hwm_bytes": _own_peak()}), flush=True)


def _own_peak() -> int | None:
    """This process's own peak RSS (``VmHWM``): unlike the ``ru_maxrss`` its parent
    reaps, it does not count the parent's pages shared before ``exec``."""
    from .resources import proc_kb

    return proc_kb("VmHWM")


def _wait(proc: subprocess.Popen, timeout: float):
    """Reap ``proc`` with ``os.wait4``: (exit status, its own peak RSS in bytes)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
            return proc.returncode, usage.ru_maxrss * 1024  # kilobytes on Linux
        if time.monotonic() > deadline:
            proc.kill()
        time.sleep(0.05)


def measure(name: str, timeout: float = 600) -> dict:
    """One case in a fresh interpreter: its estimate and its measured peak RSS."""
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    env.pop("NEUROCOMPILER_MEMORY_BUDGET", None)  # the child runs what it estimates
    code = f"from neurocompiler.bench_memory import _child; _child({name!r})"
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=err, env=env, text=True)
        code, peak = _wait(proc, timeout)
        out.seek(0)
        err.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("{")]
        tail = (err.read().strip().splitlines() or [f"exit {code}"])[-1][:300]
    row = {"bench": "memory", "case": name}
    if code != 0 or not lines:
        return {**row, "estimate_bytes": None, "peak_bytes": peak, "ratio": None, "error": tail}
    estimate = json.loads(lines[0])["estimate_bytes"]
    own = [json.loads(line)["vm_hwm_bytes"] for line in lines if "vm_hwm_bytes" in line]
    peak = own[-1] if own and own[-1] else peak
    return {**row, "estimate_bytes": estimate, "peak_bytes": peak, "ratio": round(estimate / peak, 3)}


def memory_rows(cases: Sequence[str] | None = None) -> Iterator[dict]:
    """One row per case of :data:`CASES` (or ``cases``), each measured in its own process."""
    for name in cases or CASES:
        yield measure(name)


__all__ = ["CASES", "measure", "memory_rows"]
