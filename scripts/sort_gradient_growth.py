"""Diagnostic (docs/RESULTS.md, Table 2): how large the machine's gradient is at an
exact (one-hot) sort, as the list grows.

    python scripts/sort_gradient_growth.py [--lengths 1,2,3,4,5,6,8,10,12]

For each length L it runs the library's insertion sort on random letters, with the
cells and r1 = L one-hot, in float64, and backpropagates the answer loss (the
cross-entropy of the sorted string, read as ``log p`` clamped at 1e-12 like the answer
head) to the initial cells and registers. It prints the machine steps and the largest
gradient entry. A parse that trains through these gradients sees values that grow
exponentially with the length, which float32 cannot hold beyond a few letters.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from neurocompiler import MachineConfig
from neurocompiler.library import Library


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", default="1,2,3,4,5,6,8,10,12")
    ap.add_argument("--base", type=int, default=128)
    args = ap.parse_args()
    lengths = [int(t) for t in args.lengths.split(",")]
    n, cells = args.base, max(lengths)
    lib = Library(MachineConfig(base=n, memory=cells), ("insertion_sort",))
    print("length  steps  max |dL/dcells|  max |dL/dregisters|")
    for L in lengths:
        torch.manual_seed(L)
        letters = torch.randint(97, 123, (1, L))
        values = F.pad(letters, (0, cells - L))
        memory = F.one_hot(values, n).double().requires_grad_()
        registers = F.one_hot(torch.zeros(1, 16, dtype=torch.long), n).double()
        registers[0, 1] = F.one_hot(torch.tensor(L), n).double()
        registers.requires_grad_()
        out = lib(torch.ones(1, 1, dtype=torch.float64), registers, memory, max_steps=4000)
        target = F.pad(letters.sort(1).values, (0, cells - L))
        logp = out.state.M.clamp_min(1e-12).log()
        F.nll_loss(logp.transpose(1, 2), target).backward()
        print(f"{L:6d}  {int(out.steps.max()):5d}  {memory.grad.abs().max().item():15.3g}  "
              f"{registers.grad.abs().max().item():19.3g}")


if __name__ == "__main__":
    main()
