"""The view shift is rounded before it is added to the column: every pixel of one depth moves by
the same whole number of pixels, also at a shift of exactly k + 0.5 (where rounding x + shift sent
even and odd columns apart, cracking flat regions) and near it in float32 (a shift of -1.5000054
became x - 1.5 from column 129 on). Expected values by hand from docs/multiview.md: view position
t, shift -t * B * (d - Z), rounded half to even."""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream import multiview as mv

H, W = 6, 40


def _halves():
    color = np.zeros((H, W, 3), np.uint8)
    color[..., 0] = np.arange(W)[None, :] * 6  # each column its own red: the source is visible
    depth = np.zeros((H, W), np.uint8)
    depth[:, W // 2:] = 255  # far (0) on the left, near (255) on the right
    return color, depth


def _same_on_torch(color, depth, cfg, r):
    """The PyTorch renderer gives the same views and holes, bit for bit (its documented promise)."""
    torch_mv = pytest.importorskip("igde_stream.multiview_torch")
    t = torch_mv.warp_views_torch(color, depth, cfg, device="cpu")
    assert np.array_equal(t.views, r.views) and np.array_equal(t.holes, r.holes)


def test_a_shift_of_k_and_a_half_moves_every_pixel_alike():
    # stereo pair, B = 30: view 0 (t = -1/2) shifts far pixels by 0.5 * 30 * (0 - 0.5) = -7.5 -> -8 and
    # near ones by +7.5 -> +8 (halves to even); far sources 0..19 land on 0..11 (8 leave the frame),
    # near sources 20..39 on 28..39, and the 16 columns 12..27 between them are the only holes
    color, depth = _halves()
    cfg = mv.ViewConfig(2, baseline=30)
    r = mv.warp_views(color, depth, cfg, keep_source=True)
    assert (r.holes[0].sum(axis=1) == 16).all()
    src = r.source[0] % W
    assert (src[:, :12] == np.arange(8, 20)).all()
    assert (src[:, 28:] == np.arange(20, 32)).all()
    assert (r.views[0][:, :12, 0] == color[0, 8:20, 0]).all()
    _same_on_torch(color, depth, cfg, r)


def test_a_shift_near_a_half_in_float32_stays_one_shift_across_the_frame():
    """16-bit depth 24166 in the default geometry: view 1 (t = -5/14) shifts by -1.5000054, which
    rounds to -2 for every pixel; rounding x + shift gave x - 1.5 (then an even column) from x = 129."""
    w = 960
    cfg = mv.ViewConfig()
    t = float(mv.view_positions(8)[1])
    d = np.float32(24166) / np.float32(65535)
    shift = float(mv.disparity(np.array([d], np.float32), t, cfg.baseline, cfg.zero_parallax)[0])
    assert shift == pytest.approx(-1.5000054, abs=1e-6)
    color = np.zeros((2, w, 3), np.uint8)
    color[..., 1] = (np.arange(w) % 251)[None, :]
    depth = np.full((2, w), 24166, np.uint16)
    r = mv.warp_views(color, depth, cfg, keep_source=True)
    src = r.source[1] % w
    assert r.holes[1].sum() == 2 * 2  # the two columns at the right edge, per row
    assert (src[:, : w - 2] == np.arange(2, w)).all()
    _same_on_torch(color, depth, cfg, r)


def test_equal_depths_give_equal_views_in_the_quality_table():
    """Ground truth 24166 and depth 24165 both move by -2 in every view: every view PSNR is inf."""
    color = np.random.default_rng(0).integers(0, 256, (8, 300, 3), np.uint8)
    gt = np.full((8, 300), 24166, np.uint16)
    got = mv.view_quality(color, gt, {"depth": gt - 1})
    table = got["depths"]["depth"]
    assert [v["psnr"] for v in table["per_view"]] == [np.inf] * 8 and table["mean"]["psnr"] == np.inf
