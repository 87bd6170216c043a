#!/usr/bin/env python3
"""A stereo matcher's output as the depth input: the Middlebury 2014 Motorcycle pair (scikit-image's
``stereo_motorcycle``: left and right views, 741 x 500, and the measured disparity) through OpenCV's
matchers, enhanced by a model and by the classical filters, against the measured disparity.

Each matcher's disparity becomes 8-bit depth on the ground truth's scale, ``round(255 d / max_gt)``
(clipped to 1..255), its invalid pixels (no match, the band along the left side where the right view
does not reach) depth 0, holes; the ground truth is made as ``real_frames.stereo_sequence`` makes it.
PSNR over the ground truth's measured pixels, two ways: every one of them (the holes count), and
only those the matcher measured (its boundary errors and mismatches, not its holes). Its errors are
those of real matching (foreground fattening, streaks, holes), not drawn ones. The model runs as
``igde-stream`` runs it (hole fill on), and once more with the hole fill's wide part off
(``HoleFill(wide=False)``: holes beyond the 55 px window keep the model's 0), side by side.

Example:
  python tools/eval_stereo.py --out results/stereo_matcher
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402  (after the sys.path line)

# name -> (OpenCV matcher, block size, SGBM mode or None for block matching)
MATCHERS = {"SGBM 5x5": ("sgbm", 5, "SGBM"), "SGBM 9x9, full (HH)": ("sgbm", 9, "HH"), "BM 15x15": ("bm", 15, None)}


def match(left: np.ndarray, right: np.ndarray, kind: str, block: int, mode: str | None, levels: int) -> np.ndarray:
    """Disparity (float64, pixels; <= 0 where invalid) of an RGB pair by OpenCV's matcher."""
    import cv2

    if kind == "bm":
        gl, gr = (cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in (left, right))
        return cv2.StereoBM_create(numDisparities=levels, blockSize=block).compute(gl, gr).astype(np.float64) / 16
    sgbm = cv2.StereoSGBM_create(minDisparity=0, numDisparities=levels, blockSize=block, P1=24 * block * block,
                                 P2=96 * block * block, disp12MaxDiff=1, uniquenessRatio=10, speckleWindowSize=100,
                                 speckleRange=2, mode=cv2.STEREO_SGBM_MODE_HH if mode == "HH" else cv2.STEREO_SGBM_MODE_SGBM)
    return sgbm.compute(left, right).astype(np.float64) / 16


def psnr(a: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> float:
    """PSNR of 8-bit depth over the ``mask`` pixels (``metrics.psnr``)."""
    from igde_stream.metrics import psnr as masked_psnr

    return masked_psnr(a, gt, 255.0, mask)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="igde-small")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="results/stereo_matcher")
    p.add_argument("--wide-errors", action="store_true", help="the model once more with wide_errors (--wide-errors)")
    args = p.parse_args(argv)

    from igde_stream import filters
    from igde_stream.data import DegradeConfig
    from igde_stream.enhancer import Enhancer
    from igde_stream.hole_fill import HoleFill
    from igde_stream.real_frames import stereo_sequence

    try:
        from skimage import data as skd

        left, right, disparity = skd.stereo_motorcycle()
    except Exception as exc:  # no scikit-image (the test extra), or no copy of the scene
        print(f"eval_stereo.py: error: the Middlebury Motorcycle pair is not available ({exc})", file=sys.stderr)
        return 2
    seq = stereo_sequence(left, disparity, "middlebury_motorcycle", DegradeConfig(p_degrade=0.0), frames=1)
    gt, known = seq.gt[0], seq.valid[0]  # the 8-bit scale: 255 at the largest measured disparity
    top = float(disparity[known].max())
    levels = int(np.ceil(top / 16) * 16) + 16
    methods = {
        args.model: Enhancer(model=args.model, backend="onnxruntime", threads=args.threads, quiet=True).enhance,
        f"{args.model}, hole fill without its wide part": Enhancer(
            model=args.model, backend="onnxruntime", threads=args.threads, quiet=True,
            hole_fill=HoleFill(wide=False)).enhance,
        **{f"filter:{k}": fn for k, fn in filters.FILTERS.items()},
    }
    if args.wide_errors:
        methods[f"{args.model} --wide-errors"] = Enhancer(model=args.model, backend="onnxruntime", threads=args.threads,
                                                          quiet=True, wide_errors=True).enhance
    rows = []
    for name, (kind, block, mode) in MATCHERS.items():
        d = match(left, right, kind, block, mode, levels)
        depth = np.where(d > 0, np.clip(np.rint(255 * d / top), 1, 255), 0).astype(np.uint8)
        measured = known & (depth > 0)
        outs = {"matcher output": depth, **{m: fn(left, depth) for m, fn in methods.items()}}
        for m, out in outs.items():
            rows.append({"matcher": name, "method": m, "psnr": psnr(out, gt, known),
                         "psnr_measured": psnr(out, gt, measured), "zeros": float(np.mean(out == 0)),
                         "invalid": float(np.mean(depth == 0))})
            print(f"{name:22s} {m:45s} {rows[-1]['psnr']:6.2f} {rows[-1]['psnr_measured']:6.2f} "
                  f"zeros {100 * rows[-1]['zeros']:.1f} %", flush=True)
    cmd = "python tools/eval_stereo.py" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    md = [f"A stereo matcher's output enhanced (`{cmd}`): the Middlebury 2014 Motorcycle pair (741x500, "
          "scikit-image) through OpenCV's matchers; PSNR (dB) over the ground truth's measured pixels, all of "
          "them and those the matcher measured; zeros: the share of the frame left at depth 0.", "",
          "| matcher (invalid) | method | PSNR | PSNR where the matcher measured | zeros |", "|---|---|---|---|---|"]
    md += [f"| {r['matcher']} ({100 * r['invalid']:.0f} %) | {r['method']} | {r['psnr']:.2f} | "
           f"{r['psnr_measured']:.2f} | {100 * r['zeros']:.1f} % |" for r in rows]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    out.with_suffix(".json").write_text(json.dumps({"model": args.model, "command": cmd, "rows": rows}, indent=2) + "\n")
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
