"""``--to TIME`` / ``--duration TIME`` (``enhance_file(end=...)``, ``render_file(end=...)``,
``view_quality_files(end=...)``): the depth frames from ``--start`` to before the end, as FFmpeg's
``-to`` / ``-t`` take them, the same frames a whole run writes; the readers stop there.

make_clip's clips run at 29.97 fps (30000/1001) in Matroska's 1 ms: frame k at k x 1001/30000 s,
rounded to the ms (frame 15 at 0.501 s, 16 at 0.534, 17 at 0.567, 18 at 0.601, 19 at 0.634, 20 at
0.667, 21 at 0.701), worked out by hand."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from conftest import read_video, scene, write_video
from igde_stream import multiview as mv
from igde_stream.cli import main
from igde_stream.errors import IGDEError
from igde_stream.stream import enhance_file, views


@pytest.fixture
def clip(make_clip, tmp_path, enhancer):
    """A 24-frame clip and its whole run (frames, pts, report rows)."""
    c = make_clip(n=24)
    enhance_file(c["color"], c["depth"], tmp_path / "all.mkv", gt_path=c["gt"], report_path=tmp_path / "all.json",
                 enhancer=enhancer)
    frames, pts, _ = read_video(tmp_path / "all.mkv")
    return {**c, "whole": (frames, pts, json.loads((tmp_path / "all.json").read_text())["frames"])}


def _part(clip, tmp_path, enhancer, name, **span):
    out, rep = tmp_path / f"{name}.mkv", tmp_path / f"{name}.json"
    s = enhance_file(clip["color"], clip["depth"], out, gt_path=clip["gt"], report_path=rep, enhancer=enhancer,
                     **span)
    frames, pts, _ = read_video(out)
    return s, frames, pts, json.loads(rep.read_text())


@pytest.mark.parametrize("span, first, last", [
    ({"start": 0.5, "end": 0.7}, 15, 20),  # 21 is at 0.701: after the end
    ({"start": 0.5, "end": 0.601}, 15, 17),  # 18 exactly at the end: not written (as -to)
    ({"end": 0.1}, 0, 2),  # 0, 0.033, 0.067; 3 at 0.100 is not
    ({"start": 0.5, "end": 0.7, "max_frames": 3}, 15, 17),  # the count ends it first
])
def test_the_frames_before_the_end_are_the_whole_runs(clip, tmp_path, enhancer, span, first, last):
    s, frames, pts, rep = _part(clip, tmp_path, enhancer, "part", **span)
    want, want_pts, rows = clip["whole"]
    n = last - first + 1
    assert s["frames"] == n and s["end"] == span["end"] and pts == want_pts[first:last + 1]
    np.testing.assert_array_equal(np.stack(frames), np.stack(want[first:last + 1]))
    assert [r["index"] for r in rep["frames"]] == list(range(first, last + 1))
    assert [r["psnr"] for r in rep["frames"]] == [r["psnr"] for r in rows[first:last + 1]]
    assert rep["summary"]["unmatched_frames"] == 0  # the ground truth after the end: not the output's
    assert rep["end"] == span["end"]


def test_an_end_with_no_frame_after_the_start_before_it_writes_nothing(clip, tmp_path, enhancer):
    with pytest.raises(IGDEError, match=r"no depth frame from --start 0\.51 s to --to 0\.52 s \(the first at or "
                                        r"after the start is at 0\.534 s\)"):
        enhance_file(clip["color"], clip["depth"], tmp_path / "none.mkv", enhancer=enhancer, start=0.51, end=0.52)
    assert not (tmp_path / "none.mkv").exists()


@pytest.mark.parametrize("end", [0.5, 0.4, float("nan"), "1", True])
def test_an_end_not_after_the_start_is_a_value_error(clip, tmp_path, enhancer, end):
    with pytest.raises(ValueError, match="end must be a number of seconds after start"):
        enhance_file(clip["color"], clip["depth"], tmp_path / "x.mkv", enhancer=enhancer, start=0.5, end=end)


def test_duration_and_to_on_the_command_line(clip, tmp_path, tiny_model):
    """--duration 0.2 from 0.5 s is --to 0.7: frames 15..20 of the whole run (pixels and pts)."""
    want, want_pts, _ = clip["whole"]
    for name, opts in (("d", ["--duration", "0.2"]), ("t", ["--to", "00:00.70"])):
        out = tmp_path / f"{name}.mkv"
        assert main([str(clip["color"]), str(clip["depth"]), "-o", str(out), "--start", "0.5", *opts,
                     "--model", str(tiny_model), "--backend", "torch", "-q"]) == 0
        frames, pts, _ = read_video(out)
        assert pts == want_pts[15:21]


@pytest.mark.parametrize("opts, says", [
    (["--to", "1", "--duration", "1"], "not allowed with argument"),
    (["--start", "0.5", "--to", "0.4"], "--to 0.4 s must come after --start 0.5 s"),
    (["--start", "0.5", "--to", "0.5"], "--to 0.5 s must come after --start 0.5 s"),
    (["--duration", "0"], "--duration must be more than 0"),
])
def test_an_end_not_after_the_start_is_one_line_on_the_command_line(clip, tmp_path, capsys, opts, says):
    with pytest.raises(SystemExit) as exc:
        main([str(clip["color"]), str(clip["depth"]), "-o", str(tmp_path / "x.mkv"), *opts])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and says in err[-1]
    assert not (tmp_path / "x.mkv").exists()


def test_the_readers_stop_at_the_end(make_clip, tmp_path, tiny_model, counted):
    """60 frames, from 0.5 s to 0.6 s: the readers seek to frame 14 and stop a few frames after 18,
    decoding nowhere near the clip's 60 frames."""
    from igde_stream import Enhancer

    c = make_clip(n=60, size=(48, 32))
    s = enhance_file(c["color"], c["depth"], tmp_path / "p.mkv", gt_path=c["gt"], report_path=tmp_path / "p.json",
                     enhancer=Enhancer(model=tiny_model, backend="torch", batch=1), start=0.5, end=0.6)
    assert s["frames"] == 3  # 15, 16, 17
    assert all(n <= 12 for n in counted.values()), counted


def test_one_picture_of_a_duration_that_holds_one_frame(clip, tmp_path, enhancer):
    """From 0.5 s for 0.03 s: frame 15 alone (16 is at 0.534), into one PNG."""
    cv2 = pytest.importorskip("cv2")
    s = enhance_file(clip["color"], clip["depth"], tmp_path / "one.png", enhancer=enhancer, start=0.5, end=0.53)
    assert s["frames"] == 1
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "one.png"), cv2.IMREAD_UNCHANGED), clip["whole"][0][15])


def test_views_render_and_quality_take_the_end(tmp_path):
    """25 fps, 8 frames: from 0.08 s to 0.2 s, frames 2, 3, 4 (5 at 0.2 s is not)."""
    colors, depths, gts = scene(8, (40, 24))
    rate = Fraction(25)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=rate)
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=rate)
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray", rate=rate)
    cfg = mv.ViewConfig(4, 12)
    n, _ = views.render_file(c, d, tmp_path / "all.mkv", cfg)
    n_part, _ = views.render_file(c, d, tmp_path / "part.mkv", cfg, start=0.08, end=0.2)
    whole, whole_pts, _ = read_video(tmp_path / "all.mkv")
    part, part_pts, _ = read_video(tmp_path / "part.mkv")
    assert n == 8 and n_part == 3 and part_pts == whole_pts[2:5]
    np.testing.assert_array_equal(np.stack(part), np.stack(whole[2:5]))
    got, _ = views.view_quality_files(c, g, {"degraded": d}, cfg, start=0.08, end=0.2)
    want = mv.view_quality_sequence(np.stack(colors[2:5]), np.stack(gts[2:5]), {"degraded": np.stack(depths[2:5])},
                                    cfg.n_views, cfg.baseline, cfg.zero_parallax, cfg.max_depth, 8, 1, cfg.depth_order)
    assert got["frames"] == 3 and got["end"] == 0.2
    for a, b in zip(got["depths"]["degraded"]["per_view"], want["depths"]["degraded"]["per_view"]):
        assert a == pytest.approx(b, rel=1e-12)
