"""``wide_errors`` (``--wide-errors``): the network on the frame at half size first, where boundary
errors twice as wide as its 7 px reach fall within it, then at full size.

Expected values come from the scene's construction (a square object whose depth was inflated or
shrunk by a known width) and, for the composition of the two passes, from a by-hand version built
with OpenCV and NumPy on a one-pass Enhancer."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from igde_stream.enhancer import Enhancer
from igde_stream.errors import EnhancerError

H, W = 96, 128


def _square(width: int):
    """Colour (a red square on blue), its true depth (200 on 60) and the depth with the square's outline
    moved ``width`` px outward (> 0, inflated) or inward (< 0, reduced)."""
    yy, xx = np.mgrid[:H, :W]
    obj = (abs(xx - 64) < 24) & (abs(yy - 48) < 24)
    color = np.where(obj[..., None], np.uint8([200, 60, 40]), np.uint8([40, 90, 200])).astype(np.uint8)
    gt = np.where(obj, 200, 60).astype(np.uint8)
    k = np.ones((2 * abs(width) + 1,) * 2, np.uint8)
    moved = (cv2.dilate if width > 0 else cv2.erode)(obj.astype(np.uint8), k) > 0
    return color, gt, np.where(moved, 200, 60).astype(np.uint8)


@pytest.fixture(scope="module")
def shipped():
    pytest.importorskip("onnxruntime")
    one = Enhancer("igde-small", backend="onnxruntime", quiet=True, threads=1)
    wide = Enhancer("igde-small", backend="onnxruntime", quiet=True, threads=1, wide_errors=True)
    return one, wide


@pytest.mark.parametrize("width", [8, 12, -8])
def test_outlines_moved_beyond_the_reach_are_put_back(shipped, width):
    """An outline 8-12 px off: the full-size pass alone leaves most of the wrong pixels (its candidates
    reach 7 px); with the half-size pass first nearly all are right. Every output value is an input
    value (60 or 200)."""
    one, wide = shipped
    color, gt, depth = _square(width)
    wrong = np.count_nonzero(depth != gt)
    left_one = np.count_nonzero(one.enhance(color, depth) != gt)
    out = wide.enhance(color, depth)
    assert left_one >= 0.3 * wrong, (left_one, wrong)
    assert np.count_nonzero(out != gt) <= 0.05 * wrong, (np.count_nonzero(out != gt), wrong)
    assert set(np.unique(out)) <= {60, 200}


def test_narrow_errors_are_put_back_either_way(shipped):
    one, wide = shipped
    color, gt, depth = _square(3)
    np.testing.assert_array_equal(one.enhance(color, depth), gt)
    np.testing.assert_array_equal(wide.enhance(color, depth), gt)


def _by_hand(one: Enhancer, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """The two passes for a batch (N x H x W x 3 colour, N x H x W depth), each pass given the whole
    batch at once, as ``wide_errors`` runs it: the network's float sums then match, so near ties in a
    pick (random 16-bit depth has candidates one level apart) fall the same way."""
    h, w = depth.shape[1] // 2, depth.shape[2] // 2
    # the mean of each 2 x 2 block of the first 2h x 2w pixels (an odd last row and column left out, as
    # from the depth), rounded half up
    blocks = color[:, : 2 * h, : 2 * w].astype(np.float64).reshape(-1, h, 2, w, 2, 3).mean(axis=(2, 4))
    small_c = np.floor(blocks + 0.5).astype(np.uint8)
    small_d = depth[:, 0 : 2 * h : 2, 0 : 2 * w : 2].copy()
    moved = one.enhance(small_c, small_d)
    mid = depth.copy()
    for n, y, x in np.ndindex(*moved.shape):  # each changed half-size pixel over its 2 x 2 full-size pixels
        if moved[n, y, x] != small_d[n, y, x]:
            mid[n, 2 * y : 2 * y + 2, 2 * x : 2 * x + 2] = moved[n, y, x]
    return one.enhance(color, mid)


@pytest.mark.parametrize("size", [(33, 21), (40, 30)])
def test_the_two_passes_compose_as_by_hand(tiny_model, size):
    """Odd and even sizes (an odd last row and column take no half-size value), 8- and 16-bit depth, a
    batch of two frames: the same as the half-size pass, its changes taken over 2 x 2 pixels, then the
    full-size pass, built by hand on a one-pass Enhancer."""
    w, h = size
    rng = np.random.default_rng(3)
    one = Enhancer(tiny_model, backend="torch", quiet=True, hole_fill=False)
    wide = Enhancer(tiny_model, backend="torch", quiet=True, hole_fill=False, wide_errors=True)
    for dtype, top in ((np.uint8, 255), (np.uint16, 65535)):
        color = rng.integers(0, 256, (2, h, w, 3), dtype=np.uint8)
        depth = rng.integers(1, top + 1, (2, h, w)).astype(dtype)
        want = _by_hand(one, color, depth)
        got = wide.enhance(color, depth)
        np.testing.assert_array_equal(got, want)
        assert got.dtype == dtype and not np.array_equal(got, one.enhance(color, depth))


def test_pixels_the_half_size_pass_left_keep_their_own_value(shipped):
    """The shipped selection model changes few pixels at half size: the others keep their full-size
    value (a slanted background differs from its 2 x 2 block's first pixel), not the half-size one."""
    from conftest import scene

    one, wide = shipped
    colors, depths, _ = scene(1, (67, 51), bits=16)
    color, depth = colors[0], depths[0]
    want = _by_hand(one, color[None], depth[None])[0]
    np.testing.assert_array_equal(wide.enhance(color, depth), want)
    blocks = np.repeat(np.repeat(depth[0:50:2, 0:66:2], 2, 0), 2, 1)
    assert np.count_nonzero(blocks != depth[:50, :66]) > 1000  # so taking the blocks' values would show


def test_values_picked_for_holes_at_half_size_do_not_overwrite_measured_pixels(shipped):
    """With the hole fill on (the shipped model reads 0 as a hole), a hole of the half-size frame that
    its pass gave a value is left to the fill: its 2 x 2 block's measured pixels keep their own depth
    for the full-size pass. By hand: the half-size pass with no fill, its changes at measured pixels
    only, the full-size pass with no fill, then the fill of the input's holes."""
    from conftest import scene
    from igde_stream.hole_fill import HoleFill, fill_frames

    colors, depths, _ = scene(1, (66, 50))
    color, depth = colors[0], depths[0].copy()
    rng = np.random.default_rng(5)
    depth[rng.random(depth.shape) < 0.08] = 0
    plain = Enhancer("igde-small", backend="onnxruntime", quiet=True, threads=1, hole_fill=False)
    small_c = cv2.resize(color, (33, 25), interpolation=cv2.INTER_AREA)
    small_d = depth[::2, ::2].copy()
    moved = plain.enhance(small_c, small_d)
    picked = (moved != small_d) & (small_d == 0)
    blocks = np.repeat(np.repeat(picked, 2, 0), 2, 1)
    assert np.count_nonzero(blocks & (depth != 0)) > 20  # measured pixels a hole's value would overwrite
    keep = (moved != small_d) & (small_d != 0)
    mid = depth.copy()
    for y, x in zip(*np.nonzero(keep)):
        mid[2 * y : 2 * y + 2, 2 * x : 2 * x + 2] = moved[y, x]
    want = plain.enhance(color, mid)
    fill_frames(color[None], depth[None], want[None], HoleFill(sigma_space=12, stride=1), 255.0, "near-high")
    _, wide = shipped
    np.testing.assert_array_equal(wide.enhance(color, depth), want)


def test_frames_under_four_pixels_a_side_get_the_full_size_pass_alone(tiny_model):
    rng = np.random.default_rng(4)
    color = rng.integers(0, 256, (3, 9, 3), dtype=np.uint8)
    depth = rng.integers(0, 256, (3, 9), dtype=np.uint8)
    one = Enhancer(tiny_model, backend="torch", quiet=True)
    wide = Enhancer(tiny_model, backend="torch", quiet=True, wide_errors=True)
    np.testing.assert_array_equal(wide.enhance(color, depth), one.enhance(color, depth))


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_a_wide_errors_that_is_no_bool_is_refused(tiny_model, bad):
    with pytest.raises(EnhancerError, match="wide_errors must be True or False"):
        Enhancer(tiny_model, backend="torch", quiet=True, wide_errors=bad)


def test_the_command_passes_it_on_and_the_report_says_so(tmp_path, tiny_model):
    from conftest import scene, write_video
    from igde_stream.cli import main

    colors, depths, gts = scene(2)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray")
    for flag, want in (([], False), (["--wide-errors"], True)):
        rep = tmp_path / f"r{want}.json"
        assert main([str(c), str(d), "-o", str(tmp_path / f"o{want}.mkv"), "--gt", str(g), "--report", str(rep),
                     "--model", str(tiny_model), "--backend", "torch", "-q", *flag]) == 0
        assert json.loads(rep.read_text())["wide_errors"] is want


def test_views_quality_enhance_passes_it_on(tmp_path):
    """views quality --enhance d --wide-errors: the report says so, and the enhanced depth's views
    differ from those of the one-pass model's."""
    from igde_stream import views_cli
    from test_hole_fill import _holed_clip

    _, _, color, depth, gt = _holed_clip(tmp_path, 2, 0.1, 3)
    scores = {}
    for flag in ([], ["--wide-errors"]):
        out = tmp_path / f"q{len(flag)}.json"
        assert views_cli.main(["quality", str(color), "--gt", str(gt), "--depth", f"d={depth}", "--views", "3",
                               "--enhance", "d", "--report", str(out), "-q", *flag]) == 0
        report = json.loads(out.read_text())
        assert report["wide_errors"] is bool(flag)
        scores[bool(flag)] = json.dumps(report["depths"]["enhanced"], sort_keys=True)
    assert scores[True] != scores[False]
