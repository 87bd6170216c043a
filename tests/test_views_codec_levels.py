"""H.264 / HEVC views larger (or faster) than level 5.2 / 5.x holds: x264 and x265 code them at level 6, which a
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


def _coded_level(path, encoder, options, w, h, rate=25):
    """The level the encoder itself writes for one black w x h frame at ``rate`` fps, as PyAV reads it back."""
    from igde_stream.stream.containers import mux

    with av.open(str(path), "w") as c:
        s = c.add_stream(encoder, rate=rate, options=options)
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


# The rate limits, worked by hand from the tables: H.264 Table A-1 MaxMBPS (level 5.2: 2,073,600; 6:
# 4,177,920; 6.1: 8,355,840; 6.2: 16,711,680 macroblocks a second) and H.265 Annex A MaxLumaSr
# (5.2 and 6: 1,069,547,520; 6.1: 2,139,095,040; 6.2: 4,278,190,080 luma samples a second).
@pytest.mark.parametrize("codec, w, h, rate, level", [
    ("h264", 4096, 2304, 60, "6"),  # 256 x 144 = 36,864 MB (level 5.2's MaxFS) x 60 = 2,211,840 MB/s
    ("h264", 4096, 2304, Fraction(225, 4), None),  # x 56.25 = 2,073,600: exactly level 5.2's
    ("h264", 3840, 2160, 64, None),  # 240 x 135 = 32,400 MB x 64 = 2,073,600
    ("h264", 3840, 2160, 65, "6"),  # 2,106,000
    ("h264", 3840, 2160, Fraction(60000, 1001), None),  # 1,942,058 MB/s
    ("h264", 1920, 1080, 240, None),  # 120 x 68 = 8,160 MB x 240 = 1,958,400
    ("h264", 7680, 2160, 120, "6.1"),  # 64,800 MB x 120 = 7,776,000: over level 6's 4,177,920
    ("h264", 8192, 4320, 120, "6.2"),  # 512 x 270 = 138,240 MB x 120 = 16,588,800
    ("h264", 8192, 4320, 121, "over"),  # 16,727,040: over level 6.2's 16,711,680
    ("hevc", 4096, 2176, 120, None),  # 8,912,896 samples x 120 = 1,069,547,520: exactly 5.2's
    ("hevc", 4096, 2176, 121, "6.1"),  # 1,078,460,416: over 5.2's and 6's (the same)
    ("hevc", 3840, 2160, 128, None),  # 8,294,400 x 128 = 1,061,683,200
    ("hevc", 3840, 2160, 129, "6.1"),  # 1,069,977,600
    ("hevc", 4096, 2304, 30, "6"),  # 9,437,184 samples: over 5.x's frame, 283,115,520 a second
    ("hevc", 4096, 2304, 121, "6.1"),  # 1,141,899,264 a second
    ("ffv1", 7680, 4320, 240, None)])
def test_the_frame_rate_counts_as_the_tables_say(codec, w, h, rate, level):
    note = level_note(codec, w, h, rate=rate)
    if level is None:
        assert note == ""
    elif level == "over":
        assert "are coded at level 6.2, H.264's highest, and are over even its limits" in note
    else:
        assert f"are coded at level {level}," in note
    assert bool(note) == bool(level_note(codec, w, h, rate=rate, fix=""))


def test_the_rate_line_names_the_rate_and_a_lower_one():
    note = level_note("h264", 4096, 2304, "--squeeze", 60)
    assert note == ("4096x2304 frames (2,211,840 macroblocks a second at 60 fps, over the 2,073,600 of H.264 level "
                    "5.2) are coded at level 6, which decoders of level 5.x and under (many TVs, phones and headsets) "
                    "may refuse; for those: --squeeze, or a lower frame rate")
    both = level_note("hevc", 4096, 2304, "", 121)
    assert both.startswith("4096x2304 frames (9,437,184 pixels, over the 8,912,896 (sides up to 8444) of HEVC level "
                           "5.x; 1,141,899,264 luma samples a second at 121 fps, over the 1,069,547,520 of HEVC level "
                           "5.2) are coded at level 6.1")
    assert both.endswith("may refuse; for those: a lower frame rate")
    assert level_note("h264", 4096, 2304) == ""  # no rate known: the frame alone, which level 5.2 holds


def test_a_frame_too_wide_for_level_5_2_is_level_6():
    """H.264 A.3.1: PicWidthInMbs <= sqrt(8 x MaxFS) = 543 at level 5.2; 8704x32 is 544 x 2 = 1,088
    macroblocks, far under MaxFS, and x264 codes it at level 6.0 (read back)."""
    assert "544 macroblocks wide, over the 543 of H.264 level 5.2) are coded at level 6," in level_note("h264", 8704, 32)
    assert level_note("h264", 8688, 32) == ""


@pytest.mark.parametrize("encoder, w, h, rate, level", [
    ("libx264", 4096, 2304, 60, 60), ("libx264", 4096, 2304, Fraction(225, 4), 52), ("libx265", 4096, 2176, 121, 183),
    ("libx264", 8704, 32, 25, 60)])
def test_the_encoders_pick_the_level_the_note_names(tmp_path, encoder, w, h, rate, level):
    """One black frame at ``rate`` through x264 / x265 (ultrafast): the level in the stream, as PyAV reads
    it back (level_idc; HEVC general_level_idc = 30 x the level), is the one the note names."""
    options = {"preset": "ultrafast", **({"x265-params": "log-level=error"} if encoder == "libx265" else {})}
    assert _coded_level(tmp_path / "l.mkv", encoder, options, w, h, rate) == level
    note = level_note("h264" if encoder == "libx264" else "hevc", w, h, rate=rate)
    major, minor = divmod(level if encoder == "libx264" else level // 3, 10)  # HEVC 183 -> 61
    name = f"{major}.{minor}" if minor else f"{major}"
    assert note == "" if name == "5.2" else f"are coded at level {name}," in note


def test_the_writer_warns_by_its_frame_rate(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        for name, rate in (("fast.mp4", Fraction(60)), ("slow.mp4", Fraction(30))):
            ColorWriter(tmp_path / name, "h264", rate, 1 / rate, size=(4096, 2304)).abort()
    said = [r.getMessage() for r in caplog.records if "coded at level" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"{tmp_path / 'fast.mp4'}: 4096x2304 frames (2,211,840 macroblocks a "
                                                 "second at 60 fps")
