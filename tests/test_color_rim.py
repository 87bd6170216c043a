"""The crop cache's rim and sharpening option (data.cache.rimmed_color, sharpened, color_rim): the
colour detail that real photographs have at object outlines, checked against values worked out by
hand and against SciPy."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from igde_stream.data import SceneConfig

SMALL = SceneConfig(width=96, height=64, frames=4, textures="procedural")


def _chebyshev_to(mask: np.ndarray) -> np.ndarray:
    """Brute force: each pixel's Chebyshev distance to the nearest True pixel of ``mask``."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    gy, gx = np.mgrid[0:h, 0:w]
    d = np.maximum(np.abs(gy[..., None] - ys), np.abs(gx[..., None] - xs))
    return d.min(axis=-1)


def _scene(square_depth: int):
    """20 x 24: a slanted background (label 0, depth 40 + x // 2) and a square (label 1, rows and
    columns 6..13) at ``square_depth``; colour a flat 100 everywhere."""
    h, w = 20, 24
    depth = (40 + np.arange(w) // 2)[None].repeat(h, 0).astype(np.uint8)
    labels = np.zeros((h, w), np.int16)
    labels[6:14, 6:14] = 1
    depth[labels == 1] = square_depth
    return np.full((h, w, 3), 100, np.uint8), depth, labels


@pytest.mark.parametrize("width,strength", [(3, -0.3), (2, 0.25), (1, -0.45)])
def test_rim_lies_inside_the_nearer_layer_with_a_linear_falloff(width, strength):
    """A near square on a slanted background: the square's pixels at Chebyshev distance r <= width
    from the background are scaled by 1 + strength (width + 1 - r) / width; the background, though
    it slopes (each column nearer than the one to its left), stays, and so does the square's
    interior."""
    from igde_stream.data.cache import rimmed_color

    color, depth, labels = _scene(200)
    out = rimmed_color(color, depth, labels, width, strength)
    r = _chebyshev_to(labels == 0)
    want = np.full(depth.shape, 100.0)
    ring = (labels == 1) & (r <= width)
    want[ring] = 100 * (1 + strength * (width + 1 - r[ring]) / width)
    np.testing.assert_array_equal(out[..., 1], np.clip(np.rint(want), 0, 255).astype(np.uint8))
    assert (out[labels == 0] == 100).all() and (out[(labels == 1) & (r > width)] == 100).all()
    assert out.dtype == np.uint8 and (out[..., 0] == out[..., 2]).all()


def test_rim_follows_the_depth_order_not_the_drawing_order():
    """The same square drawn farther than the background: the rim is on the background around it
    (the nearer side), at the background pixels' distance from the square."""
    from igde_stream.data.cache import rimmed_color

    color, depth, labels = _scene(10)
    out = rimmed_color(color, depth, labels, 2, -0.5)
    r = _chebyshev_to(labels == 1)
    want = np.full(depth.shape, 100.0)
    ring = (labels == 0) & (r <= 2)
    want[ring] = 100 * (1 - 0.5 * (3 - r[ring]) / 2)
    np.testing.assert_array_equal(out[..., 0], np.rint(want).astype(np.uint8))
    assert (out[labels == 1] == 100).all()


def test_rim_clips_and_keeps_16_bit_depth_order():
    """Brightening clips at 255; the depth order is read at 16 bits as at 8."""
    from igde_stream.data.cache import rimmed_color

    color, depth, labels = _scene(200)
    color[:] = 240
    out = rimmed_color(color, depth.astype(np.uint16) * 257, labels, 1, 0.3)
    assert (out[(labels == 1) & (_chebyshev_to(labels == 0) == 1)] == 255).all()
    assert (out[labels == 0] == 240).all()


def test_sharpened_is_the_unsharp_mask():
    """color + amount (color - Gaussian(color, sigma)), against SciPy's Gaussian (mirrored border):
    halos on both sides of a step, a flat area unchanged."""
    from scipy.ndimage import gaussian_filter

    from igde_stream.data.cache import sharpened

    img = np.full((16, 24, 3), 60, np.uint8)
    img[:, 12:] = 180
    for amount, sigma in ((0.5, 1.0), (1.4, 1.7)):
        f = img.astype(np.float64)
        want = np.clip(np.rint(f + amount * (f - gaussian_filter(f, (sigma, sigma, 0), mode="mirror",
                                                                  truncate=4.0))), 0, 255)
        got = sharpened(img, amount, sigma)
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1, (amount, sigma)
        assert got[0, 11, 0] < 60 and got[0, 12, 0] > 180  # the halos
        assert (got[:, :2] == 60).all()


def test_cache_color_rim_changes_that_share_of_the_colour_frames_only():
    """color_rim P changes the colour of about that share of the frames (one draw per frame, from
    its own generator); depth, ground truth and the other frames' colour stay as without it; the
    cache's name changes with it and not without it; out-of-range values are refused."""
    from igde_stream.data import cache

    cfg = cache.CacheConfig(scenes=6, frames_per_scene=2, crops_per_frame=2, crop=(40, 40), mix=True,
                            color_blur=0.0, scene=SMALL)
    base = cache.build_cache(cfg, workers=1, progress=False)
    for share, lo, hi in ((0.0, 0, 0), (0.3, 1, 7), (1.0, 10, 12)):
        c = cache.build_cache(dataclasses.replace(cfg, color_rim=share), workers=1, progress=False)
        np.testing.assert_array_equal(c["depth"], base["depth"])
        np.testing.assert_array_equal(c["gt"], base["gt"])
        changed = (c["color"] != base["color"]).reshape(12, 2, -1).any(axis=(1, 2))  # per frame
        assert lo <= changed.sum() <= hi, (share, changed)
    assert dataclasses.replace(cfg, color_rim=0.5).key() != cfg.key()
    assert dataclasses.replace(cfg, color_rim=0.0).key() == cfg.key()
    with pytest.raises(ValueError, match="color_rim must be"):
        cache.CacheConfig(color_rim=1.5)


def test_train_config_color_rim_needs_the_cache_and_is_recorded():
    from igde_stream.train_config import TrainConfig

    with pytest.raises(ValueError, match="color_rim needs the crop cache"):
        TrainConfig(steps=1, color_rim=0.5)
    with pytest.raises(ValueError, match="color_rim must be"):
        TrainConfig(steps=1, cache_scenes=4, color_rim=-0.1)
    cfg = TrainConfig(steps=1, cache_scenes=4, color_rim=0.5)
    assert cfg.cache_config().color_rim == 0.5
    assert cfg.data_params()["color_rim"] == 0.5
