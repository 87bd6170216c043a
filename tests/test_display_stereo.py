"""Stereo-pair layouts (igde_stream.display.stereo): top and bottom (tab), red-cyan anaglyph, and the
side by side they share code with. Expected values are built independently: np.concatenate and
cv2.resize for the packings, the published Dubois matrices worked by hand (scalar Python) for the
anaglyph, and the near square's shift worked by hand for which view is the left one."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import read_video, write_video
from igde_stream import display
from igde_stream import multiview as mv
from scenes import square_scene, textured

# ------------------------------------------------------------------------------ top and bottom


def test_tab_is_left_over_right_and_squeeze_halves_the_height():
    """H = 7 (odd), W = 10. Full: 14 x 10, left on top. Squeezed: the left view resized to 10 x 4
    ((7 + 1) // 2 rows) over the right resized to 10 x 3, INTER_AREA, as sbs gives the left view
    the extra column for an odd width."""
    left, right = textured(7, 10, seed=1), textured(7, 10, seed=2)
    np.testing.assert_array_equal(display.top_and_bottom(left, right), np.concatenate([left, right], axis=0))
    half = display.top_and_bottom(left, right, squeeze=True)
    expect = np.concatenate([cv2.resize(left, (10, 4), interpolation=cv2.INTER_AREA),
                             cv2.resize(right, (10, 3), interpolation=cv2.INTER_AREA)], axis=0)
    assert half.shape == (7, 10, 3)
    np.testing.assert_array_equal(half, expect)
    # constant views, by hand: 4 rows of the left's 10, then 3 rows of the right's 200
    flat = display.top_and_bottom(np.full((7, 10, 3), 10, np.uint8), np.full((7, 10, 3), 200, np.uint8), True)
    np.testing.assert_array_equal(flat[:, 0, 0], [10, 10, 10, 10, 200, 200, 200])
    # side by side splits an odd width the same way: 5 + 4 columns of 9
    sbs = display.side_by_side(np.full((3, 9, 3), 10, np.uint8), np.full((3, 9, 3), 200, np.uint8), True)
    np.testing.assert_array_equal(sbs[0, :, 0], [10] * 5 + [200] * 4)
    np.testing.assert_array_equal(display.side_by_side(left, right, squeeze=True),
                                  np.concatenate([cv2.resize(left, (5, 7), interpolation=cv2.INTER_AREA),
                                                  cv2.resize(right, (5, 7), interpolation=cv2.INTER_AREA)], axis=1))
    with pytest.raises(ValueError, match="cannot squeeze"):
        display.top_and_bottom(np.zeros((1, 4, 3), np.uint8), np.zeros((1, 4, 3), np.uint8), squeeze=True)
    with pytest.raises(ValueError, match="differ in shape"):
        display.top_and_bottom(left, right[:6])


def test_tab_layout_puts_the_leftmost_view_on_top():
    """A near square (depth 0.9 on 0.5, zero parallax 0.5, baseline 20): the leftmost view (t = -1/2)
    moves it by -t * 20 * 0.4 = +4 px (right), the rightmost by -4 (left); so the top half shows it at
    columns 28..43, the bottom half at 20..35 (by hand, as in test_display's quilt test)."""
    c, d = textured(), square_scene()
    cfg = mv.ViewConfig(n_views=6, baseline=20, zero_parallax=0.5)
    frame = display.make_layout("tab", cfg).frames(c, d)[0]
    assert frame.shape == (96, 64, 3)
    np.testing.assert_array_equal(frame[16:32, 28:44], c[16:32, 24:40])  # top = left view: moved right
    np.testing.assert_array_equal(frame[48 + 16 : 48 + 32, 20:36], c[16:32, 24:40])  # bottom: moved left
    views = mv.warp_views(c, d, cfg).views
    np.testing.assert_array_equal(frame, np.concatenate([views[0], views[-1]], axis=0))
    half = display.make_layout("tab", cfg, squeeze=True).pack(views)[0]
    np.testing.assert_array_equal(half, np.concatenate([cv2.resize(views[0], (64, 24), interpolation=cv2.INTER_AREA),
                                                        cv2.resize(views[-1], (64, 24), interpolation=cv2.INTER_AREA)]))


# ------------------------------------------------------------------------------------ anaglyph

# Dubois (2009) red-cyan, as published (LeastSquaresHowToPhotoshop.pdf): rows = anaglyph R, G, B
PUBLISHED_LEFT = ((0.437, 0.449, 0.164), (-0.062, -0.062, -0.024), (-0.048, -0.050, -0.017))
PUBLISHED_RIGHT = ((-0.011, -0.032, -0.007), (0.377, 0.761, 0.009), (-0.026, -0.093, 1.234))


def _dubois_pixel(left: tuple[int, int, int], right: tuple[int, int, int]) -> tuple[int, ...]:
    """One pixel by hand, scalar: sRGB -> linear, each eye's term clipped to [0, 1], summed, clipped,
    linear -> sRGB, round(255 x)."""

    def lin(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    def enc(x: float) -> float:
        return 12.92 * x if x <= 0.0031308 else 1.055 * x ** (1 / 2.4) - 0.055

    def clip(x: float) -> float:
        return min(max(x, 0.0), 1.0)

    out = []
    for i in range(3):
        a = clip(sum(PUBLISHED_LEFT[i][j] * lin(left[j]) for j in range(3)))
        b = clip(sum(PUBLISHED_RIGHT[i][j] * lin(right[j]) for j in range(3)))
        out.append(round(255 * enc(clip(a + b))))
    return tuple(out)


def _const(rgb, h=3, w=5):
    return np.broadcast_to(np.array(rgb, np.uint8), (h, w, 3)).copy()


def test_dubois_anaglyph_of_constant_views_by_hand():
    """White over black: left term (1.050, -0.148, -0.115) -> clipped (1, 0, 0), right term 0: pure
    red. The reverse: right term (-0.050, 1.147, 1.115) -> (0, 1, 1): pure cyan. Gray 128 both: linear
    ((128/255 + 0.055) / 1.055) ** 2.4 = 0.21586; R = 1.050 x 0.21586 = 0.22666 -> sRGB 0.51338 -> 131;
    G = 1.147 x 0.21586 = 0.24759 -> 136; B = 1.115 x 0.21586 = 0.24068 -> 135. White left, gray 128
    right: R = clip(1.050) + clip(-0.050 x 0.216) = 1 -> 255, G = 0 + 0.24759 -> 136 (136 because the
    left term -0.148 is clipped to 0 before adding; added unclipped it would be 0.0996 -> 89)."""
    white, black, gray = (255, 255, 255), (0, 0, 0), (128, 128, 128)
    for left, right, expect in ((white, black, (255, 0, 0)), (black, white, (0, 255, 255)),
                                (gray, gray, (131, 136, 135)), (white, gray, (255, 136, 135))):
        out = display.anaglyph(_const(left), _const(right))
        assert out.shape == (3, 5, 3) and out.dtype == np.uint8
        assert (out == expect).all(), (left, right, out[0, 0])
        assert _dubois_pixel(left, right) == expect  # the scalar reference agrees with the hand figures


@pytest.mark.parametrize("left,right", [
    ((200, 100, 50), (30, 160, 220)), ((10, 240, 90), (250, 20, 130)), ((3, 7, 11), (90, 91, 92)),
    ((255, 0, 0), (0, 255, 0)), ((60, 60, 250), (250, 250, 10)),
])
def test_dubois_anaglyph_matches_the_published_matrices(left, right):
    out = display.anaglyph(_const(left), _const(right))
    assert tuple(out[1, 2]) == _dubois_pixel(left, right)
    swapped = display.anaglyph(_const(right), _const(left))
    assert tuple(swapped[0, 0]) == _dubois_pixel(right, left) != _dubois_pixel(left, right)


def test_colour_anaglyph_takes_red_from_the_left():
    left, right = textured(4, 6, seed=3), textured(4, 6, seed=4)
    out = display.anaglyph(left, right, "color")
    np.testing.assert_array_equal(out[..., 0], left[..., 0])
    np.testing.assert_array_equal(out[..., 1:], right[..., 1:])
    assert tuple(display.anaglyph(_const((200, 100, 50)), _const((30, 160, 220)), "color")[0, 0]) == (200, 160, 220)
    with pytest.raises(ValueError, match="anaglyph must be one of dubois, color"):
        display.anaglyph(left, right, "green-magenta")


def test_make_layout_options_of_the_stereo_layouts():
    cfg = mv.ViewConfig(n_views=8)
    assert isinstance(display.make_layout("tab", cfg, squeeze=True), display.TopAndBottom)
    assert display.make_layout("anaglyph", cfg).method == "dubois"
    assert display.make_layout("anaglyph", cfg, anaglyph="color").method == "color"
    # a squeeze needs 2 pixels to split, checked before any file is opened: 1 row for tab, 1 column for sbs
    assert display.make_layout("tab", cfg, squeeze=True).outputs("o.mkv", (1, 2)) == [Path("o.mkv")]
    for name, size in (("tab", (4, 1)), ("sbs", (1, 4))):
        with pytest.raises(ValueError, match="cannot squeeze"):
            display.make_layout(name, cfg, squeeze=True).outputs("o.mkv", size)
    for name, opts, msg in (("tab", {"anaglyph": "color"}, "not an option of the tab layout"),
                            ("anaglyph", {"squeeze": True}, "not an option of the anaglyph layout"),
                            ("sbs", {"anaglyph": "dubois"}, "not an option of the sbs layout"),
                            ("anaglyph", {"anaglyph": "amber"}, "anaglyph must be one of")):
        with pytest.raises(ValueError, match=msg):
            display.make_layout(name, cfg, **opts)


# ------------------------------------------------------------------------- views render, files


def _clip(tmp, w, h, smooth=False):
    """Two frames of w x h: colour (lossless FFV1 RGB, so odd sizes work; ``smooth``: gradients and
    a light square, which H.264 keeps well) and 8-bit depth with a near square."""
    yy, xx = np.mgrid[:h, :w]
    colors = []
    for i in range(2):
        if smooth:
            c = np.stack([xx * 200 // w + 20, yy * 200 // h + 20, np.full_like(xx, 90 + 40 * i)], -1).astype(np.uint8)
            c[16:32, 20:36] = 235
        else:
            c = textured(h, w, seed=10 + i)
        colors.append(c)
    depth = [(square_scene(h, w, box=(16, 32, 20 + 2 * i, 36 + 2 * i)) * 255).astype(np.uint8) for i in range(2)]
    write_video(tmp / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(25))
    write_video(tmp / "d.mkv", depth, fmt="gray", rate=Fraction(25))
    return colors, depth


def _render(tmp, *extra, out="o.mkv"):
    from igde_stream import views_cli

    return views_cli.main(["render", str(tmp / "c.mkv"), str(tmp / "d.mkv"), "-o", str(tmp / out), "--baseline", "16",
                           "--quiet", *extra])


def _pair(color, depth):
    v = mv.warp_views(color, depth, mv.ViewConfig(n_views=8, baseline=16)).views  # what the CLI renders, 8 views
    return v[0], v[-1]


def test_views_render_tab_and_half_tab_odd_size(tmp_path):
    """63 x 47: tab is 63 x 94; half-TAB keeps 63 x 47 with 24 rows of the left view over 23 of the
    right, exactly (FFV1), as np.concatenate of cv2.resize gives them."""
    colors, depth = _clip(tmp_path, 63, 47)
    assert _render(tmp_path, "--layout", "tab", out="full.mkv") == 0
    assert _render(tmp_path, "--layout", "tab", "--squeeze", out="half.mkv") == 0
    full, _, facts = read_video(tmp_path / "full.mkv")
    half, _, _ = read_video(tmp_path / "half.mkv")
    assert len(full) == len(half) == 2 and (facts["width"], facts["height"]) == (63, 94)
    for t in range(2):
        left, right = _pair(colors[t], depth[t])
        assert not np.array_equal(left, right)
        np.testing.assert_array_equal(full[t], np.concatenate([left, right], axis=0))
        expect = np.concatenate([cv2.resize(left, (63, 24), interpolation=cv2.INTER_AREA),
                                 cv2.resize(right, (63, 23), interpolation=cv2.INTER_AREA)], axis=0)
        assert half[t].shape == (47, 63, 3)
        np.testing.assert_array_equal(half[t], expect)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mkv", "d.mkv", "full.mkv", "half.mkv"]


def test_views_render_anaglyph_files(tmp_path):
    colors, depth = _clip(tmp_path, 63, 47)
    assert _render(tmp_path, "--layout", "anaglyph", out="dubois.mkv") == 0
    assert _render(tmp_path, "--layout", "anaglyph", "--anaglyph", "color", out="color.mkv") == 0
    dub, _, facts = read_video(tmp_path / "dubois.mkv")
    col, _, _ = read_video(tmp_path / "color.mkv")
    assert (facts["width"], facts["height"]) == (63, 47) and len(dub) == len(col) == 2
    for t in range(2):
        left, right = _pair(colors[t], depth[t])
        np.testing.assert_array_equal(col[t][..., 0], left[..., 0])  # red from the left view
        np.testing.assert_array_equal(col[t][..., 1:], right[..., 1:])
        np.testing.assert_array_equal(dub[t], display.anaglyph(left, right))  # pinned by hand above
        assert not np.array_equal(dub[t], display.anaglyph(right, left))
    y, x = 20, 40  # a pixel checked against the scalar reference: which view is which, end to end
    left, right = _pair(colors[0], depth[0])
    assert tuple(dub[0][y, x]) == _dubois_pixel(tuple(left[y, x]), tuple(right[y, x]))


def test_views_render_tab_h264(tmp_path):
    """H.264 (yuv420p) takes even sizes only, as for sbs: tab of 64 x 47 is 64 x 94 and is written;
    half-TAB keeps 47 rows and is refused like half-SBS of an odd width, nothing written."""
    colors, depth = _clip(tmp_path, 64, 47, smooth=True)
    assert _render(tmp_path, "--layout", "tab", "--codec", "h264", out="tab.mp4") == 0
    import av

    with av.open(str(tmp_path / "tab.mp4")) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 2 and frames[0].shape == (94, 64, 3)
    left, right = _pair(colors[0], depth[0])
    from igde_stream import metrics

    # lossy (4:2:0 colour, about 30 dB here), but far nearer the left-over-right pair than the swapped one (17 dB)
    good, swapped = (metrics.psnr(frames[0], np.concatenate(p)) for p in ((left, right), (right, left)))
    assert good > 27 and swapped < good - 6, (good, swapped)


def _names(tmp):
    return sorted(p.name for p in tmp.iterdir())


@pytest.mark.parametrize("extra,msg", [
    (["--layout", "sbs", "--anaglyph", "color"], "--anaglyph: not an option of --layout sbs"),
    (["--anaglyph", "dubois"], "--anaglyph: not an option of --layout grid"),
    (["--layout", "tab", "--anaglyph", "color"], "--anaglyph: not an option of --layout tab"),
    (["--layout", "anaglyph", "--squeeze"], "--squeeze: not an option of --layout anaglyph"),
    (["--layout", "quilt", "--quilt", "2x2", "--squeeze"], "--squeeze: not an option of --layout quilt"),
    (["--layout", "tab", "--squeeze", "--codec", "h264"], "H.264 yuv420p needs even sizes, got 64x47"),
    # the option that gives the ffv1 codec, in either command
    (["--layout", "tab", "--squeeze", "--codec", "h264"], "views render --codec ffv1; --views-codec ffv1 with"),
    (["--layout", "anaglyph", "--codec", "h264"], "H.264 yuv420p needs even sizes, got 64x47"),
])
def test_bad_stereo_options_one_line_exit_2_nothing_written(tmp_path, capsys, extra, msg):
    _clip(tmp_path, 64, 47)
    before = _names(tmp_path)
    rc = _render(tmp_path, *extra, out="o.mp4")
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith("igde-stream views: error: ") and msg in err, err
    assert _names(tmp_path) == before


def test_unknown_anaglyph_is_an_argparse_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        _render(tmp_path, "--layout", "anaglyph", "--anaglyph", "amber")
    assert e.value.code == 2 and "invalid choice: 'amber'" in capsys.readouterr().err
    assert _names(tmp_path) == []


# ----------------------------------------------------------------- one pass: --views-out


@pytest.mark.parametrize("layout_args", [["--layout", "tab", "--squeeze"], ["--layout", "anaglyph"],
                                         ["--layout", "anaglyph", "--anaglyph", "color"]])
def test_one_pass_views_out_equals_enhance_then_render(make_clip, tiny_model, layout_args):
    from igde_stream import cli, views_cli

    clip = make_clip(n=3, color_ext=".mkv")
    d = clip["out"].parent
    args = [str(clip["color"]), str(clip["depth"]), "-o", str(clip["out"]), "--views-out", str(d / "v.mkv"),
            "--baseline", "20", *layout_args, "--model", str(tiny_model), "--backend", "torch", "-q"]
    assert cli.main(args) == 0
    assert views_cli.main(["render", str(clip["color"]), str(clip["out"]), "-o", str(d / "ref.mkv"), "--baseline",
                           "20", *layout_args, "--quiet"]) == 0
    (got, pts, facts), (ref, ref_pts, _) = read_video(d / "v.mkv"), read_video(d / "ref.mkv")
    assert (facts["width"], facts["height"]) == (64, 48) and len(got) == len(ref) == 3 and pts == ref_pts
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("extra,msg", [
    (["--anaglyph", "color"], "--anaglyph: needs --views-out"),
    (["--views-out", "v.mkv", "--layout", "tab", "--anaglyph", "color"], "--anaglyph: not an option of --layout tab"),
    (["--views-out", "v.mkv", "--layout", "anaglyph", "--squeeze"], "--squeeze: not an option of --layout anaglyph"),
])
def test_one_pass_bad_stereo_options(make_clip, tiny_model, capsys, extra, msg):
    from igde_stream import cli

    clip = make_clip(n=2)
    d = clip["out"].parent
    before = _names(d)
    extra = [str(d / e) if e.endswith(".mkv") else e for e in extra]
    rc = cli.main([str(clip["color"]), str(clip["depth"]), "-o", str(clip["out"]), *extra, "--model", str(tiny_model),
                   "--backend", "torch", "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and msg in err, err
    assert _names(d) == before


def test_views_options_reach_the_stereo_layouts():
    from igde_stream.stream.outputs import ViewsOptions

    lay = ViewsOptions(layout="tab", layout_options={"squeeze": True}).make_layout()
    assert isinstance(lay, display.TopAndBottom) and lay.squeeze
    assert ViewsOptions(layout="anaglyph", layout_options={"anaglyph": "color"}).make_layout().method == "color"
