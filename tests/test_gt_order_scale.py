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
