"""Tests added by seeded-bug review 63 (results/mutation.md, "Seeded-bug review 63"): each catches a bug
planted by hand in --start / --max-frames, the colour inputs or the layered hole fill that the earlier
tests let through. Expected values are worked out by hand (frame times, timecodes, counts) or with NumPy."""

from __future__ import annotations

from fractions import Fraction

import pytest


@pytest.mark.parametrize("tc, frames, want", [
    # FFmpeg reads "1:00:00:00" as non-drop and "1:00:00;00" as drop-frame (ffmpeg -timecode ... then
    # ffprobe: 01:00:00:00 and 01:00:00;00); 1800 frames on: one minute, and minute 61 of a drop-frame
    # count starts at ;02
    ("1:00:00:00", 30, "01:00:01:00"),
    ("1:00:00:00", 1800, "01:01:00:00"),
    ("1:00:00;00", 1800, "01:01:00;02"),
])
def test_a_timecode_with_one_digit_hours_keeps_its_kind(tc, frames, want):
    from igde_stream.stream.timecode import advance

    assert advance(tc, frames, Fraction(30000, 1001)) == want
