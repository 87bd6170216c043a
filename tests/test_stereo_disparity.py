"""The stereo pair's disparity as docs/multiview.md gives it for choosing --baseline: a pixel of depth d
sits at x_left - x_right = B (d - Z) in the pair (views at t = -1/2, +1/2), rounded per view. Worked
by hand: B 32, Z 128/255, a square at 255: each view moves it rint(32 * 127 / 255 / 2) = rint(7.97)
= 8 px, right in the left view, left in the right view: 16 px apart, in front of the screen."""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream import display
from igde_stream import multiview as mv


@pytest.mark.parametrize("baseline, depth, want", [(32, 255, 16), (64, 255, 32), (32, 191, 8), (32, 128, 0)])
def test_pair_disparity_is_baseline_times_depth_from_the_screen(baseline, depth, want):
    H, W = 24, 96
    color = np.zeros((H, W, 3), np.uint8)
    color[8:16, 40:48] = 255
    d = np.full((H, W), 128, np.uint8)
    d[8:16, 40:48] = depth
    sbs = display.make_layout("sbs", mv.ViewConfig(8, baseline=baseline, zero_parallax=128 / 255)).frames(color, d)[0]
    left, right = sbs[:, :W], sbs[:, W:]
    xl, xr = np.nonzero(left[12, :, 0] == 255)[0], np.nonzero(right[12, :, 0] == 255)[0]
    assert len(xl) == len(xr) == 8
    assert xl[0] - xr[0] == want and xl[0] - 40 == want // 2 and 40 - xr[0] == want // 2
