"""Live protocols other than TCP, served on loopback by the ``ffmpeg`` command line: RTMP (its
``-listen 1`` server, one stream a URL: FLV carries one) and UDP (unicast and multicast, one URL
holding colour and depth in MPEG-TS). Each run gives the frames the same run on the files gives.
How each ends (``netends``): an RTMP server that closes the connection reads as an I/O error in
FFmpeg's RTMP client, the end of its stream; UDP ends with silence. The ``ffmpeg`` tests skip
without the command; the rest check ``netends.live_packets`` on a file's packets. PyAV's FFmpeg
has no SRT (built without libsrt): refused in one line. Timings and the RTSP run: docs/formats.md.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from conftest import demux_then, scene
from igde_stream.cli import main
from igde_stream.stream import urls
from igde_stream.stream.netends import live_packets

from test_pipes import nut_bytes

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg command line to serve the streams")
EIO = av.error.OSError(5, "Input/output error")  # what FFmpeg's RTMP client raises at a server's close
EXIT = av.error.ExitError(-0x54495845, "Immediate exit requested")  # PyAV's interrupt timeout


# --- netends.live_packets, on a file's packets ------------------------------------------------------

def _shared(container, scheme: str):
    return SimpleNamespace(datagram=scheme in urls.DATAGRAM_SCHEMES, closes=scheme in urls.CLOSING_SCHEMES,
                           rtp=scheme in urls.RTP_SCHEMES, net_timeout=5.0, name=f"{scheme}://127.0.0.1/a",
                           container=container)


@pytest.mark.parametrize("untimed", [1, 2])
def test_rtsp_packets_before_the_first_timestamp_are_placed_before_it(tmp_path, untimed):
    """FFmpeg's RTSP demuxer gave each stream's first packet no pts (frame 0 then met frame 1's time,
    and the output failed at frame 1): held, then placed one frame apart before the first timed
    packet, where the file has them (25 fps in NUT's 1/51200: 2048 ticks each)."""
    frames = [np.full((8, 16), 9 * i, np.uint8) for i in range(4)]
    (tmp_path / "a.nut").write_bytes(nut_bytes([("gray", frames), ("gray16le", [f.astype(np.uint16) for f in frames])]))
    with av.open(str(tmp_path / "a.nut")) as c:
        packets = [p for p in c.demux() if p.size]
        want = [(p.stream.index, p.pts) for p in packets]
        seen: dict[int, int] = {}
        for p in packets:  # the first ``untimed`` packets of each stream lose their times
            seen[p.stream.index] = seen.get(p.stream.index, 0) + 1
            if seen[p.stream.index] <= untimed:
                p.pts = p.dts = None
        tcp = list(live_packets(_shared(c, "tcp"), iter(packets)))  # other inputs: as they come
        assert [p.pts for p in tcp][:2] == [None, None]
        got = list(live_packets(_shared(c, "rtsp"), iter(packets)))
        assert sorted((p.stream.index, p.pts) for p in got) == sorted(want)
        assert [p.pts for p in got if p.stream.index == 0] == [pts for i, pts in want if i == 0]


def test_an_rtmp_server_closing_after_a_packet_ends_the_stream_with_a_warning(two_stream_nut, caplog):
    """Before: the I/O error went up, "cannot decode frame N", and the run failed at its end."""
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        got = list(live_packets(_shared(two_stream_nut, "rtmp"), demux_then(two_stream_nut, 1, EIO)))
    assert got[0].size > 0 and [(p.size, p.stream.index) for p in got[1:]] == [(0, 0), (0, 1)]
    said = [m for m in caplog.messages if "taken as the end" in m]
    assert len(said) == 1 and said[0].startswith("rtmp://127.0.0.1/a: the server closed the connection")


@pytest.mark.parametrize("scheme, count, exc", [
    ("rtmp", 0, EIO),  # nothing received: no stream
    ("rtmp", 1, EXIT),  # a stall is no end
    ("rtmp", 1, av.error.InvalidDataError(-1094995529, "Invalid data found when processing input")),
    ("tcp", 1, EIO), ("http", 1, EIO)])  # these end with an end of file; an I/O error is one
def test_other_failures_go_up(two_stream_nut, scheme, count, exc):
    with pytest.raises(type(exc)):
        list(live_packets(_shared(two_stream_nut, scheme), demux_then(two_stream_nut, count, exc)))


def test_only_rtmp_urls_take_a_close_as_the_end(monkeypatch, two_stream_nut):
    monkeypatch.setattr(urls, "open_container", lambda url, timeout: two_stream_nut)
    for scheme, closes in [("rtmp", True), ("rtmps", True), ("rtmpt", True), ("tcp", False), ("udp", False),
                           ("rtsp", False), ("http", False)]:
        shared = urls.open_url(f"{scheme}://127.0.0.1:1935/a", "depth")
        try:
            assert shared.closes is closes, scheme
        finally:
            urls._release(shared)


def test_srt_is_refused_naming_the_missing_library(tmp_path, capsys, monkeypatch):
    if "srt" in urls.protocols():
        pytest.skip("this PyAV's FFmpeg has SRT")
    monkeypatch.chdir(tmp_path)
    assert main(["srt://127.0.0.1:9000", "-o", "out.mkv"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("srt://127.0.0.1:9000: this FFmpeg build (PyAV's) has no srt protocol (built without "
                        "libsrt); it reads tcp://, udp://, rtsp://, rtmp://, rtmps://, http://, https://, rtp://, "
                        "unix://"), err
    assert list(tmp_path.iterdir()) == []


# --- served by the ffmpeg command line ------------------------------------------------------------

def _port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """10 frames of 64x48 at 25 fps: colour H.264 and lossless H.264 depth (a gray picture, qp 0) in FLV
    (what RTMP carries), both in one MPEG-TS, and the output of the run on the FLV files."""
    d = tmp_path_factory.mktemp("live")
    colors, depths, _ = scene(10, (64, 48), 8)
    for name, frames, fmt, extra in [("color", colors, "rgb24", []), ("depth", depths, "gray", ["-qp", "0"])]:
        raw = np.stack(frames).tobytes()
        subprocess.run([FFMPEG or "ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", fmt, "-s", "64x48", "-r", "25",
                        "-i", "-", "-c:v", "libx264", *extra, "-pix_fmt", "yuv420p", "-bf", "0", "-g", "5",
                        str(d / f"{name}.flv")], input=raw, check=True, timeout=60) if FFMPEG else None
    return d


def _serve(port: int, *args: str) -> subprocess.Popen:
    """``ffmpeg args`` serving on TCP ``port``, once it listens there (the kernel's socket table: a
    connection to find out would be the server's one client)."""
    server = subprocess.Popen([FFMPEG, "-v", "error", *args], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    end = time.monotonic() + 20
    while time.monotonic() < end and server.poll() is None:
        try:
            table = Path("/proc/net/tcp").read_text()
        except OSError:  # no /proc: give it time
            time.sleep(2)
            break
        if any(f"0100007F:{port:04X} 00000000:0000 0A" in line for line in table.splitlines()):
            break
        time.sleep(0.05)
    return server


def _after_bind(port: int, table: str) -> str:
    """A shell line that waits (at most 20 s) until a socket is bound to ``port`` (``/proc/net/tcp``
    listening, or ``/proc/net/udp``), so that a sender starts once igde-stream has opened its input."""
    state = " 0A" if table == "tcp" else ""
    return (f'for i in $(seq 400); do grep -q ":{port:04X} 00000000:0000{state}" /proc/net/{table} 2>/dev/null '
            "&& break; sleep 0.05; done; ")


def _run(model: Path, *args: object) -> int:
    return main([*map(str, args), "--model", str(model), "--backend", "torch", "-q"])


def _frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray() for f in c.decode(video=0)])


def _same_frames(got: Path, want: Path) -> None:
    """``got`` holds the 10 frames of the file run ``want``, value for value."""
    ref = _frames(want)
    assert len(ref) == 10
    np.testing.assert_array_equal(_frames(got), ref)


@needs_ffmpeg
@pytest.mark.slow  # 5 s: real-time sending (-re) and the servers' start
def test_colour_and_depth_over_rtmp_give_what_the_files_give(media, tiny_model, tmp_path):
    """Two ``ffmpeg -re ... -f flv -listen 1`` servers; each closes its connection at the end (an
    I/O error in FFmpeg's client, which failed the run at frame 8 of 10 before)."""
    assert _run(tiny_model, media / "color.flv", media / "depth.flv", "-o", tmp_path / "files.mkv") == 0
    ports = [_port(), _port()]
    urls_ = [f"rtmp://127.0.0.1:{port}/live/{name}" for port, name in zip(ports, ("color", "depth"))]
    servers = [_serve(port, "-re", "-i", str(media / f"{name}.flv"), "-c", "copy", "-f", "flv", "-listen", "1", url)
               for port, name, url in zip(ports, ("color", "depth"), urls_)]
    try:
        assert _run(tiny_model, *urls_, "-o", tmp_path / "rtmp.mkv", "--net-timeout", "10") == 0
    finally:
        for s in servers:
            s.kill()
            s.wait(10)
    _same_frames(tmp_path / "rtmp.mkv", tmp_path / "files.mkv")


@needs_ffmpeg
@pytest.mark.slow  # 5 s: the publisher's start and real-time sending
def test_colour_and_depth_over_rtsp_give_what_the_files_give(media, tiny_model, tmp_path, monkeypatch):
    """RTSP needs a server: here FFmpeg's RTSP demuxer is the server (its listen mode, through the
    options ``urls.input_options`` gives it) and ``ffmpeg -f rtsp`` publishes one H.264 + H.264 stream
    to it over TCP. Before: each stream's first packet came without a time, and the run failed at
    frame 1 ("pts ... does not come after 0")."""
    both = tmp_path / "both.ts"
    subprocess.run([FFMPEG, "-v", "error", "-i", str(media / "color.flv"), "-i", str(media / "depth.flv"), "-map",
                    "0:v", "-map", "1:v", "-c", "copy", str(both)], check=True, timeout=60)
    assert _run(tiny_model, both, "-o", tmp_path / "file.mkv", "--color-stream", "0", "--depth-stream", "1") == 0
    given = urls.input_options

    def listen(scheme: str, timeout: float) -> dict[str, str]:  # FFmpeg 8.1 refuses listen_timeout's default -1
        return {**{k: v for k, v in given(scheme, timeout).items() if k != "timeout"}, "rtsp_flags": "listen",
                "listen_timeout": "20"}

    monkeypatch.setattr(urls, "input_options", listen)
    port = _port()
    url = f"rtsp://127.0.0.1:{port}/s"
    sender = subprocess.Popen(["sh", "-c", _after_bind(port, "tcp") + 'exec "$0" -v error -re -i "$1" -map 0:v -c copy '
                                           '-f rtsp -rtsp_transport tcp "$2"', FFMPEG, str(both), url])
    try:
        assert _run(tiny_model, url, "-o", tmp_path / "rtsp.mkv", "--color-stream", "0", "--depth-stream", "1",
                    "--net-timeout", "10") == 0
    finally:
        sender.kill()
        sender.wait(10)
    _same_frames(tmp_path / "rtsp.mkv", tmp_path / "file.mkv")


@needs_ffmpeg
@pytest.mark.slow  # 7 s: the sender's start, real-time sending and the 2.5 s of silence that ends UDP
@pytest.mark.parametrize("group", ["127.0.0.1", "239.255.77.1"])
def test_one_udp_url_holding_colour_and_depth_gives_what_the_files_give(media, tiny_model, tmp_path, group):
    """MPEG-TS with both streams, unicast and multicast (a group, joined and sent on loopback); the end
    is the silence of --net-timeout after the last packet."""
    both = tmp_path / "both.ts"
    subprocess.run([FFMPEG, "-v", "error", "-i", str(media / "color.flv"), "-i", str(media / "depth.flv"), "-map",
                    "0:v", "-map", "1:v", "-c", "copy", str(both)], check=True, timeout=60)
    assert _run(tiny_model, both, "-o", tmp_path / "file.mkv", "--color-stream", "0", "--depth-stream", "1") == 0
    port = _port(socket.SOCK_DGRAM)
    local = "" if group.startswith("127.") else "?localaddr=127.0.0.1"
    sender = subprocess.Popen(
        ["sh", "-c", _after_bind(port, "udp") + f'exec "$0" -v error -re -i "$1" -map 0:v -c copy -f mpegts '
                     f'"udp://{group}:{port}?pkt_size=1316&ttl=0{local.replace("?", "&")}"', FFMPEG, str(both)])
    try:
        assert _run(tiny_model, f"udp://{group}:{port}{local}", "-o", tmp_path / "udp.mkv", "--color-stream", "0",
                    "--depth-stream", "1", "--net-timeout", "2.5") == 0
    finally:
        sender.kill()
        sender.wait(10)
    _same_frames(tmp_path / "udp.mkv", tmp_path / "file.mkv")
