"""``igde-stream batch`` with ``start`` / ``to`` columns: the shots of one long take, each its own
clip (run in parallel), each the frames a whole run writes over its span; a row's cell overrides the
command's ``--start`` / ``--to``; a time that does not read, or a ``to`` not after the ``start``,
names its line. 25 fps: frame k at k / 25 s."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from conftest import read_video, scene, write_video
from igde_stream.batch_jobs import read_jobs
from igde_stream.cli import main

MODEL = ["--model", "igde-small", "--backend", "onnxruntime", "--batch", "2"]


@pytest.fixture(scope="module")
def take(tmp_path_factory):
    """A 20-frame take and its whole run."""
    from igde_stream import enhance_file

    folder = tmp_path_factory.mktemp("take")
    colors, depths, gts = scene(20, (64, 48), 8, seed=3)
    for name, frames, fmt in (("c.mkv", colors, "rgb24"), ("d.mkv", depths, "gray"), ("g.mkv", gts, "gray")):
        write_video(folder / name, frames, fmt=fmt, codec="ffv1", rate=Fraction(25))
    enhance_file(folder / "c.mkv", folder / "d.mkv", folder / "whole.mkv", model="igde-small", backend="onnxruntime",
                 batch=2, quiet=True)
    return folder, read_video(folder / "whole.mkv")


def test_the_shots_of_one_take_are_the_whole_runs_frames(take, capsys):
    folder, (whole, whole_pts, _) = take
    jobs = folder / "shots.csv"
    jobs.write_text("color,depth,gt,output,start,to\n"
                    "c.mkv,d.mkv,g.mkv,shots/a.mkv,,0.2\n"      # frames 0-4
                    "c.mkv,d.mkv,g.mkv,shots/b.mkv,0.2,00:00.5\n"  # 5-12 (0.5 s: frame 12.5, so 12 is the last)
                    "c.mkv,d.mkv,g.mkv,shots/c.mkv,0.5,\n")     # 13-19
    summary = folder / "shots.json"
    assert main(["batch", str(jobs), "--jobs", "2", *MODEL, "--summary", str(summary), "-q"]) == 0
    for name, first, last in (("a", 0, 4), ("b", 5, 12), ("c", 13, 19)):
        frames, pts, _ = read_video(folder / "shots" / f"{name}.mkv")
        assert pts == whole_pts[first:last + 1], name
        np.testing.assert_array_equal(np.stack(frames), np.stack(whole[first:last + 1]))
    rows = {r["clip"]: r for r in json.loads(summary.read_text())["rows"]}
    assert [(rows[f"shots/{n}.mkv"]["start"], rows[f"shots/{n}.mkv"]["end"], rows[f"shots/{n}.mkv"]["frames"])
            for n in "abc"] == [(None, 0.2, 5), (0.2, 0.5, 8), (0.5, None, 7)]


def test_a_rows_cell_overrides_the_commands_option(take):
    """--start 0.4 --to 0.6 for every clip; a row's start 0.1 replaces the --start only: frames 3-14."""
    folder, (whole, whole_pts, _) = take
    jobs = folder / "override.csv"
    jobs.write_text("color,depth,output,start\nc.mkv,d.mkv,over/a.mkv,0.1\nc.mkv,d.mkv,over/b.mkv,\n")
    summary = folder / "override.json"
    assert main(["batch", str(jobs), *MODEL, "--start", "0.4", "--to", "0.6", "--summary", str(summary), "-q"]) == 0
    assert read_video(folder / "over" / "a.mkv")[1] == whole_pts[3:15]
    assert read_video(folder / "over" / "b.mkv")[1] == whole_pts[10:15]
    rows = json.loads(summary.read_text())["rows"]
    assert [(r["start"], r["end"]) for r in rows] == [(0.1, 0.6), (0.4, 0.6)]


def test_a_rows_start_after_the_commands_to_fails_that_clip_in_one_line(take, capsys):
    folder, _ = take
    jobs = folder / "late.csv"
    jobs.write_text("color,depth,output,start\nc.mkv,d.mkv,late/a.mkv,0.7\nc.mkv,d.mkv,late/b.mkv,0.1\n")
    assert main(["batch", str(jobs), *MODEL, "--to", "0.6", "--summary", str(folder / "late.json"), "-q"]) == 1
    rows = json.loads((folder / "late.json").read_text())["rows"]
    assert rows[0]["status"] == "failed" and rows[0]["error"] == "to 0.6 s must come after start 0.7 s"
    assert rows[1]["status"] == "done" and not (folder / "late" / "a.mkv").exists()


@pytest.mark.parametrize("cells, message", [
    ("a.mp4,a.mkv,o.mkv,1:75,", "line 2: start: expected a time of 0 or more"),
    ("a.mp4,a.mkv,o.mkv,,-1", "line 2: to: expected a time of 0 or more"),
    ("a.mp4,a.mkv,o.mkv,2,1.5", "line 2: to 1.5 s must come after start 2 s"),
    ("a.mp4,a.mkv,o.mkv,,0", "line 2: to 0 s must come after start 0 s"),
])
def test_a_span_cell_that_does_not_read_names_its_line(tmp_path, capsys, cells, message):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(f"color,depth,output,start,to\n{cells}\n")
    assert main(["batch", str(jobs), "--summary", str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs.csv"]


def test_the_span_columns_read_as_seconds(tmp_path):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("color,depth,output,start,to\na.mp4,a.mkv,o1.mkv,01:02:03.5,1:02:04\na.mp4,a.mkv,o2.mkv,,\n")
    a, b = read_jobs(jobs)
    assert (a.start, a.end) == (3723.5, 3724.0) and (b.start, b.end) == (None, None)
