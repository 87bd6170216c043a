"""Edges of the depth I/O helpers, from mutation survivors: bit depths of pixel formats, gray stored as
RGB and float depth with one channel that differs, neutral chroma in written YUV depth, the list of
stale partial files removed, and the writer's pts rules (equal pts refused, missing pts rounded
half up). Expected values by hand."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from igde_stream.errors import OutputError
from igde_stream.stream import DepthWriter
from igde_stream.stream.formats import bits_of, depth_frame, float_array, gray_of_rgb
from igde_stream.stream.writer import remove_stale_parts, temp_path

from conftest import encode_frames, read_video
from test_stream_roundtrip import depth_info


def test_bits_of_formats():
    assert [bits_of(f) for f in (None, "", "gray", "gray10le", "yuv420p12le", "gray16le", "grayf32le")] == \
        [8, 8, 8, 10, 12, 16, 16]
    assert bits_of("no-such-format") == 8  # unknown to FFmpeg: read as 8 bit


@pytest.mark.parametrize("odd", [0, 1, 2])
def test_a_gray_picture_stored_as_rgb_needs_three_equal_channels(odd):
    a = np.full((4, 6, 3), 90, np.uint8)
    np.testing.assert_array_equal(gray_of_rgb(av.VideoFrame.from_ndarray(a, format="rgb24")), a[..., 0])
    a[1, 2, odd] = 91  # one channel differs in one pixel, whichever it is
    with pytest.raises(ValueError, match="channels differ"):
        gray_of_rgb(av.VideoFrame.from_ndarray(a, format="rgb24"))


@pytest.mark.parametrize("odd", [0, 1, 2])
def test_float_depth_in_three_channels_needs_them_equal(odd):
    a = np.full((4, 6, 3), 2.5, np.float32)
    np.testing.assert_array_equal(float_array(av.VideoFrame.from_ndarray(a, format="rgbf32le")), a[..., 0])
    a[3, 0, odd] = 2.75
    with pytest.raises(ValueError, match="channels differ"):
        float_array(av.VideoFrame.from_ndarray(a, format="rgbf32le"))


@pytest.mark.parametrize("pix_fmt, neutral", [("yuv420p", 128), ("yuv444p", 128), ("yuv420p10le", 512)])
def test_written_yuv_depth_has_neutral_chroma(pix_fmt, neutral):
    depth = np.arange(8 * 6, dtype=np.uint16 if neutral > 255 else np.uint8).reshape(6, 8)
    frame = depth_frame(depth, pix_fmt)
    dtype = "<u2" if neutral > 255 else np.uint8
    for plane in frame.planes[1:]:
        rows = np.frombuffer(plane, dtype).reshape(plane.height, -1)[:, : plane.width]
        assert (rows == neutral).all(), pix_fmt


def test_stale_partial_files_removed_are_returned(tmp_path):
    out = tmp_path / "out.mkv"
    stale = temp_path(out, 4194999)  # no such process: above Linux's pid_max
    stale.write_bytes(b"half")
    mine = temp_path(out)  # this process's own is left alone
    mine.write_bytes(b"mine")
    assert remove_stale_parts(out) == [stale]
    assert not stale.exists() and mine.exists()
    assert remove_stale_parts(out) == []


def test_writer_refuses_a_pts_that_does_not_advance(tmp_path):
    w = DepthWriter(tmp_path / "out.mkv", depth_info(Fraction(25)))
    w.write(np.zeros((8, 16), np.uint8), 5)
    with pytest.raises(OutputError, match="pts 5 does not come after 5"):
        w.write(np.zeros((8, 16), np.uint8), 5)
    w.abort()
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left


def test_missing_pts_round_half_up(tmp_path):
    # 4 fps in a 1/10 s time base: frame k at 2.5 k ticks -> 0, 2.5 -> 3, 5, 7.5 -> 8, 10 (ms in Matroska)
    out = tmp_path / "out.mkv"
    w = DepthWriter(out, depth_info(Fraction(4), time_base=Fraction(1, 10)))
    for k in range(5):
        w.write(np.full((8, 16), k, np.uint8), None)
    w.commit()
    _, pts, facts = read_video(out)
    assert [Fraction(p) * facts["time_base"] for p in pts] == [Fraction(t, 10) for t in (0, 3, 5, 8, 10)]


@pytest.mark.parametrize("codec,pix_fmt,bits", [
    ("ffv1", "bgr0", 8),  # FFmpeg's FFV1 from RGB pictures
    ("ffv1", "gbrp16le", 16),
    ("ffv1", "gbrp10le", 10),
    ("png", "ya8", 8),  # PNG gray + alpha
    ("png", "ya16be", 16),
    ("png", "rgba", 8),
])
def test_gray_depth_stored_as_rgb_or_with_alpha_reads_as_stored(tmp_path, codec, pix_fmt, bits):
    """Gray depth that an encoder stored as planar RGB, RGB with a padding byte or gray with alpha
    reads back as the gray values written (10-bit planar RGB as 0..1023, not stretched), in the
    format the file declares."""
    from igde_stream.stream import VideoReader

    rng = np.random.default_rng(bits)
    peak = (1 << bits) - 1
    gray = [rng.integers(0, peak + 1, (6, 10)).astype(np.uint16 if bits > 8 else np.uint8) for _ in range(3)]
    if pix_fmt.startswith("ya"):
        src = "gray16le" if bits > 8 else "gray"
        frames = gray
    else:  # three equal channels, 16-bit samples scaled to the source format's range for 10 bits
        src = "rgb48le" if bits > 8 else "rgb24"
        frames = [np.repeat(g[..., None] << (16 - bits) if bits == 10 else g[..., None], 3, axis=2) for g in gray]
    path = encode_frames(tmp_path / f"d.{'mkv' if codec == 'ffv1' else 'mov'}",
                         [av.VideoFrame.from_ndarray(f, format=src) for f in frames], codec, pix_fmt)
    with VideoReader(path, "depth") as r:
        assert r.info.pix_fmt == pix_fmt and r.info.bits == bits
        got = [f.data for f in r.frames()]
    assert len(got) == 3
    for g, d in zip(gray, got):
        assert d.dtype == g.dtype
        np.testing.assert_array_equal(d, g)


@pytest.mark.parametrize("pix_fmt,bits,out_fmt", [
    ("gbrp10le", 10, "gray10le"),  # was gray16le holding 0..1023: read back as 16-bit depth
    ("gbrp12le", 12, "gray12le"),
    ("gbrp16le", 16, "gray16le"),
    ("bgr0", 8, "gray"),
])
def test_gray_depth_stored_as_rgb_is_written_back_as_gray_of_its_bit_depth(tmp_path, enhancer, pix_fmt, bits,
                                                                             out_fmt):
    """Gray depth that FFV1 stored as planar RGB is written back as plain gray of its own bit depth:
    10-bit values (0..1023, normalised by 1023 in the run) come out as gray10le, so the output reads
    back as 10-bit depth and compares with other 10-bit depth, not as gray16le holding 0..1023,
    which reads as 16-bit depth (peak 65535) and is another bit depth than the input's."""
    from conftest import scene, write_video
    from igde_stream.stream import VideoReader, enhance_file

    colors, depths, _ = scene(3, (32, 24), bits=16)
    gray = [(d >> (16 - bits)).astype(np.uint16 if bits > 8 else np.uint8) for d in depths]
    src = "rgb48le" if bits > 8 else "rgb24"
    frames = [np.repeat(g[..., None] << (16 - bits) if 8 < bits < 16 else g[..., None], 3, axis=2) for g in gray]
    d = encode_frames(tmp_path / "d.mkv", [av.VideoFrame.from_ndarray(f, format=src) for f in frames], "ffv1", pix_fmt)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", rate=Fraction(25))
    summary = enhance_file(c, d, tmp_path / "out.mkv", enhancer=enhancer, gt_path=d)
    assert summary["pix_fmt"] == out_fmt and summary["peak"] == (1 << bits) - 1
    with VideoReader(tmp_path / "out.mkv", "depth") as r:
        assert r.info.pix_fmt == out_fmt and r.info.bits == bits
        out = [f.data for f in r.frames()]
    assert len(out) == 3 and max(int(o.max()) for o in out) <= (1 << bits) - 1
    # the output as ground truth beside the input: the same bit depth, every frame compared
    again = enhance_file(c, d, tmp_path / "again.mkv", enhancer=enhancer, gt_path=tmp_path / "out.mkv")
    assert again.get("gt_problem") is None and again["matched_frames"] == 3


@pytest.mark.parametrize("sar, warns", [(Fraction(4, 3), True), (Fraction(1, 1), False)])
def test_non_square_pixels_are_said_once_with_the_size_a_player_shows(tmp_path, caplog, sar, warns):
    """Anamorphic video (144 x 108 stored, pixels 4:3 wide: a player shows 192 x 108): the reader
    says (info: the outputs carry the aspect, test_aspect_tags) that the frames are read as stored;
    square pixels say nothing."""
    import logging

    from igde_stream.stream import VideoReader

    path = tmp_path / "c.mp4"
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 144, 108, "yuv420p"
        s.codec_context.sample_aspect_ratio = sar
        for i in range(2):
            f = av.VideoFrame.from_ndarray(np.zeros((108, 144, 3), np.uint8), format="rgb24")
            f.pts = i
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        with VideoReader(path, "color") as r:
            assert (r.info.width, r.info.height) == (144, 108)
    said = [m for m in caplog.messages if "not square" in m]
    assert len(said) == (1 if warns else 0)
    if warns:
        assert "sample aspect ratio 4:3; a player shows 144x108 as 192x108" in said[0]
