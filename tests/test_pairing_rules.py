"""The pairing rules of igde_stream.stream.pairing at their edges: which tolerance each mode uses, a
frame exactly the tolerance away, the start-offset warning and the counts in the error message. The
frame times are binary-exact (multiples of 1/8 s), so every boundary below is an exact comparison;
expected values are worked out by hand."""

from __future__ import annotations

import logging
from fractions import Fraction
from types import SimpleNamespace

import pytest

from conftest import timed_frames as frames
from igde_stream.errors import PairingError
from igde_stream.stream.pairing import pair_frames, pair_nearest, pairs

NAMES = ("c.mp4", "d.mkv")


def indexes(it):
    return [(c.index, d.index) for c, d in it]


def test_exact_mode_allows_half_a_depth_frame_not_half_a_colour_frame():
    # durations (colour 0.125 s, depth 0.5 s): the tolerance is 0.25 s; a colour frame 0.1875 s off
    # pairs, one 0.375 s off does not (half the colour duration would refuse the first; a whole
    # depth frame, or 1.5, would accept the second)
    durations = (0.125, 0.5)
    assert indexes(pairs("exact", frames([0, 0.6875]), frames([0, 0.5]), durations, NAMES)) == [(0, 0), (1, 1)]
    with pytest.raises(PairingError, match=r"within 250\.0 ms"):
        list(pairs("exact", frames([0, 0.875]), frames([0, 0.5]), durations, NAMES))


def test_a_colour_frame_exactly_the_tolerance_away_pairs_on_either_side():
    got = indexes(pair_frames(frames([0, 0.75, 2.25]), frames([0, 1.0, 2.0]), 0.25, NAMES))
    assert got == [(0, 0), (1, 1), (2, 2)]
    with pytest.raises(PairingError):  # a hair further does not
        list(pair_frames(frames([0, 0.75 - 2 ** -20]), frames([0, 1.0]), 0.25, NAMES))


def _offset_warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "starts at" in r.getMessage()]


@pytest.mark.parametrize("pair", [pair_frames, pair_nearest])
def test_a_late_colour_stream_warns_once_with_its_start_and_the_gap(pair, caplog):
    times = [0.125, 0.25, 0.375, 0.5]  # stream-relative times not starting at 0: start = pts_time - time
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert len(list(pair(frames(times, start=0.5), frames(times, start=0.125), 0.0625, NAMES))) == 4
    msgs = _offset_warnings(caplog)
    assert len(msgs) == 1, msgs
    assert "colour c.mp4 starts at 0.500 s and depth d.mkv at 0.125 s (375.0 ms apart" in msgs[0]


@pytest.mark.parametrize("pair", [pair_frames, pair_nearest])
def test_the_start_offset_warning_needs_no_second_frame(pair, caplog):
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert len(list(pair(frames([0.0], start=1.0), frames([0.0]), 0.0625, NAMES))) == 1
    assert len(_offset_warnings(caplog)) == 1


def test_trailing_colour_frames_are_counted_and_listed():
    with pytest.raises(PairingError) as info:
        list(pair_frames(frames([0, 0.125, 0.25, 0.375]), frames([0, 0.125]), 0.0625, NAMES))
    msg = str(info.value)
    assert "frames 2 (0.250 s), 3 (0.375 s) of the colour stream have no depth frame" in msg
    assert "(4 colour frames, 2 depth frames)" in msg
    assert "--pair nearest gives each depth frame the colour frame nearest in time" in msg


@pytest.mark.parametrize("lone, tail", [(6, ""), (7, " and 1 more")])
def test_the_frame_list_shows_six_frames_then_counts_the_rest(lone, tail):
    depth_times = [k / 8 for k in range(1 + lone)]
    with pytest.raises(PairingError) as info:
        list(pair_frames(frames([0]), frames(depth_times), 0.0625, NAMES))
    shown = ", ".join(f"{k} ({k / 8:.3f} s)" for k in range(1, 7))
    assert f"frames {shown}{tail} of the depth stream have no colour frame" in str(info.value)


class _FakeReader:
    """What views.paired_depths reads of a VideoReader: path, info (frame duration, time base and
    rate: 1 ms holds 1/8 s exactly, so no rounding slack), frames()."""

    def __init__(self, path, times, duration=0.125):
        self.path, self.times = path, times
        self.info = SimpleNamespace(frame_duration=duration, time_base=Fraction(1, 1000),
                                    effective_rate=1 / Fraction(duration))

    def frames(self):
        return iter(frames(self.times))


def test_further_depth_streams_follow_the_first_within_half_a_frame():
    from igde_stream.stream.views import paired_depths

    color, first = _FakeReader("c.mp4", [0, 0.125, 0.25]), _FakeReader("d1.mkv", [0, 0.125, 0.25])
    near = _FakeReader("d2.mkv", [0, 0.125 + 0.0625, 0.25])  # exactly half a frame late: follows
    assert len(list(paired_depths(color, [first, near]))) == 3
    late = _FakeReader("d2.mkv", [0, 0.125 + 0.0625 + 2 ** -10, 0.25])
    with pytest.raises(PairingError, match=r"has its frame 1 at 0\.188 s where d1\.mkv has frame 1 at 0\.125 s"):
        list(paired_depths(color, [first, late]))
    longer = _FakeReader("d2.mkv", [0, 0.125, 0.25, 0.375])
    with pytest.raises(PairingError, match=r"frame 3 at 0\.375 s has no partner in d1\.mkv"):
        list(paired_depths(color, [first, longer]))
    shorter = _FakeReader("d2.mkv", [0, 0.125])
    with pytest.raises(PairingError, match=r"ends after 2 frames, where d1\.mkv has frame 2"):
        list(paired_depths(color, [first, shorter]))


def test_one_colour_frame_beside_a_depth_stream_names_a_still_clip_not_the_rates():
    """One colour image beside a depth stream of unknown length (a pipe): the error says the colour is
    one frame and how to make a still clip of the depth's length (4 frames), not that a stream was
    muxed at a wrong rate; one frame is "1 colour frame"."""
    with pytest.raises(PairingError) as exc:
        list(pairs("exact", frames([0]), frames([0, 0.125, 0.25, 0.375]), (0.04, 0.125), NAMES))
    msg = str(exc.value)
    assert "(1 colour frame, 4 depth frames); the colour is one frame: each depth frame needs its own" in msg
    assert "ffmpeg -loop 1 -framerate RATE -i c.mp4 -frames:v 4 -c:v ffv1 color.mkv" in msg
    assert "fps" not in msg and "--pair nearest" not in msg
    with pytest.raises(PairingError) as exc:  # two colour frames: the rates, as before
        list(pairs("exact", frames([0, 0.04]), frames([0, 0.125, 0.25, 0.375]), (0.04, 0.125), NAMES))
    assert "(2 colour frames, 4 depth frames); the colour runs at 25 fps and the depth at 8 fps" in str(exc.value)
