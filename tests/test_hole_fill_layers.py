"""The hole fill's ``layers`` option (igde_stream.hole_fill): no mean across two depth layers, the far
one preferred. Expected values worked out by hand from the documented rule (the module docstring,
docs/models.md "Hole fill"), on frames of one colour and a flat spatial weight (sigma_space 1e6),
where every measured pixel of the window weighs 1 and the counts can be made by hand."""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream.hole_fill import HoleFill, fill_frames, fill_holes

FLAT = dict(sigma_space=1e6, stride=1, snap=0, layer_sigma=0)  # every measured pixel of one colour weighs 1


def _two_planes(near: int = 200, far: int = 50, hole_col: int = 10, size: int = 21, split: int = 10):
    """One colour; columns left of ``split`` at ``near``, the rest at ``far``; one hole pixel at the
    centre row, column ``hole_col``."""
    color = np.full((size, size, 3), 120, np.uint8)
    depth = np.where(np.arange(size)[None] < split, near, far).astype(np.uint8).repeat(size, 0)
    depth[size // 2, hole_col] = 0
    return color, depth


def test_a_hole_between_a_near_and_a_far_plane_of_one_colour_gets_the_far_plane():
    # hole at column 10, near 200 on columns 0-9, far 50 on columns 11-20 (column 10 all far but the
    # hole): a disc of radius 7 has 67 pixels on each side of the hole's column and 14 more far ones
    # in its column; one colour, flat weights: the plain mean is (67 * 200 + 81 * 50) / 148
    color, depth = _two_planes()
    col = np.where(np.arange(21)[None] < 10, 200, 50).repeat(21, 0)
    yy, xx = np.mgrid[-7:8, -7:8]
    disc = yy ** 2 + xx ** 2 <= 49
    assert disc[:, :7].sum() == 67 and disc[:, 7].sum() == 15
    mean = (67 * 200 + 14 * 50 + 67 * 50) / 148  # 117.9: a depth of neither plane
    old = fill_holes(color, depth, settings=HoleFill(diameter=15, layers=0, **FLAT))
    new = fill_holes(color, depth, settings=HoleFill(diameter=15, layers=2, **FLAT))
    assert abs(float(old[10, 10]) - mean) <= 0.5
    assert new[10, 10] == 50  # near weighs 67, far 81: the far layer
    assert np.array_equal(new[depth != 0], col[depth != 0])  # measured pixels untouched
    # layers 2 with the default layer_sigma 16 does the same; the default (layers 0) is the plain mean
    assert fill_holes(color, depth, settings=HoleFill(diameter=15, layers=2))[10, 10] == 50
    assert abs(float(fill_holes(color, depth, settings=HoleFill(diameter=15))[10, 10]) - mean) <= 0.5


def test_the_near_layer_wins_only_when_it_weighs_more_than_k_times_the_far():
    # radius 4 (diameter 9), hole at column 12, near 200 on columns 0-14, far 50 on 15-20: the disc's
    # column counts at |dx| 0..4 are 9, 7, 7, 5, 1; far: dx 3, 4 -> 5 + 1 = 6; near: dx -4..2 less the
    # hole -> 1 + 5 + 7 + 7 + 8 + 7 + 7 = 42 = 7 x 6
    color, depth = _two_planes(hole_col=12, split=15)
    for k, want in ((1, 200), (2, 200), (6.9, 200), (7, 50), (8, 50)):
        got = fill_holes(color, depth, settings=HoleFill(diameter=9, layers=k, **FLAT))[10, 12]
        assert got == want, (k, got)


def test_far_is_the_larger_value_in_a_distance_map():
    # the same frame as distances: near 50, far 200; the far layer is now the larger one
    color, depth = _two_planes(near=50, far=200)
    s = HoleFill(diameter=15, layers=2, **FLAT)
    assert fill_holes(color, depth, settings=s, depth_order="far-high")[10, 10] == 200
    assert fill_holes(color, depth, settings=s)[10, 10] == 50  # read as near-high: 50 is the far one
    out = fill_frames(color[None], depth[None], depth[None].copy(), s, depth_order="far-high")
    assert out[0, 10, 10] == 200


def test_one_slanted_surface_is_one_layer():
    # depth 100 + column on a single slope; the disc is symmetric about the hole at column 10, so its
    # mean is the slope's own value there, 110. Split there: columns dx -7..-1 (counts 1, 7, 9, 11, 13,
    # 13, 13: 67 px, sum of dx -216, of dx^2 884) and dx 0..7 (81 px, sum 216, dx^2 884): means -3.22
    # and +2.67, standard deviations 1.67 and 1.95; 5.89 apart < 2 x (1.67 + 1.95 + 1) = 9.25: one
    # surface, and the fill is the plane's value
    color = np.full((21, 21, 3), 120, np.uint8)
    depth = (100 + np.arange(21)[None]).repeat(21, 0).astype(np.uint8)
    depth[10, 10] = 0
    for layers in (0, 2):
        assert fill_holes(color, depth, settings=HoleFill(diameter=15, layers=layers, **FLAT))[10, 10] == 110


def test_layer_gap_decides_what_two_layers_are():
    # near 103 left, far 100 right, no spread in either: 3 levels apart against layer_gap x (0 + 0 + 1
    # level for integer depth). layer_gap 2: two layers, the far one (100); layer_gap 4: one, the mean
    # (67 x 103 + 81 x 100) / 148 = 101.36 -> 101
    color, depth = _two_planes(near=103, far=100)
    assert fill_holes(color, depth, settings=HoleFill(diameter=15, layers=2, layer_gap=2, **FLAT))[10, 10] == 100
    assert fill_holes(color, depth, settings=HoleFill(diameter=15, layers=2, layer_gap=4, **FLAT))[10, 10] == 101
    # float depth has no rounding level: 0.03 apart with no spread is two layers at any layer_gap
    f = np.where(depth == 0, 0, depth / 100).astype(np.float32)
    got = fill_holes(color, f, settings=HoleFill(diameter=15, layers=2, layer_gap=4, **FLAT))[10, 10]
    assert got == np.float32(1.0)


def test_layer_sigma_lets_the_layer_beside_the_hole_win():
    # radius 7, hole at (10, 10); near 200 on columns 3-9 (dx -7..-1), columns 10-14 (dx 0..4) holes,
    # far 50 on columns 15-17 (dx 5..7). Flat weights: near 67, far 9 + 7 + 1 = 17, 67 <= 8 x 17 -> far.
    # With layer_sigma 2 (weight exp(-r^2 / 8)): the far columns weigh 0.215 + 0.051 + 0.002 = 0.27
    # (dx 5: exp(-25 / 8) x (1 + 2 (0.882 + 0.607 + 0.325 + 0.135)) ...), the near column beside the
    # hole alone exp(-1 / 8) x (1 + 2 (0.882 + 0.607 + 0.325 + 0.135 + 0.044 + 0.011)) = 4.42 > 8 x 0.27
    # -> near
    color = np.full((21, 21, 3), 120, np.uint8)
    depth = np.zeros((21, 21), np.uint8)
    depth[:, 3:10] = 200
    depth[:, 15:18] = 50
    off = fill_holes(color, depth, settings=HoleFill(diameter=15, layers=8, **FLAT))
    on = fill_holes(color, depth, settings=HoleFill(diameter=15, layers=8, **{**FLAT, "layer_sigma": 2}))
    assert off[10, 10] == 50 and on[10, 10] == 200


def test_colour_still_counts_in_the_layers_weight():
    # the two-plane frame with the near plane in another colour (L1 difference 90, sigma_color 10:
    # weight exp(-40.5) ~ 0): the far layer, by colour as by the far preference; then the far plane in
    # another colour and layers 1 (the heavier layer): the near plane (67 px against the 14 far ones of
    # the hole's own column)
    color, depth = _two_planes()
    color[:, :10] = (150, 150, 150)
    assert fill_holes(color, depth, settings=HoleFill(diameter=15, layers=1, **FLAT))[10, 10] == 50
    color, depth = _two_planes()
    color[:, 11:] = (150, 150, 150)
    assert fill_holes(color, depth, settings=HoleFill(diameter=15, layers=1, **FLAT))[10, 10] == 200


def test_the_defaults_are_the_plain_mean_and_the_measured_layer_settings():
    # docs/models.md, "Layers": F2s16 (layers 2, layer_gap 2, layer_sigma 16) passed the synthetic rule
    # and lost on every real data set; the default stays the plain mean
    s = HoleFill()
    assert (s.layers, s.layer_gap, s.layer_sigma) == (0.0, 2.0, 16.0)


@pytest.mark.parametrize("kw", [dict(layers=0.5), dict(layers=-1), dict(layers=float("nan")),
                                dict(layers=float("inf")), dict(layers=True), dict(layers="2"),
                                dict(layer_gap=-1.0), dict(layer_gap=float("inf")), dict(layer_sigma=-2),
                                dict(layer_sigma=float("nan"))])
def test_bad_layer_settings(kw):
    with pytest.raises(ValueError, match="hole fill layer"):
        HoleFill(**kw)


def test_bad_depth_order():
    color, depth = _two_planes()
    with pytest.raises(ValueError, match="depth_order"):
        fill_holes(color, depth, depth_order="far")


def test_tune_tool_hole_leak():
    # one frame, 4 hole pixels: truth 100; outputs 106 (nearer by 6 > 4: a leak), 104 (by 4: not), 95
    # (farther by 5), 100; a measured pixel with a wild output does not count
    from conftest import load_tool

    tool = load_tool("tune_hole_fill")
    gt = np.full((2, 4), 100, np.uint8)
    d = gt.copy()
    d[0] = 0
    out = np.array([[106, 104, 95, 100], [250, 100, 100, 100]], np.uint8)
    assert tool.hole_leak([(None, d, gt, None)], [out], 4.0) == (0.25, 0.25)
    valid = np.ones_like(d, bool)
    valid[0, 0] = False  # unmeasured truth: not scored
    assert tool.hole_leak([(None, d, gt, valid)], [out], 4.0) == (0.0, 1 / 3)
    assert tool.hole_leak([(None, gt, gt, None)], [gt], 4.0) == (0.0, 0.0)


def test_the_enhancer_tells_the_fill_which_side_is_far():
    # a distance map (far-high, mm): 1000 on the left, 3000 on the right, one colour, a 3 px hole strip
    # between them; at the strip's middle column both layers weigh the same (the frame is symmetric
    # about it), so the far one fills it: 3000 as distances, where read as disparity it would be 1000
    from igde_stream.enhancer import Enhancer

    color = np.full((48, 65, 3), 120, np.uint8)
    depth = np.where(np.arange(65)[None] < 32, 1000, 3000).astype(np.uint16).repeat(48, 0)
    depth[:, 31:34] = 0
    layered = HoleFill(layers=2)
    far_high = Enhancer("igde-small", backend="onnxruntime", quiet=True, depth_order="far-high", max_depth=5000,
                        hole_fill=layered)
    assert (far_high.enhance(color, depth)[:, 32] == 3000).all()
    near_high = Enhancer("igde-small", backend="onnxruntime", quiet=True, hole_fill=layered)
    assert (near_high.enhance(color, depth)[:, 32] == 1000).all()


@pytest.mark.parametrize("bad, said", [(["--layers", "0.5"], "hole fill layers must be 0 (off) or a finite number >= 1"),
                                       (["--layer-gap", "-1"], "hole fill layer_gap must be a finite number >= 0"),
                                       (["--layer-sigma", "nan"], "hole fill layer_sigma must be a finite number >= 0")])
def test_tune_tool_refuses_bad_layer_settings_in_one_line(capsys, bad, said):
    from conftest import load_tool

    tool = load_tool("tune_hole_fill")
    args = ["--scenes", "1", "--errors", "holes", "--sizes", "16x16", "--threads", "1"]
    assert tool.main(args + bad) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0]


def test_the_summary_and_report_say_which_fill_ran(tmp_path, tiny_model):
    """--hole-fill far: layers 2 in the summary and the report's header; the default fill: 0 (the
    plain mean); off: no fill, no layers; the preset's name beside them (fast and on: both 0 layers)."""
    import json

    from igde_stream.cli import main
    from test_hole_fill import _holed_clip

    _, _, color, depth, gt = _holed_clip(tmp_path, 2, 0.1, 3)
    for mode, want in (("far", 2), ("on", 0), ("off", None), ("fast", 0)):
        rep = tmp_path / f"r_{mode}.json"
        assert main([str(color), str(depth), "-o", str(tmp_path / f"o_{mode}.mkv"), "--gt", str(gt), "--report",
                     str(rep), "--model", str(tiny_model), "--backend", "torch", "--hole-fill", mode, "-q"]) == 0
        header = json.loads(rep.read_text())
        assert header["hole_fill"] == (mode != "off") and header["hole_fill_layers"] == want, (mode, header)
        assert header["hole_fill_preset"] == (None if mode == "off" else mode), (mode, header)
        # one JSON type for the one field: a number of layers is a float (HoleFill.layers), 2.0 and 0.0
        assert want is None or type(header["hole_fill_layers"]) is float, (mode, header)
