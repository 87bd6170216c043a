#!/usr/bin/env python3
"""Tune the classical filters of igde_stream.filters on the validation split (never on test data).

Every filter runs over a grid of its parameters on ``--frames`` frames of validation scenes, once per
boundary error type in ``--errors``; the score of a setting is the PSNR from the mean MSE over all
those frames. Prints each filter's best setting and its speed, and writes the full grid to --out.

Example (the defaults in filters.py come from this command):
  python tools/tune_filters.py --frames 3 --errors paper mix --out results/filter_tuning.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GRIDS: dict[str, dict[str, list]] = {
    "joint-bilateral": {"diameter": [25, 35, 45, 55], "sigma_color": [10.0, 20.0, 40.0], "sigma_space": [16.0, 32.0, 64.0, 128.0]},
    "guided": {"radius": [2, 4, 8, 16, 32], "eps": [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 0.01, 0.04]},
    "weighted-median": {"radius": [15, 20, 25, 30, 35], "sigma": [1.0, 2.5, 5.0, 7.5, 10.0, 15.0, 25.5]},
    "global-smoother": {"lam": [256.0, 1024.0, 4096.0, 16384.0], "sigma_color": [1.0, 2.0, 4.0, 8.0],
                        "band": [2, 3, 4], "low": [0.0, 0.02]},
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=3, help="validation scenes (one frame each) per error type")
    p.add_argument("--errors", nargs="+", default=["paper", "mix"], help="boundary error types (data.degrade)")
    p.add_argument("--filters", nargs="+", default=sorted(GRIDS), choices=sorted(GRIDS))
    p.add_argument("--out", default="results/filter_tuning.json")
    p.add_argument("--threads", type=int, default=1, help="OpenCV threads (default 1: leaves the rest free)")
    args = p.parse_args(argv)
    from igde_stream.data.error_types import ERROR_TYPES

    if args.frames < 1:
        p.error(f"--frames must be >= 1, got {args.frames}")
    if set(args.errors) - set(ERROR_TYPES):
        p.error(f"unknown --errors {sorted(set(args.errors) - set(ERROR_TYPES))}; known: {', '.join(ERROR_TYPES)}")

    from igde_stream.data import SceneConfig, split_seeds
    from igde_stream.data.degrade import Degrader
    from igde_stream.data.error_types import error_type_config
    from igde_stream.data.synthetic import Scene
    import cv2

    from igde_stream.filters import FILTERS

    cv2.setNumThreads(args.threads)
    frames = []
    for err in args.errors:
        for i, seed in enumerate(split_seeds("val", args.frames)):
            f = Scene(seed, SceneConfig()).render(i, 8)
            d, _ = Degrader(error_type_config(err), seed, f.depth.shape).apply(f.depth, i)
            frames.append((f.color, d, f.depth))
    mse_in = np.mean([np.mean((d.astype(np.float64) - g) ** 2) for _, d, g in frames])
    print(f"{len(frames)} validation frames ({', '.join(args.errors)}); input PSNR {10 * np.log10(255 ** 2 / mse_in):.2f} dB")
    record: dict = {"frames_per_type": args.frames, "errors": args.errors, "command":
                    "python tools/tune_filters.py " + " ".join(argv if argv is not None else sys.argv[1:]), "filters": {}}
    for name in args.filters:
        grid = GRIDS[name]
        rows = []
        for values in itertools.product(*grid.values()):
            params = dict(zip(grid, values))
            t0 = time.perf_counter()
            mse = np.mean([np.mean((FILTERS[name](c, d, **params).astype(np.float64) - g) ** 2) for c, d, g in frames])
            ms = 1000 * (time.perf_counter() - t0) / len(frames)
            rows.append({"params": params, "psnr": float(10 * np.log10(255 ** 2 / mse)), "ms_per_frame": ms})
        best = max(rows, key=lambda r: r["psnr"])
        edge = [k for k, v in best["params"].items() if len(grid[k]) > 1 and v in (grid[k][0], grid[k][-1])]
        print(f"{name}: best {best['params']} -> {best['psnr']:.2f} dB, {best['ms_per_frame']:.0f} ms/frame"
              + (f" (at the grid edge in {', '.join(edge)})" if edge else ""), flush=True)
        record["filters"][name] = {"best": best, "grid": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    from igde_stream.cli_logging import run_tool

    sys.exit(run_tool(main, "tune_filters.py"))
