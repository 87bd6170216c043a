"""``--pair nearest``: each depth frame with the colour frame nearest in time (other frame rates,
colour that runs longer); expected pairings worked out by hand from the frame times."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from conftest import read_video, timed_frames as frames, write_video
from igde_stream.errors import PairingError
from igde_stream.stream import enhance_file
from igde_stream.stream.pairing import pair_nearest, pairs


def indexes(colors, depths, tolerance, tally=None):
    return [(c.index, d.index) for c, d in pair_nearest(frames(colors), frames(depths), tolerance, ("c", "d"), tally)]


def test_depth_at_half_the_colour_rate_takes_every_other_colour_frame():
    tally = {}
    got = indexes([k / 30 for k in range(7)], [k / 15 for k in range(4)], 1 / 30, tally)
    assert got == [(0, 0), (2, 1), (4, 2), (6, 3)]
    assert tally == {"color_frames": 7, "color_skipped": 3, "color_reused": 0}  # frames 1, 3, 5


def test_depth_faster_than_colour_reuses_the_nearest_colour_frame():
    # colour at 0, 1/30, 2/30 (0.0333, 0.0667); depth times chosen clear of ties:
    # 0 -> c0; 0.010 -> c0 (0.010 vs 0.023); 0.030 -> c1; 0.045 -> c1 (0.012 vs 0.022); 0.066 -> c2
    tally = {}
    got = indexes([0, 1 / 30, 2 / 30], [0, 0.010, 0.030, 0.045, 0.066], 1 / 60, tally)
    assert got == [(0, 0), (0, 1), (1, 2), (1, 3), (2, 4)]
    assert tally == {"color_frames": 3, "color_skipped": 0, "color_reused": 2}


def test_a_tie_goes_to_the_earlier_colour_frame():
    # binary-exact times: 0.125 lies exactly half way between 0 and 0.25
    assert indexes([0, 0.25, 0.5], [0.125, 0.375], 0.125) == [(0, 0), (1, 1)]


def test_colour_longer_on_both_sides_is_skipped_and_read_to_the_end():
    tally = {}
    got = indexes([k / 30 for k in range(10)], [k / 30 for k in range(3, 7)], 1 / 60, tally)
    assert got == [(3, 0), (4, 1), (5, 2), (6, 3)]
    assert tally == {"color_frames": 10, "color_skipped": 6, "color_reused": 0}


def test_depth_beyond_the_colour_is_an_error_listing_each_frame_and_nothing_after_the_first():
    seen = []
    with pytest.raises(PairingError) as info:
        for c, d in pair_nearest(frames([0, 1 / 30]), frames([k / 30 for k in range(5)]), 1 / 60, ("c.mp4", "d.mkv")):
            seen.append((c.index, d.index))
    assert seen == [(0, 0), (1, 1)]
    msg = str(info.value)
    assert msg.startswith("c.mp4, d.mkv: no colour frame within 16.7 ms of frames 2 (0.067 s), 3 (0.100 s), 4 (0.133 s)")
    assert "(2 colour frames, 5 depth frames)" in msg


def test_a_gap_in_the_colour_is_an_error_even_between_good_frames():
    # colour misses 0.1 .. 0.2; the depth frame at 0.15 is 0.05 from either neighbour, over 1/60 s
    seen = []
    with pytest.raises(PairingError, match=r"of frame 3 \(0\.150 s\) of the depth stream \(5 colour"):
        for c, d in pair_nearest(frames([0, 0.05, 0.1, 0.2, 0.25]), frames([0, 0.05, 0.1, 0.15, 0.2]), 1 / 60,
                                 ("c", "d")):
            seen.append(d.index)
    assert seen == [0, 1, 2]  # depth frame 4 pairs (with colour 0.2) but is not enhanced after the gap


def test_modes_and_their_tolerances():
    c, d = [0, 1 / 30, 2 / 30], [0, 1 / 15]  # depth at 15 fps
    with pytest.raises(PairingError):  # exact: colour frame 1 has no depth frame
        list(pairs("exact", frames(c), frames(d), (1 / 30, 1 / 15), ("c", "d")))
    got = [(a.index, b.index) for a, b in pairs("nearest", frames(c), frames(d), (1 / 30, 1 / 15), ("c", "d"))]
    assert got == [(0, 0), (2, 1)]
    # nearest: half the longer duration. A colour frame 30 ms off a 15 fps depth frame still pairs
    # (under 33.3 ms); at 34 ms it does not
    assert len(list(pairs("nearest", frames([0.03]), frames([0.0]), (1 / 30, 1 / 15), ("c", "d")))) == 1
    with pytest.raises(PairingError):
        list(pairs("nearest", frames([0.034]), frames([0.0]), (1 / 30, 1 / 15), ("c", "d")))
    # depth faster than colour (30 against 15 fps): the colour's half frame, 33.3 ms, bounds it
    assert len(list(pairs("nearest", frames([0.03]), frames([0.0]), (1 / 15, 1 / 30), ("c", "d")))) == 1
    with pytest.raises(ValueError, match="pairing mode"):
        pairs("closest", frames(c), frames(d), (1 / 30, 1 / 15), ("c", "d"))


class ColourCode:
    """An enhancer whose output is the colour frame's red value: shows which colour frame was paired."""

    batch = 2
    backend_name = "colour-code"

    def enhance(self, color, depth):
        return np.broadcast_to(color[:, :, :, :1].transpose(0, 3, 1, 2)[:, 0], depth.shape).astype(depth.dtype)


def _clips(tmp_path):
    h, w = 16, 24
    colors = [np.full((h, w, 3), 10 * (k + 1), np.uint8) for k in range(8)]  # colour frame k: red 10 (k + 1)
    depths = [np.full((h, w), 200, np.uint8) for _ in range(4)]
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(30))
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=Fraction(15))
    return c, d


def test_enhance_file_with_a_15fps_depth_and_a_30fps_colour(tmp_path):
    c, d = _clips(tmp_path)
    summary = enhance_file(c, d, tmp_path / "out.mkv", enhancer=ColourCode(), pair="nearest", gt_path=d,
                           report_path=tmp_path / "r.json")
    out, pts, facts = read_video(tmp_path / "out.mkv")
    # depth frame k (k / 15 s) pairs with colour frame 2k, whose red is 10 (2k + 1)
    assert [int(o[0, 0]) for o in out] == [10, 30, 50, 70]
    assert facts["rate"] == 15 and len(pts) == 4
    assert (summary["frames"], summary["color_frames"], summary["color_skipped"], summary["color_reused"]) == (4, 8, 4, 0)
    header = json.loads((tmp_path / "r.json").read_text())
    assert (header["pair"], header["color_frames"], header["color_skipped"], header["color_reused"]) == ("nearest", 8, 4, 0)
    with pytest.raises(PairingError, match="of the colour stream have no depth frame"):
        enhance_file(c, d, tmp_path / "exact.mkv", enhancer=ColourCode())
    assert not (tmp_path / "exact.mkv").exists()


def test_cli_pair_nearest_and_the_views_command(tmp_path):
    from igde_stream import cli
    from igde_stream.stream.pairing import PAIR_MODES

    assert cli.PAIR_CHOICES == PAIR_MODES  # the CLI keeps its own copy (no PyAV import at start-up)
    c, d = _clips(tmp_path)
    run = [sys.executable, "-m", "igde_stream"]
    bad = subprocess.run([*run, str(c), str(d), "-o", str(tmp_path / "o.mkv"), "-q"], capture_output=True, text=True)
    assert bad.returncode == 2 and not (tmp_path / "o.mkv").exists()
    assert bad.stderr.count("\n") == 1 and bad.stderr.rstrip().endswith("--pair nearest gives each depth frame the "
                                                                        "colour frame nearest in time")
    views = subprocess.run([*run, "views", "render", str(c), str(d), "-o", str(tmp_path / "v.mkv"), "--views", "2",
                            "--pair", "nearest", "-q"], capture_output=True, text=True)
    assert views.returncode == 0, views.stderr
    got, pts, _ = read_video(tmp_path / "v.mkv")
    assert len(got) == 4
    # two views side by side of a flat depth: each is the colour frame 2k, red 10 (2k + 1)
    assert [int(g[8, 4, 0]) for g in got] == [10, 30, 50, 70]


def test_matroska_rounding_at_the_half_frame_pairs_and_ties_go_to_the_earlier_frame(tmp_path):
    # 30 fps colour beside 60 fps depth, both in Matroska (1 ms): the odd depth frames lie half a
    # colour frame from two colour frames, 17 / 16 ms or 17 / 17 ms away once rounded (true: 16.67 both),
    # over the 16.67 ms tolerance. Each colour frame guides two depth frames, the tie going to the earlier.
    h, w = 16, 24
    colors = [np.full((h, w, 3), 10 * (k + 1), np.uint8) for k in range(4)]
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(30))
    d = write_video(tmp_path / "d.mkv", [np.full((h, w), 200, np.uint8)] * 8, fmt="gray", rate=Fraction(60))
    summary = enhance_file(c, d, tmp_path / "out.mkv", enhancer=ColourCode(), pair="nearest")
    out, _, _ = read_video(tmp_path / "out.mkv")
    assert [int(o[0, 0]) for o in out] == [10, 10, 20, 20, 30, 30, 40, 40]
    assert (summary["color_skipped"], summary["color_reused"]) == (0, 4)
    # 15 fps colour beside 30 fps depth: the last depth frame (367 ms) is 34 ms from colour 333 ms
    c15 = write_video(tmp_path / "c15.mkv", colors[:2], fmt="rgb24", codec="ffv1", rate=Fraction(15))
    d30 = write_video(tmp_path / "d30.mkv", [np.full((h, w), 200, np.uint8)] * 4, fmt="gray", rate=Fraction(30))
    enhance_file(c15, d30, tmp_path / "out15.mkv", enhancer=ColourCode(), pair="nearest")
    assert [int(o[0, 0]) for o in read_video(tmp_path / "out15.mkv")[0]] == [10, 10, 20, 20]


def test_rounding_slack_counts_only_time_bases_that_round():
    from igde_stream.stream.info import VideoInfo
    from igde_stream.stream.pairing import rounding_slack

    def info(tb, rate):
        return VideoInfo("x", "ffv1", 2, 2, "gray", Fraction(tb), Fraction(rate), 0, None, None)

    assert rounding_slack(info(Fraction(1, 15360), 30), info(Fraction(1, 90000), Fraction(30000, 1001))) == 0
    assert rounding_slack(info(Fraction(1, 1000), 30), info(Fraction(1, 1000), 25)) == 0.001
    assert rounding_slack(info(Fraction(1, 1000), 60), info(Fraction(1, 1000), 60)) == 0.002
    assert rounding_slack(info(Fraction(1, 10), 30)) == 0.125 / 30  # a coarse time base: at most 1/8 frame


def test_views_pair_matroska_rounding_at_the_half_frame_as_the_stream_command(tmp_path):
    # views.paired_depths (views render, view quality): 30 fps colour beside 60 fps depth in Matroska,
    # as above; each colour frame k (red 10 (k + 1)) guides depth frames 2k and 2k + 1
    from igde_stream.stream import VideoReader
    from igde_stream.stream.views import paired_depths

    h, w = 16, 24
    c = write_video(tmp_path / "c.mkv", [np.full((h, w, 3), 10 * (k + 1), np.uint8) for k in range(4)], fmt="rgb24",
                    codec="ffv1", rate=Fraction(30))
    d = write_video(tmp_path / "d.mkv", [np.full((h, w), 200, np.uint8)] * 8, fmt="gray", rate=Fraction(60))
    with VideoReader(c, "color") as color, VideoReader(d, "depth") as depth:
        got = [int(col[0, 0, 0]) for _, col, _ in paired_depths(color, [depth], "nearest")]
    assert got == [10, 10, 20, 20, 30, 30, 40, 40]


def _sixty_beside_thirty(tmp_path):
    """30 fps colour (frame k red 10 (k + 1)) beside 60 fps depth, both Matroska: colour frame k
    guides depth frames 2k and 2k + 1 (the test above)."""
    h, w = 16, 24
    c = write_video(tmp_path / "c.mkv", [np.full((h, w, 3), 10 * (k + 1), np.uint8) for k in range(4)], fmt="rgb24",
                    codec="ffv1", rate=Fraction(30))
    d = write_video(tmp_path / "d.mkv", [np.full((h, w), 200, np.uint8)] * 8, fmt="gray", rate=Fraction(60))
    return c, d


@pytest.mark.parametrize("span", [{"max_frames": 2}, {"end": 0.1}])
def test_a_span_counts_the_colour_frames_it_read(tmp_path, span):
    """--max-frames / --to with --pair nearest: the log, the summary and the report header count the
    colour frames as a whole run does (docs/stream.md, --pair), over the frames written. Depth at 15
    fps beside colour at 30: depth 0 -> colour 0, depth 1 (0.067 s) -> colour 2; colour 1 guided
    nothing; colour 3, which pairing reads ahead, lies after the span, and with --to 0.1 the depth
    frame at 0.133 s is not written, so colour 4 nearest it is not counted either."""
    c, d = _clips(tmp_path)
    summary = enhance_file(c, d, tmp_path / "out.mkv", enhancer=ColourCode(), pair="nearest", gt_path=d,
                           report_path=tmp_path / "r.json", **span)
    assert [int(o[0, 0]) for o in read_video(tmp_path / "out.mkv")[0]] == [10, 30]
    assert (summary["frames"], summary["color_frames"], summary["color_skipped"], summary["color_reused"]) == (2, 3, 1, 0)
    header = json.loads((tmp_path / "r.json").read_text())
    assert (header["color_frames"], header["color_skipped"], header["color_reused"]) == (3, 1, 0)


@pytest.mark.parametrize("span", [{"max_frames": 3}, {"end": 2.5 / 60}])
def test_a_span_counts_a_colour_frame_reused_within_it_once(tmp_path, span, caplog):
    """60 fps depth beside 30 fps colour, 3 depth frames written: colour 0 guides depth 0 and 1, colour 1
    depth 2; the depth frame after the span (0.05 s, also colour 1's) does not make colour 1 reused."""
    import logging

    c, d = _sixty_beside_thirty(tmp_path)
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        summary = enhance_file(c, d, tmp_path / "out.mkv", enhancer=ColourCode(), pair="nearest", **span)
    assert [int(o[0, 0]) for o in read_video(tmp_path / "out.mkv")[0]] == [10, 10, 20]
    assert (summary["color_frames"], summary["color_skipped"], summary["color_reused"]) == (2, 0, 1)
    assert "c.mkv: 0 of 2 colour frames skipped (no depth frame nearer), 1 guided more than one depth frame" in caplog.text


def test_views_with_a_span_log_the_colour_frames_it_read(tmp_path, caplog):
    """views render --pair nearest --max-frames 3 (paired_depths with a span): the same log line."""
    import logging

    from igde_stream.stream import VideoReader
    from igde_stream.stream.span import Span
    from igde_stream.stream.views import paired_depths

    c, d = _sixty_beside_thirty(tmp_path)
    got = []
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"), VideoReader(c, "color") as color, \
            VideoReader(d, "depth") as depth:
        for _, col, _ in paired_depths(color, [depth], "nearest", Span(max_frames=3)):
            got.append(int(col[0, 0, 0]))
            if len(got) == 3:
                break
    assert got == [10, 10, 20]
    assert "c.mkv: 0 of 2 colour frames skipped (no depth frame nearer), 1 guided more than one depth frame" in caplog.text
