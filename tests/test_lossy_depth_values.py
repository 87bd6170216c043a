"""Depth coded by a lossy codec (H.264, HEVC), as users make it with ``ffmpeg -c:v libx264``: the
codec's ringing beside holes and hard edges must not be taken for something else."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from conftest import encode_frames
from igde_stream.stream import VideoReader
from igde_stream.stream.formats import depth_frame


def _limited_h264(path, luma):
    """One H.264 frame tagged limited range whose luma codes are ``luma`` exactly (qp 0)."""
    return encode_frames(path, [depth_frame(luma, "yuv420p")], "libx264", "yuv420p", options={"qp": "0"},
                         color_range=1)


def _read_warnings(path, caplog):
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with VideoReader(path, "depth") as r:
            frames = [f.data for f in r.frames()]
    return frames, [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def _hole_frame(hole_code, fringe_code=None):
    """48 x 64 limited-range luma: a surface at code 120, a 16 x 16 hole (code ``hole_code``), and around
    it, where given, a one-pixel ring of ``fringe_code``: the undershoot H.264 leaves beside a hole."""
    luma = np.full((48, 64), 120, np.uint8)
    if fringe_code is not None:
        luma[15:33, 23:41] = fringe_code
    luma[16:32, 24:40] = hole_code
    return luma


def test_ringing_beside_a_hole_of_lossy_limited_depth_is_no_full_range_warning(tmp_path, caplog):
    """Limited luma: the hole at 16 (gray 0), ringing down to 6 around it (68 pixels, 2 % of the frame,
    as crf 18 leaves round a distance map's holes): read as FFmpeg reads it, 120 -> round(104 x 255 / 219)
    = 121, 16 and 6 -> 0, and no advice to read it as full range (which would put the hole at 16)."""
    path = _limited_h264(tmp_path / "ring.mp4", _hole_frame(16, 6))
    (got,), warned = _read_warnings(path, caplog)
    assert warned == []
    want = np.full((48, 64), 121, np.uint8)
    want[15:33, 23:41] = 0
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("hole_code", [0, 3, 250])
def test_a_patch_outside_the_limited_range_of_lossy_depth_still_warns(tmp_path, caplog, hole_code):
    """A 16 x 16 patch (8 % of the frame) at a code no limited-range stream holds, even through a lossy
    codec: full-range depth tagged limited, as before."""
    path = _limited_h264(tmp_path / "full.mp4", _hole_frame(hole_code))
    _, warned = _read_warnings(path, caplog)
    assert len(warned) == 1 and "--depth-range full" in warned[0]
    lo, hi = min(hole_code, 120), max(hole_code, 120)
    assert f"frame 0 holds {lo}..{hi}" in warned[0]


def test_ringing_of_lossless_limited_depth_still_warns(tmp_path, caplog):
    """FFV1 keeps what was written: one ring of codes below 16 is full-range depth there, as before."""
    path = encode_frames(tmp_path / "ring.mkv", [depth_frame(_hole_frame(16, 6), "yuv420p")], "ffv1", "yuv420p",
                         color_range=1)
    _, warned = _read_warnings(path, caplog)
    assert len(warned) == 1 and "frame 0 holds 6..120" in warned[0]


# --------------------------------------------------------------- far-high distance with lossy holes


def _distance_with_holes(ring_code):
    """8-bit distance (far-high, peak 255: near limit 12.75): a wall at 60, two 12 x 12 holes (0), each in a
    one-pixel ring of ``ring_code``: 2 x 52 = 104 ring pixels, 2.7 % of the 48 x 80 frame."""
    d = np.full((48, 80), 60, np.uint8)
    for x in (10, 50):
        d[17:31, x - 1:x + 13] = ring_code
        d[18:30, x:x + 12] = 0
    return d


def test_far_high_codes_beside_holes_are_said_to_be_a_lossy_codecs_not_given_a_max_depth(caplog):
    """The ring at 2 (what H.264 leaves round the zeros of holes) is nearer than 12.75 and would read as
    the nearest surface: the warning says where it lies and asks for lossless depth. The old advice,
    20 x the 0.5th percentile (2) = --max-depth 40, would have put the wall (60) beyond the far limit."""
    from igde_stream.enhancer import warn_depth_range

    d = _distance_with_holes(2)
    with caplog.at_level(logging.WARNING):
        (said,) = warn_depth_range(d, 255.0, "far-high")
    assert said.startswith("3 % of the measured depth is nearer than the near limit 12.75")
    assert "100 % of it lies within 2 px of holes (0), at 2..2" in said and "lossy codec" in said
    assert "e.g." not in said
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "(--max-depth / 20)" in record.cli_text


@pytest.mark.parametrize("ring_code, shape", [(10, "ring"), (2, "apart")])
def test_far_high_near_surfaces_keep_the_max_depth_advice(ring_code, shape):
    """Codes of 10 (more than 4 levels from 0: a surface 6 x nearer than the wall), or codes of 2 away
    from every hole: the advice stays 20 x the 0.5th percentile, 20 x 10 = 200 and 20 x 2 = 40."""
    from igde_stream.enhancer import warn_depth_range

    d = _distance_with_holes(ring_code)
    if shape == "apart":
        d[d == 0] = 60
    (said,) = warn_depth_range(d, 255.0, "far-high")
    assert "lossy" not in said and said.endswith(f"e.g. {20 * ring_code}")
