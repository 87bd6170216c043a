"""The display outputs against what users' displays and players expect, read back from the files.

Expected layouts are worked by hand from each convention, never from the packing under test:
- stereo pair: the left eye's view on the left (sbs) / on top (tab), as parallel-view SBS and
  half-SBS / half-TAB 3D TVs take it; a near square moves right in the left eye's view;
- the files say so: Matroska StereoMode (1 side by side left eye first, 3 top-bottom left eye
  first, 10 anaglyph cyan/red: read back by ffprobe as the stream's ``stereo_mode`` and its
  "Stereo 3D" side data) and, for H.264, the frame-packing SEI (type 3 side by side, 4 top and
  bottom), which 3D TVs and players read in MP4 too;
- Looking Glass quilts: the published per-device quilt settings (Looking Glass Bridge / toolkit
  device templates), view 0 at the bottom left, the ``_qs{C}x{R}a{aspect}`` name;
- RGB-D: colour on the left, depth on the right, near = white, through H.264 in MP4 as Looking
  Glass Studio and depth players take it.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from conftest import read_video, write_video
from igde_stream import display, views_cli
from igde_stream import multiview as mv
from igde_stream.stream.orientation import frame_side_data

H, W = 48, 64
BOX = (16, 32, 24, 40)  # the near square: rows 16:32, columns 24:40
FFPROBE = shutil.which("ffprobe")


@pytest.fixture()
def bw(tmp_path):
    """A white square on black, lossless colour (FFV1), its depth near (230) on a background at the
    zero-parallax plane (128 with --zero-parallax 128/255): only the square moves, by
    -t * B * (d - Z) = +-1/2 * 20 * (230 - 128) / 255 = +-4 px (left eye: +4, to the right)."""
    color = np.zeros((2, H, W, 3), np.uint8)
    color[:, BOX[0]:BOX[1], BOX[2]:BOX[3]] = 255
    depth = np.full((2, H, W), 128, np.uint8)
    depth[:, BOX[0]:BOX[1], BOX[2]:BOX[3]] = 230
    write_video(tmp_path / "c.mkv", list(color), fmt="rgb24", codec="ffv1")
    write_video(tmp_path / "d.mkv", list(depth), fmt="gray")
    return tmp_path


def _render(tmp, out, *extra):
    args = ["render", str(tmp / "c.mkv"), str(tmp / "d.mkv"), "-o", str(tmp / out), "--quiet"]
    if "rgbd" not in extra:
        args += ["--baseline", "20", "--zero-parallax", str(128 / 255)]
    assert views_cli.main(args + list(extra)) == 0
    return tmp / out


def _white(rows, cols, h, w):
    img = np.zeros((h, w, 3), np.uint8)
    img[rows[0]:rows[1], cols[0]:cols[1]] = 255
    return img


# ------------------------------------------------------------------------ pixel placement, by hand


def test_sbs_and_tab_files_put_the_left_eye_first(bw):
    """Left view: square at columns 28:44; right view: 20:36 (near = crossed disparity). Full SBS:
    the two side by side (2W x H); half SBS: each halved in width (14:22 | 32 + 10:18); half TAB:
    each halved in height (rows 8:16 over 24 + 8:16), columns unchanged."""
    left, right = _white((16, 32), (28, 44), H, W), _white((16, 32), (20, 36), H, W)
    full = read_video(_render(bw, "sbs.mkv", "--layout", "sbs"))[0][0]
    np.testing.assert_array_equal(full, np.concatenate([left, right], axis=1))
    half = read_video(_render(bw, "hsbs.mkv", "--layout", "sbs", "--squeeze"))[0][0]
    np.testing.assert_array_equal(half, np.concatenate([_white((16, 32), (14, 22), H, W // 2),
                                                        _white((16, 32), (10, 18), H, W // 2)], axis=1))
    htab = read_video(_render(bw, "htab.mkv", "--layout", "tab", "--squeeze"))[0][0]
    np.testing.assert_array_equal(htab, np.concatenate([_white((8, 16), (28, 44), H // 2, W),
                                                        _white((8, 16), (20, 36), H // 2, W)], axis=0))


@pytest.mark.parametrize("method", ["dubois", "color"])
def test_anaglyph_file_red_is_the_left_eye(bw, method):
    """Red-cyan glasses: red filter on the left eye. Where only the left view is white (columns
    36:44) the anaglyph is red, only the right (20:28) cyan, both (28:36) white; the Dubois
    matrices clip to the same pure colours here (left white: 0.437 + 0.449 + 0.164 > 1, the rest < 0)."""
    a = read_video(_render(bw, "a.mkv", "--layout", "anaglyph", "--anaglyph", method))[0][0]
    expect = np.zeros((H, W, 3), np.uint8)
    expect[16:32, 36:44] = (255, 0, 0)
    expect[16:32, 20:28] = (0, 255, 255)
    expect[16:32, 28:36] = 255
    np.testing.assert_array_equal(a, expect)


def test_rgbd_h264_mp4_colour_left_depth_right_near_white(bw):
    """RGB-D as Looking Glass Studio / depth players take it (H.264 in MP4): colour | depth, the
    near square (230) light, the background (128) mid-gray, read back at their values within the
    loss of 4:2:0 H.264 away from the square's edges."""
    import av

    with av.open(str(_render(bw, "rgbd.mp4", "--layout", "rgbd", "--codec", "h264"))) as c:
        f = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert f.shape == (H, 2 * W, 3)
    assert np.abs(f[20:28, 28:36] - 255).max() <= 3 and np.abs(f[2:10, 2:60]).max() <= 3  # colour, left
    assert np.abs(f[20:28, W + 28 : W + 36] - 230).max() <= 3  # depth, right: near = light
    assert np.abs(f[2:10, W + 2 : W + 60] - 128).max() <= 3


# --------------------------------------------------------------------------- stereo metadata


def _probe_stream(path):
    out = subprocess.run([FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["streams"][0]


@pytest.mark.skipif(FFPROBE is None, reason="needs ffprobe")
@pytest.mark.parametrize("layout, extra, mode, side", [
    ("sbs", (), "left_right", "side by side"),
    ("sbs", ("--squeeze",), "left_right", "side by side"),
    ("tab", ("--squeeze",), "top_bottom", "top and bottom"),
    ("anaglyph", (), "anaglyph_cyan_red", None),
])
def test_matroska_stereo_mode_says_the_packing(bw, layout, extra, mode, side):
    """Matroska StereoMode, as ffprobe reads it back: the tag and, for the packed pairs, the Stereo 3D
    side data the demuxer makes of it (left eye first: not inverted)."""
    st = _probe_stream(_render(bw, "s.mkv", "--layout", layout, *extra))
    assert st.get("tags", {}).get("stereo_mode") == mode
    sides = [s for s in st.get("side_data_list", []) if s.get("side_data_type") == "Stereo 3D"]
    if side is None:
        assert not sides or sides[0].get("type") == "2D"
    else:
        assert [(s["type"], int(s.get("inverted", 0))) for s in sides] == [(side, 0)]


@pytest.mark.skipif(FFPROBE is None, reason="needs ffprobe")
@pytest.mark.parametrize("layout, extra, name", [("grid", (), "o.mkv"), ("rgbd", (), "o.mkv"),
                                                ("quilt", ("--quilt", "4x2"), "o_qs4x2a1.33.mkv")])
def test_other_layouts_carry_no_stereo_mode(bw, layout, extra, name):
    _render(bw, "o.mkv", "--layout", layout, *extra)
    st = _probe_stream(bw / name)
    assert "stereo_mode" not in st.get("tags", {})
    assert not [s for s in st.get("side_data_list", []) if s.get("side_data_type") == "Stereo 3D"]


def _stereo_sei(path):
    """The Stereo 3D side data of the first decoded frame: (type, flags) of FFmpeg's AVStereo3D
    (type 1 side by side, 2 top and bottom; flag 1 inverted), or None."""
    import av

    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        for sd in frame_side_data(frame):
            if "STEREO" in str(sd.type).upper():
                t, flags = np.frombuffer(bytes(sd)[:8], np.int32)
                return int(t), int(flags)
    return None


@pytest.mark.parametrize("layout, extra, want", [("sbs", ("--squeeze",), (1, 0)), ("sbs", (), (1, 0)),
                                                 ("tab", ("--squeeze",), (2, 0)), ("grid", (), None)])
def test_h264_mp4_carries_the_frame_packing_sei(bw, layout, extra, want):
    """MP4 has no StereoMode: H.264 says it in the bitstream (frame-packing arrangement SEI, type 3
    side by side, 4 top and bottom, frame 0 the left view), which FFmpeg decodes to Stereo 3D side
    data on every frame."""
    assert _stereo_sei(_render(bw, "s.mp4", "--layout", layout, "--codec", "h264", *extra)) == want


@pytest.mark.skipif(FFPROBE is None, reason="needs ffprobe")
def test_one_pass_views_out_says_the_packing_too(make_clip, tiny_model):
    """The one-pass run's --views-out (its own writer, ``outputs.ViewsSink``) tags its file as
    ``views render`` does: half SBS in Matroska is StereoMode side by side, left eye first."""
    from igde_stream import cli

    clip = make_clip(n=2, color_ext=".mkv")
    out = clip["out"].parent / "v.mkv"
    assert cli.main([str(clip["color"]), str(clip["depth"]), "-o", str(clip["out"]), "--views-out", str(out),
                     "--layout", "sbs", "--squeeze", "--model", str(tiny_model), "--backend", "torch", "-q"]) == 0
    assert _probe_stream(out).get("tags", {}).get("stereo_mode") == "left_right"


# ------------------------------------------------------------------------------ Looking Glass quilts


def test_go_and_65in_presets_are_the_published_quilt_settings():
    """Looking Glass's device templates (the values Looking Glass Bridge uses): Go 11 x 6 tiles in
    4092 x 4092, aspect 0.5625 (9:16 portrait); 65" 8 x 9 in 8192 x 8192, aspect 16:9."""
    q = display.QUILT_PRESETS
    assert (q["go"].cols, q["go"].rows, q["go"].size, q["go"].aspect) == (11, 6, (4092, 4092), 0.5625)
    assert (q["65in"].cols, q["65in"].rows, q["65in"].size) == (8, 9, (8192, 8192))
    assert abs(q["65in"].aspect - 16 / 9) < 1e-12


def test_go_quilt_bottom_left_first_and_named(bw):
    """66 views of 64 x 48 in the Go quilt: tiles 4092 // 11 = 372 wide, 4092 // 6 = 682 tall, view k
    in column k % 11 of row k // 11 counted from the bottom; a 4:3 view in a tile shown at 9:16 fills
    its width and a band of rows about its middle, so each tile's centre pixel is its view's. The
    quilt divides evenly (11 x 372 = 6 x 682 = 4092). The file is named _qs11x6a0.56 (0.5625 to 2
    decimals)."""
    views = np.zeros((66, H, W, 3), np.uint8)
    views[:, :, :, 0] = np.arange(66)[:, None, None] * 3 + 10  # view k: red 3k + 10, by hand
    quilt = display.make_layout("quilt", mv.ViewConfig(66),
                                quilt=display.QUILT_PRESETS["go"]).pack(views)[0]
    assert quilt.shape == (4092, 4092, 3)
    for k in (0, 1, 10, 11, 65):
        r, c = k // 11, k % 11
        y, x = 4092 - r * 682 - 341, c * 372 + 186  # the tile's centre, rows from the bottom
        assert quilt[y, x, 0] == 3 * k + 10, k
    assert quilt[0, 0, 0] == 0 and quilt[-1, 0, 0] == 0  # the band leaves black bars at the tile's top / bottom
    out = _render(bw, "go.mkv", "--device", "go", "--max-frames", "1")
    assert out.with_name("go_qs11x6a0.56.mkv").exists() and not out.exists()


# ------------------------------------------------------------------------- slanted lenticular


def test_lenticular_inverted_calibration_shows_the_rightmost_view_at_a_lens_start():
    """A lens (or a barrier's slit) shows the subpixels under it mirrored: a viewer on the left sees the
    right of each lens. Looking Glass's calibrations all say so (invView = 1: view 1 - frac). With
    ``inverted`` the subpixel of van Berkel's n shows view N - 1 - floor(n): worked here in NumPy
    from the formula n = ((k + k_off - 3 l tan a) mod X) N / X for N = 9, X = 4.5, tan a = 1/3.
    Blending mirrors the same way: gray 10 i views give 80 - the plain blend."""
    n_views, pitch, tan = 9, 4.5, 1 / 3
    k = np.arange(12)[None, :]
    l3 = 3 * np.arange(4)[:, None]
    n = np.mod(k - l3 * tan, pitch) * n_views / pitch
    views = np.stack([np.full((4, 4, 3), 10 * i, np.uint8) for i in range(n_views)])
    cal = display.LenticularCalibration(n_views, pitch, tan, inverted=True)
    out = display.Interleaver(cal, (4, 4), (4, 4)).compose(views).reshape(4, 12)
    np.testing.assert_array_equal(out, 10 * (n_views - 1 - np.floor(n + 1e-9)))
    assert out[0, 0] == 80  # k = 0, l = 0: n = 0, the lens's first subpixel: the rightmost view
    plain = display.LenticularCalibration(n_views, pitch, tan, offset=0.3)
    inv = display.LenticularCalibration(n_views, pitch, tan, offset=0.3, inverted=True)
    blend = [display.Interleaver(c, (4, 4), (4, 4), blend=True).compose(views).astype(int) for c in (plain, inv)]
    np.testing.assert_array_equal(blend[1], 80 - blend[0])


def test_lenticular_inverted_from_json_and_checked(tmp_path):
    p = tmp_path / "cal.json"
    p.write_text(json.dumps({"n_views": 8, "pitch": 4.0, "tan_slant": 0.2, "inverted": True}))
    assert display.LenticularCalibration.from_json(p).inverted is True
    assert display.LenticularCalibration(8, 4.0, 0.2).inverted is False  # the default: view floor(n)
    with pytest.raises(ValueError, match="inverted must be true or false"):
        display.LenticularCalibration(8, 4.0, 0.2, inverted=1)


def test_an_unknown_stereo_mode_is_refused_before_anything_is_written(tmp_path):
    from fractions import Fraction

    from igde_stream.errors import OutputError
    from igde_stream.stream.views import ColorWriter

    with pytest.raises(OutputError, match="unknown stereo mode 'right_left'; known: left_right, top_bottom"):
        ColorWriter(tmp_path / "s.mkv", "ffv1", Fraction(25), Fraction(1, 25), stereo_mode="right_left")
    assert not list(tmp_path.iterdir())
