"""``--start`` seeks: a reader of a Matroska, MP4, NUT, image-sequence or raw file decodes from the last
keyframe before the start, not from the stream's first frame, and gives the frames (numbers, pts,
pixels) a read from the start gives; a variable-rate stream, whose frame numbers a seek cannot know,
is read from the start. Expected frames come from PyAV decoding the whole file."""

from __future__ import annotations

import json
import logging
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import encode_frames, read_video, scene, write_video
from igde_stream.stream import enhance_file
from igde_stream.stream.info import VideoInfo
from igde_stream.stream.reader import VideoReader
from igde_stream.stream.seek import Seek

RATE = Fraction(25)


def _depth_clip(path, n=60, codec="ffv1", fmt="gray16le", times=None, rate=RATE, gop=12, time_base=None):
    depths = scene(n, bits=16 if fmt == "gray16le" and codec != "libx264" else 8)[1]
    if codec == "libx264":  # 8-bit luma, keyframes every gop frames, B-frames (pts out of decode order)
        return _x264(path, [av.VideoFrame.from_ndarray(d, format="gray") for d in depths], rate, gop)
    return write_video(path, depths, fmt=fmt, codec=codec, rate=rate, times=times, time_base=time_base)


def _x264(path, frames, rate=RATE, gop=12):
    """H.264 in ``path`` with a keyframe every ``gop`` frames and B-frames (pts out of decode order)."""
    return encode_frames(path, [f.reformat(format="yuv420p") for f in frames], "libx264", "yuv420p", rate=rate,
                         options={"g": str(gop), "keyint_min": str(gop), "bf": "2", "sc_threshold": "0", "crf": "20"})


def _read(path, cut, role="depth"):
    """(index, pts, pixels) of the frames from ``cut`` s, and of every frame of a read from the start."""
    out = []
    for skip in (cut, None):
        with VideoReader(path, role) as r:
            r.skip_before = skip
            out.append([(f.index, f.pts, f.data) for f in r.frames()])
    return out


def _check(got, whole, first, want_pts):
    """``got`` is the whole read from frame ``first`` on: numbers, pts (PyAV's ``want_pts``), pixels."""
    assert [i for i, _, _ in got] == list(range(first, len(want_pts)))
    assert [p for _, p, _ in got] == want_pts[first:] == [p for _, p, _ in whole[first:]]
    for (_, _, a), (_, _, b) in zip(got, whole[first:]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name,codec", [("d.mkv", "ffv1"), ("d.nut", "ffv1"), ("d.mp4", "libx264")])
def test_a_reader_seeks_to_the_keyframe_before_the_start_and_gives_the_frames_from_there(tmp_path, decoded,
                                                                                         name, codec):
    """60 frames at 25 fps; from 1.5 s the first is frame 38 (1.52 s). The seek aims a frame early, at
    1.46 s: FFV1 as PyAV writes it and H.264 here both have a keyframe every 12 frames, so decoding
    starts at keyframe 36, where the demuxer's index finds it."""
    path = _depth_clip(tmp_path / name, codec=codec, gop=12)
    got, whole = _read(path, 1.5)
    _check(got, whole, 38, read_video(path)[1])
    assert decoded[str(path)] <= 60 + 30  # not 60 + 60: the frames before 36 (or a keyframe near it) were not decoded


def test_a_colour_reader_seeks_too(tmp_path, decoded):
    """H.264, a keyframe every 12 frames: from 1 s, frames 25..39, decoded from the keyframe at 24."""
    path = _x264(tmp_path / "c.mp4", [av.VideoFrame.from_ndarray(c, format="rgb24") for c in scene(40)[0]])
    got, whole = _read(path, 1.0, role="color")
    _check(got, whole, 25, read_video(path)[1])
    assert decoded[str(path)] <= 40 + 20


def test_an_image_sequence_starts_at_the_file_of_the_start(tmp_path, decoded):
    cv2 = pytest.importorskip("cv2")
    depths = scene(30, bits=16)[1]
    for i, d in enumerate(depths):
        cv2.imwrite(str(tmp_path / f"d{i:03d}.png"), d)
    got, whole = _read(str(tmp_path / "d%03d.png"), 0.6)  # 25 fps: frame 15
    _check(got, whole, 15, list(range(30)))
    for (_, _, a), b in zip(got, depths[15:]):
        np.testing.assert_array_equal(a, b)
    assert decoded[str(tmp_path / "d%03d.png")] < 20 + 30


def test_a_variable_rate_stream_is_read_from_the_start_and_its_frames_counted(tmp_path, decoded):
    """Frame 3 missing (times 0, 0.04, 0.08, then 0.173 ... : a third of a frame off the 25 fps grid):
    the seek lands off the grid, so the reader goes back to the start; frame numbers count frames
    (the frame at 0.893 s is number 21, not the 22 its time on the grid would give)."""
    times = [0.0, 0.04, 0.08] + [0.173 + 0.04 * k for k in range(27)]
    path = _depth_clip(tmp_path / "v.mkv", n=30, times=times, time_base=Fraction(1, 1000))
    got, whole = _read(path, 0.89)
    assert next(k for k, t in enumerate(times) if t >= 0.89) == 21
    _check(got, whole, 21, read_video(path)[1])


class _Container:
    def __init__(self):
        self.seeks = []

    def seek(self, offset, **kwargs):
        self.seeks.append((offset, kwargs["backward"]))


def test_a_seek_holds_only_on_the_grid_and_not_past_the_start():
    """1 ms time base, 25 fps (40 ms a frame), the stream starting at pts 200, cut at 1 s (pts 1200):
    the seek aims a frame early (pts 1160); the first frame after it holds when on the grid (k x 40
    from pts 200, within a quarter frame), after the first frame (pts 200: the seek passed over nothing) and
    at or before 1.2 s; else the reader goes back to pts 200."""
    info = VideoInfo(path="x.mkv", codec="ffv1", width=4, height=4, pix_fmt="gray", time_base=Fraction(1, 1000),
                     rate=RATE, start_pts=200, frames=None, duration=None)
    cases = [(1200, True, 25), (1160, True, 24), (1191, True, 25), (1209, False, None), (1240, False, None), (1215, False, None),
             (200, False, None), (240, True, 1)]
    for pts, holds, number in cases:
        c = _Container()
        s = Seek(c, None, info, 1.0, absolute=False)
        assert c.seeks == [(1160, True)]
        assert s.holds(pts) is holds, pts
        if holds:
            assert s.number(pts) == number
        else:
            assert c.seeks[-1] == (200, True)  # back to the stream's start
    c = _Container()
    Seek(c, None, info, 1.0, absolute=True)  # times from pts 0: 1 s is pts 1000
    assert c.seeks == [(960, True)]


def _runs(tmp_path, enhancer, color, depth, start, **kwargs):
    enhance_file(color, depth, tmp_path / "all.mkv", enhancer=enhancer, **kwargs)
    enhance_file(color, depth, tmp_path / "part.mkv", enhancer=enhancer, start=start, **kwargs)
    return read_video(tmp_path / "all.mkv"), read_video(tmp_path / "part.mkv")


def _same_tail(whole, part, first):
    (wf, wp, _), (pf, pp, _) = whole, part
    assert pp == wp[first:]
    for a, b in zip(pf, wf[first:]):
        np.testing.assert_array_equal(a, b)


def test_a_start_just_after_a_frame_pairs_from_the_next_depth_frame(tmp_path, enhancer, decoded):
    """Start at 10.3 frames: the first frame written is 11. The colour reader keeps frames back to half
    a depth frame before the start (frame 10, at 10 frames), which pairs with no frame written: it is
    passed over, not reported as a colour frame without depth."""
    colors, depths, _ = scene(30)
    color = write_video(tmp_path / "c.mp4", colors, fmt="rgb24", rate=RATE)
    depth = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=RATE)
    whole, part = _runs(tmp_path, enhancer, color, depth, 10.3 / 25)
    _same_tail(whole, part, 11)


def test_nearest_pairing_from_a_start_is_the_whole_run_from_there(tmp_path, enhancer):
    """Colour at 50 fps beside depth at 25 fps (--pair nearest): from 0.5 s, depth frames 13.. with the
    colour frames a whole run gives them."""
    colors, depths, _ = scene(40)
    color = write_video(tmp_path / "c.mkv", scene(80)[0], fmt="rgb24", codec="ffv1", rate=Fraction(50))
    depth = write_video(tmp_path / "d.mkv", depths[:30], fmt="gray", rate=RATE)
    whole, part = _runs(tmp_path, enhancer, color, depth, 0.5, pair="nearest")
    _same_tail(whole, part, 13)


def test_absolute_times_seek_on_the_stream_s_own_timestamps(tmp_path, enhancer, decoded):
    """Both streams start at 1 s; with --sync absolute, --start 1.6 s is frame 15 (1 + 15 / 25 s),
    decoded from FFV1's keyframe before it (PyAV writes one every 12 frames: frame 12)."""
    colors, depths, gts = scene(30)
    color = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=RATE, start=1.0)
    depth = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=RATE, start=1.0)
    gt = write_video(tmp_path / "g.mkv", gts, fmt="gray", rate=RATE, start=1.0)
    whole, part = _runs(tmp_path, enhancer, color, depth, 1.6, sync="absolute", gt_path=gt,
                        report_path=tmp_path / "r.json", overwrite=True)
    _same_tail(whole, part, 15)
    assert json.loads((tmp_path / "r.json").read_text())["frames"][0]["index"] == 15
    assert decoded[str(depth)] <= 30 + 20  # the whole run's 30, then from a keyframe a few before frame 15


def test_frame_numbers_after_a_seek_rise_where_frames_come_faster_than_the_rate(tmp_path):
    """25 fps declared, frames every 40 ms to 0.96 s, then 10 ms apart: after a seek to 0.9 s (landing
    on frame 21, on the grid), each frame's number is its place on the grid or one more than the last
    frame's, never the same number twice: 22, 23, 24, 25 (1.00 s), 26 (1.01 s), 27 (1.02 s), 28 (1.12 s)."""
    times = [0.04 * k for k in range(25)] + [1.0, 1.01, 1.02, 1.12]
    path = _depth_clip(tmp_path / "f.mkv", n=len(times), times=times, time_base=Fraction(1, 1000))
    got, _ = _read(path, 0.87)
    assert [i for i, _, _ in got] == [22, 23, 24, 25, 26, 27, 28]


def test_raw_video_seeks_to_the_frame_of_the_start(tmp_path, decoded):
    """Raw 16-bit frames at 25 fps (frame k at byte k x 32 x 24 x 2): from 1 s, frame 25 of 40; the
    seek lands on frame 24, a frame early, so 16 are decoded, not 40."""
    from igde_stream.stream.sources import InputOptions

    frames = np.random.default_rng(0).integers(0, 65536, (40, 24, 32), dtype=np.uint16)
    path = tmp_path / "d.raw"
    frames.tofile(path)
    with VideoReader(path, "depth", source=InputOptions(fps=25, size=(32, 24), pix_fmt="gray16le")) as r:
        r.skip_before = 1.0
        got = [(f.index, f.data) for f in r.frames()]
    assert [i for i, _ in got] == list(range(25, 40))
    for i, d in got:
        np.testing.assert_array_equal(d, frames[i])
    assert decoded[str(path)] <= 16


def test_a_variable_rate_colour_stream_keeps_its_seek(tmp_path, decoded):
    """Colour frames a third of a frame off the 25 fps grid (0.173 + 0.04 k s, after frames at 0, 0.04,
    0.08): colour pairs by time, so its reader does not go back to the start; the frames from 0.89 s
    (the 19th on, at 0.893 s) are the whole read's, pixels and pts."""
    times = [0.0, 0.04, 0.08] + [0.173 + 0.04 * k for k in range(37)]
    path = write_video(tmp_path / "c.mkv", scene(40)[0], fmt="rgb24", codec="ffv1", rate=RATE, times=times,
                       time_base=Fraction(1, 1000))
    got, whole = _read(path, 0.89, role="color")
    whole = [w for w in whole if w[1] >= 893]
    assert [p for _, p, _ in got] == [p for _, p, _ in whole] == [round(1000 * t) for t in times[21:]]
    for (_, _, a), (_, _, b) in zip(got, whole):
        np.testing.assert_array_equal(a, b)
    assert [i for i, _, _ in got] == sorted(set(i for i, _, _ in got))  # rising, never twice
    assert decoded[str(path)] < 40 + 40  # not decoded from the start again


def test_a_nut_seek_leaves_no_ffmpeg_error_in_the_log(tmp_path, caplog):
    """H.264 in NUT: FFmpeg says "read_timestamp failed." while it looks for syncpoints, an ERROR
    through PyAV's libav logger for any library user, though the seek works: it is kept out."""
    path = write_video(tmp_path / "c.nut", scene(60)[0], fmt="rgb24", rate=RATE)
    got, whole = _read(path, 1.5, role="color")
    caplog.set_level(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        with VideoReader(path, "color") as r:
            r.skip_before = 1.5
            again = [f.index for f in r.frames()]
    _check(got, whole, 38, read_video(path)[1])
    assert again == list(range(38, 60))
    assert not [rec for rec in caplog.records if rec.name.startswith("libav")]
