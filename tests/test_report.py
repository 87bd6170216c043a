"""Per-frame PSNR report: agrees with FFmpeg's psnr filter; inf, CSV / JSON, plot."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import statistics
import subprocess
import sys
import textwrap
import tracemalloc
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


def test_the_csv_keeps_small_errors_to_ten_significant_digits(tmp_path):
    """One pixel off by one level in a 1080p frame: MSE 1 / 2,073,600 = 4.8225e-07. The CSV rounded to
    6 decimal places and wrote 0.0 beside a finite PSNR; it must read back as the JSON's value, and
    the PSNR computed from it must be the report's."""
    gt = np.full((1080, 1920), 100, np.uint8)
    out, inp = gt.copy(), gt.copy()
    out[0, 0], inp[:8, :8] = 101, 90
    rep = PsnrReport(255.0)
    rep.add(0, 0.0, out, inp, gt, 0.0)
    rep.write(tmp_path / "r.csv")
    rep.write(tmp_path / "r.json")
    row = next(csv.DictReader((tmp_path / "r.csv").open()))
    frame = json.loads((tmp_path / "r.json").read_text())["frames"][0]
    assert frame["mse"] == 1 / (1080 * 1920)
    assert float(row["mse"]) == pytest.approx(1 / (1080 * 1920), rel=1e-9)
    assert float(row["input_mse"]) == pytest.approx(64 * 100 / (1080 * 1920), rel=1e-9)
    assert 10 * math.log10(255 ** 2 / float(row["mse"])) == pytest.approx(float(row["psnr"]), abs=1e-6)
    rep.close()


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


def _in_memory_summary(rows, peak, worst=5):
    """The summary as computed from rows held in a list (what the report did before it spooled rows)."""
    matched = [r for r in rows if r.mse is not None]
    psnrs = [r.psnr for r in matched]

    def mean_psnr(mses):  # PSNR of the mean MSE; nan frames skipped
        vals = [m for m in mses if not math.isnan(m)]
        if not vals:
            return math.nan
        m = float(np.mean(vals))
        return math.inf if m == 0 else 10 * math.log10(peak * peak / m)

    def mse_of(p):
        return math.nan if math.isnan(p) else (0.0 if math.isinf(p) else peak * peak / 10 ** (p / 10))

    out_psnr, in_psnr = mean_psnr([r.mse for r in matched]), mean_psnr([r.input_mse for r in matched])
    return {
        "frames": len(rows), "matched_frames": len(matched),
        "unmatched_frames": len(rows) - len(matched),
        "output_frames_without_gt": [r.index for r in rows if r.mse is None],
        "gt_frames_without_output": [], "peak": peak, "gt_measured_only": False, "mean_psnr": out_psnr, "mean_psnr_input": in_psnr,
        "mean_gain_db": out_psnr - in_psnr,
        "mean_psnr_t": mean_psnr([mse_of(r.psnr_t) for r in matched]),
        "mean_psnr_f": mean_psnr([mse_of(r.psnr_f) for r in matched]),
        "min_psnr": min(psnrs), "median_psnr": statistics.median(psnrs), "max_psnr": max(psnrs),
        "worst_frames": [{"index": r.index, "pts_time": r.pts_time, "psnr": r.psnr, "input_psnr": r.input_psnr}
                         for r in sorted(matched, key=lambda r: r.psnr)[:worst]],
    }


def _plain(v):
    """The report's value convention: nan -> null, inf -> "inf"."""
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _cell(v):
    if isinstance(v, float):
        return "" if math.isnan(v) else ("inf" if math.isinf(v) else f"{v:.10g}")
    return "" if v is None else str(v)


def test_report_assembled_from_the_spool_equals_the_in_memory_one(make_clip, enhancer, tmp_path, monkeypatch):
    from igde_stream.stream import pipeline

    made = []

    class Recording(pipeline.PsnrReport):  # keeps, on the side, the rows ``add`` hands back
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.kept = []
            made.append(self)

        def add(self, *a, **kw):
            row = super().add(*a, **kw)
            self.kept.append(dataclasses.replace(row))
            return row

    monkeypatch.setattr(pipeline, "PsnrReport", Recording)
    clip = make_clip(n=7)
    out_dir = clip["out"].parent
    js, cs = out_dir / "r.json", out_dir / "r.csv"
    enhance_file(clip["color"], clip["depth"], clip["out"], gt_path=clip["gt"], report_path=[js, cs], enhancer=enhancer)
    rows = made[0].kept
    assert len(rows) == 7
    text = js.read_text()
    header = {k: v for k, v in json.loads(text).items() if k not in ("summary", "frames")}
    doc = {**header, "summary": _in_memory_summary(rows, 255.0),
           "frames": [dataclasses.asdict(r) for r in rows]}
    assert text == json.dumps(_plain(doc), indent=1, allow_nan=False) + "\n"  # byte for byte
    names = [f.name for f in dataclasses.fields(rows[0])]
    expected_csv = ",".join(names) + "\n" + "".join(",".join(_cell(getattr(r, n)) for n in names) + "\n" for r in rows)
    assert cs.read_text() == expected_csv
    # the row file lived beside the reports and is gone; nothing else was left there
    left = sorted(p.name for p in out_dir.iterdir())
    assert left == ["color.mp4", "depth.mkv", "gt.mkv", "out.mkv", "r.csv", "r.json"]


def test_empty_report_is_still_valid_json(tmp_path):
    rep = PsnrReport(255.0)
    rep.write(tmp_path / "r.json", {"tool": "t"})
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["frames"] == [] and doc["summary"]["frames"] == 0 and doc["tool"] == "t"


def test_rows_are_spooled_not_kept_in_memory():
    gt = np.zeros((4, 6), np.uint8)
    out, inp = gt + 1, gt + 3
    inp[0, 0] = 0  # one correct pixel, so PSNRt is measured too
    with PsnrReport(255.0) as rep:
        for i in range(50):  # warm up: file buffers, caches
            rep.add(i, i / 25, out, inp, gt, i / 25)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(50, 1050):
                rep.add(i, i / 25, out, inp, gt, i / 25)
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        # 1000 rows held as objects take ~300 KB; a spool keeps RAM flat
        assert grown < 32 * 1024, grown
        assert not [k for k, v in vars(rep).items() if isinstance(v, (list, tuple, dict, set)) and len(v) >= 1000]
        assert len(rep.rows) == 1050
        last = rep.rows[-1]
        assert (last.index, last.pts_time, last.mse, last.input_mse) == (1049, round(1049 / 25, 6), 1.0, 9 * 23 / 24)
        assert [r.index for r in rep.rows[3:6]] == [3, 4, 5]


def test_plot_keeps_the_embedding_apps_backend_and_never_imports_pyplot(tmp_path):
    pytest.importorskip("matplotlib")
    # A fresh interpreter: what a Jupyter kernel or a GUI app that chose its backend would see.
    code = textwrap.dedent("""
        import sys
        import matplotlib
        matplotlib.use("svg")  # the application's choice (pyplot not imported yet)
        import numpy as np
        from igde_stream.stream.report import PsnrReport
        rep = PsnrReport(255.0)
        gt = np.zeros((4, 4), np.uint8)
        for i in range(4):
            rep.add(i, i / 25, gt + i, gt + 2 * i, gt, i / 25)
        rep.plot(sys.argv[1], title="t")
        print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
    """)
    png = tmp_path / "p.png"
    r = subprocess.run([sys.executable, "-c", code, str(png)], capture_output=True, text=True, timeout=300,
                       env={**{k: v for k, v in os.environ.items() if k != "MPLBACKEND"}, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["svg", "False"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]


def test_a_full_disk_while_spooling_is_a_clear_error(tmp_path):
    class Full:
        def write(self, data):
            raise OSError(28, "No space left on device")

        def close(self):
            pass

    rep = PsnrReport(255.0, spool_dir=tmp_path)
    rep._spool.close()
    rep._spool = Full()
    gt = np.zeros((2, 2), np.uint8)
    with pytest.raises(OutputError, match="cannot write the report's row file: No space left on device"):
        rep.add(0, 0.0, gt, gt, gt, 0.0)
    assert list(tmp_path.iterdir()) == []


def test_summary_psnr_t_and_psnr_f_average_mse_over_frames_by_hand():
    # PSNRt over the pixels the input had right, PSNRf over its error pixels (input != gt); each is
    # the PSNR of the mean of the per-frame MSEs (an inf frame counts as MSE 0, an empty set is skipped)
    gt = np.full((4, 4), 100, np.uint8)
    rep = PsnrReport(255.0)
    # frame 0: 4 error pixels (row 0), output off by 2 there (MSE_f 4); 6 of the 12 right pixels off
    # by 1 (MSE_t 0.5)
    inp = gt.copy(); inp[0] = 110
    out = gt.copy(); out[0] = 102; out[1] = 101; out[2, :2] = 101
    rep.add(0, 0.0, out, inp, gt, 0.0)
    # frame 1: 8 error pixels (rows 0-1), off by 4 (MSE_f 16); right pixels exact (MSE_t 0: inf)
    inp = gt.copy(); inp[:2] = 90
    out = gt.copy(); out[:2] = 104
    rep.add(1, 0.04, out, inp, gt, 0.04)
    # frame 2: the input is right everywhere (no PSNRf); one pixel off by 3 (MSE_t 9 / 16)
    out = gt.copy(); out[3, 3] = 103
    rep.add(2, 0.08, out, gt.copy(), gt, 0.08)
    rep.add(3, 0.12, gt, gt)  # no ground truth: in neither mean
    rows = rep.rows
    assert rows[0].psnr_t == pytest.approx(10 * math.log10(255**2 / 0.5))
    assert rows[0].psnr_f == pytest.approx(10 * math.log10(255**2 / 4))
    assert rows[1].psnr_t == math.inf and math.isnan(rows[2].psnr_f) and rows[3].psnr_t is None
    s = rep.summary()
    assert s["mean_psnr_t"] == pytest.approx(10 * math.log10(255**2 / ((0.5 + 0 + 9 / 16) / 3)), abs=1e-9)
    assert s["mean_psnr_f"] == pytest.approx(10 * math.log10(255**2 / ((4 + 16) / 2)), abs=1e-9)
    rep16 = PsnrReport(65535.0)  # the peak is the report's, not 255
    rep16.add(0, 0.0, np.array([[1000, 1002]], np.uint16), np.array([[1000, 1010]], np.uint16),
              np.array([[1000, 1000]], np.uint16))
    s16 = rep16.summary()
    assert s16["mean_psnr_t"] == math.inf
    assert s16["mean_psnr_f"] == pytest.approx(10 * math.log10(65535**2 / 4), abs=1e-9)


def test_times_are_kept_to_the_microsecond_and_write_returns_the_path(tmp_path):
    # pts times to 6 decimals (1 us: below any frame period, and stable in JSON / CSV); write() and
    # its caller's commit rely on the returned final path
    gt = np.full((2, 2), 7, np.uint8)
    rep = PsnrReport(255.0)
    rep.add(0, 1 / 3, gt, gt, gt, 2 / 3)
    row = rep.rows[0]
    assert (row.pts_time, row.gt_pts_time) == (0.333333, 0.666667)
    assert rep.write(tmp_path / "r.json") == tmp_path / "r.json"
    assert rep.write(tmp_path / "r.csv") == tmp_path / "r.csv"
    assert json.loads((tmp_path / "r.json").read_text())["frames"][0]["gt_pts_time"] == 0.666667


def test_plot_path_must_be_png(tmp_path):
    pytest.importorskip("matplotlib")
    from igde_stream.stream.report import check_plot_path

    check_plot_path(tmp_path / "psnr.png")
    check_plot_path(tmp_path / "PSNR.PNG")
    for bad in ("psnr.jpg", "psnr.png.txt", "psnr"):
        with pytest.raises(OutputError, match="plot must end in .png"):
            check_plot_path(tmp_path / bad)


def test_median_by_hand_for_odd_and_even_counts():
    """The summary's median PSNR is statistics.median: the middle value, or the mean of the two
    middle ones (2 and 6 values catch a parity test on n % 4)."""
    import statistics

    from igde_stream.stream.report import _median

    for values in ([5.0], [1.0, 3.0], [1.0, 2.0, 4.0], [1.0, 2.0, 4.0, 8.0], [1.0, 2.0, 3.0, 5.0, 8.0, 13.0]):
        ranked = np.sort(np.array(values))
        assert _median(ranked) == statistics.median(values)
    assert _median(np.sort(np.array([10.0, 20.0, 30.0, 50.0, 80.0, 130.0]))) == 40.0  # (30 + 50) / 2 by hand
    assert math.isnan(_median(np.array([])))


def test_unmatched_frames_are_all_counted_and_the_first_20_listed():
    rep = PsnrReport(255.0)
    d = np.zeros((2, 2), np.uint8)
    for i in range(25):
        rep.add(i, i / 25, d, d)  # no ground truth for these output frames
    for i in range(23):
        rep.add_unmatched_gt(100 + i, i / 25)
    s = rep.summary()
    assert s["unmatched_frames"] == 48
    assert s["output_frames_without_gt"] == list(range(20))
    assert s["gt_frames_without_output"] == list(range(100, 120))


def test_rows_added_after_a_read_are_read_too():
    rep = PsnrReport(255.0)
    d = np.zeros((2, 2), np.uint8)
    rep.add(0, 0.0, d, d, d, 0.0)
    assert [r.index for r in rep.iter_rows()] == [0]
    rep.add(1, 0.04, d + 1, d, d, 0.04)  # written where the read left the file: at its end
    rows = list(rep.iter_rows())
    assert [r.index for r in rows] == [0, 1] and rows[1].mse == 1.0
