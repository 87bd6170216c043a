import dataclasses
import json
import math

import numpy as np
import pytest

from igde_stream.data import SceneConfig, make_sequence
from igde_stream.evaluation import (
    evaluate_views, identity_method, markdown_table, model_method, standard_evaluation, write_report,
)
from igde_stream import metrics
from igde_stream import multiview as mv
from igde_stream.models import create_model
from scenes import square_scene, textured

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


def test_source_names_the_input_pixel_each_view_pixel_shows():
    c = textured(8, 32)
    d = np.full((8, 32), 1.0, np.float32)  # the whole frame moves right by 5; columns 0-4 are border holes
    r = mv.warp_views(c, d, mv.ViewConfig(baseline=10, zero_parallax=0.0), positions=[-0.5], keep_source=True)
    ys, xs = np.mgrid[0:8, 0:32]
    expected = ys * 32 + np.maximum(xs - 5, 0)  # holes filled from column 5, which shows column 0
    np.testing.assert_array_equal(r.source[0], expected)
    np.testing.assert_array_equal(r.views[0], c.reshape(-1, 3)[r.source[0]])
    assert mv.warp_views(c, d, mv.ViewConfig(baseline=10, zero_parallax=0.0), positions=[-0.5]).source is None


def test_view_quality_on_measured_pixels_only():
    """With ``valid``, the figures count the view pixels whose reference shows a measured pixel. The
    expected figures come from another route: a marker image (255 on measured pixels, 0 elsewhere)
    rendered with the ground truth marks those view pixels."""
    c = textured(48, 64, seed=3)
    gt = (square_scene() * 255).astype(np.uint8)
    valid = np.ones(gt.shape, bool)
    valid[16:32, 18:24] = False  # unmeasured: a 6 px band left of the near square, as a stereo occlusion
    dep = gt.copy()
    dep[16:32, 18:24] = gt[20, 30]  # a method that extends the square over the unmeasured band
    dep[40:44, 4:8] = gt[20, 30]  # and errs on measured pixels too
    cfg = mv.ViewConfig(n_views=4, baseline=20)
    q = mv.view_quality(c, gt, {"m": dep}, n_views=4, baseline=20, valid=valid)
    rendered = mv.warp_views(c, gt, cfg)
    ref = rendered.views
    got = mv.warp_views(c, dep, cfg).views
    marker = mv.warp_views(np.repeat(np.where(valid, 255, 0).astype(np.uint8)[..., None], 3, 2), gt, cfg).views[..., 0] == 255
    assert not marker.all() and marker.any()
    for k, row in enumerate(q["depths"]["m"]["per_view"]):
        err = (got[k].astype(float) - ref[k].astype(float)) ** 2
        assert row["mse"] == pytest.approx(err[marker[k]].mean())
        assert row["mse_all"] == pytest.approx(err.mean())
        band = mv.edge_band(rendered.depth[k], radius=8) & marker[k]  # the edge band, measured part
        assert q["band_pixels"][k] == band.sum() and row["mse_band"] == pytest.approx(err[band].mean())
        ssim = np.mean([metrics.ssim(got[k][..., ch], ref[k][..., ch], 255.0, marker[k]) for ch in range(3)])
        assert row["ssim"] == pytest.approx(ssim)
        assert q["measured_share"][k] == pytest.approx(marker[k].mean())
    assert q["depths"]["m"]["mean"]["psnr"] > q["depths"]["m"]["mean"]["psnr_all"]
    plain = mv.view_quality(c, gt, {"m": dep}, n_views=4, baseline=20)
    assert plain["depths"]["m"]["mean"]["mse"] == plain["depths"]["m"]["mean"]["mse_all"] == pytest.approx(
        q["depths"]["m"]["mean"]["mse_all"])
    s = mv.view_quality_sequence(np.stack([c, c]), np.stack([gt, gt]), {"m": np.stack([dep, dep])},
                                 n_views=4, baseline=20, valid=np.stack([valid, valid]))
    assert s["depths"]["m"]["mean"]["mse"] == pytest.approx(q["depths"]["m"]["mean"]["mse"]) and "scored" in s
    with pytest.raises(ValueError):
        mv.view_quality(c, gt, {"m": dep}, valid=valid[1:])
