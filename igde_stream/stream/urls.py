"""Network streams: an input given as ``scheme://...`` (RTSP camera, SRT / UDP / TCP / RTMP / HTTP
stream) and the depth output sent to one (``-o tcp://host:port``, ``srt://``, ``udp://``, ``rtmp://``),
through FFmpeg's own protocols in PyAV. Nothing here speaks a protocol itself.

- **Which arguments are URLs** (``scheme_of``): ``scheme://...`` with a scheme of two or more
  characters. An input that exists as a local name stays a local file (names with colons:
  ``parts.ffmpeg_name``), and so do ``file:`` names. A scheme that is not one of this FFmpeg
  build's input protocols (``protocols``, read from PyAV's libavformat itself, not from another
  FFmpeg loaded beside it such as OpenCV's; ``rtsp`` / ``rtsps`` are its RTSP demuxer) is refused
  in one line, as is an output scheme other than ``OUTPUT_SCHEMES``.
- **Inputs** (``open_url``) are read like stdin: opened by name, never checked for existence, never
  seeked, read once (the orientation probe and a float range from the first frame, which read
  twice, are skipped or refused), frame count and duration unknown. Colour and depth from the same
  URL share one connection, demuxed once (``sources.SharedInput``); the ground truth cannot join it.
  ``timeout`` seconds (``DEFAULT_TIMEOUT_S``; ``--net-timeout``) bound the connection and every
  wait for data: FFmpeg's ``timeout`` / ``rw_timeout`` options (microseconds; not ``timeout`` for
  RTMP, where it means a listen timeout) and PyAV's interrupt timeout behind them. RTSP is read over
  TCP (``rtsp_transport=tcp``): a packet lost over UDP would be damaged data, which ends a run.
  UDP / RTP mark no end, and an RTMP server that closes the connection ends its stream so
  (``netends``).
- **The output** (``StreamURL``, ``open_output``): written straight to the URL, in the container
  ``--format`` names (NUT by default; FLV, the only one RTMP carries, for ``rtmp://``). No hidden
  partial file and no rename: a run that fails midway leaves the receiver a cut stream, as with
  ``-o -``. ``check_outputs`` refuses, before any work, a muxer that cannot hold the codec (FFV1 in
  MPEG-TS or FLV), an unknown scheme, and a URL given for an output that must be a file (reports,
  plot, preview, views, RGB-D). TCP and SRT outputs get the write timeout in their URL query
  (``?timeout=``, microseconds; one already there wins); RTMP's writes cannot be given one.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError, OutputError, worded
from .fifos import is_fifo, join_opened
from .netends import CLOSING_SCHEMES, DATAGRAM_SCHEMES, RTP_SCHEMES, live_packets, stall_problem

DEFAULT_TIMEOUT_S = 10.0
#: output schemes and the muxer each uses when --format names none
OUTPUT_SCHEMES = {"tcp": "nut", "udp": "nut", "srt": "nut", "rtmp": "flv", "rtmps": "flv"}
#: muxers that write a stream without seeking back: --format of a network output
STREAM_MUXERS = ("nut", "matroska", "mpegts", "flv")
#: FFmpeg opens these URLs with a demuxer, not a protocol
DEMUXER_SCHEMES = {"rtsp": "rtsp", "rtsps": "rtsp"}
#: protocols (and the RTSP demuxer) whose ``timeout`` option is in microseconds
MICROSECOND_TIMEOUT = ("tcp", "udp", "udplite", "http", "https", "rtsp", "rtsps", "srt")
#: the ones worth naming in a message, where this build has them
NETWORK = ("tcp", "udp", "srt", "rtsp", "rtmp", "rtmps", "http", "https", "rtp", "unix")
#: a build whose protocols cannot be listed (no libavformat found to ask) is taken to have these
FALLBACK_PROTOCOLS = frozenset(("tcp", "udp", "http", "https", "rtmp", "rtmps", "rtp", "unix", "tls", "file", "pipe"))
#: outputs that are files: enhance_file's names and the command's options
FILE_OPTIONS = {"report_path": "--report", "plot_path": "--plot", "preview_path": "--preview",
                "views_path": "--views-out", "rgbd_path": "--rgbd-out"}
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")
log = logging.getLogger("igde_stream.stream")


def scheme_of(path: Any) -> str | None:
    """The scheme (lower case) of a ``scheme://...`` string, None for anything else (a ``Path``,
    whose ``//`` is already gone, ``-``, a file name, a ``file:`` URL)."""
    if not isinstance(path, str):
        return None
    m = _URL.match(path)
    return None if m is None or m.group(1).lower() == "file" else m.group(1).lower()


def is_url(path: Any) -> bool:
    return scheme_of(path) is not None


def is_input_url(path: Any) -> bool:
    """A URL that is not also the name of a local file or folder (which is read as one)."""
    return is_url(path) and not os.path.exists(path)


def read_once(path: Any) -> bool:
    """Inputs that cannot be read twice: stdin, network streams and named pipes (``fifos``)."""
    return path == "-" or is_input_url(path) or is_fifo(path)


def _libavformat() -> Any:
    """The libavformat PyAV loaded (ctypes), or None where it cannot be found. Another FFmpeg may be
    loaded in the process too (OpenCV's wheel bundles its own): PyAV's is the one whose version is
    ``av.library_versions``'."""
    import av  # loads it

    want = tuple(getattr(av, "library_versions", {}).get("libavformat", ()))

    names: list[str] = []
    try:
        with open("/proc/self/maps") as maps:
            names = [line.split()[-1] for line in maps if "libavformat" in line and "/" in line]
    except OSError:
        import glob

        root = os.path.dirname(os.path.dirname(av.__file__))
        for pattern in ("av.libs/libavformat*", "av/.dylibs/libavformat*", "av.libs/avformat*.dll"):
            names += glob.glob(os.path.join(root, pattern))
    for name in dict.fromkeys(names):  # each mapping of a library is a line of its own
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if not want or _version(lib) == want:
            return lib
    return None


def _version(lib: Any) -> tuple[int, ...]:
    """``avformat_version()`` of a loaded libavformat as (major, minor, micro); () without it."""
    if not hasattr(lib, "avformat_version"):
        return ()
    lib.avformat_version.restype = ctypes.c_uint
    v = lib.avformat_version()
    return (v >> 16, (v >> 8) & 0xFF, v & 0xFF)


@functools.cache
def protocols(output: bool = False) -> frozenset[str]:
    """The input (or output) protocols of the FFmpeg PyAV runs on (``avio_enum_protocols``)."""
    lib = _libavformat()
    if lib is None or not hasattr(lib, "avio_enum_protocols"):
        return FALLBACK_PROTOCOLS
    enum = lib.avio_enum_protocols
    enum.restype, enum.argtypes = ctypes.c_char_p, [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int]
    opaque, names = ctypes.c_void_p(), set()
    while (name := enum(ctypes.byref(opaque), int(output))) is not None:
        names.add(name.decode())
    return frozenset(names)


def input_schemes() -> frozenset[str]:
    import av

    demuxers = {s for s, d in DEMUXER_SCHEMES.items() if d in av.formats_available}
    return (protocols() - {"file"}) | demuxers


def _known(names: Iterable[str]) -> str:
    return ", ".join(f"{n}://" for n in NETWORK if n in set(names))


def _writes() -> str:
    """The output schemes this build writes, for messages."""
    return _known(set(OUTPUT_SCHEMES) & protocols(True))


def _unknown(scheme: str, output: bool) -> str:
    """Why ``scheme`` cannot be read (written): not in this build (SRT needs libsrt), or no protocol."""
    can = f"it {'writes' if output else 'reads'} {_writes() if output else _known(input_schemes())}"
    if scheme in NETWORK or scheme in OUTPUT_SCHEMES:
        return (f"this FFmpeg build (PyAV's) has no {scheme} protocol"
                + (" (built without libsrt)" if scheme == "srt" else "") + f"; {can}")
    return f"unknown protocol {scheme!r}: not a local file, nor a stream this FFmpeg reads; {can}" if not output \
        else f"unknown protocol {scheme!r}: {can} (reports and the other outputs are files)"


def input_options(scheme: str, timeout: float) -> dict[str, str]:
    """FFmpeg options that bound the connection and each read to ``timeout`` seconds."""
    us = str(round(timeout * 1_000_000))
    opts = {} if scheme in DEMUXER_SCHEMES else {"rw_timeout": us}  # rw_timeout: every protocol's I/O
    if scheme in MICROSECOND_TIMEOUT:
        opts["timeout"] = us
    if scheme in DEMUXER_SCHEMES:
        opts["rtsp_transport"] = "tcp"
    return opts


_lock = threading.Lock()
_opened: dict[tuple[str, int], tuple[Any, set[str]]] = {}  # (url, thread) -> (SharedInput, roles)


def _release(shared: Any) -> None:
    with _lock:
        for key, (s, _) in list(_opened.items()):
            if s is shared:
                del _opened[key]


def open_url(url: str, role: str, timeout: float = DEFAULT_TIMEOUT_S) -> Any:
    """The ``sources.SharedInput`` of network input ``url`` for ``role``: colour and depth readers of
    one thread (``enhance_file`` opens them before reading) share one connection."""
    from .sources import SharedInput

    key = (url, threading.get_ident())
    with _lock:
        if (joined := join_opened(_opened, key, role, url, ("a network stream", "stream", "URL"))) is not None:
            return joined
    shared = SharedInput(open_container(url, timeout), url, release=_release)
    shared.net_timeout = timeout  # for stall_problem
    shared.datagram = scheme_of(url) in DATAGRAM_SCHEMES  # for live_packets
    shared.closes = scheme_of(url) in CLOSING_SCHEMES
    shared.rtp = scheme_of(url) in RTP_SCHEMES
    with _lock:
        _opened[key] = (shared, {role})
    return shared


def open_container(url: str, timeout: float = DEFAULT_TIMEOUT_S) -> Any:
    """``av.open`` of network input ``url``; every failure is one ``InputError`` line."""
    import av
    import av.logging

    scheme = scheme_of(url) or ""
    if scheme not in input_schemes():
        raise InputError(_unknown(scheme, False), url)
    start = time.monotonic()
    with av.logging.Capture(local=True) as logs:
        try:
            return av.open(url, options=input_options(scheme, timeout), timeout=(timeout + 1, timeout + 1),
                           metadata_errors="ignore")
        except av.error.FFmpegError as exc:
            reason = str(getattr(exc, "strerror", None) or exc).strip()
            detail = "; ".join(m.strip() for lvl, _, m in logs if lvl <= av.logging.ERROR)[:120]
            if isinstance(exc, (av.error.ExitError, TimeoutError)) or time.monotonic() - start >= 0.9 * timeout:
                problem = f"nothing received within {timeout:g} s (--net-timeout): {reason}"
            elif isinstance(exc, ConnectionRefusedError):
                problem = "connection refused: nothing listens there"
            elif isinstance(exc, av.error.InvalidDataError):
                problem = "no video container in what it sent (or a damaged one)" + \
                    (f" (FFmpeg: {detail})" if detail else "")
            else:
                problem = f"cannot open: {reason}" + (f" (FFmpeg: {detail})" if detail else "")
            raise InputError(problem, url) from None


class StreamURL(str):
    """A network output URL where the output code takes a ``Path``: its ``name`` is the URL, it has no
    ``suffix`` and no folder (``parent``: the working folder, where a report's row file goes, as for
    stdout); ``timeout``: seconds a write may wait."""

    suffix = ""
    timeout = DEFAULT_TIMEOUT_S

    @property
    def name(self) -> str:
        return str(self)

    @property
    def parent(self) -> Path:
        return Path(".")

    @property
    def scheme(self) -> str:
        return scheme_of(str(self)) or ""


def output_path(out: Any, source: Any = None) -> Path | StreamURL:
    """``out`` as the output code takes it: a ``StreamURL`` for a URL string (``source``: the
    ``sources.InputOptions`` whose ``net_timeout`` it keeps), else a ``Path``."""
    url = stream_url(out)
    if url is not None and source is not None:
        url.timeout = source.net_timeout
    return Path(out) if url is None else url


def stream_url(out: Any) -> StreamURL | None:
    if isinstance(out, StreamURL):
        return out
    return StreamURL(out) if is_url(out) else None


def muxer_of(out: StreamURL, fmt: str | None) -> str:
    """The muxer ``out`` is written with; ``OutputError`` for a scheme or muxer that cannot be used."""
    scheme = out.scheme
    if scheme not in OUTPUT_SCHEMES:
        raise OutputError(f"{scheme}:// is not a network output this command writes; it writes {_writes()}"
                          if scheme in protocols(True) | input_schemes() else _unknown(scheme, True), out)
    if scheme not in protocols(True):
        raise OutputError(_unknown(scheme, True), out)
    muxer = fmt or OUTPUT_SCHEMES[scheme]
    if OUTPUT_SCHEMES[scheme] == "flv" and muxer != "flv":
        raise OutputError(f"{scheme}:// carries FLV only: --format flv (its default), with --codec libx264", out)
    return muxer


def muxer_problem(muxer: str, codec: str) -> str | None:
    """Why a ``muxer`` stream cannot hold ``codec`` video (MPEG-TS and FLV take few), or None. An
    encoder this FFmpeg lacks is left to the codec check that names it."""
    import io

    import av

    from .containers import MPEG_CODECS, MPEG_MUXERS

    try:
        av.codec.Codec(codec, "w")
    except (av.error.FFmpegError, ValueError):
        return None
    if muxer in MPEG_MUXERS:
        fits = codec in MPEG_CODECS
    elif muxer == "flv":
        with av.open(io.BytesIO(), "w", format=muxer) as probe:  # FFmpeg's own answer; nothing is written
            fits = codec in probe.supported_codecs
    else:
        return None  # NUT and Matroska hold every video codec
    return None if fits else ("{} cannot hold " + codec + " video: use {} (lossy) there, or {} for FFV1 (lossless)")


def check_outputs(out: Path | StreamURL, codec: str, fmt: str | None, keyword: str = "format", **files: Any) -> str | None:
    """Before any work: a URL given where a file must be (``files``: the option names' values, a
    path or a list of them), the scheme and muxer of a network ``out``, and the muxer against the
    codec wherever ``--format`` is given or ``out`` is a stream. Returns that muxer (None: the suffix's).
    A format FFmpeg has no muxer for, and one that cannot hold the codec, are said in the words of the
    Python ``keyword`` that gave it (``out_format`` from ``enhance_file``) and of ``--format`` on the
    command line (``errors.worded``)."""
    from .containers import check_format

    for name, paths in files.items():
        for p in paths if isinstance(paths, (list, tuple)) else [paths]:
            if is_url(p):
                said = "a network URL for {}, which is a file: only the depth output ({}) can be a network stream"
                raise OutputError(said.format(name, "out_path"), p,
                                  cli_problem=said.format(FILE_OPTIONS.get(name, name), "-o"))
    check_format(fmt, out, keyword)
    muxer = muxer_of(out, fmt) if isinstance(out, StreamURL) else fmt
    given = (f"{keyword}={muxer!r}", f"--format {muxer}")
    if muxer is not None and isinstance(out, StreamURL) and muxer not in STREAM_MUXERS:
        raise worded(OutputError, "{}: a network stream is written as " + ", ".join(STREAM_MUXERS), given[:1], given[1:],
                     out)
    if muxer is not None and (problem := muxer_problem(muxer, codec)) is not None:
        raise worded(OutputError, problem, (given[0], "codec='libx264'", f"{keyword}='nut' / 'matroska'"),
                     (given[1], "--codec libx264", "--format nut / matroska"), out)
    return muxer


def open_output(out: StreamURL, fmt: str | None, codec: str, options: dict[str, str]) -> Any:
    """The output container of network output ``out``, connected; every failure is one line."""
    import av

    muxer = check_outputs(out, codec, fmt)
    target = str(out)
    if out.scheme in ("tcp", "srt") and not re.search(r"[?&]timeout=", target):
        target += ("&" if "?" in target else "?") + f"timeout={round(out.timeout * 1_000_000)}"
    try:
        return av.open(target, "w", format=muxer, options=options)
    except av.error.FFmpegError as exc:
        raise write_error(out, 0, exc) or OutputError(f"cannot connect: {getattr(exc, 'strerror', None) or exc}",
                                                      out) from None


def write_error(out: StreamURL, frames: int, exc: BaseException) -> OutputError | None:
    """One line for a failed write to ``out`` after ``frames`` frames (FFmpeg connects at the first
    one): refused, timed out, or the receiver gone; None for another failure."""
    if isinstance(exc, ConnectionRefusedError):
        return OutputError("cannot connect: connection refused: nothing listens there", out)
    if isinstance(exc, TimeoutError):
        return OutputError(f"no answer within {out.timeout:g} s (--net-timeout) after {frames} frames", out)
    if isinstance(exc, (BrokenPipeError, ConnectionResetError)):
        return OutputError(f"the receiver closed the connection after {frames} frames", out)
    return None


__all__ = [
    "CLOSING_SCHEMES", "DATAGRAM_SCHEMES", "DEFAULT_TIMEOUT_S", "OUTPUT_SCHEMES", "RTP_SCHEMES", "STREAM_MUXERS",
    "StreamURL", "check_outputs", "input_schemes", "is_url", "live_packets", "open_output", "open_url", "output_path", "protocols",
    "read_once", "scheme_of", "stall_problem", "stream_url", "write_error",
]
