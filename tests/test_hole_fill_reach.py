"""The hole fill's wide part reaches every hole of a frame with measured depth (docs/stream.md,
``--hole-fill``: "no hole is left at 0 where the frame has any measured depth"), also where the fast
global smoother's weights fall below float32's range: a TUM Kinect frame (slambook_fr1_1, far-high,
max_depth 45000) kept 848 holes at 0 in its top rows, its figure in results/ saying "0 % missing".

Each frame here has one measured value, so every weighted mean of the measured depth, and the
nearest measured pixel, is that value: every hole must become it, whatever the weights."""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream.hole_fill import HoleFill, _global_fill, fill_holes


@pytest.fixture
def tiny_enhancer_no_model(monkeypatch):
    """An Enhancer (far-high, max_depth 45000, hole fill on) whose backend gives the depth back."""
    import igde_stream.enhancer as enh

    class _Identity:
        name = "identity"

        def run(self, color, depth):
            return depth.copy()

    monkeypatch.setattr(enh, "create_backend", lambda *a, **k: _Identity())
    return enh.Enhancer("igde-small", backend="torch", quiet=True, hole_fill=True, max_depth=45000,
                        depth_order="far-high")


def _stripes(h: int = 4, w: int = 80, period: int = 4, step: int = 30) -> np.ndarray:
    """Gray columns alternating 0 and ``step`` every ``period`` px: each of the 19 colour edges between
    the measured columns and the far end divides the smoother's weight by about e^(30 / 4)."""
    cols = ((np.arange(w) // period) % 2 * step).astype(np.uint8)
    return np.repeat(np.repeat(cols[None, :, None], h, 0), 3, 2).copy()


def test_holes_beyond_the_window_get_the_measured_depth_across_many_colour_edges():
    color = _stripes()
    depth = np.zeros(color.shape[:2], np.uint16)
    depth[:, :2] = 1000  # measured: the first two columns; columns 30.. are beyond the 55 px window's reach
    out = fill_holes(color, depth, None, settings=HoleFill())
    assert np.all(out == 1000)  # before: the 96 pixels of columns 56..79 stayed 0
    # the global smoother itself reaches them (its weights scaled into float32's range), no fallback
    far = _global_fill(color, depth, depth > 0)
    assert np.all(np.isfinite(far)) and np.all(far == 1000)


def test_holes_no_smoother_weight_reaches_get_the_nearest_measured_depth():
    """Colour noise over the whole frame: edges everywhere, the smoother's weights vanish within a few
    pixels even scaled; the holes it leaves take the nearest measured pixel's depth."""
    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    depth = np.zeros((60, 80), np.uint16)
    depth[:3, :3] = 1000
    assert np.isnan(_global_fill(color, depth, depth > 0)).any()  # the case this covers
    out = fill_holes(color, depth, None, settings=HoleFill())
    assert np.all(out == 1000)  # before: 4,649 of 4,791 holes stayed 0


def test_the_enhancer_leaves_no_hole_in_such_a_frame(tiny_enhancer_no_model):
    """Through the Enhancer (a backend that gives its input back, so the holes reach the fill as 0),
    far-high 16-bit depth as a Kinect's: no hole left, every value the measured one."""
    color = _stripes()
    depth = np.zeros(color.shape[:2], np.uint16)
    depth[:, :2] = 5000  # 1 m at 5000 a metre, as TUM stores it
    out = tiny_enhancer_no_model.enhance(color, depth)
    assert out.dtype == np.uint16 and np.all(out == 5000)
