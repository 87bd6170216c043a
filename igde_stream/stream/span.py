"""Which frames of a clip a run writes (``enhance_file(start=..., max_frames=...)``, ``--start`` and
``--max-frames``): from the first depth frame at or after ``start`` seconds (counted as pairing counts
them), at most ``max_frames`` of them."""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

from ..errors import IGDEError
from .info import Frame, VideoInfo
from .pairing import TIE
from .timecode import advance


def check_span(start: Any, max_frames: Any) -> tuple[float, int]:
    """(start, max_frames) as a float and an int; ``ValueError`` for a start that is not a finite
    number of seconds >= 0, or a frame count that is not a whole number >= 0."""
    if isinstance(start, bool) or not isinstance(start, numbers.Real) or not (math.isfinite(start) and start >= 0):
        raise ValueError(f"start must be a number of seconds >= 0, got {start!r}")
    if isinstance(max_frames, bool) or not isinstance(max_frames, numbers.Integral) or max_frames < 0:
        raise ValueError(f"max_frames must be a whole number >= 0 (0: all frames), got {max_frames!r}")
    return float(start), int(max_frames)


def check_start(start: float, info: Any, sync: str) -> None:
    """An ``IGDEError`` for a start beyond the end of a depth stream that declares its duration
    (``info``: its ``VideoInfo``), before any frame is decoded; ``Span.check_reached`` says it after the
    run where the stream declares none."""
    if not start or not info.duration:
        return
    first = float((info.start_pts or 0) * info.time_base)  # the stream's start, as pts time
    span = info.duration - (first if info.duration_is_end else 0.0)
    end = span + (first if sync == "absolute" else 0.0)  # the end, as pairing counts times
    if start > end + info.frame_duration + 1e-3:
        raise IGDEError(f"no depth frame at or after --start {start:g} s: the depth lasts {span:.3f} s"
                        + (f" from {first:.3f} s" if sync == "absolute" else ""), info.path)


class Span:
    """The frames a run writes. ``starts_at``: called with the first written frame's index when it is
    not 0, so that an image pattern numbers its files, and a video gives its timecode, as the input's
    frame (``Outputs.starts_at``)."""

    def __init__(self, start: float = 0.0, max_frames: int = 0,
                 starts_at: Callable[[int], Any] | None = None) -> None:
        self.start, self.max_frames, self.starts_at = float(start), int(max_frames), starts_at
        self.skipped = 0  # depth frames before the start
        self.last_time: float | None = None  # the time of the last of them
        self.first = 0  # the index of the first frame written

    def before(self, depth: Frame, written: int) -> bool:
        """Whether ``depth`` (the next paired depth frame, after ``written`` written ones) comes before the
        start and is not written."""
        if written or not self.start:
            return False
        if depth.time < self.start - TIE:  # a frame exactly at the start is written (FFmpeg's -ss too)
            self.skipped += 1
            self.last_time = depth.time
            return True
        self.first = depth.index
        if depth.index and self.starts_at is not None:
            self.starts_at(depth.index)
        return False

    def timecode(self, info: VideoInfo) -> str | None:
        """The timecode of the first frame written, of an input (``info``) whose first frame has
        ``info.timecode``."""
        return advance(info.timecode, self.first, info.effective_rate) if info.timecode and self.first else info.timecode

    def said(self) -> dict[str, Any]:
        """The summary's and report header's entries: the start and the count, where given."""
        return {**({"start": self.start} if self.start else {}), **({"max_frames": self.max_frames} if self.max_frames else {})}

    def check_reached(self, path: Any) -> None:
        """After a run that wrote nothing: an ``IGDEError`` when the start lay beyond the depth's end."""
        if self.start:
            last = f" (its last frame, of {self.skipped}, at {self.last_time:.3f} s)" if self.skipped else ""
            raise IGDEError(f"no depth frame at or after --start {self.start:g} s{last}", str(path))
