"""The PyTorch DIBR renderer renders the NumPy renderer's views, bit for bit (views, view depth, holes).

The reference is ``multiview.warp_views`` (NumPy: ``maximum.at`` z-buffer, flattened running-max
hole fill), an implementation independent of the torch one (scatter_reduce z-buffer, per-row
cummax / cummin hole fill); ``test_multiview.py`` pins the NumPy renderer itself to hand-worked
geometry, so agreement here carries that to the torch renderer.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from igde_stream import display
from igde_stream import multiview as mv
from igde_stream.multiview_torch import TorchRenderer, normalize_depth_torch, warp_views_torch
from scenes import square_scene, textured


def _same(a: mv.RenderedViews, b: mv.RenderedViews) -> None:
    np.testing.assert_array_equal(a.views, b.views)
    np.testing.assert_array_equal(a.holes, b.holes)
    np.testing.assert_array_equal(a.depth.view(np.int32), b.depth.view(np.int32))  # same float32 bits


def _depth(kind: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "uint8":
        return rng.integers(0, 256, (h, w), dtype=np.uint8)
    if kind == "uint16":
        return rng.integers(0, 65536, (h, w)).astype(np.uint16)
    if kind == "float":  # out of [0, 1] on purpose: clipped, -0.0 and 0.0 must key alike
        return (rng.random((h, w)) * 1.4 - 0.2).astype(np.float32)
    if kind == "ties":  # few levels: many equal depths landing on one pixel (the tie rule decides)
        return (rng.integers(0, 4, (h, w)) * 60).astype(np.uint8)
    # blocky layers: wide disocclusions, rows whose holes reach both borders
    return np.kron(rng.integers(0, 256, (h // 8 + 1, w // 8 + 1)), np.ones((8, 8)))[:h, :w].astype(np.uint8)


@pytest.mark.parametrize("kind", ["uint8", "uint16", "float", "ties", "blocks"])
def test_same_views_as_numpy_on_random_scenes(kind):
    rng = np.random.default_rng(["uint8", "uint16", "float", "ties", "blocks"].index(kind))
    for _ in range(6):
        h, w = int(rng.integers(1, 40)), int(rng.integers(1, 70))
        cfg = mv.ViewConfig(int(rng.integers(1, 12)), float(rng.uniform(0, 90)), float(rng.uniform(0, 1)))
        c, d = textured(h, w, int(rng.integers(1000))), _depth(kind, h, w, rng)
        _same(mv.warp_views(c, d, cfg), warp_views_torch(c, d, cfg))


def test_same_views_on_a_structured_frame_with_max_depth_and_positions():
    c = textured(48, 64, 3)
    d = (square_scene(48, 64, 0.3, 0.9) * 1000).astype(np.uint16)  # 300 / 900 of max_depth 1000
    cfg = mv.ViewConfig(9, 40.0, 0.25, max_depth=1000.0)
    _same(mv.warp_views(c, d, cfg), warp_views_torch(c, d, cfg))
    pos = [-0.5, -0.123, 0.0, 0.37, 0.5]
    _same(mv.warp_views(c, d, cfg, pos), warp_views_torch(c, d, cfg, pos))
    assert mv.warp_views(c, d, cfg).holes.any()  # the case exercises the hole fill


def test_passes_of_a_few_views_give_the_same_views():
    c, d = textured(24, 40, 5), _depth("blocks", 24, 40, np.random.default_rng(5))
    cfg = mv.ViewConfig(7, 30.0)
    whole = TorchRenderer("cpu").render(c, d, cfg)
    for per_pass in (1, 2 * 24 * 40, 3 * 24 * 40):  # 1 view, 2 views, 3 views per pass
        parts = TorchRenderer("cpu", pixels_per_pass=per_pass).render(c, d, cfg)
        for a, b in zip(whole, parts):
            assert torch.equal(a, b)


def test_renders_for_the_layouts_and_takes_tensors():
    c, d = textured(16, 24, 7), _depth("uint8", 16, 24, np.random.default_rng(7))
    cfg = mv.ViewConfig(4, 24.0)
    r = TorchRenderer("cpu")
    for name, opts in [("grid", {}), ("sbs", {}), ("quilt", {"quilt": display.QuiltSpec(2, 2)})]:
        lay = display.make_layout(name, cfg, **opts)
        for a, b in zip(lay.frames(c, d), lay.frames(c, d, r)):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(r(torch.from_numpy(c), torch.from_numpy(d), cfg), mv.warp_views(c, d, cfg).views)
    np.testing.assert_array_equal(normalize_depth_torch(torch.from_numpy(d)).numpy(), mv.normalize_depth(d))


def test_rejects_what_numpy_rejects():
    c = textured(8, 8)
    with pytest.raises(ValueError, match="uint8"):
        warp_views_torch(c.astype(np.int16), np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="H x W"):
        warp_views_torch(c, np.zeros((8, 9), np.uint8))
    with pytest.raises(ValueError, match="NaN"):
        warp_views_torch(c, np.full((8, 8), np.nan, np.float32))
    with pytest.raises(ValueError, match="non-empty"):
        warp_views_torch(c, np.zeros((8, 8), np.uint8), positions=[])


def test_big_endian_depth_renders_as_its_native_values():
    """16-bit depth in big-endian order (np.frombuffer of a PGM) renders as NumPy renders it."""
    rng = np.random.default_rng(3)
    c, d = textured(20, 30, 3), rng.integers(0, 65536, (20, 30)).astype(np.uint16)
    cfg = mv.ViewConfig(4, 12.0, 0.5)
    want = mv.warp_views(c, d, cfg)
    _same(want, warp_views_torch(c, d.astype(">u2"), cfg))
    _same(want, warp_views_torch(c, d, cfg))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_same_views_on_cuda():
    rng = np.random.default_rng(11)
    for kind in ("uint8", "uint16", "ties", "blocks"):
        c, d = textured(60, 90, 11), _depth(kind, 60, 90, rng)
        cfg = mv.ViewConfig(8, 48.0, 0.4)
        _same(mv.warp_views(c, d, cfg), warp_views_torch(c, d, cfg, device="cuda"))


@pytest.mark.parametrize("order", ["near-high", "far-high"])
def test_depth_reading_equals_numpys_for_every_input_kind(order):
    """normalize_depth_torch against multiview.normalize_depth, bit for bit: uint8 and uint16 at their
    own peaks and under a max_depth (values above it, exactly at it, 0 and 1), floats below 0, above 1
    and exactly 0, with and without max_depth."""
    u16 = np.array([[0, 1, 2, 999, 1000, 1001, 65535]], np.uint16)
    cases = [(np.array([[0, 1, 2, 128, 255]], np.uint8), None), (u16, None), (u16, 1000.0),
             (np.array([[-0.25, 0.0, 1e-6, 0.05, 0.5, 1.0, 1.5]], np.float32), None),
             (np.array([[0.0, 10.0, 500.0, 1000.0, 1200.0]], np.float32), 1000.0)]
    for depth, max_depth in cases:
        want = mv.normalize_depth(depth, max_depth, order=order)
        t = torch.from_numpy(depth.astype(np.int32) if depth.dtype == np.uint16 else depth)
        got = normalize_depth_torch(t, max_depth, peak=65535.0 if depth.dtype == np.uint16 else None, order=order)
        np.testing.assert_array_equal(got.numpy().view(np.int32), want.view(np.int32), err_msg=f"{depth.dtype} {max_depth}")
        if depth.dtype != np.float32:  # and from the tensor's own dtype, without a peak
            own = normalize_depth_torch(torch.from_numpy(depth), max_depth, order=order)
            np.testing.assert_array_equal(own.numpy().view(np.int32), want.view(np.int32))


def test_depth_zero_at_the_zero_parallax_plane_stays_in_place():
    """Depth 0 with the zero-parallax plane at 0: no pixel moves, so every view is the colour frame
    with no hole; its z-buffer key is 0 for the first pixel, which must still count as rendered."""
    c = textured(5, 7, 1)
    d = np.zeros((5, 7), np.uint8)
    cfg = mv.ViewConfig(3, 40.0, 0.0)
    for r in (mv.warp_views(c, d, cfg), warp_views_torch(c, d, cfg)):
        assert not r.holes.any()
        for view in r.views:
            np.testing.assert_array_equal(view, c)
