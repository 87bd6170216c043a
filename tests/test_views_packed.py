"""igde-stream views quality --packed: the views from a packed RGB-D input's colour and depth (named
``packed``), and from any other --depth (plain depth videos), against the views from --gt.

Expected figures are computed apart from the readers: ``multiview.view_quality`` on the arrays the
packed video was built from (FFV1, lossless), frame by frame, then ``summarize_view_quality``.
"""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream import multiview as mv
from igde_stream import views_cli
from test_pipes import RATE, nut_bytes

AXES = {"rgbd": 1, "rgbd-tb": 0}
GEOMETRY = ["--views", "4", "--baseline", "12", "--band", "4"]


def _packed_frames(colors, depths, packed, near):
    return [np.concatenate([c, np.repeat((d if near == "white" else 255 - d)[..., None], 3, axis=2)],
                           axis=AXES[packed]) for c, d in zip(colors, depths)]


def _expected(colors, gts, depths: dict, enhancer=None):
    """The summary's figures from the arrays: what the report's ``depths`` must hold."""
    frames = []
    for i, (c, g) in enumerate(zip(colors, gts)):
        ds = {name: d[i] for name, d in depths.items()}
        if enhancer is not None:
            ds["enhanced"] = enhancer.enhance(c, ds["packed"])
        frames.append(mv.view_quality(c, g, ds, 4, 12.0, 0.5, None, 4, "near-high"))
    return json.loads(json.dumps(mv.jsonable(mv.summarize_view_quality(frames))))["depths"]


@pytest.mark.parametrize("packed, near, where", [("rgbd", "white", "file"), ("rgbd-tb", "black", "stdin")])
def test_quality_of_a_packed_input(tmp_path, monkeypatch, tiny_model, enhancer, packed, near, where):
    colors, depths, gts = scene(3, (64, 48))
    other = [np.roll(g, 3, axis=1) for g in gts]  # a plain depth video compared beside it
    gt = write_video(tmp_path / "gt.mkv", gts, fmt="gray", rate=RATE)
    e = write_video(tmp_path / "e.mkv", other, fmt="gray", rate=RATE)
    frames = _packed_frames(colors, depths, packed, near)
    if where == "stdin":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(nut_bytes([("rgb24", frames)]))))
        source = "-"
    else:
        source = str(write_video(tmp_path / "p.mkv", frames, fmt="rgb24", codec="ffv1", rate=RATE))
    report = tmp_path / "q.json"
    assert views_cli.main(["quality", source, "--packed", packed, "--depth-near", near, "--gt", str(gt),
                           "--depth", f"other={e}", "--enhance", "packed", "--model", str(tiny_model),
                           "--backend", "torch", "--report", str(report), *GEOMETRY]) == 0
    data = json.loads(report.read_text())
    assert data["frames"] == 3 and (data["packed"], data["depth_near"]) == (packed, near)
    assert data["depth_files"] == {"packed": source, "other": str(e)}
    assert data["depths"] == _expected(colors, gts, {"packed": depths, "other": other}, enhancer)
    assert f"from the packed RGB-D input {source} (--packed {packed}" in report.with_suffix(".md").read_text()


@pytest.mark.parametrize("argv, message", [
    (["--packed", "rgbd", "--depth", "packed=E"], "--depth 'packed=E': packed already names the packed input's "
                                                  "depth"),
    ([], "views quality needs a depth to compare: --depth NAME=PATH, or a packed RGB-D input"),
    (["--depth", "d=E", "--depth-near", "black"], "--depth-near says how the --packed input holds near depth"),
    (["--packed", "rgbd"], "odd width"),
])
def test_packed_quality_errors_are_one_line_and_write_nothing(tmp_path, capsys, argv, message):
    odd = write_video(tmp_path / "odd.mkv", [np.zeros((48, 65, 3), np.uint8)] * 2, fmt="rgb24", codec="ffv1")
    gt = write_video(tmp_path / "gt.mkv", [np.zeros((48, 32), np.uint8)] * 2, fmt="gray")
    argv = [a.replace("=E", f"={gt}") for a in argv]
    message = message.replace("=E", f"={gt}")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert views_cli.main(["quality", str(odd), "--gt", str(gt), *argv, "--report", str(tmp_path / "q.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("igde-stream views: error: ") and message in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_packed_depth_with_far_high_is_refused_in_every_command(tmp_path, capsys):
    """Packed RGB-D depth is near-high gray: read as a distance map it is reversed (near drawn behind
    far). The main command, views render and views quality refuse the pair in one line, writing
    nothing; --depth-order near-high is fine."""
    from igde_stream import cli

    src = write_video(tmp_path / "p.mkv", _packed_frames([np.zeros((16, 24, 3), np.uint8)] * 2,
                                                         [np.full((16, 24), 200, np.uint8)] * 2, "rgbd", "white"),
                      fmt="rgb24", codec="ffv1")
    want = "--packed rgbd with --depth-order far-high: packed RGB-D depth is near-high gray"
    before = sorted(p.name for p in tmp_path.iterdir())
    runs = [(cli.main, [str(src), "--packed", "rgbd", "-o", str(tmp_path / "o.mkv")], "igde-stream: error: "),
            (views_cli.main, ["render", str(src), "--packed", "rgbd", "-o", str(tmp_path / "v.mkv")],
             "igde-stream views: error: "),
            (views_cli.main, ["quality", str(src), "--packed", "rgbd", "--gt", str(src)], "igde-stream views: error: ")]
    for main, argv, prefix in runs:
        assert main([*argv, "--depth-order", "far-high"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(prefix) and want in err[0], err
        assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert views_cli.main(["render", str(src), "--packed", "rgbd", "--depth-order", "near-high", "--views", "2",
                           "-o", str(tmp_path / "v.mkv")]) == 0
