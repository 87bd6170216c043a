"""View-quality figures against values worked out by hand or from the documented definitions
(docs/multiview.md, "View quality"), not by the code under test (igde_stream.multiview_quality)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from igde_stream import multiview as mv


def _short_step() -> np.ndarray:
    """A 40 x 40 map with one horizontal step between columns 19 and 20 on rows 18..21 only."""
    d = np.zeros((40, 40), np.float32)
    d[18:22, 20:] = 0.5
    return d


@pytest.mark.parametrize("radius", [1, 3, 5])
def test_edge_band_reaches_radius_rows_above_and_below_a_short_step(radius):
    """The jump marks columns 19 and 20 on rows 18..21; a band within ``radius`` px of it (a square
    neighbourhood) is rows 18 - r .. 21 + r by columns 19 - r .. 20 + r, by hand. The row changes at
    the step's top and bottom are no steps (DIBR shifts are horizontal)."""
    band = mv.edge_band(_short_step(), radius=radius)
    want = np.zeros((40, 40), bool)
    want[18 - radius : 22 + radius, 19 - radius : 21 + radius] = True
    np.testing.assert_array_equal(band, want)


def test_edge_band_default_radius_is_8_px():
    """docs/multiview.md: the band is the pixels within 8 px of a depth edge; so without a radius
    the short step's band is rows 10..29 by columns 11..28."""
    want = np.zeros((40, 40), bool)
    want[10:30, 11:29] = True
    np.testing.assert_array_equal(mv.edge_band(_short_step()), want)


def _hand_band(depth01: np.ndarray, radius: int) -> np.ndarray:
    """docs/multiview.md's band written out: a jump of more than 0.02 between neighbouring columns
    marks both pixels; the band is every pixel within ``radius`` px (rows and columns) of a mark."""
    j = np.abs(np.diff(depth01.astype(np.float64), axis=1)) > 0.02
    mark = np.zeros(depth01.shape, bool)
    mark[:, 1:] |= j
    mark[:, :-1] |= j
    h, w = mark.shape
    padded = np.pad(mark, radius)
    band = np.zeros_like(mark)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            band |= padded[dy : dy + h, dx : dx + w]
    return band


def test_sequence_band_psnr_uses_the_documented_8_px_band_by_default():
    """view_quality_sequence without a band_radius: the band PSNR of one frame is the PSNR (peak
    255) of the squared error over the reference views' 8 px band, worked out from warp_views and
    the band written out above (a band of 9 or 16 px gives another figure here)."""
    rng = np.random.default_rng(4)
    h, w = 36, 64
    color = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    xx = np.arange(w)[None].repeat(h, 0)
    gt = np.where(xx < 30, 60, 200).astype(np.uint8)
    gt[:, 48:] = 120
    dep = np.where(xx < 26, 60, 200).astype(np.uint8)  # the near region's left edge 4 px off
    dep[:, 48:] = 120
    dep[5:12, 8:20] = 150  # an error away from every edge
    cfg = mv.ViewConfig(2, baseline=24)
    ref = mv.warp_views(color, gt, cfg)
    got = mv.warp_views(color, dep, cfg).views
    s = mv.view_quality_sequence(color[None], gt[None], {"d": dep[None]}, n_views=2, baseline=24)
    for k, row in enumerate(s["depths"]["d"]["per_view"]):
        band = _hand_band(ref.depth[k], 8)
        assert band.any() and not band.all()
        err = (got[k].astype(np.float64) - ref.views[k].astype(np.float64)) ** 2
        mse = err[band].mean()
        assert mse > 0
        assert row["mse_band"] == pytest.approx(mse)
        assert row["psnr_band"] == pytest.approx(10 * math.log10(255.0 ** 2 / mse))


def test_a_depth_named_valid_is_shape_checked_like_any_other():
    """The shape check keyed the depths and the ``valid`` mask in one dict, so a depth map named
    "valid" was replaced by the mask (or the ground truth) there and went unchecked: two frames
    against three of ground truth gave an IndexError, four frames were scored as three."""
    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (3, 16, 24, 3), dtype=np.uint8)
    gt = rng.integers(1, 256, (3, 16, 24), dtype=np.uint8)
    for dep in (gt[:2], np.concatenate([gt, gt[:1]])):
        with pytest.raises(ValueError, match=r"^'valid' has shape \((2|4), 16, 24\), the ground truth \(3, 16, 24\)$"):
            mv.view_quality_sequence(color, gt, {"valid": dep}, n_views=2)
        with pytest.raises(ValueError, match=r"^'valid' has shape \((2|4), 16, 24\)"):
            mv.view_quality_sequence(color, gt, {"valid": dep}, n_views=2, valid=np.ones(gt.shape, bool))
    with pytest.raises(ValueError, match=r"^'valid' has shape \(3, 16, 23\)"):  # the mask itself, as before
        mv.view_quality_sequence(color, gt, {"d": gt}, n_views=2, valid=np.ones((3, 16, 23), bool))
