"""Per-frame PSNR report: agrees with FFmpeg's psnr filter; inf, CSV / JSON, plot."""

from __future__ import annotations

import csv
import json
import math
from fractions import Fraction

import numpy as np
import pytest

from igde_stream.errors import OutputError
from igde_stream.stream import PsnrReport, enhance_file


def ffmpeg_psnr(a_path, b_path) -> list[dict[str, str]]:
    """Per-frame metadata of FFmpeg's psnr filter on two gray streams (PyAV filter graph)."""
    import av
    from av.filter import Graph

    with av.open(str(a_path)) as ca, av.open(str(b_path)) as cb:
        sa, sb = ca.streams.video[0], cb.streams.video[0]
        g = Graph()
        tb = Fraction(1, 1000)
        fmt = sa.codec_context.pix_fmt
        srcs = [g.add_buffer(width=s.width, height=s.height, format=fmt, time_base=tb) for s in (sa, sb)]
        psnr = g.add("psnr")
        sink = g.add("buffersink")
        srcs[0].link_to(psnr, 0, 0)
        srcs[1].link_to(psnr, 0, 1)
        psnr.link_to(sink)
        g.configure()
        out = []
        for i, (fa, fb) in enumerate(zip(ca.decode(sa), cb.decode(sb))):
            for src, f in zip(srcs, (fa, fb)):
                f.pts, f.time_base = i, tb
                src.push(f)
            while True:
                try:
                    out.append(dict(sink.pull().metadata))
                except (av.error.BlockingIOError, av.error.EOFError):
                    break
    return out


@pytest.mark.parametrize("bits", [8, 16])
def test_per_frame_psnr_agrees_with_ffmpeg_psnr_filter(make_clip, enhancer, tmp_path, bits):
    clip = make_clip(n=6, bits=bits)
    report = tmp_path / "r.json"
    enhance_file(clip["color"], clip["depth"], clip["out"], gt_path=clip["gt"], report_path=report, enhancer=enhancer)
    rows = json.loads(report.read_text())["frames"]
    ours = [r["psnr"] for r in rows]
    ours_in = [r["input_psnr"] for r in rows]
    theirs = [float(m["lavfi.psnr.psnr.y"]) for m in ffmpeg_psnr(clip["out"], clip["gt"])]
    theirs_in = [float(m["lavfi.psnr.psnr.y"]) for m in ffmpeg_psnr(clip["depth"], clip["gt"])]
    assert len(theirs) == len(ours) == 6
    np.testing.assert_allclose(ours, theirs, atol=2e-6)  # FFmpeg prints 6 decimals
    np.testing.assert_allclose(ours_in, theirs_in, atol=2e-6)
    mse = [float(m["lavfi.psnr.mse.y"]) for m in ffmpeg_psnr(clip["out"], clip["gt"])]
    np.testing.assert_allclose([r["mse"] for r in rows], mse, rtol=1e-6, atol=2e-6)


def test_identical_frames_give_inf_never_a_number(tmp_path):
    gt = np.full((4, 6), 100, np.uint8)
    inp = gt.copy()
    inp[0, 0] = 90
    rep = PsnrReport(255.0)
    rep.add(0, 0.0, gt, inp, gt, 0.0)  # perfect output
    worse = gt.copy()
    worse[1, 1] = 110
    rep.add(1, 0.04, worse, inp, gt, 0.04)
    s = rep.summary()
    assert math.isinf(s["max_psnr"]) and math.isfinite(s["mean_psnr"])  # mean over MSE, then converted
    assert s["mean_psnr"] == pytest.approx(10 * math.log10(255**2 / (100 / 24 / 2)))
    rep.write(tmp_path / "r.json")
    rep.write(tmp_path / "r.csv")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["frames"][0]["psnr"] == "inf" and doc["summary"]["max_psnr"] == "inf"
    assert doc["frames"][0]["psnr_f"] == "inf"  # the input's one error pixel was repaired
    assert doc["frames"][1]["psnr_f"] == "inf" and isinstance(doc["frames"][1]["psnr_t"], float)
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert rows[0]["psnr"] == "inf" and float(rows[1]["psnr"]) > 0
    assert list(rows[0]) == ["index", "pts_time", "gt_pts_time", "mse", "psnr", "input_mse", "input_psnr",
                             "psnr_t", "psnr_f", "peak"]


def test_summary_worst_frames_gain_and_unmatched():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 256, (8, 8)).astype(np.uint8)
    rep = PsnrReport(255.0)
    for i, noise in enumerate([1, 5, 2]):
        out = np.clip(gt.astype(int) + noise, 0, 255).astype(np.uint8)
        inp = np.clip(gt.astype(int) + 2 * noise, 0, 255).astype(np.uint8)
        rep.add(i, i / 25, out, inp, gt, i / 25)
    rep.add(3, 3 / 25, gt, gt)  # no ground truth for this one
    rep.add_unmatched_gt(7, 0.28)
    s = rep.summary(worst=2)
    assert [w["index"] for w in s["worst_frames"]] == [1, 2]
    assert s["mean_gain_db"] > 5
    assert s["unmatched_frames"] == 2 and s["output_frames_without_gt"] == [3] and s["gt_frames_without_output"] == [7]
    assert s["median_psnr"] == sorted(r.psnr for r in rep.rows[:3])[1]


def test_plot_png(tmp_path):
    pytest.importorskip("matplotlib")
    gt = np.zeros((4, 4), np.uint8)
    rep = PsnrReport(255.0)
    for i in range(5):
        rep.add(i, i / 25, gt + i, gt + 2 * i, gt, i / 25)
    path = rep.plot(tmp_path / "p.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_suffix_is_checked(tmp_path):
    with pytest.raises(OutputError, match=r"\.json or \.csv"):
        PsnrReport(255.0).write(tmp_path / "r.xlsx")
