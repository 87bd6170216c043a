"""Packed RGB-D input: one video whose frames hold the colour and the depth side by side
(``rgbd``: colour left, depth right) or stacked (``rgbd-tb``: colour on top, depth below), as
light-field players (Looking Glass and others) take it and ``--rgbd-out`` writes it
(``display.rgbd_frame``).

The file is opened by the colour reader and by the depth reader, each decoding the same stream and
keeping its half of every frame (``Unpacker``), so pairing, batching and the outputs see two
ordinary streams of the same size, timestamps and frame count. The colour is the first half
converted to RGB, as any colour video is read. The depth is the second half's gray as a player shows
it: the frame converted to 8-bit gray by swscale (RGB: its luma, exact for three equal channels; YUV:
the luma plane, limited range 16..235 stretched to 0..255), then ``display.near_white`` (``near``
black: ``255 - d``), the exact inverse of ``display.rgbd_frame``. An odd width (height for
``rgbd-tb``) is an ``InputError``. The depth reads as 8-bit gray, larger = nearer.

Lossy (H.264 / H.265 yuv420p) files: the depth is taken from luma only, so the chroma the encoder
shares between neighbouring pixels does not reach it; the colour's last one or two columns at the
seam (rows, top-bottom) may take a tint of the gray half's neutral chroma. Nothing is done about
either: they are the file's own pixels, as a player shows them.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Callable

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ..display.rgbd import NEAR, halves, near_white
from ..errors import InputError

if TYPE_CHECKING:
    from .reader import VideoInfo

#: ``--packed`` names: the axis the frame splits along (1: left | right, 0: top / bottom).
PACKINGS = {"rgbd": 1, "rgbd-tb": 0}
STDIN = "-"


def check_packing(packed: str | None, near: str, depth_stream: int | None = None) -> None:
    """``InputError`` for an unknown packing or near colour, or a depth stream given with a packing
    (the colour's stream holds both)."""
    if packed is not None and packed not in PACKINGS:
        raise InputError(f"--packed {packed}: use one of {', '.join(PACKINGS)}")
    if packed is not None and depth_stream is not None:
        raise InputError(f"--packed {packed}: colour and depth share one stream; pick it with --color-stream, "
                         "not --depth-stream")
    if near not in NEAR:
        raise InputError(f"--depth-near {near}: use white or black")


def check_inputs(packed: str | None, color_path: str | os.PathLike[str], depth_path: str | os.PathLike[str]) -> None:
    """A packed input is one file (colour path = depth path), and not stdin (both readers open it)."""
    if packed is None:
        return
    if os.fspath(color_path) != os.fspath(depth_path):
        raise InputError(f"--packed {packed} takes one input, the packed RGB-D video; got a colour and a depth "
                         f"input ({os.fspath(color_path)}, {os.fspath(depth_path)})")
    if os.fspath(color_path) == STDIN:
        raise InputError(f"--packed {packed}: not from stdin (the file is read once per half); give a file")


@dataclasses.dataclass(frozen=True)
class Unpacker:
    """One role's half of the packed frames of ``path``: ``role`` ``"color"`` (first half, RGB) or
    ``"depth"`` (second half, 8-bit gray, ``near`` as ``display.near_white``)."""

    packed: str
    role: str
    path: str
    near: str = "white"

    @property
    def axis(self) -> int:
        return PACKINGS[self.packed]

    def size(self, width: int, height: int) -> tuple[int, int]:
        """The half's W x H of a displayed W x H packed frame; ``InputError`` when the side is odd."""
        if (height, width)[self.axis] % 2:
            raise InputError(f"--packed {self.packed}: the frames are {width}x{height}, an odd "
                             f"{('height', 'width')[self.axis]} does not split into colour and depth halves", self.path)
        return (width // 2, height) if self.axis else (width, height // 2)

    def info(self, info: VideoInfo) -> VideoInfo:
        """The ``VideoInfo`` of the half: its size, and 8-bit gray for the depth."""
        w, h = self.size(info.width, info.height)
        return dataclasses.replace(info, width=w, height=h, **({} if self.role == "color" else {"pix_fmt": "gray"}))

    def split(self, frame: av.VideoFrame, reformatter: VideoReformatter,
              turn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The half of a decoded packed frame, as displayed (``turn``: the display matrix, applied to
        the whole frame first): colour H x W x 3 uint8 RGB, or depth H x W uint8, larger = nearer."""
        fmt = "rgb24" if self.role == "color" else "gray"
        whole = turn(reformatter.reformat(frame, format=fmt).to_ndarray())
        self.size(whole.shape[1], whole.shape[0])  # a size change mid-stream may make it odd
        first, second = halves(whole, self.axis)  # views: only the half this role keeps is copied
        return np.ascontiguousarray(first if self.role == "color" else near_white(second, self.near))


__all__ = ["PACKINGS", "Unpacker", "check_inputs", "check_packing"]
