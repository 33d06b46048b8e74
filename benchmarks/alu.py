"""ALU forward+backward time: dense eq. 7 (paper order, best order) vs the table ALU.

    python benchmarks/alu.py [--json] [--sizes 64,128,256,512,1024] [--threads N]

Same rows as ``neurocompiler bench alu``; see ``neurocompiler.bench.alu_rows``.
"""

from _common import emit, int_list, parser

from neurocompiler.bench import ALU_COLUMNS, alu_rows


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int_list, default=[64, 128, 256, 512, 1024])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--n-ops", type=int, default=8)
    args = p.parse_args()
    emit(alu_rows(args.sizes, batch=args.batch, repeats=args.repeats, n_ops=args.n_ops,
                  threads=args.threads), args.json, ALU_COLUMNS)


if __name__ == "__main__":
    main()
