"""``igde-stream views quality --gt-measured``: the reference views come from the ground truth, and
a reference view pixel is only as sure as the ground-truth pixel it shows; with the option every
figure counts only the view pixels whose reference shows a measured (not 0) ground-truth pixel, as
the main command's --gt-measured scores only those depth pixels.

The case, worked by hand: ground truth 255 (nearest) everywhere but a block R of 0 (unmeasured, read
as the farthest depth); --zero-parallax 1 keeps depth 255 in place, so every measured pixel stays
where it is in every view and, being the nearest, is never covered. The compared depth is 255
everywhere (R filled, as a hole fill would): its views are the colour itself. So on the measured
pixels its views equal the reference exactly (PSNR inf), while in R the reference shows R's colour
moved by t * baseline (0 - 1) = +-2 px, or a disocclusion hole filled from the far side (R): the
all-pixel PSNR is finite, and the share of reference view pixels showing a measured source is
1 - |R| / (H W)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import write_video

from igde_stream import views_cli

H, W = 24, 40
R = (slice(8, 16), slice(12, 24))  # 8 x 12 unmeasured pixels


def _inputs(tmp_path, frames: int = 2):
    rng = np.random.default_rng(3)
    colors = [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(frames)]
    gt = np.full((H, W), 255, np.uint8)
    gt[R] = 0
    full = np.full((H, W), 255, np.uint8)
    return (write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1"),
            write_video(tmp_path / "g.mkv", [gt] * frames, fmt="gray"),
            write_video(tmp_path / "d.mkv", [full] * frames, fmt="gray"))


def _quality(tmp_path, c, g, d, *extra):
    report = tmp_path / "r.json"
    assert views_cli.main(["quality", str(c), "--gt", str(g), "--depth", f"filled={d}", "--views", "2",
                           "--baseline", "4", "--zero-parallax", "1", "--report", str(report), "-y", "-q",
                           *extra]) == 0
    return json.loads(report.read_text(encoding="utf-8")), report.with_suffix(".md").read_text(encoding="utf-8")


def test_measured_pixels_only_scores_the_views_where_the_ground_truth_is_known(tmp_path):
    c, g, d = _inputs(tmp_path)
    every, _ = _quality(tmp_path, c, g, d)
    measured, md = _quality(tmp_path, c, g, d, "--gt-measured")
    assert "gt_measured_only" not in every
    assert math.isfinite(every["depths"]["filled"]["mean"]["psnr"])  # R's pixels differ
    m = measured["depths"]["filled"]
    assert measured["gt_measured_only"] is True
    assert m["mean"]["psnr"] is None and all(r["psnr"] is None for r in m["per_view"])  # inf: identical there
    # SSIM's 11x11 windows beside R still hold R's pixels: above the all-pixel figure, below 1
    assert every["depths"]["filled"]["mean"]["ssim"] < m["mean"]["ssim"] < 1
    # the all-pixel figure is still there, and is the figure without the option
    assert m["mean"]["psnr_all"] == pytest.approx(every["depths"]["filled"]["mean"]["psnr"])
    assert measured["measured_share"] == pytest.approx(1 - 8 * 12 / (H * W))
    assert measured["frames_without_measured_gt"] == []
    assert "--gt-measured" in md and f"{100 * (1 - 96 / (H * W)):.1f} %" in md


def test_a_frame_with_no_measured_pixel_is_left_out_and_a_clip_of_them_refused(tmp_path, capsys):
    rng = np.random.default_rng(5)
    colors = [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(2)]
    gt = np.full((H, W), 255, np.uint8)
    gt[R] = 0
    zero = np.zeros((H, W), np.uint8)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    g = write_video(tmp_path / "g.mkv", [zero, gt], fmt="gray")
    d = write_video(tmp_path / "d.mkv", [np.full((H, W), 255, np.uint8)] * 2, fmt="gray")
    rep, md = _quality(tmp_path, c, g, d, "--gt-measured")
    assert rep["frames"] == 1 and rep["frames_without_measured_gt"] == [0]
    assert rep["depths"]["filled"]["mean"]["psnr"] is None  # frame 1 alone: inf, not nan from frame 0
    assert "1 frames with no measured pixel left out" in md
    report = tmp_path / "z.json"
    capsys.readouterr()
    assert views_cli.main(["quality", str(c), "--gt", str(g), "--depth", f"filled={d}", "--views", "2",
                           "--gt-measured", "--max-frames", "1", "--report", str(report)]) == 2
    err = capsys.readouterr().err
    assert "no measured ground-truth pixel" in err and "--gt-measured" in err and len(err.strip().splitlines()) == 1
    assert not report.exists()


def test_a_float_ground_truths_nan_and_inf_are_the_unmeasured_pixels(tmp_path):
    c, _, d = _inputs(tmp_path)
    gt = np.full((2, H, W), 1.0, np.float32)
    gt[:, 8:16, 12:18] = np.nan
    gt[:, 8:16, 18:24] = np.inf
    np.save(tmp_path / "g.npy", gt)
    rep, _ = _quality(tmp_path, c, tmp_path / "g.npy", d, "--gt-measured", "--float-range", "0:1", "--fps", "30000/1001")
    assert rep["depths"]["filled"]["mean"]["psnr"] is None
    assert rep["measured_share"] == pytest.approx(1 - 8 * 12 / (H * W))
