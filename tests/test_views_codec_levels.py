"""H.264 / HEVC views larger than level 5.2 / 5.x hold: x264 and x265 code them at level 6, which a
decoder of a lower level may refuse (a full side-by-side pair of 3840x2160 views is 7680x2160). The
limits are the standards' tables: H.264 level 5.2 MaxFS 36,864 macroblocks (Table A-1; 4096x2304 =
256 x 144 is exactly that), HEVC levels 5-5.2 MaxLumaPs 8,912,896 samples with sides up to
sqrt(8 x 8,912,896) = 8444 (Table A.8). x264's own choice of level at the H.264 boundary is read back
with PyAV (the stream's ``level``), not from these tables."""

from __future__ import annotations

import logging
from fractions import Fraction

import av
import numpy as np
import pytest

from igde_stream import display, multiview as mv
from igde_stream.stream.view_writers import ColorWriter, level_note


@pytest.mark.parametrize("codec, w, h, over", [
    ("h264", 4096, 2304, False), ("h264", 4096, 2320, True), ("h264", 7680, 2160, True), ("h264", 3840, 2160, False),
    ("hevc", 4096, 2176, False), ("hevc", 4096, 2192, True), ("hevc", 8448, 1000, True), ("hevc", 8432, 1000, False),
    ("hevc", 7680, 2160, True), ("hevc", 4090, 2178, True), ("hevc", 8444, 1000, True), ("ffv1", 7680, 2160, False)])
def test_level_limits_are_the_standards(codec, w, h, over):
    assert bool(level_note(codec, w, h)) == over


def _advice(layout, size=(3840, 2160), **options):
    """The advice of ``level_note`` for ``layout``'s frame of views of ``size``: what follows "for those: "."""
    lay = display.make_layout(layout, mv.ViewConfig(n_views=options.pop("n_views", 2)), **options)
    note = level_note("h264", *lay.frame_sizes(size)[0], lay.level_fix())
    assert "coded at level 6" in note
    return note.split("may refuse")[1].removeprefix("; for those: ")


def test_the_advice_fits_the_layout():
    """Only what makes that layout's frame smaller: --squeeze for a full pair, fewer views for a grid;
    the input's size for a frame of it (a squeezed pair, an anaglyph, one file a view) or of twice it
    (colour | depth); nothing for a display's own size (a quilt preset, a lenticular panel)."""
    assert _advice("sbs").startswith("--squeeze") and _advice("tab").startswith("--squeeze")
    assert _advice("grid", n_views=4) == "fewer views, or one file a view (--layout views), or a smaller input"
    for layout, options in (("sbs", {"squeeze": True}), ("tab", {"squeeze": True}), ("anaglyph", {}), ("views", {}),
                            ("rgbd", {})):
        assert _advice(layout, (4112, 2320), **options) == "a smaller input", layout
    assert _advice("quilt", (1024, 1024), quilt=display.parse_quilt("5x9"), n_views=45).startswith("fewer columns")
    assert _advice("quilt", quilt=display.QUILT_PRESETS["16in"], n_views=45) == ""
    assert level_note("h264", 7680, 2160).startswith("7680x2160 frames (64,800 macroblocks, over the 36,864 of H.264 "
                                                     "level 5.2) are coded at level 6")
    assert level_note("h264", 7680, 2160, "").endswith("may refuse")


def test_a_render_warns_with_its_layouts_advice(tmp_path, capsys):
    """Through ``views render``: a full pair of 2064x2320 views (4128x2320, 37,410 macroblocks) gets
    --squeeze; one frame, black, so the run takes about a second."""
    from conftest import write_video
    from igde_stream import views_cli

    w, h = 2064, 2320
    write_video(tmp_path / "c.mkv", [np.zeros((h, w, 3), np.uint8)], fmt="rgb24", codec="ffv1")
    write_video(tmp_path / "d.mkv", [np.full((h, w), 128, np.uint8)], fmt="gray")
    assert views_cli.main(["render", str(tmp_path / "c.mkv"), str(tmp_path / "d.mkv"), "-o",
                           str(tmp_path / "s_SBS.mp4"), "--layout", "sbs", "--codec", "h264"]) == 0
    said = [ln for ln in capsys.readouterr().err.splitlines() if "coded at level 6" in ln]
    assert len(said) == 1 and said[0].endswith("for those: --squeeze (half side by side / top and bottom, the input's "
                                               "size), or a smaller input")


def _coded_level(path, encoder, options, w, h):
    """The level the encoder itself writes for one black w x h frame at 25 fps, as PyAV reads it back."""
    from igde_stream.stream.containers import mux

    with av.open(str(path), "w") as c:
        s = c.add_stream(encoder, rate=25, options=options)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        f = av.VideoFrame.from_ndarray(np.zeros((h, w, 3), np.uint8), format="rgb24").reformat(format="yuv420p")
        f.pts = 0
        for packet in s.encode(f) + s.encode(None):
            mux(c, packet)  # the project's: drops the decode time of uninitialised memory libx265 now and then gives
    with av.open(str(path)) as c:
        return c.streams.video[0].codec_context.level


@pytest.mark.parametrize("w, h, level", [(4096, 2304, 51), (4096, 2320, 60)])
def test_x264_picks_level_6_where_the_note_says(tmp_path, w, h, level):
    """One black frame through libx264 (ultrafast) at 25 fps: level 5.1 at exactly 36,864 macroblocks,
    6.0 one macroblock row more; the note says level 6 for the second only."""
    assert _coded_level(tmp_path / "l.mp4", "libx264", {"preset": "ultrafast"}, w, h) == level
    assert bool(level_note("h264", w, h)) == (level == 60)


@pytest.mark.parametrize("w, h, level", [(4096, 2176, 150), (4090, 2178, 180)])
def test_x265_picks_level_6_where_the_note_says(tmp_path, w, h, level):
    """x265 codes a picture padded to a multiple of 8: 4090x2178 (8,908,020 pixels, under level 5's
    8,912,896) is coded as 4096x2184 (8,945,664), level 6.0 (general_level_idc 180), as read back by
    PyAV; 4096x2176 stays 5.0 (150). The note goes by the coded size."""
    assert _coded_level(tmp_path / "l.mp4", "libx265", {"preset": "ultrafast", "x265-params": "log-level=error"},
                        w, h) == level
    note = level_note("hevc", w, h)
    assert bool(note) == (level == 180)
    assert not note or "8,945,664 pixels coded as 4096x2184, over the 8,912,896" in note


def test_the_writer_warns_once_before_any_frame(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        w = ColorWriter(tmp_path / "s.mp4", "h264", Fraction(25), Fraction(1, 25), stereo_mode="left_right",
                        size=(7680, 2160), level_fix="--squeeze")
        w.abort()
        small = ColorWriter(tmp_path / "t.mp4", "h264", Fraction(25), Fraction(1, 25), stereo_mode="left_right")
        small.write(np.zeros((16, 32, 3), np.uint8), 0)
        small.commit()
    said = [r.getMessage() for r in caplog.records if "coded at level 6" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"{tmp_path / 's.mp4'}: 7680x2160 frames") and "--squeeze" in said[0]
    assert not (tmp_path / "s.mp4").exists()
