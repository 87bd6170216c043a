"""Stream facts (``stream.info``): the assumed frame rate, bits per format, and the completeness check
with a declared frame count. Expected values by hand from docs/stream.md ("Damage") and the docstrings."""

from __future__ import annotations

from fractions import Fraction

import pytest

from igde_stream.errors import CorruptInputError
from igde_stream.stream.info import FALLBACK_RATE, VideoInfo, check_complete, never_shown


def _info(**kw) -> VideoInfo:
    base = dict(path="x.mkv", codec="ffv1", width=8, height=4, pix_fmt="gray16le", time_base=Fraction(1, 1000),
                rate=Fraction(25), start_pts=0, frames=None, duration=None)
    return VideoInfo(**{**base, **kw})


def test_a_stream_without_a_rate_is_taken_at_25_fps():
    info = _info(rate=None)
    assert FALLBACK_RATE == 25
    assert info.effective_rate == Fraction(25)
    assert info.frame_duration == pytest.approx(0.04)


@pytest.mark.parametrize("pix_fmt, bits, peak", [("gray", 8, 255), ("gray10le", 10, 1023), ("gray12le", 12, 4095),
                                                 ("gray16le", 16, 65535)])
def test_bits_and_peak_of_each_depth_format(pix_fmt, bits, peak):
    info = _info(pix_fmt=pix_fmt)
    assert info.bits == bits
    assert info.peak == peak


def test_every_declared_frame_is_complete_whatever_the_duration():
    """A container declaring 10 frames and 100 s (a VFR last frame held long): 10 frames decoded is
    complete; 9 is not."""
    info = _info(frames=10, duration=100.0)
    check_complete(info, "x.mkv", 10, 0.36, 0.36)
    with pytest.raises(CorruptInputError, match="decoded 9 frames but the container declares 10"):
        check_complete(info, "x.mkv", 9, 0.32, 0.32)


def test_frames_cut_by_the_edit_list_are_not_expected():
    """10 samples, 2 cut by the edit list: 8 decoded frames are all of them, whatever the duration."""
    info = _info(frames=10, duration=100.0)
    check_complete(info, "x.mkv", 8, 0.28, 0.28, dropped=2)
    with pytest.raises(CorruptInputError, match=r"declares 8 \(10 samples, 2 never shown: cut or empty\)$"):
        check_complete(info, "x.mkv", 7, 0.24, 0.24, dropped=2)
    with pytest.raises(CorruptInputError, match=r"declares 8 \(10 samples, 2 never shown: 2 cut by its edit list\)$"):
        check_complete(info, "x.mkv", 7, 0.24, 0.24, dropped=2, dropped_why=never_shown(2, 0))


def test_samples_never_shown_are_named_by_their_kind():
    assert never_shown(0, 0) == ""
    assert never_shown(2, 0) == "2 cut by its edit list"
    assert never_shown(0, 1) == "1 empty (dropped by the recorder)"
    assert never_shown(1, 3) == "1 cut by its edit list, 3 empty (dropped by the recorder)"
