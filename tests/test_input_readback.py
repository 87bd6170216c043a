"""Inputs as users bring them, read back through igde-stream's own readers and pipeline, against
values and times worked out independently (the frames as encoded, PyAV's own demuxing)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from conftest import read_video, write_video

from igde_stream.stream.pipeline import enhance_file
from igde_stream.stream.reader import VideoReader


class Same:
    """Hands the depth back as it came."""

    def enhance(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        return depth


def ramps(n: int = 10) -> list[np.ndarray]:
    x = np.arange(64)[None, :]
    return [np.broadcast_to(40 + 2 * x + 3 * k, (48, 64)).astype(np.uint8) for k in range(n)]


def test_h264_in_mpeg_ps_frames_without_pts_follow_the_first_one(tmp_path):
    """H.264 in MPEG-PS (``.mpg``): the muxer gives one pts per PES packet, and small frames share one, so
    only the first frame has a pts (0.58 s: the muxer's 0.5 s preload and the encoder's delay) and the
    rest none. They are a frame duration apart from it: 0.62, 0.66 ... s as ``pts_time`` (they were
    placed at 0.04, 0.08 ... s, before the first), and the depth run writes them instead of failing at
    frame 1 ("pts 3600 does not come after 52200")."""
    d = write_video(tmp_path / "d.mpg", ramps(), fmt="yuv420p", codec="libx264", rate=Fraction(25))
    with av.open(str(d)) as c:  # what the file holds, as PyAV demuxes and decodes it
        s = c.streams.video[0]
        pts = [f.pts for f in c.decode(s)]
        tb = s.time_base
    assert pts[0] is not None and pts[1:] == [None] * 9  # the case (PyAV's own reading)
    with VideoReader(d, "depth") as r:
        frames = list(r.frames())
    first = float(pts[0] * tb)
    assert [f.pts_time for f in frames] == pytest.approx([first + k / 25 for k in range(10)], abs=1e-9)
    assert [f.time for f in frames] == pytest.approx([k / 25 for k in range(10)], abs=1e-9)
    c = write_video(tmp_path / "c.mkv", [np.full((48, 64, 3), 90, np.uint8)] * 10, fmt="rgb24", codec="ffv1",
                    rate=Fraction(25))
    summary = enhance_file(c, d, tmp_path / "o.mkv", enhancer=Same())
    assert summary["frames"] == 10
    out, out_pts, facts = read_video(tmp_path / "o.mkv")
    times = [float((p - out_pts[0]) * facts["time_base"]) for p in out_pts]
    assert times == pytest.approx([k / 25 for k in range(10)], abs=1e-3)
    assert facts["pix_fmt"] == "yuv420p"  # written back limited, as it came: luma 16..235 stretched to 0..255
    for got, f in zip(out, frames):
        assert np.array_equal(np.clip(np.rint((got - 16.0) * 255 / 219), 0, 255), f.data)


def test_h264_in_mpeg_ps_pairs_with_colour_by_absolute_times(tmp_path):
    """``--sync absolute`` on the same MPEG-PS depth and a colour clip starting at its first frame's
    time: frame k of each pairs (before, frames 1.. were at 0.04 s and had no colour partner)."""
    d = write_video(tmp_path / "d.mpg", ramps(), fmt="yuv420p", codec="libx264", rate=Fraction(25))
    with VideoReader(d, "depth", sync="absolute") as r:
        start = next(iter(r.frames())).pts_time
    colours = [np.full((48, 64, 3), 20 * k, np.uint8) for k in range(10)]
    c = write_video(tmp_path / "c.mkv", colours, fmt="rgb24", codec="ffv1", rate=Fraction(25), start=start,
                    time_base=Fraction(1, 90000))
    seen = []

    class Record(Same):
        def enhance(self, color, depth):
            seen.extend(int(x[0, 0, 0]) for x in color)
            return depth

    summary = enhance_file(c, d, tmp_path / "o.mkv", enhancer=Record(), sync="absolute")
    assert summary["frames"] == 10
    assert seen == [20 * k for k in range(10)]


def test_untagged_lossless_yuv_depth_within_the_limited_range_warns(tmp_path, caplog):
    """``ffmpeg -i depth_%04d.png -c:v ffv1 -pix_fmt yuv420p depth.nut`` (or .avi, .mov): FFmpeg turns the
    gray maps into limited-range luma (16 + 219 d / 255) and the container keeps no range tag. Read as
    stored (the documented guess for lossless codecs), every value is off by up to 16 levels: a
    warning now names --depth-range limited, which reads the maps back. Full-range luma of such a stream
    (a hole, 0, in it) and a limited stream tagged in Matroska get no such warning."""
    d = [np.broadcast_to(np.rint(np.linspace(0, 250, 64)) + k, (48, 64)).astype(np.uint8) for k in range(3)]
    luma = [np.rint(16 + x * 219.0 / 255).astype(np.uint8) for x in d]  # FFmpeg's gray -> yuv420p, by the formula
    nut = write_video(tmp_path / "d.nut", luma, fmt="yuv420p", codec="ffv1", rate=Fraction(25))
    with caplog.at_level("WARNING", logger="igde_stream.stream"):
        with VideoReader(nut, "depth") as r:
            stored = [f.data for f in r.frames()]
    said = [m for m in caplog.messages if "--depth-range limited" in m]
    assert len(said) == 1 and "16..235" in said[0] and str(nut) in said[0]
    assert np.array_equal(stored[0], luma[0])  # read as stored, as documented
    from igde_stream.stream.sources import InputOptions

    with VideoReader(nut, "depth", source=InputOptions(depth_range="limited")) as r:
        assert all(np.abs(f.data.astype(int) - x).max() <= 1 for f, x in zip(r.frames(), d))
    caplog.clear()  # a lossy codec's ringing (JPEG 2000's: 14..236) still looks limited; 11 or 240 not
    for low, high, warns in ((14, 236, True), (11, 235, False), (16, 240, False)):
        ring = [x.copy() for x in luma]
        for x in ring:
            x[:2, :2], x[-2:, -2:] = low, high
        p = write_video(tmp_path / f"r{low}_{high}.nut", ring, fmt="yuv420p", codec="ffv1", rate=Fraction(25))
        with caplog.at_level("WARNING", logger="igde_stream.stream"):
            with VideoReader(p, "depth") as r:
                list(r.frames())
        assert bool([m for m in caplog.messages if "--depth-range limited" in m]) is warns, (low, high)
        caplog.clear()
    full = write_video(tmp_path / "full.nut", d, fmt="yuv420p", codec="ffv1", rate=Fraction(25))
    with caplog.at_level("WARNING", logger="igde_stream.stream"):
        with VideoReader(full, "depth") as r:
            list(r.frames())
    assert not [m for m in caplog.messages if "--depth-range" in m]
