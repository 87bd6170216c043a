"""The SMPTE timecode of an input's first frame, carried to the outputs made from its frames.

FFmpeg's demuxers give it as ``timecode`` metadata: on the video stream (MOV copies its ``tmcd``
track's there; MXF), on the container (MXF, NUT; Matroska's ``TIMECODE`` tag) or on the ``tmcd``
data stream itself. FFmpeg's muxers write it back from the output container's ``timecode``
metadata, as ``ffmpeg -timecode`` does: MOV / MP4 a ``tmcd`` track, Matroska a ``TIMECODE`` tag,
MXF its timecode component, NUT an info tag. The outputs keep the input's frames one for one from its
first, so the first frame's timecode is theirs too; from a later frame (``--start``), that frame's
(``advance``).

Where neither input's container has one, the timecode the first frame carries in its bitstream is
taken (``frame_timecode``): an H.264 pic_timing SEI's clock timestamp, an HEVC time code SEI, an
MPEG-1/2 GOP header's time_code, as broadcast encoders and many cameras write them. FFmpeg's
decoders give it as the frame's ``timecode`` metadata (beside ``S12M_TIMECODE`` / ``GOP_TIMECODE``
side data); the first frame is decoded once when the input is opened (``firstframe``).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
import re
from fractions import Fraction
from typing import Any, Callable, Sequence

import av
import av.logging

from .info import VideoInfo

log = logging.getLogger("igde_stream.stream")

#: HH:MM:SS:FF (non-drop), HH:MM:SS;FF (drop-frame; ``.`` and ``,`` are read as FFmpeg reads them)
_TIMECODE = re.compile(r"\d{1,2}:\d{2}:\d{2}[:;.,]\d{2,3}")


def timecode_of(value: str | None) -> str | None:
    """``value`` when it is a timecode FFmpeg's muxers take (``01:00:00:00``, ``00:59:59;28``), else None."""
    value = (value or "").strip()
    return value if _TIMECODE.fullmatch(value) else None


def _tagged(metadata: Any) -> str | None:
    for key, value in dict(metadata or {}).items():
        if key.lower() == "timecode" and (tc := timecode_of(value)) is not None:
            return tc
    return None


def input_timecode(container: Any, stream: Any) -> str | None:
    """The timecode of ``stream`` (a PyAV video stream of ``container``), or None: its own tag, the
    container's, then a data stream's (a ``tmcd`` track FFmpeg did not copy to the video stream)."""
    others = [s.metadata for s in getattr(container, "streams", []) if getattr(s, "type", None) == "data"]
    for metadata in (stream.metadata, container.metadata, *others):
        if (tc := _tagged(metadata)) is not None:
            return tc
    return None


def frame_timecode(frame: Any) -> str | None:
    """The timecode decoded ``frame`` carries in its bitstream (FFmpeg's ``timecode`` frame metadata:
    H.264 / HEVC SEI, an MPEG-1/2 GOP header), or None."""
    return _tagged(getattr(frame, "metadata", None))


#: decoders that give a frame's timecode from its bitstream (``frame_timecode``)
FRAME_TIMECODE_CODECS = frozenset({"h264", "hevc", "mpeg1video", "mpeg2video"})

_INPUTS = ("depth", "colour")


def with_timecode(depth: VideoInfo, color: VideoInfo,
                  first_frames: Sequence[Callable[[], str | None]] = (), color_offset: int = 0) -> VideoInfo:
    """``depth`` (the outputs' model) with the timecode they get: the depth's, else the colour's (a depth
    estimator's output has none; its frames pair with the colour's from the first, ``pairing``); where
    neither container has one, that of the depth's first frame, else the colour's (``first_frames``:
    the two, depth and colour, read when asked, in that order, only then: ``firstframe``). The colour's
    is counted on by ``color_offset`` frames: the depth's first frame pairs with that colour frame
    (a depth that starts later on the timestamps, ``sync="absolute"``)."""
    later = "" if not color_offset else f", counted on {color_offset} frames to the colour frame the depth starts at"
    rate = depth.effective_rate

    def colours(tc: str) -> str:  # the colour's, at the outputs' (the depth's) rate, from the depth's first frame
        tc = at_rate(tc, color.effective_rate, rate)
        return advance(tc, color_offset, rate) if color_offset else tc

    if depth.timecode is None and color.timecode is not None:
        tc = colours(color.timecode)
        log.info("timecode %s: the colour input's (the depth has none)%s, written on the outputs", tc, later)
        return dataclasses.replace(depth, timecode=tc)
    if depth.timecode is not None:
        return depth
    for name, read in zip(_INPUTS, first_frames):
        if (tc := read()) is not None:
            if name == "colour":
                tc = colours(tc)
            log.info("timecode %s: the %s input's first frame's (in its bitstream; neither container has one)%s, "
                     "written on the outputs", tc, name, later if name == "colour" else "")
            return dataclasses.replace(depth, timecode=tc)
    return depth


def advance(timecode: str, frames: int, rate: Fraction) -> str:
    """The timecode ``frames`` frames after ``timecode`` at ``rate`` fps, counted as FFmpeg counts
    (``av_timecode_get_smpte_from_framenum``): on the nearest whole rate; drop-frame (a separator other
    than ``:`` before the frames, at multiples of 30 fps) skips frame numbers 00 and 01 (00-03 at 60
    fps) of every minute but each tenth; the hours wrap at 24. Drop-frame is written with ``;``."""
    # the separator before the frames says drop-frame, where the hours have one digit too ("1:00:00;00")
    h, _, m, _, s, sep, f = re.split(r"([:;.,])", timecode.strip())
    hh, mm, ss, ff = int(h), int(m), int(s), int(f)
    fps = max(1, math.floor(Fraction(rate) + Fraction(1, 2)))
    drop = sep != ":" and fps % 30 == 0
    skip = fps // 30 * 2 if drop else 0  # frame numbers skipped a minute
    n = (hh * 3600 + mm * 60 + ss) * fps + ff
    if drop:
        minutes = 60 * hh + mm
        n -= skip * (minutes - minutes // 10)
    n += frames
    if drop:  # back to a label: the numbers skipped before frame n put back
        per10 = fps // 30 * 17982
        tens, rest = divmod(n, per10)
        n += 9 * skip * tens + skip * (max(0, rest - skip) // (per10 // 10))
    sep = ";" if drop else ":"
    width = max(2, len(str(fps - 1)))
    return (f"{n // (fps * 3600) % 24:02d}:{n // (fps * 60) % 60:02d}:{n // fps % 60:02d}"
            f"{sep}{n % fps:0{width}d}")


def at_rate(timecode: str, rate: Fraction, to_rate: Fraction) -> str:
    """``timecode`` of a frame at ``rate`` fps as the outputs at ``to_rate`` count it: the same second, its
    frame number scaled to the other rate (59.94 fps ``01:00:00;58`` is 29.97 fps ``01:00:00;29``; 50 fps
    ``10:00:00:48`` is 25 fps ``10:00:00:24``), drop-frame kept where ``to_rate`` is a multiple of 30
    fps. Unchanged at the same whole rate."""
    fps, fps_to = (max(1, math.floor(Fraction(r) + Fraction(1, 2))) for r in (rate, to_rate))
    if fps == fps_to:
        return timecode
    h, _, m, _, s, sep, f = re.split(r"([:;.,])", timecode.strip())
    sep = ";" if sep != ":" and fps_to % 30 == 0 else ":"
    width = max(2, len(str(fps_to - 1)))
    return f"{int(h):02d}:{int(m):02d}:{int(s):02d}{sep}{min(int(f) * fps_to // fps, fps_to - 1):0{width}d}"


def move_timecode(container: Any, frames: int, rate: Fraction) -> None:
    """An output ``container`` whose first frame is the input's frame ``frames`` (``--start``), before
    its header is written: its timecode tag (``set_timecode``'s) advanced to that frame's."""
    tc = container.metadata.get("timecode")
    if tc is not None and frames:
        container.metadata["timecode"] = advance(tc, frames, rate)


#: muxers that build a timecode track from the tag (MOV / MP4 ``tmcd``, MXF), and fail the header on
#: one they cannot count (MOV at 1000 fps, MXF drop-frame at 25 fps); the trial's codec for each
_TRACK_MUXERS = {"mov": "png", "mp4": "png", "ipod": "png", "ismv": "png", "mxf": "ffv1", "mxf_opatom": "ffv1"}


def _trial(muxer: str, codec: str, rate: Fraction, timecode: str | None) -> bool:
    """Whether a one-frame ``codec`` file of ``muxer`` at ``rate``, tagged ``timecode``, is written (in memory)."""
    try:
        with av.logging.Capture(local=True), av.open(io.BytesIO(), "w", format=muxer) as c:
            if timecode is not None:
                c.metadata["timecode"] = timecode
            s = c.add_stream(codec, rate=rate)
            s.width, s.height, s.pix_fmt = 16, 16, "gray"
            for packet in [*s.encode(av.VideoFrame(16, 16, "gray")), *s.encode()]:
                c.mux(packet)
        return True
    except (av.error.FFmpegError, ValueError, OSError):
        return False


def timecode_refused(muxer: str, rate: Fraction, timecode: str | None) -> bool:
    """Whether ``muxer`` refuses ``timecode`` at ``rate`` fps where it takes the same file without it (a
    trial header in memory; muxers that only store the tag take any)."""
    codec = _TRACK_MUXERS.get(muxer)
    return codec is not None and timecode is not None and _trial(muxer, codec, rate, None) and not _trial(
        muxer, codec, rate, timecode)


def set_timecode(container: Any, timecode: str | None, rate: Fraction, where: Any) -> None:
    """Tag output ``container`` (before its header is written, at the first frame) with ``timecode``,
    where its muxer can hold it at ``rate`` fps (else a warning names ``where``, the output)."""
    if timecode is None:
        return
    if timecode_refused(container.format.name, rate, timecode):
        log.warning("%s: the timecode %s is not written: FFmpeg's %s muxer cannot count it at %s fps", where,
                    timecode, container.format.name, rate)
        return
    container.metadata["timecode"] = timecode


__all__ = ["FRAME_TIMECODE_CODECS", "advance", "at_rate", "frame_timecode", "input_timecode", "move_timecode",
           "set_timecode", "timecode_of", "with_timecode"]
