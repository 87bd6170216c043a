"""stream.urls by hand (fast, offline, no stream opened except on loopback): the protocols read from
FFmpeg and their fallback, the schemes a refusal names, the FFmpeg options of ``--net-timeout``
(microseconds), how ``open_container`` words a failure, and what a network output's URL gets.
PyAV's ``av.open`` and FFmpeg's log are stood in for where a failure cannot be made on loopback."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from types import SimpleNamespace

import av
import av.error
import av.logging
import pytest

from igde_stream.errors import InputError, OutputError
from igde_stream.stream import urls

INVALID = 1094995529  # FFmpeg's AVERROR_INVALIDDATA, negated ("Invalid data found when processing input")


@pytest.fixture
def fresh_protocols():
    """``protocols`` is cached: cleared before and after a test that changes what it reads."""
    urls.protocols.cache_clear()
    yield
    urls.protocols.cache_clear()


def test_the_protocols_are_ffmpegs_own_list_for_reading_and_for_writing():
    """FFmpeg's ``data:`` protocol only reads and ``md5:`` only writes (libavformat's data_uri.c and
    md5proto.c; both built into every FFmpeg, neither in the fallback list)."""
    assert "data" in urls.protocols() and "data" not in urls.protocols(output=True)
    assert "md5" in urls.protocols(output=True) and "md5" not in urls.protocols()
    assert {"tcp", "udp", "file"} <= urls.protocols() & urls.protocols(output=True)


def test_the_libavformat_asked_is_the_one_pyav_runs_on():
    """The protocols are those "of the FFmpeg PyAV runs on": where another FFmpeg is loaded in the
    same process (OpenCV's wheel bundles its own libavformat, a different build), the library asked
    is PyAV's, the version ``av.library_versions`` reports (before: the first libavformat in
    /proc/self/maps, which was OpenCV's 63.1 beside PyAV's 62.12 here, with protocols PyAV lacks)."""
    import ctypes
    import importlib

    importlib.import_module("cv2")  # loads OpenCV's FFmpeg too, as igde_stream does

    lib = urls._libavformat()
    assert lib is not None
    lib.avformat_version.restype = ctypes.c_uint
    v = lib.avformat_version()
    assert (v >> 16, (v >> 8) & 0xFF, v & 0xFF) == tuple(av.library_versions["libavformat"])


def test_without_proc_maps_the_library_is_found_in_pyavs_wheel(monkeypatch):
    """Where /proc/self/maps cannot be read (macOS, Windows), PyAV's libavformat is looked for in its
    wheel's library folder (``av.libs`` here): the same library, PyAV's version."""
    def no_maps(name, *args, **kwargs):
        raise OSError(2, "No such file or directory", name)

    monkeypatch.setattr(urls, "open", no_maps, raising=False)
    lib = urls._libavformat()
    assert lib is not None and urls._version(lib) == tuple(av.library_versions["libavformat"])


@pytest.mark.parametrize("version", [(61, 7, 101), (62, 12, 102), (60, 3, 100), (59, 255, 1)])
def test_a_libavformat_version_is_read_as_ffmpegs_av_version_int(version):
    """FFmpeg's ``avformat_version()`` is AV_VERSION_INT(major, minor, micro) = major << 16 | minor << 8
    | micro (libavutil/version.h); a library without the call has no version."""
    major, minor, micro = version

    def avformat_version():
        return major * 65536 + minor * 256 + micro

    assert urls._version(SimpleNamespace(avformat_version=avformat_version)) == version
    assert urls._version(SimpleNamespace()) == ()


def test_a_build_whose_protocols_cannot_be_listed_is_taken_to_have_the_fallback(monkeypatch, fresh_protocols):
    """The module's docs: no libavformat to ask (or one without ``avio_enum_protocols``) gives these."""
    fallback = {"tcp", "udp", "http", "https", "rtmp", "rtmps", "rtp", "unix", "tls", "file", "pipe"}
    monkeypatch.setattr(urls, "_libavformat", lambda: None)
    assert urls.protocols() == fallback and urls.protocols(output=True) == fallback
    urls.protocols.cache_clear()
    monkeypatch.setattr(urls, "_libavformat", lambda: SimpleNamespace())  # a library without the call
    assert urls.protocols() == fallback


def _build(monkeypatch, reads: set[str], writes: set[str]) -> None:
    """A pretended FFmpeg build with these input and output protocols (the RTSP demuxer is PyAV's)."""
    monkeypatch.setattr(urls, "protocols", lambda output=False: frozenset(writes if output else reads))


def test_refusals_name_what_the_build_reads_and_writes(monkeypatch):
    """The docs: an unknown scheme (or SRT without libsrt) is one line naming what this build reads
    (writes), in the order of ``NETWORK``; by hand for a build reading tcp, udp, http (and rtsp,
    a demuxer) and writing tcp and udp."""
    _build(monkeypatch, {"tcp", "udp", "http", "file", "data"}, {"tcp", "udp", "http", "file", "md5"})
    reads = "it reads tcp://, udp://, rtsp://, http://"
    with pytest.raises(InputError) as e:
        urls.open_container("foo://x")
    assert str(e.value) == f"foo://x: unknown protocol 'foo': not a local file, nor a stream this FFmpeg reads; {reads}"
    with pytest.raises(InputError) as e:
        urls.open_container("srt://h:1")
    assert str(e.value) == f"srt://h:1: this FFmpeg build (PyAV's) has no srt protocol (built without libsrt); {reads}"
    with pytest.raises(OutputError) as e:
        urls.check_outputs(urls.StreamURL("http://h/x"), "ffv1", None)
    assert str(e.value) == "http://h/x: http:// is not a network output this command writes; it writes tcp://, udp://"
    with pytest.raises(OutputError) as e:
        urls.check_outputs(urls.StreamURL("foo://x"), "ffv1", None)
    assert "unknown protocol 'foo': it writes tcp://, udp:// (reports" in str(e.value)


@pytest.mark.parametrize("scheme, want", [
    ("tcp", {"rw_timeout": "2500000", "timeout": "2500000"}),
    ("http", {"rw_timeout": "2500000", "timeout": "2500000"}),
    ("srt", {"rw_timeout": "2500000", "timeout": "2500000"}),
    ("rtmp", {"rw_timeout": "2500000"}),  # RTMP's own timeout is a listen timeout: not given
    ("rtsp", {"timeout": "2500000", "rtsp_transport": "tcp"}),  # the RTSP demuxer, read over TCP
])
def test_net_timeout_is_given_to_ffmpeg_in_microseconds(scheme, want):
    """docs/formats.md: ``--net-timeout 2.5`` is FFmpeg's ``timeout`` / ``rw_timeout`` in microseconds,
    2.5 x 10^6 = 2500000 (not RTMP's ``timeout``); RTSP with ``rtsp_transport=tcp``."""
    assert urls.input_options(scheme, 2.5) == want
    assert urls.input_options(scheme, 0.001).get("timeout", "1000") == "1000"


class _Log:
    """``av.logging.Capture`` stood in for: FFmpeg's log lines (level, name, message) of the open."""

    def __init__(self, lines):
        self.lines = lines

    def __call__(self, local=True):
        return self

    def __enter__(self):
        return self.lines

    def __exit__(self, *exc):
        return False


def _open_failing(monkeypatch, exc, logs=(), elapsed=0.0):
    """``av.open`` raises ``exc`` after ``elapsed`` seconds of a stand-in clock; returns the calls."""
    calls = []
    clock = iter([0.0, elapsed])

    def fake_open(url, **kw):
        calls.append(kw)
        raise exc

    monkeypatch.setattr(av, "open", fake_open)
    monkeypatch.setattr(av.logging, "Capture", _Log(list(logs)))
    monkeypatch.setattr(urls, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    return calls


def test_pyavs_interrupt_timeout_comes_behind_ffmpegs_own(monkeypatch):
    """The docs: FFmpeg's timeouts bound the connection, PyAV's interrupt timeout behind them: PyAV
    gets more than ``--net-timeout`` for the open and for each read, FFmpeg exactly it."""
    calls = _open_failing(monkeypatch, av.error.FFmpegError(5, "Input/output error"))
    with pytest.raises(InputError):
        urls.open_container("tcp://127.0.0.1:9", 3.0)
    (kw,) = calls
    assert kw["options"] == {"rw_timeout": "3000000", "timeout": "3000000"}
    open_s, read_s = kw["timeout"]
    assert open_s > 3.0 and read_s > 3.0


def test_the_default_net_timeout_is_10_s(monkeypatch):
    """docs/formats.md: ``--net-timeout S`` (default 10 s): the option's default, an output URL given
    no timeout (its write timeout) and an input opened without one (FFmpeg's, 10^7 microseconds)."""
    from igde_stream import cli

    assert cli.build_parser().parse_args(["c.mkv", "d.mkv", "-o", "o.mkv"]).net_timeout == 10.0
    assert urls.StreamURL("tcp://h:1").timeout == 10.0
    calls = _open_failing(monkeypatch, av.error.FFmpegError(5, "Input/output error"))
    with pytest.raises(InputError):
        urls.open_container("tcp://127.0.0.1:9")
    assert calls[0]["options"] == {"rw_timeout": "10000000", "timeout": "10000000"}


def test_damaged_data_names_ffmpegs_errors_but_not_its_warnings(monkeypatch):
    """A container FFmpeg cannot read is said as such, with the FFmpeg log lines of error severity or
    worse (FFmpeg's levels: FATAL 8 < ERROR 16 < WARNING 24), joined by "; "."""
    logs = [(av.logging.ERROR, "matroska", "EBML header parsing failed\n"), (av.logging.WARNING, "tcp", "slow\n"),
            (av.logging.FATAL, "tcp", " gave up ")]
    _open_failing(monkeypatch, av.error.InvalidDataError(INVALID, "Invalid data found when processing input", "x"),
                  logs=logs, elapsed=0.5)
    with pytest.raises(InputError) as e:
        urls.open_container("tcp://127.0.0.1:9", 10.0)
    assert str(e.value) == ("tcp://127.0.0.1:9: no video container in what it sent (or a damaged one) "
                            "(FFmpeg: EBML header parsing failed; gave up)")


def test_another_failure_is_cannot_open_with_ffmpegs_errors(monkeypatch):
    _open_failing(monkeypatch, av.error.FFmpegError(5, "Input/output error"),
                  logs=[(av.logging.ERROR, "tcp", "Connection reset\n")], elapsed=0.1)
    with pytest.raises(InputError) as e:
        urls.open_container("tcp://127.0.0.1:9", 10.0)
    assert str(e.value) == "tcp://127.0.0.1:9: cannot open: Input/output error (FFmpeg: Connection reset)"


def test_damage_said_after_waiting_the_whole_timeout_is_the_timeout(monkeypatch):
    """The module's docs: a demuxer that took FFmpeg's timeout for damage (NUT: "Invalid data") after
    waiting ``--net-timeout`` is said as the timeout: here after exactly the 10 s asked for."""
    _open_failing(monkeypatch, av.error.InvalidDataError(INVALID, "Invalid data found when processing input", "x"),
                  elapsed=10.0)
    with pytest.raises(InputError) as e:
        urls.open_container("tcp://127.0.0.1:9", 10.0)
    assert str(e.value) == ("tcp://127.0.0.1:9: nothing received within 10 s (--net-timeout): "
                            "Invalid data found when processing input")


def test_a_failed_read_mid_stream_is_a_stall_only_when_it_is_a_timeout():
    """``stall_problem``'s docs: PyAV's interrupt ("Immediate exit requested"), FFmpeg's ETIMEDOUT, or
    "Invalid data" after waiting the whole ``--net-timeout`` (10 s here) is "nothing received"; the same
    "Invalid data" after half a second is damage (None), and so is any failure of an input that is
    not a network stream (no ``net_timeout``)."""
    stream = SimpleNamespace(net_timeout=10.0)
    damaged = av.error.InvalidDataError(INVALID, "Invalid data found when processing input", "x")
    said = "nothing received within 10 s (--net-timeout)"
    assert urls.stall_problem(stream, av.error.ExitError(-1414092869, "Immediate exit requested"), 0.2) == said
    assert urls.stall_problem(stream, TimeoutError(110, "Connection timed out"), 0.2) == said
    assert urls.stall_problem(stream, damaged, 10.0) == said
    assert urls.stall_problem(stream, damaged, 0.5) is None
    assert urls.stall_problem(SimpleNamespace(), damaged, 10.0) is None


def test_an_http_error_on_loopback_is_cannot_open_in_ffmpegs_words():
    """A real failure that is neither refused, timed out nor damaged: an HTTP server on 127.0.0.1
    that answers 404 (FFmpeg's words for it: "Server returned 404 Not Found")."""

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    server.timeout = 5
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/d.mkv"
    try:
        with pytest.raises(InputError) as e:
            urls.open_container(url, 5.0)
    finally:
        thread.join(5)
        server.server_close()
    assert str(e.value) == f"{url}: cannot open: Server returned 404 Not Found"


def test_a_stream_url_is_a_path_named_by_the_url_in_the_working_folder():
    """``StreamURL``'s docs: its name is the URL, no suffix, ``parent`` the working folder; the scheme
    lower case; ``output_path`` keeps the input options' ``net_timeout`` and leaves a file a ``Path``."""
    out = urls.output_path("TCP://10.0.0.5:9001?listen=0", SimpleNamespace(net_timeout=2.5))
    assert isinstance(out, urls.StreamURL) and out.name == "TCP://10.0.0.5:9001?listen=0"
    assert (out.suffix, out.parent, out.scheme, out.timeout) == ("", Path("."), "tcp", 2.5)
    assert urls.output_path("out.mkv") == Path("out.mkv") and not isinstance(urls.output_path("out.mkv"), str)
    assert urls.stream_url(out) is out and urls.stream_url("out.mkv") is None


@pytest.mark.parametrize("given, sent", [
    ("tcp://h:1", "tcp://h:1?timeout=2500000"),
    ("tcp://h:1?send_buffer_size=4096", "tcp://h:1?send_buffer_size=4096&timeout=2500000"),
    ("tcp://h:1?timeout=7", "tcp://h:1?timeout=7"),  # one already there wins
    ("tcp://h:1?a=1&timeout=7", "tcp://h:1?a=1&timeout=7"),
    ("udp://h:1", "udp://h:1"),  # only TCP and SRT writes take one
])
def test_a_network_output_gets_the_write_timeout_in_microseconds_in_its_url(monkeypatch, given, sent):
    """docs/formats.md: TCP and SRT writes wait at most ``--net-timeout``, given as ``?timeout=`` in
    microseconds in the URL (2.5 s: 2500000), and one already there wins."""
    opened = []
    monkeypatch.setattr(av, "open", lambda target, mode, **kw: opened.append((target, mode, kw)) or "container")
    out = urls.StreamURL(given)
    out.timeout = 2.5
    assert urls.open_output(out, None, "ffv1", {"g": "1"}) == "container"
    assert opened == [(sent, "w", {"format": "nut", "options": {"g": "1"}})]
