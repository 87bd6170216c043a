"""Network streams in and out (``igde_stream.stream.urls``), offline, on loopback TCP only: a clip's
bytes served by a socket server thread on 127.0.0.1 are read as ``tcp://127.0.0.1:PORT`` (colour,
depth, or one URL holding both), and the enhanced depth sent to ``-o tcp://...`` is caught by a
receiving thread; both give the frames the same run on the files gives. A port nobody listens on, a
source that sends nothing, an unknown scheme and a URL where a file must be are one line, exit 2,
quickly, with nothing written locally. Every socket and thread has a timeout: nothing here can hang.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.cli import main
from igde_stream.stream import urls

WAIT_S = 30  # the longest any socket or thread of a test waits


class Server:
    """One TCP connection on 127.0.0.1 (an ephemeral port): ``send`` bytes to it, then close; or
    receive everything it sends (``received``); or accept and stay silent for ``WAIT_S`` (after
    sending ``send``, where both are given: a source that stalls)."""

    def __init__(self, send: bytes | None = None, silent: bool = False) -> None:
        self.sock = socket.socket()
        if silent:  # a small window: a sender fills it after a few frames
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(0.1)  # accept polls, so that close ends a wait for a client that never came
        self.url = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.send, self.silent = send, silent
        self.received = b""
        self.connections = 0
        self.done = threading.Event()  # set by close: a silent server stops waiting
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        end = time.monotonic() + WAIT_S
        while True:
            try:
                conn, _ = self.sock.accept()
                break
            except socket.timeout:
                if self.done.is_set() or time.monotonic() > end:
                    return
            except OSError:  # closed
                return
        self.connections += 1
        with conn:
            conn.settimeout(WAIT_S)
            try:
                if self.silent:
                    conn.sendall(self.send or b"")
                    self.done.wait(WAIT_S)
                elif self.send is not None:
                    conn.sendall(self.send)
                else:
                    while chunk := conn.recv(1 << 16):
                        self.received += chunk
            except OSError:
                pass

    def close(self) -> None:
        self.done.set()
        self.sock.close()
        self.thread.join(WAIT_S)


@pytest.fixture
def servers():
    made: list[Server] = []

    def make(**kwargs) -> Server:
        made.append(Server(**kwargs))
        return made[-1]

    yield make
    for s in made:
        s.close()


def dead_url() -> str:
    """A loopback port nobody listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def frames_of(data: bytes | Path) -> tuple[str, list[tuple[bytes, int]]]:
    """(container format, [(frame bytes, pts)]) of a depth stream, read back with PyAV."""
    with av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data)) as c:
        return c.format.name, [(f.to_ndarray().tobytes(), f.pts) for f in c.decode(video=0)]


def run(model: Path, *args: object) -> int:
    return main([*map(str, args), "--model", str(model), "--backend", "torch", "-q"])


@pytest.fixture
def clip(make_clip, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything written by mistake lands here, where the tests look
    return make_clip(n=6, bits=16, color_ext=".mkv")  # MP4 needs seeking: a stream is Matroska or NUT


def test_the_kinds_of_names():
    assert urls.scheme_of("tcp://127.0.0.1:9") == "tcp" and urls.scheme_of("RTSP://cam/a") == "rtsp"
    for name in ("take1:final.mkv", "file:///tmp/a.mkv", "-", "C://x", "seq:1/%06d.png", Path("tcp://h:1")):
        assert urls.scheme_of(name) is None, name
    assert {"tcp", "udp"} <= urls.protocols() and {"tcp", "udp"} <= urls.protocols(output=True)
    assert "tcp" in urls.input_schemes() and "file" not in urls.input_schemes()


def test_a_local_name_that_looks_like_a_url_stays_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tcp:" / "h").mkdir(parents=True)  # "tcp://h" names this folder
    assert urls.is_url("tcp://h") and not urls.is_input_url("tcp://h")


def test_colour_and_depth_from_tcp_give_what_the_files_give(clip, tiny_model, servers, tmp_path):
    assert run(tiny_model, clip["color"], clip["depth"], "-o", "file.mkv") == 0
    color, depth = servers(send=clip["color"].read_bytes()), servers(send=clip["depth"].read_bytes())
    assert run(tiny_model, color.url, depth.url, "-o", "net.mkv") == 0
    fmt, got = frames_of(tmp_path / "net.mkv")
    assert got == frames_of(tmp_path / "file.mkv")[1] and len(got) == 6
    assert color.connections == depth.connections == 1 and not urls._opened  # released


def test_one_url_holding_colour_and_depth_is_read_over_one_connection(tiny_model, servers, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    colors, depths, _ = scene(5, (48, 32), bits=16)
    buf = io.BytesIO()
    with av.open(buf, "w", format="nut") as out:  # colour (bgr0) and depth (gray16le), FFV1, interleaved
        streams = []
        for fmt, frames in (("bgr0", colors), ("gray16le", depths)):
            s = out.add_stream("ffv1", rate=25)
            s.width, s.height, s.pix_fmt = 48, 32, fmt
            streams.append((s, fmt, frames))
        for i in range(5):
            for s, fmt, frames in streams:
                f = av.VideoFrame.from_ndarray(frames[i], format="rgb24" if fmt == "bgr0" else fmt)
                f = f.reformat(format=fmt)
                f.pts = i
                for p in s.encode(f):
                    out.mux(p)
        for s, _, _ in streams:
            for p in s.encode(None):
                out.mux(p)
    (tmp_path / "rgbd.nut").write_bytes(buf.getvalue())
    assert run(tiny_model, "rgbd.nut", "-o", "file.mkv") == 0
    server = servers(send=buf.getvalue())  # accepts once: a second connection would wait, then time out
    assert run(tiny_model, server.url, "-o", "net.mkv", "--net-timeout", "5") == 0
    assert frames_of(tmp_path / "net.mkv")[1] == frames_of(tmp_path / "file.mkv")[1]
    assert server.connections == 1


@pytest.mark.parametrize("fmt", ["matroska", "nut"])
def test_depth_sent_to_tcp_is_what_the_file_holds(clip, tiny_model, servers, tmp_path, fmt):
    file = "file.mkv" if fmt == "matroska" else "file.nut"  # the same container: the same time base
    assert run(tiny_model, clip["color"], clip["depth"], "-o", file) == 0
    before = sorted(os.listdir(tmp_path))
    receiver = servers()
    assert run(tiny_model, clip["color"], clip["depth"], "-o", receiver.url, *(["--format", fmt] if fmt != "nut"
                                                                                else [])) == 0
    receiver.thread.join(WAIT_S)
    name, got = frames_of(receiver.received)
    assert fmt in name and got == frames_of(tmp_path / file)[1] and len(got) == 6
    assert sorted(os.listdir(tmp_path)) == before  # no partial file, no "tcp:" folder


@pytest.mark.parametrize("fmt", ["mpegts", "flv"])
def test_lossy_h264_goes_out_in_mpegts_and_flv(make_clip, tiny_model, servers, tmp_path, monkeypatch, fmt):
    monkeypatch.chdir(tmp_path)
    clip = make_clip(n=6, bits=8, color_ext=".mkv")  # libx264 holds 8 or 10 bits
    receiver = servers()
    assert run(tiny_model, clip["color"], clip["depth"], "-o", receiver.url, "--format", fmt,
               "--codec", "libx264") == 0
    receiver.thread.join(WAIT_S)
    with av.open(io.BytesIO(receiver.received)) as c:
        assert c.format.name == fmt and c.streams.video[0].codec_context.name == "h264"
        assert len(list(c.decode(video=0))) == 6


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("igde-stream: error: ") and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("role", ["color", "depth", "output"])
def test_a_refused_connection_is_one_line_and_quick(clip, tiny_model, tmp_path, capsys, role):
    url = dead_url()
    paths = {"color": clip["color"], "depth": clip["depth"], "output": "out.mkv", role: url}
    before = sorted(os.listdir(tmp_path))
    t0 = time.monotonic()
    assert run(tiny_model, paths["color"], paths["depth"], "-o", paths["output"]) == 2
    assert time.monotonic() - t0 < WAIT_S
    err = one_line(capsys)
    assert f"{url}: " in err and "connection refused: nothing listens there" in err
    assert sorted(os.listdir(tmp_path)) == before


def test_a_receiver_that_stops_reading_times_out_in_one_line(tiny_model, servers, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)  # noise: every frame a few kB of FFV1
    color = write_video(tmp_path / "c.mkv", [rng.integers(0, 256, (48, 64, 3), np.uint8) for _ in range(40)],
                        fmt="rgb24", codec="ffv1")
    depth = write_video(tmp_path / "d.mkv", [rng.integers(0, 65536, (48, 64), np.uint16) for _ in range(40)],
                        fmt="gray16le")
    stalled = servers(silent=True)
    t0 = time.monotonic()  # FFmpeg's own send buffer kept small too (a tcp:// URL option)
    assert run(tiny_model, color, depth, "-o", stalled.url + "?send_buffer_size=4096", "--net-timeout", "1") == 2
    assert time.monotonic() - t0 < WAIT_S
    assert "no answer within 1 s (--net-timeout) after" in one_line(capsys)


def test_a_source_that_sends_nothing_times_out_in_one_line(clip, tiny_model, servers, capsys):
    silent = servers(silent=True)
    t0 = time.monotonic()
    assert run(tiny_model, silent.url, clip["depth"], "-o", "out.mkv", "--net-timeout", "1") == 2
    assert time.monotonic() - t0 < 10
    assert "nothing received within 1 s (--net-timeout)" in one_line(capsys)
    assert not os.path.exists("out.mkv")


@pytest.mark.parametrize("suffix", [".mkv", ".nut"])
def test_a_source_that_stalls_mid_stream_times_out_in_one_line(tiny_model, servers, tmp_path, monkeypatch, capsys,
                                                               suffix):
    """The depth sends three quarters of its bytes (past what FFmpeg reads ahead when it opens the
    stream), then nothing: FFmpeg's read timeout is said as such, not as damaged data (Matroska:
    "Immediate exit requested"; NUT: "Invalid data found", a packet cut by the timeout)."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    color = write_video(tmp_path / "c.mkv", [rng.integers(0, 256, (48, 64, 3), np.uint8) for _ in range(60)],
                        fmt="rgb24", codec="ffv1")
    depth = write_video(tmp_path / f"d{suffix}", [rng.integers(0, 65536, (48, 64), np.uint16) for _ in range(60)],
                        fmt="gray16le")
    data = depth.read_bytes()
    stalled = servers(send=data[:len(data) * 3 // 4], silent=True)
    before = sorted(os.listdir(tmp_path))
    assert run(tiny_model, color, stalled.url, "-o", "out.mkv", "--net-timeout", "1") == 2
    err = one_line(capsys)
    assert f"{stalled.url}: nothing received within 1 s (--net-timeout) (after frame " in err, err
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("args, said", [
    (["foo://x", "{depth}", "-o", "out.mkv"], "unknown protocol 'foo'"),
    (["{color}", "{depth}", "-o", "foo://x"], "unknown protocol 'foo'"),
    (["{color}", "{depth}", "-o", "http://127.0.0.1:9/x"], "not a network output"),
    (["{color}", "{depth}", "-o", "udp://127.0.0.1:9", "--format", "mpegts"], "mpegts cannot hold ffv1"),
    (["{color}", "{depth}", "-o", "rtmp://127.0.0.1:9/a/b"], "flv cannot hold ffv1"),
    (["{color}", "{depth}", "-o", "rtmp://127.0.0.1:9/a/b", "--format", "nut"], "carries FLV only"),
    (["{color}", "{depth}", "-o", "out.mkv", "--gt", "{depth}", "--report", "tcp://127.0.0.1:9/r.json"],
     "a network URL for --report"),
    (["{color}", "{depth}", "-o", "out.mkv", "--rgbd-out", "tcp://127.0.0.1:9"], "a network URL for --rgbd-out"),
])
def test_what_cannot_be_done_is_refused_before_any_connection(clip, tiny_model, tmp_path, capsys, args, said):
    before = sorted(os.listdir(tmp_path))
    assert run(tiny_model, *(a.format(**clip) for a in args)) == 2
    assert said in one_line(capsys)
    assert sorted(os.listdir(tmp_path)) == before


def test_the_ground_truth_cannot_share_the_depths_stream(clip, tiny_model, servers, capsys):
    depth = servers(send=clip["depth"].read_bytes())
    assert run(tiny_model, clip["color"], depth.url, "-o", "out.mkv", "--gt", depth.url) == 2
    assert "read once" in one_line(capsys) and not urls._opened


def test_float_depth_from_a_url_needs_a_range():
    """A float map from the first frame reads the input twice: stdin and network streams cannot."""
    from types import SimpleNamespace

    from igde_stream.errors import InputError
    from igde_stream.stream.floatdepth import prepare

    assert urls.read_once("-") and urls.read_once("udp://127.0.0.1:9") and not urls.read_once("d.mkv")
    depth = SimpleNamespace(info=SimpleNamespace(pix_fmt="grayf32le"), path="udp://127.0.0.1:9")
    with pytest.raises(InputError, match=r"float depth from a network stream needs float_range=\(LO, HI\)") as info:
        prepare(depth, None, None, "near-high", None, None)
    from igde_stream.errors import cli_message

    assert "needs --float-range LO:HI" in cli_message(info.value)  # the command's words
