"""--hole-fill keep (``Enhancer(hole_fill="keep")``): a sensor's missing depth (0) stays 0 in the
output, for reconstruction (TSDF fusion, point clouds) that must fuse measured depth only. With
--hole-fill off the fill is off, but the model itself still gives holes beside measured depth a
neighbour's value (on a TUM RGB-D Kinect frame: 24,486 of its 58,950 holes)."""

from __future__ import annotations

import json

import numpy as np
import pytest


def _kinect_frame(w: int = 64, h: int = 48):
    """Millimetres, far-high: a box at 1000 mm before a wall at 3000 mm, red box on a gray wall; a band
    of holes (0) 4 px wide along the box's right edge, half on the box, half on the wall, as a
    structured-light sensor leaves beside a near object, and a few holes scattered on the wall."""
    yy, xx = np.mgrid[:h, :w]
    box = (xx >= 16) & (xx < 36) & (yy >= 12) & (yy < 36)
    depth = np.where(box, 1000, 3000).astype(np.uint16)
    color = np.where(box[..., None], np.array([200, 40, 30], np.uint8), np.array([110, 110, 110], np.uint8))
    depth[12:36, 34:38] = 0
    depth[5, 50] = depth[40, 8] = depth[44, 60] = 0
    return np.ascontiguousarray(color.astype(np.uint8)), depth


def test_keep_leaves_every_hole_zero_where_off_fills_some():
    from igde_stream.enhancer import Enhancer

    color, depth = _kinect_frame()
    hole = depth == 0
    off = Enhancer("igde-small", backend="onnxruntime", quiet=True, max_depth=5000, depth_order="far-high",
                   hole_fill=False).enhance(color, depth)
    keep = Enhancer("igde-small", backend="onnxruntime", quiet=True, max_depth=5000, depth_order="far-high",
                    hole_fill="keep")
    assert keep.hole_fill is None and keep.keep_holes
    out = keep.enhance(color, depth)
    assert out.dtype == np.uint16
    assert (off[hole] != 0).any()  # what off does: the model fills holes beside measured depth
    assert np.array_equal(out == 0, hole)  # every hole 0, no measured pixel 0
    assert set(np.unique(out[~hole])) <= {1000, 3000}  # measured pixels: input values, millimetres kept
    assert np.array_equal(out[~hole], off[~hole])
    both = keep.enhance(np.stack([color, color]), np.stack([depth, depth]))  # a batch alike
    assert np.array_equal(both[0] == 0, hole) and np.array_equal(both[1] == 0, hole)


def test_keep_is_refused_nowhere_and_a_typo_still_is():
    from igde_stream.enhancer import EnhancerError, check_options

    check_options(hole_fill="keep")
    with pytest.raises(EnhancerError, match="'keep'"):
        check_options(hole_fill="kept")


def test_the_command_keeps_holes_in_16_bit_png_and_says_so(tmp_path):
    import cv2

    from igde_stream.cli import main

    color, depth = _kinect_frame()
    (tmp_path / "rgb").mkdir()
    (tmp_path / "depth").mkdir()
    for k in range(2):
        cv2.imwrite(str(tmp_path / "rgb" / f"{k:06d}.png"), color[..., ::-1])
        cv2.imwrite(str(tmp_path / "depth" / f"{k:06d}.png"), depth)
    report = tmp_path / "r.json"
    assert main([str(tmp_path / "rgb"), str(tmp_path / "depth"), "-o", str(tmp_path / "out" / "%06d.png"),
                 "--depth-order", "far-high", "--max-depth", "5000", "--hole-fill", "keep", "-q",
                 "--backend", "onnxruntime", "--gt", str(tmp_path / "depth"), "--report", str(report)]) == 0
    for k in range(2):
        out = cv2.imread(str(tmp_path / "out" / f"{k:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert out.dtype == np.uint16 and np.array_equal(out == 0, depth == 0)
    said = json.loads(report.read_text())
    assert said["holes_kept"] is True and said["hole_fill"] is False


def test_views_quality_reports_keep_as_the_command_does(tmp_path, tiny_model):
    """views quality --enhance with --hole-fill keep: its report told "hole_fill": false, as for off,
    where igde-stream's says holes_kept; both now name it."""
    from conftest import scene, write_video
    from igde_stream import views_cli

    colors, depths, gts = scene(2, (32, 24))
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    for mode, kept in (("keep", True), ("off", False)):
        report = tmp_path / f"{mode}.json"
        assert views_cli.main(["quality", str(c), "--gt", str(g), "--depth", f"d={d}", "--views", "3", "-q",
                               "--enhance", "d", "--model", str(tiny_model), "--backend", "torch",
                               "--hole-fill", mode, "--report", str(report)]) == 0
        said = json.loads(report.read_text())
        assert said["hole_fill"] is False and said["holes_kept"] is kept
