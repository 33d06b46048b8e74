"""Peak memory (RSS of a fresh process) of a base-1024 machine running the Figure 4 sort.

    python benchmarks/size.py [--json] [--bases 1024] [--batch 1]

See ``neurocompiler.bench.size_rows``. The bar is a peak below 2 GiB.
"""

from _common import emit, int_list, parser

from neurocompiler.bench import SIZE_COLUMNS, size_rows


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--bases", type=int_list, default=[1024])
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--alu", default="table")
    args = p.parse_args()
    if args.threads is not None:
        p.error("--threads is not supported here (the child process uses torch's default)")
    emit(size_rows(args.bases, batch=args.batch, alu=args.alu), args.json, SIZE_COLUMNS)


if __name__ == "__main__":
    main()
