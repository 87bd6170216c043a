"""Benchmarks: ``python tools/bench.py {stream,infer,views,gpu,models} --help``. Figures are printed and saved."""

import importlib
import sys

from igde_stream.bench import KINDS


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in KINDS:
        print(f"usage: python tools/bench.py {{{','.join(KINDS)}}} [options]", file=sys.stderr)
        return 2
    return importlib.import_module(KINDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
