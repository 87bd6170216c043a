import json
import math

import numpy as np
import pytest

from igde_stream import multiview as mv


def textured(h=48, w=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def square_scene(h=48, w=64, bg=0.5, fg=0.9, box=(16, 32, 24, 40)):
    """Float depth: a background plane at ``bg`` and a nearer square at ``fg`` (rows y0:y1, cols x0:x1)."""
    d = np.full((h, w), bg, np.float32)
    y0, y1, x0, x1 = box
    d[y0:y1, x0:x1] = fg
    return d


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
    assert mv.grid_shape(n) == shape


def test_layouts():
    views = np.stack([np.full((6, 10, 3), k, np.uint8) for k in range(8)])
    g = mv.tile_grid(views)
    assert g.shape == (2 * 6, 4 * 10, 3)
    assert g[0, 0, 0] == 0 and g[0, 10, 0] == 1 and g[6, 0, 0] == 4 and g[6, 39, 0] == 7
    g3 = mv.tile_grid(views, rows=3, cols=3)
    assert g3.shape == (18, 30, 3) and (g3[12:, 20:] == 0).all()
    assert mv.tile_grid(views, cols=8).shape == (6, 80, 3)
    with pytest.raises(ValueError):
        mv.grid_shape(8, rows=2, cols=3)
    sbs = mv.side_by_side(views[0], views[7])
    assert sbs.shape == (6, 20, 3) and sbs[0, 0, 0] == 0 and sbs[0, 19, 0] == 7
    half = mv.side_by_side(views[0], views[7], squeeze=True)
    assert half.shape == (6, 10, 3) and half[0, 0, 0] == 0 and half[0, 9, 0] == 7
    odd = mv.side_by_side(np.zeros((4, 9, 3), np.uint8), np.zeros((4, 9, 3), np.uint8), squeeze=True)
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
