"""Decoding colour and depth videos with PyAV, and pairing frames by presentation time.

Times are ``pts x time_base`` minus the stream's start time, in seconds, so that streams with
different time bases (Matroska's 1/1000, MP4's 1/30000, ...) and start offsets line up
(``sync="relative"``, the default); ``sync="absolute"`` keeps ``pts x time_base`` as it is, so a
stream that starts later really is later. Two frames pair when their times differ by at most half a
frame of the depth stream. A frame without pts is placed at ``index x frame_duration`` (1/25 s per
frame when the rate is unknown), as the writer places it; after a frame with a pts, a frame duration
per frame on from it (MPEG-PS: small H.264 frames share a PES packet's one pts; the rest have none).

Inputs may also be image sequences, raw video or stdin (``sources``), or halves of packed RGB-D
(``packed``: the two halves' readers share one decode); depth may be 8 to 16 bits
(``formats``), or float (32 or 16-bit), mapped to 16-bit codes by a ``floatdepth.FloatMap``. Frames are read
as displayed: a display matrix (a phone's rotation, a mirror, a JPEG's EXIF orientation) is applied
to colour and depth alike, unless ``InputOptions.autorotate`` is False
(``orientation``). A stream keeps one frame size and a depth stream one pixel format: a change mid-stream is an
``InputError`` (never a silent change of bit depth, nor a traceback further down). How a decoded frame
becomes the array a reader yields: ``frame_arrays``.

Damaged input is an error, never a silently shorter stream: FFmpeg's error messages while demuxing
and decoding (an FFV1 slice CRC mismatch, "File ended prematurely"), frames flagged corrupt, and
fewer frames than the container declares all raise ``CorruptInputError``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from fractions import Fraction
from typing import Iterator, Literal

import av
from av.video.reformatter import VideoReformatter

from ..errors import CorruptInputError, InputError
from .colormaps import ColormapReader, one_channel
from .floatdepth import FloatMap
from .fflogs import enable_error_logs
from .exrdepth import rgb_depth_hint
from .fields import FieldWatch
from .formats import DEPTH_FORMATS, ENLARGE, YUV8_FORMATS, alpha_hint, depth_formats_text, luma_is_limited
from .frame_arrays import FrameArrays
from .imagehead import check_image_headers, unsized_hint
from .imageseq import sequence_files
from .info import FALLBACK_RATE, Frame, VideoInfo, check_complete, declared_duration
from .firstframe import probe_first_frame
from .orientation import Orientation, frame_orientation, orientation_changed
from .packed import SharedDecode, Unpacker, join_decode, offer_decode
from .seek import Seek, seek_for
from .sources import InputOptions, SharedInput, StreamDecoder, check_input_path, open_input
from .streams import check_same_kind, choose_stream, warn_hdr_colour
from .timecode import input_timecode
from .timing import stream_rate

log = logging.getLogger("igde_stream.stream")

Role = Literal["color", "depth", "gt"]
Sync = Literal["relative", "absolute"]
SYNC_MODES: tuple[str, ...] = ("relative", "absolute")

_ROLE_NAMES = {"color": "colour", "depth": "depth", "gt": "ground truth"}


class VideoReader(FrameArrays):
    """Opens one video (a file, an image sequence, raw video or ``-`` for stdin; see ``sources``) and
    decodes one of its video streams (``source``: ``InputOptions``; default: ``streams.choose_stream``);
    for NumPy depth (.npy, .npz) ``VideoReader(...)`` gives an ``arrays.ArrayReader`` (``__new__``).

    ``role`` ``"color"``: frames come out as RGB uint8, resized to ``size`` (W, H) when given and
    different. ``"depth"`` / ``"gt"``: ``formats.DEPTH_FORMATS`` (uint8, or uint16 above 8 bits),
    enlarged to ``size`` when given (``enlarge``: ``"nearest"``, :func:`formats.enlarge_nearest`, every
    value a value of the stream, or ``"linear"``, :func:`formats.enlarge_linear`; ``info`` then gives
    that size and ``source_size`` the stream's own),
    anything else (or a format that changes mid-stream) is an ``InputError``. ``threads``: decoder threads (0: FFmpeg
    picks). ``sync``: ``"relative"`` (``Frame.time`` counts from the stream's own start time) or
    ``"absolute"`` (``Frame.time`` is ``pts x time_base``, start offsets kept). Frames come out as
    displayed (``orientation``: the stream's display matrix, a quarter turn or mirror, applied before
    any resizing; ``stored_size``: the stream's own W x H; ``rotated``: what was done, or None), unless
    ``source.autorotate`` is False; frames whose orientation differs from the first's are an ``InputError``.
    Float depth (``formats.FLOAT_FORMATS``) is mapped to uint16 codes by ``float_map`` (set it before
    reading; ``info`` then describes 16-bit depth), or read as float32 as stored while it is None;
    ``float_clipped`` counts the frames with values clipped to its range, ``float_covering`` the range that
    holds them (None: nothing clipped). Depth with a
    ``source.depth_colormap``: a colour stream is read back as 8-bit gray (``colormaps.ColormapReader``).
    """

    _input: SharedInput | None = None  # until opened
    _decoder: StreamDecoder | None = None
    _share: SharedDecode | None = None  # a packed half's decode, shared with the other half's reader
    _cmap: ColormapReader | None = None  # set by _select_stream for a stream drawn in a colour map
    sar = Fraction(1)  # a stored pixel's width : height as read (set by _select_stream; NumPy arrays: square)
    skip_before: float | None = None  # seconds (as Frame.time counts): earlier frames are passed over (seek)
    passed: tuple[int, float] | None = None  # (index, time) of the last frame passed over

    def __new__(cls, path: str | os.PathLike[str], role: Role, **kwargs: object) -> VideoReader:
        if cls is VideoReader:  # a NumPy input (arrays.is_array_input) gets an ArrayReader
            from .arrays import ArrayReader, is_array_input  # it subclasses this one

            if is_array_input(os.fspath(path), role, getattr(kwargs.get("source"), "depth_channel", None)):
                return super().__new__(ArrayReader)
        return super().__new__(cls)

    def __init__(
        self, path: str | os.PathLike[str], role: Role, *, size: tuple[int, int] | None = None, threads: int = 0,
        sync: Sync = "relative", source: InputOptions | None = None, enlarge: str = "nearest",
    ) -> None:
        self._start(path, role, sync, enlarge)
        enable_error_logs()
        options = (source or InputOptions()).for_input(self.path)
        self._depth_range = options.depth_range
        self._colormap = options.depth_colormap if role == "depth" and options.packed is None else "gray"
        self.autorotate, self.source = options.autorotate, options  # source: a later probe's (``firstframe``)
        self._packed = Unpacker(options.packed, role, self.path, options.depth_near) \
            if options.packed is not None and role != "gt" else None  # one half of a packed RGB-D stream
        try:
            self._open(options, threads)
            first = probe_first_frame(self.path, role, options, self.stream.index) if self.autorotate else None
            self.first_frame, self._probed = first, first is not None  # its orientation and timecode
            self.orientation = first.orientation if first is not None else Orientation()
            self.stored_size = (self.info.width, self.info.height)
            self.rotated = None if self.orientation.identity else self.orientation.describe(*self.stored_size)
            if self.rotated is not None:
                log.info("%s %s: display matrix applied, %s", _ROLE_NAMES[role], self.path, self.rotated)
                w, h = self.orientation.size(*self.stored_size)
                self.sar = 1 / self.sar if (w, h) != self.stored_size else self.sar  # a quarter turn: pixels turn too
                self.info = dataclasses.replace(self.info, width=w, height=h)
            # the half of a packed frame (an odd side is an error)
            self.info = self._packed.info(self.info) if self._packed is not None else self.info
            self._fit(size)
        except BaseException:
            self.close()
            raise
        self._range_warned = False  # a limited-range stream's out-of-range warning was given
        # one swscale context for the stream, not one per frame (about 3x faster when resizing)
        self._reformatter = VideoReformatter()

    def _start(self, path: str | os.PathLike[str], role: Role, sync: str, enlarge: str) -> None:
        """The arguments every reader checks and keeps (``arrays.ArrayReader`` too)."""
        if role not in _ROLE_NAMES:  # "colour" or a typo would read the stream as depth
            raise ValueError(f"role must be one of {', '.join(_ROLE_NAMES)}, got {role!r}")
        if sync not in SYNC_MODES:
            raise ValueError(f"sync must be one of {', '.join(SYNC_MODES)}, got {sync!r}")
        if enlarge not in ENLARGE:
            raise ValueError(f"enlarge must be one of {', '.join(ENLARGE)}, got {enlarge!r}")
        self._enlarge = ENLARGE[enlarge]
        self._holes_warned = enlarge != "linear"  # linear enlargement blends holes: warned at the first one
        self._read_started = self._closed = False  # frames() reads the stream once
        self.path = os.fspath(path)
        self.role = role
        self.sync = sync
        self.float_map: FloatMap | None = None
        self.float_clipped = 0
        self.float_covering: tuple[float, float] | None = None

    def _fit(self, size: tuple[int, int] | None) -> None:
        """Set ``size`` (the grid frames are resized or enlarged to; None when it is the stream's own)
        and ``source_size``; depth larger than that grid is an ``InputError``."""
        self.size = size
        self.source_size = (self.info.width, self.info.height)
        if self.size is not None and self.size == self.source_size:
            self.size = None
        if self.size is not None and self.role != "color":
            w, h = self.size
            if w < self.info.width or h < self.info.height:
                raise InputError(f"{_ROLE_NAMES[self.role]} is {self.info.width}x{self.info.height}, larger than "
                                 f"{w}x{h} in width or height: it can only be enlarged to that grid", self.path)
            self.info = dataclasses.replace(self.info, width=w, height=h)

    def _open(self, options: InputOptions, threads: int) -> None:
        """Open the input and pick the stream. The two halves of a packed input share the opening and
        the decoder of the first half's reader (``packed.join_decode`` / ``offer_decode``)."""
        index = options.stream_for(self.role)
        self._share = join_decode(self.path, self.role, index or 0) if self._packed is not None else None
        if self._share is None:
            self._input, self._kind, self._files = open_input(self.path, self.role, options)
        else:
            shared, self._kind, self._files = self._share.opened
            self._input = shared.add_user()
        # an image sequence's files, frame by frame (a frame's EXIF tag, where PyAV cannot list side data)
        self._images = sequence_files(self.path) if self._kind == "sequence" else []
        check_image_headers(self._images or ([self.path] if self._kind == "file" else []), _ROLE_NAMES[self.role],
                            self.role != "color" and self._packed is None, self.path)  # as _check_same_kind checks
        self.container = self._input.container
        self.stream, self.info = self._select_stream(threads, index)
        self._input.register(self.stream)
        if self._share is not None:
            self._decoder = self._share.decoder
        else:
            self._decoder = StreamDecoder(self._input, self.stream, self.path)
            if self._packed is not None:  # for the other half's reader to join
                self._share = offer_decode(self.path, self.role, index or 0, (self._input, self._kind, self._files),
                                           self._decoder)

    def _select_stream(self, threads: int, index: int | None) -> tuple[av.VideoStream, VideoInfo]:
        s = choose_stream(self.container, self.role, index, self.path)
        cc = s.codec_context
        if cc is None:  # a codec id FFmpeg has no decoder for (a damaged header can read as one)
            raise InputError("video stream in a codec FFmpeg cannot decode", self.path)
        if cc.width <= 0 or cc.height <= 0:
            raise InputError("video stream without a frame size" + unsized_hint(
                cc.name, self._images[0] if self._images else self.path), self.path)
        pix_fmt = cc.pix_fmt
        if self.role == "color":
            warn_hdr_colour(cc, self.path)
        self._fields = FieldWatch(cc if self.role == "color" else None, self.path)  # says interlaced colour once
        if self._colormap != "gray" and not one_channel(pix_fmt):
            self._cmap = ColormapReader(self._colormap, self.path, pix_fmt)
        elif self._colormap != "gray":
            log.info("depth %s is gray (%s): read as gray depth (--depth-colormap %s is for colour pictures)",
                     self.path, pix_fmt, self._colormap)
        if self.role != "color" and self._packed is None and pix_fmt is not None and self._cmap is None:
            self._check_depth_format(pix_fmt)
        # FFV1 decodes with slice threads so that its slice CRC errors are logged on the reader's
        # own thread (where they are captured); other codecs use frame threading as well.
        s.thread_type = "SLICE" if cc.name == "ffv1" else "AUTO"
        s.thread_count = threads
        sar = s.sample_aspect_ratio or cc.sample_aspect_ratio
        self.sar = Fraction(sar) if sar and sar > 0 else Fraction(1)  # width : height of a stored pixel
        if self.sar != 1 and self.role != "gt":
            log.info("%s: its pixels are not square (sample aspect ratio %s:%s; a player shows %dx%d as %dx%d); "
                     "frames are read as stored, %dx%d (the outputs at that grid say its aspect: docs/formats.md)",
                     self.path, sar.numerator, sar.denominator, cc.width, cc.height,
                     round(cc.width * sar), cc.height, cc.width, cc.height)
        tb, rate = s.time_base or Fraction(1, 1000), stream_rate(s, self.container)  # raw .h264: its bitstream's
        duration, duration_is_end, last_start = declared_duration(s, self.container, tb)
        info = VideoInfo(
            path=self.path, codec=cc.name, width=cc.width, height=cc.height,
            pix_fmt="gray" if self._cmap is not None else pix_fmt,  # read back as 8-bit gray depth
            time_base=Fraction(tb), rate=Fraction(rate) if rate else None, start_pts=s.start_time,
            frames=self._files or s.frames or None, duration=duration, duration_is_end=duration_is_end,
            duration_is_last_start=last_start,
            kind=self._kind, limited=self.role != "color" and self._packed is None and self._cmap is None
            and luma_is_limited(pix_fmt, cc.color_range, cc.name, self._depth_range),
            timecode=input_timecode(self.container, s),
            declared_rate=Fraction(s.guessed_rate) if s.guessed_rate else None,
        )
        return s, info

    def _check_depth_format(self, pix_fmt: str) -> None:
        if pix_fmt not in DEPTH_FORMATS:  # an OpenEXR's R, G, B and A: how its depth channel goes in, not alpha's
            first = self._images[0] if self._images else self.path
            hint = (rgb_depth_hint(first.rsplit(".", 1)[-1].lower(), first, self.role == "depth")
                    or alpha_hint(pix_fmt, self.path, self.container))
            raise InputError(f"{_ROLE_NAMES[self.role]} in pixel format {pix_fmt}, which is not supported "
                             f"(use {depth_formats_text()}){hint}", self.path)

    def colormap_summary(self) -> dict | None:
        """How far a colour-mapped depth stream's pixels lay from its map (``ColormapReader.summary``);
        None for any other stream."""
        return self._cmap.summary() if self._cmap is not None else None

    @property
    def packed_half(self) -> bool:
        """True for the colour or depth half of a packed RGB-D input (``packed``)."""
        return self._packed is not None

    def close(self) -> None:
        """Idempotent: a second close must not count off another user of a shared opening."""
        decoder, share, opened = self._decoder, self._share, self._input
        self._decoder = self._share = self._input = None
        self._closed = True
        try:
            # a shared decoder is drained by its last reader (a joined reader leaves even if it
            # failed before taking the decoder, so the other half stops keeping frames for it)
            last = share.leave(self.role) if share is not None else True
            if decoder is not None and last:
                decoder.drain()
        finally:
            if opened is not None:
                opened.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def frames(self, stop: threading.Event | None = None) -> Iterator[Frame]:
        """Decode every frame in order (from ``skip_before`` seconds: ``seek``); stops early (without
        checks) when ``stop`` is set. A reader reads its stream once: a second ``frames()`` (or one
        after ``close()``) is a ``RuntimeError``."""
        self._read_once()
        if (yield from self._decoded(stop, seek_for(self))):  # a seek that does not hold: from the start
            yield from self._decoded(stop, None)

    def _decoded(self, stop: threading.Event | None, seek: Seek | None) -> Iterator[Frame]:
        """The frames (after ``seek``, where one was taken); returns True where the seek did not hold and
        the stream was rewound to its start, before any frame was yielded."""
        start = self.info.start_pts if self.sync == "relative" else 0
        depth_fmt: str | None = None  # the depth stream's pixel format, fixed by its first frame
        first: tuple[int, int] | None = None  # the stream's frame size, fixed by its first frame
        count, last_time, last_pts_time, last_duration = 0, 0.0, 0.0, 0.0
        prev_pts, known = None, None  # the last pts; (pts, index) of the last frame that had one
        cut, given = self.skip_before, 0  # frames before the cut (None: none) are passed over; frames yielded
        while True:
            if stop is not None and stop.is_set():
                return False
            decoded = self._decoder.decode(count, last_time) if self._share is None else \
                self._share.pull(self.role, count, last_time)
            if decoded is None:
                break
            for f in decoded:
                if f.is_corrupt:
                    raise CorruptInputError(f"frame {count} is corrupt", self.path)
                self._fields.see(f)  # an untagged stream's first interlaced frame
                if start is None:
                    start = f.pts if f.pts is not None else 0
                if f.pts is not None and prev_pts is not None and f.pts <= prev_pts:
                    raise CorruptInputError(f"timestamps do not increase: frame {count} has pts {f.pts}, "
                                            f"frame {count - 1} had {prev_pts}", self.path)
                prev_pts = pts = f.pts
                if seek is not None and not seek.checked and not seek.holds(pts):
                    return True
                if seek is not None and pts is not None:  # after a seek: a frame's place on the grid (rising)
                    count = max(count, seek.number(pts))
                if pts is not None:
                    known = (pts, count)
                elif known is not None:  # one frame duration on per frame since the last pts (MPEG-PS)
                    pts = known[0] + round((count - known[1]) / (self.info.effective_rate * self.info.time_base))
                if pts is None:
                    t = pts_time = count * self.info.frame_duration
                else:
                    t = float((pts - start) * self.info.time_base)
                    pts_time = float(pts * self.info.time_base)
                index, count, last_time, last_pts_time = count, count + 1, t, pts_time
                last_duration = float(f.duration * self.info.time_base) if f.duration else 0.0
                if cut is not None and t < cut:  # (a stream's first frames may lie before its start time)
                    self.passed = (index, t)
                    continue
                file = self._images[index] if index < len(self._images) else None
                if self.autorotate and (o := frame_orientation(f, self.path, file)) != self.orientation:
                    raise orientation_changed(self.path, index, self.orientation, o, self._probed)
                depth_fmt = self._check_same_kind(f, index, file, pts_time, depth_fmt, first)
                first = first or (f.width, f.height)
                data = self._convert(f, index, given == 0)
                yield Frame(index=index, pts=pts, time=t, pts_time=pts_time, data=data,
                            values=self.__dict__.pop("kept_values", None))
                given += 1
        d = self._decoder  # after a seek, frames before it were not seen: a count the container declares is not checked
        info = self.info if seek is None else dataclasses.replace(self.info, frames=None)
        check_complete(info, self.path, count, last_time, last_pts_time, d.dropped, last_duration, d.dropped_why)
        return False

    def _check_same_kind(self, f: av.VideoFrame, count: int, file: str | None, pts_time: float,
                         depth_fmt: str | None, first: tuple[int, int] | None) -> str | None:
        """``streams.check_same_kind`` for this reader (a colour map takes any format swscale reads)."""
        depth = self.role != "color" and self._packed is None
        check = (self._check_depth_format if self._cmap is None else lambda fmt: None) if depth else None
        return check_same_kind((f.width, f.height), f.format.name, count, file, pts_time, depth_fmt, first,
                               _ROLE_NAMES[self.role], check, self.path)

    def _read_once(self) -> None:
        if self._closed or self._read_started:
            raise RuntimeError(f"{self.path}: " + ("the reader is closed" if self._closed else "frames() reads the "
                               "stream once") + "; open a new VideoReader to read it again")
        self._read_started = True


__all__ = ["DEPTH_FORMATS", "FALLBACK_RATE", "Frame", "VideoInfo", "VideoReader", "YUV8_FORMATS", "check_input_path",
           "enable_error_logs"]
