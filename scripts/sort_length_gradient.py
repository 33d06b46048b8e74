"""Diagnostic (docs/RESULTS.md, Table 2): the loss of the library's insertion sort as
a function of its length register r1, and the gradient with respect to r1's
distribution, with the list itself given perfectly (one-hot cells).

    python scripts/sort_length_gradient.py [--length 4] [--batch 16]

For each one-hot r1 = k it prints the answer loss and, for every j, dL/dP(r1 = j) minus
dL/dP(r1 = k): the first-order change in loss from moving probability from k to j.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from neurocompiler import MachineConfig
from neurocompiler.library import Library


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--length", type=int, default=4)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--base", type=int, default=128)
    args = ap.parse_args()
    torch.manual_seed(0)
    n, L, B = args.base, args.length, args.batch
    cells = L + 2
    lib = Library(MachineConfig(base=n, memory=cells), ["insertion_sort"])
    mem = torch.zeros(B, cells, dtype=torch.long)
    mem[:, :L] = torch.randint(97, 123, (B, L))
    want = mem.clone()
    want[:, :L] = mem[:, :L].sort(-1).values
    M = F.one_hot(mem, n).double()
    zeros = F.one_hot(torch.zeros(B, lib.config.registers, dtype=torch.long), n).double()
    for k in range(L + 3):
        r1 = F.one_hot(torch.tensor(k), n).double().requires_grad_()
        R = torch.cat([zeros[:, :1], r1.expand(B, n)[:, None], zeros[:, 2:]], 1)
        out = lib(torch.ones(B, 1, dtype=torch.float64), R, M, max_steps=40 * L * L)
        loss = F.nll_loss(out.state.M.clamp_min(1e-9).log().transpose(1, 2)[:, :, :L + 1], want[:, :L + 1])
        loss.backward()
        g = r1.grad[:L + 3]
        print(f"r1 = {k}: loss {loss.item():7.3f}   dL/dP(r1=j) - dL/dP(r1={k}), j = 0..{L + 2}: "
              + " ".join(f"{(v - g[k]).item():+.2e}" for v in g))


if __name__ == "__main__":
    main()
