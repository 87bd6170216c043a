"""An MP4 remuxed from Matroska (1 ms timestamps) averages a rate a little off its declared one: 48
frames at 30000/1001 average 128000/4273 fps there. It is read as the declared rate, as FFmpeg's
command line takes it, so that outputs declare 30000/1001 (before: 28967/967, and every output of
that output kept the odd rate). A rate that differs by more (variable-rate video) stays its average.
Expected rates are worked out from the timestamps written."""

from __future__ import annotations

from fractions import Fraction

import av

from conftest import scene, write_video
from igde_stream.stream import VideoReader
from igde_stream.stream.timing import RATE_SNAP, stream_rate

NTSC = Fraction(30000, 1001)


def _remux(src, dst):
    """``ffmpeg -i src -c copy dst`` with PyAV: the packets and their times as they are."""
    with av.open(str(src)) as i, av.open(str(dst), "w") as o:
        s = o.add_stream_from_template(i.streams.video[0])
        for p in i.demux(video=0):
            if p.dts is not None:
                p.stream = s
                o.mux(p)
    return dst


def test_an_mp4_of_matroska_times_reads_at_its_declared_rate(tmp_path):
    depths = scene(48, (32, 24))[1]
    mkv = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=NTSC)  # pts 0, 33, 67, 100, ... ms
    mp4 = _remux(mkv, tmp_path / "d.mp4")
    with av.open(str(mp4)) as c:
        avg = Fraction(c.streams.video[0].average_rate)
    assert avg != NTSC and abs(avg / NTSC - 1) < RATE_SNAP  # the precondition: an average off the grid
    with VideoReader(mp4, "depth") as r:
        assert r.info.rate == NTSC
    from igde_stream import multiview as mv
    from igde_stream.stream.views import render_file

    color = write_video(tmp_path / "c.mkv", scene(48, (32, 24))[0], fmt="rgb24", codec="ffv1", rate=NTSC)
    render_file(color, mp4, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs", max_frames=4)
    with av.open(str(tmp_path / "v.mkv")) as c:  # the outputs declare it (before: 28967/967)
        assert Fraction(c.streams.video[0].average_rate) == NTSC


def test_a_rate_further_off_stays_its_average(tmp_path):
    # frame k at k / 25 s for 20 frames, then every 1 / 20 s (0.76 s + 1 s): 40 frames in 1.8 s, the
    # last shown for 1 / 20 s, so MP4's average is 40 / 1.8 = 200/9 fps against the declared 25
    times = [k / 25 for k in range(20)] + [19 / 25 + (k + 1) / 20 for k in range(20)]
    mkv = write_video(tmp_path / "v.mkv", scene(40, (32, 24))[1], fmt="gray", rate=Fraction(25), times=times)
    mp4 = _remux(mkv, tmp_path / "v.mp4")
    with av.open(str(mp4)) as c:
        s = c.streams.video[0]
        assert Fraction(s.average_rate) == Fraction(200, 9) and Fraction(s.guessed_rate) == 25
        assert stream_rate(s, c) == Fraction(200, 9)
