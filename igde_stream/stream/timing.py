"""Frame times of containers that store no presentation times of their own.

- **Raw elementary streams** (``.h264``, ``.hevc``, ``.m2v`` ...): no timestamps at all; frame k is
  shown at k / rate (``reader``). The demuxer's own rate is a default (25 fps) unless ``-framerate``
  was given; the rate the bitstream declares (H.264 / HEVC VUI timing, MPEG-2 ``frame_rate_code``),
  which FFmpeg's parser reads, is PyAV's ``guessed_rate``: :func:`stream_rate` takes that one.
- **AVI**: frame slots, one every 1 / rate, in decode order, and no presentation times (ffprobe
  shows none). FFmpeg guesses a pts for each packet from its slot (slot + 1 for H.264), so with
  B-frames the guesses come out of the decoder permuted (``1, 4, 3, 5, 2, ...``), which the reader
  refused as timestamps that do not increase, and without them a stream started one slot late.
  :class:`SlotClock` gives the k-th decoded frame (presentation order) the slot of the k-th stored
  frame instead, as players show them. A chunk of 0 bytes (a frame the recorder dropped, or a
  variable-rate source that FFmpeg wrote as AVI) keeps its slot free, and counts as a frame never
  shown, not as one missing (the AVI's frame count holds it).
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from typing import Any

# FFmpeg demuxers of bare bitstreams, whose frames carry no timestamps
RAW_STREAM_FORMATS = frozenset({"h264", "hevc", "vvc", "mpegvideo", "m4v", "cavsvideo", "avs2", "avs3", "h261",
                                "h263"})


#: an average rate this close to the stream's declared one is the declared rate measured through rounded
#: timestamps (an MP4 remuxed from Matroska's 1 ms times: 48 frames at 30000/1001 average 128000/4273)
RATE_SNAP = 0.005


def stream_rate(stream: Any, container: Any) -> Fraction | None:
    """Frames per second of ``stream`` (PyAV), None when unknown: its average rate, or for a raw
    elementary stream the rate its bitstream declares (``guessed_rate``, FFmpeg's guess from the
    container's and the codec's rates). An average within ``RATE_SNAP`` of the declared rate is that
    rate (FFmpeg's command line takes it too), so that outputs declare 30000/1001, not the 28967/967 a
    file's rounded timestamps average to, and frame numbers stay on the grid over long clips."""
    guessed = Fraction(stream.guessed_rate) if stream.guessed_rate else None
    if _format_name(container) in RAW_STREAM_FORMATS and guessed:
        return guessed
    rate = Fraction(stream.average_rate) if stream.average_rate else guessed
    if rate and guessed and abs(rate / guessed - 1) <= RATE_SNAP:
        return guessed
    return rate


class SlotClock:
    """Re-times the decoded frames of an AVI stream (``active``): the k-th frame out gets the slot
    (dts) of the k-th packet that held data, in the stream's time base. Other streams are left as
    decoded."""

    def __init__(self, stream: Any, container: Any) -> None:
        self.active = _format_name(container) == "avi"
        rate, tb = stream.average_rate or stream.guessed_rate, stream.time_base
        self.slot = max(1, round(1 / (Fraction(rate) * tb))) if self.active and rate and tb else 1
        self.slots: deque[int] = deque()
        self.last_slot: int | None = None  # the last packet's
        self.last_pts: int | None = None  # the last frame's, as re-timed

    def feed(self, packet: Any) -> int:
        """Note a demuxed packet's slot (before it is decoded); returns the slots skipped since the
        packet before it (chunks of 0 bytes, which the demuxer passes over but the frame count holds)."""
        if not (self.active and packet is not None and packet.size and packet.dts is not None):
            return 0
        skipped = 0 if self.last_slot is None else (packet.dts - self.last_slot) // self.slot - 1
        self.slots.append(packet.dts)
        self.last_slot = packet.dts
        return max(0, skipped)

    def apply(self, frames: list[Any]) -> list[Any]:
        if self.active:
            for f in frames:
                if self.slots:
                    pts = self.slots.popleft()
                else:  # more frames out than packets in: the slot after the last
                    pts = 0 if self.last_pts is None else self.last_pts + self.slot
                f.pts = self.last_pts = pts
        return frames


def _format_name(container: Any) -> str:
    return getattr(getattr(container, "format", None), "name", "") or ""
