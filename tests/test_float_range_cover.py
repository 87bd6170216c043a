"""A float clip whose later frames leave the first frame's range is clipped (one warning, counted); the
summary and the report now also name the range that covers every value read, depth and ground truth,
so the user knows which ``--float-range`` to give. Expected ranges by hand from the values written."""

from __future__ import annotations

import json

import numpy as np

from igde_stream.cli import main
from igde_stream.stream import enhance_file
from test_float_depth import float_scene, write_pfm, write_sequences


def test_summary_names_the_range_that_covers_the_clipped_values(tmp_path, enhancer):
    colors, depths, gts = float_scene(4)  # the first frame spans 0.5 .. 2.5
    depths[2][10:12, 10:13] = 3.5
    depths[3][1, 1] = -4.0
    folder = write_sequences(tmp_path, colors, depths)
    gts[1][3, 3] = 4.25  # the ground truth leaves it too, further
    (tmp_path / "gt").mkdir()
    for i, g in enumerate(gts):
        write_pfm(tmp_path / "gt" / f"{i:06d}.pfm", g)
    summary = enhance_file(tmp_path / "rgb", folder, tmp_path / "o.mkv", gt_path=tmp_path / "gt",
                           enhancer=enhancer)
    f = summary["float_range"]
    assert (f["lo"], f["hi"], f["clipped_frames"], f["gt_clipped_frames"]) == (0.5, 2.5, 2, 1)
    assert f["covering"] == [-4.0, 4.25]


def test_no_clipping_no_covering_range(tmp_path, enhancer):
    colors, depths, _ = float_scene(2)
    summary = enhance_file(tmp_path / "rgb", write_sequences(tmp_path, colors, depths), tmp_path / "o.mkv",
                           enhancer=enhancer)
    assert summary["float_range"]["clipped_frames"] == 0 and summary["float_range"]["covering"] is None


def test_cli_line_and_report_give_the_option_to_use(tmp_path, tiny_model, capsys):
    colors, depths, gts = float_scene(3)
    depths[2][4, 4] = 9.0
    folder = write_sequences(tmp_path, colors, depths)
    (tmp_path / "gt").mkdir()
    for i, g in enumerate(gts):
        write_pfm(tmp_path / "gt" / f"{i:06d}.pfm", g)
    code = main([str(tmp_path / "rgb"), str(folder), "-o", str(tmp_path / "o.mkv"), "--model", str(tiny_model),
                 "--backend", "torch", "--gt", str(tmp_path / "gt"), "--report", str(tmp_path / "r.json")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "1 frames clipped" in out and "--float-range=0.5:9" in out
    assert json.loads((tmp_path / "r.json").read_text())["float_range"]["covering"] == [0.5, 9.0]
    assert np.isnan(depths[2][5, 9])  # the NaN hole is no value: it widens nothing
