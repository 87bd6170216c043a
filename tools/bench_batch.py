"""``igde-stream batch`` against sequential runs of 8 small clips, side by side in one run:
``python tools/bench_batch.py --help``. Figures are printed and saved (benchmarks/batch-cpu.json)."""

import sys

from igde_stream.bench.batch import main
from igde_stream.cli_logging import run_tool

if __name__ == "__main__":
    sys.exit(run_tool(lambda: main(sys.argv[1:]), "bench_batch.py"))
