"""``igde-stream``: enhance a depth video with its colour video as guide (IGDE).

Thin entry point: parses arguments and calls ``igde_stream.stream.enhance_file``. User errors print
one line, ``igde-stream: error: <file>: <problem>``, and exit 2; Ctrl-C exits 130 and SIGTERM 143
(128 + 15, the shell's convention), both after the same cleanup, so neither leaves output behind.
Heavy imports (PyAV, the model) happen inside ``main``.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any, Sequence

from .cli_parser import (  # noqa: F401  pair_arg, size_arg: tools and tests import them from here
    OneLineParser, add_depth_channel_option, add_depth_colormap_option, add_hole_fill_option, add_model_threads_option,
    add_span_options, add_wide_errors_option, check_paired_options, count_arg, end_of, float_range_arg, fps_arg,
    hole_fill_of, pair_arg, seconds_arg, size_arg, span_end,
)
from .cli_logging import setup_logging
from .demo import run_demo
from .signals import EXIT_OK, EXIT_USER_ERROR, Terminated, interrupted_by, say, signals_raise, stopped

SYNC_CHOICES = ("relative", "absolute")  # igde_stream.stream.reader.SYNC_MODES (not imported: PyAV is heavy)
PAIR_CHOICES = ("exact", "nearest", "index")  # igde_stream.stream.pairing.PAIR_MODES
GRIDS = ("depth", "color")  # igde_stream.stream.pipeline.GRIDS (not imported, as above; tested equal)
ENLARGE = ("linear", "nearest")  # igde_stream.stream.formats.ENLARGE (tested equal)
DEPTH_ORDERS = ("near-high", "far-high")  # igde_stream.depth_order.ORDERS (tested equal)
MAX_THREADS = 1024  # --threads: decoder / encoder threads; FFmpeg fails to start a few thousand per codec


EXAMPLES = """\
examples:
  igde-stream --demo demo/
      write a synthetic clip into demo/ and run the whole job on it (report + plot included)
  igde-stream in_color.mp4 in_depth.mkv -o out_depth.mkv
      enhance a depth video (FFV1, lossless) with its colour video as guide
  igde-stream in_color.mp4 in_depth.mkv -o out_depth.mkv --gt gt_depth.mkv --report report.json --plot psnr.png
      the same, plus a per-frame PSNR report (.json or .csv; repeat --report for both) and plot
  igde-stream in_color.mp4 in_depth.mkv -o out.mkv --backend tensorrt --engine engines/igde-small.engine --batch 8
      run a TensorRT engine built by tools/build_engine.py
  igde-stream in_color.mp4 in_depth.mkv -o out.mp4 --codec libx264 -y
      lossy H.264 output (labelled as lossy), replacing out.mp4 if it exists
  igde-stream kinect_color.mp4 kinect_mm.mkv -o out_mm.mkv --depth-order far-high --max-depth 5000
      16-bit distance in millimetres (0 = no measurement), read as inverse depth over 0.25..5 m; output in mm
  igde-stream views render in_color.mp4 out_depth.mkv -o views.mkv
      the multiview stage: 8 views (DIBR) tiled 2 x 4; igde-stream views --help for layouts and quality
  igde-stream in_color.mp4 in_depth.mkv -o out_depth.mkv --views-out grid.mkv --views 8 --rgbd-out rgbd.mkv
      enhance and, in the same pass, write the views and the RGB-D video (add --preview preview.png)
  igde-stream rgb/ depth/%06d.png -o out/%06d.png --fps 30
      image sequences (a folder, or a %d pattern) in and out; 16-bit PNG depth stays 16-bit
  igde-stream color.mkv depth.yuv --size 1920x1080 --pix-fmt yuv420p10le --fps 30 -o out.mkv
      raw 10-bit depth (the luma plane), written as 10-bit FFV1
  ffmpeg -i d.mkv -c:v ffv1 -f nut - | igde-stream color.mp4 - -o - | ffmpeg -f nut -i - -c:v copy out.mkv
      depth from stdin, enhanced depth to stdout (NUT; --format matroska); logs go to stderr
  igde-stream rtsp://camera/color tcp://127.0.0.1:9000 -o tcp://10.0.0.5:9001 --format matroska
      network streams in and out through FFmpeg's protocols (--net-timeout S, default 10)
  igde-stream rgbd.mkv -o out.mkv [--color-stream 0 --depth-stream 1]
      one input holding a colour and a depth stream (a file, or - for stdin)
  igde-stream looking_glass.mp4 --packed rgbd -o out_depth.mkv [--rgbd-out rgbd.mp4]
      one packed RGB-D video (a file, or - for stdin): colour | depth (near = white; --depth-near black)
  igde-stream rgb/ midas/%06d.pfm -o out/%06d.pfm [--float-range=0:1500]
      float depth (PFM, EXR; MiDaS inverse depth), one linear map to 16 bits for the run; float out
  igde-stream bag recording.bag rec/
      a ROS 1 / ROS 2 bag (RealSense Viewer, rosbag record): colour and depth images paired by time into
      rec/color and rec/depth, and the igde-stream command for them (pip install "igde-stream[ros]")

depth: gray (8, 10, 12, 16 bits; gray16be too), or the luma plane of 8/10/12/16-bit YUV; the output
keeps its size, frame count, timestamps, frame rate and bit depth. Colour and depth frames pair by
presentation time (within half a frame), each counted from its stream's start (--sync absolute: as
they are; --pair index: colour frame k with depth frame k, whatever their times, for depth an
estimator made frame by frame from a phone's variable-rate video); colour is resized to the depth
grid when the sizes differ. Image sequences and raw video pair by index, at --fps (default 25).
More in docs/formats.md.
exit status: 0 done, 2 bad input or option (one-line message), 130 interrupted (Ctrl-C), 143
terminated (SIGTERM); an interrupted or terminated run leaves no output and no partial file.
"""


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = OneLineParser(
        prog="igde-stream",
        description="Enhance depth-map edges in a depth video, with the colour video as guide (IGDE network).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("color", nargs="?", help="colour video (any format FFmpeg reads), image folder or %%d pattern, "
                                            "- (stdin), a named pipe or <(cmd), or a network URL (rtsp://, srt://, "
                                            "udp://, tcp://, ...); "
                                            "alone: one input with a colour and a depth stream")
    p.add_argument("depth", nargs="?", help="depth video (gray 8-16 bits or YUV luma), image folder or %%d pattern "
                                            "(OpenEXR: Y, or a render's Z / depth.Z channel beside its colour), "
                                            "raw .yuv (with --size, --pix-fmt), NumPy .npy / .npz (T x H x W float or "
                                            "uint8/16; clip.npz:KEY; a folder or %%d pattern of .npy), - (stdin) or a "
                                            "named pipe")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="enhanced depth to write: a video (e.g. out_depth.mkv), an image pattern (out/%%06d.png), "
                        "- (stdout) or a network URL (tcp://, udp://, srt://, rtmp://; --format)")
    p.add_argument("--gt", metavar="PATH", help="ground-truth depth (as DEPTH) for the per-frame PSNR report")
    p.add_argument("--report", metavar="PATH", action="append",
                   help="per-frame report, .json or .csv (repeatable; needs --gt)")
    p.add_argument("--gt-measured", action="store_true",
                   help="score only the pixels where the ground truth is not 0 (a stereo ground truth's unknown "
                        "pixels, KITTI's sparse one, NaN / inf of a float one); default: every pixel")
    p.add_argument("--plot", metavar="PATH.png", help="PNG plot of PSNR per frame, input vs output (needs --gt)")
    add_input_options(p)
    add_enhance_options(p)
    from .views_options import add_onepass_options, add_packed_option

    add_packed_option(p)  # --packed rgbd: one input, colour | depth in each frame
    add_onepass_options(p)  # --views-out, --rgbd-out, --preview and the views' options
    p.add_argument("--demo", metavar="DIR", help="write a synthetic clip into DIR and run the whole job on it "
                   "(replacing an earlier demo's files there; other files of its names only with -y)")
    p.add_argument("--version", action="version", version=f"igde-stream {__version__}")
    return p


def add_autorotate_option(p: Any) -> None:
    """``--no-autorotate`` (``args.autorotate``), shared with ``igde-stream views``."""
    p.add_argument("--no-autorotate", dest="autorotate", action="store_false",
                   help="read frames as stored: ignore the display matrix (a phone's rotation, a mirror, EXIF)")


def add_depth_range_option(p: Any, writes: bool = True) -> None:
    """``--depth-range`` (``args.depth_range``), shared with ``igde-stream views`` (``writes`` False: a
    command that writes no depth)."""
    back = ", written back limited" if writes else ""
    p.add_argument("--depth-range", choices=("auto", "full", "limited"), default="auto",
                   help=f"range of YUV depth luma: limited (16..235 at 8 bits, 64..940 at 10, read stretched to "
                        f"the full range as FFmpeg and players do{back}) or full (as stored); auto (default): the "
                        "stream's tag; untagged lossy video (H.264, HEVC, ...) limited, lossless, raw and images full")


def add_input_options(p: argparse.ArgumentParser) -> None:
    """Inputs that do not describe themselves (image sequences, raw video) and stream choice; see
    docs/formats.md."""
    g = p.add_argument_group("inputs (docs/formats.md)")
    g.add_argument("--fps", type=fps_arg, metavar="R",
                   help="frame rate of image sequences, raw video and NumPy arrays (default: 25); frames pair by index")
    g.add_argument("--size", type=size_arg, metavar="WxH", help="frame size of raw depth: .yuv / .raw, or - (ffmpeg -f rawvideo -)")
    g.add_argument("--pix-fmt", metavar="NAME",
                   help="pixel format of raw depth: gray, gray10le, gray12le, gray16le, gray16be, yuv420p, "
                        "yuv420p10le, yuv420p16le, ... (depth in the luma plane), grayf32le / grayf32be (float)")
    g.add_argument("--color-stream", type=int, metavar="N",
                   help="video stream of the colour input, from 0 (default: the first 3-channel one)")
    g.add_argument("--depth-stream", type=int, metavar="M",
                   help="video stream of the depth input, from 0 (default: the first gray or >8-bit one)")
    add_autorotate_option(g)
    add_depth_range_option(g)
    add_depth_colormap_option(g)
    add_depth_channel_option(g)
    g.add_argument("--format", choices=("nut", "matroska", "mpegts", "flv"),
                   help="container of -o - (stdout) or -o URL (default nut; flv for rtmp://), or of a file whatever "
                        "its suffix; mpegts and flv hold --codec libx264, not FFV1")
    g.add_argument("--net-timeout", type=seconds_arg, default=10.0, metavar="S",
                   help="seconds a network input (URL) may take to connect or stay silent, and a write to -o URL "
                        "may wait (default: 10)")


def input_options(args: argparse.Namespace) -> Any:
    """``enhance_file``'s ``inputs`` (``sources.InputOptions``) from ``add_input_options``' values."""
    from .stream.packed import check_order
    from .stream.sources import InputOptions

    check_order(getattr(args, "packed", None), getattr(args, "depth_order", None))
    return InputOptions(fps=args.fps, size=args.size, pix_fmt=args.pix_fmt, color_stream=args.color_stream,
                        depth_stream=args.depth_stream, autorotate=args.autorotate,
                        packed=getattr(args, "packed", None), depth_near=getattr(args, "depth_near", None) or "white",
                        depth_range=args.depth_range, depth_colormap=args.depth_colormap,
                        depth_channel=args.depth_channel, net_timeout=args.net_timeout)


def add_pair_option(p: argparse.ArgumentParser) -> None:
    """``--pair``: how colour frames pair with depth frames (``stream.pairing.pairs``)."""
    p.add_argument("--pair", choices=PAIR_CHOICES, default="exact",
                   help="exact (default): one colour frame for each depth frame, within half a frame; any frame "
                        "without a partner is an error. nearest: each depth frame takes the colour frame nearest "
                        "in time (within half the longer frame duration), for colour and depth at different frame "
                        "rates (a 30 fps camera with a 15 or 60 fps depth sensor) or colour that runs longer; "
                        "colour frames that guide no depth frame are skipped and counted in the log. index: colour "
                        "frame k with depth frame k, whatever their times, for depth an estimator made frame by "
                        "frame from a variable-rate (phone) video; both need as many frames; --start / --to are "
                        "times on the depth's clock, the colour's frames before are skipped by count; not with "
                        "--sync absolute")


def add_sync_option(p: argparse.ArgumentParser, streams: str = "colour and depth frames") -> None:
    """``--sync``: how the inputs' frames pair in time (the main command, batch, views render and quality)."""
    p.add_argument("--sync", choices=SYNC_CHOICES, default="relative",
                   help=f"how {streams} pair. relative (default): on times counted from each stream's own start, "
                        "so frame k pairs with frame k even when one stream starts later (a warning says so when the "
                        "starts differ by more than half a frame). absolute: on pts x time_base as they are (the "
                        "output of --start beside the whole clip); frames outside the time both streams cover have "
                        "no partner, which is an error listing them (nothing is written)")


def add_enhance_options(p: argparse.ArgumentParser) -> None:
    """The options of one enhancement job (pairing, model and backend, output), which ``igde-stream
    batch`` shares; ``enhance_kwargs`` turns them into ``enhance_file``'s keywords."""
    add_sync_option(p)
    add_pair_option(p)
    add_span_options(p)
    p.add_argument("--max-frames", type=count_arg(0), default=0, metavar="N",
                   help="enhance N frames only (0, default: all; from --start): a quick look at a long clip; "
                        "--gt is compared over those frames")
    p.add_argument("--grid", choices=GRIDS, default="depth",
                   help="frame size the model works on and the output has. depth (default): colour of another "
                        "size is resized to the depth's. color: depth smaller than the colour (a sensor or "
                        "estimator with fewer pixels than the camera) is enlarged to the colour's size by "
                        "--enlarge and its edges repaired against the full-size colour; --gt is then compared "
                        "at the colour's size")
    p.add_argument("--enlarge", choices=ENLARGE,
                   help="with --grid color, how the depth is enlarged: linear (default, bilinear: slopes stay "
                        "smooth) or nearest (every value a measured one, holes stay holes: for depth with holes)")
    p.add_argument("--float-range", type=float_range_arg, metavar="LO:HI",
                   help="float depth (PFM, EXR, .npy / .npz, raw grayf32le): the values mapped to the 16-bit codes "
                        "1..65535 for the run (0: NaN / inf, no value; far-high +inf: the farthest, 65535); default: the first "
                        "frame's range (0..max for far-high; a renderer's sky at +inf or 1e10 kept apart); later values outside are clipped, with a warning. Negative LO: --float-range=-1:1")
    g = p.add_argument_group("model and backend")
    g.add_argument("--model", default="igde-small", metavar="NAME|PATH",
                   help="a shipped model (igde-small, igde-small-hq), or a .pt / .onnx / .engine file "
                        "(default: igde-small)")
    g.add_argument("--backend", default="auto", choices=("auto", "onnxruntime", "torch", "tensorrt"),
                   help="inference backend (default: auto: TensorRT engine + GPU, else PyTorch CUDA, "
                        "else ONNX Runtime CPU)")
    g.add_argument("--engine", metavar="PATH", help="TensorRT engine file (for --backend tensorrt / auto)")
    g.add_argument("--precision", choices=("fp16", "fp32"),
                   help="TensorRT engine precision to use or build (default: fp16); also the PyTorch backend's")
    g.add_argument("--batch", type=int, default=4, metavar="N", help="frames per inference call (default: 4)")
    g.add_argument("--device", help="cpu, cuda or cuda:N (default: picked by the backend)")
    g.add_argument("--max-depth", type=float, metavar="N", help="depth value that maps to 1.0 (default: the format's peak, "
                   "255, 1023, 4095 or 65535 for 8, 10, 12 or 16 bits)")
    g.add_argument("--depth-order", choices=DEPTH_ORDERS, default="near-high",
                   help="near-high (default): depth grows toward the camera (disparity, inverse depth); "
                        "far-high: distance maps (ToF, Kinect, LiDAR; 0 = no measurement), read as inverse depth "
                        "with --max-depth as the far limit and written back in the input's unit (docs/formats.md)")
    add_hole_fill_option(g, "fill holes (depth 0) with the colour-guided mean of the measured depth around them, "
                            "beyond 27 px spread along the colour (auto, default: when the model reads depth 0 as a "
                            "hole, as the shipped ones do; fast: on, sampled every 3 px, several times quicker on "
                            "a sensor's wide holes, up to 0.4 dB lower; far: the far layer's mean where the window "
                            "holds two; off: no fill (the model gives holes by measured depth a neighbour's value); keep: every hole stays 0)")
    add_wide_errors_option(g)
    add_model_threads_option(g)
    o = p.add_argument_group("output")
    o.add_argument("--codec", default="ffv1",
                   help="output encoder (default: ffv1, lossless); a lossy one is labelled as such")
    o.add_argument("--threads", type=int, default=0, metavar="N",
                   help=f"decoder / encoder threads (0: automatic; at most {MAX_THREADS})")
    o.add_argument("-y", "--overwrite", action="store_true", help="replace existing output files")
    o.add_argument("-q", "--quiet", action="store_true", help="no progress bar, log, warnings or summary; errors only")


def _check_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Option checks that need no input file: each a one-line usage error (exit 2)."""
    check_enhance_options(parser, args)
    if args.demo is not None and (args.gt or args.report or args.plot):
        parser.error("--demo DIR writes its own ground truth, report and plot: drop --gt, --report and --plot")


def check_enhance_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Checks of ``add_enhance_options``' values that need no input file: one-line usage errors (exit 2)."""
    if args.batch < 1:
        parser.error("--batch must be >= 1")
    dev = args.device
    if dev is not None and not (dev == "cpu" or dev == "cuda" or (dev.startswith("cuda:") and dev[5:].isdigit())):
        from .display.quilt import QUILT_PRESETS

        hint = (f": a Looking Glass {dev} quilt is --quilt {dev} here (--device names the display in "
                "igde-stream views render only)" if dev in QUILT_PRESETS else "")
        parser.error(f"--device must be cpu, cuda or cuda:N, got {dev!r}{hint}")
    if getattr(args, "precision", None) is not None and args.backend == "onnxruntime":
        parser.error("--precision picks a TensorRT engine's or the PyTorch backend's precision; "
                     "ONNX Runtime runs the ONNX file as it is (fp32): drop --precision or use --backend torch|tensorrt")
    if args.engine is not None and args.backend in ("onnxruntime", "torch"):
        parser.error(f"--engine is a TensorRT engine: it needs --backend tensorrt or auto, not {args.backend}")
    if args.max_depth is not None and not (math.isfinite(args.max_depth) and args.max_depth > 0):
        parser.error(f"--max-depth must be a finite number > 0, got {args.max_depth:g}")
    if args.max_depth is not None and args.max_depth > 65535:
        parser.error(f"--max-depth {args.max_depth:g} is above the largest depth a video holds (65535)")
    if args.threads < 0:
        parser.error(f"--threads must be >= 0 (0: automatic), got {args.threads}")
    if args.threads > MAX_THREADS:  # FFmpeg cannot start that many (or PyAV cannot even pass the number on)
        parser.error(f"--threads must be at most {MAX_THREADS}, got {args.threads}")
    check_paired_options(parser, args)
    span_end(parser, args)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:  # Ctrl-C before the run's own handling (while PyAV, OpenCV load)
        return stopped("igde-stream", "int")


#: the multiview stage; many clips (a process pool or Ray); a ROS bag's images out as two folders. A colour
#: file of such a name is given as ./views, ./batch, ./bag
SUBCOMMANDS = {"views": "views_cli", "batch": "batch_cli", "bag": "bag_cli"}


def _main(argv: list[str]) -> int:
    if argv[:1] and argv[0] in SUBCOMMANDS:
        import importlib

        return importlib.import_module(f".{SUBCOMMANDS[argv[0]]}", __package__).main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.demo is None and not (args.color and args.output):
        parser.error("COLOR, DEPTH and -o OUT are required (or --demo DIR)")
    if args.demo is None and args.depth is None:  # one input holding both a colour and a depth stream
        args.depth = args.color
    for option in ("color_stream", "depth_stream"):
        if getattr(args, option) is not None and getattr(args, option) < 0:
            parser.error(f"--{option.replace('_', '-')} must be >= 0, got {getattr(args, option)}")
    if [*([args.color] if args.color != args.depth else []), args.depth, args.gt].count("-") > 1:
        parser.error("only one input can be - (stdin); one input may hold both the colour and the depth stream")
    if args.demo is not None and (args.color or args.depth or args.output):
        parser.error("--demo DIR takes no COLOR, DEPTH or -o")
    _check_options(parser, args)
    setup_logging(args.quiet)

    from .errors import IGDEError, cli_message
    from .run_summary import format_summary

    try:
        with signals_raise():
            summary = run_demo(args, _run) if args.demo is not None else _run(args)
    except IGDEError as exc:
        if (sig := interrupted_by()) is not None:  # a swallowed interrupt, surfaced as a read error
            return _stopped(sig, args.output)
        say(f"igde-stream: error: {cli_message(exc)}", err=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt as e:  # Terminated (SIGTERM) too
        return _stopped("term" if isinstance(e, Terminated) else "int", args.output)
    if (sig := interrupted_by()) is not None:  # swallowed as the run ended (in a finaliser): outputs complete
        return stopped("igde-stream", sig, "the outputs were complete by then and are in place")
    views = summary.get("views_outputs", [])
    if not args.quiet:
        # with -o - stdout carries the depth stream only
        say(format_summary(summary), err=args.output == "-")
        from .stream.sound import sound_note

        if args.color and (note := sound_note(args.color, [*views, *([summary["rgbd_output"]] if summary.get(
                "rgbd_output") else [])], stereo=bool(views) and args.layout in ("sbs", "tab"),
                carried=not getattr(args, "no_audio", False))):
            say(note, err=args.output == "-")
    if views:
        from .stream.stereo_names import say_name

        say_name(views[0], args.layout, args.quiet, err=args.output == "-")
    return EXIT_OK


def _stopped(sig: str, output: str | None) -> int:
    """The one line of a run stopped by a signal, and its exit code."""
    where = "stdout" if output == "-" else output if output is not None and "://" in str(output) else None  # a URL
    return stopped("igde-stream", sig, f"the depth stream on {where} ends where it was cut; no other output written"
                   if where else "no output written")


def _enhancer_options(args: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = {"model": args.model, "backend": args.backend, "batch": args.batch, "quiet": args.quiet}
    if args.depth_order != "near-high":
        opts["depth_order"] = args.depth_order
    if (fill := hole_fill_of(getattr(args, "hole_fill", "auto"))) is not None:
        opts["hole_fill"] = fill
    opts.update({"wide_errors": True} if getattr(args, "wide_errors", False) else {},
                **({"model_threads": args.model_threads} if getattr(args, "model_threads", None) else {}))
    for key in ("device", "max_depth", "engine", "precision"):
        value = getattr(args, key)
        if value is not None:
            opts[key] = value
    return opts


def enhance_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``enhance_file``'s keywords from ``add_enhance_options``' values (no paths, no progress bar)."""
    return {"codec": args.codec, "overwrite": args.overwrite, "threads": args.threads, "sync": args.sync,
            "pair": args.pair, "start": args.start, "end": end_of(args), "max_frames": args.max_frames, "grid": args.grid, "enlarge": args.enlarge or "linear", "float_range": args.float_range,
            **_enhancer_options(args)}


def _run(args: argparse.Namespace, **paths: Any) -> dict[str, Any]:
    from .stream import enhance_file
    from .views_options import onepass_kwargs

    return enhance_file(
        paths.get("color", args.color), paths.get("depth", args.depth), paths.get("output", args.output),
        gt_path=paths.get("gt", args.gt), report_path=paths.get("report", args.report), gt_measured=args.gt_measured,
        plot_path=paths.get("plot", args.plot), progress=not args.quiet and sys.stderr.isatty(),
        **{**enhance_kwargs(args), "overwrite": paths.get("overwrite", args.overwrite)},
        inputs=input_options(args), out_format=args.format,
        **{**onepass_kwargs(args), **({"preview_path": paths["preview"]} if "preview" in paths else {})},
    )


if __name__ == "__main__":
    sys.exit(main())
