import dataclasses
import json
import math

import numpy as np
import pytest

from igde_stream.data import SceneConfig, make_sequence
from igde_stream.evaluation import (
    evaluate_views, identity_method, markdown_table, model_method, standard_evaluation, write_report,
)
from igde_stream.models import create_model

VIEW_KEYS = {"method", "dataset", "frames", "views", "psnr", "psnr_band", "ssim", "psnr_all", "measured_only",
             "per_view_psnr"}


@pytest.fixture(scope="module")
def seqs():
    cfg = SceneConfig(width=64, height=48, frames=3, textures="procedural")
    return [make_sequence(s, cfg) for s in (2_000_000, 2_000_001)]


def test_view_rows(seqs):
    methods = {"input": identity_method, "tiny": model_method(create_model("igde-tiny").eval())}
    rows = evaluate_views(methods, seqs, dataset="toy", n_views=3, stride=2)
    assert [r["method"] for r in rows] == ["input", "tiny"]
    for r in rows:
        assert set(r) == VIEW_KEYS
        assert r["frames"] == 4 and r["views"] == 3 and len(r["per_view_psnr"]) == 3  # frames 0, 2 of each
        assert math.isfinite(r["psnr"]) and 0 < r["ssim"] <= 1
        assert r["psnr_all"] == r["psnr"] and r["measured_only"] is False  # rendered data: every pixel measured


def test_view_rows_of_a_ground_truth_with_unmeasured_pixels(seqs):
    """A sequence whose ground truth has unmeasured pixels (a real photograph) is scored on the view
    pixels that show measured ones."""
    seq = seqs[0]
    valid = np.ones(seq.gt.shape, bool)
    valid[:, 10:30, 10:30] = False
    wrong = seq.gt.copy()
    wrong[:, 10:30, 10:30] = 255 - wrong[:, 10:30, 10:30]  # wrong there only
    masked = dataclasses.replace(seq, depth=wrong, valid=valid)
    # most of the damage sits where the reference shows the unmeasured pixels themselves
    (row,) = evaluate_views({"input": identity_method}, [masked], n_views=3, stride=1)
    assert row["measured_only"] is True and row["psnr"] > row["psnr_all"]


def test_ground_truth_depth_gives_identical_views(seqs):
    exact = [dataclasses.replace(s, depth=s.gt.copy()) for s in seqs]
    (row,) = evaluate_views({"input": identity_method}, exact, n_views=4, stride=1)
    assert row["psnr"] == math.inf and row["ssim"] == pytest.approx(1.0)


def test_standard_evaluation_views_leave_main_rows_alone(tmp_path):
    kw = dict(sequences=1, frames=2, size=(64, 48), icl=None, guided=False, progress=False)
    base, _ = standard_evaluation([], **kw)
    rows, meta = standard_evaluation([], views=2, view_stride=1, **kw)
    def timeless(rs):
        return [{k: v for k, v in r.items() if k != "ms_per_frame"} for r in rs]

    assert timeless(rows) == timeless(base)
    vq = meta["view_quality"]
    assert vq["n_views"] == 2 and [r["method"] for r in vq["rows"]] == ["degraded input"]
    paths = write_report(tmp_path, rows, meta)
    md = paths["markdown"].read_text()
    assert md.startswith(markdown_table(rows)) and "## View quality" in md and "| degraded input | 2 | 2 |" in md
    assert json.loads(paths["json"].read_text())["meta"]["view_quality"]["rows"][0]["views"] == 2
    _, meta0 = standard_evaluation([], **kw)
    assert "view_quality" not in meta0
