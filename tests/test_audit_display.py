"""Audit: display layouts, cases the other display tests leave open (found by seeding wrong algorithms).

Every expected value is worked by hand from the documented formula (or from OpenCV's documented
bilinear sampling), never by calling the function under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream import display
from igde_stream import multiview as mv
from igde_stream.display.lenticular import Interleaver, LenticularCalibration, nearest_view
from igde_stream.errors import OutputError

# van Berkel's map for N = 9, X = 4.5, tan a = 1/3, k_off = 0 on 4 x 4 pixels, worked by hand in
# test_display.py: n = 2 ((k - l) mod 4.5).
VAN_BERKEL_12x4 = np.array([
    [0, 2, 4, 6, 8, 1, 3, 5, 7, 0, 2, 4],
    [7, 0, 2, 4, 6, 8, 1, 3, 5, 7, 0, 2],
    [5, 7, 0, 2, 4, 6, 8, 1, 3, 5, 7, 0],
    [3, 5, 7, 0, 2, 4, 6, 8, 1, 3, 5, 7],
])


# ------------------------------------------------------------------------------------------ quilt


def test_quilt_name_aspect_must_agree_within_a_hundredth():
    """The docstring: a name's aspect must agree within 0.01. 0.70 and 0.80 are 0.05 off 0.75 and
    0.73 is 0.02 off: refused; 0.755 is 0.005 off: kept as it is."""
    for bad in ("clip_qs8x6a0.7.mp4", "clip_qs8x6a0.8.mp4", "clip_qs8x6a0.73.mp4"):
        with pytest.raises(OutputError, match="the name says"):
            display.quilt_path(bad, 8, 6, 0.75)
    assert display.quilt_path("clip_qs8x6a0.755.mp4", 8, 6, 0.75).name == "clip_qs8x6a0.755.mp4"


def test_too_many_views_for_a_quilt_is_refused_by_name():
    """7 views in 3 x 2 tiles (6): the quilt's own error, not a NumPy broadcast error."""
    with pytest.raises(ValueError, match="7 views do not fit a 3x2 quilt"):
        display.pack_quilt(np.zeros((7, 4, 4, 3), np.uint8), display.QuiltSpec(3, 2))
    with pytest.raises(ValueError, match="3 views do not fit a 1x2 quilt"):
        display.pack_quilt(np.zeros((3, 4, 4, 3), np.uint8), display.QuiltSpec(1, 2, (8, 8), 1.0))


# ------------------------------------------------------------------------------------ fit_view


def test_fit_view_centres_a_tall_view_horizontally():
    """A 4 wide x 8 tall view into an 8 x 8 canvas: s = min(8 / 4, 8 / 8) = 1, so it stays 4 x 8 and
    sits at x0 = (8 - 4) // 2 = 2: columns 2..5 the view, 0..1 and 6..7 black."""
    view = (np.arange(8 * 4 * 3).reshape(8, 4, 3) * 2 + 1).astype(np.uint8)
    out = display.fit_view(view, (8, 8))
    assert out.shape == (8, 8, 3)
    np.testing.assert_array_equal(out[:, 2:6], view)
    assert (out[:, :2] == 0).all() and (out[:, 6:] == 0).all()


def test_quilt_preset_tile_centres_a_portrait_view():
    """A quilt with a fixed size: 2 x 1 tiles of 16 // 2 = 8 x 8 // 1 = 8, aspect 1 (par = 1 * 8 / 8).
    Each 4 x 8 view is centred in its tile: view 0 at columns 2..5, view 1 at 8 + 2 .. 8 + 5."""
    views = np.stack([np.full((8, 4, 3), v, np.uint8) for v in (50, 150)])
    q = display.pack_quilt(views, display.QuiltSpec(2, 1, (16, 8), 1.0))
    expect = np.zeros((8, 16), np.uint8)
    expect[:, 2:6], expect[:, 10:14] = 50, 150
    np.testing.assert_array_equal(q[..., 0], expect)


def test_fit_view_enlarges_bilinearly_not_in_blocks():
    """1 x 2 view (0 | 200) into a 4 x 2 canvas: s = min(4 / 2, 2 / 1) = 2, the whole canvas. Bilinear
    with pixel centres aligned samples source x = (x' + 1/2) / 2 - 1/2 = -0.25, 0.25, 0.75, 1.25,
    clamped at the edges: 0, 0.25 * 200, 0.75 * 200, 200 = 0, 50, 150, 200 on both rows
    (INTER_AREA would give blocks 0, 0, 200, 200)."""
    view = np.array([[[0, 0, 0], [200, 200, 200]]], np.uint8)
    out = display.fit_view(view, (4, 2))
    np.testing.assert_array_equal(out[..., 0], [[0, 50, 150, 200]] * 2)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


# ------------------------------------------------------------------------------------- lenticular


def test_nearest_view_a_hair_below_n_is_the_last_view():
    """n = 9 - 2e-12 lies in view 8's zone [8, 9); the 1e-9 nudge takes floor to 9, which must be
    clamped back to N - 1 = 8 (view 9 does not exist)."""
    np.testing.assert_array_equal(nearest_view(np.array([9 - 2e-12, 8.5, 0.0, 3.0]), 9), [8, 8, 0, 3])


def test_interleave_offset_a_hair_negative_keeps_every_subpixel_lit():
    """k_off = -1e-12 on the hand table: n = 2 ((k - l - 1e-12) mod 4.5). Where the table says 0,
    (k - l) mod 4.5 = 0 and the mod wraps to 4.5 - 1e-12: n = 9 - 2e-12, view 8 (the top of the
    lens); elsewhere n = table - 2e-12 stays in the table's view. View i is gray 10 i + 5, so no
    subpixel may come out black."""
    views = np.stack([np.full((4, 4, 3), 10 * i + 5, np.uint8) for i in range(9)])
    cal = LenticularCalibration(n_views=9, pitch=4.5, tan_slant=1 / 3, offset=-1e-12)
    out = Interleaver(cal, (4, 4), (4, 4)).compose(views).reshape(4, 12)
    np.testing.assert_array_equal(out, 10 * np.where(VAN_BERKEL_12x4 == 0, 8, VAN_BERKEL_12x4) + 5)


def test_blend_rounds_to_nearest():
    """N = 2, X = 2, tan a = 0, k_off = 0.8, panel 2 x 1 (6 subpixels): n = (k + 0.8) mod 2 =
    0.8, 1.8, 0.8, ... Even k: u = n - 1/2 = 0.3, views 0 and 1 weighted 0.7 / 0.3:
    0.7 * 0 + 0.3 * 103 = 30.9 -> 31 (rounded, not cut to 30). Odd k: u = 1.3, clamped to 1 = the
    last centre: view 1 alone, 103."""
    views = np.stack([np.full((1, 2, 3), v, np.uint8) for v in (0, 103)])
    cal = LenticularCalibration(n_views=2, pitch=2.0, tan_slant=0.0, offset=0.8)
    out = Interleaver(cal, (2, 1), (2, 1), blend=True).compose(views)
    np.testing.assert_array_equal(out.reshape(-1), [31, 103, 31, 103, 31, 103])


# ------------------------------------------------------------------------------------------ RGB-D


def test_unpack_rgbd_takes_the_rounded_mean_of_unequal_channels():
    """A lossy RGB-D frame's gray is no longer R = G = B: depth = round(mean). (10, 11, 11): 32 / 3 =
    10.67 -> 11; (10, 10, 11): 10.33 -> 10; (0, 0, 2): 0.67 -> 1; (255, 255, 254): 254.67 -> 255.
    near black: 255 - those."""
    right = np.array([[[10, 11, 11], [10, 10, 11], [0, 0, 2], [255, 255, 254]]], np.uint8)
    frame = np.concatenate([np.zeros_like(right), right], axis=1)
    _, depth = display.unpack_rgbd(frame)
    np.testing.assert_array_equal(depth, [[11, 10, 1, 255]])
    _, dark = display.unpack_rgbd(frame, "black")
    np.testing.assert_array_equal(dark, [[244, 245, 254, 0]])


def test_halves_splits_along_the_axis_it_is_given():
    frame = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    top, bottom = display.halves(frame, axis=0)
    np.testing.assert_array_equal(top, frame[:2])
    np.testing.assert_array_equal(bottom, frame[2:])
    left, right = display.halves(frame, axis=1)
    np.testing.assert_array_equal(left, frame[:, :3])
    np.testing.assert_array_equal(right, frame[:, 3:])
    with pytest.raises(ValueError, match="odd height"):
        display.halves(frame[:3], axis=0)


def test_grid_shape_with_one_side_given_and_bad_sides():
    from igde_stream.display.grid import grid_shape

    assert grid_shape(7, rows=2) == (2, 4) and grid_shape(7, cols=3) == (3, 3) and grid_shape(4, rows=1) == (1, 4)
    for bad in ({"rows": 0}, {"cols": 0}, {"rows": -1}):
        with pytest.raises(ValueError, match=">= 1"):
            grid_shape(4, **bad)


def test_fit_view_scales_by_hand():
    """Enlarging is bilinear, shrinking an area mean, also when one side keeps its size; the pixel
    aspect ``par`` widens or narrows the fitted view; a tiny side stays at least one pixel."""
    import cv2

    from igde_stream.display.grid import fit_view

    rng = np.random.default_rng(0)
    v = rng.integers(0, 256, (2, 4, 3), dtype=np.uint8)
    np.testing.assert_array_equal(fit_view(v, (8, 4)), cv2.resize(v, (8, 4), interpolation=cv2.INTER_LINEAR))
    assert fit_view(v, (4, 2)) is v
    # par 1/3: the 4 x 6 view fits a 8 x 2 canvas at 4 x 2 (x0 2): rows averaged three by three
    tall = rng.integers(0, 256, (6, 4, 3), dtype=np.uint8)
    out = fit_view(tall, (8, 2), par=1 / 3)
    rows = np.rint(tall.reshape(2, 3, 4, 3).astype(np.float64).mean(1)).astype(np.uint8)
    np.testing.assert_array_equal(out[:, 2:6], rows)
    assert not out[:, :2].any() and not out[:, 6:].any()
    # par 3: the 6 x 2 view fits a 4 x 2 canvas at 2 x 2 (x0 1): columns averaged three by three
    wide = rng.integers(0, 256, (2, 6, 3), dtype=np.uint8)
    out = fit_view(wide, (4, 2), par=3.0)
    cols = np.rint(wide.reshape(2, 2, 3, 3).astype(np.float64).mean(2)).astype(np.uint8)
    np.testing.assert_array_equal(out[:, 1:3], cols)
    assert not out[:, 0].any() and not out[:, 3].any()
    assert fit_view(rng.integers(0, 256, (100, 1, 3), dtype=np.uint8), (10, 1)).shape == (1, 10, 3)
    assert fit_view(rng.integers(0, 256, (1, 100, 3), dtype=np.uint8), (1, 10)).shape == (10, 1, 3)


def test_presets_and_anaglyph_matrices_are_the_published_ones():
    """Looking Glass's published quilt settings (portrait 8x6 at 3360x3360, 3:4 views; Go 11x6 at
    4092x4092, 9:16 views; 16" and 32" 5x9 at 4096x4096 and 8192x8192, 65" 8x9 at 8192x8192, 16:9
    views) and E. Dubois's 2009 red-cyan least-squares
    matrices, as printed in his note."""
    quilts = {name: (q.cols, q.rows, q.size, round(q.aspect, 6)) for name, q in display.QUILT_PRESETS.items()}
    assert quilts == {"portrait": (8, 6, (3360, 3360), 0.75), "16in": (5, 9, (4096, 4096), round(16 / 9, 6)),
                      "32in": (5, 9, (8192, 8192), round(16 / 9, 6)), "go": (11, 6, (4092, 4092), 0.5625),
                      "65in": (8, 9, (8192, 8192), round(16 / 9, 6))}
    np.testing.assert_array_equal(display.DUBOIS_RED_CYAN_LEFT, [[0.437, 0.449, 0.164], [-0.062, -0.062, -0.024],
                                                                 [-0.048, -0.050, -0.017]])
    np.testing.assert_array_equal(display.DUBOIS_RED_CYAN_RIGHT, [[-0.011, -0.032, -0.007], [0.377, 0.761, 0.009],
                                                                  [-0.026, -0.093, 1.234]])


def test_unpack_quilt_takes_between_one_and_every_tile():
    q = np.zeros((4, 6, 3), np.uint8)  # 3 x 2 tiles of 2 x 2
    assert display.unpack_quilt(q, 3, 2).shape == (6, 2, 2, 3) and display.unpack_quilt(q, 3, 2, 1).shape == (1, 2, 2, 3)
    assert display.unpack_quilt(q, 6, 4).shape == (24, 1, 1, 3)  # 1 px tiles are tiles
    for cols, rows, n in ((3, 2, 0), (3, 2, 7), (7, 2, None), (3, 5, None)):  # no view, too many, tiles under 1 px
        with pytest.raises(ValueError, match="cannot take"):
            display.unpack_quilt(q, cols, rows, n)


def test_depth_to_8bit_rounds_every_16_bit_level_and_reads_far_high_depth():
    every = np.arange(65536, dtype=np.uint16)
    np.testing.assert_array_equal(display.depth_to_8bit(every), np.rint(every / 257.0).astype(np.uint8))
    # far-high millimetres under max_depth 5000: 250 mm (the near limit) is 255, 5000 mm 0.05 -> 13, 0 stays 0
    np.testing.assert_array_equal(display.depth_to_8bit(np.array([0, 250, 500, 5000], np.uint16), 5000.0, "far-high"),
                                  [0, 255, 128, 13])


@pytest.mark.parametrize("n,rows,cols", [(8, 8, 8), (8, 3, 4), (8, 2, 5), (8, 10, None), (4, None, 5),
                                         (2, 2, 2)])
def test_a_grid_with_a_whole_blank_row_or_column_is_refused(n, rows, cols):
    """8 views in 8 x 8 tiles (56 black), 3 x 4 (a black row), 2 x 5 (a black column), 10 rows of
    one (two black rows): refused, naming the automatic shape; 7 views in 3 x 3 (two black tiles in
    one row) and the automatic shapes of 1-64 views are kept."""
    from igde_stream.display.grid import grid_shape

    with pytest.raises(ValueError, match="leave a whole row or column blank"):
        grid_shape(n, rows, cols)
    assert grid_shape(7, 3, 3) == (3, 3) and grid_shape(8, 4, 2) == (4, 2) and grid_shape(5, 2, 3) == (2, 3)
    for k in range(1, 65):
        r, c = grid_shape(k)
        assert (r - 1) * c < k and r * (c - 1) < k, k


def test_lenticular_layout_composes_with_the_interleaver_it_checked_when_another_thread_swaps_it():
    """One layout shared by two threads with frames of two sizes: between ``pack``'s size check and
    its compose, the other thread's frame may put an interleaver of the other size in its place. The
    check's own interleaver composes the frame (the attribute read twice would compose 4 x 2 views
    with 2 x 4 maps: a ValueError). The swap is made where it would happen, inside the check."""
    cal = display.LenticularCalibration(n_views=2, pitch=2.0, tan_slant=0.0)
    layout = display.make_layout("lenticular", mv.ViewConfig(n_views=2), calibration=cal, panel=(8, 4))
    own, others = display.Interleaver(cal, (8, 4), (4, 2)), display.Interleaver(cal, (8, 4), (2, 4))

    class _Checked:  # the interleaver this call checks; reading its size lets the other thread in
        @property
        def view_size(self):
            layout.interleaver = others
            return own.view_size

        def compose(self, views):
            return own.compose(views)

    layout.interleaver = _Checked()
    wide = np.stack([np.arange(24, dtype=np.uint8).reshape(2, 4, 3) + 50 * i for i in range(2)])
    np.testing.assert_array_equal(layout.pack(wide)[0], own.compose(wide))
