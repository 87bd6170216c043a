"""Reading from part-way (``--start``): a reader passes over its frames before
``VideoReader.skip_before`` seconds (as ``Frame.time`` counts them); where its input allows, it does
not decode them either, but seeks to the last keyframe before that time and decodes from there
(:class:`Seek`), as FFmpeg's input ``-ss`` does.

A seek is taken for a file in one of ``SEEK_FORMATS`` (containers that index their keyframes; image
sequences and raw video, whose frames lie at fixed places), not shared with another reader, with a
known start time and frame rate. After a seek, a frame's number is its place on the stream's frame
grid, ``round((pts - start) x time_base x rate)``: in a constant-rate stream, the count of frames
before it. Where the first frame decoded after the seek is off that grid (a variable-rate stream), or
lies after the time sought (a seek that overshot), the reader goes back to the stream's start and
decodes from there, counting frames one by one as a read without a seek does. A colour stream keeps
a seek off the grid (a phone's variable-rate video): its frames pair by time, and their numbers, the
grid's rounded, appear only in messages.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any

import av
import av.logging

log = logging.getLogger("igde_stream.stream")

#: demuxers (``container.format.name``, split at commas) whose seeks land on a keyframe at or before
#: the time asked for: Matroska / WebM cues, MP4 / MOV sample tables, NUT's syncpoints, and the
#: fixed places of image sequences and raw video
SEEK_FORMATS = frozenset({"matroska", "webm", "mov", "mp4", "nut", "image2", "rawvideo"})
GRID_SLACK = 0.25  # of a frame: how far a frame may lie off the grid (time bases that round, 1/1000 at 29.97)


class Seek:
    """The seek of one reader to ``cut`` seconds (``stream``: its PyAV stream in ``container``; ``info``:
    its ``VideoInfo``; ``absolute``: times count from pts 0, not from the stream's start; ``exact``: the
    first frame must lie on the grid). ``number`` numbers the frames decoded after it."""

    def __init__(self, container: Any, stream: Any, info: Any, cut: float, absolute: bool,
                 exact: bool = True) -> None:
        self.container, self.stream, self.info, self.cut, self.exact = container, stream, info, cut, exact
        self.origin = 0 if absolute else info.start_pts  # the pts that Frame.time 0 stands for
        self.tb, self.rate = Fraction(info.time_base), Fraction(info.rate)
        self.checked = False  # the first frame after the seek was found on the grid, at or before the cut
        # one frame before the cut, so that the keyframe found is before any frame at the cut
        target = self.origin + int((Fraction(cut) - 1 / self.rate) / self.tb)
        seek(container, max(target, info.start_pts), stream)

    def holds(self, pts: int | None) -> bool:
        """Whether the first frame decoded after the seek (at ``pts``) is on the grid (where ``exact``),
        after the stream's first frame, and at or before the cut; else the reader has gone back to the
        stream's start (where the seek found no later keyframe, or one off the grid, or past the cut)
        and decodes from there, numbering frames by counting."""
        k = None if pts is None else self._place(pts)
        on_grid = k is not None and (abs(k - round(k)) <= GRID_SLACK or not self.exact)
        if on_grid and round(k) > 0 and float((pts - self.origin) * self.tb) <= self.cut + 1e-9:
            self.checked = True
            return True
        why = ("without a timestamp" if k is None else "off the frame grid" if not on_grid
               else "the stream's first" if round(k) <= 0 else "past it")
        log.debug("%s: the frame found by seeking to %.3f s is %s: decoded from the start", self.info.path, self.cut, why)
        seek(self.container, self.info.start_pts, self.stream)
        return False

    def _place(self, pts: int) -> Fraction:
        """Where the frame at ``pts`` lies on the frame grid, in frames from the stream's start."""
        return (pts - self.info.start_pts) * self.tb * self.rate

    def number(self, pts: int) -> int:
        """The frame number of the frame at ``pts``: its place on the frame grid."""
        return round(self._place(pts))


def seek_for(reader: Any) -> Seek | None:
    """The ``Seek`` of ``reader`` (a ``VideoReader`` about to decode) to its ``skip_before``, or None
    where it reads from the start: no cut, an input it does not own (a pipe, a network stream, half
    of a packed stream), a demuxer outside ``SEEK_FORMATS``, no start time or rate, a cut within
    the first frame, or a seek the demuxer refuses (an image sequence's, past its last file)."""
    info = reader.info
    cut = reader.skip_before
    if not cut or reader._share is not None or reader._input is None or reader._input.streamed:
        return None
    names = set((getattr(reader.container.format, "name", "") or "").split(","))
    if not names & SEEK_FORMATS or info.start_pts is None or not info.rate:
        return None
    if cut <= info.frame_duration:  # nothing to pass over that a seek would save
        return None
    try:
        return Seek(reader.container, reader.stream, info, cut, reader.sync == "absolute", reader.role != "color")
    except av.FFmpegError as exc:  # image2 refuses a time past its last file (EINVAL)
        log.debug("%s: no seek to %.3f s (%s): decoded from the start", info.path, cut, exc)
        seek(reader.container, info.start_pts, reader.stream)
        return None


def seek(container: Any, pts: int, stream: Any) -> None:
    """``container.seek`` to the last keyframe of ``stream`` at or before ``pts``; FFmpeg's messages on
    the way ("read_timestamp failed" while NUT finds its syncpoints) are kept from the log: a seek that
    fails raises, and the frames decoded after it are checked as every frame is."""
    with av.logging.Capture(local=True):
        container.seek(pts, stream=stream, backward=True, any_frame=False)


__all__ = ["GRID_SLACK", "SEEK_FORMATS", "Seek", "seek", "seek_for"]
