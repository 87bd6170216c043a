"""Inputs as users bring them that earlier sweeps left out (sweep 61): a depth or colour stream over
UDP, which marks no end (ffmpeg -f mpegts udp://... or -f nut udp://... finishes and goes quiet),
read to its last frame. Expected values come from the
frames written (NumPy), never from the reader under test.
"""

from __future__ import annotations

import socket
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.errors import InputError
from igde_stream.stream import VideoReader
from igde_stream.stream.sources import InputOptions

DATAGRAM = 1316  # what ffmpeg's MPEG-TS over UDP sends (7 TS packets); NUT goes in the same slices here


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _send_later(data: bytes, port: int, delay: float = 0.7) -> threading.Thread:
    """Send ``data`` to 127.0.0.1:``port`` in datagrams after ``delay`` s (the reader binds the port
    while it opens), then go quiet, as ffmpeg -f ... udp://... does when its input ends."""

    def run() -> None:
        time.sleep(delay)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(0, len(data), DATAGRAM):
                s.sendto(data[i:i + DATAGRAM], ("127.0.0.1", port))
                time.sleep(0.002)  # loopback drops what a full receive buffer cannot take

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("codec, container", [("ffv1", "nut"), ("libx264", "mpegts")])
def test_udp_stream_that_goes_quiet_ends_there_with_every_frame(tmp_path, codec, container):
    """Before: the end of a UDP stream (silence: UDP marks no end) was an error, "nothing received
    within S s (after frame 9)" for NUT and "cannot decode frame 8: Input/output error" for MPEG-TS
    (FFmpeg's timeout struck while probing, the frames the decoder held lost): no UDP input could
    ever give an output. Now silence after the first packet is the end, as ffmpeg takes it, and the
    decoder's held frames come out."""
    _, depths, _ = scene(8, bits=16) if codec == "ffv1" else (None, None, None)
    colors, _, _ = scene(8)
    if codec == "ffv1":
        clip = write_video(tmp_path / "d.nut", depths, fmt="gray16le", rate=Fraction(25))
        want = depths
    else:  # lossless x264, so the frames read back are the frames written, give or take RGB rounding
        import av

        clip = tmp_path / "c.ts"
        with av.open(str(clip), "w", format="mpegts") as out:
            s = out.add_stream("libx264", rate=25, options={"qp": "0", "bf": "2"})
            s.width, s.height, s.pix_fmt = 64, 48, "yuv444p"
            for i, img in enumerate(colors):
                f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv444p")
                f.pts = i
                for p in s.encode(f):
                    out.mux(p)
            for p in s.encode(None):
                out.mux(p)
        want = colors
    port = _free_udp_port()
    sender = _send_later(clip.read_bytes(), port)
    role = "depth" if codec == "ffv1" else "color"
    with VideoReader(f"udp://127.0.0.1:{port}", role, source=InputOptions(net_timeout=1.5)) as r:
        frames = list(r.frames())
    sender.join(10)
    assert len(frames) == len(want)
    for f, w in zip(frames, want):
        tol = 0 if codec == "ffv1" else 2  # yuv444p -> RGB rounding
        assert np.abs(f.data.astype(int) - w.astype(int)).max() <= tol
    t = [f.pts_time - frames[0].pts_time for f in frames]
    assert np.allclose(t, np.arange(len(want)) / 25, atol=1e-3)


def test_udp_stream_that_never_sends_is_still_one_line():
    """Silence before the first packet is no stream at all: refused as before (no end to take)."""
    port = _free_udp_port()
    t0 = time.monotonic()
    with pytest.raises(InputError, match="nothing received within 1"):
        with VideoReader(f"udp://127.0.0.1:{port}", "depth", source=InputOptions(net_timeout=1.0)) as r:
            list(r.frames())
    assert time.monotonic() - t0 < 8

