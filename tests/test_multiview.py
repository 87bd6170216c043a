import json
import math

import numpy as np
import pytest

from igde_stream import display
from igde_stream import multiview as mv
from scenes import square_scene, textured, write_video


def test_positions_and_config():
    assert mv.view_positions(8)[0] == -0.5 and mv.view_positions(8)[-1] == 0.5
    assert mv.view_positions(1).tolist() == [0.0]
    with pytest.raises(ValueError):
        mv.ViewConfig(n_views=0)
    with pytest.raises(ValueError):
        mv.ViewConfig(zero_parallax=1.5)
    with pytest.raises(ValueError):
        mv.ViewConfig(baseline=-1)


@pytest.mark.parametrize("depth", [np.full((48, 64), 128, np.uint8), np.full((48, 64), 128 * 257, np.uint16)])
def test_plane_at_zero_parallax_does_not_move(depth):
    c = textured()
    zp = 128 / 255
    r = mv.warp_views(c, depth, mv.ViewConfig(n_views=9, baseline=40, zero_parallax=zp))
    assert not r.holes.any()
    for v in r.views:
        np.testing.assert_array_equal(v, c)


@pytest.mark.parametrize("t,sign", [(-0.5, +1), (0.5, -1)])
def test_near_object_shifts_by_expected_disparity(t, sign):
    """Left-of-centre views (t < 0) move near objects right; right-of-centre views move them left."""
    c = textured()
    d = square_scene(bg=0.5, fg=0.9)
    baseline = 20.0
    shift = round(-t * baseline * (0.9 - 0.5))  # = +-4 px
    assert shift == sign * 4
    r = mv.warp_views(c, d, mv.ViewConfig(baseline=baseline, zero_parallax=0.5), positions=[t])
    v = r.views[0]
    np.testing.assert_array_equal(v[16:32, 24 + shift : 40 + shift], c[16:32, 24:40])
    # background at the zero-parallax level stays where it was, away from the object
    np.testing.assert_array_equal(v[:16], c[:16])
    np.testing.assert_array_equal(v[:, :20], c[:, :20])
    assert mv.disparity(np.float32(0.9), t, baseline, 0.5) == pytest.approx(sign * 4.0, abs=1e-5)


def test_far_object_moves_the_other_way():
    c = textured()
    d = square_scene(bg=0.5, fg=0.1)  # behind the screen plane
    v = mv.warp_views(c, d, mv.ViewConfig(baseline=20, zero_parallax=0.5), positions=[-0.5]).views[0]
    # in a left view a far square (columns 24..39) moves left by 4 px to 20..35; the background at
    # 20..23 stays and is nearer, so it hides the square's first 4 columns; columns 36..39 are a
    # hole, filled from the farther side (the square's last column)
    np.testing.assert_array_equal(v[16:32, 20:24], c[16:32, 20:24])
    np.testing.assert_array_equal(v[16:32, 24:36], c[16:32, 28:40])
    np.testing.assert_array_equal(v[16:32, 36:40], np.repeat(c[16:32, 39:40], 4, axis=1))


def test_occlusion_near_wins():
    """Two source columns land on one target: the nearer one must be kept whatever its position."""
    h, w = 4, 32
    c = np.zeros((h, w, 3), np.uint8)
    c[:, 10] = (255, 0, 0)  # near pixel that moves right by 4 onto column 14
    c[:, 14] = (0, 255, 0)  # far pixel at the zero-parallax level that stays on column 14
    d = np.full((h, w), 0.5, np.float32)
    d[:, 10] = 0.9
    v = mv.warp_views(c, d, mv.ViewConfig(baseline=20, zero_parallax=0.5), positions=[-0.5]).views[0]
    assert (v[:, 14] == (255, 0, 0)).all()
    # same layout, the other way round: a far pixel moving onto a near one is hidden
    d2 = np.full((h, w), 0.9, np.float32)
    d2[:, 10] = 0.1
    c2 = c.copy()
    c2[:, 6] = (0, 0, 255)
    # with zp = 0.9 the plane stays; column 10 (depth 0.1) moves by -t*20*(0.1-0.9) = -8 -> column 2
    v2 = mv.warp_views(c2, d2, mv.ViewConfig(baseline=20, zero_parallax=0.9), positions=[-0.5]).views[0]
    assert (v2[:, 2] == c2[:, 2]).all()  # the far pixel landed on a nearer one and lost


def test_holes_filled_from_background_side():
    h, w = 8, 40
    bg_col, fg_col = (10, 20, 30), (200, 100, 50)
    c = np.zeros((h, w, 3), np.uint8)
    c[:] = bg_col
    c[:, 15:25] = fg_col
    d = np.full((h, w), 0.2, np.float32)
    d[:, 15:25] = 1.0
    r = mv.warp_views(c, d, mv.ViewConfig(baseline=20, zero_parallax=0.2), positions=[-0.5, 0.5])
    # the near block moves by +-8 px, leaving an 8-px disocclusion on its trailing side
    assert r.holes[0, :, 15:23].all() and r.holes[1, :, 17:25].all()
    assert r.holes.sum() == 2 * h * 8
    for v in r.views:
        assert (v[r.holes[0] | r.holes[1]] != 0).all()  # nothing left black
    np.testing.assert_array_equal(r.views[0][:, 15:23], np.broadcast_to(bg_col, (h, 8, 3)))
    np.testing.assert_array_equal(r.views[1][:, 17:25], np.broadcast_to(bg_col, (h, 8, 3)))
    assert (r.depth[r.holes] == np.float32(0.2)).all()


def test_border_holes_use_the_only_side():
    c = textured(8, 32)
    d = np.full((8, 32), 1.0, np.float32)  # everything in front: the whole frame moves right by 5
    r = mv.warp_views(c, d, mv.ViewConfig(baseline=10, zero_parallax=0.0), positions=[-0.5])
    assert r.holes[0, :, :5].all() and not r.holes[0, :, 5:].any()
    np.testing.assert_array_equal(r.views[0][:, :5], np.repeat(c[:, :1], 5, axis=1))


def test_identical_depth_gives_identical_views_and_inf_psnr():
    c = textured(40, 56)
    d = (np.random.default_rng(1).random((40, 56)) * 255).astype(np.uint8)
    q = mv.view_quality(c, d, {"same": d.copy()}, n_views=4, baseline=12)
    rows = q["depths"]["same"]["per_view"]
    assert len(rows) == 4
    assert all(r["psnr"] == math.inf and r["ssim"] == pytest.approx(1.0) for r in rows)
    assert q["depths"]["same"]["mean"]["psnr"] == math.inf
    s = mv.summarize_view_quality([q, q])
    assert s["depths"]["same"]["mean"]["psnr"] == math.inf
    assert json.loads(json.dumps(mv.jsonable(s)))["depths"]["same"]["mean"]["psnr"] is None


def test_view_quality_sees_boundary_errors():
    c = textured(48, 64)
    gt = (square_scene() * 255).astype(np.uint8)
    bad = gt.copy()
    bad[16:32, 40:44] = gt[20, 30]  # the near square bleeds 4 px to the right
    q = mv.view_quality(c, gt, {"degraded": bad}, n_views=8, baseline=20)
    rows = q["depths"]["degraded"]["per_view"]
    assert all(math.isfinite(r["psnr"]) for r in rows)
    assert all(r["psnr_band"] <= r["psnr"] for r in rows)  # the error lives in the boundary band
    md = mv.markdown_table(mv.summarize_view_quality([q]))
    assert md.count("\n") == 2 + 8  # header, rule, 8 views, mean


def test_sequence_summary_averages_mse():
    c = np.stack([textured(48, 64, seed=i) for i in range(3)])
    gt = np.stack([(square_scene() * 255).astype(np.uint8)] * 3)
    bad = gt.copy()
    bad[1, 16:32, 40:44] = 229
    s = mv.view_quality_sequence(c, gt, {"degraded": bad}, n_views=4, baseline=20)
    one = mv.view_quality(c[1], gt[1], {"degraded": bad[1]}, n_views=4, baseline=20)
    assert s["frames"] == 3
    for k in range(4):  # two identical frames, one bad: mean MSE = a third of the bad frame's
        assert s["depths"]["degraded"]["per_view"][k]["mse"] == pytest.approx(one["depths"]["degraded"]["per_view"][k]["mse"] / 3)
    with pytest.raises(ValueError):
        mv.view_quality_sequence(c, gt, {"x": bad[:2]})


def test_deterministic():
    c = textured()
    d = np.random.default_rng(3).random((48, 64)).astype(np.float32)
    a = mv.warp_views(c, d, mv.ViewConfig(baseline=30))
    b = mv.warp_views(c, d, mv.ViewConfig(baseline=30))
    np.testing.assert_array_equal(a.views, b.views)
    np.testing.assert_array_equal(a.depth, b.depth)
    assert not a.holes.all()


def test_random_depth_leaves_no_unfilled_pixels():
    c = textured()
    d = np.random.default_rng(4).random((48, 64)).astype(np.float32)
    r = mv.warp_views(c, d, mv.ViewConfig(n_views=5, baseline=60))
    assert r.holes.any()
    assert (r.depth >= 0).all()  # holes got a depth from a rendered neighbour


@pytest.mark.parametrize("n,shape", [(8, (2, 4)), (9, (3, 3)), (6, (2, 3)), (7, (3, 3)), (5, (2, 3)), (1, (1, 1)), (2, (1, 2))])
def test_grid_shapes(n, shape):
    assert display.grid_shape(n) == shape


def test_layouts():
    views = np.stack([np.full((6, 10, 3), k, np.uint8) for k in range(8)])
    g = display.tile_grid(views)
    assert g.shape == (2 * 6, 4 * 10, 3)
    assert g[0, 0, 0] == 0 and g[0, 10, 0] == 1 and g[6, 0, 0] == 4 and g[6, 39, 0] == 7
    g3 = display.tile_grid(views, rows=3, cols=3)
    assert g3.shape == (18, 30, 3) and (g3[12:, 20:] == 0).all()
    assert display.tile_grid(views, cols=8).shape == (6, 80, 3)
    with pytest.raises(ValueError):
        display.grid_shape(8, rows=2, cols=3)
    sbs = display.side_by_side(views[0], views[7])
    assert sbs.shape == (6, 20, 3) and sbs[0, 0, 0] == 0 and sbs[0, 19, 0] == 7
    half = display.side_by_side(views[0], views[7], squeeze=True)
    assert half.shape == (6, 10, 3) and half[0, 0, 0] == 0 and half[0, 9, 0] == 7
    odd = display.side_by_side(np.zeros((4, 9, 3), np.uint8), np.zeros((4, 9, 3), np.uint8), squeeze=True)
    assert odd.shape == (4, 9, 3)


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        mv.warp_views(textured(), np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError):
        mv.warp_views(textured().astype(np.float32), np.zeros((48, 64), np.uint8))
    with pytest.raises(ValueError):
        mv.normalize_depth(np.full((4, 4), np.nan, np.float32))
    with pytest.raises(ValueError):
        mv.normalize_depth(np.zeros((4, 4), np.int32))


# ------------------------------------------------------------------------------- the video tool


def _tool():
    from igde_stream import views_cli

    return views_cli


def _read(path):
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [(float(f.pts * s.time_base), f.to_ndarray(format="rgb24")) for f in c.decode(s)]


@pytest.fixture()
def clip(tmp_path):
    t, h, w = 3, 48, 64
    color = np.stack([textured(h, w, seed=i) for i in range(t)])
    gt = np.stack([(square_scene(h, w, box=(16, 32, 20 + i, 36 + i)) * 255).astype(np.uint8) for i in range(t)])
    bad = gt.copy()
    bad[:, 16:32, 36:40] = 229  # bleed to the right of the square
    write_video(tmp_path / "c.mp4", color, "yuv420p")
    write_video(tmp_path / "gt.mkv", gt)
    write_video(tmp_path / "d.mkv", bad)
    return tmp_path, color, gt


@pytest.mark.parametrize("layout,extra,shape,files", [
    ("grid", [], (96, 256, 3), 1),
    ("sbs", ["--squeeze"], (48, 64, 3), 1),
    ("sbs", [], (48, 128, 3), 1),
    ("views", ["--views", "3"], (48, 64, 3), 3),
])
def test_tool_renders_video(clip, layout, extra, shape, files):
    tmp, color, gt = clip
    out = tmp / "out.mkv"
    rc = _tool().main(["render", str(tmp / "c.mp4"), str(tmp / "gt.mkv"), "-o", str(out), "--layout", layout,
                       "--baseline", "16", "--quiet", *extra])
    assert rc == 0
    outs = [out] if files == 1 else [tmp / f"out_v{k}.mkv" for k in range(files)]
    assert sorted(p.name for p in tmp.glob("out*")) == sorted(p.name for p in outs)  # no temp files left
    for p in outs:
        frames = _read(p)
        assert [round(t, 3) for t, _ in frames] == [0.0, 0.04, 0.08]
        assert frames[0][1].shape == shape


def test_tool_grid_matches_library(clip):
    """FFV1 is lossless: the video's first frame is the library's grid of the decoded inputs. Run as
    the installed command does: ``igde-stream views render ...``."""
    from igde_stream.cli import main

    tmp, _, gt = clip
    out = tmp / "g.mkv"
    assert main(["views", "render", str(tmp / "c.mp4"), str(tmp / "gt.mkv"), "-o", str(out), "--quiet"]) == 0
    c0 = _read(tmp / "c.mp4")[0][1]
    expect = display.layout_frames(c0, gt[0], mv.ViewConfig(), "grid")[0]
    np.testing.assert_array_equal(_read(out)[0][1], expect)


def test_tool_quality_report(clip, capsys):
    tmp, _, _ = clip
    rep, fig = tmp / "q.json", tmp / "q.png"
    rc = _tool().main(["quality", str(tmp / "c.mp4"), "--gt", str(tmp / "gt.mkv"), "--depth", f"degraded={tmp / 'd.mkv'}",
                       "--depth", f"same={tmp / 'gt.mkv'}", "--views", "4", "--report", str(rep), "--figure", str(fig)])
    assert rc == 0
    data = json.loads(rep.read_text())
    assert data["frames"] == 3 and data["reference"].startswith("views rendered from the ground-truth")
    assert data["depths"]["same"]["mean"]["psnr"] is None  # inf -> null
    assert 10 < data["depths"]["degraded"]["mean"]["psnr"] < 60
    assert len(data["depths"]["degraded"]["per_view"]) == 4
    assert rep.with_suffix(".md").read_text().count("| **mean** |") == 1
    assert fig.stat().st_size > 1000


def test_tool_user_errors(clip, capsys):
    tmp, _, _ = clip
    tool = _tool()
    assert tool.main(["render", str(tmp / "nope.mp4"), str(tmp / "gt.mkv"), "-o", str(tmp / "x.mkv")]) == 2
    assert "nope.mp4" in capsys.readouterr().err
    short = tmp / "short.mkv"
    write_video(short, np.zeros((2, 48, 64), np.uint8))
    assert tool.main(["render", str(tmp / "c.mp4"), str(short), "-o", str(tmp / "x.mkv")]) == 2
    assert not list(tmp.glob("*x*.mkv"))  # nothing half-written left behind
    assert tool.main(["render", str(tmp / "c.mp4"), str(tmp / "gt.mkv"), "-o", str(tmp / "x.mkv"), "--views", "0"]) == 2


def test_bench_views_runs_and_saves(tmp_path):
    pytest.importorskip("torch")
    from igde_stream.bench import views

    out = tmp_path / "views.json"
    rc = views.main(["--size", "64x48", "--model", "igde-tiny", "--backends", "torch", "--iters", "1",
                     "--infer-iters", "1", "--json", str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    assert [r["what"] for r in data["rows"]] == ["render 8 views", "render 8 views + grid",
                                                 "render 8 views, torch cpu (1 thread)", "igde-tiny torch:fp32"]
    assert all(r["fps"] > 0 for r in data["rows"])
    assert data["rows"][2]["identical_to_numpy"] is True
    rc = views.main(["--size", "64x48", "--layouts", "--backends", "none", "--iters", "1", "--preset-views", "3",
                     "--panel", "128x96", "--no-torch", "--json", str(out)])
    assert rc == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["what"] for r in rows][2:] == [
        "render 8 views + grid 4x2", "render 8 views + quilt 4x2 (tiles = views)",
        "render 8 views + quilt portrait preset 8x6 at 3360x3360", "rgbd (colour | depth, no views)",
        "render 8 views + lenticular 128x96, nearest view", "render 8 views + lenticular 128x96, blend of two",
        "render 3 views", "render 3 views + grid 2x2", "render 3 views + quilt 16in preset 5x9 at 4096x4096"]
    sizes = [r.get("frame_size") for r in rows]
    assert sizes[2:6] == [[256, 96], [256, 96], [3360, 3360], [128, 48]] and sizes[6] == [128, 96]


def test_library_render_and_quality_on_files(clip):
    """The stage as a pipeline embeds it: igde_stream.stream.views, no command line."""
    from igde_stream.errors import InputError
    from igde_stream.stream.views import render_file, view_quality_files

    tmp, _, _ = clip
    n, paths = render_file(tmp / "c.mp4", tmp / "d.mkv", tmp / "lib.mkv", mv.ViewConfig(4), layout="views",
                           max_frames=2)
    assert n == 2 and [p.name for p in paths] == [f"lib_v{k}.mkv" for k in range(4)]
    assert all(len(_read(p)) == 2 for p in paths)
    summary, fig = view_quality_files(tmp / "c.mp4", tmp / "gt.mkv", {"degraded": tmp / "d.mkv"},
                                      mv.ViewConfig(4), stride=2)
    assert summary["frames"] == 2 and summary["frame_stride"] == 2 and fig[0] == 0
    with pytest.raises(InputError, match="no depth of that name"):
        view_quality_files(tmp / "c.mp4", tmp / "gt.mkv", {"degraded": tmp / "d.mkv"}, enhance="other")


def test_edge_band_extent_on_a_hand_made_step():
    from igde_stream.multiview import edge_band

    # a horizontal step between columns 19 and 20 of a 30 x 40 map: the jump marks columns 19 and 20,
    # and a radius-3 band covers columns 16..23 on every row; a vertical change (rows) is not a step
    d = np.zeros((30, 40), np.float32)
    d[:, 20:] = 0.5
    d[15:, :] += 0.3  # a horizontal edge: left out, DIBR shifts are horizontal
    band = edge_band(d, radius=3)
    cols = np.nonzero(band.any(0))[0].tolist()
    assert cols == list(range(16, 24))
    assert band[:, 16:24].all() and not band[:, :16].any() and not band[:, 24:].any()
    # steps of at most ``step`` do not count
    assert not edge_band(d * 0.02, radius=3).any()


def test_wrappers_default_to_the_view_config_geometry():
    # render_views, view_quality and view_quality_sequence restate ViewConfig's geometry as keyword
    # defaults: a default that drifts renders other views than the CLI / Python API (ViewConfig())
    import dataclasses
    import inspect

    from igde_stream import multiview as mv

    from igde_stream.multiview_figure import boundary_figure

    fields = {f.name: f.default for f in dataclasses.fields(mv.ViewConfig)}
    assert fields == {"n_views": 8, "baseline": 32.0, "zero_parallax": 0.5, "max_depth": None,
                      "depth_order": "near-high"}
    for fn in (mv.render_views, mv.view_quality, mv.view_quality_sequence, boundary_figure):
        params = inspect.signature(fn).parameters
        assert {k: params[k].default for k in fields} == fields, fn.__name__


def test_markdown_table_prints_psnr_to_2_decimals_and_ssim_to_4():
    # the committed results/views_*.md tables: PSNR and band PSNR in dB to 0.01, SSIM to 0.0001,
    # inf and nan spelled out; one row per view and a mean row
    from igde_stream.multiview import markdown_table

    rows = [{"psnr": 31.23456, "psnr_band": 28.1, "ssim": 0.987654321},
            {"psnr": math.inf, "psnr_band": math.nan, "ssim": 0.5}]
    mean = {"psnr": 30.0, "psnr_band": 25.5, "ssim": 0.75}
    summary = {"positions": [-0.5, 0.5], "depths": {"gt": {"per_view": rows, "mean": mean}}}
    lines = markdown_table(summary).splitlines()
    assert lines[0] == "| view | t | PSNR gt (dB) | band PSNR gt (dB) | SSIM gt |"
    assert lines[2] == "| 0 | -0.500 | 31.23 | 28.10 | 0.9877 |"
    assert lines[3] == "| 1 | +0.500 | inf | n/a | 0.5000 |"
    assert lines[4] == "| **mean** | | 30.00 | 25.50 | 0.7500 |"


@pytest.mark.parametrize("dtype, max_depth", [(np.uint8, 1000), (np.uint16, 70000)])
def test_a_max_depth_above_the_depth_type_range_is_refused(dtype, max_depth):
    """8-bit depth read against a peak of 1000 would sit in the bottom quarter of 0..1: nearly flat
    views, silently; the Enhancer refuses the same setting, and so do the views."""
    from igde_stream.multiview import ViewConfig, warp_views

    color = np.zeros((8, 12, 3), np.uint8)
    depth = np.full((8, 12), 200, dtype)
    with pytest.raises(ValueError, match=f"max_depth {max_depth} is above the range of {np.dtype(dtype)} depth"):
        warp_views(color, depth, ViewConfig(3, max_depth=max_depth))
    assert warp_views(color, depth.astype(np.uint16), ViewConfig(3, max_depth=1023)).views.shape == (3, 8, 12, 3)
    torch_views = pytest.importorskip("igde_stream.multiview_torch")
    with pytest.raises(ValueError, match=f"max_depth {max_depth} is above the range of {np.dtype(dtype)} depth"):
        torch_views.TorchRenderer("cpu").render(color, depth, ViewConfig(3, max_depth=max_depth))
