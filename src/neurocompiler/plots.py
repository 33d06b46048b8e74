"""Figures of a run (matplotlib, Agg; no pyplot global state).

:func:`plot_trace` draws a :class:`~neurocompiler.runner.Trace` in three panels that
share the step axis, so that one can watch a soft run drift:

1. the instruction counter's distribution over addresses at each step (a heatmap;
   addresses labelled with their instruction text when the program is short);
2. the (most probable) value of every register that ever becomes non-zero;
3. the decoded probabilities: ``p_halted`` and ``confidence`` (the least probability
   among the decoded registers and memory cells).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:  # pragma: no cover
    from .runner import Trace

MAX_LABELLED_ADDRESSES = 48  # label each address with its text up to this many lines
LABEL_WIDTH = 22


def _short(text: str, width: int = LABEL_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def plot_trace(trace: "Trace") -> Figure:
    """The figure of ``trace``; save it with ``fig.savefig(path)``."""
    T = trace.steps
    L1 = len(trace.labels)
    labelled = L1 <= MAX_LABELLED_ADDRESSES
    # A fixed layout (constrained layout costs more than the drawing itself): room on
    # the left for the address labels, on the right for the legends and colour bar.
    fig = Figure(figsize=(11, 8.5 if labelled and L1 > 24 else 7.5))
    ax_c, ax_r, ax_p = fig.subplots(3, 1, sharex=True, height_ratios=[3.2, 2.0, 1.0],
                                    gridspec_kw=dict(left=0.2 if labelled else 0.08,
                                                     right=0.88, top=0.93, bottom=0.07,
                                                     hspace=0.18))
    mode = "soft (differentiable machine)" if trace.soft else "hard (reference interpreter)"
    status = (f"halted after {T} steps" if trace.halted
              else f"did not halt within {trace.max_steps} steps")
    fig.suptitle(f"{trace.name}: {mode}, {status}", fontsize=11)

    # 1. The counter: address executed at each step (x: step 1..T, y: address).
    counter = np.asarray(trace.counter, dtype=float).reshape(T, L1)
    img = ax_c.imshow(counter.T, aspect="auto", interpolation="nearest", cmap="magma",
                      vmin=0.0, vmax=1.0, extent=(0.5, T + 0.5, L1 - 0.5, -0.5))
    fig.colorbar(img, cax=ax_c.inset_axes((1.01, 0.0, 0.015, 1.0)), label="P(address)")
    ax_c.set_ylabel("address")
    ax_c.set_title("instruction counter", fontsize=9, loc="left")
    if labelled:
        ax_c.set_yticks(range(L1))
        ax_c.set_yticklabels([f"{a}: {_short(t)}" for a, t in enumerate(trace.labels)],
                             fontsize=6 if L1 > 24 else 7, family="monospace")

    # 2. Register values (most probable) after t steps, t = 0..T.
    t = np.arange(T + 1)
    regs = np.asarray(trace.registers)
    shown = [i for i in range(regs.shape[1]) if regs[:, i].any()]
    for i in shown:
        ax_r.plot(t, regs[:, i], drawstyle="steps-post", linewidth=1.2, label=f"r{i}")
    ax_r.set_ylabel("value" if not trace.soft else "most probable value")
    ax_r.set_title("registers", fontsize=9, loc="left")
    ax_r.yaxis.set_major_locator(MaxNLocator(integer=True))
    if shown:
        ax_r.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False,
                    ncol=1 if len(shown) <= 10 else 2)
    else:
        ax_r.text(0.5, 0.5, "every register stays 0", transform=ax_r.transAxes,
                  ha="center", va="center", fontsize=8, color="gray")

    # 3. Probabilities.
    ax_p.plot(t, np.asarray(trace.p_halted), label="p_halted", linewidth=1.2,
              drawstyle="steps-post")
    ax_p.plot(t, np.asarray(trace.confidence), label="confidence", linewidth=1.2,
              drawstyle="steps-post")
    ax_p.set_ylim(-0.05, 1.05)
    ax_p.set_ylabel("probability")
    ax_p.set_xlabel("step")
    ax_p.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    ax_p.set_xlim(0, max(T, 1) + 0.5)
    ax_p.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig
