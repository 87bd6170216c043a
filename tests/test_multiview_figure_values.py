"""``multiview_figure.boundary_figure`` by hand: where its patch lies and what each panel shows.

The renderer is replaced by a stand-in whose view is the depth map itself repeated to RGB (so a view's
error is the depth's, placed where it was put), and matplotlib's ``imshow`` / ``set_title`` /
``suptitle`` are recorded with the panel each went to (row, column). Expected values by hand from
the docstring and docs/multiview.md: a ``crop`` x ``crop`` patch (128 by default: "the worst 128 x 128
patch") centred where the first depth map's view is worst, kept inside the frame; the reference
view and the ground truth's normalised depth (gray, 0..1) in the first column, each depth map's view
above its |view - reference| (mean of the channels) in a column of its own, each with its PSNR over
the whole view; view k of N at t = k / (N - 1) - 1/2."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from igde_stream import multiview_figure  # noqa: E402

H, W = 160, 200


@pytest.fixture
def drawn(monkeypatch):
    """Record the figure's panels: {(row, col): {"image", "kwargs", "title"}}, "suptitle", "axes",
    and the positions each render was asked for."""
    rec: dict = {"panels": {}, "positions": []}

    def where(ax):
        spec = ax.get_subplotspec()
        return spec.rowspan.start, spec.colspan.start

    def imshow(self, x, **kw):
        rec["panels"].setdefault(where(self), {})["image"] = np.array(x)
        rec["panels"][where(self)]["kwargs"] = kw

    def set_title(self, label, **kw):
        rec["panels"].setdefault(where(self), {})["title"] = label
        rec["panels"][where(self)]["title_size"] = kw.get("fontsize")

    def suptitle(self, t, **kw):
        rec["suptitle"] = t
        rec["axes"] = len(self.axes)

    def warp(color, depth, cfg, pos):
        rec["positions"].append(np.asarray(pos, float).tolist())
        return SimpleNamespace(views=[np.repeat(np.asarray(depth)[..., None], 3, axis=2)])

    monkeypatch.setattr(Axes, "imshow", imshow)
    monkeypatch.setattr(Axes, "set_title", set_title)
    monkeypatch.setattr(Figure, "suptitle", suptitle)
    monkeypatch.setattr(multiview_figure, "warp_views", warp)
    return rec


def _depths():
    """Ground truth: a ramp 30..149 across; 'enhanced' 40 above it on the 128 x 128 block at rows
    20..147, columns 50..177; 'degraded' 60 above it on the 40 x 40 block at the top-left corner."""
    gt = np.repeat((30 + np.arange(W) * 120 // W).astype(np.uint8)[None, :], H, axis=0)
    enhanced, degraded = gt.copy(), gt.copy()
    enhanced[20:148, 50:178] += 40
    degraded[:40, :40] += 60
    return gt, {"enhanced": enhanced, "degraded": degraded}


def test_the_patch_is_the_worst_128_square_of_the_first_depths_view(drawn, tmp_path):
    gt, depths = _depths()
    color = np.zeros((H, W, 3), np.uint8)
    y0, x0 = multiview_figure.boundary_figure(color, gt, depths, str(tmp_path / "f.png"), view=2)
    assert (y0, x0) == (20, 50)  # the whole 128 x 128 error block of 'enhanced' (the first map)
    assert (tmp_path / "f.png").is_file()
    t = 2 / 7 - 0.5  # view 2 of 8
    assert drawn["positions"] == [[t]] * 3
    assert drawn["suptitle"] == "view 2 of 8 (t = -0.214), patch at y=20, x=50"
    assert drawn["axes"] == 6  # 2 rows: reference and GT depth, then each depth map's view and error
    p = drawn["panels"]
    assert sorted(p) == [(r, c) for r in (0, 1) for c in (0, 1, 2)]
    sl = (slice(20, 148), slice(50, 178))
    rgb = lambda d: np.repeat(d[..., None], 3, axis=2)  # noqa: E731
    np.testing.assert_array_equal(p[0, 0]["image"], rgb(gt)[sl])
    np.testing.assert_allclose(p[1, 0]["image"], gt[sl] / 255.0, rtol=0, atol=1e-6)  # 8-bit depth / 255
    lo, hi = gt[sl].min() / 255.0, gt[sl].max() / 255.0  # stretched over the patch's own range
    assert p[1, 0]["kwargs"] == {"cmap": "gray", "vmin": pytest.approx(lo), "vmax": pytest.approx(hi)} and lo < hi
    for col, name in ((1, "enhanced"), (2, "degraded")):
        np.testing.assert_array_equal(p[0, col]["image"], rgb(depths[name])[sl])
        err = np.abs(depths[name].astype(np.float32) - gt.astype(np.float32))
        np.testing.assert_array_equal(p[1, col]["image"], err[sl])
        assert p[1, col]["title"] == f"|{name} - reference|"
    np.testing.assert_array_equal(p[1, 1]["image"], np.full((128, 128), 40.0))
    # one error scale for every depth map, from 0, wide enough to tell errors apart
    scales = {(p[1, c]["kwargs"]["vmin"], p[1, c]["kwargs"]["vmax"]) for c in (1, 2)}
    assert len(scales) == 1 and next(iter(scales))[0] == 0 and next(iter(scales))[1] > 0
    # PSNR over the whole view: MSE = 40^2 x 128^2 / (160 x 200) = 819.2; 60^2 x 40^2 / 32000 = 180
    assert p[0, 0]["title"] == "view from GT depth (reference)" and p[1, 0]["title"] == (
        f"GT depth (input camera)\nnear = white, {lo:.3g}..{hi:.3g} of 0..1")
    assert p[0, 1]["title"] == f"view from enhanced depth\nPSNR {10 * math.log10(255 ** 2 / 819.2):.2f} dB (whole view)"
    assert p[0, 2]["title"] == f"view from degraded depth\nPSNR {10 * math.log10(255 ** 2 / 180):.2f} dB (whole view)"
    assert "19.00 dB" in p[0, 1]["title"] and "25.58 dB" in p[0, 2]["title"]
    assert all(panel["title_size"] > 0 for panel in p.values())  # no title drawn 0 points high


@pytest.mark.parametrize("corner, want", [("top-left", (0, 0)), ("bottom-right", (H - 32, W - 32))])
def test_a_patch_at_the_frames_edge_stays_inside_it(drawn, tmp_path, corner, want):
    """Worst at a corner pixel: the 32 x 32 patch is as near it as the frame allows."""
    gt = np.full((H, W), 100, np.uint8)
    d = gt.copy()
    d[(0, 0) if corner == "top-left" else (H - 1, W - 1)] = 200
    yx = multiview_figure.boundary_figure(np.zeros((H, W, 3), np.uint8), gt, {"d": d}, str(tmp_path / "f.png"),
                                          crop=32)
    assert yx == want and drawn["panels"][0, 1]["image"].shape == (32, 32, 3)
    assert drawn["axes"] == 4


def test_a_patch_larger_than_the_frame_is_cut_to_its_shorter_side(drawn, tmp_path):
    """crop 500 on a 160 x 200 frame: a 160 x 160 patch, on the 160 columns 20..179 that are wrong."""
    gt = np.full((H, W), 100, np.uint8)
    d = gt.copy()
    d[:, 20:180] = 120
    yx = multiview_figure.boundary_figure(np.zeros((H, W, 3), np.uint8), gt, {"d": d}, str(tmp_path / "f.png"),
                                          crop=500)
    assert yx == (0, 20)
    assert drawn["panels"][0, 0]["image"].shape == (160, 160, 3) and drawn["panels"][1, 1]["image"].shape == (160, 160)
