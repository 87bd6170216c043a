"""Audit: DIBR geometry by hand on tiny frames (multiview.warp_views), float depth (taken as normalised).

Shift of a pixel of depth d into the view at t: -t * baseline * (d - zero_parallax), rounded to the
NEAREST pixel; holes filled from the farther of the two nearest rendered pixels on the row.
"""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream.multiview import ViewConfig, warp_views


def _color(h=3, w=12):
    """Every pixel its own colour: column x is red 10 x + 5, row y green 20 y + 7."""
    c = np.zeros((h, w, 3), np.uint8)
    c[..., 0] = 10 * np.arange(w)[None, :] + 5
    c[..., 1] = 20 * np.arange(h)[:, None] + 7
    return c


@pytest.mark.parametrize("baseline,t,shift", [(2.8, -0.5, 1), (3.2, -0.5, 2), (3.2, 0.5, -2), (2.8, 0.5, -1)])
def test_shift_is_rounded_to_the_nearest_pixel(baseline, t, shift):
    # a uniform plane at d = 1 with the screen plane at 0: every pixel moves by -t * baseline, i.e.
    # 1.4 px (-> 1) or 1.6 px (-> 2), not its floor or ceiling
    color = _color()
    depth = np.ones(color.shape[:2], np.float32)
    r = warp_views(color, depth, ViewConfig(n_views=2, baseline=baseline, zero_parallax=0.0), positions=[t])
    w = color.shape[1]
    for x in range(w):
        if 0 <= x - shift < w:
            np.testing.assert_array_equal(r.views[0][:, x], color[:, x - shift])
            assert not r.holes[0][:, x].any()


def test_hole_next_to_the_first_column_is_filled_from_it():
    # column 0 lies on the screen plane (d = 0.5, stays); the rest is nearer (d = 1) and moves right by
    # 0.5 * 4 * 0.5 = 1 px in the view at t = -0.5, leaving a hole at column 1 between column 0 (d 0.5)
    # and the moved column 1 (d 1): the farther side, column 0, fills it
    color = _color()
    depth = np.ones(color.shape[:2], np.float32)
    depth[:, 0] = 0.5
    r = warp_views(color, depth, ViewConfig(n_views=2, baseline=4.0, zero_parallax=0.5), positions=[-0.5],
                   keep_source=True)
    assert r.holes[0][:, 1].all() and r.holes[0].sum() == 3
    np.testing.assert_array_equal(r.views[0][:, 1], color[:, 0])
    np.testing.assert_array_equal(r.views[0][:, 0], color[:, 0])
    np.testing.assert_array_equal(r.views[0][:, 2:], color[:, 1:-1])
    np.testing.assert_allclose(r.depth[0][:, 1], 0.5)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_views": 2.5}, r"n_views must be a whole number >= 1, got 2.5"),
    ({"n_views": 8.0}, r"n_views must be a whole number >= 1, got 8.0"),  # a count read from JSON as 8.0
    ({"n_views": True}, r"n_views must be a whole number >= 1, got True"),
    ({"n_views": 0}, r"n_views must be a whole number >= 1, got 0"),
    ({"max_depth": float("inf")}, r"max_depth must be a finite number > 0, got inf"),
    ({"max_depth": float("nan")}, r"max_depth must be a finite number > 0, got nan"),
])
def test_view_config_refuses_counts_and_depths_it_cannot_render(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ViewConfig(**kwargs)


def test_view_config_takes_numpy_integers():
    assert ViewConfig(n_views=np.int64(3)).positions().tolist() == [-0.5, 0.0, 0.5]
