"""Audit: frame-accurate pairing (colour / depth, output / ground truth) and the report's worst frames,
worked out by hand on made-up frame times."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.errors import PairingError
from igde_stream.stream import Frame, PsnrReport, enhance_file, pair_frames
from igde_stream.stream.outputs import GtMatcher


def frames(times, pts_offset=0.0):
    return [Frame(i, None, t, t + pts_offset, np.full((2, 2), i, np.uint8)) for i, t in enumerate(times)]


def test_gt_matcher_pairs_within_half_a_frame_and_skips_a_missing_gt_frame():
    # 25 fps (tolerance 20 ms); the ground truth has a stray frame at 0.01 s (just before the one that
    # matches output 1) and lacks the frame at 0.08 s: the stray frame is passed over and counted as
    # unmatched, output 1 still gets its gt frame, output 2 gets none, output 3 gets the gt frame at
    # 0.12 s (never the neighbour one frame away)
    outs = [0.0, 0.04, 0.08, 0.12, 0.16]
    gts = frames([0.0, 0.01, 0.04, 0.12, 0.16])
    rep = PsnrReport(255.0)
    m = GtMatcher(iter(gts), 0.02, rep, usable=True)
    got = [m.match(t) for t in outs]
    m.finish()
    assert [None if g is None else g.time for g in got] == [0.0, 0.04, None, 0.12, 0.16]
    assert rep.unmatched_gt_count == 1 and rep.unmatched_gt == [(1, 0.01)]
    rep.close()


def test_gt_matcher_counts_gt_frames_after_the_last_output():
    rep = PsnrReport(255.0)
    m = GtMatcher(iter(frames([0.0, 0.04, 0.08])), 0.02, rep, usable=True)
    assert m.match(0.0).index == 0
    m.finish()
    assert rep.unmatched_gt_count == 2 and [i for i, _ in rep.unmatched_gt] == [1, 2]
    rep.close()


def test_gt_is_matched_on_stream_relative_times_when_every_stream_starts_late(tmp_path, enhancer):
    # colour, depth and ground truth all start at 2 s (an excerpt cut from a longer recording): with
    # the default relative sync every output frame k meets ground-truth frame k
    colors, depths, gts = scene(4)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", start=2.0)
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", start=2.0)
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray", start=2.0)
    summary = enhance_file(c, d, tmp_path / "out.mkv", gt_path=g, report_path=tmp_path / "r.json", enhancer=enhancer)
    assert summary["matched_frames"] == 4 and summary["unmatched_frames"] == 0
    rows = json.loads((tmp_path / "r.json").read_text())["frames"]
    assert all(r["gt_pts_time"] == pytest.approx(r["pts_time"], abs=1e-3) for r in rows)


def test_pairing_stops_yielding_after_a_lone_colour_frame_too():
    # the colour stream has an extra frame at 0.15 s: the two pairs before it come out, nothing after
    got = []
    with pytest.raises(PairingError, match=r"frame 2 \(0\.150 s\) of the colour stream has no depth frame"):
        for pair in pair_frames(frames([0.0, 0.1, 0.15, 0.2, 0.3]), frames([0.0, 0.1, 0.2, 0.3]), 0.02, ("c", "d")):
            got.append(pair)
    assert [(c.index, d.index) for c, d in got] == [(0, 0), (1, 1)]


def test_no_start_offset_warning_when_both_streams_start_at_the_same_late_time(caplog):
    # both streams start at 5 s (pts_time - time = 5 for each): their starts agree, nothing to warn
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        pairs = list(pair_frames(frames([0.0, 0.04], 5.0), frames([0.0, 0.04], 5.0), 0.02, ("c", "d")))
    assert len(pairs) == 2
    assert not [r for r in caplog.records if "starts at" in r.getMessage()]
    # a real offset still warns
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        list(pair_frames(frames([0.0, 0.04], 5.0), frames([0.0, 0.04], 5.3), 0.02, ("c", "d")))
    assert [r for r in caplog.records if "starts at" in r.getMessage()]


def test_worst_frames_ties_go_to_the_earlier_frame():
    # frame 0 is off by 1 everywhere, frames 1..3 by 3 (equal PSNR): the two worst are frames 1 and 2
    # (equal PSNR: the earlier counts as worse), and all four rank 1, 2, 3, 0
    gt = np.full((4, 4), 100, np.uint8)
    rep = PsnrReport(255.0)
    for i, off in enumerate([1, 3, 3, 3]):
        rep.add(i, i / 25, gt + off, gt + off, gt, i / 25)
    assert [w["index"] for w in rep.summary(worst=2)["worst_frames"]] == [1, 2]
    assert [w["index"] for w in rep.summary(worst=5)["worst_frames"]] == [1, 2, 3, 0]
    rep.close()
