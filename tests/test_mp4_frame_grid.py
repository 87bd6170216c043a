"""Matroska stores times in 1 ms, which cannot hold 30000/1001 fps: frame k of such depth (an FFV1
.mkv, the depth format this tool writes) sits at k x 33.367 ms rounded to the millisecond. Written on
into MP4 / MOV as they were, the steps alternate 33 / 34 ms: the track read as variable-rate, ffprobe's
r_frame_rate of the H.264 views 359/12 (29.92 fps) and their avg_frame_rate 3200/107, the depth's
avg_frame_rate 80000/2667 (29.996), where the input's declared rate is 30000/1001. MP4 / MOV hold any
time base, so frames within half a millisecond of the rate's grid are written on it, k x 1001/30000 s
exactly, as FFmpeg's command line writes such a stream into MP4. Expected times are worked out by hand."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from conftest import scene, write_video
from igde_stream.stream import DepthWriter, VideoReader

NTSC = Fraction(30000, 1001)


def _times(path):
    """(every packet's pts x time base, sorted; the stream's average and guessed rates)"""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        times = sorted(Fraction(p.pts) * p.time_base for p in c.demux(s) if p.pts is not None)
        return times, Fraction(s.average_rate), Fraction(s.guessed_rate)


def _ntsc_depth(tmp_path, n=6, size=(32, 24)):
    depth = write_video(tmp_path / "d.mkv", scene(n, size, bits=16)[1], fmt="gray16le", rate=NTSC)
    with av.open(str(depth)) as c:  # the precondition: Matroska's millisecond times, 33 / 34 ms apart
        pts = [p.pts for p in c.demux(video=0) if p.pts is not None]
    assert pts[:4] == [0, 33, 67, 100]
    return depth


def test_depth_into_mp4_is_written_on_the_ntsc_grid(tmp_path):
    depth = _ntsc_depth(tmp_path)
    with VideoReader(depth, "depth") as r:
        assert r.info.rate == NTSC
        frames = list(r.frames())
        with DepthWriter(tmp_path / "o.mp4", r.info) as w:
            for f in frames:
                w.write(f.data, f.pts)
    times, avg, guessed = _times(tmp_path / "o.mp4")
    assert times == [Fraction(1001 * k, 30000) for k in range(6)]
    assert avg == NTSC and guessed == NTSC
    # the values are untouched
    with VideoReader(tmp_path / "o.mp4", "depth") as r:
        assert all(np.array_equal(a.data, b.data) for a, b in zip(frames, r.frames()))


def test_h264_views_into_mp4_and_mov_declare_ntsc(tmp_path):
    from igde_stream import multiview as mv
    from igde_stream.stream.views import render_file

    depth = _ntsc_depth(tmp_path, size=(64, 48))
    color = write_video(tmp_path / "c.mkv", scene(6, (64, 48))[0], fmt="rgb24", codec="ffv1", rate=NTSC)
    for name in ("v.mp4", "v.mov"):
        render_file(color, depth, tmp_path / name, mv.ViewConfig(2, 4), layout="sbs", codec="h264")
        times, avg, guessed = _times(tmp_path / name)
        assert times == [Fraction(1001 * k, 30000) for k in range(6)], name
        assert avg == NTSC and guessed == NTSC, (name, avg, guessed)


def test_a_late_start_lands_on_the_grid_too(tmp_path):
    from igde_stream import multiview as mv
    from igde_stream.stream.views import render_file

    depth = _ntsc_depth(tmp_path, n=8, size=(64, 48))
    color = write_video(tmp_path / "c.mkv", scene(8, (64, 48))[0], fmt="rgb24", codec="ffv1", rate=NTSC)
    # from 0.2 s: frames 6 and 7 (Matroska's 200 and 234 ms), at 6 and 7 x 1001/30000 s
    render_file(color, depth, tmp_path / "v.mp4", mv.ViewConfig(2, 4), layout="sbs", codec="h264", start=0.2)
    times, _, _ = _times(tmp_path / "v.mp4")
    assert times == [Fraction(6006, 30000), Fraction(7007, 30000)]


def test_times_the_time_base_holds_are_kept(tmp_path):
    # 25 fps in Matroska: every frame on a whole millisecond, written as it was
    depth = write_video(tmp_path / "d.mkv", scene(4, (32, 24), bits=16)[1], fmt="gray16le", rate=Fraction(25))
    with VideoReader(depth, "depth") as r, DepthWriter(tmp_path / "o.mp4", r.info) as w:
        for f in r.frames():
            w.write(f.data, f.pts)
    times, avg, _ = _times(tmp_path / "o.mp4")
    assert times == [Fraction(k, 25) for k in range(4)] and avg == 25
    # a variable-rate frame off the grid keeps its own time (0, 40, 95 ms at a declared 25 fps)
    depth = write_video(tmp_path / "v.mkv", scene(3, (32, 24), bits=16)[1], fmt="gray16le", rate=Fraction(25),
                        time_base=Fraction(1, 1000), times=[0, 0.04, 0.095])
    with VideoReader(depth, "depth") as r, DepthWriter(tmp_path / "v.mp4", r.info) as w:
        for f in r.frames():
            w.write(f.data, f.pts)
    assert _times(tmp_path / "v.mp4")[0] == [0, Fraction(1, 25), Fraction(95, 1000)]


def _through_nut(tmp_path, depth):
    """``depth`` written on as igde-stream writes a pipe (NUT): Matroska's milliseconds in 1/64000 s."""
    with VideoReader(depth, "depth") as r, DepthWriter(tmp_path / "d.nut", r.info) as w:
        for f in r.frames():
            w.write(f.data, f.pts)
    with av.open(str(tmp_path / "d.nut")) as c:  # the precondition: a finer time base, the same times
        s = c.streams.video[0]
        times = [Fraction(p.pts) * p.time_base for p in c.demux(s) if p.pts is not None]
        assert s.time_base == Fraction(1, 64000) and times[:3] == [0, Fraction(33, 1000), Fraction(67, 1000)]
    return tmp_path / "d.nut"


def test_matroska_times_through_a_pipe_land_on_the_grid_too(tmp_path):
    from igde_stream import multiview as mv
    from igde_stream.stream.views import render_file

    nut = _through_nut(tmp_path, _ntsc_depth(tmp_path, size=(64, 48)))
    color = write_video(tmp_path / "c.mkv", scene(6, (64, 48))[0], fmt="rgb24", codec="ffv1", rate=NTSC)
    render_file(color, nut, tmp_path / "v.mov", mv.ViewConfig(2, 4), layout="sbs", codec="h264")
    times, avg, guessed = _times(tmp_path / "v.mov")
    assert times == [Fraction(1001 * k, 30000) for k in range(6)]
    assert avg == NTSC and guessed == NTSC


def test_mpeg4_keeps_a_time_base_it_takes(tmp_path):
    # MPEG-4 Part 2 takes no time base finer than 1/65535: 1/960000 would fail it at the first frame
    depth = write_video(tmp_path / "d8.mkv", scene(4, (32, 24))[1], fmt="gray", rate=NTSC)
    nut = _through_nut(tmp_path, depth)
    with VideoReader(nut, "depth") as r, DepthWriter(tmp_path / "o.mp4", r.info, codec="mpeg4") as w:
        for f in r.frames():
            w.write(f.data, f.pts)
    assert len(_times(tmp_path / "o.mp4")[0]) == 4
