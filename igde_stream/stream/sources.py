"""Opening inputs that are not plain video files: image sequences, raw video, stdin; picking the
stream, and decoding it packet by packet (``StreamDecoder``: FFmpeg's errors raised as
``CorruptInputError``).

Every input goes through FFmpeg's demuxers and decoders in PyAV; nothing here converts pixels.

- **Image sequence**: a folder of images (one suffix: ``.png``, ``.tif`` ...), read in name order
  through the image2 demuxer's glob mode, or a printf pattern such as ``depth/%06d.png``, numbered
  without gaps from its lowest number. Frame k is shown at k / fps (``--fps``, default 25).
- **Raw video** (``.yuv`` / ``.raw``): headerless frames, described by ``--size WxH``, ``--pix-fmt``
  and ``--fps`` (default 25), read by the rawvideo demuxer; the file must hold whole frames.
- **stdin** (``-``): a streamable container (NUT, Matroska, ...) read from standard input. Colour
  and depth may both come from it (two video streams): stdin is opened once and its packets are
  handed to each stream's reader (``SharedInput``); or as the two halves of one packed RGB-D stream,
  decoded once for both (``packed.SharedDecode``); read through ``stdin_reader.StdinReader``.
- **Network stream** (``scheme://...``, ``urls``): read like stdin, but opened by name by FFmpeg's
  protocol (TCP, UDP, SRT, RTSP, RTMP, HTTP ...), with a timeout (``InputOptions.net_timeout``).
- **Named pipe** (``mkfifo``, ``<(cmd)``; ``fifos``): read like stdin; a ``.yuv`` / ``.raw`` one raw.

The video stream: ``--color-stream N`` / ``--depth-stream M`` count the input's video streams from
0 (like FFmpeg's ``v:N``); by default colour takes the first stream in a 3-channel format and depth
the first in a gray or >8-bit format, else the first video stream.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
import threading
import time
from collections import deque
from dataclasses import replace
from fractions import Fraction
from typing import Any, Iterator

import av
import av.logging

from ..bag_read import bag_refusal
from ..errors import CorruptInputError, InputError, worded
from .cuts import bytes_after_last_frame, short_raw_frame
from .exrdepth import colour_layer
from .fifos import is_fifo, open_pipe
from .formats import DEPTH_FORMATS, frame_bytes
from .imageseq import IMAGE_SUFFIXES, padding_hint, sequence_frames
from .info import never_shown
from .input_options import InputOptions
from .streams import image_list
from .parts import ffmpeg_name
from .stdin_reader import StdinReader
from .timing import SlotClock
from .urls import is_input_url, live_packets, open_url, stall_problem

STDIN = "-"
RAW_SUFFIXES = (".yuv", ".raw")
#: Raw pixel formats read as depth (gray, float gray, or YUV with depth in luma).
RAW_DEPTH_FORMATS = tuple(f for f in DEPTH_FORMATS if not f.startswith(("yuvj", "nv", "gbrp", "rgb", "grayf16")))
CLOSE_WAIT_S = 3.0  # how long closing waits for a reader thread inside a read (after an interrupt)
DEFAULT_FPS = Fraction(25)  # same as reader.FALLBACK_RATE
RAW_STDIN_HINT = "; raw depth frames on stdin need {} and {}"
RAW_STDIN_WORDS = (("InputOptions(size=(W, H)", "pix_fmt=NAME)"), ("--size WxH", "--pix-fmt NAME"))
_ROLE_NAMES = {"color": "colour", "depth": "depth", "gt": "ground truth"}


def kind_of(path: str) -> str:
    """``"stdin"``, ``"url"`` (a network stream), ``"sequence"`` (a folder or a ``%`` pattern), ``"raw"``
    (``.yuv`` / ``.raw``, a file or a pipe), ``"pipe"`` (a named pipe, ``fifos``) or ``"file"``."""
    if path == STDIN:
        return "stdin"
    if is_input_url(path):
        return "url"
    if is_fifo(path) and os.path.splitext(path)[1].lower() not in RAW_SUFFIXES:
        return "pipe"
    if os.path.isdir(path) or ("%" in os.path.basename(path) and os.path.splitext(path)[1].lower() in IMAGE_SUFFIXES):
        return "sequence"
    if os.path.splitext(path)[1].lower() in RAW_SUFFIXES:
        return "raw"
    return "file"


def check_input_path(path: str | os.PathLike[str]) -> None:
    """Raise ``InputError`` for a path that is missing, a folder, empty or unreadable (a pipe is none)."""
    if not os.path.exists(path):
        raise InputError("no such file" + padding_hint(path), path)
    if os.path.isdir(path):
        raise InputError("is a folder, not a video file", path)
    if not os.access(path, os.R_OK):
        raise InputError("permission denied", path)
    if stat.S_ISREG(os.stat(path).st_mode) and os.path.getsize(path) == 0:  # a pipe's size is 0 too
        raise InputError("empty file", path)


def _raw_options(path: str, role: str, opts: InputOptions) -> tuple[dict[str, str], int | None]:
    supported = ", ".join(RAW_DEPTH_FORMATS)
    if role == "color":
        raise InputError("raw colour video is not supported (raw input is for depth); wrap it first: "
                         "ffmpeg -f rawvideo -video_size WxH -pixel_format rgb24 -framerate R -i color.yuv "
                         "-c:v ffv1 color.mkv", path)
    if opts.size is None or opts.pix_fmt is None:
        raise worded(InputError, "raw video needs {} (and {}, default 25); pixel formats: " + supported,
                     ("InputOptions(size=(W, H), pix_fmt=NAME)", "fps=R"), ("--size WxH and --pix-fmt NAME", "--fps R"),
                     path)
    if opts.pix_fmt not in RAW_DEPTH_FORMATS:
        raise worded(InputError, "{}: not a supported raw depth format; use one of: " + supported,
                     (f"pix_fmt={opts.pix_fmt!r}",), (f"--pix-fmt {opts.pix_fmt}",), path)
    w, h = opts.size
    options = {"video_size": f"{w}x{h}", "pixel_format": opts.pix_fmt, "framerate": str(opts.fps or DEFAULT_FPS)}
    if path == STDIN or is_fifo(path):  # its length is unknown: a short last frame is the decoder's error
        return options, None
    check_input_path(path)
    per_frame = frame_bytes(opts.pix_fmt, w, h)
    size = os.path.getsize(path)
    if size % per_frame:
        raise worded(CorruptInputError, f"{size} bytes is not a whole number of {w}x{h} {opts.pix_fmt} frames "
                     f"({per_frame} bytes each): truncated, or another {{}}", ("size / pix_fmt",), ("--size / --pix-fmt",),
                     path)
    return options, size // per_frame


def raw_stdin_choice(opts: InputOptions | None, *paths: Any) -> InputOptions | None:
    """``opts`` with ``raw_stdin`` decided for a run whose depth and ground truth are ``paths``: the raw
    size and pixel format describe stdin unless one of the others is a raw file (which they describe)."""
    if opts is None or opts.raw_stdin is not None or not any(p is not None and kind_of(str(p)) == "raw" for p in paths):
        return opts
    return replace(opts, raw_stdin=False)


def _after(count: int, t: float) -> str:
    """Where a damaged frame lies, for messages: after the last good one (its time ``t`` is known;
    frame ``count``'s own is not)."""
    return f" (after frame {count - 1} at {t:.3f} s)" if count else " (the first)"


class SharedInput:
    """One opened container whose video streams several readers decode, each on its own thread.

    ``packets(stream)`` yields that stream's packets in order (the demuxer's end-of-stream packet
    included); packets of the other streams wait in their queues. Closed when the last user closes.
    ``release``: called with it then, for an input read once (stdin, the default; a network stream, a pipe)."""
    pipe: Any = None  # a named pipe's fifos.PipeReader, closed with the container

    def __init__(self, container: av.container.InputContainer, name: str, release: Any = None) -> None:
        self.container, self.name = container, name
        self.streamed = name == STDIN or release is not None  # read once: packets handed to each reader
        self._release = release or _release_stdin
        self._lock = threading.Lock()
        self._queues: dict[int, deque[Any]] = {}
        self._demux: Iterator[Any] | None = None
        self._ended = False
        self.users = 1
        self.kind = "file"  # as open_input names it (stdin: "stdin", or "raw" for raw frames)
        self.total_bytes: Any = None  # () -> the input's length in bytes (stdin: as read), where known

    def register(self, stream: av.VideoStream) -> None:
        """Keep ``stream``'s packets from now on (every reader registers before any reading starts)."""
        with self._lock:
            self._queues.setdefault(stream.index, deque())

    def packets(self, stream: av.VideoStream) -> Iterator[Any]:
        if not self.streamed:  # one reader per opened file: FFmpeg skips the other streams' packets
            yield from self.container.demux(stream)
            return
        with self._lock:
            q = self._queues.setdefault(stream.index, deque())
            if self._demux is None:
                self._demux = live_packets(self, iter(self.container.demux()))
        while True:
            with self._lock:
                while not q and not self._ended:
                    packet = next(self._demux, None)
                    if packet is None:
                        self._ended = True
                    elif packet.stream.index in self._queues:
                        self._queues[packet.stream.index].append(packet)
                if not q:
                    return
                packet = q.popleft()
            yield packet

    def add_user(self) -> SharedInput:
        """One more reader of this opening (each reader's ``close`` counts one off)."""
        with self._lock:
            self.users += 1
        return self

    def close(self) -> None:
        # a reader thread given up on after an interrupt may hold the lock inside a read from a pipe
        # that sends nothing: then the container stays open (it is in use) and ends with the process
        if not self._lock.acquire(timeout=CLOSE_WAIT_S):
            self._release(self)  # a later stdin input opens afresh instead of joining this one
            return
        try:
            self.users -= 1
            last = self.users == 0
        finally:
            self._lock.release()
        if last:
            self.container.close()
            if self.pipe is not None:
                self.pipe.close()
            self._release(self)


class StreamDecoder:
    """Decodes one video stream of an opened input packet by packet (``decode``). Damage is an error,
    never a silently shorter stream: FFmpeg's errors, raised or logged on the decoding thread while
    demuxing and decoding (an FFV1 slice CRC mismatch, "File ended prematurely"), are a
    ``CorruptInputError`` naming the frame."""

    def __init__(self, shared: SharedInput, stream: av.VideoStream, path: str) -> None:
        self.shared, self.stream, self.path = shared, stream, path
        self.cut = 0  # samples never shown: cut by an MP4 edit list (a -c copy trim) ...
        self.empty = 0  # ... and an AVI's empty slots
        self.mid_stream = False  # decoding started and did not reach the end (the decoder holds frames)
        self._packets: Iterator[Any] | None = None
        self._clock = SlotClock(stream, shared.container)  # AVI: frames timed by their slots
        self._data_end = 0  # where the last packet's data ended in the input (its byte position)

    def decode(self, count: int, t: float) -> list[av.VideoFrame] | None:
        """The frames of the stream's next packet (often none), None at its end; ``count`` frames came
        before, the last at ``t`` s (for the messages)."""
        if self._packets is None:
            self._packets = self.shared.packets(self.stream)
        self.mid_stream = True
        start = time.monotonic()
        packet = None
        with av.logging.Capture(local=True) as logs:
            try:
                packet = next(self._packets, None)
                self.empty += self._clock.feed(packet)  # an AVI's empty slots: never shown
                decoded = self.stream.decode(packet) if packet is not None else []
            except av.error.FFmpegError as exc:
                if (stalled := stall_problem(self.shared, exc, time.monotonic() - start)) is not None:  # gone silent
                    raise InputError(f"{stalled}{_after(count, t)}", self.path) from None
                message = str(getattr(exc, "strerror", None) or exc).strip()
                if (short := short_raw_frame(self.shared, self.stream, packet)) is not None:
                    raise worded(CorruptInputError, f"the stream ends inside frame {count}{_after(count, t)}: "
                                 f"{short}: cut, or another {{}}", ("size / pix_fmt",), ("--size / --pix-fmt",),
                                 self.path) from None
                raise CorruptInputError(f"cannot decode frame {count}{_after(count, t)}: {message}",
                                        self.path) from None
        errors = [msg.strip() for level, _, msg in logs if level <= av.logging.ERROR]
        if errors:
            raise CorruptInputError(f"damaged data near frame {count}{_after(count, t)}: {' '.join(errors)[:200]}",
                                    self.path)
        if packet is None:
            self.mid_stream = False  # demux ends with an empty packet, which drained the decoder
            if (extra := bytes_after_last_frame(self.shared, self._data_end)) is not None:
                raise CorruptInputError(f"the stream ends inside frame {count}{_after(count, t)}: {extra} bytes "
                                        "after the last whole frame (cut in the middle of a frame)", self.path)
            return None
        if packet.size and packet.pos is not None and packet.pos >= 0:
            self._data_end = packet.pos + packet.size
        self.cut += bool(getattr(packet, "is_discard", False) and packet.size)
        return self._clock.apply(decoded)

    @property
    def dropped(self) -> int:
        """Samples the container declares that are never shown (``cut`` and ``empty``)."""
        return self.cut + self.empty

    @property
    def dropped_why(self) -> str:
        return never_shown(self.cut, self.empty)

    def drain(self) -> None:
        """Drain a decoder left mid-stream before it is freed: freeing FFmpeg's frame-threaded TIFF
        decoder with frames in flight can hang the process while PyAV logging is on."""
        if self.mid_stream:
            self.mid_stream = False
            with av.logging.Capture(local=True):
                try:
                    for _ in self.stream.decode(None):
                        pass
                except (av.error.FFmpegError, ValueError, EOFError):
                    pass


_LAYER_SAID: set[str] = set()  # colour inputs whose OpenEXR layer was logged (the probe opens them again)
_stdin_lock = threading.Lock()
_stdin: SharedInput | None = None


def _release_stdin(shared: SharedInput) -> None:
    global _stdin
    with _stdin_lock:
        if _stdin is shared:
            _stdin = None


def _open(target: Any, name: str, fmt: str | None, options: dict[str, str],
          hint: str = "", decoder: dict[str, str] | None = None) -> av.container.InputContainer:
    """``av.open`` of ``target``; ``decoder``: options of its (one) stream's decoder, for the probe and the
    decoding alike (an OpenEXR ``layer``)."""
    if isinstance(target, (str, os.PathLike)) and name != STDIN and not is_fifo(name) and (said := bag_refusal(target)):
        raise InputError(said, name)  # a ROS bag, which FFmpeg may even probe as an image (an MCAP as pal8)
    with av.logging.Capture(local=True) as logs:
        try:
            target = ffmpeg_name(target) if isinstance(target, (str, os.PathLike)) else target
            if decoder:
                container = av.open(target, format=fmt, options=options, metadata_errors="ignore",
                                    stream_options=[decoder])
                container.streams.video[0].codec_context.options = dict(decoder)
                return container
            return av.open(target, format=fmt, options=options, metadata_errors="ignore")
        except av.error.InvalidDataError:
            detail = "; ".join(m.strip() for lvl, _, m in logs if lvl <= av.logging.ERROR)[:120]
            if name != STDIN and not is_fifo(name) and (listed := image_list(name)):  # TUM's rgb.txt ...
                raise InputError(listed, name) from None
            what = "no video container on stdin (or a damaged one)" if name == STDIN else "no video container " \
                "in the pipe (or a damaged one)" if is_fifo(name) else "not a video file, or a damaged one"
            said = f"{what} (FFmpeg: invalid data{': ' + detail if detail else ''})"
            if hint:
                api, cli = RAW_STDIN_WORDS  # FFmpeg's detail is no format string: the hint alone is filled
                raise InputError(said + hint.format(*api), name, cli_problem=said + hint.format(*cli)) from None
            raise InputError(said, name) from None
        except (av.error.FFmpegError, OSError) as exc:
            raise InputError(f"cannot open: {str(getattr(exc, 'strerror', None) or exc).strip()}", name) from None


def open_input(path: str, role: str, opts: InputOptions | None) -> tuple[SharedInput, str, int | None]:
    """Open ``path`` for ``role``: (the opened input, its kind, the frame count its files fix or None)."""
    global _stdin
    opts = opts or InputOptions()
    kind = kind_of(path)
    if kind == "stdin":
        with _stdin_lock:
            if _stdin is not None:
                _stdin.users += 1
                return _stdin, _stdin.kind, None
            if getattr(sys.stdin, "isatty", lambda: False)():  # nothing piped: a read would wait on the keyboard
                raise InputError("stdin is a terminal: pipe a stream into - (ffmpeg ... -f nut - | igde-stream "
                                 "COLOR - ...) or give a file", STDIN)
            fmt, options, hint = None, {}, "" if role == "color" else RAW_STDIN_HINT
            if opts.stdin_is_raw(role):  # headerless frames, as `ffmpeg ... -f rawvideo -` sends them
                (options, _), fmt, kind = _raw_options(STDIN, role, opts), "rawvideo", "raw"
            reader = StdinReader(sys.stdin.buffer)
            _stdin = SharedInput(_open(reader, STDIN, fmt, options, hint), STDIN)
            _stdin.kind, _stdin.total_bytes = kind, reader.total
            return _stdin, kind, None
    if kind == "url":
        return open_url(path, role, opts.net_timeout), kind, None
    if kind == "pipe" or (kind == "raw" and is_fifo(path)):
        if os.path.splitext(path)[1].lower() in (".npy", ".npz"):  # arrays.ARRAY_SUFFIXES
            raise InputError("a NumPy array is read from a file (memory-mapped; an .npz through its zip index), "
                             "not from a named pipe: save it to a file and give that", path)
        fmt, options = ("rawvideo", _raw_options(path, role, opts)[0]) if kind == "raw" else (None, {})
        shared, new = open_pipe(path, role, lambda reader: _open(reader, path, fmt, options))
        shared.kind = kind if new else shared.kind
        return shared, shared.kind, None
    frames: int | None = None
    layer = colour_layer(path) if role == "color" and kind in ("sequence", "file") else None
    if layer is not None and path not in _LAYER_SAID:  # a Blender multilayer EXR's ViewLayer.Combined.R, G, B
        _LAYER_SAID.add(path)
        logging.getLogger("igde_stream.stream").info("%s: colour read from the OpenEXR layer %s", path, layer)
    decoder = {"layer": layer} if layer is not None else None
    if kind == "sequence":
        target, options, frames = sequence_frames(path)
        options["framerate"] = str(opts.fps or DEFAULT_FPS)
        container = _open(target, path, "image2", options, decoder=decoder)
    elif kind == "raw":
        options, frames = _raw_options(path, role, opts)
        container = _open(path, path, "rawvideo", options)
    else:
        check_input_path(path)
        container = _open(path, path, None, {}, decoder=decoder)
    shared = SharedInput(container, path)
    if kind == "file":
        shared.total_bytes = lambda: os.path.getsize(path)
    return shared, kind, frames


__all__ = [
    "InputOptions", "SharedInput", "StreamDecoder", "STDIN", "IMAGE_SUFFIXES", "RAW_SUFFIXES", "RAW_DEPTH_FORMATS",
    "kind_of", "open_input", "check_input_path", "raw_stdin_choice", "sequence_frames",
]
