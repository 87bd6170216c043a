"""The views' options as other commands take them: the multiview stage in the same pass as the main
command (``--views-out``, ``--rgbd-out``, ``--preview`` and the views' geometry and layout), and the
packed RGB-D options (``--packed``, ``--depth-near``) shared with ``views`` and ``batch``."""

from __future__ import annotations

import argparse
from typing import Any

from . import display
from . import multiview as mv
from .errors import IGDEError
from .stream.views import VIEW_CODECS

ONEPASS_LAYOUTS = tuple(n for n in display.LAYOUTS if n != "rgbd")  # RGB-D is its own output (--rgbd-out)


def add_onepass_options(p: argparse.ArgumentParser) -> None:
    """``igde-stream C D -o OUT --views-out V.mkv [--rgbd-out R.mkv] [--preview P.png]``: views,
    RGB-D and a preview written in the same pass as the enhanced depth (``stream.outputs``)."""
    g = p.add_argument_group("views, RGB-D and preview in the same pass (docs/multiview.md)")
    g.add_argument("--views-out", metavar="PATH", help="also write the views of each enhanced frame in a display "
                   "layout (no intermediate file); what 'igde-stream views render' writes from OUT")
    g.add_argument("--views", type=int, metavar="N", help="number of views (default: 8; quilt: columns x rows; "
                   "lenticular: the calibration's, 45 for a Looking Glass visual.json)")
    g.add_argument("--layout", choices=ONEPASS_LAYOUTS, help="grid (default), sbs (side by side), tab (top and "
                   "bottom), anaglyph (red-cyan), views (one file per view), quilt, lenticular; see "
                   "'igde-stream views render --help'")
    g.add_argument("--quilt", metavar="CxR|PRESET", help="quilt: C columns x R rows (e.g. 8x6), or a Looking Glass "
                   f"preset ({', '.join(display.QUILT_PRESETS)}); implies --layout quilt")
    g.add_argument("--rows", type=int, help="grid rows")
    g.add_argument("--cols", type=int, help="grid columns")
    g.add_argument("--squeeze", action="store_true", help="sbs / tab: half-width / half-height views")
    g.add_argument("--anaglyph", choices=display.ANAGLYPHS, help="anaglyph: dubois (default) or color")
    g.add_argument("--calibration", metavar="CAL.json", help="lenticular: panel calibration, or a Looking "
                   "Glass display's visual.json")
    g.add_argument("--panel", metavar="WxH", help="lenticular: panel resolution (a visual.json "
                   "names its screen's)")
    g.add_argument("--blend", action="store_true", help="lenticular: blend the two nearest views")
    g.add_argument("--baseline", type=float, default=mv.ViewConfig.baseline,
                   help="views: pixels between the extreme views for a full-range depth step (default: %(default)s)")
    g.add_argument("--zero-parallax", type=float, default=mv.ViewConfig.zero_parallax,
                   help="views: normalised depth that stays in place (default: %(default)s)")
    g.add_argument("--renderer", choices=("auto", "numpy", "torch"), default="auto",
                   help="views: DIBR on the CPU with NumPy, or with PyTorch on the model's device (same views, "
                        "bit for bit); auto: torch when the model runs on a CUDA GPU (default: %(default)s)")
    g.add_argument("--no-audio", action="store_true",
                   help="--views-out / --rgbd-out videos (.mkv, .mp4, .mov) without the colour file's sound (by "
                        "default they carry it: copied where the container holds its codec, else coded to AAC; "
                        "the depth output holds video only)")
    g.add_argument("--views-codec", choices=sorted(VIEW_CODECS), default="ffv1",
                   help="codec of --views-out and --rgbd-out: ffv1 lossless, h264 or hevc lossy, BT.709 "
                        "(default: %(default)s)")
    g.add_argument("--rgbd-out", metavar="PATH", help="also write colour | enhanced depth (8-bit, near = white) "
                   "in one frame: the RGB-D video that light-field players take")
    add_depth_near_option(g, "--rgbd-out and --packed")
    g.add_argument("--preview", metavar="PATH.png", help="PNG of the worst and a median frame (by PSNR with --gt, "
                   "else by the change): colour, depths, error maps, zoom on the worst boundary patch")


PACKINGS = ("rgbd", "rgbd-tb")  # igde_stream.stream.packed.PACKINGS (tested equal)


def add_packed_option(p: argparse.ArgumentParser, what: str = "the one input is") -> None:
    """``--packed rgbd|rgbd-tb``: the one input is a packed RGB-D video (``stream.packed``); ``what``
    starts the help."""
    p.add_argument("--packed", choices=PACKINGS, help=f"{what} packed RGB-D, as light-field players take "
                   "it and --rgbd-out writes it: rgbd, colour | depth side by side; rgbd-tb, colour on top of "
                   "depth. The depth is the gray of its half, 8-bit, near = white (--depth-near black inverts)")


def add_depth_near_option(p: argparse.ArgumentParser, applies_to: str) -> None:
    """``--depth-near white|black``: how packed RGB-D holds near depth; ``applies_to`` names the
    command's options it concerns (e.g. "--packed")."""
    p.add_argument("--depth-near", choices=display.NEAR, help=f"{applies_to}: the colour of near depth in packed "
                   "RGB-D (default: white; black is read and written inverted)")


_VIEW_ONLY = ("views", "layout", "quilt", "rows", "cols", "anaglyph", "calibration", "panel")


def check_onepass_options(args: argparse.Namespace) -> None:
    """Views options without --views-out, --depth-near without --rgbd-out: one line (``IGDEError``)."""
    if args.views_out is None:
        given = [k for k in _VIEW_ONLY if getattr(args, k) is not None] + [k for k in ("squeeze", "blend")
                                                                           if getattr(args, k)]
        if args.renderer != "auto":
            given.append("renderer")
        # options with defaults: given when they differ from them (the view geometry, the views' codec)
        given += [k for k in ("baseline", "zero_parallax") if getattr(args, k) != getattr(mv.ViewConfig, k)]
        if args.views_codec != "ffv1" and args.rgbd_out is None:
            given.append("views_codec")
        if given:
            raise IGDEError(f"{', '.join('--' + k.replace('_', '-') for k in given)}: needs --views-out"
                            + (" (or --rgbd-out)" if given == ["views_codec"] else ""))
    if args.depth_near is not None and args.rgbd_out is None and args.packed is None:
        raise IGDEError("--depth-near: needs --rgbd-out or --packed")


def onepass_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``enhance_file``'s ``views_path``, ``rgbd_path``, ``preview_path`` and ``views`` from the options."""
    from .stream.outputs import ViewsOptions
    from .views_cli import _config, _layout

    check_onepass_options(args)
    preset = args.quilt if args.quilt in display.QUILT_PRESETS else None
    ns = argparse.Namespace(layout=args.layout, quilt=None if preset else args.quilt, device=preset, rows=args.rows,
                            cols=args.cols, squeeze=args.squeeze, anaglyph=args.anaglyph, depth_near=None,
                            calibration=args.calibration, panel=args.panel, blend=args.blend, views=args.views,
                            baseline=args.baseline, zero_parallax=args.zero_parallax, max_depth=args.max_depth,
                            depth_order=args.depth_order, preset_option="--quilt")
    if args.views_out is not None:
        _, cfg, layout = _layout(ns)
    else:
        cfg, layout = _config(ns), "grid"
    opts = ViewsOptions(config=cfg, layout=layout, codec=args.views_codec, renderer=args.renderer,
                        depth_near=args.depth_near or "white", audio=not getattr(args, "no_audio", False))
    return {"views_path": args.views_out, "rgbd_path": args.rgbd_out, "preview_path": args.preview, "views": opts}


__all__ = ["ONEPASS_LAYOUTS", "PACKINGS", "add_depth_near_option", "add_onepass_options", "add_packed_option",
           "check_onepass_options", "onepass_kwargs"]
