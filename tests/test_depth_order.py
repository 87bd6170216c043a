"""Depth order: far-high depth (distance maps, 0 = no measurement) is read as inverse depth
``min(1, n / v)``, ``n`` = the far limit / 20, everywhere: by the network, the views, the RGB-D output
and the CLI; and the network's output is turned back into the input's unit.

Expected values come from the formulas written out in each test (or by hand), not from
``depth_order``'s own functions.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from conftest import read_video, scene, write_video
from igde_stream import cli, display
from igde_stream import multiview as mv
from igde_stream.depth_order import ORDERS, denormalize, normalize
from igde_stream.enhancer import Enhancer, EnhancerError


def _inverse(v: np.ndarray, peak: float) -> np.ndarray:
    """The far-high reading, written out: min(1, (peak / 20) / v) for 0 < v <= peak, else 0."""
    n = np.float32(peak / 20)
    x = np.zeros(v.shape, np.float32)
    inside = (v > 0) & (v <= peak)
    x[inside] = np.minimum(n / v[inside].astype(np.float32), np.float32(1))
    return x


def _back(y: np.ndarray, x: np.ndarray, v: np.ndarray, peak: float) -> np.ndarray:
    """The network's output back to distance, written out: the input where y is its own input, else
    round(min(peak, n / y)), 0 for y = 0."""
    n = float(np.float32(peak / 20))
    out = np.zeros(v.shape, np.float64)
    pos = y > 0
    out[pos] = np.minimum(n / y[pos].astype(np.float64), int(peak))
    out = np.rint(out).astype(v.dtype)
    out[y == x] = v[y == x]
    return out


def test_normalise_and_back_by_hand():
    v = np.array([0, 250, 500, 1000, 5000, 6000], np.uint16)
    np.testing.assert_allclose(normalize(v, 5000, "far-high"), [0, 1, 0.5, 0.25, 0.05, 0], rtol=1e-7)
    np.testing.assert_allclose(normalize(v, 5000), [0, 0.05, 0.1, 0.2, 1, 1], rtol=1e-7)
    y = np.array([0, 1, 0.5, 0.1, 0.05], np.float32)
    np.testing.assert_array_equal(denormalize(y, 5000, "far-high", np.uint16), [0, 250, 500, 2500, 5000])
    np.testing.assert_array_equal(denormalize(y, 5000, "near-high", np.uint16), [0, 5000, 2500, 500, 250])
    # every 16-bit distance farther than the near limit comes back exactly from its float32 reading
    every = np.arange(3277, 65536, dtype=np.uint16)
    np.testing.assert_array_equal(denormalize(normalize(every, 65535, "far-high"), 65535, "far-high", np.uint16), every)
    # nearer than the limit the reading is clipped to 1: an unchanged pixel keeps its own value
    v = np.array([100, 200], np.uint16)
    x = normalize(v, 5000, "far-high")
    np.testing.assert_array_equal(x, [1, 1])
    np.testing.assert_array_equal(denormalize(x, 5000, "far-high", np.uint16, v, x), [100, 200])
    y = np.array([1.0, 0.5], np.float32)  # the first pixel unchanged, the second takes 500
    np.testing.assert_array_equal(denormalize(y, 5000, "far-high", np.uint16, v, x), [100, 500])


def test_cli_choices_match_the_module():
    assert cli.DEPTH_ORDERS == ORDERS


def _frame_with_holes(bits: int = 8):
    colors, depths, gts = scene(3, (64, 48), bits, seed=3)
    near = np.stack(depths)
    near[:, 20:24, 30:40] = 0  # holes: no measurement
    return np.stack(colors), near, np.stack(gts)


def _distance_frames(seed: int = 3):
    """conftest's scene (an inflated square edge, holes cut in, its sensor noise taken out) as 16-bit
    distance: v = 250 / x for near-high x = d / 65535 in 0.2..0.8 (312..1250, read with max_depth 5000
    as x again); 0 stays 0."""
    colors, near, gts = _frame_with_holes(16)
    near = np.where(np.abs(near.astype(np.int64) - gts) < 0.05 * 65535, gts, near).astype(np.uint16)
    def dist(d):
        return np.where(d > 0, np.rint(250 / np.maximum(d / 65535, 1e-9)), 0).astype(np.uint16)
    return colors, dist(near), dist(gts)


def test_far_high_enhancer_reads_inverse_depth_and_turns_the_output_back():
    torch = pytest.importorskip("torch")
    from igde_stream.models import load_checkpoint, pretrained_path

    colors, far, _ = _distance_frames()
    far[:, 0, 0] = 6000  # beyond the far limit: passes through
    enh = Enhancer(model="igde-small", backend="torch", device="cpu", max_depth=5000, depth_order="far-high",
                   quiet=True)
    got = enh.enhance(colors, far)
    model = load_checkpoint(pretrained_path("igde-small")).eval()
    x = _inverse(far, 5000)
    with torch.no_grad():
        y = model(torch.from_numpy(colors).permute(0, 3, 1, 2).float() / 255, torch.from_numpy(x)[:, None])[:, 0].numpy()
    expected = _back(y, x, far, 5000)
    expected[:, 0, 0] = 6000
    assert (expected != far).mean() > 0.01  # the model changes pixels here
    # the shipped model reads 0 as a hole: the Enhancer fills its holes on top, from the measured distances
    # (the larger ones being the far layer, which the fill prefers)
    from igde_stream.hole_fill import HoleFill, fill_holes

    shipped = HoleFill(sigma_space=12, stride=1)  # the Enhancer's fill (docs/models.md, "Hole fill")
    expected = np.stack([fill_holes(c, f, e, measured=(f > 0) & (f <= 5000), depth_order="far-high", settings=shipped)
                         for c, f, e in zip(colors, far, expected)])
    np.testing.assert_array_equal(got, expected)


def test_far_high_reading_repairs_a_distance_map():
    """Repair, measured in the input's unit (the exact reading is pinned above; the wrong order's
    cost is measured on ICL-NUIM by tools/eval_distance.py, not on this toy frame)."""
    colors, far, gt = _distance_frames()
    right = Enhancer(model="igde-small", backend="onnxruntime", max_depth=5000, depth_order="far-high", quiet=True)
    out = right.enhance(colors, far)
    e_in, e_out = (float(np.mean((a.astype(np.float64) - gt) ** 2)) for a in (far, out))
    assert e_out < 0.8 * e_in, (e_in, e_out)
    assert (out[far == 0] > 0).mean() > 0.5  # most holes filled, with distances of the frame
    assert set(np.unique(out[far > 0])) <= set(np.unique(far))
    # the holes: the hole fill's colour-guided mean of the measured distances (no input value as such)
    assert far[far > 0].min() <= out[far == 0].min() and out[far == 0].max() <= far[far <= 5000].max()


def test_unknown_order_is_refused():
    with pytest.raises(EnhancerError, match="near-high or far-high"):
        Enhancer(model="igde-small", backend="onnxruntime", depth_order="far", quiet=True)
    with pytest.raises(ValueError, match="near-high or far-high"):
        mv.ViewConfig(depth_order="up")


def test_views_and_rgbd_read_far_high_depth_as_inverse_depth():
    colors, far, _ = _distance_frames()
    c, f = colors[0], far[0]
    x = _inverse(f, 5000)
    a = mv.warp_views(c, x, mv.ViewConfig(4))  # float depth: taken as normalised, larger = nearer
    b = mv.warp_views(c, f, mv.ViewConfig(4, max_depth=5000, depth_order="far-high"))
    np.testing.assert_array_equal(a.views, b.views)
    assert not np.array_equal(a.views, mv.warp_views(c, f, mv.ViewConfig(4, max_depth=5000)).views)
    rgbd = display.rgbd_frame(c, f, max_depth=5000, order="far-high")
    np.testing.assert_array_equal(rgbd[:, 64:, 0], np.rint(x * np.float32(255)).astype(np.uint8))
    # float depth in [0, 1] (1 = the far limit): min(1, 0.05 / d) where measured
    d01 = np.array([[0.0, 0.025, 0.25, 1.0]], np.float32)
    np.testing.assert_allclose(mv.normalize_depth(d01, order="far-high"), [[0.0, 1.0, 0.2, 0.05]], rtol=1e-7)


def test_torch_renderer_reads_far_high_depth_like_the_numpy_one():
    torch = pytest.importorskip("torch")
    from igde_stream.multiview_torch import TorchRenderer, normalize_depth_torch

    colors, far, _ = _distance_frames()
    cfg = mv.ViewConfig(3, max_depth=5000, depth_order="far-high")
    np.testing.assert_array_equal(TorchRenderer("cpu")(colors[0], far[0], cfg), mv.warp_views(colors[0], far[0], cfg).views)
    t = torch.from_numpy(far[0].astype(np.int32))
    np.testing.assert_array_equal(normalize_depth_torch(t, 5000.0, order="far-high").numpy(), _inverse(far[0], 5000))


def test_range_warnings_name_the_max_depth_that_fits(caplog):
    from igde_stream.enhancer import warn_depth_range

    colors, mm, _ = _distance_frames()  # 312..1250 (mm, say), holes 0
    measured = mm[0][mm[0] > 0]
    # far-high under the default far limit 65535: the near limit 3276 is beyond every pixel
    (said,) = warn_depth_range(mm[0], 65535, "far-high")
    assert "100 % of the measured depth is nearer than the near limit 3276.75" in said
    assert f"e.g. {int(np.percentile(measured, 0.5) * 20)}" in said
    assert warn_depth_range(mm[0], 5000, "far-high") == []  # near limit 250: below every pixel
    # near-high 16-bit under 65535: nearly flat
    (said,) = warn_depth_range(mm[0], 65535, "near-high")
    assert "span only 1 %" in said and f"e.g. {measured.max()}" in said
    # a max-depth below the data: the rest passes through
    said = warn_depth_range(mm[0], 1000, "near-high")
    share = round(100 * float(np.mean(measured > 1000)))
    assert share >= 1 and said[0].startswith(f"{share} % of the measured depth is above max_depth 1000")
    assert warn_depth_range(_frame_with_holes(8)[1][0], 255, "near-high") == []
    # an Enhancer checks its first call only, on the igde_stream logger
    caplog.set_level(logging.WARNING, logger="igde_stream")
    caplog.clear()
    e = Enhancer(model="igde-small", backend="onnxruntime", depth_order="far-high", quiet=True, threads=1)
    e.enhance(colors[:1], mm[:1])
    e.enhance(colors[1:2], mm[1:2])
    assert len([r for r in caplog.records if "near limit" in r.getMessage()]) == 1


def _run_files(tmp_path, far):
    colors = _distance_frames()[0]
    c = write_video(tmp_path / "c.mkv", list(colors), fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", list(far), fmt="gray16le")
    return colors, c, d


def test_each_file_pair_gets_its_own_range_warning(tmp_path, caplog):
    """One Enhancer for several files (a batch worker keeps one): each stream is checked."""
    from igde_stream.stream import enhance_file

    _, far, _ = _distance_frames()
    colors, c, d = _run_files(tmp_path, far)
    enh = Enhancer(model="igde-small", backend="onnxruntime", depth_order="far-high", quiet=True)
    caplog.set_level(logging.WARNING, logger="igde_stream")
    for name in ("a.mkv", "b.mkv"):
        enhance_file(c, d, tmp_path / name, enhancer=enh)
    assert len([r for r in caplog.records if "near limit" in r.getMessage()]) == 2


def test_cli_far_high_millimetres_depth_and_rgbd_output(tmp_path):
    _, far, _ = _distance_frames()
    colors, c, d = _run_files(tmp_path, far)
    out, rgbd = tmp_path / "out.mkv", tmp_path / "rgbd.mkv"
    rc = cli.main([str(c), str(d), "-o", str(out), "--rgbd-out", str(rgbd), "--depth-order", "far-high",
                   "--max-depth", "5000", "--backend", "onnxruntime", "-q"])
    assert rc == 0
    got = np.stack(read_video(out)[0])
    enh = Enhancer(model="igde-small", backend="onnxruntime", max_depth=5000, depth_order="far-high", quiet=True)
    np.testing.assert_array_equal(got, enh.enhance(colors, far))
    for frame, o in zip(read_video(rgbd)[0], got):
        np.testing.assert_array_equal(frame[:, 64:, 0], np.rint(_inverse(o, 5000) * np.float32(255)).astype(np.uint8))


def test_library_run_reads_the_views_in_the_enhancers_order_and_peak(tmp_path):
    """``enhance_file`` with a far-high Enhancer and default ViewsOptions: the RGB-D output reads the
    enhanced depth in the enhancer's order and peak (the caller's options object is unchanged)."""
    from igde_stream.stream import enhance_file
    from igde_stream.stream.outputs import ViewsOptions

    _, far, _ = _distance_frames()
    colors, c, d = _run_files(tmp_path, far)
    enh = Enhancer(model="igde-small", backend="onnxruntime", max_depth=5000, depth_order="far-high", quiet=True)
    views = ViewsOptions()
    enhance_file(c, d, tmp_path / "out.mkv", enhancer=enh, rgbd_path=tmp_path / "rgbd.mkv", views=views)
    assert views.config.depth_order == "near-high" and views.config.max_depth is None
    got = read_video(tmp_path / "out.mkv")[0]
    for frame, o in zip(read_video(tmp_path / "rgbd.mkv")[0], got):
        np.testing.assert_array_equal(frame[:, 64:, 0], np.rint(_inverse(o, 5000) * np.float32(255)).astype(np.uint8))


def test_views_render_command_reads_far_high_depth(tmp_path):
    """``igde-stream views render --depth-order far-high``: the RGB-D layout shows the inverse depth."""
    from igde_stream import views_cli

    _, far, _ = _distance_frames()
    colors, c, d = _run_files(tmp_path, far)
    out = tmp_path / "rgbd.mkv"
    assert views_cli.main(["render", str(c), str(d), "-o", str(out), "--layout", "rgbd", "--depth-order", "far-high",
                           "--max-depth", "5000", "--quiet"]) == 0
    frames = read_video(out)[0]
    assert len(frames) == len(far)
    for frame, f in zip(frames, far):
        np.testing.assert_array_equal(frame[:, 64:, 0], np.rint(_inverse(f, 5000) * np.float32(255)).astype(np.uint8))


def test_normalise_edges_by_hand():
    """The smallest measured distance (1) is measured, reading as the nearest (1.0); the peak itself is
    measured (the far limit reads 1 / 20), one above it is not; values past the ends clip (near-high
    output above 1 writes the peak; float far-high input nearer than the near limit reads 1, above 1
    as the far limit)."""
    from igde_stream.depth_order import normalize_unit

    v = np.array([0, 1, 5000, 5001], np.uint16)
    np.testing.assert_allclose(normalize(v, 5000, "far-high"), [0, 1, 0.05, 0], rtol=1e-7)
    np.testing.assert_array_equal(denormalize(np.array([1.5, -0.5], np.float32), 255, "near-high", np.uint8), [255, 0])
    np.testing.assert_allclose(normalize_unit(np.array([0.0, 0.01, 0.5, 1.0, 1.5], np.float32), "far-high"),
                               [0, 1, 0.1, 0.05, 0.05], rtol=1e-7)  # nearer than 1 / 20 of the range: 1
    np.testing.assert_array_equal(normalize_unit(np.array([-0.5, 1.5], np.float32)), [0, 1])


def test_views_draw_distances_beyond_the_far_limit_at_it_not_as_holes():
    """The views' reading of far-high depth with --max-depth 1000 (near limit 50): a distance beyond
    1000 is drawn at the far limit (50 / 1000), as the warning says it is clipped, not as 0, which is a
    hole (and the farthest of all); by hand, and the same from the torch renderer's reading."""
    import torch

    from igde_stream.multiview_torch import normalize_depth_torch

    d = np.array([[0, 25, 500, 1000, 1001, 65535]], np.uint16)
    want = np.array([[0.0, 1.0, 0.1, 0.05, 0.05, 0.05]], np.float32)
    got = mv.normalize_depth(d, 1000.0, order="far-high")
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got[0, 4] == got[0, 3] == got[0, 5]
    t = normalize_depth_torch(torch.from_numpy(d.astype(np.int32)), 1000.0, peak=65535.0, order="far-high")
    np.testing.assert_array_equal(t.numpy(), got)
