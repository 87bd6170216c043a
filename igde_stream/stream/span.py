"""Which frames of a clip a run writes (``enhance_file(start=..., end=..., max_frames=...)``, ``--start``,
``--to`` / ``--duration`` and ``--max-frames``): from the first depth frame at or after ``start`` seconds
(counted as pairing counts them), those before ``end``, at most ``max_frames`` of them."""

from __future__ import annotations

import math
import numbers
from itertools import chain, dropwhile
from typing import Any, Callable, Iterable, Iterator

from ..errors import IGDEError
from .info import Frame, VideoInfo
from .pairing import TIE, reach
from .timecode import advance


def check_span(start: Any, max_frames: Any) -> tuple[float, int]:
    """(start, max_frames) as a float and an int; ``ValueError`` for a start that is not a finite
    number of seconds >= 0, or a frame count that is not a whole number >= 0."""
    if isinstance(start, bool) or not isinstance(start, numbers.Real) or not (math.isfinite(start) and start >= 0):
        raise ValueError(f"start must be a number of seconds >= 0, got {start!r}")
    if isinstance(max_frames, bool) or not isinstance(max_frames, numbers.Integral) or max_frames < 0:
        raise ValueError(f"max_frames must be a whole number >= 0 (0: all frames), got {max_frames!r}")
    return float(start), int(max_frames)


def check_end(start: float, end: Any) -> float | None:
    """``end`` (seconds, counted as ``start``; None: the clip's end) as a float; ``ValueError`` for one
    that is not a finite number after ``start``."""
    if end is None:
        return None
    if isinstance(end, bool) or not isinstance(end, numbers.Real) or not (math.isfinite(end) and end > start):
        raise ValueError(f"end must be a number of seconds after start ({start:g}), got {end!r}")
    return float(end)


def most_frames(max_frames: int, start: float, end: float | None, info: VideoInfo) -> int:
    """The most frames a run from ``start`` to ``end`` of a stream (``info``) writes, at most ``max_frames``
    (0: no bound): the places of its frame grid from ``start`` to before ``end``."""
    if end is None or not info.rate:
        return max_frames
    n = max(1, math.ceil((end - start) * info.effective_rate - 1e-6))
    return min(n, max_frames) if max_frames else n


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
                        + (f" from {first:.3f} s" if sync == "absolute" else "") + _image_number_hint(start, info),
                        info.path)


def _image_number_hint(start: float, info: Any) -> str:
    """Where ``start`` is the number of one of a numbered image sequence's images (``--start 1002`` for
    ``plate.1002.png``, as VFX tools count frames), the time of that image: "--start is a time ..."."""
    if info.kind != "sequence" or not info.frames or not info.rate or start != int(start):
        return ""
    from .imageseq import first_number  # here: imageseq is not needed for a video

    number = first_number(info.path)
    if number is None or not number <= start < number + info.frames:
        return ""
    t = (int(start) - number) / info.effective_rate
    return f"; --start is a time: image {int(start)} of this sequence is at {float(t):g} s (--start {float(t):g})"


class Span:
    """The frames a run writes. ``starts_at``: called with the first written frame's index when it is
    not 0, so that an image pattern numbers its files, and a video gives its timecode, as the input's
    frame (``Outputs.starts_at``).

    The readers pass over the frames before the start (``cut``; ``seek``: where the file allows, they
    are not decoded), and pairing begins at the first depth frame read (``heads``)."""

    def __init__(self, start: float = 0.0, max_frames: int = 0,
                 starts_at: Callable[[int], Any] | None = None, end: float | None = None) -> None:
        self.start, self.max_frames, self.starts_at, self.end = float(start), int(max_frames), starts_at, end
        self.first = 0  # the index of the first frame written
        self.refuse: Exception | None = None  # raised at the first pair, before its work (pairing.declared_mismatch)
        self.ended: float | None = None  # the time of the first depth frame at or after the end

    def cut(self, pair: str, color: Any, depths: list[Any], gt: Any = None) -> Span:
        """Have the readers (``VideoReader``, before they read) pass over the frames before the start:
        the depth streams' (a frame exactly at it is written, as with FFmpeg's -ss), the colour's
        beyond the reach of pairing (``pair``: its mode) and the ground truth's a frame before. Under
        "index" the colour is not cut by time (its frames before the depth's first are passed over by
        count, ``pairing_index``). Returns the span."""
        if not self.start:
            return self
        for depth in depths:
            depth.skip_before = self.start - TIE
        if pair != "index":
            color.skip_before = self.start - reach(pair, color.info, depths[0].info) - TIE
        if gt is not None:
            gt.skip_before = self.start - depths[0].info.frame_duration
        return self

    def heads(self, pair: str, infos: tuple[VideoInfo, VideoInfo], colors: Iterable[Frame],
              depths: Iterable[Frame]) -> tuple[Iterator[Frame], Iterator[Frame]]:
        """(colour, depth) frames for pairing from the start. The colour frames that lie before the first
        depth frame by more than pairing's reach (``pair``: its mode; ``infos``: colour, depth) are passed
        over, as the depth frames before it were: the colour reader's ``cut`` is the start less that
        reach, and the first depth frame may lie up to a frame after the start. Under "index" the
        pairing passes over the colour frames itself, by count."""
        colors, depths = iter(colors), iter(depths)
        if not self.start or pair == "index" or (d0 := next(depths, None)) is None:
            return colors, depths
        early = d0.time - reach(pair, *infos) - TIE
        return dropwhile(lambda c: c.time < early, colors), chain([d0], depths)

    def past(self, depth: Frame) -> bool:
        """Whether ``depth`` lies at or after the end (``--to``): it and the frames after it are not
        written (as FFmpeg's -to, a frame exactly at the end is not)."""
        if self.end is None or depth.time < self.end - TIE:
            return False
        self.ended = depth.time
        return True

    def over(self, written: int) -> bool:
        """Whether the span ended before the streams did, ``written`` frames in: a depth frame at or
        after the end was met (``past``), or ``max_frames`` were written."""
        return self.ended is not None or bool(self.max_frames and written == self.max_frames)

    def begins(self, depth: Frame) -> None:
        """``depth`` is the first frame written (``refuse``, where set, is raised instead: the frames
        decoded so far, one of each input, were checked as every frame is, and nothing was done with them)."""
        if self.refuse is not None:
            raise self.refuse
        self.first = depth.index
        if depth.index and self.starts_at is not None:
            self.starts_at(depth.index)

    def timecode(self, info: VideoInfo) -> str | None:
        """The timecode of the first frame written, of an input (``info``) whose first frame has
        ``info.timecode``."""
        return advance(info.timecode, self.first, info.effective_rate) if info.timecode and self.first else info.timecode

    def said(self) -> dict[str, Any]:
        """The summary's and report header's entries: the start and the count, where given."""
        return {**({"start": self.start} if self.start else {}), **({"end": self.end} if self.end is not None else {}),
                **({"max_frames": self.max_frames} if self.max_frames else {})}

    def check_reached(self, depth: Any) -> None:
        """After a run that wrote nothing: an ``IGDEError`` when the start lay beyond the end of the
        depth (its reader, ``VideoReader``)."""
        if self.ended is not None:
            raise IGDEError(f"no depth frame from --start {self.start:g} s to --to {self.end:g} s (the first at or "
                            f"after the start is at {self.ended:.3f} s)", str(depth.path))
        if self.start:
            last = getattr(depth, "passed", None)  # (index, time) of the last frame passed over
            said = f" (its last frame, of {last[0] + 1}, at {last[1]:.3f} s)" if last else ""
            raise IGDEError(f"no depth frame at or after --start {self.start:g} s{said}", str(depth.path))
