"""Constant bars around a depth picture: a monocular estimator's letterbox or padding.

Depth estimators with a fixed input (a 518x518 export of Depth Anything, a model padded to a multiple
of its patch size) often hand back their depth with the picture inside constant bars: a 16:9 clip's
depth as 518x518, the picture in the middle 291 rows and black above and below. Beside the colour,
the whole frame is then stretched onto the colour's grid, bars and all, and every edge sits off.
``picture_box`` finds the rows and columns at the borders that hold one value (within a lossy
codec's few levels) and gives the picture between them; ``crop_advice`` says, where the picture
has the colour's aspect and the whole frame does not, the crop that takes the bars off.

The first depth frame is decoded through a second opening of the input, as ``firstframe`` does
(only where the colour and depth shapes differ, so once a run at most); stdin, pipes, network
streams and raw video, read once or without a container, are not looked at.
"""

from __future__ import annotations

import os
from typing import Any

import av
import av.logging
import numpy as np

#: levels (of 255; of the frame's peak for float depth) a bar may lie above 0: H.264 at crf 18 leaves 1-2 on
#: flat black, ringing at its edge more
TOLERANCE = 4 / 255
#: how far (relative) the picture's aspect may be off the colour's: an estimator rounds sizes to 14 px
SAME_ASPECT = 0.02


def _bar_lines(lines: np.ndarray, tol: float) -> int:
    """How many leading lines (rows of ``lines``) are bar: every value within ``tol`` of 0."""
    bar = np.abs(lines).max(axis=1) <= tol
    off = np.flatnonzero(~bar)
    return int(off[0]) if off.size else int(bar.size)


def picture_box(a: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) of the picture inside the bars at the borders of depth frame ``a`` (H x W, any
    numeric type), or None where no border holds a bar or nothing but bars is left. A bar is a run of
    at least 2 whole rows (columns) at one side that are 0 (black; NaN in float depth), within a lossy
    codec's few levels: what estimators and their scripts pad with. A side of one other value (the
    nearest wall, clipped at the top of a per-frame normalised map) is picture."""
    integer = np.issubdtype(np.asarray(a).dtype, np.integer)
    a = np.asarray(a, np.float64)
    a = np.where(np.isfinite(a), a, 0.0)
    peak = float(a.max()) if a.size else 0.0
    if peak <= 0:
        return None
    tol = TOLERANCE * ((255 if peak <= 255 else 65535) if integer else peak)
    h, w = a.shape
    top = _bar_lines(a, tol)
    if top == h:  # nothing but black: no picture
        return None
    sides = [top, _bar_lines(a[::-1], tol), _bar_lines(a.T, tol), _bar_lines(a.T[::-1], tol)]
    top, bottom, left, right = (n if n >= 2 else 0 for n in sides)
    box = (left, top, w - left - right, h - top - bottom)
    if box[2:] == (w, h) or min(box[2:]) < 8:
        return None
    return box


def first_depth(reader: Any, fmt: str | None = None) -> np.ndarray | None:
    """The first frame of depth ``reader`` (a ``VideoReader``) as read (its display matrix applied):
    one value a pixel (gray, luma, or a float plane), or in PyAV format ``fmt`` (``"rgb24"``); None
    where it cannot be decoded again (nor a NumPy clip in ``fmt``)."""
    from .arrays import ArrayReader, array_frames
    from .formats import float_array, is_float_format
    from .sources import kind_of, open_input

    if isinstance(reader, ArrayReader):
        if fmt is not None:
            return None
        frames = array_frames(reader.path, reader.channel)
        try:
            return next(frames)
        except StopIteration:
            return None
        finally:
            frames.close()
    kind = kind_of(reader.path)
    if kind in ("stdin", "url", "pipe", "raw") or (kind == "file" and not os.path.isfile(reader.path)):
        return None
    try:
        shared, _, _ = open_input(reader.path, reader.role, reader.source)
    except Exception:  # noqa: BLE001 - the run's reader opened it; a second look is only advice
        return None
    try:
        stream = shared.container.streams[reader.stream.index]
        with av.logging.Capture(local=True):
            for packet in shared.container.demux(stream):
                for frame in stream.decode(packet):
                    if fmt is not None:
                        values = frame.to_ndarray(format=fmt)
                    elif is_float_format(frame.format.name):
                        values = float_array(frame)
                    else:  # gray, YUV (its luma) or RGB (its luma): bars stay black in any of them
                        values = frame.to_ndarray(format="gray16le")
                    orientation = getattr(reader, "orientation", None)
                    return orientation.apply(values) if orientation is not None else values
    except (av.error.FFmpegError, EOFError, ValueError):
        pass
    finally:
        shared.close()
    return None


def side_by_side(color: Any, depth: Any) -> str | None:
    """Where depth ``depth`` (a ``VideoReader``) is the colour's picture, a white margin and a picture
    of the colour's size side by side (``W + M + W`` by ``H`` for ``color`` of ``W`` x ``H``, the
    margin's columns white in its first frame), as Depth Anything V2's ``run_video.py`` writes its video
    without ``--pred-only``: the message that says so and how to take the depth out; else None."""
    (cw, ch), (dw, dh) = (color.info.width, color.info.height), depth.source_size
    margin = dw - 2 * cw
    if dh != ch or not 0 < margin <= cw // 2 or cw < 8:
        return None
    rgb = first_depth(depth, "rgb24")
    if rgb is None or rgb.shape[:2] != (dh, dw):
        return None
    inner = rgb[:, cw + 2:cw + margin - 2] if margin > 4 else rgb[:, cw:cw + margin]  # a codec's ringing at its sides
    if inner.size == 0 or inner.min() < 235:
        return None
    right = rgb[:, cw + margin:].astype(np.int16)
    mapped = float(((right.max(axis=2) - right.min(axis=2)) > 32).mean()) > 0.05  # a colour map, not gray
    fmt = "bgr0" if mapped else "gray16le" if depth.info.bits > 8 else "gray"
    stem = os.path.splitext(os.path.basename(depth.path))[0]
    take = (f"ffmpeg -i {depth.path} -vf format={fmt},crop={cw}:{ch}:{cw + margin}:0 -c:v ffv1 {stem}_depth.mkv"
            if os.path.isfile(depth.path) else f"crop each image to {cw}x{ch} at x={cw + margin}, y=0")
    then = " and read it with --depth-colormap spectral_r (Depth Anything V2's map)" if mapped else ""
    return (f"the depth is {dw}x{dh}: a {cw}x{ch} picture, a {margin} px white margin and a {cw}x{ch} picture side "
            f"by side, as Depth Anything V2's run_video.py writes without --pred-only (the colour beside its depth); "
            f"take the depth out first ({take}){then}, or run it with --pred-only")


def crop_advice(depth: Any, color_aspect: float, depth_sar: float = 1.0) -> str:
    """Where the first frame of ``depth`` (a ``VideoReader``) holds its picture between constant bars
    and that picture shows at ``color_aspect`` (the colour's, as a player shows it) while the whole
    frame does not: the words that say so, naming the crop; else ""."""
    values = first_depth(depth)
    box = picture_box(values) if values is not None else None
    if box is None:
        return ""
    x, y, w, h = box
    if abs(w * depth_sar / h / color_aspect - 1) > SAME_ASPECT:
        return ""
    fw, fh = values.shape[1], values.shape[0]
    from .sources import kind_of

    crop = f"crop={w}:{h}:{x}:{y}"
    from .arrays import ArrayReader
    from .formats import is_float_format

    if isinstance(depth, ArrayReader):  # a NumPy clip (T x H x W) or per-frame arrays
        how = f"in NumPy, each frame's [{y}:{y + h}, {x}:{x + w}]; a T x H x W clip's [:, {y}:{y + h}, {x}:{x + w}]"
    elif os.path.isfile(depth.path) and kind_of(depth.path) == "file" and not is_float_format(depth.info.pix_fmt or ""):
        # to gray (a colour map: RGB), so that an odd size stays whole (4:2:0 would round it to even) and
        # limited-range luma is stretched as it is read here (an untagged FFV1 copy would be read as stored)
        fmt = "bgr0" if getattr(depth, "_cmap", None) is not None else "gray16le" if depth.info.bits > 8 else "gray"
        stem = os.path.splitext(os.path.basename(depth.path))[0]
        how = f"ffmpeg -i {depth.path} -vf format={fmt},{crop} -c:v ffv1 {stem}_cropped.mkv"
    else:
        how = f"ffmpeg's {crop} on each image, or in NumPy each image's [{y}:{y + h}, {x}:{x + w}]"
    return (f": its first frame holds the picture in {w}x{h} at x={x}, y={y} between black bars (an estimator's "
            f"letterbox or padding; the frame is {fw}x{fh}), and that picture has the colour's aspect: crop the bars "
            f"off first ({how})")


__all__ = ["TOLERANCE", "crop_advice", "first_depth", "picture_box", "side_by_side"]
