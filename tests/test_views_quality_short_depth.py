"""views quality beside a depth that ends first: the output of a run with --max-frames scored against
the whole ground truth. The refusal names the --max-frames that scores what the depth holds."""

from __future__ import annotations

import json

import pytest

from conftest import scene, write_video
from igde_stream.cli import main


@pytest.mark.parametrize("stride, advised", [(1, 3), (2, 2)])
def test_a_depth_that_ends_first_is_refused_naming_the_max_frames_that_scores_it(tmp_path, capsys, stride,
                                                                                 advised):
    """Ground truth and colour of 5 frames, a depth of their first 3: refused in one line, exit 2, naming
    --max-frames 3 (every 2nd: frames 0 and 2, so 2); given that, the views of those frames are scored."""
    colors, depths, gts = scene(5)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray")
    d = write_video(tmp_path / "d.mkv", depths[:3], fmt="gray")
    args = ["views", "quality", str(c), "--gt", str(g), "--depth", f"part={d}", "--stride", str(stride)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("igde-stream views: error: ")
    assert "ends after 3 frames, where" in err[0] and err[0].endswith(f"give --max-frames {advised}")
    assert main([*args, "--max-frames", str(advised), "--report", str(tmp_path / "v.json")]) == 0
    report = json.loads((tmp_path / "v.json").read_text())
    assert report["frames"] == advised and report["frame_stride"] == stride and "part" in report["depths"]


def test_a_ground_truth_shorter_than_the_colour_names_max_frames_not_pair(tmp_path, capsys):
    """Colour and depth of 5 frames, ground truth of 3: the pairing error advised --pair nearest, which
    views quality does not take ("unrecognized arguments"). It now names --max-frames 3, which then runs."""
    colors, depths, gts = scene(5)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    g = write_video(tmp_path / "g.mkv", gts[:3], fmt="gray")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    args = ["views", "quality", str(c), "--gt", str(g), "--depth", f"d={d}"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "of the colour stream have no depth frame" in err[0]
    assert "--pair" not in err[0] and err[0].endswith("to score the frames the ground truth holds, give --max-frames 3")
    assert main([*args, "--max-frames", "3"]) == 0
