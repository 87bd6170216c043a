"""Real-world boundary error types (data.degrade): each stays in its band around depth edges (except
the misregistration), does what its name says on a hand-made step, in 8 and 16 bit; the training mix. The crop cache's
options are tested in tests/test_crop_cache.py."""

from __future__ import annotations

import dataclasses
import numpy as np
import pytest

from igde_stream.data import Scene, SceneConfig, boundary_band
from igde_stream.data.degrade import DegradeConfig, Degrader, degrade
from igde_stream.data.error_types import BOUNDARY_ERRORS, error_type_config, has_boundary_errors, mixed_config

SMALL = SceneConfig(width=96, height=64, frames=4, textures="procedural")


def _step(bits=8, h=20, w=30, col=15):
    """Far (40) on the left of column ``col``, near (200) from it on, scaled to the peak."""
    scale = 1 if bits == 8 else 257
    d = np.full((h, w), 40 * scale, np.uint8 if bits == 8 else np.uint16)
    d[:, col:] = 200 * scale
    return d


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("name", ["inflate-reduce", "soft", "holes", "lowres", "lowres-nearest"])
def test_each_type_changes_only_its_band(name, bits):
    cfg = (dataclasses.replace(error_type_config("lowres"), lowres_linear=False) if name == "lowres-nearest"
           else error_type_config(name))
    width = {"inflate-reduce": cfg.max_width, "soft": cfg.soft_width, "holes": cfg.hole_width,
             "lowres": cfg.lowres, "lowres-nearest": cfg.lowres}[name]
    changed_any = False
    for seed in range(3):
        gt = Scene(seed, SMALL).render(1, bits).depth
        out, err = Degrader(cfg, seed, gt.shape).apply(gt, 1)
        assert out.dtype == gt.dtype
        assert not (err & ~boundary_band(gt, width)).any()
        # one px narrower would not hold every change (the widths are used in full)
        changed_any |= bool(err.any())
    assert changed_any


@pytest.mark.parametrize("bits", [8, 16])
def test_soft_transition_is_a_ramp_of_intermediate_values(bits):
    gt = _step(bits)
    cfg = DegradeConfig(p_degrade=0.0, soft_width=2, p_soft=1.0)
    out, err = Degrader(cfg, 0, gt.shape).apply(gt, 0)
    lo, hi = int(gt.min()), int(gt.max())
    cols = np.nonzero(err.any(0))[0]
    # edge pixels are columns 14 and 15; a ramp of r <= 2 px reaches columns 12..17 at most
    assert cols.min() >= 12 and cols.max() <= 17 and len(cols) >= 2
    vals = out[err]
    assert ((vals > lo) & (vals < hi)).all()  # every changed pixel lies between the two sides
    row = out[5].astype(int)
    assert (np.diff(row) >= 0).all()  # monotone across the edge


@pytest.mark.parametrize("bits", [8, 16])
def test_holes_fall_on_the_far_side_only(bits):
    gt = _step(bits, h=200)
    cfg = DegradeConfig(p_degrade=0.0, edge_holes=1.0, hole_width=3)
    out, err = Degrader(cfg, 0, gt.shape).apply(gt, 0)
    assert err.any() and (out[err] == 0).all()
    cols = np.nonzero(err.any(0))[0]
    # the far side (left), within 3 px of the edge, and the widest holes reach all 3 px
    assert cols.min() == 12 and cols.max() == 14
    # the same across a horizontal edge (far above row 15)
    out, err = Degrader(cfg, 0, gt.T.shape).apply(np.ascontiguousarray(gt.T), 0)
    rows = np.nonzero(err.any(1))[0]
    assert (out[err] == 0).all() and rows.min() == 12 and rows.max() == 14


@pytest.mark.parametrize("bits", [8, 16])
def test_misregistration_shifts_the_whole_map(bits):
    gt = Scene(3, SMALL).render(0, bits).depth
    deg = Degrader(DegradeConfig(p_degrade=0.0, shift=2), 3, gt.shape)
    dy, dx = deg.shift_offset()
    assert max(abs(dy), abs(dx)) <= 2 and (dy, dx) != (0, 0)
    out, _ = deg.apply(gt, 0)
    # out[y, x] = gt[y - dy, x - dx] wherever that source lies inside the frame
    h, w = gt.shape
    ys, xs = np.mgrid[2:h - 2, 2:w - 2]
    np.testing.assert_array_equal(out[ys, xs], gt[ys - dy, xs - dx])


def test_mix_draws_at_least_one_type_and_covers_all():
    rng = np.random.default_rng(0)
    seen = {k: 0 for k in BOUNDARY_ERRORS}
    for _ in range(200):
        c = mixed_config(rng)
        on = {"inflate-reduce": c.p_degrade > 0, "soft": c.soft_width > 0, "holes": c.edge_holes > 0,
              "misregistration": c.shift > 0, "lowres": c.lowres > 0}
        assert any(on.values())
        for k, v in on.items():
            seen[k] += v
    assert all(40 < n < 160 for n in seen.values())  # each on about half the time


def test_unknown_type_is_refused():
    with pytest.raises(ValueError, match="unknown boundary error type"):
        error_type_config("rain")


def test_crop_cache_is_edge_biased_and_deterministic(tmp_path):
    from igde_stream.data.cache import CacheConfig, CachedCrops, load_or_build_cache

    def frac_with_errors(bias):
        cfg = CacheConfig(scenes=3, frames_per_scene=1, crops_per_frame=12, crop=(16, 16), edge_bias=bias,
                          mix=False, scene=SMALL)
        a = load_or_build_cache(cfg, tmp_path, workers=1, progress=False)
        b = load_or_build_cache(cfg, tmp_path, workers=1, progress=False)  # read back from disk
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
        assert a["color"].shape == (36, 3, 16, 16) and a["gt"].dtype == np.uint8
        return float(np.mean([(d != g).any() for d, g in zip(a["depth"], a["gt"])])), a

    biased, arrays = frac_with_errors(1.0)
    uniform, _ = frac_with_errors(0.0)
    assert biased == 1.0 and uniform < biased
    col, dep, gt = next(iter(CachedCrops(arrays, 5)))
    assert col.shape == (5, 3, 16, 16) and dep.shape == gt.shape == (5, 1, 16, 16)


def test_bleed_widths_run_from_min_to_max_width():
    # inflate only, on every edge pixel, without the thin-structure rule: on a long vertical step the
    # near side (200) bleeds into the far side (40) by the pixel's drawn width, 1..4 px (max_width 4),
    # never 0 and never more; over 240 rows of a smooth width field each width shows up
    gt = np.full((240, 60), 40, np.uint8)
    gt[:, 30:] = 200
    cfg = DegradeConfig(min_width=1, max_width=4, p_degrade=1.0, p_inflate=1.0, keep_thin=False)
    out, _ = Degrader(cfg, seed=3, shape=gt.shape).apply(gt, 0)
    assert (out[:, 30:] == 200).all() and (out[:, :26] == 40).all()
    bled = (out[:, 26:30] == 200).sum(1)
    assert bled.min() >= 1 and bled.max() == 4 and len(set(bled.tolist())) >= 3, np.bincount(bled)


def test_one_hole_is_one_hole():
    from igde_stream.data.degrade import _extras

    d = np.full((60, 90), 120, np.uint8)
    out = _extras(d, DegradeConfig(holes=1), np.random.default_rng(0), 255.0)
    holes = out == 0
    assert holes.any() and (out[~holes] == 120).all()


def test_depth_edges_threshold_in_8_bit_levels_by_hand():
    """A jump of 3 levels is an edge at the default threshold (2 levels) and not at 4; in 16 bit the
    threshold scales by 65535 / 255 (a jump of 3 * 257 is one, 1 * 257 is not)."""
    from igde_stream.data.degrade import depth_edges

    d = np.zeros((4, 6), np.uint8)
    d[:, 3:] = 3
    e = depth_edges(d)
    assert e[:, 2:4].all() and not e[:, [0, 1, 4, 5]].any()
    assert not depth_edges(d, threshold=4.0).any()
    assert depth_edges(d.astype(np.uint16) * 257).any()
    assert not depth_edges((d > 0).astype(np.uint16) * 257).any()


def test_mix_draws_every_hole_width_and_shift():
    """mixed_config: holes 1-4 px wide and misregistration shifts of 1-2 px all occur."""
    rng = np.random.default_rng(0)
    cfgs = [mixed_config(rng) for _ in range(300)]
    assert {c.hole_width for c in cfgs if c.edge_holes > 0} == {1, 2, 3, 4}
    assert {c.shift for c in cfgs if c.shift > 0} == {1, 2}


def test_mix_max_width_bounds_the_drawn_inflate_reduce_widths():
    """mixed_config: the widest inflate / reduce W is drawn from 2..max_width (2..6 by default), each
    value occurring; 1 or 17 is refused, as is the cache option without the mix."""
    from igde_stream.data import cache

    rng = np.random.default_rng(0)
    assert {c.max_width for c in (mixed_config(rng) for _ in range(300)) if c.p_degrade > 0} == set(range(2, 7))
    wide = [mixed_config(rng, max_width=10) for _ in range(400)]
    assert {c.max_width for c in wide if c.p_degrade > 0} == set(range(2, 11))
    assert all(c.min_width == 1 for c in wide if c.p_degrade > 0)
    for bad in (1, 17):
        with pytest.raises(ValueError, match="2..16"):
            mixed_config(rng, max_width=bad)
    with pytest.raises(ValueError, match="needs the mix"):
        cache.CacheConfig(mix=False, mix_max_width=10)
    cfg = cache.CacheConfig()
    assert cfg.key() != dataclasses.replace(cfg, mix_max_width=10).key()


def test_mix_clean_leaves_its_share_of_scenes_exact_and_the_rest_as_before():
    """mixed_config(clean=P): about P of the draws turn every type off, and such a draw degrades a
    scene's depth to itself exactly (8 and 16 bit); at P = 0 the draws are those of the plain mix; the
    other draws still hold at least one type; P outside [0, 1) and the cache option without the mix
    are refused, and the cache key changes with it."""
    from igde_stream.data import cache

    rng = np.random.default_rng(0)
    draws = [mixed_config(rng, clean=0.3) for _ in range(2000)]
    off = [c for c in draws if not has_boundary_errors(c)]
    assert 0.26 < len(off) / len(draws) < 0.34  # binomial sd 0.01
    plain = [mixed_config(np.random.default_rng(0)) for _ in range(300)]
    assert all(has_boundary_errors(c) for c in plain)
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    assert [mixed_config(a) for _ in range(50)] == [mixed_config(b, clean=0.0) for _ in range(50)]
    assert all(has_boundary_errors(error_type_config(n)) for n in BOUNDARY_ERRORS)
    assert not has_boundary_errors(error_type_config("clean"))
    for bits in (8, 16):
        gt = Scene(3, SMALL).render(0, bits).depth
        np.testing.assert_array_equal(degrade(gt, off[0], seed=4)[0], gt)
        assert not np.array_equal(degrade(gt, error_type_config("mix"), seed=4)[0], gt)
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            mixed_config(rng, clean=bad)
    with pytest.raises(ValueError, match="needs the mix"):
        cache.CacheConfig(mix=False, mix_clean=0.2)
    cfg = cache.CacheConfig()
    assert cfg.key() != dataclasses.replace(cfg, mix_clean=0.2).key()


def test_small_noise_is_applied_and_clipped_at_the_16_bit_peak():
    """noise_std below one level still adds noise; noise never wraps past the peak."""
    gt = np.full((32, 32), 65535, np.uint16)
    gt[:, :16] = 30000
    d, _ = degrade(gt, DegradeConfig(p_degrade=0.0, noise_std=0.5), seed=1)
    assert (d != gt).any()
    assert d[:, 16:].min() > 60000  # clipped at 65535, not wrapped to small values
    assert np.array_equal(degrade(gt, DegradeConfig(noise_std=0.5))[0],
                          degrade(gt, DegradeConfig(noise_std=0.5), seed=0)[0])  # the default seed is 0


def test_the_evaluation_mix_has_every_type_on():
    c = error_type_config("mix")
    assert c.p_degrade > 0 and c.max_width == 6 and c.soft_width > 0 and c.p_soft > 0
    assert c.edge_holes > 0 and c.hole_width > 0 and c.shift > 0


@pytest.mark.parametrize("edge", [30, 31, 33])
def test_lowres_nearest_snaps_edges_to_the_factor_grid_by_hand(edge):
    """Nearest both ways with factor 2 keeps column x from column 2 * (x // 2): a vertical edge at an
    even column stays, one at an odd column moves right by one (the far side takes that column);
    factor 3 snaps to multiples of 3. Only those pixels change."""
    gt = _step(h=12, w=48, col=edge)
    for f in (2, 3):
        out, err = Degrader(DegradeConfig(p_degrade=0.0, lowres=f, lowres_linear=False), 0, gt.shape).apply(gt, 0)
        x = np.arange(48)
        expected = np.where(f * (x // f) >= edge, 200, 40)
        np.testing.assert_array_equal(out, np.broadcast_to(expected, gt.shape).astype(np.uint8))
        assert err.sum() == 12 * ((-edge) % f)  # columns edge .. next multiple of f - 1 went far


@pytest.mark.parametrize("bits", [8, 16])
def test_lowres_linear_ramps_across_edges_within_the_factor(bits):
    """Area reduction + bilinear enlargement: a monotone ramp of intermediate values across a step,
    changes only within F px of the edge, flat areas untouched; in 16 bit the same ramp scaled."""
    gt = _step(bits, h=16, w=64, col=32)
    f = 4
    out, err = Degrader(DegradeConfig(p_degrade=0.0, lowres=f), 0, gt.shape).apply(gt, 0)
    row = out[8].astype(np.int64)
    cols = np.nonzero(err.any(0))[0]
    assert cols.min() >= 32 - f and cols.max() <= 31 + f and len(cols) >= 2
    assert (np.diff(row) >= 0).all()  # monotone ramp
    inter = (row > gt.min()) & (row < gt.max())
    assert inter.sum() >= 2  # intermediate values, not a moved step
    assert (out[:, : 32 - f] == gt[:, : 32 - f]).all() and (out[:, 32 + f:] == gt[:, 32 + f:]).all()
    assert (out == out[:1]).all()  # the same in every row of a vertical edge


def test_lowres_factor_is_checked():
    with pytest.raises(ValueError, match="lowres"):
        DegradeConfig(lowres=1)


def test_held_out_types_are_whole_frame_extras_never_drawn_by_the_mix():
    """The held-out types: the blur is the hand-computed Gaussian of the map (no boundary error);
    noise, codec and dropouts add their extra on top of the paper's errors; the training mix never
    turns an extra on."""
    from igde_stream.data.error_types import ERROR_TYPES, HELD_OUT_ERRORS

    assert set(HELD_OUT_ERRORS) <= set(ERROR_TYPES) and not set(HELD_OUT_ERRORS) & set(BOUNDARY_ERRORS)
    gt = _step(h=40, w=60, col=30)
    blurred, _ = degrade(gt, error_type_config("blur"), seed=1)
    x = np.arange(-8, 9, dtype=np.float64)
    k = np.exp(-x ** 2 / (2 * 1.5 ** 2))
    k /= k.sum()
    row = np.convolve(np.pad(gt[0].astype(np.float64), 8, mode="reflect"), k, mode="valid")
    assert np.abs(blurred[20].astype(np.float64) - row).max() <= 1.0  # one rounding step
    assert np.array_equal(blurred[:, :25], gt[:, :25]) and 40 < blurred[20, 29] < 200  # a ramp at the edge only
    paper, _ = degrade(gt, error_type_config("paper"), seed=3)
    for name, changed in (("noise", lambda d: np.abs(d.astype(int) - paper).max() <= 8 and (d != paper).mean() > 0.3),
                          ("codec", lambda d: np.abs(d.astype(int) - paper).mean() < 3 and (d != paper).any()),
                          ("dropouts", lambda d: (d == 0).any() and not (paper == 0).any())):
        out, mask = degrade(gt, error_type_config(name), seed=3)
        assert changed(out), name
        np.testing.assert_array_equal(mask, out != gt)
    rng = np.random.default_rng(1)
    for _ in range(50):
        c = mixed_config(rng)
        assert (c.blur_sigma, c.noise_std, c.jpeg_quality, c.holes) == (0, 0, 0, 0)


def test_wide_and_clean_held_out_types_by_hand():
    """"wide" bleeds inflate / reduce 7-10 px (beyond the training's 1-6 px and the 7 px candidate
    radius at its widest), only in its band; "clean" leaves the map exactly as it is, so that a
    model's figure on it measures only the harm it does."""
    gt = np.full((240, 80), 40, np.uint8)
    gt[:, 40:] = 200
    cfg = error_type_config("wide")
    assert (cfg.min_width, cfg.max_width, cfg.blur_sigma, cfg.noise_std) == (7, 10, 0, 0)
    forced = dataclasses.replace(cfg, p_degrade=1.0, p_inflate=1.0, keep_thin=False)
    out, _ = Degrader(forced, seed=3, shape=gt.shape).apply(gt, 0)
    assert (out[:, 40:] == 200).all() and (out[:, :30] == 40).all()
    bled = (out[:, 30:40] == 200).sum(1)  # rows of near depth (200) bled into the far side
    assert bled.min() >= 7 and bled.max() == 10, np.bincount(bled)
    scene = Scene(0, SMALL).render(1, 8).depth
    out, err = Degrader(cfg, 0, scene.shape).apply(scene, 1)
    assert err.any() and not (err & ~boundary_band(scene, 10)).any()
    for bits in (8, 16):
        for seed in range(3):
            depth = Scene(seed, SMALL).render(1, bits).depth
            same, mask = degrade(depth, error_type_config("clean"), seed=seed)
            np.testing.assert_array_equal(same, depth)
            assert same.dtype == depth.dtype and not mask.any()
