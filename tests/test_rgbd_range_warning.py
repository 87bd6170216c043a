"""The RGB-D layout renders no views: depth above --max-depth goes into its depth half as 255. Its
warning said the depth "is clipped in the views"; it names the RGB-D depth, and the views layouts
keep theirs. The values: round(d x 255 / max_depth), 255 above, worked out in NumPy."""

from __future__ import annotations

import logging
from fractions import Fraction

import av
import numpy as np

from conftest import write_video
from igde_stream import multiview as mv
from igde_stream.stream.views import render_file


def _inputs(tmp_path):
    rng = np.random.default_rng(3)
    depth = np.full((2, 24, 32), 500, np.uint16)
    depth[:, :, 16:] = 3000  # half the frame above --max-depth 1000
    color = write_video(tmp_path / "c.mkv", rng.integers(0, 256, (2, 24, 32, 3), np.uint8), fmt="rgb24",
                        codec="ffv1", rate=Fraction(25))
    return color, write_video(tmp_path / "d.mkv", depth, fmt="gray16le", rate=Fraction(25)), depth


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_rgbd_says_its_own_depth_is_clipped(tmp_path, caplog):
    color, depth, raw = _inputs(tmp_path)
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        render_file(color, depth, tmp_path / "r.mkv", mv.ViewConfig(max_depth=1000), layout="rgbd")
    said = _warnings(caplog)
    assert len(said) == 1 and "RGB-D" in said[0] and "views" not in said[0], said
    with av.open(str(tmp_path / "r.mkv")) as c:
        half = next(c.decode(video=0)).to_ndarray(format="rgb24")[:, 32:, 0]
    assert np.array_equal(half, np.minimum(255, np.rint(raw[0].astype(np.float64) * 255 / 1000)).astype(np.uint8))


def test_views_still_say_views(tmp_path, caplog):
    color, depth, _ = _inputs(tmp_path)
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        render_file(color, depth, tmp_path / "s.mkv", mv.ViewConfig(max_depth=1000), layout="sbs")
    said = _warnings(caplog)
    assert len(said) == 1 and "clipped in the views" in said[0], said
