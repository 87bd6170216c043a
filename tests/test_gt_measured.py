"""--gt-measured (``enhance_file(gt_measured=True)``): the per-frame report scores only the pixels
where the ground truth is not 0. Stereo ground truth leaves pixels unknown: KITTI's 16-bit disparity
PNG (value / 256) is sparse (0 = no measurement, most of the frame), Middlebury's PFM has ``inf``
(code 0 after the float map). Scored as depth 0, a filled hole there counted as an error: on a
KITTI-like frame, 28.3 dB every pixel against 41.9 dB over the measured ones. The expected values are
NumPy's over ``gt != 0`` of the files written, not the report's own code."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest


def _pair(w: int = 64, h: int = 48):
    """KITTI-like: 16-bit disparity x 256, a near box (20 px) before a far wall (5 px), box red on gray;
    its colour edge 2 px right of the depth edge, so the model moves values; the ground truth the exact
    map with 70 % of its pixels 0 (sparse), the input the map with the box 2 px too wide and a few holes."""
    yy, xx = np.mgrid[:h, :w]
    box = (xx >= 16) & (xx < 36) & (yy >= 12) & (yy < 36)
    gt = np.where(box, 20 * 256, 5 * 256).astype(np.uint16)
    color = np.where(box[..., None], np.array([200, 40, 30]), np.array([110, 110, 110])).astype(np.uint8)
    fat = (xx >= 16) & (xx < 38) & (yy >= 12) & (yy < 36)
    depth = np.where(fat, 20 * 256, 5 * 256).astype(np.uint16)
    depth[5, 50] = depth[40, 8] = 0
    sparse = gt.copy()
    sparse[np.random.default_rng(3).random(gt.shape) > 0.3] = 0
    return np.ascontiguousarray(color), depth, sparse


def _psnr(a: np.ndarray, g: np.ndarray, m: np.ndarray) -> float:
    e = np.mean((a[m].astype(np.float64) - g[m].astype(np.float64)) ** 2)
    return math.inf if e == 0 else 10 * math.log10(65535.0 ** 2 / e)


def test_report_scores_only_measured_ground_truth_pixels():
    from igde_stream.stream.report import PsnrReport

    gt = np.array([[0, 100], [200, 0]], np.uint16)
    inp = np.array([[0, 110], [200, 50]], np.uint16)
    out = np.array([[40, 104], [197, 60]], np.uint16)
    with PsnrReport(65535.0, measured_only=True) as r:
        row = r.add(0, 0.0, out, inp, gt, 0.0)
        # by hand: measured pixels 100 and 200, errors 4 and -3 -> MSE 12.5; input 10 and 0 -> 50
        assert row.mse == pytest.approx(12.5) and row.input_mse == pytest.approx(50.0)
        assert row.psnr_t == pytest.approx(10 * math.log10(65535.0 ** 2 / 9))   # the 200 the input had right
        assert row.psnr_f == pytest.approx(10 * math.log10(65535.0 ** 2 / 16))  # the 100 it had wrong
        assert r.summary()["gt_measured_only"] is True
    with PsnrReport(65535.0) as r:  # the default: every pixel, ground-truth 0 too
        row = r.add(0, 0.0, out, inp, gt, 0.0)
        assert row.mse == pytest.approx((40 ** 2 + 16 + 9 + 60 ** 2) / 4)
        assert r.gt_unmeasured == 0.5 and r.summary()["gt_measured_only"] is False


def test_a_ground_truth_frame_with_no_measured_pixel_is_left_out_of_min_and_median():
    from igde_stream.stream.report import PsnrReport

    gt = np.array([[0, 100]], np.uint16)
    with PsnrReport(65535.0, measured_only=True) as r:
        r.add(0, 0.0, np.array([[5, 110]], np.uint16), gt, gt, 0.0)
        r.add(1, 0.04, np.array([[5, 110]], np.uint16), gt, np.zeros_like(gt), 0.04)
        s = r.summary()
    assert s["min_psnr"] == s["max_psnr"] == pytest.approx(10 * math.log10(65535.0 ** 2 / 100))
    assert s["mean_psnr"] == pytest.approx(s["min_psnr"])


def test_the_command_scores_kitti_sparse_ground_truth_on_its_measured_pixels(tmp_path, capsys):
    import cv2

    from igde_stream.cli import main

    color, depth, gt = _pair()
    for d in ("rgb", "depth", "gt"):
        (tmp_path / d).mkdir()
    for k in range(2):
        cv2.imwrite(str(tmp_path / "rgb" / f"{k:06d}.png"), color[..., ::-1])
        cv2.imwrite(str(tmp_path / "depth" / f"{k:06d}.png"), depth)
        cv2.imwrite(str(tmp_path / "gt" / f"{k:06d}.png"), gt)
    args = [str(tmp_path / "rgb"), str(tmp_path / "depth"), "--backend", "onnxruntime", "--threads", "1",
            "--gt", str(tmp_path / "gt")]
    assert main([*args, "-o", str(tmp_path / "all" / "%06d.png"), "--report", str(tmp_path / "all.json")]) == 0
    said = [x for x in capsys.readouterr().err.splitlines() if "scored as depth 0" in x]
    assert len(said) == 1 and said[0].endswith("% of the first ground-truth frame compared is 0 (not measured: a "
                                               "stereo or sparse ground truth's unknown pixels) and scored as depth "
                                               "0; --gt-measured leaves them out")
    assert f"{100 * np.mean(gt == 0):.1f} %" in said[0]
    assert main([*args, "-o", str(tmp_path / "m" / "%06d.png"), "--report", str(tmp_path / "m.json"),
                 "--gt-measured", "-q"]) == 0
    every, measured = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("all", "m"))
    known = gt != 0
    for k in range(2):
        out = cv2.imread(str(tmp_path / "m" / f"{k:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert not np.array_equal(out, depth)  # the model changed the frame: the check has something to score
        row = measured["frames"][k]
        assert row["psnr"] == pytest.approx(_psnr(out, gt, known), abs=1e-9)
        assert row["input_psnr"] == pytest.approx(_psnr(depth, gt, known), abs=1e-9)
        assert every["frames"][k]["psnr"] == pytest.approx(_psnr(out, gt, np.ones_like(known)), abs=1e-9)
    assert measured["summary"]["gt_measured_only"] is True and every["summary"]["gt_measured_only"] is False
    assert measured["summary"]["mean_psnr"] > every["summary"]["mean_psnr"] + 5


def test_gt_measured_without_ground_truth_is_one_line(tmp_path, capsys):
    from igde_stream.cli import main

    assert main(["a.png", "b.png", "-o", str(tmp_path / "o.mkv"), "--gt-measured"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["igde-stream: error: --gt-measured needs the ground-truth depth (--gt)"]
    assert not (tmp_path / "o.mkv").exists()
