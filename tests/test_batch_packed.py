"""igde-stream batch --packed: one packed RGB-D video a clip (a CSV ``input`` column, or a folder's
``packed/``). Each output must be what ``enhance_file`` writes from the colour and the depth as two
separate files (the packed videos are built from the same arrays, FFV1, lossless); a clip that
cannot be split fails alone; a list or option that does not fit ``--packed`` is one line, exit 2,
and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.batch import read_jobs
from igde_stream.cli import main

MODEL = ["--model", "igde-small", "--backend", "onnxruntime", "--batch", "2"]  # as test_batch.py


def _packed(path: Path, colors, depths, near: str = "white") -> Path:
    """Colour | depth (three equal channels; near black: 255 - d, by hand), FFV1."""
    frames = [np.concatenate([c, np.repeat((d if near == "white" else 255 - d)[..., None], 3, axis=2)], axis=1)
              for c, d in zip(colors, depths)]
    return write_video(path, frames, fmt="rgb24", codec="ffv1")


def _frames(path: Path) -> tuple[list[np.ndarray], list[int]]:
    with av.open(str(path)) as f:
        got = [(x.to_ndarray(), x.pts) for x in f.decode(video=0)]
    return [g for g, _ in got], [p for _, p in got]


def test_folder_of_packed_clips_equals_runs_on_separate_files(tmp_path, capsys):
    """packed/a, packed/b (ground truth gt/a) with --depth-near black, and packed/odd (an odd width)
    that fails alone; a and b as enhance_file writes them from separate colour and depth files."""
    from igde_stream.stream import enhance_file

    root = tmp_path / "clips"
    for sub in ("packed", "gt", "sep"):
        (root / sub).mkdir(parents=True)
    want = {}
    for i, name in enumerate(("a", "b")):
        colors, depths, gts = scene(3, (64, 48), seed=20 + i)
        _packed(root / "packed" / f"{name}.mkv", colors, depths, near="black")
        c = write_video(root / "sep" / f"{name}_c.mkv", colors, fmt="rgb24", codec="ffv1")
        d = write_video(root / "sep" / f"{name}_d.mkv", depths, fmt="gray")
        gt = write_video(root / "gt" / f"{name}.mkv", gts, fmt="gray") if name == "a" else None
        want[name] = root / "sep" / f"{name}_ref.mkv"
        enhance_file(c, d, want[name], gt_path=gt, model="igde-small", backend="onnxruntime", batch=2, quiet=True)
    write_video(root / "packed" / "odd.mkv", [np.zeros((48, 65, 3), np.uint8)] * 2, fmt="rgb24", codec="ffv1")
    summary = tmp_path / "s.json"
    code = main(["batch", str(root), "--packed", "rgbd", "--depth-near", "black", "--jobs", "1", *MODEL,
                 "--summary", str(summary), "-q"])
    assert code == 1, capsys.readouterr().err  # the odd clip failed, the others ran
    for name, ref in want.items():
        got, pts = _frames(root / "enhanced" / f"{name}.mkv")
        ref_frames, ref_pts = _frames(ref)
        assert len(got) == 3 and pts == ref_pts
        for g, r in zip(got, ref_frames):
            np.testing.assert_array_equal(g, r)
    assert not (root / "enhanced" / "odd.mkv").exists()
    rows = {r["clip"]: r for r in json.loads(summary.read_text())["rows"]}
    assert [r["status"] for r in rows.values()] == ["done", "done", "failed"]
    assert "odd" in rows["odd"]["error"] and "\n" not in rows["odd"]["error"]
    assert rows["a"]["color"] == rows["a"]["depth"] == str(root / "packed" / "a.mkv")
    assert rows["a"]["gt"] == str(root / "gt" / "a.mkv") and rows["a"]["mean_psnr"] > 0
    assert rows["b"]["gt"] is None and rows["b"]["mean_psnr"] is None


def test_packed_csv_and_folder_lists(tmp_path):
    (tmp_path / "jobs.csv").write_text("input,output,gt,clip\n"
                                       "p/one.mp4,out/one.mkv,g/one.mkv,first\n"
                                       "p/two.mp4,out/two.mkv,,\n")
    one, two = read_jobs(tmp_path / "jobs.csv", packed=True)
    assert (one.clip, one.color, one.depth, one.output, one.gt) == (
        "first", str(tmp_path / "p/one.mp4"), str(tmp_path / "p/one.mp4"), str(tmp_path / "out/one.mkv"),
        str(tmp_path / "g/one.mkv"))
    assert (two.clip, two.color, two.depth, two.gt) == ("out/two.mkv", str(tmp_path / "p/two.mp4"),
                                                        str(tmp_path / "p/two.mp4"), None)
    for sub, names in {"packed": ["a.mp4", "b.mkv", "b.mp4"], "gt": ["a.mkv", "c.mkv"],
                       "color": ["x.mp4"], "depth": ["x.mkv"]}.items():  # color/ and depth/ are not read
        (tmp_path / sub).mkdir()
        for n in names:
            (tmp_path / sub / n).write_bytes(b"")
    jobs = {j.clip: j for j in read_jobs(tmp_path, packed=True)}
    assert sorted(jobs) == ["a", "b"]
    a = jobs["a"]
    assert (a.color, a.depth, a.gt, a.output, a.problem) == (
        str(tmp_path / "packed/a.mp4"), str(tmp_path / "packed/a.mp4"), str(tmp_path / "gt/a.mkv"),
        str(tmp_path / "enhanced/a.mkv"), None)
    assert jobs["b"].problem == "2 packed inputs named b: b.mkv, b.mp4"


@pytest.mark.parametrize("layout, extra, message", [
    ("input,output\np.mp4,o.mkv\n", [], "unknown column 'input'; the header names color, depth, output and "
                                         "optionally gt, clip, start and to (one packed RGB-D video a clip, in an input "
                                         "column: add --packed rgbd)"),
    ("color,depth,output\nc.mp4,d.mkv,o.mkv\n", ["--packed", "rgbd"], "unknown column 'color'; the header "
     "names input, output and optionally gt, clip, start and to (--packed: each clip is one packed RGB-D video"),
    ("input,output\n,o.mkv\n", ["--packed", "rgbd"], "line 2: no input path"),
    ("output,gt\no.mkv,g.mkv\n", ["--packed", "rgbd"], "no 'input' column"),
    ("input,output\np.mp4,o.mkv\n", ["--packed", "rgbd", "--depth-stream", "1"], "not --depth-stream"),
    ("folder", ["--packed", "rgbd"], "needs a packed/ folder"),
    ("folder-packed", [], "color/ is missing; packed/ holds packed RGB-D clips? add --packed rgbd"),
])
def test_a_list_that_does_not_fit_packed_is_one_line_exit_2(tmp_path, capsys, layout, extra, message):
    jobs = tmp_path / ("jobs.csv" if "\n" in layout else "clips")
    if "\n" in layout:
        jobs.write_text(layout)
    else:
        (jobs / ("packed" if layout == "folder-packed" else "color")).mkdir(parents=True)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["batch", str(jobs), *extra, "--summary", str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("igde-stream: error: ") and message in err, err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_depth_near_needs_packed(tmp_path, capsys):
    (tmp_path / "jobs.csv").write_text("color,depth,output\nc.mp4,d.mkv,o.mkv\n")
    with pytest.raises(SystemExit) as e:
        main(["batch", str(tmp_path / "jobs.csv"), "--depth-near", "black"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--depth-near" in err and "needs --packed" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs.csv"]
