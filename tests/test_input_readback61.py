"""Inputs as users bring them that earlier sweeps left out (sweep 61): a depth or colour stream over
UDP, which marks no end (ffmpeg -f mpegts udp://... or -f nut udp://... finishes and goes quiet),
read to its last frame; single-channel OpenEXR depth whose channel FFmpeg does not decode (a Z pass,
an R-only map), refused in one line that names the channel; and more. Expected values come from the
frames written (NumPy), never from the reader under test.
"""

from __future__ import annotations

import socket
import struct
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


def write_exr(path: Path, channels: dict[str, np.ndarray], half: bool = False) -> Path:
    """An uncompressed scanline OpenEXR file holding ``channels`` (name -> H x W), written from the
    OpenEXR file layout: magic, version 2, the header's attributes, the line offsets, one line a block."""
    names = sorted(channels)
    h, w = channels[names[0]].shape

    def attr(name: str, kind: str, value: bytes) -> bytes:
        return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value

    chlist = b"".join(n.encode() + b"\0" + struct.pack("<iB3xii", 1 if half else 2, 0, 1, 1) for n in names) + b"\0"
    box = struct.pack("<4i", 0, 0, w - 1, h - 1)
    header = (b"\x76\x2f\x31\x01" + struct.pack("<i", 2) + attr("channels", "chlist", chlist)
              + attr("compression", "compression", b"\0") + attr("dataWindow", "box2i", box)
              + attr("displayWindow", "box2i", box) + attr("lineOrder", "lineOrder", b"\0")
              + attr("pixelAspectRatio", "float", struct.pack("<f", 1)) + attr("screenWindowCenter", "v2f", bytes(8))
              + attr("screenWindowWidth", "float", struct.pack("<f", 1)) + b"\0")
    lines = []
    for y in range(h):
        data = b"".join(channels[n][y].astype("<f2" if half else "<f4").tobytes() for n in names)
        lines.append(struct.pack("<ii", y, len(data)) + data)
    offsets, at = [], len(header) + 8 * h
    for line in lines:
        offsets.append(at)
        at += len(line)
    path.write_bytes(header + struct.pack(f"<{h}Q", *offsets) + b"".join(lines))
    return path


def _depth_m(k: int) -> np.ndarray:
    d = np.tile(np.linspace(0.5, 6.0, 32, dtype=np.float32), (24, 1)) + 0.05 * k
    d[4:10, 6:14] = 0.4
    return d


def test_exr_written_by_this_test_reads_back_as_its_y_channel(tmp_path):
    """The writer above against FFmpeg's decoder: a Y channel (float, and half) is the depth, value
    for value, so the refusals below are about the channel names, not a broken file."""
    for half in (False, True):
        folder = tmp_path / ("half" if half else "float")
        folder.mkdir()
        for k in range(2):
            write_exr(folder / f"{k:04d}.exr", {"Y": _depth_m(k)}, half)
        with VideoReader(str(folder / "%04d.exr"), "depth") as r:
            got = [f.data for f in r.frames()]
        want = [_depth_m(k).astype(np.float16).astype(np.float32) if half else _depth_m(k) for k in range(2)]
        assert len(got) == 2 and all(np.array_equal(g, w) for g, w in zip(got, want))


@pytest.mark.parametrize("names", [["Z"], ["R"], ["ViewLayer.Depth.Z"]])
@pytest.mark.parametrize("half", [False, True])
def test_single_channel_exr_not_named_y_is_read_from_its_channel(tmp_path, names, half):
    """Before: a Blender-style Z pass, an R-only map or a layered depth channel was "video stream
    without a frame size", then (sweep 61) refused naming the channel. Now read (``exrdepth``), value
    for value, half widened exactly."""
    for k in range(2):
        write_exr(tmp_path / f"{k:04d}.exr", {n: _depth_m(k) for n in names}, half)
    with VideoReader(str(tmp_path / "%04d.exr"), "depth") as r:
        got = [f.data for f in r.frames()]
    want = [_depth_m(k).astype(np.float16).astype(np.float32) if half else _depth_m(k) for k in range(2)]
    assert len(got) == 2 and all(np.array_equal(g, w) for g, w in zip(got, want))


def test_exr_with_colour_and_a_z_channel_reads_z_as_depth_and_rgb_as_colour(tmp_path):
    """RGB plus a Z depth pass: before, FFmpeg decoded R, G, B and dropped Z, so the file was refused
    as depth. Now depth is Z, and the same file as colour is its R, G, B (0.5 linear: sRGB code 188)."""
    d = _depth_m(0)
    write_exr(tmp_path / "0000.exr", {"R": d * 0 + 0.5, "G": d * 0 + 0.5, "B": d * 0 + 0.5, "Z": d})
    with VideoReader(str(tmp_path / "0000.exr"), "depth") as r:
        assert np.array_equal(next(r.frames()).data, d)
    with VideoReader(str(tmp_path / "0000.exr"), "color") as r:
        assert np.all(next(r.frames()).data == 188)  # 1.055 * 0.5 ** (1 / 2.4) - 0.055 = 0.7354 -> 187.5


def _png_sequence(folder: Path, frames: list[np.ndarray]) -> str:
    """PNGs of ``frames`` (H x W gray or H x W x 3 RGB, 8 or 16 bits) written by OpenCV."""
    import cv2

    folder.mkdir()
    for k, a in enumerate(frames):
        assert cv2.imwrite(str(folder / f"{k:04d}.png"), a[..., ::-1] if a.ndim == 3 else a)
    return str(folder / "%04d.png")


def test_depth_png_sequence_changing_bit_depth_is_refused_before_any_frame(tmp_path):
    """Before: 16-bit depth PNGs with one 8-bit image among them (two tools' maps in one folder) were
    refused only when the run reached that image, after the model had worked through every frame
    before it (frame 5000 of a long clip). Now the headers are read first, and the line names it."""
    _, depths, _ = scene(6, bits=16)
    frames = [d if k != 4 else (d >> 8).astype(np.uint8) for k, d in enumerate(depths)]
    path = _png_sequence(tmp_path / "d", frames)
    with pytest.raises(InputError, match=r"pixel format changes mid-stream at frame 4 \(0004\.png\): gray16be "
                                         r"before, gray from there \(a depth stream must keep one format\)"):
        VideoReader(path, "depth")  # opening it is enough: no frame is decoded


def test_png_sequence_changing_size_is_refused_before_any_frame_for_colour_too(tmp_path):
    colors, _, _ = scene(5)
    frames = [c if k != 3 else np.repeat(np.repeat(c, 2, 0), 2, 1) for k, c in enumerate(colors)]
    path = _png_sequence(tmp_path / "c", frames)
    with pytest.raises(InputError, match=r"frame size changes mid-stream at frame 3 \(0003\.png\): 64x48 before, "
                                         r"128x96 from there \(a colour"):
        VideoReader(path, "color")  # at the opening


def test_colour_png_sequence_mixing_8_and_16_bit_is_still_read(tmp_path):
    """Colour is converted to 8-bit RGB whatever its format: a 16-bit image among 8-bit ones is read
    (within one level, swscale's dither), not refused by the header check."""
    colors, _, _ = scene(4)
    frames = [c if k != 2 else c.astype(np.uint16) * 257 for k, c in enumerate(colors)]
    path = _png_sequence(tmp_path / "c", frames)
    with VideoReader(path, "color") as r:
        got = [f.data for f in r.frames()]
    assert len(got) == 4 and all(np.abs(g.astype(int) - c).max() <= 1 for g, c in zip(got, colors))


def _tagged_colour(path: Path, trc: int, primaries: int) -> Path:
    """Three H.264 colour frames whose stream and frames carry transfer ``trc`` and ``primaries``."""
    import av

    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.color_trc, s.codec_context.color_primaries = trc, primaries
        for i in range(3):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), format="rgb24").reformat(
                format="yuv420p")
            f.pts, f.color_trc, f.color_primaries = i, trc, primaries
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    return path


@pytest.mark.parametrize("trc, said", [(16, "PQ"), (18, "HLG"), (1, None), (14, None)])
def test_hdr_colour_is_said_to_be_read_without_tone_mapping(tmp_path, caplog, trc, said):
    """Before: 10-bit HEVC colour tagged PQ or HLG (a phone's HDR video) ran without a word, its coded
    values taken as SDR RGB; on the demo clip that cost 2.2 dB (PQ) / 1.8 dB (HLG) of the model's gain
    against the same frames in SDR (docs/formats.md, "HDR colour"). Now one warning says so; SDR
    (BT.709, and BT.2020's SDR transfer 14) gets none."""
    import logging

    path = _tagged_colour(tmp_path / "c.mkv", trc, 9 if trc != 1 else 1)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with VideoReader(str(path), "color") as r:
            assert len(list(r.frames())) == 3
    hdr = [m for m in caplog.messages if "HDR colour" in m]
    assert hdr == ([] if said is None else [hdr[0]]) and (said is None or f"HDR colour ({said})" in hdr[0])
