"""Packed RGB-D input: one video whose frames hold the colour and the depth side by side
(``rgbd``: colour left, depth right) or stacked (``rgbd-tb``: colour on top, depth below), as
light-field players (Looking Glass and others) take it and ``--rgbd-out`` writes it
(``display.rgbd_frame``).

A packed input is read by two ``VideoReader``s, the colour and the depth, each keeping its half of
every frame (``Unpacker``), so pairing, batching and the outputs see two ordinary streams of the same
size, timestamps and frame count. The two share one opening and one decode (``SharedDecode``): each
packet is decoded once, by the reader that needs its frames first, and the decoded frames are handed
to both. That is what lets a packed stream come from stdin, and it halves the decoding of a file.
The colour is the first half converted to RGB, as any colour video is read. The depth is the second
half's gray as a player shows it: the frame converted to 8-bit gray by swscale (RGB: its luma, exact
for three equal channels; YUV: the luma plane, limited range 16..235 stretched to 0..255), then
``display.near_white`` (``near`` black: ``255 - d``), the exact inverse of ``display.rgbd_frame``. An
odd width (height for ``rgbd-tb``) is an ``InputError``. The depth reads as 8-bit gray, larger = nearer.

Lossy (H.264 / H.265 yuv420p) files: the depth is taken from luma only, so the chroma the encoder
shares between neighbouring pixels does not reach it; the colour's last one or two columns at the
seam (rows, top-bottom) may take a tint of the gray half's neutral chroma. Nothing is done about
either: they are the file's own pixels, as a player shows them.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import deque
from typing import TYPE_CHECKING, Callable

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ..display.rgbd import NEAR, halves, near_white
from ..errors import InputError, worded

if TYPE_CHECKING:
    from .info import VideoInfo
    from .sources import SharedInput, StreamDecoder

#: ``--packed`` names: the axis the frame splits along (1: left | right, 0: top / bottom).
PACKINGS = {"rgbd": 1, "rgbd-tb": 0}
STDIN = "-"


def check_packing(packed: str | None, near: str, depth_stream: int | None = None) -> None:
    """``InputError`` for an unknown packing or near colour, or a depth stream given with a packing
    (the colour's stream holds both)."""
    if packed is not None and packed not in PACKINGS:
        raise worded(InputError, "{}: use one of " + ", ".join(PACKINGS), (f"packed={packed!r}",), (f"--packed {packed}",))
    if packed is not None and depth_stream is not None:
        raise worded(InputError, "{}: colour and depth share one stream; pick it with {}, not {}",
                     (f"packed={packed!r}", "color_stream", "depth_stream"),
                     (f"--packed {packed}", "--color-stream", "--depth-stream"))
    if near not in NEAR:
        raise worded(InputError, "{}: use {} or {}", (f"depth_near={near!r}", "'white'", "'black'"),
                     (f"--depth-near {near}", "white", "black"))


def check_order(packed: str | None, depth_order: str | None) -> None:
    """Packed RGB-D depth is 8-bit gray, near = white (or black with --depth-near black): never a
    distance map, so ``--depth-order far-high`` would read it reversed (near drawn behind far)."""
    if packed is not None and depth_order not in (None, "near-high"):
        raise InputError(f"--packed {packed} with --depth-order {depth_order}: packed RGB-D depth is near-high "
                         "gray (near = white; --depth-near black for the other way), not a distance map")


def check_inputs(packed: str | None, color_path: str | os.PathLike[str], depth_path: str | os.PathLike[str]) -> None:
    """A packed input is one input (colour path = depth path): a file, or ``-`` (stdin)."""
    if packed is not None and os.fspath(color_path) != os.fspath(depth_path):
        given = (os.fspath(color_path), os.fspath(depth_path))
        raise worded(InputError, "{} takes one input, the packed RGB-D video; got a colour and a depth input ({}, {})",
                     (f"packed={packed!r}", *given), (f"--packed {packed}", *given))


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
            raise worded(InputError, "{}: the frames are " + f"{width}x{height}, an odd {('height', 'width')[self.axis]} "
                         "does not split into colour and depth halves", (f"packed={self.packed!r}",),
                         (f"--packed {self.packed}",), self.path)
        return (width // 2, height) if self.axis else (width, height // 2)

    def info(self, info: VideoInfo) -> VideoInfo:
        """The ``VideoInfo`` of the half: its size, and 8-bit gray for the depth."""
        w, h = self.size(info.width, info.height)
        return dataclasses.replace(info, width=w, height=h, **({} if self.role == "color" else {"pix_fmt": "gray"}))

    def split(self, frame: av.VideoFrame, reformatter: VideoReformatter,
              turn: Callable[[np.ndarray], np.ndarray], index: int | None = None) -> np.ndarray:
        """The half of a decoded packed frame, as displayed (``turn``: the display matrix, applied to
        the whole frame first): colour H x W x 3 uint8 RGB, or depth H x W uint8, larger = nearer.
        ``index``: the frame's number where the depth half is to be checked for colour (``check_gray``)."""
        fmt = "rgb24" if self.role == "color" else "gray"
        whole = turn(reformatter.reformat(frame, format=fmt).to_ndarray())
        self.size(whole.shape[1], whole.shape[0])  # a size change mid-stream may make it odd
        first, second = halves(whole, self.axis)  # views: only the half this role keeps is copied
        if self.role != "color" and index is not None:
            self.check_gray(halves(turn(reformatter.reformat(frame, format="rgb24").to_ndarray()), self.axis)[1], index)
        return np.ascontiguousarray(first if self.role == "color" else near_white(second, self.near))

    def check_gray(self, half: np.ndarray, index: int, share: float = 0.05) -> None:
        """``InputError`` where more than ``share`` of the depth half's pixels (H x W x 3 RGB) spread
        over 32 levels between their channels: a colour picture, such as an app's colour-mapped depth
        (turbo, inferno), whose gray is no depth. Gray depth through a lossy 4:2:0 codec spreads a few
        levels, more only in the columns (rows) at the seam that share the colour half's chroma."""
        r, g, b = half[..., 0], half[..., 1], half[..., 2]  # channel by channel: max(axis=2) of the half, a
        spread = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)  # strided view, is 10x slower
        far = float(np.count_nonzero(spread > 32)) / max(1, spread.size)
        if far <= share:
            return
        w, h = ("iw/2", "ih") if self.axis else ("iw", "ih/2")
        at = "iw/2:0" if self.axis else "0:ih/2"
        raise worded(InputError, f"frame {index}: {100 * far:.0f} % of the depth half's pixels are far from gray, so "
                     "it is a colour picture, not the gray depth {} takes; a colour-mapped depth (turbo, inferno ...) is "
                     f"read from a video of its own: ffmpeg -i {self.path} -vf crop={w}:{h}:{at} -c:v ffv1 depth_map.mkv and "
                     f"crop={w}:{h}:0:0 for the colour, then --depth-colormap NAME",
                     (f"packed={self.packed!r}",), (f"--packed {self.packed}",), self.path)


_shares_lock = threading.Lock()
_shares: dict[tuple[object, ...], SharedDecode] = {}  # open decodes of packed inputs, the other half may join


class SharedDecode:
    """One decode of a packed stream, read by its colour and its depth ``VideoReader``.

    ``opened``: the input as the first half's reader opened it (``sources.open_input``), ``decoder``:
    its stream's ``sources.StreamDecoder``. ``pull`` gives a reader the frames decoded for it and not
    read yet, or, when there are none, decodes the next packet (in that reader's thread, under a lock)
    and keeps its frames for the other reader too. So each packet is decoded once, in order; a reader
    that lags keeps the frames it has not read yet (pairing reads both halves in step: a frame or two;
    a joined reader that is never read keeps them all). An error while decoding is raised in the
    reader that decoded and again in the other when it gets there."""

    def __init__(self, key: tuple[object, ...], role: str, opened: tuple[SharedInput, str, int | None],
                 decoder: StreamDecoder) -> None:
        self.key, self.opened, self.decoder = key, opened, decoder
        self.started = False  # a frame was asked for: too late for another reader to join
        self._buffers: dict[str, deque[av.VideoFrame]] = {role: deque()}
        self._end = False
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def join(self, role: str) -> bool:
        """Keep the frames for a ``role`` reader too, from the first; False when it is too late (a
        frame was asked for) or a reader of that role is there already."""
        with self._lock:
            if self.started or role in self._buffers:
                return False
            self._buffers[role] = deque()
            return True

    def pull(self, role: str, count: int, t: float) -> list[av.VideoFrame] | None:
        """``role``'s next decoded frames (maybe none: a packet without a frame), None at the end.
        ``count``: the frames the caller has read, the last at ``t`` s (for the decoder's errors)."""
        with self._lock:
            self.started = True
            mine = self._buffers[role]
            if not mine:
                if self._error is not None:
                    raise self._error
                if self._end:
                    return None
                try:
                    decoded = self.decoder.decode(count, t)
                except BaseException as exc:
                    self._error = exc
                    raise
                if decoded is None:
                    self._end = True
                    return None
                for buffer in self._buffers.values():
                    buffer.extend(decoded)
            frames = list(mine)
            mine.clear()
            return frames

    def leave(self, role: str) -> bool:
        """``role``'s reader is closed: nothing more is kept for it. True when it was the last reader
        of the decode (whose decoder may then be drained)."""
        with _shares_lock, self._lock:
            self._buffers.pop(role, None)
            if self._buffers:
                return False
            if _shares.get(self.key) is self:
                del _shares[self.key]
            return True


def _key(path: str, stream: int) -> tuple[object, ...]:
    """stdin is one for the process; a file's halves are shared by the readers one thread opens."""
    return (STDIN, stream) if path == STDIN else (os.path.abspath(path), stream, threading.get_ident())


def join_decode(path: str, role: str, stream: int) -> SharedDecode | None:
    """The decode of video stream ``stream`` of the packed input ``path`` that the other half's reader
    offered, for a ``role`` reader to share: while that reader is open and has not started reading,
    and, for a file, was opened by this thread (``enhance_file`` and ``views`` open both halves
    before reading). None when there is none to join: the reader opens the input itself (a file is
    then opened and decoded again) and offers its decode. stdin is read once: a second reader of
    one of its halves is an ``InputError``."""
    with _shares_lock:
        share = _shares.get(_key(path, stream))
        if share is not None and share.join(role):
            return share
        if share is not None and path == STDIN:
            raise InputError(f"stdin holds one packed stream, read once by a colour and a depth reader opened "
                             f"before either reads; a second {role} reader cannot read it", STDIN)
        return None


def offer_decode(path: str, role: str, stream: int, opened: tuple[SharedInput, str, int | None],
                 decoder: StreamDecoder) -> SharedDecode:
    """The decode of a ``role`` reader that opened the packed input ``path`` itself (``opened``,
    ``decoder``), offered to the other half's reader (``join_decode``)."""
    key = _key(path, stream)
    with _shares_lock:
        share = _shares[key] = SharedDecode(key, role, opened, decoder)
        return share


__all__ = ["PACKINGS", "SharedDecode", "Unpacker", "check_inputs", "check_packing", "join_decode", "offer_decode"]
