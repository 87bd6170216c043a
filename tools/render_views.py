"""Multiview stage on video files: render N views (DIBR) from colour + depth, or measure view quality.

Render (colour + depth video in, multiview video out):
  python tools/render_views.py render demo/color.mp4 demo/depth_enhanced.mkv -o views.mkv
  python tools/render_views.py render C.mp4 D.mkv -o stereo.mp4 --layout sbs --squeeze --codec h264
  python tools/render_views.py render C.mp4 D.mkv -o v.mkv --layout views   # v_v0.mkv ... v_v7.mkv

Quality (views from each depth stream vs views from the ground-truth depth, per view and mean):
  python tools/render_views.py quality C.mp4 --gt gt.mkv --depth degraded=D.mkv --depth enhanced=E.mkv \\
      --report views.json --figure views.png
  python tools/render_views.py quality C.mp4 --gt gt.mkv --depth degraded=D.mkv --enhance degraded ...

Geometry and formulas: igde_stream/multiview.py. Frames are paired by presentation time (within half
a frame); output keeps the depth stream's timestamps. Output is written to a temporary name and
renamed when complete. Exit status 2 with a one-line error on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from igde_stream import multiview as mv

CODECS = {  # name -> (encoder, pix_fmt, options)
    "ffv1": ("ffv1", "bgr0", {"level": "3", "g": "1", "slicecrc": "1"}),  # FFV1 has no 8-bit gbrp
    "h264": ("libx264", "yuv420p", {"crf": "16", "preset": "medium"}),
}


# ------------------------------------------------------------------------------------------ input


def _open(path: str, role: str, size: tuple[int, int] | None = None) -> Any:
    from igde_stream.stream import VideoReader

    return VideoReader(path, role, size=size)


def _paired(color: Any, depths: list[Any]) -> Iterator[tuple[int | None, np.ndarray, list[np.ndarray]]]:
    """(pts of the first depth stream, colour, [depth arrays]) with every stream paired by time
    (within half a frame of the first depth stream, ``stream.pair_frames`` rules); the other depth
    streams must follow the first frame for frame."""
    from igde_stream.errors import PairingError
    from igde_stream.stream import pair_frames

    first = depths[0]
    tol = 0.5 * first.info.frame_duration
    others = [d.frames() for d in depths[1:]]
    for c, d in pair_frames(color.frames(), first.frames(), tol, (color.path, first.path)):
        arrays = [d.data]
        for reader, it in zip(depths[1:], others):
            o = next(it, None)
            if o is None or abs(o.time - d.time) > tol:
                where = "ends" if o is None else f"has its frame {o.index} at {o.time:.3f} s"
                raise PairingError(f"{where} where {first.path} has frame {d.index} at {d.time:.3f} s", reader.path)
            arrays.append(o.data)
        yield d.pts, c.data, arrays
    for reader, it in zip(depths[1:], others):
        o = next(it, None)
        if o is not None:
            raise PairingError(f"frame {o.index} at {o.time:.3f} s has no partner in {first.path}", reader.path)


# ----------------------------------------------------------------------------------------- output


class _Writer:
    """Colour video writer: temporary name (``stream.writer.temp_path``), renamed by ``commit()``;
    ``abort()`` removes it. Frames keep the input's pts and time base."""

    def __init__(self, path: Path, codec: str, rate: Fraction, time_base: Fraction) -> None:
        import av

        from igde_stream.errors import OutputError
        from igde_stream.stream.writer import temp_path

        self.path = path
        self.tmp = temp_path(path)
        self.codec, self.rate, self.time_base = codec, rate, time_base
        try:
            self.container = av.open(str(self.tmp), "w")
        except (OSError, ValueError, av.FFmpegError) as exc:
            self.tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write ({getattr(exc, 'strerror', None) or exc}); use .mkv or .mp4", path) from None
        self.stream = None
        self.frames = 0

    def write(self, img: np.ndarray, pts: int | None) -> None:
        import av

        from igde_stream.errors import OutputError

        if self.stream is None:
            enc, pix, opts = CODECS[self.codec]
            h, w = img.shape[:2]
            if pix == "yuv420p" and (h % 2 or w % 2):
                raise OutputError(f"H.264 yuv420p needs even sizes, got {w}x{h}; use --codec ffv1", self.path)
            self.stream = self.container.add_stream(enc, rate=self.rate)
            self.stream.width, self.stream.height, self.stream.pix_fmt = w, h, pix
            self.stream.time_base = self.time_base
            self.stream.codec_context.time_base = self.time_base  # keep input pts exactly (no rounding to 1/rate)
            self.stream.options = opts
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
        frame.pts, frame.time_base = (self.frames if pts is None else pts), self.time_base
        try:
            for packet in self.stream.encode(frame):
                self.container.mux(packet)
        except av.FFmpegError as exc:
            raise OutputError(f"encoding failed ({exc})", self.path) from None
        self.frames += 1

    def commit(self) -> None:
        if self.stream is not None:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
        self.container.close()
        self.tmp.replace(self.path)

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the file is deleted anyway
            pass
        finally:
            self.tmp.unlink(missing_ok=True)


def _outputs(out: Path, layout: str, n_views: int) -> list[Path]:
    if layout != "views":
        return [out]
    return [out.with_name(f"{out.stem}_v{k}{out.suffix}") for k in range(n_views)]


# --------------------------------------------------------------------------------------- commands


def _config(args: argparse.Namespace) -> mv.ViewConfig:
    from igde_stream.errors import IGDEError

    try:
        return mv.ViewConfig(args.views, args.baseline, args.zero_parallax, args.max_depth)
    except ValueError as exc:
        raise IGDEError(str(exc)) from None


def cmd_render(args: argparse.Namespace) -> int:
    cfg = _config(args)
    depth = _open(args.depth, "depth")
    color = None
    writers: list[_Writer] = []
    try:
        color = _open(args.color, "color", size=(depth.info.width, depth.info.height))
        rate = depth.info.rate or Fraction(25)
        writers = [_Writer(p, args.codec, rate, depth.info.time_base)
                   for p in _outputs(Path(args.out), args.layout, cfg.n_views)]
        n = 0
        for pts, c, (d,) in _paired(color, [depth]):
            for w, img in zip(writers, mv.layout_frames(c, d, cfg, args.layout, args.rows, args.cols, args.squeeze)):
                w.write(img, pts)
            n += 1
            if args.max_frames and n >= args.max_frames:
                break
        for w in writers:
            w.commit()
    except BaseException:
        for w in writers:
            w.abort()
        raise
    finally:
        depth.close()
        if color is not None:
            color.close()
    if not args.quiet:
        what = "stereo pair of the extreme views" if args.layout == "sbs" else f"{cfg.n_views} views, {args.layout}"
        print(f"wrote {n} frames ({what}, baseline {cfg.baseline:g} px, zero parallax {cfg.zero_parallax:g}, "
              f"{args.codec}) to {', '.join(str(w.path) for w in writers)}")
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    from igde_stream.errors import IGDEError

    cfg = _config(args)
    names, paths = [], []
    for spec in args.depth:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise IGDEError(f"--depth {spec!r}: use NAME=PATH, e.g. degraded=depth.mkv")
        names.append(name)
        paths.append(path)
    if args.enhance and args.enhance not in names:
        raise IGDEError(f"--enhance {args.enhance!r}: no --depth of that name")
    from igde_stream.errors import InputError

    enhancer = None
    if args.enhance:
        from igde_stream import Enhancer

        enhancer = Enhancer(model=args.model, backend=args.backend, max_depth=args.max_depth)
    readers = [_open(args.gt, "gt")]
    frames: list[dict[str, Any]] = []
    fig_frame: tuple | None = None
    try:
        readers += [_open(p, "depth") for p in paths]
        readers.append(_open(args.color, "color", size=(readers[0].info.width, readers[0].info.height)))
        for i, (_, c, (gt, *deps)) in enumerate(_paired(readers[-1], readers[:-1])):
            if args.max_frames and len(frames) >= args.max_frames:
                break
            if i % args.stride:
                continue
            for path, d in zip(paths, deps):
                if d.shape != gt.shape:
                    raise InputError(f"depth size {d.shape[1]}x{d.shape[0]} differs from the ground truth's "
                                     f"{gt.shape[1]}x{gt.shape[0]}", path)
            depths = dict(zip(names, deps))
            if enhancer is not None:
                depths["enhanced"] = enhancer.enhance(c, depths[args.enhance])
            frames.append(mv.view_quality(c, gt, depths, cfg.n_views, cfg.baseline, cfg.zero_parallax,
                                          cfg.max_depth, args.band))
            if fig_frame is None and i >= args.figure_frame:
                fig_frame = (i, c, gt, depths)
    finally:
        for r in readers:
            r.close()
    if not frames:
        raise InputError("no frames", args.gt)
    summary = mv.summarize_view_quality(frames)
    summary.update({"color": args.color, "gt": args.gt, "depth_files": dict(zip(names, paths)),
                    "enhanced_from": args.enhance, "model": args.model if args.enhance else None,
                    "band_radius": args.band, "frame_stride": args.stride})
    md = _markdown(summary)
    print(md)
    if args.report:
        rp = Path(args.report)
        rp.parent.mkdir(parents=True, exist_ok=True)
        rp.write_text(json.dumps(mv.jsonable(summary), indent=2) + "\n")
        rp.with_suffix(".md").write_text(md + "\n")
        print(f"wrote {rp} and {rp.with_suffix('.md')}")
    if args.figure and fig_frame is not None:
        i, c, gt, depths = fig_frame
        y, x = mv.boundary_figure(c, gt, depths, args.figure, view=args.figure_view, n_views=cfg.n_views,
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
    r.add_argument("--codec", choices=sorted(CODECS), default="ffv1",
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
    from igde_stream.errors import IGDEError

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
