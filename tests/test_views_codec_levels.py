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

from igde_stream.stream.view_writers import ColorWriter, level_note


@pytest.mark.parametrize("codec, w, h, over", [
    ("h264", 4096, 2304, False), ("h264", 4096, 2320, True), ("h264", 7680, 2160, True), ("h264", 3840, 2160, False),
    ("hevc", 4096, 2176, False), ("hevc", 4096, 2192, True), ("hevc", 8448, 1000, True), ("hevc", 8432, 1000, False),
    ("hevc", 7680, 2160, True), ("ffv1", 7680, 2160, False)])
def test_level_limits_are_the_standards(codec, w, h, over):
    assert bool(level_note(codec, w, h)) == over


def test_the_advice_fits_the_layout():
    assert "--squeeze" in level_note("h264", 7680, 2160, "left_right")
    assert "--squeeze" in level_note("hevc", 3840, 4320, "top_bottom")
    assert "--squeeze" not in level_note("h264", 7680, 2160, None) and "--layout views" in level_note("h264", 7680, 2160)
    assert level_note("h264", 7680, 2160).startswith("7680x2160 frames (64,800 macroblocks, over the 36,864 of H.264 "
                                                     "level 5.2) are coded at level 6")


@pytest.mark.parametrize("w, h, level", [(4096, 2304, 51), (4096, 2320, 60)])
def test_x264_picks_level_6_where_the_note_says(tmp_path, w, h, level):
    """One black frame through libx264 (ultrafast) at 25 fps: level 5.1 at exactly 36,864 macroblocks,
    6.0 one macroblock row more; the note says level 6 for the second only."""
    path = tmp_path / "l.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        f = av.VideoFrame.from_ndarray(np.zeros((h, w, 3), np.uint8), format="rgb24").reformat(format="yuv420p")
        f.pts = 0
        c.mux(s.encode(f))
        c.mux(s.encode(None))
    with av.open(str(path)) as c:
        assert c.streams.video[0].codec_context.level == level
    assert bool(level_note("h264", w, h)) == (level == 60)


def test_the_writer_warns_once_before_any_frame(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        w = ColorWriter(tmp_path / "s.mp4", "h264", Fraction(25), Fraction(1, 25), stereo_mode="left_right",
                        size=(7680, 2160))
        w.abort()
        small = ColorWriter(tmp_path / "t.mp4", "h264", Fraction(25), Fraction(1, 25), stereo_mode="left_right")
        small.write(np.zeros((16, 32, 3), np.uint8), 0)
        small.commit()
    said = [r.getMessage() for r in caplog.records if "coded at level 6" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"{tmp_path / 's.mp4'}: 7680x2160 frames") and "--squeeze" in said[0]
    assert not (tmp_path / "s.mp4").exists()
