"""Audit: the joint bilateral baseline against the textbook formula written out in NumPy.

Joint bilateral (Petschnigg et al. 2004 / Kopf et al. 2007): out(p) = sum_q w(p, q) d(q) / sum_q w(p, q),
w = exp(-|p - q|^2 / (2 sigma_space^2)) * exp(-|I(p) - I(q)|^2 / (2 sigma_color^2)) over the disc of
radius diameter // 2. The guide varies in one channel only, so every colour distance (L1 or L2 over
the channels) is that channel's difference. Compared away from the border, where no border rule
enters. A swap of sigma_color and sigma_space, or the depth taken as its own guide (a plain bilateral
filter), moves the result by 10+ levels; OpenCV agrees with the formula to ~1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream.filters import joint_bilateral


def _reference(color, depth, diameter, sigma_color, sigma_space):
    r = diameter // 2
    h, w = depth.shape
    g = color[..., 0].astype(np.float64)  # the only channel that varies
    d = depth.astype(np.float64)
    ys, xs = np.mgrid[-r:r + 1, -r:r + 1]
    spatial = np.exp(-(ys**2 + xs**2) / (2 * sigma_space**2)) * (ys**2 + xs**2 <= r * r)
    out = np.full((h, w), np.nan)
    for y in range(r, h - r):
        for x in range(r, w - r):
            gw = g[y - r:y + r + 1, x - r:x + r + 1]
            wt = spatial * np.exp(-((gw - g[y, x]) ** 2) / (2 * sigma_color**2))
            out[y, x] = (wt * d[y - r:y + r + 1, x - r:x + r + 1]).sum() / wt.sum()
    return out


def _scene():
    rng = np.random.default_rng(3)
    h = w = 40
    color = np.zeros((h, w, 3), np.uint8)
    color[..., 1], color[..., 2] = 90, 30
    # a slanted colour edge (red 100 -> 160, with texture), a depth step that does not follow it
    red = np.where(np.arange(w)[None, :] + 0.5 * np.arange(h)[:, None] >= 28, 160, 100)
    color[..., 0] = np.clip(red + rng.integers(-15, 16, (h, w)), 0, 255)
    depth = (60 + 120 * (np.arange(w)[None, :] >= 22) + rng.normal(0, 5, (h, w))).astype(np.float32)
    return color, depth


@pytest.mark.parametrize("diameter,sigma_color,sigma_space", [(9, 20.0, 3.0), (35, 20.0, 32.0)])
def test_joint_bilateral_is_the_textbook_formula(diameter, sigma_color, sigma_space):
    color, depth = _scene()
    out = joint_bilateral(color, depth, diameter, sigma_color, sigma_space)
    ref = _reference(color, depth, diameter, sigma_color, sigma_space)
    inside = ~np.isnan(ref)
    assert inside.sum() >= 36
    np.testing.assert_allclose(out[inside], ref[inside], atol=0.01)
