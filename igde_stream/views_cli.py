"""``igde-stream views``: the multiview stage on video files. Render N views (DIBR) from colour +
depth, or measure view quality.

Render (colour + depth video in, multiview video out):
  igde-stream views render demo/color.mp4 demo/depth_enhanced.mkv -o views.mkv
  igde-stream views render C.mp4 D.mkv -o stereo.mp4 --layout sbs --squeeze --codec h264
  igde-stream views render C.mp4 D.mkv -o tv.mp4 --layout tab --squeeze --codec h264   # half top-and-bottom
  igde-stream views render C.mp4 D.mkv -o red_cyan.mkv --layout anaglyph   # Dubois; --anaglyph color
  igde-stream views render C.mp4 D.mkv -o v.mkv --layout views   # v_v0.mkv ... v_v7.mkv

Display layouts (igde_stream/display/):
  igde-stream views render C.mp4 D.mkv -o clip.mp4 --device portrait --codec h264   # clip_qs8x6a0.75.mp4, 48 views
  igde-stream views render C.mp4 D.mkv -o q.mkv --layout quilt --quilt 4x2      # q_qs4x2a1.78.mkv (960x540 views)
  igde-stream views render C.mp4 D.mkv -o out_rgbd.mp4 --layout rgbd --depth-near white --codec h264
  igde-stream views render C.mp4 D.mkv -o panel.mkv --layout lenticular \\
      --calibration docs/lenticular-calibration.json --panel 3840x2160

Quality (views from each depth stream vs views from the ground-truth depth, per view and mean):
  igde-stream views quality C.mp4 --gt gt.mkv --depth degraded=D.mkv --depth enhanced=E.mkv \\
      --report views.json --figure views.png
  igde-stream views quality C.mp4 --gt gt.mkv --depth degraded=D.mkv --enhance degraded ...
  igde-stream views quality P.mp4 --packed rgbd --gt gt.mkv [--depth enhanced=E.mkv] [--enhance packed]
      colour and depth ('packed') from a packed RGB-D video
  igde-stream views quality C.mp4 --gt sparse_gt.mkv --depth degraded=D.mkv --gt-measured
      scored where the reference views show a measured (not 0) ground-truth pixel

Geometry and formulas: igde_stream/multiview.py; layouts: igde_stream/display/; video files:
igde_stream/stream/views.py. Frames are paired by presentation time (within half a frame; views
render --pair index: colour frame k with depth frame k, whatever their times); output keeps the
depth stream's timestamps. Output is written to a temporary name and renamed when
complete; an output that is an input, or exists (without -y / --overwrite), is refused. Exit
status 2 with a one-line error on bad input.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import display
from . import multiview as mv
from .depth_order import ORDERS
from .cli import add_autorotate_option, add_depth_range_option, add_pair_option, add_sync_option
from .signals import EXIT_USER_ERROR, Terminated, interrupted_by, say, signals_raise, stopped
from .cli_logging import setup_logging
from .cli_parser import (add_depth_channel_option, add_depth_colormap_option, add_hole_fill_option, add_span_options,
                         add_wide_errors_option, end_of, float_range_arg, fps_arg, hole_fill_of, span_end,
                         check_pair_sync)
from .errors import IGDEError, cli_message
from .stream.views import VIEW_CODECS, render_file, view_quality_files
from .views_options import add_depth_near_option, add_packed_option
from .views_outputs import check_quality_outputs

PROG = "igde-stream views"


def _config(args: argparse.Namespace, n_views: int | None = None) -> mv.ViewConfig:
    try:
        views = (n_views or 8) if args.views is None else args.views
        base = mv.ViewConfig.baseline if args.baseline is None else args.baseline
        zero = mv.ViewConfig.zero_parallax if args.zero_parallax is None else args.zero_parallax
        return mv.ViewConfig(views, base, zero, args.max_depth, args.depth_order)
    except ValueError as exc:  # ViewConfig names its fields; the command line says its options
        field, _, rest = str(exc).partition(" ")
        raise IGDEError(str(exc), cli_problem=f"{_OPTION_OF.get(field, field)} {rest}") from None


_OPTION_OF = {"n_views": "--views", "baseline": "--baseline", "zero_parallax": "--zero-parallax",
              "max_depth": "--max-depth", "depth_order": "--depth-order"}


def _size(text: str, what: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    if not (sep and w.isdigit() and h.isdigit() and int(w) > 0 and int(h) > 0):
        raise IGDEError(f"{what} {text!r}: use WIDTHxHEIGHT, e.g. 3840x2160")
    return int(w), int(h)


def _layout(args: argparse.Namespace) -> tuple[str, mv.ViewConfig, display.Layout]:
    """The views' geometry and the layout from the render options; options of another layout are an error."""
    by_quilt = getattr(args, "preset_option", None) == "--quilt"  # the main command's preset: its --quilt
    if args.quilt in display.QUILT_PRESETS and not args.device:  # --quilt portrait, as the main command takes it
        args = argparse.Namespace(**{**vars(args), "quilt": None, "device": args.quilt})
        by_quilt = True
    name = args.layout or ("quilt" if args.quilt or args.device else "grid")
    given = {"rows": args.rows, "cols": args.cols, "squeeze": args.squeeze or None, "anaglyph": args.anaglyph,
             "quilt": args.quilt, "device": args.device, "depth_near": args.depth_near,
             "calibration": args.calibration, "panel": args.panel, "blend": args.blend or None}
    takes = {"grid": {"rows", "cols"}, "sbs": {"squeeze"}, "tab": {"squeeze"}, "anaglyph": {"anaglyph"},
             "views": set(), "quilt": {"quilt", "device"}, "rgbd": {"depth_near"},
             "lenticular": {"calibration", "panel", "blend"}}[name]
    packed_near = {"depth_near"} if getattr(args, "packed", None) else set()  # the packed input's, then
    stray = [k for k, v in given.items() if v is not None and k not in takes | packed_near]
    if name == "rgbd":  # colour | depth, no views rendered
        stray += [k for k, v in (("views", args.views), ("renderer", getattr(args, "renderer", "numpy")),
                                 ("baseline", args.baseline), ("zero_parallax", args.zero_parallax))
                  if v not in (None, "numpy")]
    if stray:
        opts = ", ".join("--" + ("quilt" if k == "device" and by_quilt else k).replace("_", "-") for k in stray)
        raise IGDEError(f"{opts}: not an option of --layout {name}")
    options: dict[str, Any] = {k: v for k, v in given.items() if v is not None and k in takes - {"quilt", "device"}}
    n_views = None
    if name == "quilt":
        if bool(args.quilt) == bool(args.device):
            presets = "|".join(display.QUILT_PRESETS)  # the main command takes the presets by --quilt
            where = getattr(args, "preset_option", "--device")
            raise IGDEError(f"--layout quilt needs one of --quilt COLUMNSxROWS or {where} {presets}")
        try:
            spec = display.parse_quilt(args.quilt) if args.quilt else display.QUILT_PRESETS[args.device]
        except ValueError as exc:
            raise IGDEError(f"--quilt: {exc}") from None
        options["quilt"], n_views = spec, spec.cols * spec.rows
    elif name == "lenticular":
        if not args.calibration:
            raise IGDEError("--layout lenticular needs --calibration CAL.json (or a Looking Glass visual.json) "
                            "and --panel WIDTHxHEIGHT")
        options["calibration"], screen = display.load_calibration(args.calibration, args.views)
        if screen is None and not args.panel:
            raise IGDEError("--layout lenticular needs --panel WIDTHxHEIGHT (the calibration names no screen)")
        options["panel"] = _size(args.panel, "--panel") if args.panel else screen
        if screen is not None and options["panel"] != screen:
            raise IGDEError(f"--panel {args.panel}: the Looking Glass calibration is for its {screen[0]}x{screen[1]} "
                            "screen (its pitch is per screen pixel); leave --panel out")
        n_views = options["calibration"].n_views
    cfg = _config(args, n_views)
    try:
        return name, cfg, display.make_layout(name, cfg, **options)
    except ValueError as exc:
        raise IGDEError(str(exc)) from None


def _source(args: argparse.Namespace, packed_input: str | None = None) -> Any:
    """The inputs' ``sources.InputOptions`` (``--no-autorotate``, ``--packed``; ``packed_input``: the
    one packed input where the others are plain)."""
    from .stream.packed import check_order
    from .stream.sources import InputOptions

    check_order(getattr(args, "packed", None), getattr(args, "depth_order", None))
    return InputOptions(autorotate=args.autorotate, packed=getattr(args, "packed", None),
                        depth_near=getattr(args, "depth_near", None) or "white", packed_input=packed_input,
                        depth_range=getattr(args, "depth_range", "auto"),
                        depth_colormap=getattr(args, "depth_colormap", "gray"), fps=getattr(args, "fps", None),
                        depth_channel=getattr(args, "depth_channel", None))


def cmd_render(args: argparse.Namespace) -> int:
    name, cfg, layout = _layout(args)
    render = None
    if args.renderer == "torch":
        from .stream.outputs import pick_renderer

        render, _ = pick_renderer("torch", None)
    # one input alone: a file with a colour and a depth stream (as the main command takes it), or packed
    n, paths = render_file(args.color, args.depth or args.color, args.out, cfg, layout=layout, codec=args.codec,
                           max_frames=args.max_frames, start=args.start, end=end_of(args), render=render, source=_source(args), overwrite=args.overwrite,
                           pair=args.pair, sync=args.sync, float_range=args.float_range, audio=not args.no_audio)
    if not args.quiet:
        if name == "rgbd":
            what = f"colour | 8-bit depth, near = {args.depth_near or 'white'}"
        else:
            stereo = isinstance(layout, display.StereoPair)
            what = (f"stereo pair of the extreme views, {name}" if stereo else
                    f"{cfg.n_views} view{'s' if cfg.n_views > 1 else ''}, {name}")
            what += f", baseline {cfg.baseline:g} px, zero parallax {cfg.zero_parallax:g}"
        coded = "png" if all(p.suffix.lower() == ".png" for p in paths) else args.codec  # one picture: PNG
        say(f"wrote {n} frame{'s' if n != 1 else ''} ({what}, {coded}) to {', '.join(str(p) for p in paths)}")
        from .stream.sound import sound_note

        if note := sound_note(args.color, paths, stereo=args.layout in ("sbs", "tab"), carried=not args.no_audio):
            say(note)
    from .stream.stereo_names import say_name

    say_name(paths[0] if paths else None, name, args.quiet)
    return 0


PACKED_NAME = "packed"  # views quality --packed: the name of the packed input's depth


def cmd_quality(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if args.depth_near is not None and args.packed is None:
        raise IGDEError("--depth-near says how the --packed input holds near depth: it needs --packed")
    if not args.depth and args.packed is None:
        raise IGDEError("views quality needs a depth to compare: --depth NAME=PATH, or a packed RGB-D input "
                        "(--packed rgbd), whose depth is compared")
    depths = {PACKED_NAME: args.color} if args.packed else {}  # the packed input: its colour and depth
    for spec in args.depth:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise IGDEError(f"--depth {spec!r}: use NAME=PATH, e.g. degraded=depth.mkv")
        if name in depths:
            what = "the packed input's depth" if args.packed and name == PACKED_NAME else "another --depth"
            raise IGDEError(f"--depth {spec!r}: {name} already names {what}; give each depth its own name")
        depths[name] = path
    if args.enhance and args.enhance not in depths:
        raise IGDEError(f"--enhance {args.enhance!r}: no --depth of that name")
    if args.figure and not 0 <= args.figure_view < cfg.n_views:
        raise IGDEError(f"--figure-view {args.figure_view}: views are numbered 0..{cfg.n_views - 1} (leftmost first)")
    inputs = {"color": args.color, "gt": args.gt, **{f"--depth {k}": v for k, v in depths.items() if v != args.color}}
    outs = check_quality_outputs(args.report, args.figure, inputs, args.overwrite)  # before any work
    enhancer = None
    if args.enhance:
        from .enhancer import Enhancer

        enhancer = Enhancer(model=args.model, backend=args.backend, max_depth=args.max_depth,
                            depth_order=args.depth_order, quiet=True,
                            hole_fill=hole_fill_of(args.hole_fill), wide_errors=args.wide_errors)
        if not args.quiet:
            say(f"{PROG}: backend {enhancer.backend_description} [{enhancer.backend_reason}]", err=True)
    summary, fig_frame = view_quality_files(args.color, args.gt, depths, cfg, enhancer=enhancer,
                                            enhance=args.enhance, stride=args.stride, band=args.band,
                                            max_frames=args.max_frames, start=args.start, end=end_of(args),
                                            figure_frame=args.figure_frame, sync=args.sync, float_range=args.float_range,
                                            gt_measured=args.gt_measured,
                                            source=_source(args, args.color if args.packed else None))
    if args.figure and fig_frame is None:
        raise IGDEError(f"--figure-frame {args.figure_frame}: no frame at or after it was used ({summary['frames']} "
                        f"frames used, stride {args.stride}); nothing written")
    cfg = mv.ViewConfig(**summary["config"])  # as the views were rendered (10 / 12-bit depth: its own peak)
    summary["model"] = args.model if args.enhance else None
    if enhancer is not None:
        summary["hole_fill"], summary["wide_errors"] = enhancer.hole_fill is not None, enhancer.wide_errors
        summary["holes_kept"] = enhancer.keep_holes  # --hole-fill keep, as igde-stream's report says it
    if args.packed:
        summary.update(packed=args.packed, depth_near=args.depth_near or "white")
    summary["depth_colormap"] = args.depth_colormap  # how the --depth inputs were read (not the ground truth)
    md = _markdown(summary)
    say(md)  # a closed stdout (| head) still gets the report and figure written
    for line in outs.write(summary, md, fig_frame, cfg, args.figure_view):
        if not args.quiet:  # -q: stdout is the table alone (... -q > table.md)
            say(line)
    return 0


def _markdown(summary: dict[str, Any]) -> str:
    c = summary["config"]
    head = (f"View quality: {c['n_views']} views, baseline {c['baseline']:g} px, zero parallax "
            f"{c['zero_parallax']:g}, {summary['frames']} frames. Reference: views rendered from the "
            f"ground-truth depth with the same colour. PSNR over all pixels and channels (from the mean "
            f"MSE over frames); band PSNR within {summary['band_radius']} px of reference-view depth edges; "
            f"SSIM mean over R, G, B. The mean row: PSNRs from the mean MSE over the views (not a mean of "
            f"their dB), SSIM the mean.")
    if summary.get("gt_measured_only"):
        skipped = len(summary["frames_without_measured_gt"])
        head += (f" --gt-measured: every figure over the view pixels whose reference view shows a measured "
                 f"ground-truth pixel (not 0), {100 * summary['measured_share']:.1f} % of them"
                 + (f"; {skipped} frames with no measured pixel left out" if skipped else "") + ".")
    if summary.get("packed"):
        head += (f" Colour and depth `{PACKED_NAME}` from the packed RGB-D input {summary['color']} "
                 f"(--packed {summary['packed']}, near = {summary['depth_near']}).")
    if summary.get("depth_colormap", "gray") != "gray":
        head += (f" Depth read from colour-mapped video (--depth-colormap {summary['depth_colormap']}: "
                 f"the nearest colour of the map's table; the ground truth read as gray).")
    return head + "\n\n" + mv.markdown_table(summary)


def build_parser() -> argparse.ArgumentParser:
    from .cli_parser import OneLineParser

    p = OneLineParser(prog=PROG, description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    def geometry(q: argparse.ArgumentParser, views_help: str = "number of views (default: 8)") -> None:
        q.add_argument("--views", type=int, default=None, help=views_help)
        q.add_argument("--baseline", type=float, default=None,
                       help="shift in pixels between the extreme views for a depth step of 1.0 (full range) "
                            "from the zero-parallax level; per-view step = baseline / (views - 1); one view: "
                            f"the centre view, the colour unchanged (default: {mv.ViewConfig.baseline:g})")
        q.add_argument("--zero-parallax", type=float, default=None,
                       help="normalised depth (0 far .. 1 near) that stays in place (default: "
                            f"{mv.ViewConfig.zero_parallax:g})")
        q.add_argument("--max-depth", type=float, default=None,
                       help="depth value that means 1.0 (default: the format's peak, 255, 1023, 4095 or 65535 "
                            "for 8, 10, 12 or 16 bits)")
        q.add_argument("--depth-order", choices=ORDERS, default="near-high",
                       help="near-high (default): depth grows toward the camera; far-high: distance maps "
                            "(0 = no measurement)")
        q.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: all)")
        add_span_options(q, "use")
        add_sync_option(q, "the inputs' frames")
        add_autorotate_option(q)
        add_depth_range_option(q, writes=False)
        add_depth_colormap_option(q)
        add_depth_channel_option(q)
        q.add_argument("--float-range", type=float_range_arg, metavar="LO:HI",
                       help="float depth (PFM, EXR, float .npy; ground truth too) read as igde-stream maps it: LO..HI "
                            "-> 16-bit codes 1..65535 (give the range its run logged); negative LO: --float-range=-1:1")
        q.add_argument("--fps", type=fps_arg, metavar="R",
                       help="frame rate of image sequences and NumPy arrays (default: 25), as igde-stream's")

    r = sub.add_parser("render", help="colour + depth video -> multiview video")
    r.add_argument("color", help="colour video (with --packed: the packed RGB-D video)")
    r.add_argument("depth", nargs="?", help="depth video (gray or YUV luma, 8 to 16 bits); none with --packed")
    add_packed_option(r)
    add_pair_option(r)
    r.add_argument("-o", "--out", required=True, help="output video (.mkv, .mp4; layout views: one file per view)")
    geometry(r, "number of views (default: 8; quilt: columns x rows; lenticular: the calibration's, "
                "45 for a Looking Glass visual.json)")
    r.add_argument("--layout", choices=display.LAYOUTS, default=None,
                   help="grid: tiled views (default); sbs: stereo pair (extreme views) side by side; tab: stereo "
                        "pair top and bottom, left view on top; anaglyph: stereo pair as one red-cyan frame; views: "
                        "one file per view; quilt: Looking Glass quilt; rgbd: colour | depth; lenticular: views "
                        "interleaved per subpixel")
    r.add_argument("--rows", type=int, help="grid rows (default: automatic, 8 views -> 2 x 4)")
    r.add_argument("--cols", type=int, help="grid columns")
    r.add_argument("--squeeze", action="store_true", help="sbs: half-width views, output keeps the input width; "
                   "tab: half-height views, output keeps the input height (odd sizes: the left view gets the "
                   "extra column / row)")
    r.add_argument("--anaglyph", choices=display.ANAGLYPHS,
                   help="anaglyph: dubois (default; Dubois least-squares red-cyan matrices, in linear light) or "
                        "color (red from the left view, green and blue from the right)")
    r.add_argument("--quilt", metavar="CxR|PRESET", help="quilt: C columns x R rows, tiles = views (e.g. 8x6), or a "
                   f"preset ({', '.join(display.QUILT_PRESETS)}), as --device")
    r.add_argument("--device", choices=list(display.QUILT_PRESETS),
                   help="quilt preset for a Looking Glass display: portrait 8x6 at 3360x3360 (aspect 0.75), "
                        "go 11x6 at 4092x4092 (aspect 0.5625), 16in / 32in 5x9 at 4096x4096 / 8192x8192 and "
                        "65in 8x9 at 8192x8192 (aspect 16:9); implies --layout quilt")
    add_depth_near_option(r, "the rgbd layout and --packed")
    r.add_argument("--calibration", metavar="CAL.json",
                   help="lenticular: panel calibration (n_views, pitch, tan_slant, offset, subpixel_order, "
                        "inverted), or a Looking Glass display's visual.json (views: --views, default 45)")
    r.add_argument("--panel", metavar="WxH", help="lenticular: panel resolution in pixels (not below the views'; "
                   "a visual.json names its screen's)")
    r.add_argument("--blend", action="store_true",
                   help="lenticular: blend the two nearest views per subpixel (default: the nearest view)")
    r.add_argument("--codec", choices=sorted(VIEW_CODECS), default="ffv1",
                   help="ffv1: lossless (FFV1 level 3, bgr0); h264: lossy yuv420p CRF 16; hevc: lossy yuv420p "
                        "CRF 18 (h264 and hevc BT.709, tagged) (default: %(default)s)")
    r.add_argument("--renderer", choices=("numpy", "torch"), default="numpy",
                   help="DIBR on the CPU with NumPy, or with PyTorch on the first CUDA GPU (the CPU without one); "
                        "the views are the same, bit for bit (default: %(default)s)")
    r.add_argument("-y", "--overwrite", action="store_true", help="replace existing output files")
    r.add_argument("--no-audio", action="store_true",
                   help="video outputs (.mkv, .mp4, .mov) without the colour file's sound (by default they carry it: "
                        "copied where the container holds its codec, else coded to AAC; docs/formats.md)")
    r.add_argument("-q", "--quiet", action="store_true", help="no summary line; errors only")
    r.set_defaults(func=cmd_render)

    q = sub.add_parser("quality", help="view PSNR / SSIM of views from each depth vs views from the GT depth")
    q.add_argument("color", help="colour video (with --packed: the packed RGB-D video, colour and a depth)")
    add_packed_option(q, "the input (color) is")
    add_depth_near_option(q, "--packed")
    q.add_argument("--gt", required=True, help="ground-truth depth video (the reference views come from it)")
    q.add_argument("--gt-measured", action="store_true",
                   help="score only the view pixels whose reference view shows a ground-truth pixel that is not 0 "
                        "(a stereo ground truth's unknown pixels, KITTI's sparse one, NaN / inf of a float one); "
                        "default: every pixel")
    q.add_argument("--depth", action="append", default=[], metavar="NAME=PATH",
                   help="a depth video to compare (repeat: degraded=..., enhanced=...); with --packed, the packed "
                        f"input's depth is compared as '{PACKED_NAME}', and these are plain depth videos")
    q.add_argument("--enhance", metavar="NAME", help="also run the model on depth NAME and compare it as 'enhanced' "
                   f"(--packed: {PACKED_NAME} is the packed input's depth)")
    q.add_argument("--model", default="igde-small", help="model for --enhance (default: %(default)s)")
    q.add_argument("--backend", default="auto", help="backend for --enhance (default: %(default)s)")
    add_hole_fill_option(q, "hole fill for --enhance, as igde-stream's --hole-fill (default: %(default)s)")
    add_wide_errors_option(q)
    geometry(q)
    q.add_argument("--stride", type=int, default=1, help="use every STRIDE-th frame (default: %(default)s)")
    q.add_argument("--band", type=int, default=8, help="boundary band radius in pixels (default: %(default)s)")
    q.add_argument("--report", metavar="R.json", help="JSON report (a Markdown table is written beside it, R.md)")
    q.add_argument("--figure", metavar="F.png", help="PNG of boundary artefacts before / after")
    q.add_argument("-y", "--overwrite", action="store_true", help="replace existing --report / --figure files")
    q.add_argument("-q", "--quiet", action="store_true", help="errors only on stderr (the table still goes to stdout)")
    q.add_argument("--figure-frame", type=int, default=0, help="frame index for the figure (default: first used)")
    q.add_argument("--figure-view", type=int, default=0, help="view for the figure (default: 0, leftmost)")
    q.set_defaults(func=cmd_quality)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if hasattr(args, "start"):
        span_end(parser, args)
    check_pair_sync(parser, args)
    setup_logging(getattr(args, "quiet", False), PROG)
    for option, least in (("stride", 1), ("max_frames", 0), ("band", 0), ("figure_frame", 0)):
        if getattr(args, option, least) < least:
            print(f"{PROG}: error: --{option.replace('_', '-')} must be >= {least}", file=sys.stderr)
            return 2
    try:
        with signals_raise():
            return args.func(args)
    except IGDEError as exc:
        if (sig := interrupted_by()) is not None:  # a swallowed interrupt, surfaced as a read error
            return stopped(PROG, sig)
        say(f"{PROG}: error: {cli_message(exc)}", err=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt as e:  # Terminated (SIGTERM) too
        return stopped(PROG, "term" if isinstance(e, Terminated) else "int")

