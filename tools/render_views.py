"""Multiview stage on video files: render N views (DIBR) from colour + depth, or measure view quality.

Render (colour + depth video in, multiview video out):
  python tools/render_views.py render demo/color.mp4 demo/depth_enhanced.mkv -o views.mkv
  python tools/render_views.py render C.mp4 D.mkv -o stereo.mp4 --layout sbs --squeeze --codec h264
  python tools/render_views.py render C.mp4 D.mkv -o v.mkv --layout views   # v_v0.mkv ... v_v7.mkv

Quality (views from each depth stream vs views from the ground-truth depth, per view and mean):
  python tools/render_views.py quality C.mp4 --gt gt.mkv --depth degraded=D.mkv --depth enhanced=E.mkv \\
      --report views.json --figure views.png
  python tools/render_views.py quality C.mp4 --gt gt.mkv --depth degraded=D.mkv --enhance degraded ...

Geometry and formulas: igde_stream/multiview.py; video files: igde_stream/stream/views.py. Frames are paired by presentation time (within half
a frame); output keeps the depth stream's timestamps. Output is written to a temporary name and
renamed when complete. Exit status 2 with a one-line error on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from igde_stream import multiview as mv
from igde_stream.errors import IGDEError
from igde_stream.stream.views import VIEW_CODECS, render_file, view_quality_files


def _config(args: argparse.Namespace) -> mv.ViewConfig:
    try:
        return mv.ViewConfig(args.views, args.baseline, args.zero_parallax, args.max_depth)
    except ValueError as exc:
        raise IGDEError(str(exc)) from None


def cmd_render(args: argparse.Namespace) -> int:
    cfg = _config(args)
    n, paths = render_file(args.color, args.depth, args.out, cfg, layout=args.layout, rows=args.rows,
                           cols=args.cols, squeeze=args.squeeze, codec=args.codec, max_frames=args.max_frames)
    if not args.quiet:
        what = "stereo pair of the extreme views" if args.layout == "sbs" else f"{cfg.n_views} views, {args.layout}"
        print(f"wrote {n} frames ({what}, baseline {cfg.baseline:g} px, zero parallax {cfg.zero_parallax:g}, "
              f"{args.codec}) to {', '.join(str(p) for p in paths)}")
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    cfg = _config(args)
    depths = {}
    for spec in args.depth:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise IGDEError(f"--depth {spec!r}: use NAME=PATH, e.g. degraded=depth.mkv")
        depths[name] = path
    if args.enhance and args.enhance not in depths:
        raise IGDEError(f"--enhance {args.enhance!r}: no --depth of that name")
    enhancer = None
    if args.enhance:
        from igde_stream import Enhancer

        enhancer = Enhancer(model=args.model, backend=args.backend, max_depth=args.max_depth)
    summary, fig_frame = view_quality_files(args.color, args.gt, depths, cfg, enhancer=enhancer,
                                            enhance=args.enhance, stride=args.stride, band=args.band,
                                            max_frames=args.max_frames, figure_frame=args.figure_frame)
    summary["model"] = args.model if args.enhance else None
    md = _markdown(summary)
    print(md)
    if args.report:
        rp = Path(args.report)
        rp.parent.mkdir(parents=True, exist_ok=True)
        rp.write_text(json.dumps(mv.jsonable(summary), indent=2) + "\n")
        rp.with_suffix(".md").write_text(md + "\n")
        print(f"wrote {rp} and {rp.with_suffix('.md')}")
    if args.figure and fig_frame is not None:
        i, c, gt, frame_depths = fig_frame
        y, x = mv.boundary_figure(c, gt, frame_depths, args.figure, view=args.figure_view, n_views=cfg.n_views,
                                  baseline=cfg.baseline, zero_parallax=cfg.zero_parallax, max_depth=cfg.max_depth)
        print(f"wrote {args.figure} (frame {i}, view {args.figure_view}, patch at y={y}, x={x})")
    return 0


def _markdown(summary: dict[str, Any]) -> str:
    c = summary["config"]
    head = (f"View quality: {c['n_views']} views, baseline {c['baseline']:g} px, zero parallax "
            f"{c['zero_parallax']:g}, {summary['frames']} frames. Reference: views rendered from the "
            f"ground-truth depth with the same colour. PSNR over all pixels and channels (from the mean "
            f"MSE over frames); band PSNR within {summary['band_radius']} px of reference-view depth edges; "
            f"SSIM mean over R, G, B.")
    return head + "\n\n" + mv.markdown_table(summary)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python tools/render_views.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    def geometry(q: argparse.ArgumentParser) -> None:
        q.add_argument("--views", type=int, default=8, help="number of views (default: %(default)s)")
        q.add_argument("--baseline", type=float, default=32.0,
                       help="shift in pixels between the extreme views for a depth step of 1.0 (full range) "
                            "from the zero-parallax level; per-view step = baseline / (views - 1) "
                            "(default: %(default)s)")
        q.add_argument("--zero-parallax", type=float, default=0.5,
                       help="normalised depth (0 far .. 1 near) that stays in place (default: %(default)s)")
        q.add_argument("--max-depth", type=float, default=None,
                       help="depth value that means 1.0 (default: 255 for 8-bit, 65535 for 16-bit)")
        q.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: all)")

    r = sub.add_parser("render", help="colour + depth video -> multiview video")
    r.add_argument("color", help="colour video")
    r.add_argument("depth", help="depth video (gray, gray16le or 8-bit YUV luma)")
    r.add_argument("-o", "--out", required=True, help="output video (.mkv, .mp4; layout views: one file per view)")
    geometry(r)
    r.add_argument("--layout", choices=mv.LAYOUTS, default="grid",
                   help="grid: tiled views; sbs: stereo pair (extreme views); views: one file per view")
    r.add_argument("--rows", type=int, help="grid rows (default: automatic, 8 views -> 2 x 4)")
    r.add_argument("--cols", type=int, help="grid columns")
    r.add_argument("--squeeze", action="store_true", help="sbs: half-width views, output keeps the input width")
    r.add_argument("--codec", choices=sorted(VIEW_CODECS), default="ffv1",
                   help="ffv1: lossless (FFV1 level 3, bgr0); h264: lossy yuv420p CRF 16 (default: %(default)s)")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=cmd_render)

    q = sub.add_parser("quality", help="view PSNR / SSIM of views from each depth vs views from the GT depth")
    q.add_argument("color", help="colour video")
    q.add_argument("--gt", required=True, help="ground-truth depth video (the reference views come from it)")
    q.add_argument("--depth", action="append", default=[], metavar="NAME=PATH", required=True,
                   help="a depth video to compare (repeat: degraded=..., enhanced=...)")
    q.add_argument("--enhance", metavar="NAME", help="also run the model on depth NAME and compare it as 'enhanced'")
    q.add_argument("--model", default="igde-small", help="model for --enhance (default: %(default)s)")
    q.add_argument("--backend", default="auto", help="backend for --enhance (default: %(default)s)")
    geometry(q)
    q.add_argument("--stride", type=int, default=1, help="use every STRIDE-th frame (default: %(default)s)")
    q.add_argument("--band", type=int, default=8, help="boundary band radius in pixels (default: %(default)s)")
    q.add_argument("--report", help="JSON report (a Markdown table is written beside it)")
    q.add_argument("--figure", help="PNG of boundary artefacts before / after")
    q.add_argument("--figure-frame", type=int, default=0, help="frame index for the figure (default: first used)")
    q.add_argument("--figure-view", type=int, default=0, help="view for the figure (default: 0, leftmost)")
    q.set_defaults(func=cmd_quality)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "stride", 1) < 1:
        print("render_views: error: --stride must be >= 1", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except IGDEError as exc:
        print(f"render_views: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
