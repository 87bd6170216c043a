"""A ground truth in another depth order (a distance map beside disparity) or scale (disparity x 256
beside x 100, half-size disparity) than the depth it scores gets one warning naming what it looks
like; a degraded depth of the same scene beside its own ground truth gets none."""

from __future__ import annotations

import logging
from fractions import Fraction

import numpy as np
import pytest
from conftest import scene, write_video

from igde_stream.stream import enhance_file
from igde_stream.stream.gt_checks import gt_mismatch


def disparity(h=48, w=64):
    """A near plane (disparity 40) in front of a slanted background (10..20), 0 = unknown at the left."""
    yy, xx = np.mgrid[:h, :w]
    d = 10 + 10 * xx / w
    d[12:36, 20:44] = 40
    d[:, :4] = 0
    return d


def test_the_order_and_scale_checks_by_hand():
    gt = np.rint(disparity() * 100).astype(np.uint16)
    inflated = gt.copy()
    inflated[10:38, 18:46] = 4000  # the near plane 2 px too wide: a boundary error, same order and scale
    assert gt_mismatch(inflated, gt) is None
    # depth = 1 / disparity (x 40000): correlation by hand below -0.5
    far = np.where(gt > 0, np.rint(4e6 / np.maximum(gt, 1)), 0).astype(np.uint16)
    a, b = inflated[(inflated > 0) & (far > 0)].astype(float), far[(inflated > 0) & (far > 0)].astype(float)
    assert np.corrcoef(a, b)[0, 1] < -0.5
    assert "runs against the depth" in gt_mismatch(inflated, far)
    x256 = np.rint(disparity() * 256).astype(np.uint16)  # median ratio 2.56
    assert "about 2.56 times the depth's" in gt_mismatch(gt, x256)
    assert "about 0.5 times" in gt_mismatch(gt, gt // 2)
    assert gt_mismatch(inflated, np.rint(gt * 1.2).astype(np.uint16)) is None  # within 1.5: said nothing
    assert gt_mismatch(np.zeros_like(gt), gt) is None  # nothing measured in both


@pytest.mark.parametrize("kind", ["order", "scale", "same"])
def test_the_run_warns_once_about_a_ground_truth_of_another_order_or_scale(tmp_path, enhancer, caplog, kind):
    colors, depths, gts = scene(3, bits=16)
    if kind == "order":
        gts = [np.rint(65535.0 * 2000 / g).astype(np.uint16) for g in gts]  # distance beside inverse depth
    elif kind == "scale":
        gts = [g // 2 for g in gts]
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(25))
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray16le", rate=Fraction(25))
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray16le", rate=Fraction(25))
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        enhance_file(c, d, tmp_path / "o.mkv", gt_path=g, report_path=tmp_path / "r.json", enhancer=enhancer)
    said = [r.getMessage() for r in caplog.records if "the ground truth" in r.getMessage()]
    want = {"order": "runs against the depth", "scale": "about 0.49 times the depth's", "same": None}[kind]
    if want is None:
        assert said == []
    else:
        assert len(said) == 1 and want in said[0] and str(g) in said[0]


@pytest.mark.parametrize("unknown,depth_lo", [(0.0, 7.0), (0.0, 0.0), (np.inf, 7.0), (np.nan, 7.0)])
def test_a_float_ground_truth_with_0_for_unknown_is_said_to_be_scored(tmp_path, enhancer, caplog, unknown, depth_lo):
    """Middlebury-style PFM disparity (7..60, unknown pixels): inf and NaN are "not measured", which
    --gt-measured leaves out; 0.0 is a value (disparity 0), clipped to the range's LO and scored, which
    one warning says, whether the range starts above 0 (0.0 clipped to LO, code 1) or at 0 (where the
    depth holds 0.0 itself: code 1 too)."""
    from test_float_depth import write_pfm
    from test_formats import write_png_sequence

    colors, _, _ = scene(1)
    disp = disparity(24, 32) * 1.5 + 7  # 7..67
    unknown_px = np.zeros(disp.shape, bool)
    unknown_px[:, :3] = True
    gt = np.where(unknown_px, unknown, disp).astype(np.float32)
    (tmp_path / "d").mkdir()
    (tmp_path / "g").mkdir()
    depth = disp.astype(np.float32).copy()
    depth[8:20, 10:22] = 67  # the near plane 2 px too wide
    depth[0, -1] = depth_lo  # the first frame's range: depth_lo..67
    write_pfm(tmp_path / "d" / "0000.pfm", depth)
    write_pfm(tmp_path / "g" / "0000.pfm", gt)
    rgb = write_png_sequence(tmp_path / "rgb", [c[:24, :32] for c in colors], "{:04d}.png")
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        enhance_file(rgb, tmp_path / "d", tmp_path / "o.png", gt_path=tmp_path / "g",
                     report_path=tmp_path / "r.json", enhancer=enhancer, gt_measured=True)
    said = [r.getMessage() for r in caplog.records if "are 0.0" in r.getMessage()]
    if unknown == 0.0:
        assert len(said) == 1 and "72 ground-truth values are 0.0" in said[0] and "gt_measured=True" in said[0]
        assert "(disparity 0, the farthest; code 1)" in said[0]
    else:
        assert said == []
