"""The benchmarks behind ``neurocompiler bench`` (and ``benchmarks/*.py``).

Three generators of plain-dict rows, one row per measured configuration:

* :func:`alu_rows`: one ALU call, forward plus backward (gradients with respect to the
  opcode weights and both operands), for the paper's dense table contracted as eq. 7 is
  written (``dense_einsum``), the dense table in its best contraction order
  (``dense_best``) and the fast lookup-table ALU (``table``);
* :func:`machine_rows`: whole machine steps per second running the paper's Figure 4
  insertion sort, forward only and forward plus backward, with the ``table`` ALU and
  the ``dense`` (eq. 7 as written) baseline;
* :func:`size_rows`: the peak resident memory of a fresh process that runs a program on
  a machine of a large base (1024 by default), measured from outside in a subprocess.

A configuration whose estimated memory exceeds ``budget`` bytes is not run: its row
carries ``"skipped": reason`` and ``None`` for the timings. Times are medians over
``repeats`` runs after one warm-up run. ``peak_rss_bytes`` is the peak resident set
size of this process while the row was measured (Linux only, else ``None``); it
includes the interpreter and torch themselves (a few hundred MB).
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from importlib.resources import as_file, files as resource_files
from typing import Callable, Iterable, Iterator, Sequence

import torch

from .alu import DenseALU, TableALU, make_alu
from .alu.tables import dense_table_bytes
from .isa import ALU_NAMES
from .resources import proc_kb

GB = 2 ** 30
MEMORY_BUDGET = 8 * GB  # configurations estimated above this are skipped
SIZE_LIMIT = 2 * GB  # the claim checked by size_rows: peak RSS below this

# ALU opcodes in benchmark order: the arithmetic and the comparisons first, so the
# default first 8 (add sub mul eq lt le min max) mix structured opcodes with the
# generic scatter path (mul).
BENCH_OPS: tuple[str, ...] = ("add", "sub", "mul", "eq", "lt", "le", "min", "max",
                              "div", "mod", "copy", "inc", "dec")
assert sorted(BENCH_OPS) == sorted(ALU_NAMES)

ALU_METHODS = ("dense_einsum", "dense_best", "table")
MACHINE_ALUS = ("table", "dense")
SORT_PROGRAM = "figure4_insertion_sort.asm"
SORT_LENGTH = 8  # the Figure 4 listing sorts M[0..7]

_F32 = 4


# --------------------------------------------------------------------------- helpers

def _malloc_trim() -> None:
    """Hand freed heap memory back to the OS (glibc), so that RSS is what is in use."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process to its current RSS,
    after trimming the heap; False if unsupported (not Linux)."""
    gc.collect()
    _malloc_trim()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


@contextmanager
def _peak_rss(out: dict, key: str = "peak_rss_bytes"):
    """Sets ``out[key]`` to the peak RSS reached inside the block (None if unknown)."""
    ok = _reset_peak_rss()
    try:
        yield
    finally:
        out[key] = proc_kb("VmHWM") if ok else None


@contextmanager
def _threads(n: int | None):
    old = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(old)


def _median_seconds(fn: Callable[[], object], repeats: int, warmup: Callable[[], object] | None = None) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs after one warm-up run."""
    (warmup or fn)()
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _soft(gen: torch.Generator, *shape: int, sharpness: float = 3.0) -> torch.Tensor:
    """Random soft distributions along the last axis (a leaf that requires grad)."""
    logits = torch.randn(*shape, generator=gen) * sharpness
    return torch.softmax(logits, -1).requires_grad_()


def _fmt_bytes(b: float | None) -> str:
    if b is None:
        return "-"
    for unit, k in (("GB", GB), ("MB", 2 ** 20), ("KB", 2 ** 10)):
        if b >= k:
            return f"{b / k:.3g} {unit}"
    return f"{int(b)} B"


# ------------------------------------------------------------------------------ ALU

def alu_estimate_bytes(method: str, n: int, batch: int, n_ops: int) -> int:
    """Estimated peak bytes of one forward+backward ALU call (tables included).

    * ``dense_einsum``: T, plus the (B, n, n, n) intermediate of the first contraction
      and its gradient in the backward pass;
    * ``dense_best``: T, plus the (B, |ops| n^2) outer product and its gradient;
    * ``table``: an n x n index per opcode and a few (B, n, n) temporaries.
    """
    if method == "dense_einsum":
        return dense_table_bytes(n_ops, n) + 2 * batch * n ** 3 * _F32
    if method == "dense_best":
        return dense_table_bytes(n_ops, n) + 2 * batch * n_ops * n ** 2 * _F32
    if method == "table":
        return n_ops * n * n * 8 + 4 * batch * n * n * _F32
    raise ValueError(f"unknown ALU method {method!r} (choose from {', '.join(ALU_METHODS)})")


def _make_bench_alu(method: str, n: int, ops: tuple[str, ...]):
    if method == "dense_einsum":
        return DenseALU(n, ops=ops, order="paper")
    if method == "dense_best":
        return DenseALU(n, ops=ops, order="best")
    if method == "table":
        return TableALU(n, ops=ops)
    raise ValueError(f"unknown ALU method {method!r} (choose from {', '.join(ALU_METHODS)})")


def alu_rows(sizes: Sequence[int] = (64, 128, 256, 512, 1024), batch: int = 32, repeats: int = 5,
             n_ops: int = 8, methods: Sequence[str] = ALU_METHODS, budget: int = MEMORY_BUDGET,
             threads: int | None = None, seed: int = 0,
             circuit_bits: Sequence[int] = (8, 16, 32)) -> Iterator[dict]:
    """Forward+backward time of one ALU call, per method and base n, then the circuit
    ALU's rows for each word size in ``circuit_bits`` (see :func:`circuit_rows`).

    Inputs: ``op_probs`` (batch, n_ops) and operands ``a``, ``b`` (batch, n), all soft
    random distributions that require grad; every opcode has nonzero weight, so no
    opcode is skipped. The opcodes are the first ``n_ops`` of :data:`BENCH_OPS`.

    Row keys: ``method``, ``n``, ``batch``, ``n_ops``, ``fwd_bwd_ms`` (median),
    ``table_bytes`` (the ALU's tables), ``est_bytes`` (estimated peak, see
    :func:`alu_estimate_bytes`), ``peak_rss_bytes``, ``setup_s`` (building the ALU),
    ``threads``, ``repeats``, and ``skipped`` (a reason) when not run.
    """
    if not 1 <= n_ops <= len(BENCH_OPS):
        raise ValueError(f"n_ops must be in 1..{len(BENCH_OPS)}, got {n_ops}")
    ops = BENCH_OPS[:n_ops]
    with _threads(threads) as nthreads:
        for n in sizes:
            for method in methods:
                est = alu_estimate_bytes(method, n, batch, n_ops)
                row = {"method": method, "n": n, "batch": batch, "n_ops": n_ops,
                       "fwd_bwd_ms": None,
                       "table_bytes": dense_table_bytes(n_ops, n) if method != "table" else None,
                       "est_bytes": est, "peak_rss_bytes": None, "setup_s": None,
                       "threads": nthreads, "repeats": repeats}
                if est > budget:
                    row["skipped"] = (f"estimated {_fmt_bytes(est)} exceeds the "
                                      f"{_fmt_bytes(budget)} budget")
                    yield row
                    continue
                with _peak_rss(row):
                    t0 = time.perf_counter()
                    alu = _make_bench_alu(method, n, ops)
                    row["setup_s"] = time.perf_counter() - t0
                    row["table_bytes"] = alu.table_bytes()
                    gen = torch.Generator().manual_seed(seed)
                    f = _soft(gen, batch, n_ops, sharpness=1.0)
                    a = _soft(gen, batch, n)
                    b = _soft(gen, batch, n)
                    g = torch.randn(batch, n, generator=gen)

                    def fwd_bwd() -> None:
                        f.grad = a.grad = b.grad = None
                        alu(f, a, b).backward(g)

                    row["fwd_bwd_ms"] = 1e3 * _median_seconds(fwd_bwd, repeats)
                    del alu, f, a, b, g
                yield row
    yield from circuit_rows(circuit_bits, batch, repeats, n_ops, threads, seed)


def circuit_rows(bits: Sequence[int] = (8, 16, 32), batch: int = 32, repeats: int = 5,
                 n_ops: int = 8, threads: int | None = None, seed: int = 0) -> Iterator[dict]:
    """Forward+backward time and memory of the circuit ALU per word size b.

    ``method`` ``circuit`` goes one-hot -> bits -> circuits -> one-hot (n = 2^b, so
    only where the one-hot width fits: b <= 16); ``circuit_bits`` runs the same
    circuits on soft b-bit words directly (``CircuitALU.forward_bits``), at any b.
    """
    from .alu.circuit import CircuitALU

    ops = BENCH_OPS[:n_ops]
    with _threads(threads) as nthreads:
        for b in bits:
            for method in ("circuit", "circuit_bits"):
                row = {"method": method, "n": 2 ** b, "bits": b, "batch": batch, "n_ops": n_ops,
                       "fwd_bwd_ms": None, "table_bytes": None, "peak_rss_bytes": None,
                       "threads": nthreads, "repeats": repeats}
                if method == "circuit" and b > 16:
                    row["skipped"] = f"a one-hot word of 2^{b} values does not fit; see circuit_bits"
                    yield row
                    continue
                with _peak_rss(row):
                    gen = torch.Generator().manual_seed(seed)
                    alu = CircuitALU(2 ** min(b, 16), ops=ops)
                    row["table_bytes"] = alu.table_bytes() if method == "circuit" else 0
                    f = _soft(gen, batch, n_ops, sharpness=1.0)
                    if method == "circuit":
                        x, y = _soft(gen, batch, 2 ** b), _soft(gen, batch, 2 ** b)
                        call = lambda: alu(f, x, y)  # noqa: E731
                    else:
                        x = torch.rand(batch, b, generator=gen).requires_grad_()
                        y = torch.rand(batch, b, generator=gen).requires_grad_()
                        call = lambda: alu.forward_bits(f, x, y)  # noqa: E731

                    def fwd_bwd() -> None:
                        f.grad = x.grad = y.grad = None
                        out = call()
                        out.backward(torch.ones_like(out))

                    row["fwd_bwd_ms"] = 1e3 * _median_seconds(fwd_bwd, repeats)
                    del alu, f, x, y
                yield row


# -------------------------------------------------------------------------- machine

def _sort_machine(base: int, alu: str, memory: int | None = None):
    from .asm import assemble_files
    from .compiler import compile_program
    from .config import MachineConfig
    from .machine import Machine

    path = resource_files("neurocompiler") / "programs" / SORT_PROGRAM
    cfg = MachineConfig(base=base, memory=memory)
    with as_file(path) as p:
        program = assemble_files([p], cfg)
    return Machine(compile_program(program), alu=make_alu(alu, base))


def machine_estimate_bytes(alu: str, base: int, batch: int, memory: int, n_ops: int,
                           grad_steps: int = 0) -> int:
    """Estimated peak bytes of a machine run: the ALU's transient working set, plus,
    when ``grad_steps`` > 0, what autograd keeps per step for the backward pass."""
    n = base
    state = batch * (memory + 32) * n * _F32
    if alu == "dense":
        table, transient, per_step = dense_table_bytes(n_ops, n), batch * n ** 3 * _F32, batch * n ** 3 * _F32
    elif alu == "dense_best":
        table = dense_table_bytes(n_ops, n)
        transient = per_step = batch * n_ops * n * n * _F32
    else:
        table, transient, per_step = n_ops * n * n * 8, 2 * batch * n * n * _F32, 0
    per_step += 3 * state  # the memory and register writes keep (B, m, n) tensors
    if grad_steps:
        return table + 2 * transient + grad_steps * per_step
    return table + transient + 2 * state


def _sort_inputs(machine, batch: int, gen: torch.Generator, grad: bool):
    """Soft random memory: softmax of random logits * 10 (requires grad when ``grad``)."""
    cfg = machine.config
    logits = torch.randn(batch, cfg.m, cfg.base, generator=gen) * 10
    memory = torch.softmax(logits, -1)
    if grad:
        memory.requires_grad_()
    return memory


def _run_steps(machine, memory: torch.Tensor, steps: int):
    state = machine.initial_state(memory=memory)
    for _ in range(steps):
        state = machine.step(state)
    return state


def _sort_loss(state, n: int) -> torch.Tensor:
    """Expected value of the sorted cells, plus the halting probability."""
    values = torch.arange(n, dtype=state.M.dtype)
    return (state.M[:, :SORT_LENGTH] * values).sum() / n + state.h.sum()


def _timed_steps(run: Callable[[int], object], steps: int, repeats: int,
                 time_budget_s: float | None, warm: int = 2) -> tuple[int, float]:
    """Warm up with ``warm`` steps, then time ``run(k)`` ``repeats`` times; returns
    ``(k, median seconds)``. ``k`` is ``steps``, or fewer (at least ``warm``) when the
    warm-up says ``repeats`` runs of ``steps`` would take longer than ``time_budget_s``."""
    warm = max(1, min(steps, warm))
    t0 = time.perf_counter()
    run(warm)
    per_step = (time.perf_counter() - t0) / warm
    k = steps
    if time_budget_s is not None and per_step * steps * repeats > time_budget_s:
        k = max(warm, int(time_budget_s / (per_step * max(1, repeats))))
    return k, _median_seconds(lambda: run(k), repeats, warmup=lambda: None)


def machine_rows(batches: Sequence[int] = (1, 32, 256), base: int = 128, repeats: int = 3,
                 steps: int = 64, alus: Sequence[str] = MACHINE_ALUS, budget: int = MEMORY_BUDGET,
                 time_budget_s: float | None = 90.0, min_grad_steps: int = 2,
                 threads: int | None = None, seed: int = 0) -> Iterator[dict]:
    """Machine steps per second on the Figure 4 insertion sort at base ``base``.

    Each row runs a fixed number of machine steps (halted or not) from soft random
    memory (softmax of random logits * 10), first under ``torch.no_grad``
    (``steps_per_s``), then with that memory requiring grad, and a backward pass from a
    loss on the final state (``fwd_bwd_steps_per_s``: forward and backward time
    together, per step).

    The step count is ``steps``, but fewer where the run would be slow or large (the
    dense baseline): at most what ``repeats`` runs do in ``time_budget_s`` seconds
    (estimated from a 2-step warm-up), and, with gradients, at most what fits in
    ``budget`` bytes (autograd keeps every step's tensors). The counts run are in the row
    (``steps``, ``fwd_bwd_steps``). When fewer than ``min_grad_steps`` steps would fit,
    forward+backward is skipped (``fwd_bwd_steps_per_s`` None, ``skipped`` set); so is a
    whole row whose forward pass alone would exceed ``budget``.

    Row keys: ``alu``, ``batch``, ``base``, ``steps``, ``steps_per_s``,
    ``fwd_bwd_steps``, ``fwd_bwd_steps_per_s``, ``program``, ``table_bytes``,
    ``peak_rss_bytes`` (forward), ``fwd_bwd_peak_rss_bytes``, ``threads``, ``repeats``,
    and ``skipped`` (a reason) when some part was not run.
    """
    n_ops = len(ALU_NAMES)
    with _threads(threads) as nthreads:
        for alu in alus:
            machine = None
            for batch in batches:
                row = {"alu": alu, "batch": batch, "base": base, "steps": None,
                       "steps_per_s": None, "fwd_bwd_steps": None, "fwd_bwd_steps_per_s": None,
                       "program": SORT_PROGRAM, "table_bytes": None, "peak_rss_bytes": None,
                       "fwd_bwd_peak_rss_bytes": None, "threads": nthreads, "repeats": repeats}
                fwd_est = machine_estimate_bytes(alu, base, batch, base, n_ops)
                if fwd_est > budget:
                    row["skipped"] = (f"forward estimated {_fmt_bytes(fwd_est)} exceeds the "
                                      f"{_fmt_bytes(budget)} budget")
                    yield row
                    continue
                if machine is None:
                    machine = _sort_machine(base, alu)
                row["table_bytes"] = machine.alu.table_bytes()
                gen = torch.Generator().manual_seed(seed)

                # Forward only.
                memory = _sort_inputs(machine, batch, gen, grad=False)
                with _peak_rss(row), torch.no_grad():
                    k, sec = _timed_steps(lambda k: _run_steps(machine, memory, k), steps, repeats,
                                          time_budget_s)
                row["steps"], row["steps_per_s"] = k, k / sec

                # Forward + backward, on as many steps as fit the memory budget.
                grad_steps = steps
                while grad_steps > 0 and machine_estimate_bytes(
                        alu, base, batch, base, n_ops, grad_steps) > budget:
                    grad_steps -= 1
                need = min(min_grad_steps, steps)
                if grad_steps < need:
                    est = machine_estimate_bytes(alu, base, batch, base, n_ops, need)
                    row["skipped"] = (f"fwd+bwd: {need} steps estimated {_fmt_bytes(est)}, "
                                      f"over the {_fmt_bytes(budget)} budget")
                    yield row
                    continue
                memory = _sort_inputs(machine, batch, gen, grad=True)

                def fwd_bwd(k: int) -> None:
                    memory.grad = None
                    _sort_loss(_run_steps(machine, memory, k), base).backward()

                with _peak_rss(row, "fwd_bwd_peak_rss_bytes"):
                    k, sec = _timed_steps(fwd_bwd, grad_steps, repeats, time_budget_s)
                row["fwd_bwd_steps"], row["fwd_bwd_steps_per_s"] = k, k / sec
                del memory
                yield row
            del machine


# ----------------------------------------------------------------------------- size

def _size_child(base: int, batch: int, alu: str, max_steps: int, seed: int) -> None:
    """Runs in a fresh interpreter (see :func:`size_rows`); prints one JSON object."""
    import random

    baseline = proc_kb("VmRSS")
    t0 = time.perf_counter()
    machine = _sort_machine(base, alu)
    setup = time.perf_counter() - t0
    rng = random.Random(seed)
    values = [[rng.randrange(base) for _ in range(SORT_LENGTH)] for _ in range(batch)]
    cells = torch.zeros(batch, machine.config.m, dtype=torch.long)
    cells[:, :SORT_LENGTH] = torch.tensor(values)
    memory = torch.nn.functional.one_hot(cells, base).float()
    t0 = time.perf_counter()
    with torch.no_grad():
        run = machine.run(machine.initial_state(memory=memory), max_steps=max_steps)
    wall = time.perf_counter() - t0
    got = run.state.decode().memory[:, :SORT_LENGTH].tolist()
    correct = all(g == sorted(v, reverse=True) for g, v in zip(got, values))
    print(json.dumps({
        "steps": int(run.steps.max()), "halted": bool((1 - run.state.h < 1e-6).all()),
        "correct": correct, "run_s": wall, "setup_s": setup,
        "table_bytes": machine.alu.table_bytes(),
        "baseline_rss_bytes": baseline, "vm_hwm_bytes": proc_kb("VmHWM"),
        "self_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "threads": torch.get_num_threads(),
    }))


def size_rows(bases: Sequence[int] = (1024,), batch: int = 1, alu: str = "table",
              max_steps: int = 2000, limit: int = SIZE_LIMIT, seed: int = 0,
              timeout: float = 1800) -> Iterator[dict]:
    """Peak memory of a fresh process that runs the Figure 4 sort at each base.

    For each base a child ``python`` process imports torch, builds the machine (memory of
    ``base`` cells, ALU ``alu``), sorts ``batch`` random lists of 8 values (one-hot
    inputs, forward, until halted) and exits. Its peak RSS is read in the child from
    /proc/self/status ``VmHWM`` (``peak_rss_bytes``); the parent also reports
    ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` (``children_maxrss_bytes``), which on Linux
    can be inflated by the parent's own peak. ``ok`` is ``peak_rss_bytes < limit``.
    """
    for base in bases:
        code = ("from neurocompiler.bench import _size_child; "
                f"_size_child({base!r}, {batch!r}, {alu!r}, {max_steps!r}, {seed!r})")
        env = dict(os.environ)
        src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, timeout=timeout)
        wall = time.perf_counter() - t0
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        row = {"alu": alu, "base": base, "batch": batch, "memory_cells": base,
               "program": SORT_PROGRAM, "limit_bytes": limit,
               "dense_table_bytes": dense_table_bytes(len(ALU_NAMES), base),
               "children_maxrss_bytes": children, "wall_s": wall}
        if proc.returncode != 0:
            row.update(peak_rss_bytes=None, ok=False,
                       skipped=f"child failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
            yield row
            continue
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        peak = child["vm_hwm_bytes"] or child["self_maxrss_bytes"]
        row.update(child, peak_rss_bytes=peak, ok=peak < limit)
        yield row


# --------------------------------------------------------------------------- report

def _by(rows: Iterable[dict], *keys: str) -> dict:
    return {tuple(r[k] for k in keys): r for r in rows}


def _ratio(x: float | None, y: float | None) -> float | None:
    if x is None or y is None or not y:
        return None
    return x / y


# (value name, comparison, threshold, bar as text)
BARS = (
    ("alu_speedup_vs_dense_einsum", ">=", 100.0, ">= 100x"),
    ("alu_speedup_vs_dense_best", ">=", 3.0, ">= 3x"),
    ("alu_table_bytes_ratio", "<=", 1 / 50, "<= 1/50"),
    ("machine_fwd_bwd_speedup", ">=", 50.0, ">= 50x"),
    ("size_peak_rss_bytes", "<", float(SIZE_LIMIT), "< 2 GiB"),
)


def summary(alu: Sequence[dict] = (), machine: Sequence[dict] = (), size: Sequence[dict] = (),
            n: int = 256, batch: int = 32) -> dict:
    """The headline ratios of one run, each ``{"value", "bar", "met"}`` (value and met
    are ``None`` where a needed row is missing or skipped):

    * ALU at base ``n``: dense_einsum time / table time, dense_best time / table time,
      table bytes / dense table bytes;
    * machine at ``batch``: table fwd+bwd steps/s / dense fwd+bwd steps/s;
    * size: the largest peak RSS of :func:`size_rows`.
    """
    a = _by(alu, "method", "n")
    m = _by(machine, "alu", "batch")

    def ms(meth: str):
        return a.get((meth, n), {}).get("fwd_bwd_ms")

    def fb(name: str):
        return m.get((name, batch), {}).get("fwd_bwd_steps_per_s")

    dense_bytes = dense_table_bytes(next((r["n_ops"] for r in alu), 8), n)
    peaks = [r["peak_rss_bytes"] for r in size if r.get("peak_rss_bytes") is not None]
    values = {
        "alu_speedup_vs_dense_einsum": _ratio(ms("dense_einsum"), ms("table")),
        "alu_speedup_vs_dense_best": _ratio(ms("dense_best"), ms("table")),
        "alu_table_bytes_ratio": _ratio(a.get(("table", n), {}).get("table_bytes"), dense_bytes),
        "machine_fwd_bwd_speedup": _ratio(fb("table"), fb("dense")),
        "size_peak_rss_bytes": max(peaks) if peaks else None,
    }
    compare = {">=": lambda x, y: x >= y, "<=": lambda x, y: x <= y, "<": lambda x, y: x < y}
    return {name: {"value": values[name], "bar": text,
                   "met": None if values[name] is None else compare[op](values[name], x)}
            for name, op, x, text in BARS}


def format_rows(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """A plain-text table of ``rows`` (floats to 3-4 significant digits, bytes humanised)."""
    def cell(key: str, v) -> str:
        if v is None:
            return "-"
        if key.endswith("bytes"):
            return _fmt_bytes(v)
        if isinstance(v, float):
            return f"{v:.4g}" if math.isfinite(v) else str(v)
        return str(v)

    table = [list(columns)] + [[cell(c, r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in table)


ALU_COLUMNS = ("method", "n", "batch", "fwd_bwd_ms", "table_bytes", "peak_rss_bytes", "skipped")
MACHINE_COLUMNS = ("alu", "batch", "base", "steps_per_s", "fwd_bwd_steps", "fwd_bwd_steps_per_s",
                   "table_bytes", "fwd_bwd_peak_rss_bytes", "skipped")
SIZE_COLUMNS = ("alu", "base", "batch", "steps", "correct", "peak_rss_bytes", "baseline_rss_bytes",
                "table_bytes", "dense_table_bytes", "ok")


def train_rows(batch: int = 32, repeats: int = 3, base: int = 128) -> Iterator[dict]:
    """Examples per second of the tiny LLaMA (the paper's §4.2 sizes) on natural-language
    arithmetic at ``batch``: one AdamW training step (forward, backward, update) and one
    inference forward, with the library (``augmented``: four functions, table ALU, the
    ``slots`` parse; ``augmented_copies``: the same with the ``copies`` parse, whose
    registers may copy a number and whose 4 span candidates each load the cells) and
    without it (``no_computer``: a classifier on the pooled ``z``). All read the same
    character tokens."""
    from .augment import AugmentConfig, AugmentedLM, answer_loss, answer_targets, pool
    from .presets import preset_model
    from .tasks import generate
    from .tokenizer import build_tokenizer, encode

    torch.manual_seed(0)
    examples = generate("arithmetic", batch, seed=0, base=base)
    tokenizer = build_tokenizer("char")
    ids, mask = encode(tokenizer, [e.question for e in examples])
    cfg = AugmentConfig(parsing="slots", base=base, cells=2)
    cfg.backbone.vocab_size = len(tokenizer)
    targets = answer_targets([e.answer for e in examples], base, cfg.cells)
    augmented = AugmentedLM(cfg)
    copies = AugmentedLM(AugmentConfig.from_dict({**preset_model("copies"), "base": base, "cells": 2,
                                                   "backbone": cfg.backbone}))
    copies.use_tokenizer(tokenizer)
    head = torch.nn.Linear(augmented.backbone.config.hidden_size, base)
    plain = torch.nn.ModuleDict({"backbone": augmented.backbone, "head": head})

    def plain_loss():
        z = augmented.encode(ids, mask)
        return torch.nn.functional.cross_entropy(head(pool(z, mask)), targets[:, 0])

    models = {"augmented": (augmented, lambda: answer_loss(augmented(ids, mask), targets)),
              "augmented_copies": (copies, lambda: answer_loss(copies(ids, mask), targets)),
              "no_computer": (plain, plain_loss)}
    for name, (model, loss_fn) in models.items():
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def step():
            loss = loss_fn()
            opt.zero_grad()
            loss.backward()
            opt.step()

        def infer():
            with torch.no_grad():
                loss_fn()

        train_s = _median_seconds(step, repeats, warmup=step)
        infer_s = _median_seconds(infer, repeats, warmup=infer)
        yield {"bench": "train", "model": name, "base": base, "batch": batch,
               "params": sum(p.numel() for p in model.parameters()),
               "train_examples_per_s": round(batch / train_s, 1),
               "infer_examples_per_s": round(batch / infer_s, 1),
               "threads": torch.get_num_threads()}
