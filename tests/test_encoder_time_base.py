"""Encoders that take only some time bases or ranges: MPEG-1 / MPEG-2 video code frame slots of a
standard rate (FFmpeg: "MPEG-1/2 does not support 1000/1 fps"), MPEG-4 Part 2 a time base up to
1/65535 (not a transport stream's 1/90000), MJPEG full-range YUV only. ``--codec mpeg2video`` failed
at the first frame, after the model's work on it, whatever the container; the writer now encodes in
frame slots where the encoder takes no other time base, and refuses a rate it cannot code before any
frame. Times and values read back with PyAV (and ffprobe's view of the same files)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from igde_stream.errors import OutputError
from igde_stream.stream.containers import encoder_refuses, output_time_base
from igde_stream.stream.info import VideoInfo
from igde_stream.stream.writer import DepthWriter

H, W = 48, 64


def _like(tb, rate, pix_fmt="gray"):
    return VideoInfo(path="in.mkv", codec="ffv1", width=W, height=H, pix_fmt=pix_fmt, time_base=tb, rate=rate,
                     start_pts=0, frames=None, duration=None)


def _frames(n):
    # flat frames of distinct levels: a lossy encoder keeps a flat frame's level within a step or two
    return [np.full((H, W), 40 + 30 * k, np.uint8) for k in range(n)]


def _read(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        start = s.start_time or 0
        got = [(float((f.pts - start) * s.time_base), f) for f in c.decode(s)]
    return [t for t, _ in got], [f for _, f in got]


def _levels(path):
    """The median level of each frame as the project's reader gives it (range expanded as FFmpeg does)."""
    from igde_stream.stream.reader import VideoReader

    with VideoReader(path, "depth") as r:
        return [float(np.median(f.data)) for f in r.frames()]


def test_time_base_by_hand():
    ms, ntsc = Fraction(1, 1000), Fraction(30000, 1001)
    assert output_time_base("matroska", "libx264", ms, ntsc, W, H, "yuv420p") == ms  # kept as it is
    assert output_time_base("matroska", "ffv1", ms, Fraction(25), W, H, "gray") == ms
    assert output_time_base("avi", "ffv1", ms, Fraction(25), W, H, "gray") == Fraction(1, 25)  # the muxer's slots
    assert output_time_base("matroska", "mpeg2video", ms, ntsc, W, H, "yuv420p") == Fraction(1001, 30000)
    assert output_time_base("mpegts", "mpeg1video", Fraction(1, 90000), Fraction(25), W, H, "yuv420p") == Fraction(1, 25)
    # MPEG-4 Part 2: 1/1000 is fine, 1/90000 is past its 16-bit time base
    assert output_time_base("matroska", "mpeg4", ms, Fraction(25), W, H, "yuv420p") == ms
    assert output_time_base("nut", "mpeg4", Fraction(1, 90000), Fraction(25), W, H, "yuv420p") == Fraction(1, 25)
    with pytest.raises(ValueError, match="MPEG-1/2 does not support 7/1 fps"):
        output_time_base("matroska", "mpeg2video", ms, Fraction(7), W, H, "yuv420p")
    assert "Non full-range YUV" in encoder_refuses("mjpeg", W, H, "yuv444p", False, Fraction(1, 25), Fraction(25))
    assert encoder_refuses("mjpeg", W, H, "yuv444p", True, Fraction(1, 25), Fraction(25)) is None


def test_the_trial_leaves_ffmpegs_log_level_as_it_was():
    before = av.logging.get_level()
    encoder_refuses("mpeg2video", W, H, "yuv420p", False, Fraction(1, 1000), Fraction(25))
    assert av.logging.get_level() == before


@pytest.mark.parametrize("suffix, codec", [(".mkv", "mpeg2video"), (".ts", "mpeg2video"), (".mpg", "mpeg1video"),
                                           (".mp4", "mpeg2video")])
def test_mpeg12_video_keeps_the_frame_times_of_a_millisecond_input(tmp_path, suffix, codec):
    n, rate = 8, Fraction(30000, 1001)
    pts = [round(k * 1000 / rate) for k in range(n)]  # Matroska's 0, 33, 67, 100, ...
    out = tmp_path / f"out{suffix}"
    with DepthWriter(out, _like(Fraction(1, 1000), rate), codec=codec) as w:
        for f, p in zip(_frames(n), pts):
            w.write(f, p)
    times, frames = _read(out)
    assert len(times) == n
    # every frame within a millisecond of its input time (slots of 1001/30000 s against 1 ms rounding)
    assert max(abs(t - p / 1000) for t, p in zip(times, pts)) <= 0.001
    assert max(abs(a - b) for a, b in zip(_levels(out), [40 + 30 * k for k in range(n)])) <= 2


def test_mpeg4_takes_a_transport_streams_time_base(tmp_path):
    n = 6
    pts = [3600 * k for k in range(n)]  # 25 fps in 1/90000
    out = tmp_path / "out.mkv"
    with DepthWriter(out, _like(Fraction(1, 90000), Fraction(25)), codec="mpeg4") as w:
        for f, p in zip(_frames(n), pts):
            w.write(f, p)
    times, frames = _read(out)
    assert times == pytest.approx([0.04 * k for k in range(n)], abs=0.0005)
    assert max(abs(a - b) for a, b in zip(_levels(out), [40 + 30 * k for k in range(n)])) <= 2


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_mjpeg_is_written_in_full_range(tmp_path, suffix):
    """JPEG's YUV is full range by definition (its decoder gives yuvj formats): writing it limited because
    MP4 keeps no range tag made the encoder refuse it."""
    n = 4
    out = tmp_path / f"out{suffix}"
    with DepthWriter(out, _like(Fraction(1, 1000), Fraction(25)), codec="mjpeg") as w:
        for f, p in zip(_frames(n), [40 * k for k in range(n)]):
            w.write(f, p)
    times, frames = _read(out)
    assert len(frames) == n and frames[0].format.name.startswith("yuvj")
    for f, level in zip(frames, [40 + 30 * k for k in range(n)]):  # stored luma: the depth's own levels
        assert abs(float(np.median(f.to_ndarray(channel_last=False)[0] if f.format.name.endswith("444p")
                                   else f.to_ndarray()[:H])) - level) <= 2


def test_a_rate_mpeg2_cannot_code_is_refused_before_any_frame(tmp_path):
    out = tmp_path / "out.mkv"
    with pytest.raises(OutputError, match=r"cannot set up the mpeg2video encoder: MPEG-1/2 does not support 7/1 fps"):
        DepthWriter(out, _like(Fraction(1, 1000), Fraction(7)), codec="mpeg2video")
    assert list(tmp_path.iterdir()) == []


def test_a_variable_rate_input_through_mpeg2_names_the_codec(tmp_path):
    out = tmp_path / "out.mkv"
    w = DepthWriter(out, _like(Fraction(1, 1000), Fraction(25)), codec="mpeg2video")
    frames = _frames(3)
    w.write(frames[0], 0)
    w.write(frames[1], 40)
    with pytest.raises(OutputError, match=r"frame 2: .*frame slots of --codec mpeg2video at 25 fps"):
        w.write(frames[2], 55)  # 55 ms: slot 1 again
    w.abort()
    assert list(tmp_path.iterdir()) == []


def test_a_refusal_said_before_keeps_its_reason():
    """PyAV swallows a log line that repeats the last one: the same refusal a second time (the next file
    of a batch) came back as "Invalid argument", or with "(repeated 3 more times)" in it."""
    ms = Fraction(1, 1000)
    level, repeats = av.logging.get_level(), av.logging.get_skip_repeated()
    av.logging.set_skip_repeated(True)  # PyAV's default (a reader turns it off)
    try:
        for chosen in (None, av.logging.WARNING):  # nobody chose a level; an application chose one
            av.logging.set_level(chosen)
            for _ in range(3):
                assert encoder_refuses("mpeg2video", W, H, "yuv420p", True, ms, Fraction(7)) == \
                    "MPEG-1/2 does not support 1000/1 fps"
            for _ in range(2):
                with pytest.raises(ValueError) as err:
                    output_time_base("matroska", "mpeg2video", ms, Fraction(7), W, H, "yuv420p")
                assert str(err.value) == "MPEG-1/2 does not support 7/1 fps"
            assert av.logging.get_skip_repeated() is True
    finally:
        av.logging.set_level(level)
        av.logging.set_skip_repeated(repeats)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".avi"])
def test_mjpeg_writes_limited_range_input_in_full_range(tmp_path, suffix):
    """Depth read from limited-range YUV went back into limited luma, which FFmpeg's MJPEG encoder
    refuses ("Invalid argument", at the first frame in .avi): JPEG's YUV is full range, so it is written
    full, and reads back as the depth's own levels."""
    n = 4
    like = VideoInfo(path="in.mkv", codec="h264", width=W, height=H, pix_fmt="yuv420p", time_base=Fraction(1, 1000),
                     rate=Fraction(25), start_pts=0, frames=None, duration=None, limited=True)
    out = tmp_path / f"out{suffix}"
    with DepthWriter(out, like, codec="mjpeg") as w:
        for f, p in zip(_frames(n), [40 * k for k in range(n)]):
            w.write(f, p)
    _, frames = _read(out)
    assert len(frames) == n
    for f, level in zip(frames, [40 + 30 * k for k in range(n)]):  # full range: the stored luma is the level
        assert f.color_range == 2 or f.format.name.startswith("yuvj")
        assert abs(float(np.median(f.to_ndarray(channel_last=False)[0] if f.format.name.endswith("444p")
                                   else f.to_ndarray()[:H])) - level) <= 2


def test_a_repeat_count_left_over_from_before_is_not_the_reason():
    """PyAV reports lines it swallowed as a repeat when the next line comes: an application's own failed
    opens left "MPEG-1/2 does not support 1000/1 fps\\n (repeated 2 more times)" in the trial's log, and
    that became part of an MJPEG refusal (two lines, and another encoder's reason)."""
    level, repeats = av.logging.get_level(), av.logging.get_skip_repeated()
    av.logging.set_level(av.logging.WARNING)
    av.logging.set_skip_repeated(True)
    try:
        for _ in range(3):
            ctx = av.CodecContext.create("mpeg2video", "w")
            ctx.width, ctx.height, ctx.pix_fmt = W, H, "yuv420p"
            ctx.time_base, ctx.framerate = Fraction(1, 1000), Fraction(7)
            with pytest.raises(av.error.FFmpegError):
                ctx.open()
        why = encoder_refuses("mjpeg", W, H, "yuv420p", False, Fraction(1, 25), Fraction(25))
    finally:
        av.logging.set_level(level)
        av.logging.set_skip_repeated(repeats)
    assert why == ("Non full-range YUV is non-standard, set strict_std_compliance to at most unofficial "
                   "to use it.")
