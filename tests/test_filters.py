import numpy as np
import pytest

from igde_stream.filters import FILTERS


def _step_scene(dtype, low, high):
    """Colour edge at column 20; depth edge bled 3 px early (at 17): the error the filters should fix."""
    color = np.zeros((40, 40, 3), np.uint8)
    color[:, 20:] = 200
    depth = np.full((40, 40), low, dtype)
    depth[:, 17:] = high
    return color, depth


@pytest.mark.parametrize("name", sorted(FILTERS))
@pytest.mark.parametrize("dtype,low,high", [(np.uint8, 40, 200), (np.uint16, 1000, 50000), (np.float32, 0.1, 0.8)])
def test_shape_dtype_and_range(name, dtype, low, high):
    color, depth = _step_scene(dtype, low, high)
    out = FILTERS[name](color, depth)
    assert out.shape == depth.shape and out.dtype == depth.dtype
    # the guided filter is an affine model of the guide in each window, not a weighted mean: at a
    # small eps (He et al.'s formula, test_guided_filter_is_he_et_al_below_eps_0_01) it may overshoot a
    # step by a little (1 level of 160 here)
    # float32 sums over a large window (the joint bilateral's 55 px) carry a few 1e-6 of rounding
    tol = 0.01 * (high - low) if name == "guided" else 1e-5 * high
    assert out.min() >= low - tol and out.max() <= high + tol


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_flat_depth_is_unchanged(name):
    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    depth = np.full((30, 30), 77, np.uint8)
    np.testing.assert_array_equal(FILTERS[name](color, depth), depth)


def test_weighted_median_snaps_edge_to_colour_edge():
    color, depth = _step_scene(np.uint16, 1000, 50000)
    out = FILTERS["weighted-median"](color, depth)
    assert set(np.unique(out)) <= {1000, 50000}  # a median only picks existing values
    assert (out[5:35, 17:20] == 1000).all() and (out[5:35, 20:23] == 50000).all()


def test_bad_input_raises():
    color, depth = _step_scene(np.uint8, 0, 1)
    with pytest.raises(ValueError, match="color"):
        FILTERS["guided"](color[..., 0], depth)
    with pytest.raises(ValueError, match="depth"):
        FILTERS["guided"](color, depth[:-1])
    with pytest.raises(ValueError, match="dtype"):
        FILTERS["guided"](color, depth.astype(np.int32))


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_noisy_step_with_a_clean_guide_keeps_the_step_and_loses_the_noise(name):
    # worked out independently: each side is flat, so the filtered side should be its own mean; the
    # noise variance (8^2 = 64) must fall at least 4x away from the edge, and the two pixels either
    # side of the edge must stay within 12 levels of their side's value (no blur across the step)
    rng = np.random.default_rng(0)
    h, w, col = 64, 64, 32
    gt = np.full((h, w), 60.0)
    gt[:, col:] = 180.0
    depth = np.clip(np.rint(gt + rng.normal(0, 8, gt.shape)), 0, 255).astype(np.uint8)
    color = np.zeros((h, w, 3), np.uint8)
    color[:, :col] = (30, 90, 200)
    color[:, col:] = (220, 160, 20)
    out = FILTERS[name](color, depth).astype(np.float64)
    inside = np.r_[4:col - 4, col + 4:w - 4]
    noise_in = np.mean((depth[4:-4, inside] - gt[4:-4, inside]) ** 2)
    noise_out = np.mean((out[4:-4, inside] - gt[4:-4, inside]) ** 2)
    assert noise_in > 50 and noise_out < noise_in / 4, (noise_in, noise_out)
    assert np.abs(out[8:-8, col - 1] - 60).mean() < 12 and np.abs(out[8:-8, col] - 180).mean() < 12


def test_global_smoother_fills_the_edge_band_from_the_confident_side():
    from igde_stream.filters import edge_confidence, global_smoother

    # a reduce error: the near side (200) is eaten 3 px by the far side (40) at rows' columns 16..18
    gt = np.full((40, 40), 40, np.uint8)
    gt[:, 16:] = 200
    depth = gt.copy()
    depth[:, 16:19] = 40
    color = np.zeros((40, 40, 3), np.uint8)
    color[:, 16:] = 255
    conf = edge_confidence(depth, band=4)
    assert conf[0, 10] == 1.0 and conf[0, 18] < 0.1 and conf[0, 30] == 1.0
    out = global_smoother(color, depth)
    err_in = np.abs(depth[:, 16:19].astype(int) - 200).mean()
    err_out = np.abs(out[:, 16:19].astype(int) - 200).mean()
    assert err_in == 160 and err_out < 40


def test_defaults_are_the_tuned_best_of_the_recorded_grid():
    # the module docstring's defaults come from tools/tune_filters.py; its record is the independent
    # source (a changed default without a new tuning run is a silent change of Table I's baselines)
    import inspect
    import json
    from pathlib import Path

    record = json.loads((Path(__file__).resolve().parent.parent / "results" / "filter_tuning.json").read_text())
    assert set(record["filters"]) == set(FILTERS)
    for name, fn in FILTERS.items():
        best = record["filters"][name]["best"]["params"]
        defaults = {k: p.default for k, p in inspect.signature(fn).parameters.items() if k in best}
        assert defaults == best, name
    assert record["filters"]["joint-bilateral"]["best"]["params"] == {"diameter": 55, "sigma_color": 10.0,
                                                                      "sigma_space": 64.0}


def _box_mean(x, r):
    """Mean over the (2r+1)^2 window, 'valid' part only (no border rule involved)."""
    from numpy.lib.stride_tricks import sliding_window_view

    return sliding_window_view(x, (2 * r + 1, 2 * r + 1), axis=(0, 1)).mean(axis=(-2, -1))


def _he_guided(color, depth, r, eps):
    """He, Sun, Tang (2013), eqs. (19)-(21) for a colour guide, written out in NumPy with the guide on
    [0, 1]: a = (Sigma + eps U)^-1 cov(I, p), b = mean(p) - a . mean(I), q = mean(a) . I + mean(b).
    The valid part only ((h - 4r) x (w - 4r)), where no border rule enters."""
    h, w = depth.shape
    I = color.astype(np.float64) / 255.0
    p = depth.astype(np.float64)
    mI = _box_mean(I, r)  # (h-2r) x (w-2r) x 3
    mp = _box_mean(p, r)
    II = np.einsum("hwi,hwj->hwij", I, I)
    Ip = I * p[..., None]
    sigma = _box_mean(II.reshape(h, w, 9), r).reshape(*mp.shape, 3, 3) - np.einsum("hwi,hwj->hwij", mI, mI)
    cov = _box_mean(Ip, r) - mI * mp[..., None]
    a = np.linalg.solve(sigma + eps * np.eye(3), cov[..., None])[..., 0]
    b = mp - np.einsum("hwi,hwi->hw", a, mI)
    ma, mb = _box_mean(a, r), _box_mean(b, r)
    return np.einsum("hwi,hwi->hw", ma, I[2 * r:h - 2 * r, 2 * r:w - 2 * r]) + mb


def _blocks_scene(seed=1):
    rng = np.random.default_rng(seed)
    h = w = 48
    blocks = rng.integers(0, 256, (6, 6, 3)).astype(np.uint8)
    color = np.kron(blocks, np.ones((8, 8, 1), np.uint8))
    color = np.clip(color.astype(int) + rng.integers(-20, 21, color.shape), 0, 255).astype(np.uint8)
    depth = (40 + 150 * (np.arange(w)[None, :] >= 21) + rng.normal(0, 6, (h, w))).astype(np.float32)
    return color, depth


def test_guided_filter_matches_he_et_al_colour_formula():
    # the defaults, compared away from the border, where no border rule enters
    import inspect

    from igde_stream.filters import guided

    color, depth = _blocks_scene()
    params = inspect.signature(guided).parameters
    r, eps = params["radius"].default, params["eps"].default
    out = guided(color, depth)[2 * r:-2 * r, 2 * r:-2 * r]
    np.testing.assert_allclose(out, _he_guided(color, depth, r, eps), atol=0.05)


@pytest.mark.parametrize("r,eps", [(8, 0.01), (8, 1e-4), (4, 1e-4), (2, 1e-3), (2, 1e-4)])
def test_guided_filter_is_he_et_al_below_eps_0_01(r, eps):
    """OpenCV's colour-guide path replaces a covariance determinant under 1e-6 by 1 when eps < 0.01;
    with the guide on [0, 1] that determinant, about (var + eps)^3, is under 1e-6 wherever a window's
    colour is nearly flat, and there the filter was a blur, up to 30 levels off He et al.'s (so
    every eps < 0.01 of the tuning grid scored another filter). The formula holds at every eps."""
    from igde_stream.filters import guided

    color, depth = _blocks_scene()
    out = guided(color, depth, r, eps)[2 * r:-2 * r, 2 * r:-2 * r]
    np.testing.assert_allclose(out, _he_guided(color, depth, r, eps), atol=0.05)


@pytest.mark.parametrize("name", ["joint-bilateral", "weighted-median"])
@pytest.mark.parametrize("dtype,value", [(np.uint8, 100), (np.uint16, 40000), (np.float32, 0.6)])
def test_holes_are_no_measurement(name, dtype, value):
    """Depth 0 is a hole (no measurement), as for edge_confidence and the model's zero_holes: every
    measured pixel here is ``value``, so the filtered map is ``value`` wherever a window holds a
    measured pixel (holes filled, none of their 0s averaged or voted into the rest). The filters
    took 0 as a depth: the joint bilateral pulled the pixels around a hole toward 0 and the weighted
    median (colour weights on a textured guide) kept the holes."""
    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    depth = np.full((40, 40), value, dtype)
    depth[10:16, 10:16] = 0
    depth[:, 30:34] = 0
    out = FILTERS[name](color, depth)
    assert out.dtype == depth.dtype
    np.testing.assert_allclose(out.astype(np.float64), value, rtol=1e-5)
    # a pixel with no measured one in its window stays a hole
    small = {"joint-bilateral": {"diameter": 5}, "weighted-median": {"radius": 2}}[name]
    big = np.full((40, 40), value, dtype)
    big[5:35, 5:35] = 0
    out = FILTERS[name](color, big, **small)
    assert out[20, 20] == 0
    np.testing.assert_allclose(out[big != 0].astype(np.float64), value, rtol=1e-5)


def test_edge_confidence_by_hand():
    from igde_stream.filters import edge_confidence

    # 8-bit: a jump of 2 levels (the default threshold) between columns 14 and 15 is an edge: both
    # columns are edge pixels, the band of 4 px (chessboard) is columns 10..19, at low = 0.05
    step = np.full((12, 30), 50, np.uint8)
    step[:, 15:] = 52
    conf = edge_confidence(step)
    assert conf.dtype == np.float32
    expect = np.ones((12, 30), np.float32)
    expect[:, 10:20] = 0.05
    np.testing.assert_array_equal(conf, expect)
    # a jump of 1 is no edge; a hole (0) gets confidence 0, a depth of 1 next to it stays 1
    flat = np.full((12, 30), 1, np.uint8)
    flat[6, 7] = 0
    conf = edge_confidence(flat)
    assert conf[6, 7] == 0 and (np.delete(conf.ravel(), 6 * 30 + 7) == 1).all()
    # float32 depth is on the 0-1 scale (threshold 2 / 255): 50/255 -> 52/255 is an edge, 50/255 ->
    # 51/255 is not
    fstep = (step.astype(np.float32) / np.float32(255)).astype(np.float32)
    np.testing.assert_array_equal(edge_confidence(fstep), expect)
    assert (edge_confidence(np.where(step == 50, 50 / 255, 51 / 255).astype(np.float32)) == 1).all()


def _textured(seed=0, size=(60, 80)):
    rng = np.random.default_rng(seed)
    color = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    depth = rng.integers(1, 256, size, dtype=np.uint8)  # no 0: a hole is left out of every window
    return color, depth


def test_weighted_median_is_the_same_on_every_call():
    """OpenCV quantises a colour guide around randomly seeded centres; the filter seeds OpenCV's RNG,
    so one input gives one output (unseeded, a third of the pixels of a textured frame changed from
    call to call)."""
    import cv2

    color, depth = _textured()
    first = FILTERS["weighted-median"](color, depth)
    cv2.randu(np.empty(8, np.float32), 0, 1)  # whatever the caller did with OpenCV's RNG in between
    for _ in range(2):
        np.testing.assert_array_equal(FILTERS["weighted-median"](color, depth), first)


def test_weighted_median_applies_its_sigma():
    """The colour sigma reaches OpenCV (by keyword: the fourth positional argument of
    ``weightedMedianFilter`` is ``dst``, and a sigma passed there left OpenCV's default of 1 in force).
    Reference: OpenCV called directly with the keywords and the same RNG seed."""
    import cv2

    color, depth = _textured(1)
    by_sigma = {}
    for sigma in (1.0, 15.0):
        cv2.setRNGSeed(0)
        want = cv2.ximgproc.weightedMedianFilter(color, depth, 20, sigma=sigma, weightType=cv2.ximgproc.WMF_EXP)
        by_sigma[sigma] = FILTERS["weighted-median"](color, depth, radius=20, sigma=sigma)
        np.testing.assert_array_equal(by_sigma[sigma], want)
    assert (by_sigma[1.0] != by_sigma[15.0]).mean() > 0.05


def test_global_smoother_reads_float_depth_on_the_0_1_scale():
    """Float depth is on the 0-1 scale (views, network): its edge band must be the 16-bit map's, so
    the smoother gives the same depth. Read as 16-bit levels, a 0-1 map had no edges at all, and
    the far side of this step came out about 0.2 instead of 0.1."""
    from igde_stream.filters import edge_confidence, global_smoother

    h, w = 32, 48
    color = np.zeros((h, w, 3), np.uint8)
    color[:, 20:] = 200
    d16 = np.full((h, w), 6554, np.uint16)  # 0.1
    d16[:, 24:] = 52428  # 0.8; the depth edge 4 px right of the colour edge
    d01 = d16.astype(np.float32) / np.float32(65535)
    band = (np.abs(np.arange(w) - 23.5) <= 4.5)[None, :].repeat(h, 0)  # edge_confidence: 4 px beyond the edge pixels
    np.testing.assert_array_equal(edge_confidence(d01) < 1, band)
    np.testing.assert_array_equal(edge_confidence(d01), edge_confidence(d16))
    out16 = global_smoother(color, d16).astype(np.float64) / 65535
    out01 = global_smoother(color, d01).astype(np.float64)
    np.testing.assert_allclose(out01, out16, atol=2e-5)
    assert abs(out01[:, 21].mean() - 0.8) < 0.05  # between the colour and the depth edges: the near side


def test_photo_settings_are_the_tuned_best_of_the_recorded_photo_grid():
    # filters.PHOTO_SETTINGS come from tools/tune_filters.py on the Aloe photograph; its record is the
    # source, and each "<filter>-photo" runs its filter at exactly those settings
    import json
    from pathlib import Path

    from igde_stream.filters import PHOTO_FILTERS, PHOTO_SETTINGS

    record = json.loads((Path(__file__).resolve().parent.parent / "results" / "filter_tuning_photo.json").read_text())
    assert record["real_scenes"] and record["frames_per_type"] == 0 and record["grid"] == "photo"
    assert {n: record["filters"][n]["best"]["params"] for n in FILTERS} == PHOTO_SETTINGS
    color, depth = _textured()
    for name, settings in PHOTO_SETTINGS.items():
        np.testing.assert_array_equal(PHOTO_FILTERS[f"{name}-photo"](color, depth), FILTERS[name](color, depth, **settings))
    assert not np.array_equal(PHOTO_FILTERS["global-smoother-photo"](color, depth), FILTERS["global-smoother"](color, depth))
