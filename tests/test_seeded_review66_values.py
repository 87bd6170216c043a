"""Seeded-bug review 66, around the network: the Enhancer's 8 / 16-bit scaling and max_depth, the
depth orders (far-high distance maps), and the colour-guided hole fill, each against values worked
out by hand or by a NumPy reading of docs/models.md and the modules' documented rules. The
Enhancer runs small PyTorch modules whose output is known (the colour's red channel, the depth
itself, the depth of the right-hand neighbour), so that what is checked is the scaling around them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from igde_stream import Enhancer
from igde_stream.depth_order import denormalize, normalize, normalize_unit
from igde_stream.hole_fill import HoleFill, fill_holes


class Red(torch.nn.Module):
    """The colour's red channel as the depth."""

    def forward(self, color, depth):
        return color[:, :1]


class Same(torch.nn.Module):
    """The depth as it came in."""

    def forward(self, color, depth):
        return depth


class Right(torch.nn.Module):
    """Each pixel takes its right-hand neighbour's depth (the last column its own): an input value
    from another pixel, as the selection head gives."""

    def forward(self, color, depth):
        return torch.cat([depth[..., 1:], depth[..., -1:]], -1)


def run(module, color, depth, **kw):
    kw.setdefault("hole_fill", False)
    return Enhancer(model=module, backend="torch", quiet=True, **kw).enhance(color, depth)


def square_colour(n: int = 6) -> np.ndarray:
    """n x n RGB whose red channel differs along both axes (a transposed frame would show), 0..255."""
    r = (np.arange(n)[:, None] * 40 + np.arange(n)[None, :] * 7) % 256
    r[0, 0], r[-1, -1] = 255, 128
    return np.stack([r, r // 2, 255 - r], -1).astype(np.uint8)


def test_colour_is_read_as_rgb_over_255_at_both_bit_depths():
    """colour / 255 in, the output * 255 (8-bit) or * 65535 (16-bit) back: the red channel comes
    back as itself, and as itself x 257 in 16 bits; on a square frame, not transposed."""
    c = square_colour()
    r = c[..., 0].astype(np.int64)
    d8 = np.full(c.shape[:2], 9, np.uint8)
    np.testing.assert_array_equal(run(Red(), c, d8), r)
    np.testing.assert_array_equal(run(Red(), c, d8.astype(np.uint16) * 257), r * 257)


def test_max_depth_is_the_peak_of_16_bit_depth():
    """max_depth 1000 on 16-bit depth: the output y comes back as round(y x 1000)."""
    c = square_colour()
    d = np.full(c.shape[:2], 300, np.uint16)
    want = np.rint(c[..., 0] / 255 * 1000).astype(np.uint16)
    np.testing.assert_array_equal(run(Red(), c, d, max_depth=1000), want)


def test_depth_at_exactly_max_depth_is_enhanced_and_only_above_it_passes_through():
    """docs: "pixels above it pass through unchanged": a pixel of exactly max_depth takes its
    neighbour's value like any other; one above it keeps its own, and one that took its value
    (clipped to the peak, a depth the input never had) keeps its own too."""
    d = np.array([[1000, 400, 700, 1200]], np.uint16)
    c = np.zeros((1, 4, 3), np.uint8)
    np.testing.assert_array_equal(run(Right(), c, d, max_depth=1000)[0], [400, 700, 700, 1200])


def test_far_high_copies_a_neighbours_distance_exactly_even_when_close_to_its_own():
    """Far-high: a value copied from another pixel comes back as that pixel's distance exactly,
    however close to the pixel's own (10000 / 10001 mm, 1e-4 apart): only a value equal bit for bit
    to the pixel's own reading gives its own distance back."""
    d = np.array([[10000, 10001, 10000, 10001, 5000]], np.uint16)
    c = np.zeros((1, 5, 3), np.uint8)
    got = run(Right(), c, d, max_depth=20000, depth_order="far-high")
    np.testing.assert_array_equal(got[0], [10001, 10000, 10001, 5000, 5000])


def test_far_high_nearer_than_the_near_limit_keeps_its_own_distance():
    """Far-high, max_depth 5000: the near limit is 250; 100 and 200 both read as 1.0, and a pixel
    whose output is its own reading keeps its own distance (not 250)."""
    d = np.array([[100, 200, 3000]], np.uint16)
    got = run(Same(), np.zeros((1, 3, 3), np.uint8), d, max_depth=5000, depth_order="far-high")
    np.testing.assert_array_equal(got[0], [100, 200, 3000])


def test_far_high_output_of_exactly_max_depth_is_kept_beside_depth_above_it():
    """Far-high, max_depth 5000, a pixel beyond it (6000) in the frame: a pixel that takes its
    neighbour's distance of exactly 5000 keeps it (the near-high leak rule, for values clipped to
    the peak, does not apply: far-high depth beyond the far limit reads as 0, not as the peak)."""
    d = np.array([[3000, 5000, 6000, 2000]], np.uint16)
    got = run(Right(), np.zeros((1, 4, 3), np.uint8), d, max_depth=5000, depth_order="far-high")
    np.testing.assert_array_equal(got[0], [5000, 0, 6000, 2000])


def test_normalise_by_hand():
    """The module docstring's formulas, at their edges."""
    # far-high beyond the far limit: 0 (no measurement), not n / v
    np.testing.assert_array_equal(normalize(np.array([6000, 500, 0], np.uint16), 5000, "far-high"),
                                  np.float32([0.0, 0.5, 0.0]))
    # far-high nearer than the near limit (5000 / 20 = 250): 1.0, the nearest
    np.testing.assert_array_equal(normalize(np.array([100, 250, 1000], np.uint16), 5000, "far-high"),
                                  np.float32([1.0, 1.0, 0.25]))
    # near-high above the peak: 1.0
    np.testing.assert_array_equal(normalize(np.array([2000, 500], np.uint16), 1000), np.float32([1.0, 0.5]))
    # float depth in [0, 1], far-high: 0.05 / d, at most 1; 0 stays 0
    np.testing.assert_allclose(normalize_unit(np.float32([0.5, 0.01, 0.0]), "far-high"), [0.1, 1.0, 0.0], rtol=1e-6)
    # back: round, not truncate (100.6 -> 101)
    assert denormalize(np.float32([100.6 / 255]), 255, "near-high", np.uint8)[0] == 101
    # far-high: n / y, at most the far limit (n = 250: y 1e-4 would be 2.5 million)
    np.testing.assert_array_equal(denormalize(np.float32([1e-4, 0.5, 0.0]), 5000, "far-high", np.uint16),
                                  [5000, 500, 0])


# --- the hole fill -------------------------------------------------------------------------------

def ref_fill(color, depth, s: HoleFill, out=None):
    """docs/models.md, "Hole fill", and HoleFill's docstring: each hole gets the mean of the measured
    pixels in a disc of radius diameter // 2 around it, weighted by exp(-r^2 / (2 sigma_space^2))
    and exp(-L1^2 / (2 sigma_color^2)) (L1: the sum of the RGB channels' absolute differences);
    beyond the inner 15 x 15 px (or the snap window, if larger) only offsets on a grid of ``stride``
    px count, each for stride^2 pixels; with ``snap`` the measured value nearest that mean within
    snap px (a square), else within the disc. A hole with nothing measured in its disc keeps
    ``out``'s value; integer depth is rounded."""
    h, w = depth.shape
    r = s.diameter // 2
    inner = max(s.snap, 7)
    res = (depth if out is None else out).astype(np.float64).copy()
    c = color.astype(np.int64)
    for y, x in zip(*np.nonzero(depth == 0)):
        num = den = 0.0
        cands = []
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                if dy * dy + dx * dx > r * r:
                    continue
                ring = max(abs(dy), abs(dx)) > inner
                if ring and (dy % s.stride or dx % s.stride):
                    continue
                yy, xx = y + dy, x + dx
                if not (0 <= yy < h and 0 <= xx < w) or depth[yy, xx] == 0:
                    continue
                l1 = np.abs(c[yy, xx] - c[y, x]).sum()
                wt = (np.exp(-(dy * dy + dx * dx) / (2 * s.sigma_space ** 2)) * (s.stride ** 2 if ring else 1)
                      * np.exp(-(l1 * l1) / (2 * s.sigma_color ** 2)))
                num += wt * float(depth[yy, xx])
                den += wt
                cands.append((max(abs(dy), abs(dx)) <= s.snap, float(depth[yy, xx])))
        if den == 0:
            continue
        mean = num / den
        if s.snap:
            close = [v for near, v in cands if near] or [v for _, v in cands]
            mean = min(close, key=lambda v: abs(v - mean))
        res[y, x] = mean
    return res


def holey_frame(h, w, seed, share=0.3):
    rng = np.random.default_rng(seed)
    color = rng.integers(0, 60, (h, w, 3)).astype(np.uint8)  # L1 at most 180: no weight underflows
    color[:, w // 2:, 0] += 100  # two regions of other colour
    depth = rng.integers(1000, 60000, (h, w)).astype(np.uint16)
    depth[rng.random((h, w)) < share] = 0
    return color, depth


@pytest.mark.parametrize("s", [
    HoleFill(diameter=9, sigma_color=30.0, sigma_space=3.0, stride=1),
    HoleFill(diameter=31, sigma_color=40.0, sigma_space=6.0, stride=3),
    HoleFill(diameter=9, sigma_color=30.0, sigma_space=3.0, stride=1, snap=2),
], ids=["disc", "strided", "snap"])
def test_fill_is_the_documented_joint_bilateral_mean(s):
    color, depth = holey_frame(22, 26, seed=2)
    want = ref_fill(color, depth, s)
    got = fill_holes(color, depth, settings=s)
    # float32 weights in the module, float64 here: a rounded value may differ by one at a .5
    assert np.mean(np.abs(got.astype(np.int64) - np.rint(want)) > 0) < 0.01
    np.testing.assert_allclose(got, want, atol=1.0)
    f = fill_holes(color, depth.astype(np.float32), settings=s)
    np.testing.assert_allclose(f, want, rtol=2e-5)
    assert (got[depth == 0] != 0).mean() > 0.9


def test_fill_of_float_depth_rounds_nothing_and_integer_depth_rounds_to_nearest():
    """Two measured values 1000 and 1003 of equal weight around a hole: 1001.5 as float, 1002 as an
    integer (round half to even), not 1001 (truncated)."""
    color = np.zeros((1, 3, 3), np.uint8)
    d = np.array([[1000, 0, 1003]], np.uint16)
    s = HoleFill(diameter=3, stride=1)
    assert fill_holes(color, d.astype(np.float32), settings=s)[0, 1] == pytest.approx(1001.5)
    assert fill_holes(color, d, settings=s)[0, 1] == 1002


def test_a_hole_with_nothing_measured_in_its_disc_keeps_its_value():
    """Diameter 7 (radius 3): the measured pixel at (3, 3) lies in the square around the hole at
    (0, 0) but not in its disc (18 > 9): that hole keeps the model's value; the hole at (1, 1)
    (distance^2 8) takes 500."""
    depth = np.zeros((4, 4), np.uint16)
    depth[3, 3] = 500
    out = np.full((4, 4), 77, np.uint16)
    got = fill_holes(np.zeros((4, 4, 3), np.uint8), depth, out=out,
                     settings=HoleFill(diameter=7, stride=1, wide=False))
    assert got[0, 0] == 77 and got[1, 1] == 500 and got[3, 3] == 77


def test_enhancer_fill_takes_no_source_above_max_depth_and_fills_every_frame():
    """Two frames with holes; measured 500 and, above max_depth 1000, 5000: every hole becomes 500."""
    d = np.full((2, 6, 8), 500, np.uint16)
    d[:, :, 6:] = 5000
    d[:, 2:4, 2:5] = 0
    c = np.zeros((2, 6, 8, 3), np.uint8)
    got = run(Same(), c, d, max_depth=1000, hole_fill=True)
    want = d.copy()
    want[want == 0] = 500
    np.testing.assert_array_equal(got, want)


def test_a_model_without_zero_holes_gets_no_fill_by_default():
    """hole_fill None: on when the model reads depth 0 as a hole (its config's zero_holes); a
    module without that setting keeps its holes."""
    d = np.full((5, 5), 500, np.uint16)
    d[2, 2] = 0
    e = Enhancer(model=Same(), backend="torch", quiet=True)
    assert e.hole_fill is None
    assert e.enhance(np.zeros((5, 5, 3), np.uint8), d)[2, 2] == 0


def test_hole_fill_on_is_the_plain_mean_not_the_layers():
    """docs/models.md: ``--hole-fill far`` (``HoleFill(layers=2)``) is not the default; hole_fill
    True, and the default for a zero_holes model, is the plain mean: a hole between a near (3000)
    and a far (500) plane of one colour gets a value between them."""
    e = Enhancer(model=Same(), backend="torch", quiet=True, hole_fill=True)
    assert e.hole_fill == HoleFill(sigma_space=12, stride=1)
    d = np.full((9, 9), 3000, np.uint16)
    d[:, 5:] = 500
    d[3:6, 4:6] = 0
    got = e.enhance(np.zeros((9, 9, 3), np.uint8), d)
    assert 500 < got[4, 4] < 3000 and 500 < got[4, 5] < 3000
