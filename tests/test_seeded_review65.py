"""Tests added by seeded-bug review 65 (results/mutation.md, "Seeded-bug review 65"): each catches a bug
planted by hand in the code of ``--to`` / ``--duration``, the batch CSV's ``start`` / ``to`` columns, the
outputs' pixel aspect tags or the HDR views' colour tags that the earlier tests let through, or a defect the
review found. Expected values are worked out by hand (frame k of a 25 fps clip at k x 40 ms; Matroska's
1 ms time base), read back with PyAV, from a PNG's bytes or with ffprobe (skipped without it)."""

from __future__ import annotations

import csv
import json
from fractions import Fraction

import av
import pytest

from conftest import encode_frames, read_video, scene, write_video
from igde_stream import multiview as mv

RATE = Fraction(25)
SAR = Fraction(4, 3)
BT709, BT2020, P3, PQ, HLG, UNSPECIFIED = 1, 9, 12, 16, 18, 2
MODEL = ["--model", "igde-small", "--backend", "onnxruntime", "--batch", "2"]  # as test_batch_spans.py


def _clip(folder, n=12, size=(32, 24), start=0.0, gt=False):
    """FFV1 colour and depth (and ground truth) at 25 fps from ``start`` s: frame k at start + k x 40 ms."""
    colors, depths, gts = scene(n, size)
    paths = [write_video(folder / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=RATE, start=start),
             write_video(folder / "d.mkv", depths, fmt="gray", rate=RATE, start=start)]
    return (*paths, write_video(folder / "g.mkv", gts, fmt="gray", rate=RATE, start=start)) if gt else paths


def _pts(path):
    return read_video(path)[1]


@pytest.fixture(scope="module")
def enhancer():
    """The shipped model on ONNX Runtime: loads in a second, where the suite's tiny torch model is built."""
    from igde_stream import Enhancer

    return Enhancer(model="igde-small", backend="onnxruntime", batch=2, quiet=True)


# ---- defects -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def take(tmp_path_factory):
    folder = tmp_path_factory.mktemp("take")
    colors, depths, _ = scene(12, (64, 48), 8, seed=3)
    write_video(folder / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=RATE)
    write_video(folder / "d.mkv", depths, fmt="gray", rate=RATE)
    return folder


def test_batch_duration_counts_from_each_rows_start(take):
    """--start 0.2 --duration 0.12 (three frames at 25 fps), from each clip's own start as FFmpeg's -t from
    -ss: row a starts at 0 (a time, not an empty cell: frames 0-2, pts 0, 40, 80 ms), row b at the
    command's 0.2 s (frames 5-7), row c at 0.3 s (frames 8-10), row d has its own to (0.3 to 0.4 s: frames 8
    and 9). Before, the end was the command's --start plus the duration for every row (0.32 s): row c
    (0.3 to 0.32 s) held no frame and failed. The CSV summary has start and end columns."""
    from igde_stream.cli import main

    jobs = take / "dur.csv"
    jobs.write_text("color,depth,output,start,to\nc.mkv,d.mkv,dur/a.mkv,0,\nc.mkv,d.mkv,dur/b.mkv,,\n"
                    "c.mkv,d.mkv,dur/c.mkv,0.3,\nc.mkv,d.mkv,dur/d.mkv,0.3,0.4\n")
    summaries = [str(take / "dur.json"), str(take / "dur_summary.csv")]
    assert main(["batch", str(jobs), *MODEL, "--start", "0.2", "--duration", "0.12", "--summary", summaries[0],
                 "--summary", summaries[1], "-q"]) == 0
    assert [_pts(take / "dur" / f"{n}.mkv") for n in "abcd"] == [[0, 40, 80], [200, 240, 280], [320, 360, 400],
                                                               [320, 360]]
    rows = json.loads((take / "dur.json").read_text())["rows"]
    assert [(r["start"], r["end"]) for r in rows] == [(None, pytest.approx(0.12)), (0.2, pytest.approx(0.32)),
                                                      (0.3, pytest.approx(0.42)), (0.3, 0.4)]
    with open(summaries[1], newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["start"], float(r["end"])) for r in rows] == [("", pytest.approx(0.12)), ("0.2", pytest.approx(0.32)),
                                                             ("0.3", pytest.approx(0.42)), ("0.3", 0.4)]


def _tags(path):
    with av.open(str(path)) as c:
        cc = c.streams.video[0].codec_context
        return cc.color_primaries, cc.color_trc, cc.colorspace


def test_views_of_pq_colour_without_primaries_say_bt2020(tmp_path):
    """Colour tagged PQ but not its primaries (unspecified, 2, as PyAV reads an untagged stream): PQ is
    defined with BT.2020's primaries (BT.2100), as the docs say the views are tagged. Before, the views
    said primaries "unspecified" beside PQ (the fallback to BT.2020 only took a 0, which FFmpeg never gives)."""
    from igde_stream.stream.views import render_file

    frames = [av.VideoFrame.from_ndarray(c, format="rgb24").reformat(format="yuv420p10le")
              for c in scene(2, (32, 24))[0]]
    c = encode_frames(tmp_path / "c.mkv", frames, "ffv1", "yuv420p10le",
                      tags={"color_trc": PQ, "colorspace": BT2020, "color_range": 1})
    d = write_video(tmp_path / "d.mkv", scene(2, (32, 24))[1], fmt="gray", rate=RATE)
    with av.open(str(c)) as f:
        assert f.streams.video[0].codec_context.color_primaries == UNSPECIFIED
    render_file(c, d, tmp_path / "v.mp4", mv.ViewConfig(2, 12), codec="h264")
    assert _tags(tmp_path / "v.mp4") == (BT2020, PQ, BT709)
