"""The colour's timecode labels the colour's first frame. A depth clip without one that starts later
on the same clock (an estimator run from 0.08 s, its times kept) pairs, with --sync absolute, its first
frame with colour frame 2, whose timecode is 10:00:00:02; the outputs said 10:00:00:00, two frames
off the colour master they are conformed against. With --sync relative (the default) the two starts
are taken as one and the colour's first frame's timecode stays right. Expected timecodes counted by
hand at 25 fps; the outputs read back by FFmpeg's demuxers."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from igde_stream import multiview as mv
from igde_stream.stream.views import render_file

W, H = 32, 24


def _clip(path, frames, start=0.0, timecode=None):
    """``frames`` at 25 fps from ``start`` s (Matroska, FFV1); a TIMECODE tag where given."""
    return _at(path, frames, 25, timecode, start)


def _timecode(path):
    with av.open(str(path)) as c:
        return c.metadata.get("TIMECODE") or c.metadata.get("timecode")


def _inputs(tmp_path, n_color, n_depth, start):
    rng = np.random.default_rng(0)
    color = _clip(tmp_path / "c.mkv", rng.integers(0, 256, (n_color, H, W, 3), np.uint8), timecode="10:00:00:00")
    depth = _clip(tmp_path / "d.mkv", rng.integers(0, 65536, (n_depth, H, W), np.uint16), start=start)
    return color, depth


def test_a_later_depth_on_timestamps_gets_the_timecode_of_its_colour_frame(tmp_path):
    color, depth = _inputs(tmp_path, 8, 6, 0.08)  # depth frames at 0.08 ... 0.28 s: colour frames 2 ... 7
    render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs", sync="absolute", pair="nearest")
    assert _timecode(tmp_path / "v.mkv") == "10:00:00:02"


def test_more_than_a_second_later_and_a_start_on_top(tmp_path):
    color, depth = _inputs(tmp_path, 34, 4, 1.08)  # 27 frames in: 10:00:01:02
    render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs", sync="absolute", pair="nearest")
    assert _timecode(tmp_path / "v.mkv") == "10:00:01:02"
    # from 1.16 s, the depth's third frame: colour frame 29
    render_file(color, depth, tmp_path / "w.mkv", mv.ViewConfig(2, 4), layout="sbs", sync="absolute", pair="nearest",
                start=1.16)
    assert _timecode(tmp_path / "w.mkv") == "10:00:01:04"


def test_relative_sync_keeps_the_colour_first_frame_timecode(tmp_path):
    color, depth = _inputs(tmp_path, 6, 6, 0.08)  # starts taken as one: depth frame 0 is colour frame 0
    render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs")
    assert _timecode(tmp_path / "v.mkv") == "10:00:00:00"


def test_the_main_command_says_it_too(tmp_path, enhancer):
    from igde_stream.stream import enhance_file

    color, depth = _inputs(tmp_path, 8, 3, 0.08)
    summary = enhance_file(color, depth, tmp_path / "e.mkv", enhancer=enhancer, sync="absolute", pair="nearest")
    assert summary["timecode"] == "10:00:00:02" and _timecode(tmp_path / "e.mkv") == "10:00:00:02"


def _at(path, frames, rate, timecode=None, start=0.0):
    """``frames`` at ``rate`` (Matroska, FFV1, times in 1/1000 s from ``start``); a TIMECODE tag where given."""
    with av.open(str(path), "w") as out:
        if timecode:
            out.metadata["timecode"] = timecode
        s = out.add_stream("ffv1", rate=rate)
        s.width, s.height = W, H
        s.pix_fmt = "bgr0" if frames[0].ndim == 3 else "gray16le"
        s.time_base = s.codec_context.time_base = Fraction(1, 1000)
        for k, a in enumerate(frames):
            f = av.VideoFrame.from_ndarray(a, format="rgb24" if a.ndim == 3 else "gray16le").reformat(format=s.pix_fmt)
            f.pts, f.time_base = round((start + k / rate) * 1000), Fraction(1, 1000)
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    return path


def test_a_colour_timecode_of_another_rate_is_counted_at_the_outputs_rate(tmp_path):
    """59.94 fps colour at 01:00:00;58 (58 of 60 frames into the second) beside 29.97 fps depth: the
    outputs, at 29.97, start 29 of 30 frames into it, 01:00:00;29 (the muxer read ;58 at 29.97 as a
    second and 28 frames: 01:00:01;28); 50 fps at 10:00:00:48 beside 25 fps: 10:00:00:24."""
    rng = np.random.default_rng(1)
    cases = ((Fraction(60000, 1001), "01:00:00;58", Fraction(30000, 1001), "01:00:00;29", 0.0),
             (Fraction(50), "10:00:00:48", Fraction(25), "10:00:00:24", 0.0),
             (Fraction(50), "10:00:00:00", Fraction(25), "10:00:00:02", 0.08))  # a later depth on the timestamps
    for k, (c_rate, c_tc, d_rate, want, start) in enumerate(cases):
        color = _at(tmp_path / f"c{k}.mkv", rng.integers(0, 256, (12, H, W, 3), np.uint8), c_rate, c_tc)
        depth = _at(tmp_path / f"d{k}.mkv", rng.integers(0, 65536, (4, H, W), np.uint16), d_rate, start=start)
        out = tmp_path / f"v{k}.mkv"
        render_file(color, depth, out, mv.ViewConfig(2, 4), layout="sbs", pair="nearest",
                    sync="absolute" if start else "relative")
        assert _timecode(out) == want, (k, _timecode(out), want)


def test_a_depth_starting_halfway_between_colour_frames_gets_the_timecode_of_the_one_it_pairs_with(tmp_path):
    """Halfway between two colour frames the pairing takes the earlier one (--pair nearest: ties to the earlier
    frame; exact: within half a depth frame, the first in time), and so does the timecode: depth from 0.06 s
    beside 25 fps colour pairs with colour frame 1 (0.04 s), 10:00:00:01; depth from 0.02 s with frame 0
    (exact), 10:00:00:00. Counted by hand; the outputs read back by FFmpeg's demuxer."""
    color, depth = _inputs(tmp_path, 8, 6, 0.06)
    render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs", sync="absolute", pair="nearest")
    assert _timecode(tmp_path / "v.mkv") == "10:00:00:01"
    color, depth = _inputs(tmp_path, 6, 6, 0.02)
    render_file(color, depth, tmp_path / "w.mkv", mv.ViewConfig(2, 4), layout="sbs", sync="absolute")
    assert _timecode(tmp_path / "w.mkv") == "10:00:00:00"
