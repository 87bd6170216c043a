"""An image pattern as a views or RGB-D output: they are one video, so it is refused in one line
before the output's folder is looked at. Before, a missing folder was said first ("folder 'v' does
not exist"), and once the user made it, the pattern was refused ("cannot hold ffv1 video (format
image2)")."""

from __future__ import annotations

import pytest

from conftest import scene, write_video
from igde_stream.cli import main

SAID = "views and RGB-D are written as one video, not as an image sequence: use .mkv or .mp4"


@pytest.mark.parametrize("how", ["render", "--views-out", "--rgbd-out"])
def test_a_pattern_for_views_is_refused_before_its_folder_is_looked_at(tmp_path, capsys, how):
    colors, depths, _ = scene(2)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    pattern = tmp_path / "v" / "%06d.png"  # the folder v/ does not exist
    args = ["views", "render", str(c), str(d), "-o", str(pattern)] if how == "render" else \
        [str(c), str(d), "-o", str(tmp_path / "e.mkv"), how, str(pattern)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and SAID in err[0] and "does not exist" not in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mkv", "d.mkv"]
