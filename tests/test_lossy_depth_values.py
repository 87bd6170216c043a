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
