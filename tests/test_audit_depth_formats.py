"""Audit: depth order, display orientation and limited-range luma, cases the other tests leave open
(found by seeding wrong algorithms). Expected values are worked by hand from the documented formulas,
from numpy's rot90 (counter-clockwise, as FFmpeg counts angles) and from libavutil/display.c."""

from __future__ import annotations

import logging
import math

import av
import numpy as np
import pytest

from igde_stream.depth_order import denormalize, normalize_unit
from igde_stream.errors import InputError
from igde_stream.stream.formats import bits_of, depth_array, full_to_luma, limited_span, luma_to_full
from igde_stream.stream.luma_checks import check_limited_luma
from igde_stream.stream.orientation import Orientation, frame_orientation

# ------------------------------------------------------------------------------------ depth order


def test_near_high_output_is_rounded_not_cut():
    """round(y P): 0.4567 * 1000 = 456.7 -> 457, 0.1234 * 1000 = 123.4 -> 123, 0.9999 * 1000 -> 1000."""
    y = np.array([0.4567, 0.1234, 0.9999], np.float32)
    np.testing.assert_array_equal(denormalize(y, 1000, "near-high", np.uint16), [457, 123, 1000])


def test_far_high_output_is_at_most_the_far_limit():
    """round(n / y), at most P: P = 5000, n = 250. y = 0.01 -> 25000 -> 5000; y = 0.001 -> 250000 ->
    5000 (it would not even fit 16 bits); y = 0.05 -> 5000; y = 0.1 -> 2500."""
    y = np.array([0.01, 0.001, 0.05, 0.1], np.float32)
    np.testing.assert_array_equal(denormalize(y, 5000, "far-high", np.uint16), [5000, 5000, 5000, 2500])


def test_output_outside_zero_one_is_clipped_first():
    """A network output above 1 or below 0 is clipped to [0, 1] first: near-high 1.5 -> P = 1000,
    -0.25 -> 0; far-high 1.5 -> y = 1 -> n = 250, -0.25 -> 0 (no depth)."""
    y = np.array([1.5, -0.25], np.float32)
    np.testing.assert_array_equal(denormalize(y, 1000, "near-high", np.uint16), [1000, 0])
    np.testing.assert_array_equal(denormalize(y, 5000, "far-high", np.uint16), [250, 0])


def test_unit_depth_outside_zero_one_is_clipped_first():
    """Float depth in [0, 1]: 1.5 -> 1, -0.5 -> 0. Far-high: 2.0 -> 1 (the far limit) -> 0.05 / 1 =
    0.05; 0.5 -> 0.1; -0.5 -> 0 (no depth)."""
    np.testing.assert_allclose(normalize_unit(np.array([1.5, -0.5, 0.5], np.float32)), [1.0, 0.0, 0.5])
    np.testing.assert_allclose(normalize_unit(np.array([2.0, 0.5, -0.5], np.float32), "far-high"), [0.05, 0.1, 0.0],
                               rtol=1e-6)


# ------------------------------------------------------------------------------------ orientation


def _pattern() -> np.ndarray:
    q, p = np.mgrid[:5, :7]
    return (3 * p + 11 * q).astype(np.uint8)  # no turn or mirror maps it onto another


class _NoSideData:
    """A decoded frame as PyAV 18 gives a photo with an EXIF block: side data that cannot be listed,
    the angle alone in ``rotation`` (av_display_rotation_get: counter-clockwise degrees)."""

    def __init__(self, rotation: int) -> None:
        self.rotation = rotation

    @property
    def side_data(self):
        raise ValueError("unknown side data type")


@pytest.mark.parametrize("degrees", [90, -90, 180, 0])
def test_rotation_angle_fallback_turns_as_ffmpeg_counts(degrees):
    """The angle is counter-clockwise, as numpy's rot90: -90 (a phone held upright) is a quarter turn
    clockwise, rot90(k = -1)."""
    o = frame_orientation(_NoSideData(degrees), "photo.jpg")
    a = _pattern()
    np.testing.assert_array_equal(o.apply(a), np.rot90(a, degrees // 90))


def _matrix(degrees: float) -> tuple[int, ...]:
    """A turn by ``degrees`` counter-clockwise as display.h lays it out: a b u / c d v / x y w with
    (a, b, c, d) = (cos, -sin, sin, cos) (ffprobe's -90 is 0 1 / -1 0); its angle by display.c's
    av_display_rotation_get, -atan2(b / |(b, d)|, a / |(a, c)|), is ``degrees`` again."""
    t = math.radians(degrees)
    a, b, c, d = math.cos(t), -math.sin(t), math.sin(t), math.cos(t)
    assert math.isclose(-math.degrees(math.atan2(b / math.hypot(b, d), a / math.hypot(a, c))), degrees, abs_tol=1e-9)
    return tuple(round(v * 65536) for v in (a, b, 0, c, d, 0)) + (0, 0, 1 << 30)


@pytest.mark.parametrize("degrees", [3, -3, 87, 93, 178, 45])
def test_matrix_more_than_a_degree_off_a_quarter_turn_is_refused(degrees):
    with pytest.raises(InputError, match="not a quarter turn or a mirror"):
        Orientation.from_matrix(_matrix(degrees), "v.mp4")


@pytest.mark.parametrize("degrees,k", [(0.5, 0), (-0.5, 0), (90.5, 1), (-89.5, -1), (179.5, 2)])
def test_matrix_within_a_degree_is_the_quarter_turn(degrees, k):
    a = _pattern()
    np.testing.assert_array_equal(Orientation.from_matrix(_matrix(degrees), "v.mp4").apply(a), np.rot90(a, k))


# ------------------------------------------------------------------------------- limited range


def _yuv_frame(luma: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    """A YUV frame whose luma plane holds ``luma`` and whose chroma is neutral."""
    h, w = luma.shape
    frame = av.VideoFrame(w, h, pix_fmt)
    sample = np.dtype("<u2") if luma.dtype == np.uint16 else np.dtype(np.uint8)
    neutral = 512 if sample.itemsize == 2 else 128
    for i, plane in enumerate(frame.planes):
        buf = np.full((plane.height, plane.line_size // sample.itemsize), neutral, sample)
        if i == 0:
            buf[:, :w] = luma
        plane.update(buf.tobytes()[: plane.buffer_size])
    return frame


def _warnings(caplog, luma, pix_fmt):
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        frame = _yuv_frame(luma, pix_fmt)
        check_limited_luma(depth_array(frame), bits_of(pix_fmt), 1, "d.mkv")
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_limited_luma_at_its_endpoints_does_not_warn(caplog):
    """16 and 235 are the limited range's own ends (8 bits): no warning; 15 or 236 is outside."""
    legal = np.tile(np.array([16, 235], np.uint8), (4, 2))
    assert _warnings(caplog, legal, "yuv420p") == []
    for bad, said in ((15, "15..235"), (236, "16..236")):
        luma = legal.copy()
        luma[0, 0] = bad
        (msg,) = _warnings(caplog, luma, "yuv420p")
        assert "16..235" in msg and said in msg


def test_limited_luma_of_10_bits_is_checked_against_64_940(caplog):
    """10 bits: 16 * 4 .. 235 * 4 = 64..940 is legal (no warning); 1000 is outside."""
    legal = np.tile(np.array([64, 940], np.uint16), (4, 2))
    assert _warnings(caplog, legal, "yuv420p10le") == []
    luma = legal.copy()
    luma[1, 1] = 1000
    (msg,) = _warnings(caplog, luma, "yuv420p10le")
    assert "64..940" in msg and "64..1000" in msg


def test_16_bit_limited_range_is_16_and_235_times_256():
    """16 bits: (16, 235) x 2^8 = 4096..60160, stretched to 0..65535 and back."""
    assert limited_span(16) == (4096, 60160)
    ends = np.array([4096, 60160, 0, 65535], np.uint16)
    np.testing.assert_array_equal(luma_to_full(ends, 16), [0, 65535, 0, 65535])
    np.testing.assert_array_equal(full_to_luma(np.array([0, 65535], np.uint16), 16), [4096, 60160])
    # middle codes by hand: 4096 + 1000 -> 1000 * 65535 / 56064 = 1168.93 -> 1169;
    # 4096 + 20000 -> 20000 * 65535 / 56064 = 23378.64 -> 23379
    np.testing.assert_array_equal(luma_to_full(np.array([5096, 24096], np.uint16), 16), [1169, 23379])
