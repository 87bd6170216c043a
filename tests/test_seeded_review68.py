"""Seeded-bug review 68: older algorithm code (metrics, views and their quality, degradations, the
training mix, the PSNR report, pairing, the grid packing) where a planted bug passed every test.
Each test was checked to fail with its bug planted and to pass without it (results/mutation.md,
"Seeded-bug review 68"); expected values are worked out by hand, with NumPy, SciPy or scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import timed_frames as frames
from igde_stream import metrics as M
from igde_stream import multiview as mv
from igde_stream.data.degrade import DegradeConfig, Degrader
from igde_stream.data.error_types import BOUNDARY_ERRORS, mixed_config
from igde_stream.display.grid import fit_view, tile_grid
from igde_stream.errors import PairingError
from igde_stream.stream.pairing import pair_frames
from igde_stream.stream.report import PsnrReport


# --- metrics ----------------------------------------------------------------------------------------

def _ssim_map_by_hand(x, y, peak):
    """The SSIM map of the docstring: 11-tap Gaussian, sigma 1.5, symmetric (scipy "reflect") borders."""
    from scipy.ndimage import gaussian_filter

    x, y = x.astype(np.float64), y.astype(np.float64)

    def blur(a):
        return gaussian_filter(a, 1.5, mode="reflect", truncate=3.5)  # radius int(3.5 * 1.5 + 0.5) = 5

    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    return ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))


@pytest.mark.parametrize("shape", [(8, 10), (10, 12)])
def test_ssim_of_a_small_map_uses_symmetric_borders(shape):
    # a map of at most 10 px a side has no inside after the 5-pixel border (10 x 12 included: the mean
    # is over every pixel, not over nothing), so every window reads past the edge: "symmetric borders"
    # (d c b a | a b c d, scikit-image's and SciPy's "reflect"), not OpenCV's default mirror without
    # the edge pixel
    rng = np.random.default_rng(68)
    a = rng.integers(0, 256, shape).astype(np.uint8)
    b = np.clip(a + rng.normal(0, 25, a.shape), 0, 255).astype(np.uint8)
    assert M.ssim(b, a) == pytest.approx(float(_ssim_map_by_hand(b, a, 255.0).mean()), abs=1e-9)


def test_masked_ssim_is_the_mean_of_scikit_images_map_over_the_mask_inside_the_border():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(5)
    gt = rng.integers(0, 256, (30, 34)).astype(np.uint8)
    pred = gt.copy()
    pred[:, 17:] = np.clip(pred[:, 17:] + rng.normal(0, 40, (30, 17)), 0, 255).astype(np.uint8)  # right half worse
    mask = np.zeros(gt.shape, bool)
    mask[:, 17:] = True
    _, full = structural_similarity(gt, pred, data_range=255, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, full=True)
    inside = full[5:-5, 5:-5][mask[5:-5, 5:-5]]
    got = M.ssim(pred, gt, 255.0, mask)
    assert got == pytest.approx(float(inside.mean()), abs=1e-3)
    assert got < M.ssim(pred, gt, 255.0) - 0.05  # the mask's half is the damaged one


def test_psnr_split_counts_differences_within_the_threshold_as_right():
    # threshold 5: input errors of 3 and 5 levels are "right" pixels, 6 and 40 "error" pixels
    gt = np.array([[100, 100, 100, 100, 100, 100]], np.uint8)
    inp = np.array([[100, 103, 105, 106, 140, 100]], np.uint8)
    pred = np.array([[101, 100, 102, 100, 110, 100]], np.uint8)
    t, f = M.psnr_split(pred, gt, inp, 255.0, threshold=5)
    assert t == pytest.approx(10 * math.log10(255 ** 2 / ((1 + 0 + 4 + 0) / 4)))  # pixels 0, 1, 2, 5
    assert f == pytest.approx(10 * math.log10(255 ** 2 / ((0 + 100) / 2)))  # pixels 3, 4


# --- views and their quality --------------------------------------------------------------------------

def test_a_row_with_nothing_rendered_shows_its_own_pixels():
    # depth 255 (d = 1) at t = -1/2, baseline 64: every pixel moves 16 px right, off a 4-px row; row 1
    # (depth 128, 0.502: a shift of 0.06 -> 0) stays. Rows 0 and 2 have nothing rendered and show
    # "the source pixel at the same place" (their own colour), not pixel 0's
    color = np.arange(36, dtype=np.uint8).reshape(3, 4, 3)
    depth = np.full((3, 4), 255, np.uint8)
    depth[1] = 128
    r = mv.warp_views(color, depth, mv.ViewConfig(1, baseline=64.0), positions=[-0.5], keep_source=True)
    assert r.holes[0, 0].all() and r.holes[0, 2].all() and not r.holes[0, 1].any()
    np.testing.assert_array_equal(r.source[0], np.arange(12).reshape(3, 4))
    np.testing.assert_array_equal(r.views[0], color)


def test_float_depth_in_0_255_with_max_depth_255_renders_as_8_bit_depth():
    # docs/multiview.md: "float depth in 0..255 needs ViewConfig(max_depth=255)"
    rng = np.random.default_rng(1)
    color = rng.integers(0, 256, (12, 24, 3), dtype=np.uint8)
    d8 = np.full((12, 24), 40, np.uint8)
    d8[:, 9:15] = 230
    want = mv.warp_views(color, d8, mv.ViewConfig(4, baseline=16.0)).views
    got = mv.warp_views(color, d8.astype(np.float32), mv.ViewConfig(4, baseline=16.0, max_depth=255)).views
    np.testing.assert_array_equal(got, want)


def test_negative_zero_float_depth_renders_as_zero():
    # -0.0 == 0.0: a float map holding -0.0 (a negated or computed zero) gives the views of +0.0, not
    # holes (the z-buffer orders the float bits, and -0.0's sign bit makes them negative)
    rng = np.random.default_rng(2)
    color = rng.integers(0, 256, (6, 16, 3), dtype=np.uint8)
    d = np.full((6, 16), 0.0, np.float32)
    d[:, 8:] = 0.8
    neg = d.copy()
    neg[d == 0] = -0.0
    assert np.signbit(neg).any()
    cfg = mv.ViewConfig(3, baseline=8.0)
    a, b = mv.warp_views(color, d, cfg), mv.warp_views(color, neg, cfg)
    np.testing.assert_array_equal(b.views, a.views)
    np.testing.assert_array_equal(b.holes, a.holes)


def _step_clip(t_frames=3, h=10, w=28):
    rng = np.random.default_rng(3)
    colors = rng.integers(0, 256, (t_frames, h, w, 3), dtype=np.uint8)
    gts = np.full((t_frames, h, w), 60, np.uint8)
    gts[:, :, 14:] = 200
    return colors, gts


def test_a_frame_without_a_band_is_left_out_of_the_band_mean():
    # frame 0 is flat (no depth step: an empty band, band MSE nan in every view); frame 1 has a step.
    # "nan bands left out": the clip's band figures are frame 1's alone, not halved by a 0 for frame 0
    colors, gts = _step_clip(2)
    gts[0] = 100
    bad = gts.copy()
    bad[0] = 120  # a flat frame at another level: errors everywhere, no band
    bad[1, :, 11:14] = 200  # frame 1: the near side inflated by 3 px
    seq = mv.view_quality_sequence(colors, gts, {"bad": bad}, n_views=4, baseline=16.0)
    one = mv.view_quality(colors[1], gts[1], {"bad": bad[1]}, n_views=4, baseline=16.0)
    assert all(math.isnan(r["mse_band"]) for r in
               mv.view_quality(colors[0], gts[0], {"bad": bad[0]}, n_views=4, baseline=16.0)["depths"]["bad"]["per_view"])
    for k in range(4):
        want = one["depths"]["bad"]["per_view"][k]["mse_band"]
        assert want > 0
        assert seq["depths"]["bad"]["per_view"][k]["mse_band"] == pytest.approx(want, rel=1e-12)
    assert seq["depths"]["bad"]["mean"]["mse_band"] == pytest.approx(one["depths"]["bad"]["mean"]["mse_band"], rel=1e-12)


def test_a_stride_scores_frames_0_stride_2_stride_and_so_on():
    # stride 2 over 3 frames scores frames 0 and 2: there the depth is right (PSNR inf); frame 1,
    # which a stride counted from 1 would score, is wrong
    colors, gts = _step_clip(3)
    dep = gts.copy()
    dep[1, :, 10:14] = 200
    out = mv.view_quality_sequence(colors, gts, {"d": dep}, n_views=3, baseline=16.0, stride=2)
    assert out["frames"] == 2 and out["frame_stride"] == 2
    assert out["depths"]["d"]["mean"]["psnr"] == math.inf


# --- degradations -------------------------------------------------------------------------------------

def test_keep_thin_leaves_a_gap_narrower_than_2r_plus_1_whole_under_inflate():
    # near 200 with a far gap (50) 2 px wide at columns 14, 15 and one 9 px wide at 24..32; inflate
    # only, width 2 everywhere (2r + 1 = 5): the closing of radius 2 would fill the narrow gap, so
    # it keeps every pixel; the wide one is inflated 2 px from each side (26..30 stay far)
    gt = np.full((12, 40), 200, np.uint8)
    gt[:, 14:16] = 50
    gt[:, 24:33] = 50
    cfg = DegradeConfig(min_width=2, max_width=2, p_degrade=1.0, p_inflate=1.0)
    out, _ = Degrader(cfg, 0, gt.shape).apply(gt, 0)
    np.testing.assert_array_equal(out[:, 14:16], 50)
    np.testing.assert_array_equal(out[:, 24:26], 200)
    np.testing.assert_array_equal(out[:, 26:31], 50)
    np.testing.assert_array_equal(out[:, 31:33], 200)
    thin_off, _ = Degrader(DegradeConfig(min_width=2, max_width=2, p_degrade=1.0, p_inflate=1.0, keep_thin=False),
                           0, gt.shape).apply(gt, 0)
    np.testing.assert_array_equal(thin_off[:, 14:16], 200)  # without keep_thin the gap closes


def test_boundary_band_reaches_width_pixels_every_way_from_an_edge():
    # one raised pixel at (6, 7): the edge pixels are it and its 4 neighbours (jumps of 100); the band
    # of width 2 is every pixel within chessboard distance 2 of one of them, by NumPy
    from igde_stream.data.degrade import boundary_band

    d = np.zeros((14, 16), np.uint8)
    d[6, 7] = 100
    edge = [(6, 7), (5, 7), (7, 7), (6, 6), (6, 8)]
    yy, xx = np.mgrid[:14, :16]
    want = np.zeros(d.shape, bool)
    for y, x in edge:
        want |= np.maximum(np.abs(yy - y), np.abs(xx - x)) <= 2
    np.testing.assert_array_equal(boundary_band(d, 2), want)


@pytest.mark.parametrize("bits", [8, 16])
def test_a_jump_of_exactly_the_edge_threshold_is_an_edge_and_is_inflated(bits):
    # "depths differ by at least edge_threshold": a step of 2 levels (x 257 at 16 bits) is an edge,
    # and with inflate only (width 1) its far side takes the near value
    s = 1 if bits == 8 else 257
    gt = np.full((6, 12), 100 * s, np.uint8 if bits == 8 else np.uint16)
    gt[:, 6:] = 102 * s
    from igde_stream.data.degrade import depth_edges

    e = depth_edges(gt)
    assert e[:, 5:7].all() and e.sum() == 12
    out, _ = Degrader(DegradeConfig(min_width=1, max_width=1, p_degrade=1.0, p_inflate=1.0), 0, gt.shape).apply(gt, 0)
    want = gt.copy()
    want[:, 5] = 102 * s
    np.testing.assert_array_equal(out, want)


def _box_mean(a, r):
    """(2r+1)^2 box mean with replicated borders, by NumPy."""
    p = np.pad(a.astype(np.float64), r, mode="edge")
    h, w = a.shape
    return sum(p[dy:dy + h, dx:dx + w] for dy in range(2 * r + 1) for dx in range(2 * r + 1)) / (2 * r + 1) ** 2


def test_soft_transitions_reach_each_pixels_own_width_only():
    # a far side (40) left of column 15 and a near side whose rows alternate 150 / 151 (no edge: jumps
    # of 1 level): a box mean changes a near pixel by the alternation wherever it is taken. Soft widths
    # 1..2 from the width field: a pixel takes the (2r+1)^2 box mean of its own width r only within r
    # px (chessboard) of an edge pixel (columns 14, 15)
    h, w = 16, 32
    gt = np.full((h, w), 40, np.uint8)
    gt[:, 15:] = 150 + (np.arange(h) % 2)[:, None]
    cfg = DegradeConfig(p_degrade=0.0, soft_width=2, p_soft=1.0)
    deg = Degrader(cfg, 7, gt.shape)
    out, _ = deg.apply(gt, 0)
    width = deg._widths(0, 2)  # the width field (1 or 2 per pixel)
    assert {1, 2} <= set(np.unique(width).tolist())
    dist = np.minimum(np.abs(np.arange(w) - 14), np.abs(np.arange(w) - 15))[None, :].repeat(h, 0)
    want = gt.copy()
    for r in (1, 2):
        sel = (width == r) & (dist <= r)
        want[sel] = np.rint(_box_mean(gt, r)[sel]).astype(np.uint8)
    np.testing.assert_array_equal(out, want)


def test_lowres_changes_reach_f_pixels_from_an_edge():
    # factor 4, the step at column 14 (edge pixels 13, 14) inside the bin of columns 12..15 (mean 120):
    # the bilinear enlargement (x -> (x + 0.5) / 4 - 1/2) ramps columns 10..17 through 50, 70, ..., 190,
    # up to 3 px from an edge pixel, within the F = 4 px the result is kept in
    gt = np.full((8, 32), 40, np.uint8)
    gt[:, 14:] = 200
    out, _ = Degrader(DegradeConfig(p_degrade=0.0, lowres=4, lowres_linear=True), 0, gt.shape).apply(gt, 0)
    want = gt.copy()
    want[:, 10:18] = [50, 70, 90, 110, 130, 150, 170, 190]
    np.testing.assert_array_equal(out, want)


def test_the_error_fields_repeat_with_the_temporal_period():
    # "in a sequence they drift smoothly with period temporal_period frames": frame 32 is frame 0 again
    gt = np.full((48, 48), 60, np.uint8)
    gt[12:36, 12:36] = 200
    cfg = DegradeConfig(temporal_period=32.0)
    deg = Degrader(cfg, 11, gt.shape)
    at0, _ = deg.apply(gt, 0)
    np.testing.assert_array_equal(deg.apply(gt, 32)[0], at0)
    assert not np.array_equal(deg.apply(gt, 8)[0], at0)  # a quarter period on: another field


def test_random_holes_fall_anywhere_on_a_wide_frame():
    # blobs centred uniformly over the frame: on a 24 x 240 frame both outer quarters get some
    gt = np.full((24, 240), 100, np.uint8)
    out, _ = Degrader(DegradeConfig(p_degrade=0.0, holes=40), 3, gt.shape).apply(gt, 0)
    holes = out == 0
    assert holes[:, :60].any() and holes[:, 180:].any()


# --- the training mix ---------------------------------------------------------------------------------

def _on(cfg):
    return {"inflate-reduce": cfg.p_degrade > 0, "soft": cfg.soft_width > 0, "holes": cfg.edge_holes > 0,
            "misregistration": cfg.shift > 0, "lowres": cfg.lowres > 0}


def test_the_mix_of_given_types_turns_on_only_those():
    rng = np.random.default_rng(0)
    for _ in range(40):
        on = _on(mixed_config(rng, types=("soft", "lowres")))
        assert any(on.values())
        assert not (on["inflate-reduce"] or on["holes"] or on["misregistration"])


def test_each_type_of_the_mix_is_on_about_half_the_time_whatever_the_others():
    # each on with probability 1/2, at least one (so 16/31 of the draws each); every pair together
    rng = np.random.default_rng(1)
    draws = [_on(mixed_config(rng)) for _ in range(600)]
    names = list(BOUNDARY_ERRORS)
    for a in names:
        share = np.mean([d[a] for d in draws])
        assert 0.43 < share < 0.60, (a, share)
        for b in names:
            if a < b:
                both = np.mean([d[a] and d[b] for d in draws])
                assert 0.19 < both < 0.33, (a, b, both)


# --- the PSNR report ----------------------------------------------------------------------------------

def test_worst_frames_ties_go_to_the_earlier_frame():
    gt = np.zeros((4, 4), np.uint8)
    out = gt.copy()
    out[0, 0] = 8  # every frame the same PSNR
    rep = PsnrReport(255.0)
    for i in range(7):
        rep.add(i, i / 25, out, out, gt, i / 25)
    assert [w["index"] for w in rep.summary(worst=5)["worst_frames"]] == [0, 1, 2, 3, 4]
    rep.close()


def test_gain_is_inf_when_only_the_output_is_exact():
    gt = np.full((4, 4), 50, np.uint8)
    inp = gt.copy()
    inp[1, 1] = 60
    rep = PsnrReport(255.0)
    for i in range(2):
        rep.add(i, i / 25, gt, inp, gt, i / 25)
    s = rep.summary()
    assert s["mean_psnr"] == math.inf and math.isfinite(s["mean_psnr_input"])
    assert s["mean_gain_db"] == math.inf
    rep.close()


# --- pairing ------------------------------------------------------------------------------------------

def test_exact_pairing_names_an_extra_colour_frame_more_than_the_tolerance_early():
    # tolerance 0.25 s: colour 0.125 s is 0.375 s before depth 0.5 s, so it is unpaired and dropped,
    # and colour 0.5 then pairs depth 0.5; no depth frame is left without colour
    with pytest.raises(PairingError) as e:
        list(pair_frames(frames([0, 0.125, 0.5, 1.0]), frames([0, 0.5, 1.0]), 0.25, ("c.mp4", "d.mkv")))
    msg = str(e.value)
    assert "frame 1 (0.125 s) of the colour stream has no depth frame" in msg
    assert "of the depth stream" not in msg


# --- grid packing -------------------------------------------------------------------------------------

def test_tile_grid_is_row_major():
    views = np.stack([np.full((2, 3, 3), 10 * k, np.uint8) for k in range(6)])
    g = tile_grid(views)  # 6 -> 2 x 3
    assert g.shape == (4, 9, 3)
    tiles = [[int(g[2 * r, 3 * c, 0]) for c in range(3)] for r in range(2)]
    assert tiles == [[0, 10, 20], [30, 40, 50]]


def test_fit_view_puts_an_odd_margins_extra_pixel_right_and_below():
    # a 4 x 4 view in a 7 x 4 canvas (3 px of margin) and a 4 x 7 one (3 rows): offset (7 - 4) // 2 = 1,
    # as FFmpeg's pad filter places it at x = (ow - iw) / 2 (integer): 1 px left / above, 2 right / below
    view = np.full((4, 4, 3), 255, np.uint8)
    wide = fit_view(view, (7, 4))
    np.testing.assert_array_equal(wide[0, :, 0], [0, 255, 255, 255, 255, 0, 0])
    tall = fit_view(view, (4, 7))
    np.testing.assert_array_equal(tall[:, 0, 0], [0, 255, 255, 255, 255, 0, 0])
