"""How far the rate of an untimed input (image sequence, raw, array at --fps) may be from a video's
before ``check_timing`` refuses the pair. 30 fps beside 30000/1001 is 0.0999 % off, which the old
bound of 0.1 % let through: a frame of drift every 33 s, and depth written at 30 fps beside 29.97 fps
colour. A short Matroska / FLV clip that declares no rate has one FFmpeg estimates from its 1 ms
timestamps: 6 frames of 30000/1001 fps read as 359/12 fps (0.18 % off), 6 of 24000/1001 as 287/12
(0.25 %), which the old bound refused: --fps 30000/1001 beside them pairs frame k with frame k."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import av
import numpy as np
import pytest

from igde_stream.errors import PairingError
from igde_stream.stream import VideoReader
from igde_stream.stream.streams import check_timing


def _undeclared_rate_mkv(path, rate, n):
    """``n`` frames at round(k / rate) ms in Matroska with no DefaultDuration (no rate declared)."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1")
        s.codec_context.framerate = Fraction(0, 1)
        s.width, s.height, s.pix_fmt = 16, 8, "gray"
        s.time_base = s.codec_context.time_base = Fraction(1, 1000)
        for k in range(n):
            f = av.VideoFrame.from_ndarray(np.zeros((8, 16), np.uint8), format="gray")
            f.pts, f.time_base = round(k / rate * 1000), Fraction(1, 1000)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def _seq(rate, frames):
    return SimpleNamespace(kind="sequence", rate=Fraction(rate), frames=frames, path="depth/")


@pytest.mark.parametrize("rate", [Fraction(30000, 1001), Fraction(24000, 1001)])
def test_a_short_millisecond_clip_beside_a_sequence_at_its_true_rate_is_not_refused(tmp_path, rate):
    video = _undeclared_rate_mkv(tmp_path / "c.mkv", rate, 6)
    with VideoReader(video, "color") as r:
        info = r.info
    assert info.rate != rate  # FFmpeg's estimate from 6 millisecond timestamps: what the check sees
    check_timing(info, _seq(rate, 6), "colour")
    # and frame k does meet frame k: times within half a frame (independently, from the file)
    with av.open(str(video)) as c:
        times = [f.time for f in c.decode(video=0)]
    assert max(abs(t - k / rate) for k, t in enumerate(times)) < 0.5 / rate


@pytest.mark.parametrize("seq_rate, video_rate, time_base, frames, refused", [
    (Fraction(2997, 100), Fraction(30000, 1001), None, 100000, False),  # --fps 29.97 for 30000/1001: 1e-6 apart
    (Fraction(23976, 1000), Fraction(24000, 1001), None, None, False),  # --fps 23.976: 1e-6
    (30, Fraction(30000, 1001), None, 10, True),  # 0.0999 % apart
    (Fraction(30000, 1001), 30, Fraction(1, 90000), 10, True),  # the other way round, a fine time base
    (25, 30, Fraction(1, 1000), 3, True),  # 17 % apart: beyond any estimate from 3 ms timestamps
    (Fraction(30000, 1001), Fraction(359, 12), Fraction(1, 1000), 6, False),  # an estimate from 6 ms stamps
    (Fraction(30000, 1001), Fraction(359, 12), Fraction(1, 1000), 300, True),  # 300 frames: the estimate is exact
])
def test_rates_are_the_same_within_1e_4_and_what_an_estimate_from_timestamps_may_be_off(
        seq_rate, video_rate, time_base, frames, refused):
    seq = _seq(seq_rate, frames)
    video = SimpleNamespace(kind="file", rate=Fraction(video_rate), frames=None, path="c.mkv", time_base=time_base)
    if refused:
        with pytest.raises(PairingError, match="carries no timing"):
            check_timing(video, seq, "colour")
        with pytest.raises(PairingError, match="carries no timing"):
            check_timing(seq, video)  # as ground truth beside a depth video
    else:
        check_timing(video, seq, "colour")
        check_timing(seq, video)
