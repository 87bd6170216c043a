"""Which input is the colour and which the depth: the two easy mix-ups, found from the streams chosen.

- Colour and depth resolving to the same stream of the same input (one input with a colour stream
  only, or a depth stream only; not ``--packed``): refused, as the colour's luma would be read as depth.
- One colour image (a photograph, no ``%``) beside depth of more frames under exact pairing: refused
  before the model loads, naming ``--pair nearest`` (where the photograph guides every depth frame,
  ``is_still``) and how to make a clip of the still.
- A colour stream in a gray format: a warning that the inputs may be swapped, saying so more firmly
  when the depth stream is in a colour (YUV) format. Not an error: a monochrome or infrared camera
  is a legitimate guide, and depth encoded as YUV (H.264 / HEVC) is common, so both can hold at once.
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from typing import Any

from ..errors import InputError
from .formats import YUV8_FORMATS, YUV_HIGH_FORMATS, alpha_hint
from .imageseq import IMAGE_SUFFIXES, OTHER_IMAGE_SUFFIXES
from .streams import check_numbering, check_same_length, check_timing
from .fifos import is_fifo
from .urls import read_once

log = logging.getLogger("igde_stream.stream")

#: Single-channel formats (colour cannot be told from them): gray, gray + alpha, 1-bit.
GRAYISH = ("gray", "ya8", "ya16", "monob", "monow")


def _same_file(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # "-", a %d pattern, a missing file
        return False


#: one image, not a clip: what image2 reads as one frame (GIF and WebP may be animated, APNG is .apng)
STILL_SUFFIXES = tuple(sorted(set(IMAGE_SUFFIXES + OTHER_IMAGE_SUFFIXES) - {".gif", ".webp"}))


def check_pair(color: Any, depth: Any, packed: str | None, same_length: bool = True, exact: bool | None = None,
               fps_given: bool = False, pair: str | None = None) -> None:
    """Refuse or warn about ``color`` / ``depth`` (``reader.VideoReader``s, open) as the module says;
    also ``streams.check_same_length`` when ``same_length``; ``exact``: frames pair one to one
    (``--pair exact``; default ``same_length``), so one colour image cannot guide more depth frames;
    ``fps_given``: ``--fps`` was given, so an untimed input beside a video of another rate is at its
    own rate where the frames pair nearest (``streams.check_timing``); ``pair``: the caller's ``--pair``
    (None: it takes none): under "index" frames pair by place, so neither their counts here (the pairing
    says them, ``pairing_index``) nor their rates are checked, only image names (``check_numbering``)."""
    by_index = pair == "index"
    if same_length and not by_index:
        check_same_length(color.info, depth.info)
    if packed is None and not by_index and (same_length if exact is None else exact):
        check_still_colour(color, depth)
    if by_index:  # image k with frame k: image names that say otherwise are still refused
        check_numbering(color.info, depth.info, "colour")
    else:  # a sequence beside a video of another rate; --pair nearest (exact=False) pairs two rates
        check_timing(color.info, depth.info, "colour", nearest=exact is False, fps_given=fps_given,
                     index=pair is not None)
    if packed is not None:
        return
    check_distinct(color, depth)
    if depth.source_size[0] > 2 * color.info.width:  # the colour and its depth in one frame (a depth script's video)
        from .bars import side_by_side

        if (said := side_by_side(color, depth)) is not None:
            raise InputError(said, depth.path)
    cf, df = color.info.pix_fmt or "", depth.info.pix_fmt or ""
    if not cf.startswith(GRAYISH):
        return
    if df in YUV8_FORMATS or df in YUV_HIGH_FORMATS:
        log.warning("colour %s is gray (%s) and depth %s is in a colour format (%s): colour and depth may be "
                    "swapped (COLOR comes first, then DEPTH); a monochrome camera with YUV-encoded depth is fine",
                    color.path, cf, depth.path, df)
    else:
        log.warning("colour %s is gray (%s): colour and depth may be swapped (COLOR comes first, then DEPTH); "
                    "a monochrome camera as the guide is fine", color.path, cf)


def is_still(info: Any) -> bool:
    """Whether an input (its ``VideoInfo``) is one photograph: an image file (``STILL_SUFFIXES``, no
    ``%`` pattern) of one frame. As the colour under ``--pair nearest`` it is the colour frame nearest
    every depth frame, so it guides them all (``pairing``): a still scene beside a depth clip."""
    return getattr(info, "kind", None) == "file" and getattr(info, "expected_frames", None) in (None, 1) and \
        os.path.splitext(str(getattr(info, "path", "")))[1].lower() in STILL_SUFFIXES


def check_still_colour(color: Any, depth: Any) -> None:
    """``InputError`` for one colour image (``photo.jpg``, ``is_still``) beside depth known to hold
    more than one frame: each depth frame needs its colour frame."""
    n = depth.info.expected_frames
    if not is_still(color.info) or not n or n <= 1:
        return
    rate_text = str(Fraction(depth.info.rate or 25))
    raise InputError(
        f"the colour is one image and the depth {depth.path} has {n} frames: each depth frame needs its own "
        f"colour frame; for a still scene give --pair nearest (the image guides every depth frame) or make a clip "
        f"of the image (ffmpeg -loop 1 -framerate {rate_text} -i {color.path} -frames:v {n} -c:v ffv1 color.mkv), "
        "or give one depth image", color.path)


def check_distinct(color: Any, depth: Any) -> None:
    """``InputError`` when ``color`` and ``depth`` (open ``reader.VideoReader``s, not the halves of a
    packed input) read the same video stream of the same input. A depth read here, not by FFmpeg (an
    OpenEXR depth channel beside the colour's R, G, B: ``exrdepth``; arrays) is none of the file's streams."""
    if getattr(depth.info, "kind", None) == "array":
        return
    if color.packed_half or depth.packed_half or not (_same_file(color.path, depth.path) and color.stream.index == depth.stream.index):
        return
    n = len(color.container.streams.video)
    which = f"video stream {sum(s.index < color.stream.index for s in color.container.streams.video)} of {n}"
    pick = ", or choose the depth stream with --depth-stream M" if n > 1 else ""
    if read_once(color.path) and n == 1:  # "- -", one URL or pipe twice: both inputs are the one stream
        where = "stdin" if color.path == "-" else "the named pipe" if is_fifo(color.path) else "the stream"
        send = ("pipe one container holding both (ffmpeg -i COLOR -i DEPTH -map 0:v -map 1:v -c copy -f nut -), "
                "give one of them as a file (- DEPTH -o OUT)" if color.path == "-" else
                "send one holding both video streams, give the depth as a second input "
                f"({'PIPE' if is_fifo(color.path) else 'URL'} DEPTH -o OUT)")
        raise InputError(f"colour and depth both read {where}, which holds one video stream ({color.info.pix_fmt}): "
                         f"{send}, or a packed RGB-D stream with --packed rgbd", color.path)
    raise InputError(
        f"colour and depth are the same video stream ({which}, {color.info.pix_fmt}): give the depth as a "
        f"second input (COLOR DEPTH -o OUT), a file with a colour and a depth video stream{pick}, or a packed "
        f"RGB-D video with --packed rgbd{alpha_hint(color.info.pix_fmt, color.path, color.container)}",
        color.path)
