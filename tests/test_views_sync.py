"""``--sync`` in ``views render`` and ``views quality``: the output of ``--start`` keeps its frames'
times (docs/stream.md), so its views are rendered beside the whole colour clip by pairing on
timestamps. Before, neither command took ``--sync`` (the pairing warning named it all the same)
and frame k of the part was paired with frame k of the colour, a second early. Expected: the
views of the part equal those of the whole depth clip from the same time, and differ with the
default relative pairing."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream import multiview as mv
from igde_stream.stream.views import render_file, view_quality_files
from igde_stream.views_cli import main as views_main

RATE = Fraction(25)


@pytest.fixture
def clips(tmp_path):
    colors, depths, gts = scene(30, (64, 48))
    return {"color": write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=RATE),
            "depth": write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=RATE),
            "gt": write_video(tmp_path / "g.mkv", gts, fmt="gray", rate=RATE),
            # frames 20-27 of the depth, at their own times (20 / 25 = 0.8 s on), as --start 0.8 writes them
            "part": write_video(tmp_path / "p.mkv", depths[20:28], fmt="gray", rate=RATE, start=0.8)}


def _frames(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_views_of_a_part_beside_the_whole_colour_pair_on_timestamps(clips, tmp_path):
    cfg = mv.ViewConfig(4, 12)
    render_file(clips["color"], clips["part"], tmp_path / "abs.mkv", cfg, layout="sbs", sync="absolute", pair="nearest")
    render_file(clips["color"], clips["depth"], tmp_path / "ref.mkv", cfg, layout="sbs", start=0.8, max_frames=8)
    got, ref = _frames(tmp_path / "abs.mkv"), _frames(tmp_path / "ref.mkv")
    assert len(got) == len(ref) == 8
    assert all(np.array_equal(a, b) for a, b in zip(got, ref))
    render_file(clips["color"], clips["part"], tmp_path / "rel.mkv", cfg, layout="sbs", pair="nearest")
    assert not np.array_equal(_frames(tmp_path / "rel.mkv")[0], ref[0])  # colour frame 0 beside depth frame 20


def test_the_command_takes_it(clips, tmp_path):
    assert views_main(["render", str(clips["color"]), str(clips["part"]), "-o", str(tmp_path / "v.mkv"), "--layout",
                       "sbs", "--views", "4", "--sync", "absolute", "--pair", "nearest", "-q"]) == 0
    render_file(clips["color"], clips["depth"], tmp_path / "ref.mkv", mv.ViewConfig(4), layout="sbs", start=0.8,
                max_frames=8)
    assert all(np.array_equal(a, b) for a, b in zip(_frames(tmp_path / "v.mkv"), _frames(tmp_path / "ref.mkv")))


def test_view_quality_of_a_part_against_the_whole_ground_truth(clips):
    cfg = mv.ViewConfig(4, 12)
    part, _ = view_quality_files(clips["color"], clips["gt"], {"d": clips["part"]}, cfg, sync="absolute",
                                 start=0.8, end=1.12)
    whole, _ = view_quality_files(clips["color"], clips["gt"], {"d": clips["depth"]}, cfg, start=0.8, end=1.12)
    assert part["frames"] == whole["frames"] == 8
    assert part["depths"]["d"] == whole["depths"]["d"]


def test_max_frames_stops_before_reading_past_a_depth_that_ends_there(clips):
    # before, the next pair was read first, and the part's end (frame 28 of the ground truth unpaired) was an error
    cfg = mv.ViewConfig(4, 12)
    by_count, _ = view_quality_files(clips["color"], clips["gt"], {"d": clips["part"]}, cfg, sync="absolute",
                                     start=0.8, max_frames=8)
    by_end, _ = view_quality_files(clips["color"], clips["gt"], {"d": clips["part"]}, cfg, sync="absolute",
                                   start=0.8, end=1.12)
    assert by_count["frames"] == 8 and by_count["depths"] == by_end["depths"]
    strided, _ = view_quality_files(clips["color"], clips["gt"], {"d": clips["part"]}, cfg, sync="absolute",
                                    start=0.8, max_frames=4, stride=2)  # frames 20, 22, 24, 26 of 20-27
    assert strided["frames"] == 4
