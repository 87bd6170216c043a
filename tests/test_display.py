"""Display layouts (igde_stream.display): quilt, RGB-D, slanted lenticular; expected values by hand."""

import json
from fractions import Fraction

import numpy as np
import pytest

from igde_stream import display
from igde_stream import multiview as mv
from igde_stream.errors import IGDEError, InputError, OutputError
from scenes import square_scene as square_depth
from scenes import textured
from scenes import write_video as _write


# ------------------------------------------------------------------------------------------ quilt


def test_quilt_tiles_bottom_left_is_leftmost_view():
    """6 views in a 3 x 2 quilt of a scene with one near square (depth 0.9 on a 0.5 background, zero
    parallax 0.5, baseline 20). By hand: view k sits at t_k = k/5 - 1/2 and moves the square by
    -t_k * 20 * (0.9 - 0.5) = -8 t_k px, rounded: t = -0.5, -0.3, -0.1, 0.1, 0.3, 0.5 ->
    +4, +2.4 -> 2, +0.8 -> 1, -1, -2, -4 (positive = right). Quilt order: view k in column k % 3
    of row k // 3 counted from the BOTTOM, so views 0-2 fill the bottom row (image rows 48..95)
    left to right, views 3-5 the top row (rows 0..47): bottom-left = view 0 (square moved right by
    4), top-right = view 5 (moved left by 4)."""
    c = textured()
    d = square_depth()
    cfg = mv.ViewConfig(n_views=6, baseline=20, zero_parallax=0.5)
    q = display.pack_quilt(mv.warp_views(c, d, cfg).views, display.QuiltSpec(3, 2))
    assert q.shape == (96, 192, 3)
    shifts = [4, 2, 1, -1, -2, -4]
    tiles = {0: (48, 0), 1: (48, 64), 2: (48, 128), 3: (0, 0), 4: (0, 64), 5: (0, 128)}  # (y0, x0) by hand
    views = mv.warp_views(c, d, cfg).views
    for k, (y0, x0) in tiles.items():
        tile = q[y0 : y0 + 48, x0 : x0 + 64]
        s = shifts[k]
        np.testing.assert_array_equal(tile[16:32, 24 + s : 40 + s], c[16:32, 24:40])
        np.testing.assert_array_equal(tile, views[k])  # and it is multiview's own view k
    bottom_left, top_right = q[48:, :64], q[:48, 128:]
    np.testing.assert_array_equal(bottom_left[16:32, 28:44], c[16:32, 24:40])  # moved right
    np.testing.assert_array_equal(top_right[16:32, 20:36], c[16:32, 24:40])  # moved left


def test_quilt_unpack_inverts_pack_and_blank_tiles():
    views = np.stack([np.full((6, 10, 3), 10 * (k + 1), np.uint8) for k in range(5)])
    q = display.pack_quilt(views, display.QuiltSpec(3, 2))
    # 5 views in 3 x 2: the top row holds views 3, 4 and a black tile at the top right
    assert q[0, 0, 0] == 40 and q[0, 10, 0] == 50 and (q[:6, 20:] == 0).all() and q[6, 0, 0] == 10
    np.testing.assert_array_equal(display.unpack_quilt(q, 3, 2, 5), views)
    assert display.unpack_quilt(q, 3, 2).shape == (6, 6, 10, 3)
    with pytest.raises(ValueError):
        display.pack_quilt(np.zeros((7, 6, 10, 3), np.uint8), display.QuiltSpec(3, 2))


def test_portrait_preset_fits_view_keeping_aspect():
    """Portrait: 8 x 6 tiles of 3360 / 8 = 420 x 3360 / 6 = 560 (aspect 0.75, so the display does
    not stretch them). A 960 x 540 view scales by min(420/960, 560/540) = 0.4375 -> 420 x 236.25 ->
    420 x 236, centred: rows (560 - 236) // 2 = 162 .. 398 of the tile, black above and below.
    View 0 is the bottom-left tile: image rows 3360 - 560 = 2800 .. 3359, columns 0 .. 419; view 1
    the next to the right (columns 420 .. 839)."""
    views = np.stack([np.full((540, 960, 3), v, np.uint8) for v in (200, 100)])
    q = display.pack_quilt(views, display.QUILT_PRESETS["portrait"])
    assert q.shape == (3360, 3360, 3)
    t0 = q[2800:3360, 0:420]
    assert (t0[162:398] == 200).all() and (t0[:162] == 0).all() and (t0[398:] == 0).all()
    assert (q[2800 + 162 : 2800 + 398, 420:840] == 100).all()
    assert (q[:2800] == 0).all() and (q[:, 840:] == 0).all()


def test_16in_preset_tiles_and_leftover_strip():
    """16": 5 x 9 tiles in 4096 x 4096: 4096 // 5 = 819 wide, 4096 // 9 = 455 tall, leaving 1 px
    (4096 - 4095) at the right and at the top, black (tiles sit at the bottom left). The display shows
    a tile at aspect 16:9, i.e. its pixels (16/9) * 455 / 819 = 0.9877 times as wide as tall, so a
    16:9 view (960 x 540) fills the whole 819 x 455 tile: 455 display units tall and 808.9 wide ->
    808.9 / 0.9877 = 819 tile pixels."""
    views = np.stack([np.full((540, 960, 3), v, np.uint8) for v in (200, 100)])
    q = display.pack_quilt(views, display.QUILT_PRESETS["16in"])
    assert q.shape == (4096, 4096, 3)
    assert (q[4096 - 455 :, 0:819] == 200).all() and (q[4096 - 455 :, 819:1638] == 100).all()
    assert (q[0] == 0).all() and (q[:, 4095] == 0).all() and (q[: 4096 - 455] == 0).all()


def test_quilt_name():
    assert display.quilt_path("out/clip.mp4", 8, 6, 0.75).as_posix() == "out/clip_qs8x6a0.75.mp4"
    assert display.quilt_path("clip.mkv", 5, 9, 16 / 9).name == "clip_qs5x9a1.78.mkv"
    assert display.quilt_path("clip.mkv", 4, 2, 1.0).name == "clip_qs4x2a1.mkv"
    assert display.quilt_path("clip_qs5x9a1.77.mp4", 5, 9, 16 / 9).name == "clip_qs5x9a1.77.mp4"  # within 0.01
    for bad in ("clip_qs5x9a1.78.mp4", "clip_qs8x5a0.75.mp4", "clip_qs8x6a0.5.mp4"):
        with pytest.raises(OutputError, match="the name says"):
            display.quilt_path(bad, 8, 6, 0.75)
    assert display.parse_quilt("8x6") == display.QuiltSpec(8, 6)
    with pytest.raises(ValueError):
        display.parse_quilt("8by6")


def test_quilt_name_tags_anywhere_must_agree():
    """Players take the first ``_qs`` tag they find: one in the middle of the name, or one without
    its aspect, that contradicts the options is refused like one at the end; one that agrees is
    kept and the full tag still ends the name."""
    for bad in ("nm4_qs3x2a1.67_final.mkv", "nm_qs4x4.mkv", "nm_QS3x2a1.67.mkv", "a_qs4x2a1.2_b.mkv"):
        with pytest.raises(OutputError, match="the name says"):
            display.quilt_path(bad, 4, 2, 1.67)
    assert display.quilt_path("nm_qs4x2.mkv", 4, 2, 1.67).name == "nm_qs4x2_qs4x2a1.67.mkv"
    assert display.quilt_path("v_qs4x2a1.67_cut.mkv", 4, 2, 1.67).name == "v_qs4x2a1.67_cut_qs4x2a1.67.mkv"
    assert display.quilt_path("v_qs4x2a1.67.mkv", 4, 2, 1.67).name == "v_qs4x2a1.67.mkv"


# ------------------------------------------------------------------------------------------ RGB-D


def test_rgbd_frame_and_unpack():
    c = textured(2, 3)
    d = np.array([[0, 128, 255], [1, 254, 60]], np.uint8)  # larger = nearer: 255 is the nearest
    f = display.rgbd_frame(c, d)
    assert f.shape == (2, 6, 3)
    np.testing.assert_array_equal(f[:, :3], c)
    np.testing.assert_array_equal(f[:, 3:], np.repeat(d[..., None], 3, axis=2))  # near = white (255)
    fb = display.rgbd_frame(c, d, near="black")
    np.testing.assert_array_equal(fb[0, 3:, 0], [255, 127, 0])  # by hand: 255 - d
    for frame, near in ((f, "white"), (fb, "black")):
        cc, dd = display.unpack_rgbd(frame, near)
        np.testing.assert_array_equal(cc, c)
        np.testing.assert_array_equal(dd, d)


def test_rgbd_16bit_rescaled_to_8bit():
    # round(d * 255 / 65535), by hand: 128 -> 0.498 -> 0; 129 -> 0.502 -> 1; 32767 -> 127.498 -> 127;
    # 32896 = 128 * 257 -> 128 exactly; 65535 -> 255
    d = np.array([[0, 128, 129], [32767, 32896, 65535]], np.uint16)
    np.testing.assert_array_equal(display.depth_to_8bit(d), [[0, 0, 1], [127, 128, 255]])
    # a float map in [0, 1] and a --max-depth: 0.5 * 255 = 127.5 -> 128 (rint, half to even -> 128)
    np.testing.assert_array_equal(display.depth_to_8bit(np.array([[0.5, 1.0]], np.float32)), [[128, 255]])
    np.testing.assert_array_equal(display.depth_to_8bit(np.array([[500, 1000]], np.uint16), 1000.0), [[128, 255]])


# ------------------------------------------------------------------------------------- lenticular

# van Berkel, 12 x 4 subpixels (4 pixels x 4 rows), tan a = 1/3, X = 4.5, N = 9, k_off = 0, by hand:
# 3 l tan a = l, so n = ((k - l) mod 4.5) * 9 / 4.5 = 2 ((k - l) mod 4.5). Row 0: k mod 4.5 =
# 0 1 2 3 4 0.5 1.5 2.5 3.5 0 1 2 -> n = 0 2 4 6 8 1 3 5 7 0 2 4. Row 1: (k - 1) mod 4.5 = 3.5 0 1 2 3
# 4 0.5 1.5 2.5 3.5 0 1 -> 7 0 2 4 6 8 1 3 5 7 0 2. Each row is the one above shifted right by one
# subpixel (the lens moves 3 tan a = 1 subpixel per row).
VAN_BERKEL_12x4 = np.array([
    [0, 2, 4, 6, 8, 1, 3, 5, 7, 0, 2, 4],
    [7, 0, 2, 4, 6, 8, 1, 3, 5, 7, 0, 2],
    [5, 7, 0, 2, 4, 6, 8, 1, 3, 5, 7, 0],
    [3, 5, 7, 0, 2, 4, 6, 8, 1, 3, 5, 7],
])
CAL9 = dict(n_views=9, pitch=4.5, tan_slant=1 / 3)


def test_view_map_matches_hand_table():
    cal = display.LenticularCalibration(**CAL9)
    n = display.view_number(cal, 4, 4)
    np.testing.assert_array_equal(n, VAN_BERKEL_12x4)
    # k_off = 0.3 adds 0.3 * 9 / 4.5 = 0.6 to every n: floor keeps the table (n + 0.6 < 9 where n <= 8),
    # round would move every view up by one
    shifted = display.LenticularCalibration(**CAL9, offset=0.3)
    np.testing.assert_allclose(display.view_number(shifted, 4, 4), VAN_BERKEL_12x4 + 0.6, atol=1e-9)
    np.testing.assert_array_equal(display.nearest_view(display.view_number(shifted, 4, 4), 9), VAN_BERKEL_12x4)


def test_subpixel_order_rgb_and_bgr():
    """Pixel (row 0, x 0) covers subpixels k = 0, 1, 2 with n = 0, 2, 4. An RGB panel puts R, G, B on
    k = 0, 1, 2 -> views (0, 2, 4); a BGR panel puts B, G, R there -> R gets view 4, B view 0."""
    rgb = display.channel_view_number(display.LenticularCalibration(**CAL9), 4, 4)
    bgr = display.channel_view_number(display.LenticularCalibration(**CAL9, subpixel_order="BGR"), 4, 4)
    np.testing.assert_array_equal(rgb[0, 0], [0, 2, 4])
    np.testing.assert_array_equal(bgr[0, 0], [4, 2, 0])
    np.testing.assert_array_equal(bgr[1, 3], [2, 0, 7])  # row 1, subpixels 9, 10, 11 = 7, 0, 2 reversed


def test_interleave_nearest_and_blend_by_hand():
    views = np.stack([np.full((4, 4, 3), 10 * i, np.uint8) for i in range(9)])  # view i is gray 10 i
    out = display.Interleaver(display.LenticularCalibration(**CAL9), (4, 4), (4, 4)).compose(views)
    np.testing.assert_array_equal(out.reshape(4, 12), 10 * VAN_BERKEL_12x4)  # RGB panel: panel order = channel order
    # blend with k_off = 0.3: n = table + 0.6, u = n - 1/2 = table + 0.1 -> 0.9 * 10 i + 0.1 * 10 (i + 1)
    # = 10 i + 1; where the table says 8, u = 8.1 is past the last centre: view 8 alone, 80
    cal = display.LenticularCalibration(**CAL9, offset=0.3)
    blended = display.Interleaver(cal, (4, 4), (4, 4), blend=True).compose(views).reshape(4, 12)
    expect = np.array([
        [1, 21, 41, 61, 80, 11, 31, 51, 71, 1, 21, 41],
        [71, 1, 21, 41, 61, 80, 11, 31, 51, 71, 1, 21],
        [51, 71, 1, 21, 41, 61, 80, 11, 31, 51, 71, 1],
        [31, 51, 71, 1, 21, 41, 61, 80, 11, 31, 51, 71],
    ])
    np.testing.assert_array_equal(blended, expect)


def test_interleave_fits_views_to_a_larger_panel():
    views = np.stack([np.full((2, 4, 3), 100 + i, np.uint8) for i in range(2)])
    cal = display.LenticularCalibration(n_views=2, pitch=2.0, tan_slant=0.0)
    # n = (k mod 2) * 2 / 2: subpixels alternate views 0, 1, 0, 1 ... on every row (no slant)
    out = display.Interleaver(cal, (8, 4), (4, 2)).compose(views)  # 2x: the 4 x 2 views fill 8 x 4
    np.testing.assert_array_equal(out.reshape(4, 24)[:, :6], [[100, 101] * 3] * 4)
    with pytest.raises(ValueError, match="smaller than the views"):
        display.Interleaver(cal, (3, 4), (4, 2))


def test_lenticular_layout_keeps_its_interleaver_for_one_view_size_and_remakes_it_for_another():
    """``outputs`` builds the interleaver for the size it is told; ``pack`` reuses it while the
    views keep that size (the subpixel maps are per panel, not per frame) and builds a new one when
    they do not. Views of 2 x 4 on an 8 x 4 panel are enlarged 4x across and 1x down, views of 4 x 2
    2x each way: the second must come out as a fresh Interleaver for 4 x 2 composes them, not as the
    2 x 4 maps would."""
    cal = display.LenticularCalibration(n_views=2, pitch=2.0, tan_slant=0.0)
    layout = display.make_layout("lenticular", mv.ViewConfig(n_views=2), calibration=cal, panel=(8, 4))
    layout.outputs("panel.mkv", (2, 4))
    first = layout.interleaver
    narrow = np.stack([np.full((4, 2, 3), 100 + i, np.uint8) for i in range(2)])
    layout.pack(narrow)
    assert layout.interleaver is first  # same size: the maps are not rebuilt
    wide = np.stack([np.arange(24, dtype=np.uint8).reshape(2, 4, 3) + 50 * i for i in range(2)])
    got = layout.pack(wide)[0]
    assert layout.interleaver is not first and layout.interleaver.view_size == (4, 2)
    np.testing.assert_array_equal(got, display.Interleaver(cal, (8, 4), (4, 2)).compose(wide))


@pytest.mark.parametrize("data,msg", [
    ({"n_views": 9, "pitch": 0, "tan_slant": 0.3}, "pitch must be > 0"),
    ({"n_views": 1, "pitch": 4.5, "tan_slant": 0.3}, "n_views must be an integer >= 2"),
    ({"n_views": 2.5, "pitch": 4.5, "tan_slant": 0.3}, "n_views must be an integer >= 2"),
    ({"n_views": 9, "pitch": 4.5, "tan_slant": 0.3, "subpixel_order": "RGBW"}, "subpixel_order"),
    ({"n_views": 9, "pitch": 4.5, "tan_slant": 0.3, "slope": 1}, "unknown key"),
    ({"n_views": 9, "pitch": 4.5}, "missing key"),
    ([9, 4.5], "JSON object"),
])
def test_bad_calibration_files(tmp_path, data, msg):
    p = tmp_path / "cal.json"
    p.write_text(json.dumps(data))
    with pytest.raises(InputError, match=msg) as e:
        display.LenticularCalibration.from_json(p)
    assert "\n" not in str(e.value) and str(p) in str(e.value)
    p.write_text("{not json")
    with pytest.raises(InputError, match="not JSON"):
        display.LenticularCalibration.from_json(p)


def test_sample_calibration_loads():
    cal = display.LenticularCalibration.from_json("docs/lenticular-calibration.json")
    assert cal.n_views == 8 and cal.pitch == 4.0


def test_layout_options_checked():
    cfg = mv.ViewConfig(n_views=8)
    with pytest.raises(ValueError, match="not an option of the grid layout"):
        display.make_layout("grid", cfg, squeeze=True)
    with pytest.raises(ValueError, match="for 9 views, not 8"):
        display.make_layout("lenticular", cfg, calibration=display.LenticularCalibration(**CAL9), panel=(64, 48))
    with pytest.raises(ValueError, match="do not fit"):
        display.make_layout("quilt", mv.ViewConfig(n_views=7), quilt=display.QuiltSpec(3, 2))
    with pytest.raises(ValueError, match="layout must be one of"):
        display.make_layout("mosaic", cfg)


def test_layout_missing_options_are_named():
    """quilt and lenticular have options without a default: missing, a ValueError naming them (not
    the constructor's TypeError)."""
    cfg = mv.ViewConfig(n_views=8)
    with pytest.raises(ValueError, match="the quilt layout needs quilt"):
        display.make_layout("quilt", cfg)
    with pytest.raises(ValueError, match="the lenticular layout needs calibration and panel"):
        display.make_layout("lenticular", cfg)
    with pytest.raises(ValueError, match="the lenticular layout needs panel"):
        display.make_layout("lenticular", cfg, calibration=display.LenticularCalibration(**CAL9))


# ----------------------------------------------------------------------------------- video files


def _read(path):
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


@pytest.fixture()
def clip(tmp_path):
    t, h, w = 2, 48, 64
    color = np.stack([textured(h, w, seed=i) for i in range(t)])
    gt = np.stack([(square_depth(h, w, box=(16, 32, 20 + 2 * i, 36 + 2 * i)) * 255).astype(np.uint8) for i in range(t)])
    _write(tmp_path / "c.mp4", color, "yuv420p")
    _write(tmp_path / "gt.mkv", gt)
    return tmp_path, gt


def _render(tmp, *extra, out="o.mkv", depth="gt.mkv"):
    from igde_stream import views_cli

    geometry = [] if "rgbd" in extra else ["--baseline", "16"]  # RGB-D renders no views: refused there
    return views_cli.main(["render", str(tmp / "c.mp4"), str(tmp / depth), "-o", str(tmp / out), *geometry, *extra])


def test_quilt_file_unpacks_to_the_views_bit_for_bit(clip):
    """FFV1 is lossless: the quilt read back and unpacked is multiview's views of the decoded
    inputs, bit for bit, so the view-quality figures are the same whatever the layout."""
    tmp, gt = clip
    assert _render(tmp, "--layout", "quilt", "--quilt", "4x2", "--quiet") == 0
    out = tmp / "o_qs4x2a1.33.mkv"  # 64 / 48 = 1.333 -> a1.33
    assert sorted(p.name for p in tmp.iterdir() if p.name.lstrip(".").startswith("o")) == [out.name]
    frames = _read(out)
    assert len(frames) == 2 and frames[0].shape == (96, 256, 3)
    c0 = _read(tmp / "c.mp4")[0]
    cfg = mv.ViewConfig(n_views=8, baseline=16)
    ref = mv.warp_views(c0, gt[0], cfg).views
    got = display.unpack_quilt(frames[0], 4, 2)
    np.testing.assert_array_equal(got, ref)
    from igde_stream import metrics

    assert all(metrics.psnr(got[k], ref[k]) == float("inf") for k in range(8))


def test_rgbd_file_unpacks_to_colour_and_depth(clip):
    tmp, gt = clip
    assert _render(tmp, "--layout", "rgbd", "--quiet") == 0
    f0 = _read(tmp / "o.mkv")[0]
    col, dep = display.unpack_rgbd(f0)
    np.testing.assert_array_equal(col, _read(tmp / "c.mp4")[0])
    np.testing.assert_array_equal(dep, gt[0])
    # the view-quality table of the unpacked depth against the original: identical views
    q = mv.view_quality(col, gt[0], {"rgbd": dep}, n_views=4, baseline=16)
    assert q["depths"]["rgbd"]["mean"]["psnr"] == float("inf")
    assert _render(tmp, "--layout", "rgbd", "--depth-near", "black", "--quiet", out="b.mkv") == 0
    np.testing.assert_array_equal(display.unpack_rgbd(_read(tmp / "b.mkv")[0], "black")[1], gt[0])
    assert (_read(tmp / "b.mkv")[0][20, 64 + 30] == 255 - 229).all()  # the near square (0.9 -> 229) is dark


def test_rgbd_16bit_input_says_so(clip, capsys):
    tmp, _ = clip
    d16 = np.stack([np.full((48, 64), v, np.uint16) for v in (32767, 65535)])
    _write(tmp / "d16.mkv", d16, "gray16le")
    assert _render(tmp, "--layout", "rgbd", depth="d16.mkv") == 0
    assert "uint16 depth rescaled to 8 bits" in capsys.readouterr().err
    frames = _read(tmp / "o.mkv")
    assert (frames[0][:, 64:] == 127).all() and (frames[1][:, 64:] == 255).all()  # by hand, see above


def test_lenticular_file_matches_interleaver(clip):
    tmp, gt = clip
    assert _render(tmp, "--layout", "lenticular", "--calibration", "docs/lenticular-calibration.json",
                   "--panel", "64x48", "--quiet") == 0
    c0 = _read(tmp / "c.mp4")[0]
    cal = display.LenticularCalibration.from_json("docs/lenticular-calibration.json")
    expect = display.Interleaver(cal, (64, 48), (64, 48)).compose(mv.warp_views(c0, gt[0], mv.ViewConfig(8, 16)).views)
    np.testing.assert_array_equal(_read(tmp / "o.mkv")[0], expect)


def test_device_preset_names_the_file(clip):
    tmp, _ = clip
    assert _render(tmp, "--device", "portrait", "--max-frames", "1", "--quiet", out="p.mp4") == 0
    f = _read(tmp / "p_qs8x6a0.75.mp4")
    assert len(f) == 1 and f[0].shape == (3360, 3360, 3)


LENT = ["--layout", "lenticular", "--calibration", "docs/lenticular-calibration.json"]


@pytest.mark.parametrize("extra,out,msg", [
    (["--layout", "quilt"], "o.mkv", "needs one of --quilt"),
    (["--quilt", "8by6"], "o.mkv", "COLUMNSxROWS"),
    (["--quilt", "2x2", "--views", "5"], "o.mkv", "5 views do not fit a 2x2 quilt"),
    (["--device", "portrait", "--quilt", "8x6"], "o.mkv", "needs one of"),
    (["--layout", "grid", "--device", "16in"], "o.mkv", "--device: not an option of --layout grid"),
    (["--depth-near", "black"], "o.mkv", "--depth-near: not an option of --layout grid"),
    (["--quilt", "4x2"], "o_qs5x9a1.78.mkv", "the name says qs5x9a1.78 but the options give qs4x2a1.33"),
    (["--layout", "lenticular", "--panel", "64x48"], "o.mkv", "needs --calibration"),
    (["--layout", "lenticular", "--calibration", "BAD", "--panel", "64x48"], "o.mkv", "pitch must be > 0"),
    ([*LENT, "--panel", "32x24"], "o.mkv", "the panel 32x24 is smaller than the views 64x48"),
    ([*LENT, "--panel", "64x48", "--views", "9"], "o.mkv", "for 8 views, not 9"),
    ([*LENT, "--panel", "64"], "o.mkv", "WIDTHxHEIGHT"),
])
def test_bad_options_one_line_exit_2_nothing_written(clip, capsys, extra, out, msg):
    tmp, _ = clip
    bad = tmp / "bad.json"
    bad.write_text(json.dumps({"n_views": 8, "pitch": 0, "tan_slant": 0.2}))
    before = sorted(p.name for p in tmp.iterdir())
    rc = _render(tmp, *[str(bad) if e == "BAD" else e for e in extra], out=out)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith("igde-stream views: error: ") and msg in err, err
    assert sorted(p.name for p in tmp.iterdir()) == before


def test_rgbd_writer_for_a_one_pass_pipeline(tmp_path):
    """What the main command's --rgbd would call per frame: RGBDWriter.write(colour, depth, pts)."""
    from igde_stream.stream.views import RGBDWriter

    c = textured(8, 12)
    d = np.arange(96, dtype=np.uint8).reshape(8, 12)
    w = RGBDWriter(tmp_path / "x_rgbd.mkv", "ffv1", Fraction(25), Fraction(1, 25))
    w.write(c, d, 0)
    assert w.frames == 1 and w.tmp.exists() and not (tmp_path / "x_rgbd.mkv").exists()
    w.close()
    col, dep = display.unpack_rgbd(_read(tmp_path / "x_rgbd.mkv")[0])
    np.testing.assert_array_equal(col, c)
    np.testing.assert_array_equal(dep, d)
    with pytest.raises(IGDEError):
        RGBDWriter(tmp_path / "y.mkv", "ffv1", Fraction(25), Fraction(1, 25), near="grey")
    w16 = RGBDWriter(tmp_path / "z.mkv", "ffv1", Fraction(25), Fraction(1, 25), near="black")
    w16.write(c, np.full((8, 12), 65535, np.uint16), 0)
    w16.abort()
    assert not [p.name for p in tmp_path.iterdir() if "z" in p.name]  # temporary names are hidden (.z...)
