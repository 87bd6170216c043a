"""The crop cache's options (data.cache): the camera chain, scene scale, anti-aliased and warped colour,
blurred depth. Each changes what it says and leaves the rest of the cache as it was."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from igde_stream.data import SceneConfig

SMALL = SceneConfig(width=96, height=64, frames=4, textures="procedural")


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
    for name in ("color_antialias", "color_warp", "color_warp_share", "depth_blur", "color_rim", "scene_scale",
                 "photo_share", "photo_dir", "photo_errors", "mix_max_width", "mix_clean",
                 "mix_clean_aligned"):
        del legacy[name]
    del legacy["scene"]["limbs"]
    import hashlib
    import json
    assert cfg.key() == hashlib.sha256(json.dumps(legacy, sort_keys=True, default=str).encode()).hexdigest()[:12]
    with pytest.raises(ValueError, match="color_warp"):
        cache.CacheConfig(color_warp=5.0)


def test_cache_mix_clean_aligned_leaves_only_the_clean_scenes_unwarped(monkeypatch):
    """mix_clean_aligned: the scenes the mix leaves clean get no colour warp (their colour is that of
    the same cache without the warp), every scene with errors keeps its warp, and depth and ground
    truth stay crop for crop; a clean scene's depth is its ground truth. It needs mix_clean."""
    from igde_stream.data import cache
    from igde_stream.data.error_types import has_boundary_errors

    kw = dict(scenes=6, frames_per_scene=2, crops_per_frame=2, crop=(16, 16), mix=True, scene=SMALL, mix_clean=0.5)
    cfg = cache.CacheConfig(**kw)
    # which scenes are clean: the mix's draw of each scene, in order (one worker)
    clean = []
    real_mixed = cache.mixed_config
    monkeypatch.setattr(cache, "mixed_config", lambda *args, **kwargs:
                        clean.append(not has_boundary_errors(c := real_mixed(*args, **kwargs))) or c)
    plain = cache.build_cache(cfg, workers=1, progress=False)
    monkeypatch.undo()
    warped = cache.build_cache(cache.CacheConfig(**kw, color_warp=3.0), workers=1, progress=False)
    aligned = cache.build_cache(cache.CacheConfig(**kw, color_warp=3.0, mix_clean_aligned=True), workers=1,
                                progress=False)
    assert len(clean) == cfg.scenes and 0 < sum(clean) < len(clean)
    per = cfg.frames_per_scene * cfg.crops_per_frame
    for i, is_clean in enumerate(clean):
        s = slice(i * per, (i + 1) * per)
        for k in ("depth", "gt"):
            np.testing.assert_array_equal(aligned[k][s], plain[k][s])
        np.testing.assert_array_equal(aligned["color"][s], (plain if is_clean else warped)["color"][s])
        assert not np.array_equal(warped["color"][s], plain["color"][s])
        if is_clean:
            np.testing.assert_array_equal(plain["depth"][s], plain["gt"][s])
    with pytest.raises(ValueError, match="needs mix_clean"):
        cache.CacheConfig(mix=True, mix_clean_aligned=True)


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


def test_edge_biased_crops_are_centred_on_an_error_pixel():
    """edge_bias 1: every crop is centred on a pixel the degradation changed (moved inward at the
    frame's borders), so the centre pixel is wrong far more often than one 4 px beside it or than any
    pixel of a crop placed at random."""
    from igde_stream.data import cache

    kw = dict(scenes=4, frames_per_scene=2, crops_per_frame=8, crop=(16, 16), mix=False, color_blur=0.0,
              scene=SMALL)
    biased = cache.build_cache(cache.CacheConfig(**kw, edge_bias=1.0), workers=1, progress=False)
    wrong = biased["depth"][:, 0] != biased["gt"][:, 0]
    centre, beside = wrong[:, 8, 8].mean(), wrong[:, 8, 12].mean()
    assert centre > 0.6 and centre > 2 * beside
    plain = cache.build_cache(cache.CacheConfig(**kw, edge_bias=0.0), workers=1, progress=False)
    assert (plain["depth"][:, 0] != plain["gt"][:, 0])[:, 8, 8].mean() < 0.3


def test_cached_crops_length_and_transposes_of_square_crops_only():
    """Non-square crops are never transposed (their shape would change); square ones sometimes are."""
    from igde_stream.data import cache

    rng = np.random.default_rng(0)
    wide = {k: rng.integers(0, 256, (5, c, 8, 12)).astype(np.uint8) for k, c in (("color", 3), ("depth", 1),
                                                                                ("gt", 1))}
    crops = cache.CachedCrops(wide, batch=3, seed=1)
    assert len(crops) == 5 and not crops.square
    assert all(next(crops)[2].shape == (3, 1, 8, 12) for _ in range(20))
    square = {k: np.ascontiguousarray(v[..., :8]) for k, v in wide.items()}
    crops = cache.CachedCrops(square, batch=1, seed=1)
    assert crops.square and len(crops) == 5
    def oriented(g, flip, transpose):
        g = np.flip(g, -1) if flip else g
        return g.swapaxes(-1, -2) if transpose else g

    views = {(i, f, t): oriented(g, f, t) for i, g in enumerate(square["gt"]) for f in (0, 1) for t in (0, 1)}
    seen = set()
    for _ in range(40):
        g = next(crops)[2][0].numpy()
        seen |= {t for (i, f, t), v in views.items() if np.array_equal(v, g)}
    assert seen == {0, 1}  # as drawn and transposed


def test_a_crop_as_large_as_the_frame_is_the_frame():
    from igde_stream.data import cache

    cfg = cache.CacheConfig(scenes=1, frames_per_scene=1, crops_per_frame=3, crop=(64, 96), mix=False,
                            color_blur=0.0, scene=SMALL, edge_bias=0.0)
    out = cache.build_cache(cfg, workers=1, progress=False)
    assert out["gt"].shape == (3, 1, 64, 96)
    assert (out["gt"] == out["gt"][:1]).all()  # the same frame, three times
