"""Start offsets between colour and depth: relative pairing (default) warns; absolute keeps them."""

from __future__ import annotations

import logging
from fractions import Fraction

import pytest

from conftest import read_video, scene, write_video
from igde_stream.errors import PairingError
from igde_stream.stream import VideoReader, enhance_file, pair_frames

RATE = Fraction(30)  # 300 ms = 9 frames exactly


@pytest.fixture
def late_depth(tmp_path):
    """12 colour frames from 0 s (H.264 in MP4) and 12 depth frames from 0.300 s (FFV1 in MKV), 30 fps."""
    colors, depths, _ = scene(12)
    return {
        "color": write_video(tmp_path / "c.mp4", colors, fmt="rgb24", rate=RATE),
        "depth": write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=RATE, start=0.3),
        "out": tmp_path / "out.mkv",
    }


def pairs(clip, sync=None):
    kw = {} if sync is None else {"sync": sync}
    with VideoReader(clip["color"], "color", **kw) as c, VideoReader(clip["depth"], "depth", **kw) as d:
        return [(a.index, b.index) for a, b in pair_frames(c.frames(), d.frames(), 0.5 / 30, ("c.mp4", "d.mkv"))]


def test_relative_pairs_frame_k_with_frame_k_and_warns(late_depth, caplog):
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert pairs(late_depth) == [(k, k) for k in range(12)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "starts at 0.000 s and depth d.mkv at 0.300 s (300.0 ms apart, more than half a frame)" in warnings[0]
    assert "--sync absolute" in warnings[0]


def test_relative_is_the_default_of_the_whole_job(late_depth, enhancer, caplog):
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert enhance_file(late_depth["color"], late_depth["depth"], late_depth["out"], enhancer=enhancer)["frames"] == 12
    assert "300.0 ms apart" in caplog.text
    assert read_video(late_depth["out"])[1] == [300 + round(k * 1000 / 30) for k in range(12)]  # depth pts kept


def test_streams_starting_together_do_not_warn(tmp_path, caplog):
    colors, depths, _ = scene(6)
    clip = {"color": write_video(tmp_path / "c.mp4", colors, fmt="rgb24", rate=RATE),
            "depth": write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=RATE, start=0.01)}  # < 16.7 ms
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert pairs(clip) == [(k, k) for k in range(6)]
    assert not caplog.records


def test_absolute_times_are_pts_times(late_depth):
    with VideoReader(late_depth["depth"], "depth", sync="absolute") as d:
        times = [f.time for f in d.frames()]
    # 0.3 s + k / 30, stored in Matroska's milliseconds
    assert times == [(300 + round(k * 1000 / 30)) / 1000 for k in range(12)]
    with VideoReader(late_depth["depth"], "depth") as d:
        assert [f.time for f in d.frames()][:3] == [0.0, 0.033, 0.067]


def test_absolute_pairs_by_time_and_lists_the_frames_outside_the_overlap(late_depth, caplog):
    # Colour 9, 10, 11 (0.300, 0.333, 0.367 s) meet depth 0, 1, 2; colour 0-8 come before the depth
    # starts and depth 3-11 after the colour ends: unpaired frames are an error, naming them.
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with pytest.raises(PairingError) as exc:
            pairs(late_depth, "absolute")
    msg = str(exc.value)
    assert ("frames 3 (0.400 s), 4 (0.433 s), 5 (0.467 s), 6 (0.500 s), 7 (0.533 s), 8 (0.567 s) and 3 more "
            "of the depth stream have no colour frame") in msg
    assert ("frames 0 (0.000 s), 1 (0.033 s), 2 (0.067 s), 3 (0.100 s), 4 (0.133 s), 5 (0.167 s) and 3 more "
            "of the colour stream have no depth frame (12 colour frames, 12 depth frames)") in msg
    assert not caplog.records  # nothing is hidden: no offset warning


def test_absolute_pairs_the_overlap_when_it_is_all_there_is(tmp_path):
    # Depth covers colour frames 9-11 only, in time: exactly those pair.
    colors, depths, _ = scene(12)
    clip = {"color": write_video(tmp_path / "c.mp4", colors, fmt="rgb24", rate=RATE),
            "depth": write_video(tmp_path / "d.mkv", depths[:3], fmt="gray", rate=RATE, start=0.3)}
    with pytest.raises(PairingError, match=r"and 3 more of the colour stream have no depth frame"):
        pairs(clip, "absolute")
    clip["color"] = write_video(tmp_path / "c9.mp4", colors[9:], fmt="rgb24", rate=RATE, start=0.3)
    assert pairs(clip, "absolute") == [(0, 0), (1, 1), (2, 2)]


def test_unknown_sync_mode_is_refused(late_depth):
    with pytest.raises(ValueError, match="relative, absolute"):
        VideoReader(late_depth["depth"], "depth", sync="wall-clock")
