"""Anamorphic inputs (non-square pixels: a sample aspect ratio other than 1:1) give outputs that a
player shows as it shows the inputs: every video output at an input's stored grid carries that
grid's sample aspect ratio (docs/formats.md "Non-square pixels"). Before, none did: a 32 x 24 clip
stored in 4:3 pixels (shown as 43 x 24) came out untagged and was shown at 32 x 24, squeezed.

Expected ratios are the inputs' own, read back with PyAV where the file's header says it (MP4 / MOV:
the pasp box; H.264 in any container: its VUI; PNG: pHYs); FFV1 in Matroska says it in every frame,
which PyAV 18 cannot read: ffprobe -show_frames checks that (skipped without ffprobe)."""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import read_video, scene

SAR = Fraction(4, 3)


def _encode(path, frames, codec, pix_fmt, fmt, sar):
    with av.open(str(path), "w") as out:
        s = out.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], pix_fmt
        if sar != 1:
            s.codec_context.sample_aspect_ratio = sar
        for i, a in enumerate(frames):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(a), format=fmt)
            f.pts = i
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    return path


def _inputs(tmp_path, size=(32, 24), color_sar=SAR, depth_sar=SAR, depth_size=None, n=3, bits=16):
    """H.264 colour (.mp4) and FFV1 depth (.mp4: its pasp box says the ratio where PyAV reads it)."""
    colors, _, _ = scene(n, size)
    _, depths, _ = scene(n, depth_size or size, bits=bits)
    fmt = "gray16le" if bits == 16 else "gray"
    c = _encode(tmp_path / "c.mp4", colors, "libx264", "yuv420p", "rgb24", color_sar)
    d = _encode(tmp_path / "d.mp4", depths, "ffv1", fmt, fmt, depth_sar)
    return c, d


def _sar(path):
    """The ratio the file's header says (PyAV: the stream's, else its decoder's), None: none."""
    with av.open(str(path)) as f:
        s = f.streams.video[0]
        sar = s.sample_aspect_ratio or s.codec_context.sample_aspect_ratio
    return sar if sar else None


def _frame_sars(path):
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe (FFmpeg's command line) is not installed: FFV1's per-frame ratio is read with it")
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_frames", "-show_streams",
                          "-of", "json", str(path)], capture_output=True, text=True, check=True).stdout
    got = json.loads(out)
    return got["streams"][0].get("sample_aspect_ratio"), [f.get("sample_aspect_ratio") for f in got["frames"]]


@pytest.mark.parametrize("suffix, codec, bits", [(".mp4", "ffv1", 16), (".mkv", "libx264", 8)])
def test_depth_output_carries_the_inputs_sample_aspect_ratio(tmp_path, enhancer, suffix, codec, bits):
    """MP4's pasp box (any codec), H.264's VUI (any container)."""
    from igde_stream.stream import enhance_file

    c, d = _inputs(tmp_path, bits=bits)
    out = tmp_path / f"o{suffix}"
    summary = enhance_file(c, d, out, enhancer=enhancer, codec=codec)
    assert _sar(out) == SAR
    assert summary["output_sar"] == "4:3"


def test_square_pixels_give_an_untagged_output(tmp_path, enhancer):
    from igde_stream.stream import enhance_file

    c, d = _inputs(tmp_path, color_sar=1, depth_sar=1)
    summary = enhance_file(c, d, tmp_path / "o.mp4", enhancer=enhancer)
    assert _sar(tmp_path / "o.mp4") in (None, 1)
    assert summary["output_sar"] is None


def test_ffv1_in_matroska_says_it_in_every_frame_and_keeps_the_values(tmp_path, enhancer):
    """Matroska takes the ratio from the stream's header, which PyAV does not set: FFV1's own slice
    headers carry it, frame by frame. The frames are the same as an MP4 output's (lossless both)."""
    from igde_stream.stream import enhance_file

    c, d = _inputs(tmp_path)
    enhance_file(c, d, tmp_path / "o.mkv", enhancer=enhancer)
    enhance_file(c, d, tmp_path / "o.mp4", enhancer=enhancer)
    mkv, mp4 = read_video(tmp_path / "o.mkv")[0], read_video(tmp_path / "o.mp4")[0]
    assert len(mkv) == 3 and all(np.array_equal(a, b) for a, b in zip(mkv, mp4))
    stream, frames = _frame_sars(tmp_path / "o.mkv")
    assert frames == ["4:3"] * 3


@pytest.mark.parametrize("grid, color_sar, depth_sar, depth_size, want", [
    ("color", SAR, 1, (16, 12), SAR),  # depth enlarged to the colour's grid: the colour's ratio
    ("depth", SAR, 1, (16, 12), None),  # colour resized to the square depth's grid: square
    ("depth", 1, Fraction(8, 9), (16, 12), Fraction(8, 9)),  # the depth's own grid: the depth's
])
def test_the_output_carries_the_ratio_of_the_grid_it_is_written_at(tmp_path, enhancer, grid, color_sar, depth_sar,
                                                                   depth_size, want):
    from igde_stream.stream import enhance_file

    c, d = _inputs(tmp_path, color_sar=color_sar, depth_sar=depth_sar, depth_size=depth_size)
    enhance_file(c, d, tmp_path / "o.mp4", enhancer=enhancer, grid=grid, enlarge="nearest")
    assert _sar(tmp_path / "o.mp4") == want


@pytest.mark.parametrize("layout, suffix, want", [
    ("grid", ".mkv", SAR), ("anaglyph", ".mkv", SAR), ("sbs", ".mp4", SAR), ("tab", ".mp4", SAR),
    ("quilt", ".mkv", None),  # a display's own pixels: square (the name carries the aspect)
])
def test_views_outputs_carry_it_except_a_quilt(tmp_path, enhancer, layout, suffix, want):
    from igde_stream.display import parse_quilt
    from igde_stream.multiview import ViewConfig
    from igde_stream.stream import enhance_file
    from igde_stream.stream.outputs import ViewsOptions

    options = {"quilt": parse_quilt("2x1")} if layout == "quilt" else {}
    c, d = _inputs(tmp_path)
    views = ViewsOptions(config=ViewConfig(n_views=2), layout=layout, layout_options=options, codec="h264")
    summary = enhance_file(c, d, tmp_path / "o.mp4", enhancer=enhancer, views_path=tmp_path / f"v{suffix}",
                           rgbd_path=tmp_path / "rgbd.mkv", views=views)
    [v] = summary["views_outputs"]
    assert _sar(v) == want
    if layout == "quilt":  # tiles of 32 x 24 pixels 4:3 wide show at 42.67 x 24: aspect 1.78, not 1.33
        assert v == str(tmp_path / "v_qs2x1a1.78.mkv")
    assert _sar(tmp_path / "rgbd.mkv") == SAR  # colour | depth, both of the input's pixels


def test_views_render_carries_the_colours_ratio(tmp_path):
    from igde_stream.multiview import ViewConfig
    from igde_stream.stream.views import render_file

    c, d = _inputs(tmp_path)
    n, paths = render_file(c, d, tmp_path / "v.mkv", ViewConfig(n_views=2), layout="views", codec="h264")
    assert n == 3 and [_sar(p) for p in paths] == [SAR, SAR]


def test_one_depth_image_says_it_in_its_phys_chunk(tmp_path, enhancer):
    """A PNG output: its pHYs chunk (pixels per metre, 4 wide for 3 high), which FFmpeg reads back."""
    from igde_stream.stream import enhance_file

    c, d = _inputs(tmp_path, n=1)
    enhance_file(c, d, tmp_path / "o.png", enhancer=enhancer)
    data = (tmp_path / "o.png").read_bytes()
    at = data.index(b"pHYs")
    x, y = int.from_bytes(data[at + 4:at + 8], "big"), int.from_bytes(data[at + 8:at + 12], "big")
    assert Fraction(x, y) == SAR


def test_a_stereo_pair_in_matroska_says_it_cannot_carry_it(tmp_path, caplog):
    """Matroska's stereo mode: FFmpeg writes one view's display size, square, over the codec's ratio
    (ffprobe: SAR 1:1); the same pair in .mp4 keeps 4:3. Said, not left to be found in a player."""
    import logging

    from igde_stream.stream.view_writers import ColorWriter

    for name in ("s.mkv", "s.mp4"):
        w = ColorWriter(tmp_path / name, "h264", Fraction(25), Fraction(1, 25), stereo_mode="left_right", sar=SAR)
        with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
            for i in range(2):
                w.write(np.zeros((24, 64, 3), np.uint8), i)
        w.commit()
    said = [m for m in caplog.messages if "stereo mode" in m]
    assert len(said) == 1 and "s.mkv" in said[0] and "use .mp4" in said[0]
    assert _sar(tmp_path / "s.mp4") == SAR


def test_a_view_is_fitted_to_a_display_as_a_player_shows_it():
    """A 4 x 4 view of pixels twice as wide as tall shows as 8 x 4: in an 8 x 8 canvas of square
    pixels it fills rows 2-5 (centred), all 8 columns. Before, it was fitted as a 4 x 4 square
    (scaled to 8 x 8, every row filled)."""
    from igde_stream.display import fit_view

    out = fit_view(np.full((4, 4, 3), 255, np.uint8), (8, 8), view_par=2.0)
    rows = out[..., 0].max(axis=1)
    assert rows.tolist() == [0, 0, 255, 255, 255, 255, 0, 0] and (out[2:6] == 255).all()


def test_a_lenticular_panel_fits_anamorphic_views_as_shown():
    """Two white 4 x 4 views of 2:1 pixels on an 8 x 8 panel: rows 2-5 lit, the rest black."""
    from igde_stream import display
    from igde_stream.multiview import ViewConfig

    cal = display.LenticularCalibration(n_views=2, pitch=3.0, tan_slant=0.0)
    lay = display.with_view_sar(display.make_layout("lenticular", ViewConfig(n_views=2), calibration=cal,
                                                    panel=(8, 8)), 2.0)
    lay.outputs("p.mkv", (4, 4))
    [panel] = lay.pack(np.full((2, 4, 4, 3), 255, np.uint8))
    assert panel.max(axis=(1, 2)).tolist() == [0, 0, 255, 255, 255, 255, 0, 0]


def test_a_preset_quilt_fits_anamorphic_views_as_shown(tmp_path):
    """views render --quilt with a preset tile: 32 x 24 views in 4:3 pixels show at 16:9, so in a
    1:1 tile of a 2 x 1 quilt 64 x 32 (tiles 32 x 32, shown square) each fills 32 x 18 (centred:
    rows 7-24), not 32 x 24 as before. The file itself is square (the display's pixels)."""
    from igde_stream.display import QuiltSpec
    from igde_stream.multiview import ViewConfig
    from igde_stream.stream.views import render_file

    c, d = _inputs(tmp_path, n=1)
    _, [path] = render_file(c, d, tmp_path / "q.png", ViewConfig(n_views=2), layout="quilt",
                            quilt=QuiltSpec(2, 1, (64, 32), 1.0))
    assert path.name == "q_qs2x1a1.png" and _sar(path) in (None, 1)
    import cv2

    q = cv2.imread(str(path))
    lit = np.flatnonzero(q.max(axis=(1, 2)) > 0)
    assert (lit.min(), lit.max()) == (7, 24)


@pytest.mark.parametrize("name, codec, warns", [("x.nut", "rawvideo", True), ("x.mkv", "libx264", False),
                                                ("x.mov", "rawvideo", False)])
def test_a_file_that_keeps_no_ratio_is_said(tmp_path, caplog, name, codec, warns):
    """Raw video in NUT keeps no ratio (NUT writes the container stream's, which PyAV does not set):
    a warning; H.264 codes it, MOV's pasp box holds it for any codec: nothing to say."""
    import logging

    from igde_stream.stream.aspect import AspectTag

    with av.open(str(tmp_path / name), "w") as out:
        s = out.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = 32, 24, "yuv420p"
        with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
            AspectTag(s, SAR, name)
        assert s.codec_context.sample_aspect_ratio == SAR
    said = [m for m in caplog.messages if "keeps no sample aspect ratio" in m]
    assert len(said) == warns and (not warns or "x.nut: rawvideo in nut" in said[0])
