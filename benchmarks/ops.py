"""Per-opcode forward+backward time of the table ALU (where its time goes).

    python benchmarks/ops.py [--json] [--n 256] [--batch 32] [--repeats 7] [--threads N]

One ``TableALU(n, ops=(op,))`` per ALU opcode, with inputs as in
``neurocompiler.bench.alu_rows`` (soft random distributions that require grad).
"""

import json
import statistics
import time

from _common import parser

import torch

from neurocompiler.alu import TableALU
from neurocompiler.bench import BENCH_OPS


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    B, n = args.batch, args.n
    for op in BENCH_OPS:
        alu = TableALU(n, ops=(op,))
        gen = torch.Generator().manual_seed(0)
        f = torch.softmax(torch.randn(B, 1, generator=gen), -1).requires_grad_()
        a = torch.softmax(torch.randn(B, n, generator=gen) * 3, -1).requires_grad_()
        b = torch.softmax(torch.randn(B, n, generator=gen) * 3, -1).requires_grad_()
        g = torch.randn(B, n, generator=gen)
        fwd, bwd = [], []
        for _ in range(args.repeats + 1):  # the first is a warm-up
            f.grad = a.grad = b.grad = None
            t0 = time.perf_counter()
            out = alu(f, a, b)
            t1 = time.perf_counter()
            out.backward(g)
            fwd.append(t1 - t0)
            bwd.append(time.perf_counter() - t1)
        row = {"op": op, "n": n, "batch": B, "threads": torch.get_num_threads(),
               "fwd_ms": 1e3 * statistics.median(fwd[1:]), "bwd_ms": 1e3 * statistics.median(bwd[1:])}
        row["fwd_bwd_ms"] = row["fwd_ms"] + row["bwd_ms"]
        print(json.dumps(row) if args.json else
              f"{op:5s} fwd {row['fwd_ms']:7.2f} ms  bwd {row['bwd_ms']:7.2f} ms  "
              f"total {row['fwd_bwd_ms']:7.2f} ms", flush=True)


if __name__ == "__main__":
    main()
