"""Real-world boundary error types (data.degrade): each stays in its band around depth edges (except
the misregistration), does what its name says on a hand-made step, in 8 and 16 bit; the training mix
and the crop cache."""

from __future__ import annotations

import dataclasses
import numpy as np
import pytest

from igde_stream.data import Scene, SceneConfig, boundary_band
from igde_stream.data.degrade import (
    BOUNDARY_ERRORS, DegradeConfig, Degrader, degrade, error_type_config, mixed_config,
)

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


def test_camera_chain_noise_and_jpeg_stay_close_and_halve_chroma():
    """A 2-px red stripe on grey: after the chain its chroma spreads beyond the stripe (4:2:0),
    luminance stays close everywhere; the same generator state gives the same frame."""
    from igde_stream.data.cache import camera_chain

    img = np.full((32, 32, 3), 128, np.uint8)
    img[:, 15:17] = (220, 30, 30)
    out = camera_chain(img, np.random.default_rng(5))
    np.testing.assert_array_equal(out, camera_chain(img, np.random.default_rng(5)))
    assert out.dtype == np.uint8 and out.shape == img.shape and (out != img).any()
    luma = np.array([0.299, 0.587, 0.114])
    assert np.abs(out @ luma - img @ luma).mean() < 4  # JPEG keeps luminance; chroma is what it halves
    redness = out[..., 0].astype(int) - out[..., 1]
    assert redness[:, 13].mean() > 15 or redness[:, 18].mean() > 15  # chroma bled past the stripe


def test_cache_color_codec_changes_colour_only(tmp_path, monkeypatch):
    """The camera chain touches colour only: against a run whose chain draws the same random numbers
    but returns its input, depth and ground truth crops are identical and colour crops differ, a little."""
    from igde_stream.data import cache

    cfg = cache.CacheConfig(scenes=2, frames_per_scene=1, crops_per_frame=4, crop=(16, 16), mix=False,
                            color_blur=0.0, color_codec=1.0, scene=SMALL)
    a = cache.build_cache(cfg, workers=1, progress=False)
    real = cache.camera_chain
    calls = []

    def same_draws_no_change(color, rng):
        calls.append(1)
        real(color, rng)
        return color

    monkeypatch.setattr(cache, "camera_chain", same_draws_no_change)
    b = cache.build_cache(cfg, workers=1, progress=False)
    assert len(calls) == 2  # once per frame
    np.testing.assert_array_equal(a["depth"], b["depth"])
    np.testing.assert_array_equal(a["gt"], b["gt"])
    assert (a["color"] != b["color"]).any() and np.abs(a["color"].astype(int) - b["color"]).mean() < 10
    calls.clear()
    cache.build_cache(dataclasses.replace(cfg, color_codec=0.0), workers=1, progress=False)
    assert not calls


def test_cache_scene_scale_renders_each_scene_at_its_drawn_size(monkeypatch):
    """scene_scale (s, s) renders the scene of a 2x larger config at half size, crop for crop the
    cache of the half-size config; a range draws sizes log-uniformly inside it, at least the crop."""
    from igde_stream.data import cache

    big = dataclasses.replace(SMALL, width=2 * SMALL.width, height=2 * SMALL.height)
    half = cache.CacheConfig(scenes=2, frames_per_scene=1, crops_per_frame=4, crop=(16, 16), mix=True,
                             scene=big, scene_scale=(0.5, 0.5))
    same = dataclasses.replace(half, scene=SMALL, scene_scale=(1.0, 1.0))
    a, b = cache.build_cache(half, workers=1, progress=False), cache.build_cache(same, workers=1, progress=False)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert half.key() != same.key()
    assert same.key() == cache.CacheConfig(**{**dataclasses.asdict(same), "scene": SMALL}).key()

    sizes = []
    real = cache.Scene
    monkeypatch.setattr(cache, "Scene", lambda seed, cfg: sizes.append((cfg.width, cfg.height)) or real(seed, cfg))
    spread = dataclasses.replace(half, scenes=12, crop=(20, 20), scene_scale=(0.25, 1.0))
    cache.build_cache(spread, workers=1, progress=False)
    widths = [w for w, _ in sizes]
    assert len(set(widths)) > 6 and min(widths) >= 20 and max(widths) <= big.width
    for w, h in sizes:  # the aspect ratio is kept, the crop still fits
        assert h >= 20 and (h == 20 or abs(w / h - big.width / big.height) < 0.1)
    with pytest.raises(ValueError, match="scene_scale"):
        cache.CacheConfig(scene_scale=(1.0, 0.5))


def test_train_config_scene_scale_needs_the_cache():
    from igde_stream.train_config import TrainConfig

    with pytest.raises(ValueError, match="crop cache"):
        TrainConfig(steps=1, scene_scale=(0.5, 1.0))
    for name in ("color_codec", "color_antialias", "color_warp"):
        with pytest.raises(ValueError, match=f"{name} needs the crop cache"):
            TrainConfig(steps=1, **{name: 0.5})
        assert getattr(TrainConfig(steps=1, cache_scenes=4, **{name: 0.5}).cache_config(), name) == 0.5
    with pytest.raises(ValueError, match="color_warp_share needs the crop cache"):
        TrainConfig(steps=1, color_warp_share=0.5)
    shared = TrainConfig(steps=1, cache_scenes=4, color_warp=2.0, color_warp_share=0.5)
    assert shared.cache_config().color_warp_share == 0.5 and shared.data_params()["color_warp_share"] == 0.5
    with pytest.raises(ValueError, match="scene_scale must be"):  # at once, before a run folder exists
        TrainConfig(steps=1, cache_scenes=4, scene_scale=(1.0, 0.5))
    cfg = TrainConfig(steps=1, cache_scenes=4, scene_scale=[0.5, 1])
    assert cfg.cache_config().scene_scale == (0.5, 1.0)
    assert cfg.data_params()["cache"]["scene_scale"] == (0.5, 1.0)


def test_antialiased_frame_by_hand():
    """Colour is the mean of each 2 x 2 block; depth and labels are the block's sample at the phase."""
    from igde_stream.data.cache import antialiased
    from igde_stream.data.synthetic import Frame

    color = np.zeros((4, 6, 3), np.uint8)
    color[:, 3:] = 200          # a vertical edge between columns 2 and 3: block column 1 mixes
    color[2:, :, 1] = 40       # bottom block row: green 40 on both sides
    depth = np.arange(24, dtype=np.uint8).reshape(4, 6)
    labels = (np.arange(24).reshape(4, 6) % 5).astype(np.int16)
    for dy in (0, 1):
        for dx in (0, 1):
            out = antialiased(Frame(color, depth, labels), (dy, dx))
            assert out.color.shape == (2, 3, 3) and out.depth.shape == (2, 3)
            np.testing.assert_array_equal(out.depth, depth[dy::2, dx::2])
            np.testing.assert_array_equal(out.labels, labels[dy::2, dx::2])
            np.testing.assert_array_equal(out.color[:, :, 0], [[0, 100, 200], [0, 100, 200]])
            np.testing.assert_array_equal(out.color[:, :, 1], [[0, 100, 200], [40, 40, 40]])


def test_cache_color_antialias_crops_come_from_the_half_size_frame(monkeypatch):
    """With color_antialias 1 every scene is rendered at twice its size and brought down by
    antialiased() at a phase drawn per frame; each cached crop (gt and colour) is a window of that
    frame, and the input depth differs from gt only where the degradation put errors. With 0 the
    path is never taken and the cache is the one made before the option existed."""
    from igde_stream.data import cache

    cfg = cache.CacheConfig(scenes=2, frames_per_scene=2, crops_per_frame=3, crop=(16, 16), mix=False,
                            color_blur=0.0, scene=SMALL, color_antialias=1.0)
    seen = []
    real = cache.antialiased

    def record(frame, phase):
        assert frame.depth.shape == (2 * SMALL.height, 2 * SMALL.width) and set(phase) <= {0, 1}
        out = real(frame, phase)
        seen.append(out)
        return out

    monkeypatch.setattr(cache, "antialiased", record)
    a = cache.build_cache(cfg, workers=1, progress=False)
    assert len(seen) == 4 and all(f.depth.shape == (SMALL.height, SMALL.width) for f in seen)
    for i in range(len(a["gt"])):
        f = seen[i // cfg.crops_per_frame]
        gt, col = a["gt"][i, 0], a["color"][i].transpose(1, 2, 0)
        hits = [(y, x) for y in range(SMALL.height - 15) for x in range(SMALL.width - 15)
                if np.array_equal(f.depth[y:y + 16, x:x + 16], gt) and np.array_equal(f.color[y:y + 16, x:x + 16], col)]
        assert hits, f"crop {i} is not a window of its anti-aliased frame"
    # colours between the layers' colours exist only with the option (flat textures: one colour a layer)
    flat = dataclasses.replace(SMALL, textures="flat")
    mixed_share = []
    for aa in (0.0, 1.0):
        seen.clear()
        c = dataclasses.replace(cfg, scene=flat, color_antialias=aa, crops_per_frame=1)
        out = cache.build_cache(c, workers=1, progress=False)
        assert len(seen) == (4 if aa else 0)
        palette = {tuple(p) for s in range(2) for p in cache.Scene(
            int(cache.SPLITS["train"].start + (c.seed * 7919 + s * 104729) % len(cache.SPLITS["train"])),
            flat).render(0).color.reshape(-1, 3)}
        px = out["color"].transpose(0, 2, 3, 1).reshape(-1, 3)
        mixed_share.append(np.mean([tuple(p) not in palette for p in px]))
    assert mixed_share[0] == 0 and mixed_share[1] > 0.005
    assert cfg.key() != dataclasses.replace(cfg, color_antialias=0.0).key()
    with pytest.raises(ValueError, match="color_antialias"):
        cache.CacheConfig(color_antialias=1.5)


def test_warped_color_shifts_by_a_smooth_field_as_large_as_the_amplitude():
    """On a frame whose channels are its own x and y coordinates, bilinear resampling is exact, so the
    output minus the input is the displacement field itself: each component peaks at the amplitude
    (in the interior, away from mirrored borders, it comes close), takes both signs, and varies slowly (a 24-px
    cell); amplitude 0 is the identity."""
    from igde_stream.data.cache import warped_color

    h, w = 120, 160
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    frame = np.stack([xs, ys, np.zeros_like(xs)], -1)
    inner = (slice(6, -6), slice(6, -6))
    fields = []
    for seed in (0, 1):
        out = warped_color(frame, 1.5, np.random.default_rng(seed))
        assert out.shape == frame.shape and out.dtype == frame.dtype
        for u in (out[..., 0] - xs, out[..., 1] - ys):
            u = u[inner]
            assert 1.2 < np.abs(u).max() <= 1.5 + 1 / 32, np.abs(u).max()  # remap: 1/32-px steps
            assert u.min() < -0.1 and u.max() > 0.1
            assert np.abs(np.diff(u, axis=0)).max() < 0.5 and np.abs(np.diff(u, axis=1)).max() < 0.5
            assert np.abs(u).mean() > 0.1
        fields.append(out[..., 0] - xs)
    assert not np.allclose(fields[0], fields[1])
    assert warped_color(frame, 0.0, np.random.default_rng(0)) is frame
    img = np.random.default_rng(2).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    assert warped_color(img, 1.0, np.random.default_rng(0)).dtype == np.uint8


def test_cache_color_warp_changes_the_colour_only(monkeypatch):
    """color_warp draws each frame's largest shift from [0, color_warp] and resamples the colour only:
    the cached depth and ground truth are those of the same config without it, crop for crop, and
    with 0 the path is never taken (the cache keeps its old name)."""
    from igde_stream.data import cache

    cfg = cache.CacheConfig(scenes=2, frames_per_scene=3, crops_per_frame=2, crop=(16, 16), mix=True,
                            color_blur=0.5, scene=SMALL)
    base = cache.build_cache(cfg, workers=1, progress=False)
    amplitudes = []
    real = cache.warped_color

    def record(color, amplitude, rng, **kw):
        amplitudes.append(amplitude)
        return real(color, amplitude, rng, **kw)

    monkeypatch.setattr(cache, "warped_color", record)
    assert cache.build_cache(cfg, workers=1, progress=False)["color"].tobytes() == base["color"].tobytes()
    assert amplitudes == []
    warped = cache.build_cache(dataclasses.replace(cfg, color_warp=2.0), workers=1, progress=False)
    assert len(amplitudes) == 6 and all(0 <= a <= 2.0 for a in amplitudes) and len(set(amplitudes)) == 6
    np.testing.assert_array_equal(warped["depth"], base["depth"])
    np.testing.assert_array_equal(warped["gt"], base["gt"])
    assert not np.array_equal(warped["color"], base["color"])
    assert cfg.key() != dataclasses.replace(cfg, color_warp=2.0).key()
    legacy = dataclasses.asdict(cfg)
    for name in ("color_antialias", "color_warp", "color_warp_share", "depth_blur", "scene_scale"):
        del legacy[name]
    del legacy["scene"]["limbs"]
    import hashlib
    import json
    assert cfg.key() == hashlib.sha256(json.dumps(legacy, sort_keys=True, default=str).encode()).hexdigest()[:12]
    with pytest.raises(ValueError, match="color_warp"):
        cache.CacheConfig(color_warp=5.0)


def test_cache_color_warp_share_keeps_the_other_frames_exact(monkeypatch):
    """color_warp_share P warps about that share of the frames (one draw per frame) and leaves the
    others' colour exactly as without the warp; depth and ground truth never change; P = 1 is the
    warp as it was (same cache name, same colour)."""
    from igde_stream.data import cache

    cfg = cache.CacheConfig(scenes=4, frames_per_scene=3, crops_per_frame=2, crop=(16, 16), mix=True,
                            color_blur=0.0, scene=SMALL)
    base = cache.build_cache(cfg, workers=1, progress=False)
    calls = []
    real = cache.warped_color
    monkeypatch.setattr(cache, "warped_color", lambda c, a, r, **kw: calls.append(a) or real(c, a, r, **kw))
    full = dataclasses.replace(cfg, color_warp=3.0)
    assert full.key() == dataclasses.replace(full, color_warp_share=1.0).key()
    all_warped = cache.build_cache(full, workers=1, progress=False)
    assert len(calls) == 12

    def warped_frames(c):  # which of the 12 frames (2 crops each) have colour other than the base's
        per_frame = (c["color"] != base["color"]).reshape(12, -1).any(axis=1)
        np.testing.assert_array_equal(c["depth"], base["depth"])
        np.testing.assert_array_equal(c["gt"], base["gt"])
        return per_frame

    assert warped_frames(all_warped).all()
    for share, lo, hi in ((0.25, 1, 6), (0.75, 6, 11)):
        calls.clear()
        part = cache.build_cache(dataclasses.replace(full, color_warp_share=share), workers=1, progress=False)
        frames = warped_frames(part)
        assert lo <= frames.sum() <= hi and frames.sum() == len(calls), (share, frames)
        assert dataclasses.replace(full, color_warp_share=share).key() != full.key()
    with pytest.raises(ValueError, match="color_warp_share must be"):
        cache.CacheConfig(color_warp=2.0, color_warp_share=1.5)
    with pytest.raises(ValueError, match="color_warp_share needs color_warp"):
        cache.CacheConfig(color_warp_share=0.5)


def test_held_out_types_are_whole_frame_extras_never_drawn_by_the_mix():
    """The held-out types: the blur is the hand-computed Gaussian of the map (no boundary error);
    noise, codec and dropouts add their extra on top of the paper's errors; the training mix never
    turns an extra on."""
    from igde_stream.data.degrade import ERROR_TYPES, HELD_OUT_ERRORS

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


def test_blurred_depth_matches_scipy_gaussian():
    """``blurred_depth`` against SciPy's Gaussian (same sampled kernel, radius 4 sigma, mirrored
    borders), rounded: a step, a ramp and a 16-bit map."""
    from scipy.ndimage import gaussian_filter

    from igde_stream.data.cache import blurred_depth

    step = np.zeros((12, 20), np.uint8)
    step[:, 10:] = 200
    ramp = np.tile(np.arange(0, 200, 10, dtype=np.uint8), (12, 1))
    deep = (step.astype(np.uint16) * 300)
    for d, sigma in ((step, 1.0), (step, 1.7), (ramp, 0.8), (deep, 1.3)):
        want = np.rint(gaussian_filter(d.astype(np.float64), sigma, mode="mirror", truncate=4.0))
        got = blurred_depth(d, sigma)
        assert got.dtype == d.dtype
        assert np.abs(got.astype(np.int64) - want.astype(np.int64)).max() <= 1, sigma
    assert blurred_depth(step, 1.0)[0, 9] == pytest.approx(200 * 0.3085, abs=3)  # ~ 200 (1 - Phi(1/2))
    np.testing.assert_array_equal(blurred_depth(ramp, 1.0)[:, 3:-3], ramp[:, 3:-3])  # a plane stays


def test_cache_depth_blur_blurs_that_share_of_the_frames_only(monkeypatch):
    """depth_blur P blurs the degraded depth of about that share of the frames (one draw per frame,
    sigma in [0.5, 2]); colour, ground truth and the other frames' depth stay as without it."""
    from scipy.ndimage import gaussian_filter

    from igde_stream.data import cache

    cfg = cache.CacheConfig(scenes=4, frames_per_scene=3, crops_per_frame=2, crop=(40, 40), mix=True,
                            color_blur=0.0, scene=SMALL)
    base = cache.build_cache(cfg, workers=1, progress=False)
    sigmas = []
    real = cache.blurred_depth
    monkeypatch.setattr(cache, "blurred_depth", lambda d, s: sigmas.append(s) or real(d, s))
    for share, lo, hi in ((0.25, 1, 6), (0.75, 6, 11)):
        sigmas.clear()
        c = cache.build_cache(dataclasses.replace(cfg, depth_blur=share), workers=1, progress=False)
        np.testing.assert_array_equal(c["color"], base["color"])
        np.testing.assert_array_equal(c["gt"], base["gt"])
        changed = (c["depth"] != base["depth"]).reshape(12, -1).any(axis=1)
        # crops are centred on boundary errors, so a blurred frame always changes
        assert lo <= len(sigmas) <= hi and changed.sum() == len(sigmas), (share, changed)
        assert all(0.5 <= s <= 2.0 for s in sigmas)
        for f, s in zip(np.flatnonzero(changed), sigmas):  # frames in order, as drawn
            for j in (2 * f, 2 * f + 1):  # away from the crop's border: the blur of the unblurred crop
                want = np.rint(gaussian_filter(base["depth"][j, 0].astype(np.float64), s, truncate=4.0))
                diff = np.abs(c["depth"][j, 0].astype(np.int64) - want.astype(np.int64))[9:-9, 9:-9]
                assert diff.max() <= 1
        assert dataclasses.replace(cfg, depth_blur=share).key() != cfg.key()
    assert dataclasses.replace(cfg, depth_blur=0.0).key() == cfg.key()
    with pytest.raises(ValueError, match="depth_blur must be"):
        cache.CacheConfig(depth_blur=1.5)
