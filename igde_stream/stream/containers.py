"""What an output container and encoder can hold, checked before the first frame is made.

Some muxers take a packet of any codec and fail only at the first frame, or never: MPEG-TS and
MPEG-PS store a codec they do not know as a data stream (an FFV1 ``.ts`` opened as no video at all),
the raw muxers write any packet. AVI and YUV4MPEG take the stream's time base as the frame rate, so
Matroska's 1/1000 s became a 1000 fps file; they are written in frame slots of 1 / rate instead.
Where a muxer would move the stream's start (``keep_start``, ``start_shift``) or misstate its
average rate (``mp4_rate_note``), and ``mux``, which drops impossible decode times.
"""

from __future__ import annotations

import io
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.logging

from ..errors import OutputError, worded
from .codecs import coded_as

#: muxers of uncompressed frames: .yuv / .raw and .y4m
RAW_MUXERS = ("rawvideo", "yuv4mpegpipe")
#: MPEG transport and program streams: a codec they do not know becomes a data stream
MPEG_MUXERS = ("mpegts", "mpeg", "vob", "dvd", "svcd", "vcd")
MPEG_CODECS = ("mpeg1video", "mpeg2video", "libx264", "h264_nvenc", "libx265", "hevc_nvenc")
#: muxers whose stream time base is the frame rate
SLOT_MUXERS = ("avi", "yuv4mpegpipe")
#: formats FFmpeg's MOV muxer writes only in its MP4 mode ("vp9 only supported in MP4"), refused there
#: when the header is written: after the model's work on the first frames
MP4_ONLY = ("vp9", "av1")
MOV_MODES = ("mov", "3gp", "3g2", "ipod", "psp", "ismv", "f4v")
#: muxers that store presentation times only (NUT), where FFmpeg still shifts the whole stream to keep
#: the decode times of a B-frame encoder at or after 0 (``avoid_negative_ts``): that shift is turned off
PTS_ONLY_MUXERS = ("nut",)
#: muxers that store decode times and no negative one (MPEG-TS / PS, FLV): FFmpeg moves every frame
#: later by the encoder's reordering delay when the first frame is shown before that delay
NON_NEGATIVE_MUXERS = ("flv", *MPEG_MUXERS)
#: FFmpeg's MP4 / MOV muxers, and the time scale (per second) of their movie header and edit lists
MOV_MUXERS = ("mp4", *MOV_MODES)
MOVIE_TIMESCALE = 1000
#: MPEG-PS muxers that move a stream starting before their preload (0.5 s) by that much (not DVD: it
#: keeps its preload whatever is asked)
PRELOAD_MUXERS = ("mpeg", "svcd", "vcd")
#: the most frames the encoders offered reorder (x264 / x265: 16 B-frames, one more for a B-pyramid)
MAX_REORDER = 17


MAX_DECODE_LEAD = 60  # seconds a decode time may come before its display time (reordering: a few frames)


def mux(container: Any, packet: Any) -> None:
    """``container.mux(packet)``, with an impossible decode time dropped first (the muxer then
    derives one): one after the packet's own display time, or more than ``MAX_DECODE_LEAD`` seconds
    before it. No valid stream has either; libx265 through FFmpeg 8 hands the one packet of a
    one-frame stream a dts of uninitialised memory now and then, above its pts (0x0003000300030004,
    which Matroska refuses) or far below it (-62551903713508 ms, which MP4 / MOV refuse as "pts/dts
    pair unsupported")."""
    pts, dts = packet.pts, packet.dts
    if dts is not None and pts is not None:
        tb = getattr(packet, "time_base", None)
        lead = (pts - dts) * tb if tb else 0  # no time base: only the order can be checked
        if dts > pts or lead > MAX_DECODE_LEAD:
            packet.dts = None
    container.mux(packet)


def container_problem(muxer: str, codec: str, out: Path, supported: frozenset[str] | set[str],
                      bits: int = 8) -> str | None:
    """Why ``codec`` cannot go into an output of ``muxer`` (its name, e.g. "mpegts"), or None.
    ``supported``: the container's ``supported_codecs`` (which the raw muxers answer truly); ``bits``:
    the depth's, so that the advice names only encoders that store it (x264 10, x265 12 bits)."""
    what = out.suffix or muxer
    if muxer in RAW_MUXERS and codec not in supported:
        if muxer == "yuv4mpegpipe":
            return (f"a {what} output holds uncompressed frames (--codec wrapped_avframe), not {codec}: "
                    "use .mkv for FFV1")
        return (f"a {what} output holds uncompressed frames, not {codec}: use --codec rawvideo with .yuv, "
                "or .mkv for FFV1")
    if muxer in MPEG_MUXERS and codec not in MPEG_CODECS:
        said = f"a {what} output ({muxer}) cannot hold {codec} video (it would be stored as data, not as video)"
        if bits > 12:  # MPEG-2, x264 and x265 store 8, 10 and 12 bits at most
            return (f"{said}, and none of the codecs it holds (MPEG-2, H.264, HEVC) stores {bits}-bit depth: "
                    "use .mkv or .nut")
        lossy = "libx265" if bits > 10 else "libx264 / libx265"
        return f"{said}: use .mkv or .nut, or --codec {lossy} (lossy) for {what}"
    if muxer in MOV_MODES and (fmt := coded_as(codec)) in MP4_ONLY:
        return f"a {what} output ({muxer}) cannot hold {fmt} video (FFmpeg writes it in .mp4 only): use .mp4 or .mkv"
    return None


def raw_problem(muxer: str, codec: str, pix_fmt: str, out: Path) -> str | None:
    """Why uncompressed ``pix_fmt`` frames (``--codec rawvideo``) cannot go into an output of ``muxer``,
    or None: a trial frame written to memory and read back. Matroska takes no 16-bit gray (the first
    frame failed, "Invalid argument"); MOV and AVI store it under a tag read back as RGB555."""
    if codec != "rawvideo" or muxer in RAW_MUXERS:
        return None
    got, buf = None, io.BytesIO()
    try:  # the trial's complaints ("Invalid pixel format.") are kept from the log: the refusal says it
        with av.logging.Capture(local=True), av.open(buf, "w", format=muxer) as c:
            s = c.add_stream("rawvideo", rate=25)
            s.width, s.height, s.pix_fmt = 16, 16, pix_fmt
            for packet in [*s.encode(av.VideoFrame(16, 16, pix_fmt)), *s.encode()]:
                c.mux(packet)
        buf.seek(0)
        with av.logging.Capture(local=True), av.open(buf, "r", format=muxer) as c:
            got = c.streams.video[0].codec_context.pix_fmt
    except (av.error.FFmpegError, ValueError, IndexError):
        pass
    if got is not None and got.replace("yuvj", "yuv") == pix_fmt.replace("yuvj", "yuv"):  # yuvj: full range, tagged
        return None
    as_what = f" (it reads back as {got})" if got else ""
    return (f"a {out.suffix or muxer} output ({muxer}) cannot hold uncompressed {pix_fmt} frames{as_what}: "
            "use .nut for --codec rawvideo, or --codec ffv1 (lossless) in .mkv")


# FFmpeg's bound on any frame (libavutil's av_image_check_size, which every encoder and frame
# allocation calls): (8 w + 1024) (h + 128) under 2^31 - 1, about 268 million pixels
_FFMPEG_FRAME_BOUND = 2**31 - 1


def ffmpeg_size_problem(width: int, height: int) -> str | None:
    """Why FFmpeg cannot hold a ``width`` x ``height`` frame at all (whatever the codec), or None."""
    if (8 * width + 1024) * (height + 128) >= _FFMPEG_FRAME_BOUND:
        return (f"{width}x{height} is beyond FFmpeg's largest frame (about 268 million pixels; "
                f"(8 x width + 1024) x (height + 128) must stay under 2^31)")
    return None


def size_problem(codec: str, pix_fmt: str, width: int, height: int) -> str | None:
    """Why ``codec`` cannot code ``width`` x ``height`` frames of ``pix_fmt``, or None."""
    if (why := ffmpeg_size_problem(width, height)) is not None:
        return why
    if codec == "ffv1" and width == 1 and height > 1:  # FFmpeg's FFV1 encoder does not open at this size
        return f"FFV1 cannot code frames 1 pixel wide ({width}x{height}): use --codec rawvideo with .nut"
    if subsampled(pix_fmt) and (width % 2 or height % 2):
        return f"{codec} {pix_fmt} needs even sizes, got {width}x{height}; use the ffv1 codec"
    return None


def subsampled(pix_fmt: str) -> bool:
    """Whether ``pix_fmt`` stores chroma at less than the luma's resolution (4:2:0, 4:2:2, NV12, ...)."""
    return any(tag in pix_fmt for tag in ("420", "422", "411", "410", "440")) or pix_fmt.startswith(("nv", "p0", "p2"))


def in_slots(muxer: str) -> bool:
    """Whether an output of ``muxer`` is written in frame slots (time base 1 / rate, pts = slot)."""
    return muxer in SLOT_MUXERS


#: the time base of Matroska's timestamps, which a stream keeps through other containers
MATROSKA_TIME_BASE = Fraction(1, 1000)
#: encoders that take no time base finer than 1/65535 (MPEG-4 Part 2), and the finest any takes
SHORT_TIME_BASES, MAX_TIME_BASE_DEN = {"mpeg4": 65535}, 2**31 - 1


def grid_time_base(muxer: str, time_base: Fraction, rate: Fraction, codec: str = "") -> Fraction | None:
    """MP4 / MOV, which hold any time base: one that holds both ``time_base``'s times and the frame grid
    k / ``rate``, where ``time_base`` cannot hold the grid (Matroska's 1 ms at 30000/1001 fps: 1/30000).
    Frames within half a ``time_base`` unit (or a millisecond) of the grid go on it (``OutputPts``): kept as
    they were, 33 / 34 ms apart, read there as a variable rate (ffprobe's r_frame_rate of x264 views
    29.92 fps, the average 29.9); FFmpeg's NUT writes Matroska's milliseconds in 1/64000 (1/960000 then).
    None where ``time_base`` holds the grid, the muxer is another, or ``codec`` takes no time base so fine."""
    tb, r = Fraction(time_base), Fraction(rate)
    if muxer not in MOV_MUXERS or r <= 0 or tb.numerator != 1 or (1 / r / tb).denominator == 1:
        return None
    den = math.lcm(tb.denominator, r.numerator)
    return Fraction(1, den) if den <= SHORT_TIME_BASES.get(codec, MAX_TIME_BASE_DEN) else None


def set_time_base(stream: av.video.stream.VideoStream, muxer: str, rate: Fraction, time_base: Fraction) -> Fraction:
    """Set ``stream`` (not yet encoding) to code in ``time_base``, or in frame slots of 1 / ``rate`` where
    ``muxer`` reads the time base as the frame rate; there without B-frames (AVI stores no reordering:
    x264's B-frames read back with shuffled times); in MP4 / MOV in ``grid_time_base`` where that is
    finer. Returns the time base set."""
    grid = grid_time_base(muxer, time_base, rate, stream.codec_context.name)
    tb = Fraction(1) / Fraction(rate) if in_slots(muxer) else (grid or time_base)
    stream.time_base = stream.codec_context.time_base = tb
    if in_slots(muxer):
        stream.codec_context.max_b_frames = 0
    return tb


def keep_start(container: Any, stream: Any, first: Fraction, rate: Fraction) -> str | None:
    """Keep the first frame of ``stream`` (not yet encoding; the header not yet written) at its time
    ``first`` (seconds) where the muxer would move the whole stream. MP4 / MOV store a late start as
    an edit in the movie's time scale, 1/1000 s by default (1.5015 s became 1.501 s, every frame
    0.5 ms early): set to the start's own denominator there. MPEG-PS moves a stream that starts
    before its preload (0.5 s) by that much: no preload (the first decode time is the clock's start).
    By the encoder's reordering delay where the muxer stores no decode time before 0: in NUT FFmpeg's
    shift is turned off (only presentation times are stored); in MPEG-TS / PS and FLV, when ``first``
    comes within ``MAX_REORDER`` frames (of 1 / ``rate``) of 0, the encoder runs without B-frames (and
    MPEG-2 video in low delay, its one frame of delay without them). Returns what was changed in the
    encoder, for the log, or None."""
    muxer, cc = container.format.name, stream.codec_context
    if muxer in MOV_MUXERS and (Fraction(first) * MOVIE_TIMESCALE).denominator != 1:
        container.options["movie_timescale"] = str(Fraction(first).denominator)
    elif muxer in PTS_ONLY_MUXERS:
        container.options["avoid_negative_ts"] = "disabled"  # read when the header is written
    if muxer in PRELOAD_MUXERS:
        container.options["preload"] = "0"
    if muxer not in NON_NEGATIVE_MUXERS or first >= MAX_REORDER / rate:
        return None
    changed = []
    if cc.max_b_frames != 0:
        cc.max_b_frames = 0
        changed.append("without B-frames")
    if cc.name == "mpeg2video" and not cc.flags & av.codec.context.Flags.low_delay:
        cc.flags |= av.codec.context.Flags.low_delay
        changed.append("in low delay")
    if not changed:
        return None
    return (f"written {' and '.join(changed)}: {muxer} stores no decode time before 0, and the first frame is at "
            f"{float(first):.3f} s, within the encoder's reordering delay (which would move every frame later)")


def start_shift(muxer: str, dts: int | None, time_base: Fraction | None) -> Fraction | None:
    """Seconds by which FFmpeg moves every frame of a stream later when it muxes a packet of decode
    time ``dts`` (in ``time_base``) first into ``muxer``: the time before 0, where the muxer stores no
    negative decode time; else None."""
    if muxer not in NON_NEGATIVE_MUXERS or dts is None or dts >= 0 or not time_base:
        return None
    return -dts * Fraction(time_base)


def mp4_rate_note(muxer: str, frames: int, dts_span: Fraction, pts_span: Fraction, rate: Fraction) -> str | None:
    """What MP4 / MOV say of the average frame rate where it is not the frames': their track duration
    is the decode times' span (``dts_span``, seconds from the first packet's to the last's) and one
    more frame, which a B-frame encoder's decode times cover differently from the frames' times
    (``pts_span``) when the frames come at a variable rate. None when the two are within half a frame."""
    if muxer not in MOV_MUXERS or frames < 2 or abs(dts_span - pts_span) <= 1 / (2 * rate):
        return None
    said, true = frames / (dts_span + 1 / rate), frames / (pts_span + 1 / rate)
    return (f"{muxer} counts the track's duration in decode-time steps, which B-frames of variable-rate frames "
            f"cover in {float(dts_span):.3f} s, not {float(pts_span):.3f} s: its average frame rate reads "
            f"{float(said):.3f} fps, not {float(true):.3f} (every frame's time is kept; ffv1 or .mkv keep the average)")


class OutputPts:
    """The pts a writer gives each frame, in the time base it set up (``out_tb``): the input's ``pts``
    as it is, or its frame slot (1 / ``rate`` each) where the output codes slots; in a slotted muxer's
    file (AVI, YUV4MPEG) counted from the first frame's slot, since AVI stores no start time and reads
    a leading gap wrongly (also for an input already timed in 1 / rate)."""

    def __init__(self, muxer: str, out_tb: Fraction, time_base: Fraction, rate: Fraction) -> None:
        self.time_base, self.rate, self.out_tb = Fraction(time_base), Fraction(rate), Fraction(out_tb)
        self.from_first = in_slots(muxer)
        # MP4 / MOV in a time base finer than the input's: its times, those near the frame grid on it
        self.grid = not self.from_first and out_tb not in (time_base, 1 / self.rate)  # set_time_base's grid
        self.on_grid = self.grid  # until a frame comes off the grid
        self.in_slots = not self.grid and (self.from_first or out_tb != time_base)
        self.first: int | None = None
        self.last: int | None = None

    def __call__(self, pts: int) -> int:
        if self.grid:
            return self._on_grid(pts)
        if not self.in_slots:
            return pts
        slot = slot_of(pts, self.time_base, self.rate)
        if not self.from_first:
            return slot
        if self.first is None:
            self.first = slot
        return slot - self.first

    def _on_grid(self, pts: int) -> int:
        """``pts`` in ``out_tb``: on the frame grid while every frame lies within half an input time-base
        unit of it, or half a millisecond (the input's rounding of a constant rate, or Matroska's kept in
        a finer one: FFmpeg's NUT of a Matroska stream), else (from the first frame off it: a variable
        rate) its own time, as it was."""
        own = Fraction(pts) * self.time_base / self.out_tb
        grid = slot_of(pts, self.time_base, self.rate) / self.rate / self.out_tb
        if self.on_grid and (abs(grid - own) * self.out_tb > max(self.time_base, MATROSKA_TIME_BASE) / 2
                             or (self.last is not None and grid <= self.last)):
            self.on_grid = False
        self.last = int(grid if self.on_grid else own)
        return self.last


    def start_note(self, pts: int, suffix: str, codec: str) -> str | None:
        """What happens to a first frame at ``pts`` that is not kept at its time: in AVI / YUV4MPEG
        it goes to 0; where the encoder codes slots from 0 (MPEG-1 / 2, MPEG-4 Part 2), to the nearest
        slot, a move said when over 1 ms (a millisecond time base rounds every frame by up to 0.5 ms,
        which the slots put right). None when it is kept."""
        if not self.in_slots:
            return None
        start = Fraction(pts) * Fraction(self.time_base)
        if self.from_first:
            return None if start == 0 else (f"{suffix or 'the container'} stores no start time: the output starts "
                                            f"at 0, {float(start):.3f} s before the input's first frame (use .mkv, "
                                            ".mp4 or .nut to keep it)")
        moved = slot_of(pts, self.time_base, self.rate) / Fraction(self.rate) - start
        return None if abs(moved) <= Fraction(1, 1000) else (
            f"{codec} codes frame slots of {1 / Fraction(self.rate)} s from 0: the first frame moves {float(moved) * 1000:+.1f} ms, "
            f"to {float(start + moved):.4f} s, and the others to their slots (use a codec such as libx264 to keep "
            "the times)")


def slot_of(pts: int, time_base: Fraction, rate: Fraction) -> int:
    """The frame slot (1 / ``rate`` each) nearest the time ``pts`` x ``time_base``; halves round up."""
    return math.floor(Fraction(pts) * Fraction(time_base) * Fraction(rate) + Fraction(1, 2))


def encoder_refuses(codec: str, width: int, height: int, pix_fmt: str, full_range: bool, time_base: Fraction,
                    rate: Fraction, options: dict[str, str] | None = None) -> str | None:
    """FFmpeg's reason why encoder ``codec`` does not open with these settings (its log's error
    lines), or None. A trial on a context of its own: the writer's encoder opens with the first frame,
    after the model's work on it."""
    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, pix_fmt
    ctx.time_base, ctx.framerate, ctx.color_range = time_base, rate, 2 if full_range else 1
    ctx.options = dict(options or {})
    quiet = av.logging.get_level() is None  # FFmpeg's log off: nothing to capture the reason from
    repeats = av.logging.get_skip_repeated()  # on, a reason said before (the last file's) would be swallowed
    if quiet:
        av.logging.set_level(av.logging.ERROR)
    av.logging.set_skip_repeated(False)
    try:
        with av.logging.Capture(local=True) as logs:
            ctx.open()
    except (av.error.FFmpegError, ValueError) as exc:
        said = [m.strip() for level, _, m in logs  # not PyAV's "<an earlier line>\n (repeated N more times)"
                if level <= av.logging.ERROR and m.strip() and "(repeated " not in m]
        return "; ".join(dict.fromkeys(said)) or str(getattr(exc, "strerror", None) or exc)
    finally:
        av.logging.set_skip_repeated(repeats)
        if quiet:
            av.logging.set_level(None)
    return None


def output_time_base(muxer: str, codec: str, time_base: Fraction, rate: Fraction, width: int, height: int,
                     pix_fmt: str, full_range: bool = True, options: dict[str, str] | None = None) -> Fraction:
    """The time base to encode in: the input's (pts kept exactly), or frame slots of 1 / ``rate`` where
    the muxer reads the time base as the frame rate (AVI, YUV4MPEG) or the encoder takes no other
    (MPEG-1 / MPEG-2 video; MPEG-4 Part 2 up to 1/65535, so not a transport stream's 1/90000). Raises
    ValueError with FFmpeg's reason where the encoder opens with neither."""
    slots = Fraction(1) / Fraction(rate)
    if in_slots(muxer):
        return slots
    args = (codec, width, height, pix_fmt, full_range)
    why = encoder_refuses(*args, time_base, rate, options)
    if why is None:
        return time_base
    why = encoder_refuses(*args, slots, rate, options)  # the reason in slots: a rate it cannot code
    if why is None:
        return slots
    raise ValueError(why)


def format_error(fmt: str | None, out: Any, keyword: str = "format") -> OutputError:
    """No container format ``fmt`` (None: none for ``out``'s suffix) in FFmpeg: from Python in the words
    of the ``keyword`` that named it (``DepthWriter(format=)``, ``enhance_file(out_format=)``; a suffix,
    which either may meet, names no keyword), on the command line ``--format`` (``errors.worded``)."""
    if fmt is None:
        suffix = repr(Path(str(out)).suffix)
        return worded(OutputError, "no container format for the suffix {} (use .mkv, or {})",
                      (suffix, "name one: 'nut' / 'matroska'"), (suffix, "--format nut / matroska"), out)
    return worded(OutputError, "{}: no such container format in FFmpeg (use .mkv, or {})",
                  (f"{keyword}={fmt!r}", f"{keyword}='nut' / 'matroska'"), (f"--format {fmt}", "--format nut / matroska"),
                  out)


def check_format(fmt: str | None, out: Any, keyword: str = "format") -> None:
    """``format_error`` where ``fmt`` names no container format FFmpeg writes."""
    if fmt is not None:
        try:
            av.format.ContainerFormat(fmt, "w")
        except ValueError:
            raise format_error(fmt, out, keyword) from None
