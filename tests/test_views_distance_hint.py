"""``views render`` of a 16-bit distance map without ``--depth-order far-high``: igde-stream's output of
a LiDAR's millimetres has its holes filled, so the range warning's pointer to far-high, given for 16-bit
depth with holes, was missing there, and its one advice (``--max-depth`` near the largest value) gave
views with near and far swapped. The views now name far-high for flat 16-bit depth with or without holes."""

from __future__ import annotations

import numpy as np

from conftest import scene, write_video
from igde_stream.depth_range import warn_depth_range
from igde_stream.views_cli import main as views_main


def _distance_clip(tmp_path, holes: bool):
    colors, depths, _ = scene(2, (64, 48), bits=16)
    mm = [np.round(1000 + 3000 * d / 65535).astype(np.uint16) for d in depths]  # 1..4 m in millimetres
    if holes:
        for d in mm:
            d[:3, :5] = 0
    c = write_video(tmp_path / "c.mp4", colors, fmt="rgb24")
    return c, write_video(tmp_path / "d.mkv", mm, fmt="gray16le")


def test_views_of_filled_millimetres_name_far_high(tmp_path, capsys):
    c, d = _distance_clip(tmp_path, holes=False)
    assert views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.mkv")]) == 0
    err = capsys.readouterr().err
    assert "depth values span only" in err and "wants --depth-order far-high and --max-depth as that run had" in err
    assert views_main(["render", str(c), str(d), "-o", str(tmp_path / "w.mkv"), "--depth-order", "far-high",
                       "--max-depth", "5000"]) == 0
    assert "far-high" not in capsys.readouterr().err


def test_views_of_millimetres_with_holes_keep_the_sensor_words(tmp_path, capsys):
    c, d = _distance_clip(tmp_path, holes=True)
    assert views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.mkv")]) == 0
    err = capsys.readouterr().err
    assert "0 = no measurement, as Kinect-type sensors give) wants --depth-order far-high" in err


def test_the_main_commands_reading_is_unchanged_and_8_bit_or_full_range_depth_is_not_pointed_to_far_high():
    flat16 = np.random.default_rng(0).integers(1000, 4000, (32, 32)).astype(np.uint16)
    said = warn_depth_range(flat16, 65535.0)  # the main command: no holes, no pointer (it may be disparity)
    assert len(said) == 1 and "far-high" not in said[0]
    assert "depth_order='far-high'" in warn_depth_range(flat16, 65535.0, filled=True)[0]
    full16 = np.random.default_rng(1).integers(0, 65536, (32, 32)).astype(np.uint16)
    assert warn_depth_range(full16, 65535.0, filled=True) == []
    flat8 = np.random.default_rng(2).integers(10, 60, (32, 32)).astype(np.uint8)
    assert all("far-high" not in m for m in warn_depth_range(flat8, 255.0, filled=True))
