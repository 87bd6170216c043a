"""Depth smaller than the colour (a monocular estimator's 518-px map under a full plate) beside a ground
truth at the colour's size: no frame can be compared on the depth's grid, and the line that says so
now names --grid color, which compares at the colour's size."""

from __future__ import annotations

import json

import cv2
import numpy as np

from conftest import scene
from igde_stream.cli import main
from test_formats import write_png_sequence


def test_ground_truth_at_the_colour_size_names_grid_color(tmp_path, tiny_model, capsys):
    colors, depths, gts = scene(2, (64, 48))
    write_png_sequence(tmp_path / "rgb", colors)
    write_png_sequence(tmp_path / "d", [cv2.resize(d, (32, 24), interpolation=cv2.INTER_NEAREST) for d in depths])
    write_png_sequence(tmp_path / "gt", gts)
    base = [tmp_path / "rgb", tmp_path / "d", "--gt", tmp_path / "gt", "--model", tiny_model, "--backend", "torch"]
    assert main([str(a) for a in [*base, "-o", tmp_path / "a.mkv", "--report", tmp_path / "a.json"]]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "ground truth is 64x48 but depth is 32x24" in line]
    assert len(said) == 1 and "--grid color" in said[0]
    assert "--grid color" in json.loads((tmp_path / "a.json").read_text())["summary"]["gt_problem"]
    # and it does compare there
    assert main([str(a) for a in [*base, "-o", tmp_path / "b.mkv", "--report", tmp_path / "b.json",
                                  "--grid", "color"]]) == 0
    s = json.loads((tmp_path / "b.json").read_text())["summary"]
    assert s["matched_frames"] == 2 and s["unmatched_frames"] == 0 and np.isfinite(s["mean_psnr"])


def test_ground_truth_of_another_size_gets_no_grid_hint(tmp_path, tiny_model, capsys):
    colors, depths, gts = scene(2, (64, 48))
    write_png_sequence(tmp_path / "rgb", colors)
    write_png_sequence(tmp_path / "d", depths)
    write_png_sequence(tmp_path / "gt", [cv2.resize(g, (32, 24), interpolation=cv2.INTER_NEAREST) for g in gts])
    assert main([str(a) for a in [tmp_path / "rgb", tmp_path / "d", "--gt", tmp_path / "gt", "--model", tiny_model,
                                  "--backend", "torch", "-o", tmp_path / "a.mkv"]]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "ground truth is 32x24 but depth is 64x48" in line]
    assert len(said) == 1 and "--grid" not in said[0]
