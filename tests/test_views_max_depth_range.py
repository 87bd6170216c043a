"""views render / views quality and --max-depth beyond what 8-bit depth holds: refused in one line,
as the main command refuses it, instead of views where every pixel reads as the nearest."""

from __future__ import annotations

import pytest

from conftest import scene, write_video
from igde_stream.cli import main


@pytest.mark.parametrize("command", ["render", "quality"])
def test_max_depth_above_8_bit_depth_is_refused_by_the_views_commands(tmp_path, capsys, command):
    colors, depths, gts = scene(2)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray")
    out = tmp_path / "v.mkv"
    args = ["views", "render", str(c), str(d), "-o", str(out)] if command == "render" else \
        ["views", "quality", str(c), "--gt", str(g), "--depth", f"d={d}"]
    opts = ["--depth-order", "far-high", "--max-depth", "25000"]
    assert main([*args, *opts]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("igde-stream views: error: ")
    assert err[0].endswith("--max-depth 25000 is above the largest value of 8-bit depth (gray: 0..255)")
    assert not out.exists()
    # the main command says the same of the same clip
    assert main([str(c), str(d), "-o", str(tmp_path / "e.mkv"), *opts]) == 2
    assert "--max-depth 25000 is above the largest value of 8-bit depth (gray: 0..255)" in capsys.readouterr().err
    assert main([*args, "--depth-order", "far-high", "--max-depth", "255"]) == 0
