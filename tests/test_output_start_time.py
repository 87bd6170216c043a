"""Where the output starts: every frame at its input depth frame's time, the first one too, also for a
B-frame encoder (libx264 / libx265) in a muxer that stores no decode time before 0. FFmpeg would move
such a stream later by the encoder's reordering delay (NUT, MPEG-TS: 2 frames for x264's defaults);
NUT stores presentation times only, so the shift is turned off there; MPEG-TS is written without
B-frames when the first frame comes within the delay. Times read back with PyAV, expected values by
hand (frame k of 30000/1001 fps at k x 1001/30000 s)."""

from __future__ import annotations

import logging
from fractions import Fraction

import av
import numpy as np
import pytest

from igde_stream.stream import DepthWriter
from igde_stream.stream.containers import start_shift

from test_stream_roundtrip import depth_info

NTSC = Fraction(30000, 1001)


def _frames(n):
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (48, 64)).astype(np.uint8) for _ in range(n)]


def _write(out, pts, time_base, rate=NTSC, codec="libx264"):
    with DepthWriter(out, depth_info(rate, "gray", size=(64, 48), time_base=time_base), codec=codec) as w:
        for f, p in zip(_frames(len(pts)), pts):
            w.write(f, p)


def _read(path):
    """(frame times in s, whether any packet is shown later than it is decoded: B-frames)."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        packets = [p for p in c.demux(s) if p.size]
    with av.open(str(path)) as c:
        times = [f.time for f in c.decode(video=0)]
    return times, any(p.pts is not None and p.dts is not None and p.pts != p.dts for p in packets)


@pytest.mark.parametrize("suffix", [".nut", ".ts"])
def test_a_b_frame_encoder_keeps_a_stream_that_starts_at_zero_at_zero(tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    _write(out, [1001 * k for k in range(8)], Fraction(1, 30000))
    times, _ = _read(out)
    want = [k * 1001 / 30000 for k in range(8)]  # 0, 0.0334, 0.0667 ...; not 0.0667, 0.1001 ...
    assert times == pytest.approx(want, abs=1e-6)


def test_nut_keeps_its_b_frames(tmp_path):
    out = tmp_path / "out.nut"
    _write(out, [1001 * k for k in range(8)], Fraction(1, 30000))
    assert _read(out)[1]


def test_a_transport_stream_that_starts_late_keeps_its_b_frames_and_its_start(tmp_path):
    out = tmp_path / "out.ts"
    _write(out, [45000 + 1001 * k for k in range(8)], Fraction(1, 30000))  # from 1.5 s: past the delay
    times, reordered = _read(out)
    assert times == pytest.approx([1.5 + k * 1001 / 30000 for k in range(8)], abs=2e-5)  # 1/90000 s ticks
    assert reordered


def test_a_transport_stream_from_zero_says_it_is_written_without_b_frames(tmp_path, caplog):
    out = tmp_path / "out.ts"
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        _write(out, [1001 * k for k in range(6)], Fraction(1, 30000))
    assert "written without B-frames" in caplog.text and "at 0.000 s" in caplog.text
    assert not _read(out)[1]


def test_a_start_the_muxer_still_moves_is_a_warning(tmp_path, caplog):
    """Past 17 frames of 1/30 s (0.6 s), but the frames after it are 0.5 s apart: x264's delay of two
    frames is 1 s, so the first decode time is -0.4 s and MPEG-TS moves the stream 0.4 s later."""
    out = tmp_path / "out.ts"
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        _write(out, [600 + 500 * k for k in range(6)], Fraction(1, 1000), rate=Fraction(30))
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and "0.400 s later" in said[0] and ".mkv, .mp4 or .nut" in said[0]
    assert _read(out)[0][0] == pytest.approx(1.0, abs=1e-4)  # as it says: 0.6 s + 0.4 s


def test_start_shift_is_the_decode_time_before_zero_where_the_muxer_stores_none():
    assert start_shift("mpegts", -6006, Fraction(1, 90000)) == Fraction(6006, 90000)
    assert start_shift("flv", -67, Fraction(1, 1000)) == Fraction(67, 1000)
    assert start_shift("mpegts", 0, Fraction(1, 90000)) is None
    assert start_shift("mpegts", None, Fraction(1, 90000)) is None
    assert start_shift("matroska", -67, Fraction(1, 1000)) is None  # stores pts: not moved
    assert start_shift("mp4", -2002, Fraction(1, 30000)) is None  # an edit list: not moved


def test_views_in_h264_in_nut_start_where_the_depth_starts(tmp_path):
    from igde_stream.stream.view_writers import ColorWriter

    out = tmp_path / "views.nut"
    w = ColorWriter(out, "h264", NTSC, Fraction(1, 30000))
    for k in range(8):
        w.write(np.full((48, 64, 3), 30 * k, np.uint8), 1001 * k)
    w.commit()
    assert _read(out)[0] == pytest.approx([k * 1001 / 30000 for k in range(8)], abs=1e-6)


def test_avi_of_a_late_input_says_it_starts_at_zero(tmp_path, caplog):
    out = tmp_path / "out.avi"
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        _write(out, [45000 + 1001 * k for k in range(4)], Fraction(1, 30000), codec="ffv1")  # from 1.5 s
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and "starts at 0, 1.500 s before" in said[0]
    assert _read(out)[0] == pytest.approx([k * 1001 / 30000 for k in range(4)], abs=1e-6)


def test_avi_of_an_input_from_zero_says_nothing(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        _write(tmp_path / "out.avi", [1001 * k for k in range(4)], Fraction(1, 30000), codec="ffv1")
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize("suffix, codec", [(".mp4", "ffv1"), (".mov", "libx264"), (".mp4", "libx265")])
def test_mp4_keeps_a_start_that_is_no_whole_millisecond(tmp_path, suffix, codec):
    """Frame 45 of 30000/1001 fps is at 45045/30000 = 1.5015 s: FFmpeg's default movie time scale
    (1/1000 s) put the edit at 1.501 s, every frame 0.5 ms early."""
    out = tmp_path / f"out{suffix}"
    _write(out, [45045 + 1001 * k for k in range(6)], Fraction(1, 30000), codec=codec)
    assert _read(out)[0] == pytest.approx([(45045 + 1001 * k) / 30000 for k in range(6)], abs=1e-6)


VFR_MS = [0, 33, 80, 100, 167, 200, 250, 333]  # 8 frames in 1/1000 s, declared 24 fps


def test_variable_rate_b_frames_in_mp4_say_the_average_rate_mp4_gives(tmp_path, caplog):
    """x264 (two frames of delay) decodes frame k at the (k-2)-th time: decode times -80 ... 200 ms,
    a span of 280 ms for frames over 333: MP4's track lasts 280 + 1000/24 ms, so its 8 frames read
    as 8 / 0.32167 = 24.870 fps instead of 8 / 0.37467 = 21.352 (ffprobe's avg_frame_rate: 128000/5147)."""
    out = tmp_path / "out.mp4"
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        _write(out, VFR_MS, Fraction(1, 1000), rate=Fraction(24))
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and "reads 24.870 fps, not 21.352" in said[0]
    assert _read(out)[0] == pytest.approx([t / 1000 for t in VFR_MS], abs=1e-6)  # the times themselves are kept


@pytest.mark.parametrize("pts, suffix, codec", [
    (VFR_MS, ".mp4", "ffv1"),  # no reordering: decode times are the frames' times
    (VFR_MS, ".mkv", "libx264"),  # Matroska stores no decode times
    ([round(k * 1001 / 30) for k in range(10)], ".mp4", "libx264"),  # 29.97 fps in ms: 1 ms steps of jitter
])
def test_steady_or_unreordered_frames_say_nothing_of_the_average(tmp_path, caplog, pts, suffix, codec):
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        _write(tmp_path / f"out{suffix}", pts, Fraction(1, 1000), rate=Fraction(24), codec=codec)
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize("suffix", [".ts", ".mpg"])
def test_mpeg2_video_from_zero_starts_at_zero(tmp_path, suffix):
    """MPEG-2 video has a frame of delay without B-frames (dts = pts - 1 frame) unless in low delay;
    MPEG-PS also moved a stream that starts before its preload of 0.5 s by that much: 0.533 s."""
    out = tmp_path / f"out{suffix}"
    _write(out, [1001 * k for k in range(6)], Fraction(1, 30000), codec="mpeg2video")
    assert _read(out)[0] == pytest.approx([k * 1001 / 30000 for k in range(6)], abs=2e-5)


def test_mpeg_ps_of_h264_from_zero_starts_at_zero(tmp_path):
    """Small H.264 frames share PES packets in MPEG-PS, so only the first frame reads back with a time."""
    out = tmp_path / "out.mpg"
    _write(out, [1001 * k for k in range(6)], Fraction(1, 30000))
    assert _read(out)[0][0] == pytest.approx(0, abs=2e-5)


@pytest.mark.parametrize("suffix, codec", [(".ts", "mpeg2video"), (".mp4", "mpeg4")])
def test_a_start_off_the_slots_of_an_mpeg_video_encoder_is_a_warning(tmp_path, caplog, suffix, codec):
    """A transport stream's 1.4 s is between slots 41 and 42 of 1001/30000 s: slot 42 is 1.4014 s."""
    out = tmp_path / f"out{suffix}"
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        _write(out, [126000 + 3003 * k for k in range(4)], Fraction(1, 90000), codec=codec)
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and "slots of 1001/30000 s from 0: the first frame moves +1.4 ms, to 1.4014 s" in said[0]
    assert _read(out)[0][0] == pytest.approx(42 * 1001 / 30000, abs=2e-5)


def test_millisecond_rounding_put_right_by_the_slots_says_nothing(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        _write(tmp_path / "out.ts", [round((45 + k) * 1001 / 30) for k in range(4)], Fraction(1, 1000),
               codec="mpeg2video")  # slot 45 (1.5015 s) stored as 1502 ms: 0.5 ms off
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]
