"""``InputOptions``: how inputs that do not describe themselves are read, and which stream is taken;
checked as a whole when made, each refusal in the words of whoever made them (``errors.worded``:
``packed='rgbdx'`` from Python, ``--packed rgbdx`` on the command line)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from fractions import Fraction

from ..errors import InputError, worded
from .colormaps import COLORMAPS
from .formats import DEPTH_RANGES
from .packed import check_packing
from .urls import DEFAULT_TIMEOUT_S


@dataclass(frozen=True)
class InputOptions:
    """How to read inputs that do not describe themselves, and which stream to take.

    ``fps``: frame rate of image sequences, raw video and arrays (None: 25). ``size`` (W, H), ``pix_fmt``:
    the frames of raw video. ``color_stream`` / ``depth_stream``: video stream index (from 0) in the
    colour / depth input (ground truth uses ``depth_stream`` only when it is the depth's file).
    ``autorotate``: read frames as displayed, the display matrix applied (False: as stored; see
    ``orientation``). ``packed``: colour and depth are the halves of one packed RGB-D stream
    (``packed.PACKINGS``; ``color_stream`` picks it, default the first; ``depth_near``: see ``packed``);
    ``packed_input``: the path of the packed input where other colour or depth inputs are plain
    (``views quality``'s other depths; None: every colour and depth input is the packed one).
    ``depth_range``: the range of YUV depth luma (``formats.luma_is_limited``): "auto", "full", "limited".
    ``depth_colormap``: the colour map a depth input (not the ground truth) is drawn in, read back as
    8-bit depth (``colormaps.COLORMAPS``; "gray", the default: depth is gray).
    ``depth_channel``: the OpenEXR channel a depth input is read from (``exrdepth.channel_input``): one
    of two named as depth (``Z`` and ``depth.Z``), or any other (``R`` of an RGB file); a ground truth
    with two channels named as depth is read from it too, where it holds it. None: by name.
    ``net_timeout``: seconds a network input or output (``urls``) may take to connect or stay silent.
    ``raw_stdin``: whether ``-`` (stdin) as depth or ground truth holds raw frames (``size``, ``pix_fmt``,
    ``fps``) instead of a container; None: it does when ``size`` and ``pix_fmt`` are given
    (``sources.raw_stdin_choice`` makes it False where another input is the raw file they describe)."""

    fps: Fraction | None = None
    size: tuple[int, int] | None = None
    pix_fmt: str | None = None
    color_stream: int | None = None
    depth_stream: int | None = None
    autorotate: bool = True
    packed: str | None = None
    depth_near: str = "white"
    packed_input: str | None = None
    depth_range: str = "auto"
    depth_colormap: str = "gray"
    depth_channel: str | None = None
    net_timeout: float = DEFAULT_TIMEOUT_S
    raw_stdin: bool | None = None

    def __post_init__(self) -> None:
        if not 0 < self.net_timeout < float("inf"):
            raise ValueError(f"net_timeout must be a number of seconds > 0, got {self.net_timeout!r}")
        check_packing(self.packed, self.depth_near, self.depth_stream)
        if self.depth_range not in DEPTH_RANGES:
            raise ValueError(f"depth_range must be one of {', '.join(DEPTH_RANGES)}, got {self.depth_range!r}")
        if self.packed is not None and self.depth_range != "auto":
            raise worded(InputError, "{}: applies to YUV depth streams; packed RGB-D depth is the gray of its half "
                         "as a player shows it (the stream's own range tag decides)",
                         (f"depth_range={self.depth_range!r}",), (f"--depth-range {self.depth_range}",))
        if self.depth_colormap not in COLORMAPS:
            raise ValueError(f"depth_colormap must be one of {', '.join(COLORMAPS)}, got {self.depth_colormap!r}")
        if self.depth_colormap != "gray" and self.packed is not None:
            raise worded(InputError, "{} with {}: packed RGB-D depth is gray; the colour map is for a depth video of "
                         "its own", (f"depth_colormap={self.depth_colormap!r}", f"packed={self.packed!r}"),
                         (f"--depth-colormap {self.depth_colormap}", f"--packed {self.packed}"))
        if self.depth_colormap != "gray" and self.depth_range != "auto":
            raise worded(InputError, "{} with {}: a colour-mapped depth is read through its colours, converted as a "
                         "colour video is (the stream's own range tag decides); {} is for gray depth in YUV luma",
                         (f"depth_range={self.depth_range!r}", f"depth_colormap={self.depth_colormap!r}", "depth_range"),
                         (f"--depth-range {self.depth_range}", f"--depth-colormap {self.depth_colormap}", "--depth-range"))

        if self.depth_channel is not None and (not isinstance(self.depth_channel, str) or not self.depth_channel
                                               or "\0" in self.depth_channel):
            raise ValueError(f"depth_channel must be an OpenEXR channel name, got {self.depth_channel!r}")
        if self.depth_channel is not None and self.packed is not None:
            raise worded(InputError, "{} with {}: packed RGB-D depth is the gray of its half; the channel is for "
                         "OpenEXR depth", (f"depth_channel={self.depth_channel!r}", f"packed={self.packed!r}"),
                         (f"--depth-channel {self.depth_channel}", f"--packed {self.packed}"))

    def for_input(self, path: str) -> InputOptions:
        """The options input ``path`` is read with: without the packing where ``packed_input`` names
        another input."""
        same = self.packed_input is not None and os.path.abspath(self.packed_input) == os.path.abspath(path)
        if self.packed is None or self.packed_input is None or same:
            return self
        return replace(self, packed=None, packed_input=None)

    def stdin_is_raw(self, role: str) -> bool:
        """Whether stdin read for ``role`` holds raw frames (raw colour is never read; ``_raw_options``)."""
        described = self.size is not None and self.pix_fmt is not None
        raw = described if self.raw_stdin is None else self.raw_stdin
        return raw and role != "color" and (self.packed is None or role == "gt")  # packed RGB-D is one colour stream

    def stream_for(self, role: str) -> int | None:
        if self.packed is not None and role != "gt":
            return self.color_stream or 0
        return self.color_stream if role == "color" else self.depth_stream if role == "depth" else None


__all__ = ["InputOptions"]
