"""``igde-stream batch --gt-measured``: a clip with a ground truth is scored only where it is not 0,
as ``igde-stream --gt-measured`` scores it; a clip without one runs as it would without the option.
Expected figures from NumPy on the written output and the ground truth."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np

from conftest import read_video, scene, write_video
from igde_stream.cli import main


def _psnr(outs, gts, keep):
    """PSNR of the mean over frames of each frame's MSE over its ``keep`` pixels (peak 255)."""
    mses = [np.mean((o.astype(np.float64) - g.astype(np.float64))[k] ** 2) for o, g, k in zip(outs, gts, keep)]
    return 10 * np.log10(255.0 ** 2 / np.mean(mses))


def test_batch_scores_the_measured_ground_truth_pixels(tmp_path):
    colors, depths, gts = scene(4, (64, 48), 8, seed=5)
    gts = [g.copy() for g in gts]
    for g in gts:
        g[:, :20] = 0  # a stereo ground truth's unknown band: 31 % of each frame
    for name, frames, fmt in (("c.mkv", colors, "rgb24"), ("d.mkv", depths, "gray"), ("g.mkv", gts, "gray")):
        write_video(tmp_path / name, frames, fmt=fmt, codec="ffv1", rate=Fraction(25))
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("color,depth,gt,output\nc.mkv,d.mkv,g.mkv,out/a.mkv\nc.mkv,d.mkv,,out/b.mkv\n")
    summary = tmp_path / "s.json"
    assert main(["batch", str(jobs), "--jobs", "1", "--model", "igde-small", "--backend", "onnxruntime",
                 "--gt-measured", "--summary", str(summary), "-q"]) == 0
    rows = {r["clip"]: r for r in json.loads(summary.read_text())["rows"]}
    assert rows["out/b.mkv"]["status"] == "done" and rows["out/b.mkv"]["mean_psnr"] is None
    outs = read_video(tmp_path / "out" / "a.mkv")[0]
    measured = _psnr(outs, gts, [g != 0 for g in gts])
    every = _psnr(outs, gts, [np.ones(g.shape, bool) for g in gts])
    assert abs(measured - every) > 3  # the unknown band (0) would dominate every pixel's figure
    assert abs(rows["out/a.mkv"]["mean_psnr"] - measured) < 1e-6
