"""The argument parser every ``igde-stream`` command builds (main, ``views`` and its subcommands,
``batch``), the argparse ``type`` functions of sizes, frame rates, seconds and float ranges, and the
options more than one command shares (``--hole-fill``, ``--depth-colormap``), and the check that
``--enlarge`` comes with ``--grid color``.

A usage error is one line, ``PROG: error: <message>``, exit status 2, without argparse's usage
block (``--help`` prints that); ``PROG`` is the name the command's other errors start with.
"""

from __future__ import annotations

import argparse
import functools
import math
from fractions import Fraction
from typing import Any, NoReturn


class OneLineParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one line and exit 2. ``error_prog``: the name the
    line starts with (default: ``prog``); the subparsers of ``add_subparsers`` are of this class and
    keep the parent's name, so ``igde-stream views render`` errors read ``igde-stream views: error:``."""

    def __init__(self, *args: Any, error_prog: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_prog = error_prog or self.prog

    def add_subparsers(self, **kwargs: Any) -> Any:
        kwargs.setdefault("parser_class", functools.partial(type(self), error_prog=self.error_prog))
        return super().add_subparsers(**kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.error_prog}: error: {message}\n")


def fps_arg(text: str) -> Fraction:
    """argparse ``type`` for a frame rate: ``30``, ``29.97`` or ``30000/1001``, above 0."""
    try:
        rate = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected a frame rate like 25, 29.97 or 30000/1001, got {text!r}") from None
    if rate <= 0:
        raise argparse.ArgumentTypeError(f"expected a frame rate above 0, got {text!r}")
    return rate


def pair_arg(text: str, names: str = "WxH", example: str = "960x540") -> tuple[int, int]:
    """Two integers written ``AxB`` (``X`` too) as a tuple in that order; ``names`` and ``example``
    only word the error (``argparse.ArgumentTypeError``)."""
    try:
        a, b = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {names} like {example}, got {text!r}") from None
    if a < 1 or b < 1:
        raise argparse.ArgumentTypeError(f"expected {names} of positive numbers like {example}, got {text!r}")
    return a, b


def size_arg(text: str) -> tuple[int, int]:
    """argparse ``type`` for a ``WxH`` size such as ``960x540`` (``X`` too): ``(width, height)``."""
    return pair_arg(text)


def seconds_arg(text: str) -> float:
    """argparse ``type`` for a duration in seconds: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, like 10 or 2.5, got {text!r}")
    return value


def time_arg(text: str) -> float:
    """argparse ``type`` for a time in a clip: seconds (``12.5``), ``MM:SS[.f]`` or ``HH:MM:SS[.f]``
    (as FFmpeg's ``-ss`` takes it), 0 or more."""
    parts = text.strip().split(":")
    value = math.nan
    if 1 <= len(parts) <= 3 and "_" not in text:  # Python reads 1_000 as 1000; FFmpeg refuses it
        try:
            nums = [float(x) if k == len(parts) - 1 else int(x) for k, x in enumerate(parts)]
        except ValueError:
            nums = []
        # minutes and seconds below 60 where a larger unit comes before them; no minus sign
        if nums and all(n >= 0 for n in nums) and all(n < 60 for n in nums[1:]) and not any(x.strip().startswith("-") for x in parts):
            value = sum(n * 60 ** (len(nums) - 1 - k) for k, n in enumerate(nums))
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a time of 0 or more: seconds (12.5), MM:SS or HH:MM:SS.ff, "
                                         f"got {text!r}")
    return float(value)


def count_arg(least: int = 1):  # noqa: ANN201  an argparse type
    """An argparse ``type``: a whole number >= ``least`` (a bad one is argparse's one-line error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {least}, got {text!r}")
        return value

    parse.__name__ = f"count >= {least}"
    return parse


def float_range_arg(text: str) -> tuple[float, float]:
    """argparse ``type`` for ``--float-range LO:HI``: two finite numbers, LO < HI."""
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        lo = hi = math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise argparse.ArgumentTypeError(f"expected LO:HI, two finite numbers with LO < HI like 0:1500, got {text!r}")
    return lo, hi


def check_enlarge(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--enlarge`` (no default: None when not given) applies to ``--grid color`` only; given without
    it, it is a usage error rather than an option passed over in silence."""
    if getattr(args, "enlarge", None) is not None and args.grid != "color":
        parser.error(f"--enlarge {args.enlarge}: enlarges the depth to the colour's grid, which needs --grid color "
                     f"(the default, --grid depth, resizes the colour to the depth instead)")


def check_paired_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Options that describe or shape another one's input: ``check_enlarge``, and ``--size`` /
    ``--pix-fmt``, which describe raw depth (a ``.yuv`` / ``.raw`` depth or ground truth, or ``-``
    on stdin): with neither, a usage error rather than options passed over in silence."""
    check_enlarge(parser, args)
    check_pair_sync(parser, args)
    given = [o for o, v in (("--size", getattr(args, "size", None)), ("--pix-fmt", getattr(args, "pix_fmt", None)))
             if v is not None]
    inputs = [p for p in (getattr(args, "depth", None), getattr(args, "gt", None)) if p is not None]
    if given and inputs:
        from .stream.sources import kind_of

        packed = getattr(args, "packed", None) is not None  # its stdin is one colour stream, never raw
        if not any(kind_of(p) == "raw" or (kind_of(p) == "stdin" and not packed) for p in inputs):
            parser.error(f"{' and '.join(given)}: describe{'s' if len(given) == 1 else ''} raw depth frames, a .yuv / "
                         f".raw file or - (stdin), and neither the depth nor the ground truth is one")


def check_pair_sync(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--pair index`` with ``--sync absolute``: a usage error (``stream.pairing_index.check_index``)."""
    if getattr(args, "pair", None) == "index" and getattr(args, "sync", None) == "absolute":
        from .stream.pairing_index import INDEX_SYNC

        parser.error(f"--pair index {INDEX_SYNC.replace('sync ', '--sync ')}")


def add_hole_fill_option(group: Any, help: str) -> None:
    """``--hole-fill auto|on|off|fast|far|keep`` (the Enhancer's ``hole_fill``: ``hole_fill_of`` maps it)."""
    group.add_argument("--hole-fill", choices=("auto", "on", "off", "fast", "far", "keep"), default="auto", help=help)


def add_model_threads_option(group: Any) -> None:
    """``--model-threads N`` (``enhance_file``'s ``model_threads``: the backend's ``threads``)."""
    group.add_argument("--model-threads", type=count_arg(1), metavar="N",
                       help="CPU threads of the model (ONNX Runtime's intra-op threads, PyTorch's threads; default: "
                            "the backend's own choice; batch: each worker's share of the cores) and of the hole fill "
                            "(default: the CPU count, at most 8); --threads sets the decoder's and encoder's")


def add_wide_errors_option(group: Any) -> None:
    """``--wide-errors`` (the Enhancer's ``wide_errors``)."""
    group.add_argument("--wide-errors", action="store_true",
                       help="depth edges off by 7-14 px (wider than the model's 7 px reach: a stereo matcher's "
                            "large windows, a sensor's depth enlarged 2x): the model on the frame at half size "
                            "first, then at full size; about 1.15x the time, and worse on narrow errors "
                            "(docs/models.md)")


def hole_fill_of(mode: str) -> Any:
    """``--hole-fill``'s value as the Enhancer's ``hole_fill``: None (auto: the model's reading of
    depth 0), True, False, for ``fast`` and ``far`` their presets (``hole_fill.PRESETS``: the window
    sampled every 3 px beyond its inner 15 x 15; the fill that keeps depth layers apart and takes the
    far one, docs/models.md "Hole fill", "Layers"), for ``keep`` "keep" (no fill, every hole 0 in the
    output)."""
    if mode == "keep":
        return mode
    if mode in ("fast", "far"):
        from .hole_fill import PRESETS

        return PRESETS[mode]
    return None if mode == "auto" else mode == "on"


# igde_stream.stream.colormaps.COLORMAPS (not imported: PyAV is heavy; tested equal)
DEPTH_COLORMAPS = ("gray", "inferno", "magma", "plasma", "viridis", "turbo", "jet", "spectral_r")


def add_depth_colormap_option(p: Any) -> None:
    """``--depth-colormap`` (``args.depth_colormap``): igde-stream, ``batch`` and ``views``."""
    p.add_argument("--depth-colormap", type=str.lower, choices=DEPTH_COLORMAPS, default="gray", metavar="NAME",
                   help="the depth video is a colour-mapped picture of the depth (a depth estimator's visualisation: "
                        "Video Depth Anything's _vis.mp4 is inferno, Depth Anything V2's video Spectral_r), read "
                        "back as 8-bit depth, each colour's index in the map: " + ", ".join(DEPTH_COLORMAPS[1:])
                        + "; gray (default): gray depth. Not the --gt. --depth-order still applies (docs/formats.md)")


def add_depth_channel_option(p: Any) -> None:
    """``--depth-channel`` (``args.depth_channel``): igde-stream, ``batch`` and ``views``."""
    p.add_argument("--depth-channel", metavar="NAME",
                   help="OpenEXR depth: the channel to read the depth from, where two are named as depth (Z and "
                        "depth.Z) or the depth has another name (R of an RGB file); a --gt with two channels named "
                        "as depth is read from NAME too where it holds it (default: the one channel named as "
                        "depth; docs/formats.md)")


def add_span_options(p: argparse.ArgumentParser, verb: str = "enhance") -> None:
    """``--start TIME`` and ``--to TIME`` / ``--duration TIME``: the part of a clip a command works on
    (``span_end`` gives the end)."""
    p.add_argument("--start", type=time_arg, default=0.0, metavar="TIME",
                   help=f"{verb} from the first depth frame at or after TIME (seconds, MM:SS or HH:MM:SS.ff, "
                        "counted as --sync counts: from the depth's own start by default); the readers seek "
                        "where the file allows, and the output keeps the frames' times")
    ends = p.add_mutually_exclusive_group()
    ends.add_argument("--to", type=time_arg, metavar="TIME",
                      help=f"{verb} the depth frames before TIME (counted as --start; as FFmpeg's -to)")
    ends.add_argument("--duration", type=time_arg, metavar="TIME",
                      help=f"{verb} the depth frames within TIME of --start (--to START+TIME; as FFmpeg's -t)")


def end_of(args: argparse.Namespace) -> float | None:
    """The end time of ``add_span_options``' values (None: the clip's end): ``--to``, or ``--start`` plus
    ``--duration``."""
    return args.start + args.duration if args.duration is not None else args.to


def span_end(parser: argparse.ArgumentParser, args: argparse.Namespace) -> float | None:
    """``end_of(args)``, where an end not after the start is a one-line usage error (exit 2)."""
    if args.duration is not None and args.duration <= 0:
        parser.error(f"--duration must be more than 0, got {args.duration:g}")
    if args.to is not None and args.to <= args.start:
        parser.error(f"--to {args.to:g} s must come after --start {args.start:g} s")
    return end_of(args)
