"""The mean over views of the view-quality tables is the PSNR of the views' mean MSE, not the mean of
their dB figures (which reads higher where the views differ, e.g. 48.89 against 47.42 dB on an
ICL-NUIM clip with views of 44.7-55.6 dB); the tables say which, since a reader who averages the
per-view column gets the other figure."""

from __future__ import annotations

import json

import cv2
import numpy as np


def _clip(root, n=2):
    rng = np.random.default_rng(1)
    for sub in ("color", "gt", "depth"):
        (root / sub).mkdir()
    for k in range(n):
        gt = np.full((16, 24), 60, np.uint8)
        gt[4:12, 8 + k:16 + k] = 200
        depth = gt.copy()
        depth[4:12, 5 + k:8 + k] = 200  # the near square's left edge 3 px too wide
        cv2.imwrite(str(root / "color" / f"{k}.png"), rng.integers(0, 256, (16, 24, 3)).astype(np.uint8))
        cv2.imwrite(str(root / "gt" / f"{k}.png"), gt)
        cv2.imwrite(str(root / "depth" / f"{k}.png"), depth)


def test_the_views_mean_is_the_psnr_of_the_mean_mse_and_the_tables_say_so(tmp_path, capsys):
    from igde_stream.cli import main
    from igde_stream.eval_report import views_markdown_table

    _clip(tmp_path)
    report = tmp_path / "vq.json"
    assert main(["views", "quality", str(tmp_path / "color"), "--fps", "25", "--gt", str(tmp_path / "gt"),
                 "--depth", f"d={tmp_path / 'depth'}", "--views", "4", "--report", str(report), "-q"]) == 0
    d = json.loads(report.read_text())["depths"]["d"]
    mses = [v["mse"] for v in d["per_view"]]
    assert d["mean"]["psnr"] == 10 * np.log10(255 ** 2 / np.mean(mses))
    assert abs(d["mean"]["psnr"] - np.mean([10 * np.log10(255 ** 2 / m) for m in mses])) > 0.1
    said = "PSNRs from the mean MSE over the views (not a mean of their dB)"
    assert said in capsys.readouterr().out and said in (tmp_path / "vq.md").read_text()
    table = views_markdown_table({"n_views": 4, "baseline": 32, "zero_parallax": 0.5, "stride": 1,
                                  "band_radius": 8, "rows": []})
    assert "mean over views (PSNRs from the mean MSE over the views, not a mean of their dB)" in table
