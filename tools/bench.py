"""Benchmarks: ``python tools/bench.py {stream,infer,views,gpu,models,seek,viewmem,rgb} --help``. Figures are printed and saved."""

import importlib
import sys

from igde_stream.bench import KINDS


ABOUT = {
    "stream": "decode, inference and end-to-end frames/s of the stream, peak memory",
    "infer": "backend x precision x batch x resolution",
    "views": "multiview renderers against inference",
    "gpu": "CUDA correctness, FP16 accuracy and speed (tools/gpu_checks.py)",
    "models": "models and filters side by side on the CPU",
    "seek": "--start with and without seeking, side by side",
    "viewmem": "memory of the views' encoders and renderer, and the estimate the commands warn with",
    "rgb": "8-bit YUV colour to RGB: swscale / OpenCV routes, time and error against the formulas",
}


def main(argv: list[str]) -> int:
    usage = f"usage: python tools/bench.py {{{','.join(KINDS)}}} [options]; python tools/bench.py KIND --help"
    if argv and argv[0] in ("-h", "--help"):
        print(f"{__doc__}\n{usage}\n" + "\n".join(f"  {k:8s} {ABOUT.get(k, '')}" for k in KINDS))
        return 0
    if not argv or argv[0] not in KINDS:
        print(usage, file=sys.stderr)
        return 2
    return importlib.import_module(KINDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    from igde_stream.cli_logging import run_tool

    sys.exit(run_tool(lambda: main(sys.argv[1:]), "bench.py"))
