"""Machine steps/s (forward, forward+backward) on the Figure 4 sort: table vs dense ALU.

    python benchmarks/machine.py [--json] [--batches 1,32,256] [--threads N]

Same rows as ``neurocompiler bench machine``; see ``neurocompiler.bench.machine_rows``.
"""

from _common import emit, int_list, parser

from neurocompiler.bench import MACHINE_COLUMNS, machine_rows


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--batches", type=int_list, default=[1, 32, 256])
    p.add_argument("--base", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--alus", default="table,dense",
                   help="comma-separated ALU names (table, dense, dense_best)")
    p.add_argument("--time-budget", type=float, default=90.0,
                   help="seconds per measurement before the step count is reduced")
    args = p.parse_args()
    emit(machine_rows(args.batches, base=args.base, repeats=args.repeats, steps=args.steps,
                      alus=args.alus.split(","), time_budget_s=args.time_budget,
                      threads=args.threads), args.json, MACHINE_COLUMNS)


if __name__ == "__main__":
    main()
