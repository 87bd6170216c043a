"""Hole-fill values worked out by hand from the documented behaviour (igde_stream.hole_fill's
docstrings, docs/models.md "Hole fill"), not by the code under test."""

from __future__ import annotations

import numpy as np

from igde_stream.hole_fill import HoleFill, fill_holes


def test_depth_1_is_a_measured_value_by_default():
    """Without ``measured``, every nonzero depth is a source (``depth != 0``), the smallest one
    included: a frame of depth 1 around a hole fills it with 1 (a weighted mean of equal values)."""
    color = np.full((15, 15, 3), 80, np.uint8)
    depth = np.ones((15, 15), np.uint8)
    depth[6:9, 6:9] = 0
    for snap in (0, 3):
        out = fill_holes(color, depth, settings=HoleFill(diameter=9, snap=snap, stride=1))
        np.testing.assert_array_equal(out, np.ones((15, 15), np.uint8))


def test_a_zero_outside_the_given_holes_is_no_source():
    """With ``holes`` given and ``measured`` not, the sources are ``depth != 0`` outside the holes:
    a depth-0 pixel that is not a hole is no measurement, so the one hole, flanked by depth 1 on
    the left and depth 0 on the right in the same colour, gets 1 (by hand: the only source value)."""
    color = np.full((11, 11, 3), 80, np.uint8)
    depth = np.zeros((11, 11), np.uint16)
    depth[:, :5] = 1
    holes = np.zeros((11, 11), bool)
    holes[5, 5] = True
    out = fill_holes(color, depth, holes=holes, settings=HoleFill(diameter=9, snap=0, stride=1))
    want = depth.copy()
    want[5, 5] = 1
    np.testing.assert_array_equal(out, want)
