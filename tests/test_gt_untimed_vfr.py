"""A ground truth with no times of its own (an image sequence, raw frames, a NumPy clip) beside a
depth video at a variable frame rate: its frame k is compared with depth frame k (the report's
``index``), not with the depth frame nearest k / fps, which at irregular times is another frame."""

from __future__ import annotations

import json
from fractions import Fraction

import cv2
import numpy as np
import pytest
from conftest import scene, write_video
from test_formats import write_png_sequence

from igde_stream.stream import enhance_file

# a phone's irregular frame times (ms), with 25 fps declared: frames 3, 6, 9 and 10 lie half a frame
# or more off k / 25, frame 10 (433 ms) nearest 11 / 25 (440 ms)
TIMES_MS = [0, 40, 80, 100, 160, 200, 233, 300, 340, 400, 433, 500]


def read_all(path):
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray() for f in c.decode(video=0)]


def psnr(a, b, peak=65535.0):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


def test_untimed_gt_beside_a_variable_rate_depth_meets_its_own_frame_numbers(tmp_path, enhancer):
    n = len(TIMES_MS)
    colors, depths, _ = scene(n, bits=16)
    # a ground truth whose frames all differ: frame k is depth frame k's own, plus (k + 1) x 300 codes,
    # so a frame compared with its neighbour's ground truth is off by 300 more
    gts = [np.clip(d.astype(np.int64) + 300 * (k + 1), 0, 65535).astype(np.uint16) for k, d in enumerate(depths)]
    times = [t / 1000 for t in TIMES_MS]
    kw = dict(rate=Fraction(25), time_base=Fraction(1, 1000), times=times)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", **kw)
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray16le", **kw)
    g = write_png_sequence(tmp_path / "gt", gts, "{:04d}.png")
    assert all(cv2.imread(str(g / f"{k:04d}.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16 for k in range(n))
    out, rep = tmp_path / "o.mkv", tmp_path / "r.json"
    enhance_file(c, d, out, gt_path=g, report_path=rep, enhancer=enhancer)
    report = json.loads(rep.read_text())
    written = read_all(out)
    assert len(written) == n
    assert report["summary"]["matched_frames"] == n and report["summary"]["unmatched_frames"] == 0
    rows = report["frames"]
    assert [r["index"] for r in rows] == list(range(n))
    # every row: NumPy's PSNR of written frame k against ground-truth image k, and the input's
    for k, r in enumerate(rows):
        assert r["psnr"] == pytest.approx(psnr(written[k], gts[k]), abs=1e-6), k
        assert r["input_psnr"] == pytest.approx(psnr(depths[k], gts[k]), abs=1e-6), k
        assert r["gt_pts_time"] == pytest.approx(k / 25)
        assert r["pts_time"] == pytest.approx(times[k])


def test_untimed_gt_beside_a_constant_rate_depth_is_paired_as_before(tmp_path, enhancer):
    n = 5
    colors, depths, gts = scene(n, bits=16)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(25))
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray16le", rate=Fraction(25))
    g = write_png_sequence(tmp_path / "gt", gts[:3], "{:04d}.png")  # shorter: frames 3, 4 without ground truth
    enhance_file(c, d, tmp_path / "o.mkv", gt_path=g, report_path=tmp_path / "r.json", enhancer=enhancer)
    s = json.loads((tmp_path / "r.json").read_text())["summary"]
    assert s["matched_frames"] == 3 and s["output_frames_without_gt"] == [3, 4] and s["gt_frames_without_output"] == []
