#!/usr/bin/env python3
"""Tune the classical filters of igde_stream.filters on the validation split (never on test data).

Every filter runs over a grid of its parameters on ``--frames`` frames of validation scenes, once per
boundary error type in ``--errors``; the score of a setting is the PSNR from the mean MSE over all
those frames. Prints each filter's best setting and its speed, and writes the full grid to --out.

Example (the defaults in filters.py come from this command):
  python tools/tune_filters.py --frames 3 --errors paper mix --out results/filter_tuning.json

``--real-scene COLOR DISPARITY`` adds a real photograph with measured disparity (validation data, never
a test table's scene), scored on its measured pixels; with ``--frames 0`` the photographs alone choose
(the settings of ``filters.PHOTO_SETTINGS``):
  python tools/tune_filters.py --frames 0 --errors paper mix --real-scene aloeL.jpg aloeGT.png \
      --grid photo --out results/filter_tuning_photo.json
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
# Photographs want a narrower spatial reach and a lighter smoother than the rendered scenes (thinner
# structure; colour edges a pixel or two off the depth's): the grid that chose filters.PHOTO_SETTINGS.
PHOTO_GRIDS: dict[str, dict[str, list]] = {
    "joint-bilateral": {"diameter": [25, 35, 45, 55], "sigma_color": [5.0, 10.0, 20.0], "sigma_space": [4.0, 8.0, 16.0]},
    "guided": {"radius": [2, 4, 8, 12, 16, 24, 32], "eps": [3e-5, 1e-4, 3e-4, 1e-3, 3e-3]},
    "weighted-median": {"radius": [5, 8, 12, 16, 20, 25], "sigma": [5.0, 10.0, 15.0, 25.5, 40.0]},
    "global-smoother": {"lam": [8.0, 16.0, 32.0, 64.0, 128.0, 256.0], "sigma_color": [4.0, 8.0, 16.0, 32.0],
                        "band": [1, 2, 3], "low": [0.02, 0.1, 0.3, 0.5]},
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=3,
                   help="synthetic validation scenes (one frame each) per error type (0: none, with --real-scene)")
    p.add_argument("--errors", nargs="+", default=["paper", "mix"], help="boundary error types (data.degrade)")
    p.add_argument("--filters", nargs="+", default=sorted(GRIDS), choices=sorted(GRIDS))
    p.add_argument("--out", default="results/filter_tuning.json")
    p.add_argument("--threads", type=int, default=1, help="OpenCV threads (default 1: leaves the rest free)")
    p.add_argument("--real-scene", nargs=2, action="append", default=[], metavar=("COLOR", "DISPARITY"),
                   help="a real validation pair (colour image + disparity PNG, 0 = unknown), scored on its "
                        "measured pixels; repeatable")
    p.add_argument("--real-scale", type=float, default=0.5, help="shrink the --real-scene pairs by this factor")
    p.add_argument("--real-frames", type=int, default=4, help="error draws per --real-scene pair and error type")
    p.add_argument("--grid", choices=("default", "photo"), default="default",
                   help="the parameter grid: default (rendered scenes' defaults) or photo (smaller windows)")
    args = p.parse_args(argv)
    from igde_stream.data.error_types import ERROR_TYPES

    if args.frames < 0 or (args.frames == 0 and not args.real_scene):
        p.error(f"--frames must be >= 1, or 0 with --real-scene, got {args.frames}")
    if args.real_frames < 1 or not 0 < args.real_scale <= 1:
        p.error("--real-frames must be >= 1 and --real-scale in (0, 1]")
    if set(args.errors) - set(ERROR_TYPES):
        p.error(f"unknown --errors {sorted(set(args.errors) - set(ERROR_TYPES))}; known: {', '.join(ERROR_TYPES)}")

    from igde_stream.data import SceneConfig, split_seeds
    from igde_stream.data.degrade import Degrader
    from igde_stream.data.error_types import error_type_config
    from igde_stream.data.synthetic import Scene
    from igde_stream.real_frames import disparity_file_sequence, real_scene_problem
    import cv2

    from igde_stream.filters import FILTERS
    from igde_stream.metrics import mse  # over the measured pixels where a frame has them

    for pair in args.real_scene:  # a bad pair stops here, before any filter runs
        why = real_scene_problem(*pair, scale=args.real_scale)
        if why:
            p.error(f"--real-scene: {why}")
    cv2.setNumThreads(args.threads)
    frames = []  # (colour, degraded depth, ground truth, measured pixels or None)
    for err in args.errors:
        for i, seed in enumerate(split_seeds("val", args.frames) if args.frames else []):
            f = Scene(seed, SceneConfig()).render(i, 8)
            d, _ = Degrader(error_type_config(err), seed, f.depth.shape).apply(f.depth, i)
            frames.append((f.color, d, f.depth, None))
        for color_path, disparity_path in args.real_scene:
            seq = disparity_file_sequence(color_path, disparity_path, error_type_config(err),
                                          frames=args.real_frames, scale=args.real_scale)
            frames += [(seq.color[t], seq.depth[t], seq.gt[t], seq.valid[t]) for t in range(len(seq))]
    mse_in = np.mean([mse(d, g, v) for _, d, g, v in frames])
    print(f"{len(frames)} validation frames ({', '.join(args.errors)}); input PSNR {10 * np.log10(255 ** 2 / mse_in):.2f} dB")
    grids = PHOTO_GRIDS if args.grid == "photo" else GRIDS
    record: dict = {"frames_per_type": args.frames, "errors": args.errors, "real_scenes": args.real_scene,
                    "real_scale": args.real_scale, "real_frames": args.real_frames, "grid": args.grid, "command":
                    "python tools/tune_filters.py " + " ".join(argv if argv is not None else sys.argv[1:]), "filters": {}}
    for name in args.filters:
        grid = grids[name]
        rows = []
        for values in itertools.product(*grid.values()):
            params = dict(zip(grid, values))
            t0 = time.perf_counter()
            mean_mse = np.mean([mse(FILTERS[name](c, d, **params), g, v) for c, d, g, v in frames])
            ms = 1000 * (time.perf_counter() - t0) / len(frames)
            rows.append({"params": params, "psnr": float(10 * np.log10(255 ** 2 / mean_mse)), "ms_per_frame": ms})
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
