"""Value tests for the semantic bugs that a seeded-bug review (results/mutation.md, "Seeded-bug review
59") planted by hand and the suite let through: colour images read by OpenCV kept in its BGR order
(the ICL-NUIM loader, the photo pool), the extras' Gaussian noise not scaled to 16-bit depth, the
per-frame report's frame numbers and the ground truth's reach, and the evaluation on 16-bit depth.
Expected values come from FFmpeg (images it draws in pure colours), scikit-image, the documented
definitions written out by hand, or from counting frames and milliseconds."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from igde_stream.data.degrade import DegradeConfig, Degrader

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _ffmpeg_png(path: Path, colour: str, size: str = "16x12") -> Path:
    """A PNG of one colour drawn by FFmpeg's lavfi ``color`` source straight in rgb24 (no YUV on the way)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c={colour}:s={size},format=rgb24",
                    "-frames:v", "1", "-pix_fmt", "rgb24", str(path)], check=True)
    return path


def test_icl_nuim_colour_is_rgb(tmp_path):
    # docs: Sequence.color is RGB; a pure red PNG (FFmpeg's "red" = 255, 0, 0) must read as red, not blue
    from igde_stream.real_frames import icl_nuim_sequence

    _ffmpeg_png(tmp_path / "color" / "0.png", "red")
    _ffmpeg_png(tmp_path / "color" / "1.png", "blue")
    (tmp_path / "depth").mkdir()
    for k in range(2):
        cv2.imwrite(str(tmp_path / "depth" / f"{k}.png"), np.full((12, 16), 10000, np.uint16))  # 2 m
    seq = icl_nuim_sequence(tmp_path, DegradeConfig(min_width=0, max_width=0))
    assert seq.color.shape == (2, 12, 16, 3)
    assert (seq.color[0] == RED).all() and (seq.color[1] == BLUE).all()


def test_the_photo_pools_folder_images_are_rgb(tmp_path):
    pytest.importorskip("skimage")
    from igde_stream.data.photo_scenes import _POOLS, photo_pool

    _ffmpeg_png(tmp_path / "ph" / "a.png", "red", "40x30")
    _ffmpeg_png(tmp_path / "ph" / "b.png", "lime", "40x30")  # FFmpeg's lime is 0, 255, 0
    _ffmpeg_png(tmp_path / "ph" / "c.png", "blue", "40x30")
    try:
        pool = photo_pool(tmp_path / "ph")
        mine = [im for im in pool if im.shape == (30, 40, 3)]  # scikit-image's pictures are larger
        assert [tuple(int(v) for v in im[0, 0]) for im in mine] == [RED, GREEN, BLUE]
        assert all((im == im[0, 0]).all() for im in mine)
    finally:
        _POOLS.clear()


@pytest.mark.parametrize("dtype,peak", [(np.uint8, 255), (np.uint16, 65535)])
def test_noise_std_is_in_8_bit_levels_at_either_depth(dtype, peak):
    # DegradeConfig: "noise_std (Gaussian noise, 8-bit levels)", like every depth amount there: on
    # 16-bit depth 2 levels are 2 x 65535 / 255 = 514 units. A flat map far from 0 and the peak (no
    # clipping); 256 x 256 samples put the sample std within 1 % of the true one (3 sigma: 0.45 %)
    base = np.full((256, 256), peak // 2, dtype)
    out, _ = Degrader(DegradeConfig(min_width=0, max_width=0, noise_std=2.0), seed=3, shape=base.shape).apply(base)
    assert out.dtype == dtype
    diff = out.astype(np.float64) - base
    want = 2.0 * peak / 255.0
    assert abs(diff.mean()) < 0.02 * want
    # 8-bit rounding adds 1/12 to the variance (uniform quantisation), negligible at 16 bits
    expected = np.sqrt(want**2 + (1 / 12 if dtype == np.uint8 else 0.0))
    assert diff.std() == pytest.approx(expected, rel=0.01)


def test_report_rows_count_output_frames_from_0_at_their_times(make_clip, enhancer, tmp_path):
    # docs/stream.md: "one row per output frame: index, pts_time, ..."; the output frames are numbered
    # from 0 as every other frame number the tool prints, and row k is output frame k at k / rate
    # (30000/1001 fps in Matroska's milliseconds: 0, 33, 67, 100 ms)
    from igde_stream.stream import enhance_file

    clip = make_clip(n=4)
    report = tmp_path / "r.json"
    enhance_file(clip["color"], clip["depth"], clip["out"], gt_path=clip["gt"], report_path=report,
                 enhancer=enhancer)
    doc = json.loads(report.read_text())
    rows = doc["frames"]
    assert [r["index"] for r in rows] == [0, 1, 2, 3]
    assert [r["pts_time"] for r in rows] == [round(k * 1001 / 30) / 1000 for k in range(4)]
    assert {w["index"] for w in doc["summary"]["worst_frames"]} <= {0, 1, 2, 3}


def test_the_evaluation_scores_16_bit_depth_on_its_own_peak():
    # evaluate_methods scores a 16-bit sequence with peak 65535 (its rows say so); the table's PSNR is
    # that of the frames' pooled MSE (metrics' module docstring) and its SSIM scikit-image's on the
    # 0..65535 range, frame by frame, then averaged
    from skimage.metrics import structural_similarity

    from igde_stream.evaluation import score_frames, summarize

    rng = np.random.default_rng(7)
    gt = [cv2.GaussianBlur(rng.integers(0, 65536, (40, 48)).astype(np.float64), (0, 0), 3) for _ in range(2)]
    gt = [np.clip(g, 0, 65535).astype(np.uint16) for g in gt]
    pred = [np.clip(g + rng.normal(0, 300 * (k + 1), g.shape), 0, 65535).astype(np.uint16) for k, g in enumerate(gt)]
    inp = [g.copy() for g in gt]
    inp[0][:, :10] = 0  # some error pixels for PSNRf
    row = summarize([score_frames(pred, gt, inp, 65535.0)], 65535.0)
    mses = [np.mean((p.astype(np.float64) - g) ** 2) for p, g in zip(pred, gt)]
    assert row["psnr"] == pytest.approx(10 * np.log10(65535.0**2 / np.mean(mses)), abs=1e-9)
    ssims = [structural_similarity(g, p, data_range=65535, gaussian_weights=True, sigma=1.5,
                                   use_sample_covariance=False) for p, g in zip(pred, gt)]
    assert row["ssim"] == pytest.approx(np.mean(ssims), abs=1e-3)
    err = np.mean((pred[0][:, :10].astype(np.float64) - gt[0][:, :10]) ** 2)  # frame 0's error pixels only
    assert row["psnr_f"] == pytest.approx(10 * np.log10(65535.0**2 / err), abs=1e-9)


def test_a_torch_models_method_reads_16_bit_depth_over_65535():
    # model_method: "depth / peak, forward(color, depth), output x peak rounded", the peak 65535 for
    # 16-bit depth as everywhere else; a stand-in network that squares its depth input gives
    # rint(d^2 / 65535), which d / 65536 would miss for most d (50000: 38148 against 38147)
    import torch

    from igde_stream.evaluation import model_method

    class Square(torch.nn.Module):
        def forward(self, color, depth):
            return depth * depth

    d = np.arange(0, 65536, 257, dtype=np.uint16).reshape(1, 16, 16)
    color = np.zeros((1, 16, 16, 3), np.uint8)
    out = model_method(Square())(color, d)
    want = np.rint(d.astype(np.float64) ** 2 / 65535.0)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, want)
    assert model_method(Square())(color, np.full((1, 16, 16), 50000, np.uint16))[0, 0, 0] == 38148


def test_ground_truth_meets_an_output_frame_within_half_a_depth_frame_only(tmp_path, enhancer):
    # docs/stream.md: each output frame meets the ground-truth frame nearest its time "within half a
    # depth frame" (20 ms at 25 fps). Output frames at 0, 40, 80 ms (absolute times); ground truth at
    # 0, 68, 108 ms: output 0 meets gt 0; output 1 has gt 1 28 ms away, out of reach; output 2 meets
    # gt 1 (12 ms); gt 2 is 28 ms from output 2 and meets nothing
    from conftest import scene, write_video

    from igde_stream.stream import enhance_file

    colors, depths, gts = scene(3)
    rate = Fraction(25)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=rate)
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=rate)
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray", rate=rate, time_base=Fraction(1, 1000),
                    times=[0.0, 0.068, 0.108])
    report = tmp_path / "r.json"
    enhance_file(c, d, tmp_path / "o.mkv", gt_path=g, report_path=report, enhancer=enhancer, sync="absolute")
    doc = json.loads(report.read_text())
    assert [r["gt_pts_time"] for r in doc["frames"]] == [0.0, None, 0.068]
    assert [r["mse"] is None for r in doc["frames"]] == [False, True, False]
