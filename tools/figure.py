#!/usr/bin/env python3
"""The README picture: one test-split frame with the real-world mix of boundary errors, cropped to a
boundary-rich window: colour, degraded depth, the best classical filter, igde-small, ground truth,
each depth panel with its PSNR over the crop (and, under it, the error against the ground truth).
With --middlebury the frame is the real photograph of the evaluation (Middlebury 2014 Motorcycle,
from scikit-image): PSNR and error over its measured pixels only (unknown ones shown black).

  python tools/figure.py --out results/example.png
  python tools/figure.py --middlebury --out results/example_middlebury.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="igde-small")
    p.add_argument("--errors", default="mix")
    p.add_argument("--seed-index", type=int, default=1, help="which test-split scene")
    p.add_argument("--crop", type=int, default=200, help="crop side in pixels")
    p.add_argument("--middlebury", action="store_true", help="the real Middlebury Motorcycle photograph instead")
    p.add_argument("--out", default="results/example.png")
    args = p.parse_args(argv)
    if not 16 <= args.crop <= 480:
        p.error(f"--crop must be 16..480 pixels (the frames are 960x540 or 741x500), got {args.crop}")
    if args.seed_index < 0:
        p.error(f"--seed-index must be >= 0, got {args.seed_index}")
    from igde_stream.data.error_types import ERROR_TYPES

    if args.errors not in ERROR_TYPES:
        p.error(f"unknown --errors {args.errors!r}; known: {', '.join(ERROR_TYPES)}")

    import matplotlib
    from matplotlib.figure import Figure

    from igde_stream.data import error_type_config
    from igde_stream.enhancer import Enhancer
    from igde_stream.evaluation import middlebury_sequence, test_sequences
    from igde_stream import metrics
    from igde_stream.filters import global_smoother

    if args.middlebury:
        seq = middlebury_sequence(error_type_config(args.errors), frames=1)
        if seq is None:
            p.error("--middlebury needs scikit-image with its stereo_motorcycle data")
        what = "Middlebury 2014 Motorcycle (real photograph)"
    else:
        seq = test_sequences(args.seed_index + 1, 1, (960, 540), degradation=error_type_config(args.errors))[-1]
        what = "synthetic test frame"
    color, depth, gt = seq.color[0], seq.depth[0], seq.gt[0]
    valid = np.ones(gt.shape, bool) if seq.valid is None else seq.valid[0]
    out = Enhancer(args.model, backend="onnxruntime", batch=1, quiet=True).enhance(color, depth)
    fgs = global_smoother(color, depth)
    err = (depth != gt) & valid
    s = args.crop
    h, w = gt.shape
    best = max(((y, x) for y in range(0, h - s, 20) for x in range(0, w - s, 20)),
               key=lambda p: err[p[0]:p[0] + s, p[1]:p[1] + s].sum())
    y, x = best
    win = (slice(y, y + s), slice(x, x + s))

    def psnr(a: np.ndarray) -> float:
        return metrics.psnr(a[win], gt[win], mask=valid[win])

    panels = [("colour", color[win], None), (f"degraded input {psnr(depth):.1f} dB", depth[win], depth[win]),
              (f"global smoother {psnr(fgs):.1f} dB", fgs[win], fgs[win]),
              (f"{args.model} {psnr(out):.1f} dB", out[win], out[win]), ("ground truth", gt[win], gt[win])]
    fig = Figure(figsize=(3 * len(panels), 6.2), dpi=100)
    axes = fig.subplots(2, len(panels))
    for i, (title, img, dep) in enumerate(panels):
        axes[0, i].imshow(img, cmap=None if img.ndim == 3 else "viridis", vmin=0, vmax=255)
        axes[0, i].set_title(title, fontsize=10)
        if dep is not None:
            axes[1, i].imshow(np.abs(dep.astype(int) - gt[win]) * valid[win], cmap="magma", vmin=0, vmax=64)
            axes[1, i].set_title("|error|", fontsize=9)
        for ax in axes[:, i]:
            ax.axis("off")
    fig.suptitle(f"{what}, {args.errors} boundary errors, crop {s}x{s} at ({x}, {y}); "
                 f"matplotlib {matplotlib.__version__}", fontsize=9)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    from igde_stream.cli_logging import run_tool

    sys.exit(run_tool(main, "figure.py"))
