#!/usr/bin/env python3
"""Depth smaller than the colour (``igde-stream --grid color``): how much the model adds when a depth
sensor or estimator gives fewer pixels than the camera.

Each ground-truth frame is sampled at every F-th pixel (a sensor of 1/F the size under the same
camera), brought back to the colour's size both ways ``--enlarge`` offers (``formats.ENLARGE``:
bilinear, the default, and nearest neighbour), then the project's classical filters and the model
run on each, and every result is scored against the full-size truth. "linear + igde-small" is what
``igde-stream --grid color`` writes. Rows: the synthetic test split, ICL-NUIM and the Middlebury 2014
Motorcycle photograph (measured pixels only), per factor. ``--val`` scores validation data instead
(val-split scenes from index 600 and the ``--real-scene`` pairs), to choose settings on.

  python tools/eval_grid_color.py --factors 2 3 4 --out results/eval_grid_color
  python tools/eval_grid_color.py --val --real-scene aloeL.jpg aloeGT.png   # validation data only
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from igde_stream.evaluation import DEFAULT_ICL, middlebury_sequence, test_sequences  # noqa: E402
from igde_stream.filters import FILTERS  # noqa: E402
from igde_stream.metrics import psnr  # noqa: E402
from igde_stream.data import DegradeConfig, SceneConfig, make_sequence, split_seeds  # noqa: E402
from igde_stream.real_frames import disparity_file_sequence, icl_nuim_sequence  # noqa: E402
from igde_stream.stream.formats import ENLARGE  # noqa: E402


def rows_for(name: str, seq, factor: int, enhancer, label: str, filters: list[str]) -> dict[str, float]:
    _, h, w = seq.gt.shape
    low = [g[factor // 2::factor, factor // 2::factor] for g in seq.gt]
    outs = {}
    for how, enlarge in ENLARGE.items():
        outs[how] = np.stack([enlarge(x, w, h) for x in low])
    for how in ENLARGE:
        for f in filters:
            outs[f"{how} + {f}"] = np.stack([FILTERS[f](c, d) for c, d in zip(seq.color, outs[how])])
    for how in ENLARGE:
        outs[f"{how} + {label}"] = enhancer.enhance(seq.color, outs[how])
    scores = {k: psnr(v, seq.gt, seq.peak, seq.valid) for k, v in outs.items()}  # pooled over all frames
    print(f"{name:28s} x{factor} {low[0].shape[1]}x{low[0].shape[0]} -> {w}x{h}  "
          + "  ".join(f"{k} {v:.2f}" for k, v in scores.items()), flush=True)
    return scores


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="igde-small", help="registered name or a .pt / .onnx file")
    p.add_argument("--factors", nargs="+", type=int, default=[2, 3, 4])
    p.add_argument("--sequences", type=int, default=2)
    p.add_argument("--frames", type=int, default=4)
    p.add_argument("--filters", nargs="+", default=["joint-bilateral", "global-smoother"], choices=sorted(FILTERS))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--val", action="store_true",
                   help="validation data: val-split scenes (from index 600) and --real-scene pairs, no test data")
    p.add_argument("--real-scene", nargs=2, action="append", default=[], metavar=("COLOR", "DISPARITY"),
                   help="a real colour image and its disparity PNG (e.g. Middlebury 2006 Aloe), measured pixels only")
    p.add_argument("--out", default=None, help="folder for eval.json and eval.md")
    args = p.parse_args(argv)
    if any(f < 2 for f in args.factors):
        p.error("--factors must be 2 or more")
    from igde_stream.enhancer import Enhancer

    enhancer = Enhancer(args.model, backend="onnxruntime", batch=1, quiet=True, threads=args.threads)
    if args.val:
        cfg = SceneConfig(width=960, height=540, frames=args.frames, textures="mixed")
        seeds = split_seeds("val", 600 + args.sequences)[600:]
        data = [("synthetic val 960x540", [make_sequence(s, cfg, DegradeConfig(), 8) for s in seeds])]
    else:
        data = [("synthetic test 960x540", test_sequences(args.sequences, args.frames))]
        icl = icl_nuim_sequence(DEFAULT_ICL)
        if icl is not None:
            data.append(("ICL-NUIM 640x480", icl))
        mb = middlebury_sequence(frames=1)
        if mb is not None:
            data.append(("Middlebury Motorcycle 741x500", mb))
    for color_path, disparity_path in args.real_scene:
        seq = disparity_file_sequence(color_path, disparity_path, frames=1)
        data.append((f"{seq.name} {seq.gt.shape[2]}x{seq.gt.shape[1]}", seq))
    results = []
    for name, seqs in data:
        seqs = seqs if isinstance(seqs, list) else [seqs]
        for factor in args.factors:
            joined = seqs[0] if len(seqs) == 1 else _joined(seqs)
            scores = rows_for(name, joined, factor, enhancer, args.model, args.filters)
            results.append({"data": name, "factor": factor, "psnr": scores})
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        command = "python tools/eval_grid_color.py " + " ".join(argv if argv is not None else sys.argv[1:])
        (out / "eval.json").write_text(json.dumps({"command": command, "rows": results}, indent=1) + "\n")
        methods = list(results[0]["psnr"])
        lines = ["| data | factor | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
        for r in results:
            best = max(r["psnr"].values())
            cells = [f"**{v:.2f}**" if v == best else f"{v:.2f}" for v in r["psnr"].values()]
            lines.append(f"| {r['data']} | {r['factor']} | " + " | ".join(cells) + " |")
        (out / "eval.md").write_text(f"`{command}`\n\n" + "\n".join(lines) + "\n")
        print(f"wrote {out / 'eval.json'} and {out / 'eval.md'}")
    return 0


def _joined(seqs):
    """The sequences' frames as one (all of one size, rendered data without a valid mask)."""
    import dataclasses

    return dataclasses.replace(seqs[0], color=np.concatenate([s.color for s in seqs]),
                               depth=np.concatenate([s.depth for s in seqs]),
                               gt=np.concatenate([s.gt for s in seqs]), valid=None)


if __name__ == "__main__":
    from igde_stream.cli_logging import run_tool

    sys.exit(run_tool(main, "eval_grid_color.py"))
