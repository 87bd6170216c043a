"""What a decoded stream is: ``VideoInfo`` (what the container says about a video stream) and
``Frame`` (one decoded frame), the frame rate assumed when a stream gives none, and whether a
stream's frames were all there (``check_complete``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import CorruptInputError
from .formats import bits_of, dtype_of, peak_of

#: Frames per second assumed when a stream does not say (readers and the writer use the same).
FALLBACK_RATE = Fraction(25)


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video stream; ``width`` x ``height`` as the frames are read
    (displayed: after the display matrix; enlarged, when the reader enlarges)."""

    path: str
    codec: str
    width: int
    height: int
    pix_fmt: str | None
    time_base: Fraction
    rate: Fraction | None  # frames per second, None when unknown
    start_pts: int | None  # in time_base units; None: taken from the first frame
    frames: int | None  # frame count the container declares, None when it does not
    duration: float | None  # seconds the container declares, None when it does not
    duration_is_end: bool = False  # the duration may be an end time (from 0) rather than a length
    duration_is_last_start: bool = False  # it is the last frame's start (NUT: its index's largest pts), not its end
    kind: str = "file"  # "file", "sequence", "raw" or "stdin" (sources.kind_of); "array" (arrays: NumPy)
    limited: bool = False  # YUV depth luma in the limited range, read stretched (formats.luma_is_limited)
    timecode: str | None = None  # the first frame's SMPTE timecode ("01:00:00:00"; timecode.input_timecode)
    declared_rate: Fraction | None = None  # the rate FFmpeg guesses from the stream (r_frame_rate), None when unknown

    @property
    def effective_rate(self) -> Fraction:
        """The frame rate, or ``FALLBACK_RATE`` (25 fps) when the stream does not give one."""
        return self.rate or FALLBACK_RATE

    @property
    def frame_duration(self) -> float:
        """Seconds per frame (1/25 when the rate is unknown)."""
        return float(1 / self.effective_rate)

    @property
    def expected_frames(self) -> int | None:
        if self.frames:
            return self.frames
        if self.duration and self.rate:
            span = self.duration
            if self.duration_is_end and self.start_pts:  # an end time counted from 0: less the stream's start
                span -= float(self.start_pts * self.time_base)
            return round(span * float(self.rate)) + self.duration_is_last_start  # the last frame counts too
        return None

    @property
    def dtype(self) -> np.dtype:
        """Depth sample type: uint16 for formats of more than 8 bits (gray10le ... gray16be), else uint8."""
        return dtype_of(self.pix_fmt)

    @property
    def bits(self) -> int:
        """Significant bits of a depth sample (8, 10, 12 or 16)."""
        return bits_of(self.pix_fmt)

    @property
    def peak(self) -> float:
        """The largest depth value the format holds: 255, 1023, 4095 or 65535."""
        return peak_of(self.pix_fmt)


@dataclass
class Frame:
    """One decoded frame: colour H x W x 3 uint8 RGB, or depth H x W uint8 / uint16."""

    index: int  # 0-based decode order (= presentation order after the decoder)
    pts: int | None  # as decoded, in the stream's time base
    time: float  # seconds from the stream's start, or pts_time with sync="absolute" (what pairing compares)
    pts_time: float  # pts x time_base, as ffprobe shows it
    data: np.ndarray
    #: float depth as read, before the run's 16-bit map (kept for a float output only: ``keep_values``)
    values: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        """The bytes the frame holds: its pixels, and its float values where kept."""
        return self.data.nbytes + (0 if self.values is None else self.values.nbytes)


def declared_duration(stream: Any, container: Any, time_base: Fraction) -> tuple[float | None, bool, bool]:
    """(seconds, whether an end time, whether the last frame's start) a PyAV ``stream`` of ``container``
    declares. A stream's duration is a length; a container's (Matroska) may be an end time counted from
    0, and NUT's is the largest pts of its index: the last frame's start, one frame short of its end."""
    if stream.duration is not None:
        return float(stream.duration * time_base), False, False
    if container.duration is not None and len(container.streams) == 1:
        return container.duration / 1_000_000, True, container.format.name == "nut"
    return None, False, False


def limit_frames(info: VideoInfo, max_frames: int) -> VideoInfo:
    """``info`` as a run of at most ``max_frames`` of its frames (0: all) gives it to its outputs:
    the smaller frame count (unknown where the stream's is)."""
    n = info.expected_frames
    return replace(info, frames=min(n, max_frames)) if max_frames and n else info


def read_within(max_frames: int, *infos: VideoInfo) -> bool:
    """Whether a run of ``max_frames`` frames (0: all) ends before the end of every stream of ``infos``
    (each declares at least that many frames): their lengths then do not matter to it."""
    return bool(max_frames) and all((n := i.expected_frames) is not None and n >= max_frames for i in infos)


def never_shown(cut: int, empty: int) -> str:
    """What the samples a stream declares but never shows are, for a message: ``cut`` cut by an MP4 /
    MOV edit list (a ``-c copy`` trim), ``empty`` an AVI's empty chunks (frames the recorder dropped)."""
    parts = [f"{cut} cut by its edit list" if cut else "", f"{empty} empty (dropped by the recorder)" if empty else ""]
    return ", ".join(p for p in parts if p)


def check_complete(info: VideoInfo, path: str, count: int, last_time: float, last_pts_time: float,
                   dropped: int = 0, last_duration: float = 0.0, dropped_why: str = "") -> None:
    """Refuse a stream (``info``, read from ``path``) that ended early after ``count`` frames, the last
    at ``last_time`` / ``last_pts_time`` s: fewer frames than the container declares (less the
    ``dropped`` samples never shown: cut by its edit list, or an AVI's empty slots; ``dropped_why``
    says which, ``never_shown``), or, where it declares no count, an end before the declared duration
    (the last frame lasting ``last_duration`` seconds, else one frame)."""
    if count == 0:
        raise CorruptInputError("no frame could be decoded", path)
    if info.frames and count < info.frames - dropped:
        raise CorruptInputError(
            f"truncated: decoded {count} frames but the container declares {info.frames - dropped}"
            + (f" ({info.frames} samples, {dropped} never shown: {dropped_why or 'cut or empty'})" if dropped else ""),
            path
        )
    if info.frames and count >= info.frames - dropped:
        return  # every frame it declares: a last frame held longer (VFR) moves only the duration
    if info.duration is not None:
        held = last_duration if last_duration else info.frame_duration  # the last frame's own, if known
        end = (max(last_time, last_pts_time) if info.duration_is_end else last_time) + held
        if info.duration - end > 0.5 * info.frame_duration + 0.002:
            raise CorruptInputError(
                f"truncated: decoded {count} frames ({end:.3f} s) but the container declares "
                f"{info.duration:.3f} s",
                path,
            )


__all__ = ["FALLBACK_RATE", "Frame", "VideoInfo", "check_complete"]
