"""``views render`` of HDR colour runs no model, yet its warning said "the model learned SDR colour and
guides less well on it: convert it to SDR first": advice that would strip PQ / HLG from views a 3D
display can show as HDR (they say BT.2020 / PQ, tests/test_views_hdr_tags.py). There it now says what
the views hold; the main command, which runs the model, keeps its advice."""

from __future__ import annotations

import logging

import av

from conftest import encode_frames, scene
from igde_stream import multiview as mv
from igde_stream.stream import enhance_file
from igde_stream.stream.views import render_file

BT2020, PQ = 9, 16


def _pq(tmp_path):
    frames = [av.VideoFrame.from_ndarray(c, format="rgb24").reformat(format="yuv420p10le") for c in scene(3, (64, 48))[0]]
    colour = encode_frames(tmp_path / "pq.mkv", frames, "ffv1", "yuv420p10le",
                           tags={"color_primaries": BT2020, "color_trc": PQ, "colorspace": BT2020, "color_range": 1})
    depth = encode_frames(tmp_path / "d.mkv", [av.VideoFrame.from_ndarray(d, format="gray") for d in scene(3, (64, 48))[1]],
                          "ffv1", "gray")
    return colour, depth


def _hdr(caplog):
    return [r.getMessage() for r in caplog.records if "HDR colour" in r.getMessage() and r.levelno == logging.WARNING]


def test_views_render_says_what_the_views_hold(tmp_path, caplog):
    colour, depth = _pq(tmp_path)
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        render_file(colour, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs")
    said = _hdr(caplog)
    assert len(said) == 1 and "HDR colour (PQ)" in said[0], said
    assert "model" not in said[0] and "convert it to SDR" not in said[0], said
    assert "BT.2020" in said[0] and "8 bits" in said[0], said


def test_the_main_command_keeps_its_advice(tmp_path, caplog, enhancer):
    colour, depth = _pq(tmp_path)
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        enhance_file(colour, depth, tmp_path / "e.mkv", enhancer=enhancer)
    said = _hdr(caplog)
    assert len(said) == 1 and "the model learned SDR colour" in said[0] and "convert it to SDR" in said[0], said


def test_rgbd_says_its_frames_stay_bt709(tmp_path, caplog):
    """The RGB-D layout keeps BT.709 tags (its depth half is no picture): it does not say BT.2020 / PQ."""
    colour, depth = _pq(tmp_path)
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        render_file(colour, depth, tmp_path / "r.mkv", mv.ViewConfig(2, 4), layout="rgbd")
    said = _hdr(caplog)
    assert len(said) == 1 and "BT.709" in said[0] and "BT.2020" not in said[0] and "model" not in said[0], said
    with av.open(str(tmp_path / "r.mkv")) as c:  # FFV1 RGB-D: no BT.2020 / PQ tags
        cc = c.streams.video[0].codec_context
        assert cc.color_primaries != BT2020 and cc.color_trc != PQ
