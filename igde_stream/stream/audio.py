"""The colour's sound in the views / RGB-D videos (``ColorWriter``'s ``audio``): the colour file's
audio streams over the frames written, muxed as the video goes (docs/formats.md, "Other metadata").

Packets are copied where the container holds the codec (``MP4_AUDIO``; Matroska and MOV also PCM),
their payload as read and their times rescaled by the muxer to the output's time base; else decoded
and coded to AAC (FFmpeg's built-in encoder), cut to the sample. The window: from the first written
frame's time to the last one's end; copied packets are whole (the first one starting at or after
the first frame's time, the last one starting before the end)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import OutputError
from .sound import MP4_AUDIO

__all__ = ["AudioSpec", "AudioTrack", "audio_spec", "carries_audio"]

CARRYING = (".mkv", ".mp4", ".m4v", ".mov")


@dataclass(frozen=True)
class AudioSpec:
    """The colour file ``path`` with sound, and ``shift``: the seconds added to its times to place them
    on the output's (the depth's start less the colour's, where streams pair counting from their starts)."""

    path: str
    shift: Fraction = Fraction(0)


def carries_audio(path: Any) -> bool:
    """Whether an output named ``path`` (a video file, not a picture or a pipe) takes the sound."""
    p = str(path)
    return p != "-" and "://" not in p and "%" not in p and os.path.splitext(p)[1].lower() in CARRYING


def audio_spec(color: Any, depth: Any = None, sync: str = "relative") -> AudioSpec | None:
    """The ``AudioSpec`` of a colour input (its ``VideoReader``, or a path) with audio streams, else
    None; ``depth``: the depth's ``VideoReader``, whose start the output's times keep."""
    from .sound import audio_codecs

    path = str(getattr(color, "path", color))
    if not audio_codecs(path):
        return None

    def start(reader: Any) -> Fraction:
        info = getattr(reader, "info", None)
        if info is None or getattr(info, "start_pts", None) is None:
            return Fraction(0)
        return info.start_pts * Fraction(info.time_base)

    shift = start(depth) - start(color) if sync == "relative" and depth is not None else Fraction(0)
    return AudioSpec(path, shift)


def _copies(codec: str, muxer: str) -> bool:
    return codec in MP4_AUDIO or (codec.startswith("pcm_") and not muxer.startswith("mp4"))


class AudioTrack:
    """The audio streams of ``spec.path`` in the output ``container`` (streams added by ``add``,
    before the header); ``feed(until)`` muxes what comes before the output time ``until``, ``finish(end)``
    the rest up to ``end`` and closes the input."""

    def __init__(self, spec: AudioSpec, container: Any, path: Any) -> None:
        import av

        self.spec, self.container, self.path = spec, container, path
        try:
            self.input = av.open(spec.path)
        except (av.FFmpegError, OSError) as exc:
            raise OutputError(f"cannot read the sound of {spec.path} ({exc})", path) from None
        muxer = container.format.name
        self.pairs: dict[int, tuple[Any, bool]] = {}  # input stream index -> (output stream, copied)
        for s in self.input.streams.audio:
            cc = s.codec_context
            if _copies(cc.name, muxer):
                out = container.add_stream_from_template(s)
            else:
                out = container.add_stream("aac", rate=cc.sample_rate, layout={1: "mono", 2: "stereo"}.get(cc.channels, cc.layout.name))
            self.pairs[s.index] = (out, _copies(cc.name, muxer))
        self.demux: Any = None
        self.pending: Any = None

    def begin(self, first: Fraction) -> None:
        """The first frame is at output time ``first`` (s): seek there in the input."""
        self.t0 = Fraction(first) - self.spec.shift
        streams = list(self.input.streams.audio)
        try:
            if self.t0 > 0:
                self.input.seek(max(0, int((self.t0 - 1) * 1_000_000)), any_frame=False)
        except Exception:  # noqa: BLE001 - a file that cannot seek is read from its start
            self.input.seek(0)
        self.demux = self.input.demux(*streams)

    def _time(self, packet: Any) -> Fraction | None:
        ts = packet.pts if packet.pts is not None else packet.dts
        return None if ts is None else ts * Fraction(packet.time_base)

    def feed(self, until: Fraction) -> None:
        """Mux the packets (or coded samples) of input time from the start to ``until - shift``."""
        import av

        end = Fraction(until) - self.spec.shift
        while True:
            packet = self.pending if self.pending is not None else next(self.demux, None)
            self.pending = None
            if packet is None:
                return
            t = self._time(packet)
            if packet.size == 0 or t is None:
                continue
            if t >= end:
                self.pending = packet
                return
            out, copied = self.pairs[packet.stream.index]
            try:
                if copied:
                    if t < self.t0:
                        continue
                    delta = round(self.spec.shift / Fraction(packet.time_base))
                    packet.pts = packet.pts + delta if packet.pts is not None else None
                    packet.dts = packet.dts + delta if packet.dts is not None else None
                    packet.stream = out
                    self.container.mux(packet)
                else:
                    for frame in packet.decode():
                        self._code(frame, out, end)
            except av.FFmpegError as exc:
                raise OutputError(f"writing the sound failed ({exc})", self.path) from None

    def _code(self, frame: Any, out: Any, end: Fraction) -> None:
        """The samples of ``frame`` within [t0, end) coded into ``out`` at their output times."""
        import av

        rate = frame.sample_rate
        first = round(frame.pts * Fraction(frame.time_base) * rate)
        lo, hi = max(first, round(self.t0 * rate)), min(first + frame.samples, round(end * rate))
        if hi <= lo:
            return
        data = frame.to_ndarray()
        planar = frame.format.is_planar
        part = data[:, lo - first:hi - first] if planar else data[:, (lo - first) * len(frame.layout.channels):
                                                                    (hi - first) * len(frame.layout.channels)]
        cut = av.AudioFrame.from_ndarray(np.ascontiguousarray(part), format=frame.format.name,
                                         layout=frame.layout.name)
        cut.sample_rate, cut.time_base = rate, Fraction(1, rate)
        cut.pts = lo + round(self.spec.shift * rate)
        for p in out.encode(cut):
            self.container.mux(p)

    def finish(self, end: Fraction) -> None:
        """Mux the sound up to output time ``end`` (the last frame's end), flush the encoders, close."""
        try:
            if self.demux is not None:
                self.feed(end)
                for out, copied in self.pairs.values():
                    if not copied:
                        for p in out.encode(None):
                            self.container.mux(p)
        finally:
            self.close()

    def close(self) -> None:
        self.input.close()
