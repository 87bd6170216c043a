"""Colour and depth at different frame rates under ``--pair exact``: the refusal names both rates, so
that a stream written at the wrong rate (a depth video muxed at 25 fps beside 30 fps colour of the
same capture, both 12 frames) is told from frames that are missing, and points to ``--pair nearest``
for streams that really run at different rates. Streams of one rate get no such words."""

from __future__ import annotations

import pytest

from conftest import timed_frames
from igde_stream.errors import PairingError
from igde_stream.stream.pairing import pairs


def _refusal(color_fps, depth_fps, n=12):
    colors = timed_frames([k / color_fps for k in range(n)])
    depths = timed_frames([k / depth_fps for k in range(n)])
    with pytest.raises(PairingError) as info:
        list(pairs("exact", colors, depths, (1 / color_fps, 1 / depth_fps), ("c.mp4", "d.mkv")))
    return str(info.value)


def test_different_rates_are_named_in_the_refusal():
    said = _refusal(30, 25)
    assert "colour runs at 30 fps and the depth at 25 fps" in said, said
    assert "--pair nearest" in said, said
    said = _refusal(30000 / 1001, 15)
    assert "colour runs at 29.97 fps and the depth at 15 fps" in said, said


def test_one_rate_gets_no_rate_words():
    colors = timed_frames([k / 30 for k in range(5)])
    depths = timed_frames([k / 30 for k in (0, 1, 2, 3, 5)])  # a frame missing from the depth
    with pytest.raises(PairingError) as info:
        list(pairs("exact", colors, depths, (1 / 30, 1 / 30), ("c.mp4", "d.mkv")))
    assert "fps" not in str(info.value)


def test_ntsc_beside_its_nominal_rate_is_named():
    """30000/1001 fps colour beside 30 fps depth of one capture: the two drift half a depth frame apart
    after 500 frames (16.7 ms at 1/30000 s a frame), so depth frame 501 (16.700 s) finds no colour frame.
    The frame durations differ by 1/1001 of the longer (0.0999 %): the refusal names both rates, not
    missing frames alone (as it did while the threshold was 0.1 %). 0.04 % apart is one rate."""
    said = _refusal(30000 / 1001, 30, n=600)
    assert "frame 501 (16.700 s) of the depth stream has no colour frame" in said, said
    assert "colour runs at 29.97 fps and the depth at 30 fps" in said, said
    colors = timed_frames([k / 30 for k in range(5)])
    depths = timed_frames([k / 30 for k in (0, 1, 2, 3, 5)])
    with pytest.raises(PairingError) as info:
        list(pairs("exact", colors, depths, (1 / 30, 1 / 30 * 1.0004), ("c.mp4", "d.mkv")))
    assert "fps" not in str(info.value)
