"""Outputs read back as other programs read them (PyAV's frames, as ffprobe / ffmpeg give them), found by
a sweep of suffix x --codec: MPEG-2 depth in Matroska was written full range under a full-range tag that
FFmpeg's MPEG-1/2 decoder overrides (every frame says limited: 40 read as 28); uncompressed 16-bit gray
failed at the first frame in .mkv ("Invalid argument") and was read back as RGB555 from .mov / .avi;
x264's B-frames in AVI, which stores no reordering, read back with shuffled times. Expected values:
the levels written, range-expanded by the definition (16..235 -> 0..255), and times k / rate."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from conftest import has_encoder

from igde_stream.errors import OutputError
from igde_stream.stream.info import VideoInfo
from igde_stream.stream.writer import DepthWriter

H, W = 48, 64
LEVELS = [40, 90, 140, 190, 240]


def _like(pix_fmt="gray", tb=Fraction(1, 1000), rate=Fraction(25)):
    return VideoInfo(path="in.mkv", codec="ffv1", width=W, height=H, pix_fmt=pix_fmt, time_base=tb, rate=rate,
                     start_pts=0, frames=None, duration=None)


def _write(out, codec, frames, like=None):
    with DepthWriter(out, like or _like(), codec=codec) as w:
        for k, f in enumerate(frames):
            w.write(f, 40 * k)


@pytest.mark.parametrize("codec", ["mpeg2video", "mpeg1video"])
def test_mpeg12_depth_in_matroska_reads_back_its_levels(tmp_path, codec):
    if not has_encoder(codec):
        pytest.skip(f"no {codec} encoder in this FFmpeg build")
    out = tmp_path / "out.mkv"
    _write(out, codec, [np.full((H, W), v, np.uint8) for v in LEVELS])
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == len(LEVELS)
    for f, level in zip(frames, LEVELS):
        y = float(np.median(f.reformat(format="yuv420p").to_ndarray()[:H]))  # the stored luma, as it is
        # what a reader makes of the luma: limited (the decoder's word, 1) is stretched 16..235 -> 0..255
        read = (y - 16) * 255 / 219 if f.color_range != 2 else y
        assert abs(read - level) <= 2, (f.color_range, y, level)


@pytest.mark.parametrize("suffix", [".mkv", ".mov", ".avi"])
def test_uncompressed_16bit_depth_is_refused_where_it_does_not_read_back(tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    with pytest.raises(OutputError, match=r"cannot hold uncompressed gray16le frames.*use \.nut for --codec rawvideo"):
        DepthWriter(out, _like("gray16le"), codec="rawvideo")
    assert list(tmp_path.iterdir()) == []


def test_uncompressed_16bit_depth_in_nut_keeps_its_values(tmp_path):
    out = tmp_path / "out.nut"
    frames = [np.full((H, W), v * 257, np.uint16) for v in LEVELS]
    _write(out, "rawvideo", frames, _like("gray16le"))
    with av.open(str(out)) as c:
        got = [f.to_ndarray() for f in c.decode(video=0)]
    assert [g.dtype for g in got] == [np.uint16] * len(LEVELS)
    assert [int(g[0, 0]) for g in got] == [v * 257 for v in LEVELS]


def test_x264_in_avi_reads_back_in_order(tmp_path):
    if not has_encoder("libx264"):
        pytest.skip("no libx264 encoder in this FFmpeg build")
    n = 12
    out = tmp_path / "out.avi"
    rng = np.random.default_rng(5)  # moving texture: x264 puts B-frames between such frames by default
    base = rng.integers(0, 255, (H, W + n * 4), np.uint8)
    _write(out, "libx264", [np.ascontiguousarray(base[:, 4 * k:4 * k + W]) for k in range(n)])
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        times = [float(f.pts * s.time_base) for f in c.decode(s)]
    assert len(times) == n
    steps = np.diff(times)
    assert np.allclose(steps, 0.04, atol=0.001), times  # one frame slot apart, in display order


def test_views_in_avi_read_back_in_order(tmp_path):
    """The views writer (``igde-stream views render -o views.avi --codec h264``) had the same shuffle."""
    if not has_encoder("libx264"):
        pytest.skip("no libx264 encoder in this FFmpeg build")
    from igde_stream.stream.views import ColorWriter

    n = 12
    rng = np.random.default_rng(6)
    base = rng.integers(0, 255, (H, W + n * 4, 3), np.uint8)
    w = ColorWriter(tmp_path / "views.avi", "h264", Fraction(25), Fraction(1, 1000))
    for k in range(n):
        w.write(np.ascontiguousarray(base[:, 4 * k:4 * k + W]), 40 * k)
    w.commit()
    with av.open(str(tmp_path / "views.avi")) as c:
        s = c.streams.video[0]
        times = [float(f.pts * s.time_base) for f in c.decode(s)]
    assert len(times) == n
    assert np.allclose(np.diff(times), 0.04, atol=0.001), times


def _gray_as_ffmpeg_reads(path):
    """Each frame as FFmpeg's swscale turns it into gray (an untagged YUV frame counts as limited)."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray") for f in c.decode(video=0)]


@pytest.mark.parametrize("suffix, codec", [(".nut", "ffv1"), (".avi", "ffv1"), (".nut", "utvideo"), (".avi", "utvideo"),
                                           (".nut", "rawvideo")])
def test_lossless_depth_where_no_range_tag_survives_reads_back_as_written(tmp_path, suffix, codec):
    """Full-range YUV depth (or gray through an encoder without gray: Ut Video) went out as YUV, tagged
    full range, in containers that keep no tag for it: FFmpeg read it stretched (40 as 28). Written as
    gray (or RGB of three equal channels) instead."""
    if not has_encoder(codec):
        pytest.skip(f"no {codec} encoder in this FFmpeg build")
    out = tmp_path / f"out{suffix}"
    frames = [np.full((H, W), v, np.uint8) for v in LEVELS]
    fmt = "gray" if codec == "utvideo" else "yuv420p"  # 8-bit gray: Ut Video took yuv444p
    _write(out, codec, frames, _like(fmt))
    got = _gray_as_ffmpeg_reads(out)
    assert [int(np.median(g)) for g in got] == LEVELS


def _avi_times(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [float(f.pts * s.time_base) for f in c.decode(s)]


# a late start: a transport stream at 1.4 s (1/90000), or an input already timed in 1 / rate (an AVI or
# .y4m input, 1/25) at 0.4 s
LATE_STARTS = [(Fraction(1, 90000), 126000, 3600), (Fraction(1, 25), 10, 1)]


@pytest.mark.parametrize("tb, start, step", LATE_STARTS)
def test_avi_from_an_input_that_starts_late_keeps_the_frame_spacing(tmp_path, tb, start, step):
    """Frame 0 went to AVI slot 42 (or 10) behind empty slots, which FFmpeg reads as frame 0 at 0 s and
    frame 1 at 1.43 s (0.44 s); from an input in 1 / rate the writer skipped the first-slot shift, as
    the time base needed no change. AVI now starts at the first frame."""
    out = tmp_path / "out.avi"
    n = 6
    with DepthWriter(out, _like(tb=tb)) as w:
        for k, f in enumerate(np.full((n, H, W), 100, np.uint8)):
            w.write(f, start + step * k)  # k / 25 s after the start
    assert _avi_times(out) == pytest.approx([0.04 * k for k in range(n)], abs=0.001)


@pytest.mark.parametrize("tb, start, step", LATE_STARTS)
def test_views_in_avi_from_an_input_that_starts_late(tmp_path, tb, start, step):
    from igde_stream.stream.views import ColorWriter

    w = ColorWriter(tmp_path / "views.avi", "ffv1", Fraction(25), tb)
    for k in range(5):
        w.write(np.full((H, W, 3), 30 * k, np.uint8), start + step * k)
    w.commit()
    assert _avi_times(tmp_path / "views.avi") == pytest.approx([0.04 * k for k in range(5)], abs=0.001)


def test_uncompressed_full_range_yuv_depth_in_matroska_is_written(tmp_path):
    """yuvj420p (a transport stream's depth) reads back from Matroska as yuv420p tagged full range: the
    same frames, not a reason to refuse the output."""
    out = tmp_path / "out.mkv"
    frames = [np.full((H, W), v, np.uint8) for v in LEVELS]
    _write(out, "rawvideo", frames, _like("yuvj420p"))
    assert [int(np.median(g)) for g in _gray_as_ffmpeg_reads(out)] == LEVELS


def test_uncompressed_depth_in_raw_video_is_the_frames_bytes(tmp_path):
    """Raw video (``.yuv``) is the frames one after another: no trial frame to judge it by (one cannot
    be read back without its size), and 16-bit gray goes there as it is."""
    out = tmp_path / "out.yuv"
    frames = [np.full((H, W), 1000 * (k + 1), np.uint16) for k in range(3)]
    with DepthWriter(out, _like("gray16le"), codec="rawvideo") as w:
        for k, f in enumerate(frames):
            w.write(f, 40 * k)
    assert out.read_bytes() == b"".join(f.astype("<u2").tobytes() for f in frames)


@pytest.mark.parametrize("limited, said", [(True, "cannot carry a limited-range tag"), (False, "keeps no range tag")])
def test_yuv_depth_written_as_gray_says_why(tmp_path, caplog, limited, said):
    """FFV1 in NUT keeps no range tag: YUV depth goes there as gray, and the log says why (limited input:
    no tag for its range; full-range input: FFmpeg would read untagged YUV as limited)."""
    like = VideoInfo(path="in.mkv", codec="h264", width=W, height=H, pix_fmt="yuv420p", time_base=Fraction(1, 1000),
                     rate=Fraction(25), start_pts=0, frames=None, duration=None, limited=limited)
    with caplog.at_level("INFO", logger="igde_stream"):
        with DepthWriter(tmp_path / "out.nut", like, codec="ffv1") as w:
            w.write(np.full((H, W), 100, np.uint8), 0)
    assert w.pix_fmt == "gray"
    assert any(said in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_mjpeg_keeps_the_inputs_yuv_layout_in_mp4(tmp_path):
    """JPEG is full range in any container: full-range 4:2:0 depth through MJPEG in MP4 stays 4:2:0, not
    a 4:4:4 stand-in for gray."""
    out = tmp_path / "out.mp4"
    _write(out, "mjpeg", [np.full((H, W), v, np.uint8) for v in LEVELS], _like("yuvj420p"))
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert [f.format.name for f in frames] == ["yuvj420p"] * len(LEVELS)
    assert [int(np.median(f.to_ndarray()[:H])) for f in frames] == pytest.approx(LEVELS, abs=2)
