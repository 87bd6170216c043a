"""Audit: boundary error types worked out by hand on a vertical step (data.degrade).

Far (40 levels) left of column 15, near (200) from it on; the edge pixels are columns 14 and 15.
"""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream.data.degrade import DegradeConfig, Degrader


def _step(bits, h=8, w=32, col=15):
    scale = 1 if bits == 8 else 257
    d = np.full((h, w), 40 * scale, np.uint8 if bits == 8 else np.uint16)
    d[:, col:] = 200 * scale
    return d, scale


@pytest.mark.parametrize("bits", [8, 16])
def test_soft_ramp_is_the_rounded_box_mean_by_hand(bits):
    # soft_width 1, on everywhere: pixels within 1 px of an edge pixel (columns 13..16) take the 3 x 3
    # box mean. Columns 13 and 16 see one side only (unchanged); column 14 sees (40, 40, 200) -> 93.33
    # -> 93, column 15 sees (40, 200, 200) -> 146.67 -> 147 (rounded to nearest, not truncated)
    gt, s = _step(bits)
    out, err = Degrader(DegradeConfig(p_degrade=0.0, soft_width=1, p_soft=1.0), 0, gt.shape).apply(gt, 0)
    want = gt.copy()
    want[:, 14] = round((2 * 40 * s + 200 * s) / 3)
    want[:, 15] = round((40 * s + 2 * 200 * s) / 3)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(err, out != gt)


@pytest.mark.parametrize("bits", [8, 16])
def test_lowres_linear_is_area_down_bilinear_up_by_hand(bits):
    # factor 2: 2 x 2 binning makes the small map ..., 40 (bin 6: columns 12, 13), 120 (bin 7: columns
    # 14, 15 = mean of 40 and 200), 200 (bin 8), ...; bilinear enlargement (pixel centres: x maps to
    # (x + 0.5) / 2 - 0.5) gives column 13 = 0.75*40 + 0.25*120 = 60, 14 = 0.25*40 + 0.75*120 = 100,
    # 15 = 0.75*120 + 0.25*200 = 140, 16 = 0.25*120 + 0.75*200 = 180; all else stays (12 and 17 fall
    # between two equal bins), and the band (2 px around the edge pixels: columns 12..17) holds it all
    gt, s = _step(bits)
    out, _ = Degrader(DegradeConfig(p_degrade=0.0, lowres=2, lowres_linear=True), 0, gt.shape).apply(gt, 0)
    want = gt.copy()
    want[:, 13:17] = np.array([60, 100, 140, 180]) * s
    np.testing.assert_array_equal(out, want)


def test_misregistration_offsets_cover_minus_s_to_s():
    # "integers drawn per sequence from -S..S (not both 0)": over many sequences every value shows
    seen = [Degrader(DegradeConfig(p_degrade=0.0, shift=2), seed, (8, 8)).shift_offset() for seed in range(300)]
    assert (0, 0) not in seen
    assert {dy for dy, _ in seen} == {-2, -1, 0, 1, 2}
    assert {dx for _, dx in seen} == {-2, -1, 0, 1, 2}
