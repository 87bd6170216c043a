"""Display orientation: video frames are read the way players show them.

Phones store video landscape and tag the track with a display matrix (the MP4 / MOV ``tkhd`` matrix,
Matroska's projection, a JPEG's EXIF orientation) that players apply: a quarter turn, possibly with
a mirror. FFmpeg attaches the matrix to every decoded frame as ``DISPLAYMATRIX`` side data
(libavutil/display.h): nine int32 ``a b u / c d v / x y w``, ``a..d`` in 16.16 fixed point, mapping a
stored pixel at column p, row q to the displayed ``(p', q') = (a p + c q, b p + d q)`` plus a
translation. ``av_display_rotation_get`` reads its angle counter-clockwise, so ffprobe's "rotation of
-90.00 degrees" (a phone held upright) is a quarter turn clockwise, which is how ``ffmpeg`` shows it
(``transpose=clock``).

Quarter turns and mirrors are applied exactly (pixels are moved, never resampled); any other matrix
(a turn by 30 degrees, a shear, a singular one) is refused with one line. ``InputOptions(
autorotate=False)`` (``--no-autorotate``) reads frames as stored, like ``ffmpeg -noautorotate``.
"""

from __future__ import annotations

import logging
import math
import struct
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import InputError

log = logging.getLogger("igde_stream.stream")
_ONE = 1 << 16  # 1.0 in the matrix's 16.16 fixed point
_TOLERANCE = math.sin(math.radians(1.0))  # within 1 degree of a quarter turn, as ffmpeg's autorotate
_WORDS = {  # (transpose, flip_x, flip_y): what the display does to the stored frame
    (False, False, False): "as stored",
    (False, True, True): "turned 180°",
    (True, False, True): "turned 90° counter-clockwise",
    (True, True, False): "turned 90° clockwise",
    (False, True, False): "mirrored left-right",
    (False, False, True): "mirrored top-bottom",
    (True, False, False): "transposed (mirrored about the top-left to bottom-right diagonal)",
    (True, True, True): "mirrored about the top-right to bottom-left diagonal",
}
HINT = "rotate the video with FFmpeg first, or pass --no-autorotate to read the frames as stored"


@dataclass(frozen=True)
class Orientation:
    """How a stored frame becomes the displayed one: ``transpose`` (rows become columns), then
    ``flip_x`` (mirror left-right) and ``flip_y`` (mirror top-bottom). The eight combinations are the
    quarter turns and the mirrors; ``Orientation()`` leaves frames as they are."""

    transpose: bool = False
    flip_x: bool = False
    flip_y: bool = False

    @classmethod
    def from_matrix(cls, m: Sequence[int], path: str) -> Orientation:
        """The orientation of an FFmpeg display matrix ``m`` (9 int32, see the module docstring); its
        translation and scale are ignored. ``InputError`` for one that is no quarter turn or mirror."""
        a, b, c, d = (v / _ONE for v in (m[0], m[1], m[3], m[4]))
        big = max(abs(a), abs(b), abs(c), abs(d)) * _TOLERANCE
        if abs(b) <= big and abs(c) <= big and min(abs(a), abs(d)) > big:
            return cls(False, a < 0, d < 0)
        if abs(a) <= big and abs(d) <= big and min(abs(b), abs(c)) > big:
            return cls(True, c < 0, b < 0)
        s0, s1 = math.hypot(a, c), math.hypot(b, d)
        turn = f"rotation {-math.degrees(math.atan2(b / s1, a / s0)):.1f}°" if s0 and s1 else "singular"
        raise InputError(f"display matrix [{a:g} {b:g}; {c:g} {d:g}] ({turn}) is not a quarter turn or a "
                         f"mirror, the only orientations igde-stream applies: {HINT}", path)

    @property
    def identity(self) -> bool:
        return not (self.transpose or self.flip_x or self.flip_y)

    @property
    def words(self) -> str:
        """What the display does, e.g. ``"turned 90° clockwise"``."""
        return _WORDS[self.transpose, self.flip_x, self.flip_y]

    def size(self, width: int, height: int) -> tuple[int, int]:
        """(W, H) after the transform (swapped when it transposes); the same swap takes a displayed
        size back to the stored one."""
        return (height, width) if self.transpose else (width, height)

    def apply(self, a: np.ndarray) -> np.ndarray:
        """Stored frame ``a`` (H x W or H x W x C, any dtype) as displayed (W x H when transposed): a
        new C-contiguous array, or ``a`` itself for the identity."""
        if self.identity:
            return a
        if self.transpose:
            a = a.swapaxes(0, 1)
        if self.flip_x:
            a = a[:, ::-1]
        if self.flip_y:
            a = a[::-1]
        return np.ascontiguousarray(a)

    def describe(self, width: int, height: int) -> str:
        """What is done to a stored ``width`` x ``height`` frame, e.g. ``"turned 90° clockwise: 1920x1080
        -> 1080x1920"``."""
        return "{}: {}x{} -> {}x{}".format(self.words, width, height, *self.size(width, height))


def _rotation_matrix(degrees: float) -> tuple[int, ...]:
    """``av_display_rotation_set``'s matrix: a turn by ``degrees`` counter-clockwise."""
    c, s = (round(f(math.radians(degrees)) * _ONE) for f in (math.cos, math.sin))
    return (c, -s, 0, s, c, 0, 0, 0, 1 << 30)


# EXIF Orientation tag (TIFF 6.0 / Exif 2.3, tag 0x0112) -> (transpose, flip_x, flip_y), as PIL's
# ImageOps.exif_transpose and FFmpeg's EXIF-to-display-matrix conversion apply it
_EXIF = {1: (False, False, False), 2: (False, True, False), 3: (False, True, True), 4: (False, False, True),
         5: (True, False, False), 6: (True, True, False), 7: (True, True, True), 8: (True, False, True)}


def exif_orientation(file: str) -> Orientation | None:
    """The EXIF orientation of image ``file`` read with Pillow (its header only), or None when Pillow is
    missing or the file has no valid tag."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(file) as im:
            tag = im.getexif().get(0x0112)
    except (OSError, ValueError):
        return None
    return Orientation(*_EXIF[tag]) if tag in _EXIF else None


def frame_side_data(frame: Any) -> list[Any]:
    """The side data (``SideData``: ``.type``, ``bytes()``) of a decoded PyAV ``frame``: PyAV 18.1.0
    and earlier iterate ``frame.side_data`` as its entries, 18.1.1 and later as a mapping's keys (their
    types). ``ValueError`` where PyAV cannot name a type (below)."""
    held = frame.side_data
    return [sd if hasattr(sd, "type") else held[sd] for sd in held]


def frame_orientation(frame: Any, path: str, file: str | None = None) -> Orientation:
    """The orientation of decoded ``frame``'s ``DISPLAYMATRIX`` side data (the identity without one);
    ``file``: the image file the frame came from (image sequences), or None."""
    try:
        entries = frame_side_data(frame)
    except ValueError:
        # PyAV 18 cannot list side data of a type its enum lacks (the EXIF block FFmpeg 8 attaches to
        # photos), and VideoFrame.rotation gives the angle alone, which reads a mirror as a turn: the
        # image's own EXIF tag then says which of the eight it is (``exif_orientation``)
        exif = exif_orientation(file) if file is not None else None
        if exif is not None:
            return exif
        return Orientation.from_matrix(_rotation_matrix(getattr(frame, "rotation", 0)), path)
    for sd in entries:  # PyAV 12 and 13 name the type by an av.enum item, 14 and later by an Enum
        if getattr(sd.type, "name", None) == "DISPLAYMATRIX" and len(bytes(sd)) == 36:
            return Orientation.from_matrix(struct.unpack("=9i", bytes(sd)), path)
    return Orientation()


def orientation_changed(path: str, index: int, before: Orientation, now: Orientation, probed: bool) -> InputError:
    """The error for frame ``index`` whose orientation differs from the stream's so far."""
    if not probed and index == 0:
        return InputError(f"the frames carry a display matrix ({now.words}) that was not known when the input "
                          "was opened (stdin or a pipe is read once, and the output's size is fixed before the "
                          f"first frame): {HINT}", path)
    return InputError(f"display orientation changes at frame {index}: {before.words} before, {now.words} from "
                      "there (a stream keeps one frame size); pass --no-autorotate to read the frames as stored", path)


def warn_portrait_landscape(color: Any, depth: Any) -> None:
    """Warn when the colour and the depth (``VideoReader``s, as read) are one portrait and one
    landscape: one is then stretched to the other's grid, which is seldom what was meant."""
    (cw, ch), (dw, dh) = (color.info.width, color.info.height), depth.source_size
    # as a player shows them: non-square pixels (anamorphic video) widen or narrow the picture
    csar, dsar = getattr(color, "sar", 1), getattr(depth, "sar", 1)
    cshow, dshow = cw * csar / ch, dw * dsar / dh  # display aspects
    if (cw - ch) * (dw - dh) >= 0 or (cshow - 1) * (dshow - 1) >= 0:
        if abs((cw * dh) / (ch * dw) - 1) <= 0.02:  # one stored shape: pixels pair as stored
            return
        if abs(cshow / dshow - 1) > 0.02:  # same orientation, another shape: stretched too
            from .bars import crop_advice  # a letterbox or padding around the depth's picture explains it

            bars = crop_advice(depth, float(cshow), float(dsar))
            log.warning("colour %s is %dx%d (aspect %.2f) and depth %s is %dx%d (aspect %.2f)%s: one is stretched "
                        "to the other's grid, so the colour's edges sit off the depth's%s", color.path, cw, ch, cshow,
                        depth.path, dw, dh, dshow, "" if csar == dsar == 1 else " as a player shows them",
                        bars or " unless the two were registered that way (a depth sensor beside a camera: map the "
                        "depth to the colour camera first, e.g. with the sensor's own SDK)")
        else:  # another stored shape, one picture (anamorphic beside square pixels): what a player does
            log.info("colour %s (%dx%d) and depth %s (%dx%d) show at one aspect (%.2f), one of them in non-square "
                     "pixels: resized to one grid as a player shows them", color.path, cw, ch, depth.path, dw, dh,
                     dshow)
        return
    turned = [getattr(getattr(r, "orientation", None), "transpose", False) and r.rotated for r in (color, depth)]
    if all(turned):  # --no-autorotate turns both back: still one portrait, one landscape
        hint = (f"both carry a display matrix that turns them, so --no-autorotate leaves them apart: depth estimated "
                f"on the displayed frames must not carry the turn again; take it off the depth without re-encoding "
                f"(ffmpeg 5.1: ffmpeg -i {depth.path} -c copy -metadata:s:v:0 rotate=0 depth_upright.mp4; FFmpeg 6.0 "
                f"and later: ffmpeg -display_rotation 0 -i {depth.path} -c copy depth_upright.mp4)")
    elif color.rotated or depth.rotated:
        hint = "a depth made from the stored frames of a video with a display rotation needs --no-autorotate"
    elif not (color.autorotate and depth.autorotate):
        hint = "with --no-autorotate a display rotation is ignored, and frames are read as stored"
    else:
        hint = "rotate one of them first (ffmpeg -vf transpose=clock), or check that they belong together"
    log.warning("colour %s is %dx%d and depth %s is %dx%d, one portrait and one landscape: one is stretched to "
                "the other's grid; %s", color.path, cw, ch, depth.path, dw, dh, hint)


__all__ = [
    "HINT", "Orientation", "exif_orientation", "frame_orientation", "frame_side_data", "orientation_changed",
    "warn_portrait_landscape",
]
