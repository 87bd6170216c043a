"""What an input's first frame says before its reader decodes it: its display orientation
(``orientation.frame_orientation``), needed before the outputs' frame size is fixed, and the timecode
it carries in its bitstream (``timecode.frame_timecode``: H.264 / HEVC SEI, an MPEG-1/2 GOP header),
needed before their headers are written.

The frame is decoded through a second opening of the input, so that the reader's own decoding starts
untouched; once, when the input is opened to read its orientation (``probe_first_frame``). Where that
was not done (``--no-autorotate``), ``first_frame_timecode`` decodes it when the outputs' timecode is
asked of it (neither input's container has one), for a codec whose frames can carry one only. A float
depth frame's values are kept too (``FirstFrame.values``), for the run's float range
(``floatdepth.first_frame``), so that no third opening (a reader of its own, saying again what the
run's reader said on opening) is needed.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import av.logging
import numpy as np

from .formats import float_array, is_float_format
from .imageseq import sequence_files
from .info import VideoInfo
from .orientation import Orientation, frame_orientation
from .sources import kind_of, open_input
from .timecode import FRAME_TIMECODE_CODECS, frame_timecode, with_timecode


@dataclass(frozen=True)
class FirstFrame:
    """The first frame's display orientation and timecode (None: it carries none); ``values``: a float
    depth frame's samples as stored (H x W float32, ``formats.float_array``), else None."""

    orientation: Orientation
    timecode: str | None
    values: np.ndarray | None = field(default=None, compare=False, repr=False)


def probe_first_frame(path: str, role: str, source: Any, stream_index: int, orient: bool = True) -> FirstFrame | None:
    """The first frame of stream ``stream_index`` (``container.streams`` index) of ``path``, read
    through a second opening of the input (``orient`` False: its timecode only; the orientation is left
    as stored). None where that is not possible (stdin, a network stream, a pipe, raw video, no frame
    decodes): the reader then checks its frames' orientation as they come."""
    kind = kind_of(path)
    if kind in ("stdin", "url", "pipe", "raw") or (kind == "file" and not os.path.isfile(path)):
        return None
    shared, _, _ = open_input(path, role, source)
    try:
        stream = shared.container.streams[stream_index]
        stream.thread_count = 1  # the first frame, without waiting for a frame-thread pipeline to fill
        with av.logging.Capture(local=True):  # damage is the reader's to report, with its frame number
            for packet in shared.container.demux(stream):
                for frame in stream.decode(packet):
                    file = sequence_files(path)[0] if kind == "sequence" else None
                    return FirstFrame(frame_orientation(frame, path, file) if orient else Orientation(),
                                      frame_timecode(frame), _float_values(frame, role))
    except (av.error.FFmpegError, EOFError):
        pass
    finally:
        shared.close()
    return None


def _float_values(frame: av.VideoFrame, role: str) -> np.ndarray | None:
    """A float depth frame's samples (None for colour and ground truth, which no range is taken from, for
    integer depth, and for three channels that differ: the reader says so, with its frame number)."""
    if role != "depth" or not is_float_format(frame.format.name):
        return None
    try:
        return float_array(frame)
    except ValueError:
        return None


def first_frame_timecode(reader: Any) -> str | None:
    """The timecode the first frame of ``reader`` (a ``VideoReader``) carries: from its probe when it was
    opened, else from one made now where its codec's frames can carry one."""
    first = getattr(reader, "first_frame", None)
    if first is None and not getattr(reader, "_probed", False) and reader.info.codec in FRAME_TIMECODE_CODECS:
        first = reader.first_frame = probe_first_frame(reader.path, reader.role, reader.source, reader.stream.index,
                                                       orient=False)
    return first.timecode if first is not None else None


def color_offset(depth: Any, color: Any) -> int:
    """Frames (at the depth's rate) from the colour's first frame to the depth's, where the two pair on
    their timestamps (``sync="absolute"``) and both start times are known; else 0 (relative sync takes
    the two starts as one). Halfway between two colour frames, the earlier, as the pairing takes it
    (``pair_nearest``: ties to the earlier frame; ``pair_frames``: the first within half a frame)."""
    d, c = depth.info, color.info
    if getattr(depth, "sync", "relative") != "absolute" or d.start_pts is None or c.start_pts is None:
        return 0
    later = Fraction(d.start_pts) * Fraction(d.time_base) - Fraction(c.start_pts) * Fraction(c.time_base)
    return max(0, math.ceil(later * Fraction(d.effective_rate) - Fraction(1, 2)))


def outputs_timecode(depth: Any, color: Any, info: VideoInfo | None = None) -> VideoInfo:
    """``info`` (default: the depth reader's) with the outputs' timecode (``timecode.with_timecode``): the
    depth's container's, else the colour's; else the depth's first frame's, else the colour's (decoded
    only then, where not yet; ``depth`` and ``color``: their ``VideoReader``s). The colour's is that of
    the colour frame the depth's first pairs with (``color_offset``)."""
    return with_timecode(info or depth.info, color.info,
                         (lambda: first_frame_timecode(depth), lambda: first_frame_timecode(color)),
                         color_offset(depth, color))


__all__ = ["FirstFrame", "color_offset", "first_frame_timecode", "outputs_timecode", "probe_first_frame"]
