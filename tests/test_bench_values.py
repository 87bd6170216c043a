"""The benchmark tools' arithmetic and report fields by hand (``igde_stream.bench``: common, models,
gpu_report): stand-in clocks, sessions and files, no timing asserted (mutation campaign 59b)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import pathlib
import platform
import types

import numpy as np
import pytest

from igde_stream.bench import common, gpu_report, models
from igde_stream.errors import IGDEError

ROOT = pathlib.Path(__file__).resolve().parent.parent


# ---- common -------------------------------------------------------------------------------------

def test_counts_reads_the_list_and_takes_1_refuses_0():
    assert common.counts("1,4", "batch") == [1, 4]
    assert common.counts(" 3 , 1 ", "frames") == [3, 1]
    assert common.counts("1", "batch") == [1]
    with pytest.raises(IGDEError, match=r"^frames '2,0': use whole numbers >= 1, comma-separated, e\.g\. 1,4$"):
        common.counts("2,0", "frames")


def test_parse_size_takes_1x1_and_refuses_a_zero_side():
    assert common.parse_size("1x1") == (1, 1)
    for text in ("0x1", "1x0"):
        with pytest.raises(IGDEError):
            common.parse_size(text)


def test_stamp_dates_to_the_second_with_the_zone():
    s = common.stamp("infer", ["--iters", "3"])
    assert list(s) == ["kind", "date", "command"] and s["kind"] == "infer"
    when = dt.datetime.fromisoformat(s["date"])
    assert when.tzinfo is not None and when.microsecond == 0 and "." not in s["date"]
    assert abs((dt.datetime.now().astimezone() - when).total_seconds()) < 60
    assert s["command"] == "python tools/bench.py infer --iters 3"


def test_device_name_reads_the_cpu_model_line(monkeypatch):
    """The text after the first ':' of /proc/cpuinfo's "model name" line, a ':' in the name kept."""
    cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13: 64-Core\nflags\t: fpu\n"

    def fake_open(path, *a, **k):
        assert path == "/proc/cpuinfo"
        import io
        return io.StringIO(cpuinfo)

    monkeypatch.setattr(common, "open", fake_open, raising=False)
    assert common.device_name("cpu") == "CPU AMD EPYC 7B13: 64-Core"
    assert common.device_name(None) == "CPU AMD EPYC 7B13: 64-Core"


def test_device_name_without_cpuinfo_is_the_platforms_name(monkeypatch):
    def missing(path, *a, **k):
        raise FileNotFoundError(path)

    monkeypatch.setattr(common, "open", missing, raising=False)
    monkeypatch.setattr(platform, "processor", lambda: "")
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    assert common.device_name("cpu") == "CPU aarch64"


def test_device_name_of_a_cuda_device_is_the_gpus(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "NVIDIA H100 80GB HBM3")
    assert common.device_name("cuda") == "NVIDIA H100 80GB HBM3"
    assert common.device_name("cuda:0") == "NVIDIA H100 80GB HBM3"


def test_versions_lists_python_and_the_installed_libraries():
    v = common.versions()
    assert v["python"] == platform.python_version() and v["numpy"] == np.__version__
    assert set(v) <= {"python", "torch", "onnxruntime", "onnx", "tensorrt", "numpy"}


def test_loadavg_is_the_1_minute_figure_before_and_now_to_2_decimals(monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (1.23456, 7.0, 8.0))
    assert common.loadavg_before_after((0.987654, 5.0, 6.0)) == [0.99, 1.23]


def test_save_json_is_two_space_indented_with_a_last_newline(tmp_path, capsys):
    """The layout of the committed benchmarks/*.json (two-space indents, a newline at the end)."""
    committed = (ROOT / "benchmarks" / "models-cpu-960x540-holes.json").read_text()
    out = tmp_path / "sub" / "b.json"
    common.save_json(out, json.loads(committed))
    assert out.read_text() == committed
    assert capsys.readouterr().out == f"wrote {out}\n"


# ---- gpu_report ---------------------------------------------------------------------------------

def _committed_report(name: str) -> tuple[dict, str, str]:
    """A committed GPU report's data as it was in memory (JSON's null for a NaN peak back to NaN),
    its JSON text and its Markdown."""
    text = (ROOT / "benchmarks" / "gpu" / f"{name}.json").read_text()
    data = json.loads(text)
    nan_rows = [r for r in data["speed"] if r["peak_mb"] is None]
    assert nan_rows  # the host rows: no device peak (NaN, written as null)
    for r in nan_rows:
        r["peak_mb"] = math.nan
    return data, text, (ROOT / "benchmarks" / "gpu" / f"{name}.md").read_text()


@pytest.mark.parametrize("name", ["gpu_checks", "gpu_checks_forms"])
def test_report_writes_the_committed_gpu_report_again(name, tmp_path):
    """From the data of a committed run, Report.save writes its committed gpu_checks.json and .md
    byte for byte (every table, the profile, the compile line, NaN as null / "nan")."""
    data, json_text, md = _committed_report(name)
    rep = gpu_report.Report(tmp_path / "out", data["meta"])
    rep.data = data
    assert rep.markdown() == md
    rep.save()
    assert (tmp_path / "out" / "gpu_checks.json").read_text() == json_text
    assert (tmp_path / "out" / "gpu_checks.md").read_text() == md


def test_the_report_json_has_nan_as_null_and_both_infinities_as_strings(tmp_path, monkeypatch):
    """The GPU checks' JSON writes its values as the evaluation report does: NaN as null, +-inf as
    "inf" / "-inf" (a -inf was null before, indistinguishable from a missing value), NumPy scalars
    as plain numbers."""
    rep = gpu_report.Report(tmp_path, {"notes": []})
    rep.data["psnr"].append({"a": [math.nan, math.inf, -math.inf, 1.5, 0.0], "b": {"c": np.float32("inf")},
                             "d": "x", "e": np.int64(3), "f": None})
    monkeypatch.setattr(gpu_report.Report, "markdown", lambda self: "")  # the JSON is what is checked
    rep.save()
    got = json.loads((tmp_path / "gpu_checks.json").read_text())["psnr"][0]
    assert got == {"a": [None, "inf", "-inf", 1.5, 0.0], "b": {"c": "inf"}, "d": "x", "e": 3, "f": None}


def test_fmt_empty_for_none_inf_for_inf():
    assert gpu_report.fmt(None) == "" and gpu_report.fmt(None, ".3%") == ""
    assert gpu_report.fmt(math.inf) == "inf" and gpu_report.fmt(54.84) == "54.8"
    assert gpu_report.fmt(0.00008, ".3%") == "0.008%"


def test_report_starts_empty_and_makes_its_folder(tmp_path):
    meta = dict(device_name="GPU X", date="d", command="c", torch="t", cuda="12", cudnn=9, notes=["n1"])
    rep = gpu_report.Report(tmp_path / "a" / "b", meta)
    assert (tmp_path / "a" / "b").is_dir()
    assert rep.data == {"meta": meta, "correctness": [], "psnr": [], "speed": [], "skipped": [], "errors": []}
    rep.data["skipped"] += ["tensorrt: not installed", "x"]
    rep.data["errors"].append("boom")
    md = rep.markdown()
    assert md.startswith("# GPU checks (GPU X, d)\n\n`c`; torch t, CUDA 12, cuDNN 9; frames: ?\n\n- n1\n")
    assert md.endswith("\nSkipped: tensorrt: not installed; x\n\n## Errors\n\n- boom\n")


# ---- models -------------------------------------------------------------------------------------

def test_the_frame_is_the_committed_benchmarks_test_frame():
    """The frame is the test split's second scene (seed 1), frame 0: its shares of wrong and of hole
    pixels at 960x540 are those the committed benchmarks/models-cpu-960x540-*.json recorded."""
    for name in ("holes", "mix46"):
        saved = json.loads((ROOT / "benchmarks" / f"models-cpu-960x540-{name}.json").read_text())
        color, depth, gt = models._structured_frame(540, 960, saved["errors"])
        assert color.shape == (540, 960, 3) and depth.shape == gt.shape == (540, 960)
        assert float(np.mean(depth != gt)) == saved["input_wrong_share"]
        if saved.get("hole_share") is not None:
            assert float(np.mean(depth == 0)) == saved["hole_share"]


def test_the_frame_without_errors_is_its_true_depth():
    from igde_stream.data import Scene, SceneConfig
    from igde_stream.data.synthetic import SPLITS

    color, depth, gt = models._structured_frame(16, 24, "none", seed=3)
    f = Scene(SPLITS["test"][3], SceneConfig(width=24, height=16)).render(0)
    assert np.array_equal(depth, gt) and np.array_equal(gt, f.depth) and np.array_equal(color, f.color)
    assert depth.dtype == np.uint8


class _Clock:
    """time.perf_counter as a stand-in: it moves only when an entry runs, by that entry's next duration."""

    def __init__(self) -> None:
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now


H, W = 4, 5


def _frames():
    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    gt = np.full((H, W), 100, np.uint8)
    depth = gt.copy()
    depth[0, :2] = 0  # two holes
    depth[3, 3:5] = 140  # two more wrong pixels: 4 of 20 wrong, 2 of 20 holes
    return color, depth, gt


def _stand_ins(monkeypatch, durations: dict[str, list[float]], changed: dict[str, int]):
    """Stand-in export, ONNX Runtime sessions, filter, hole fill and clock. Each entry's calls (the
    changed-pixels call, the warm-up, then the timed rounds) advance the clock by its next duration;
    a model's output differs from the input depth in ``changed[path stem]`` pixels."""
    import cv2
    import onnxruntime as ort

    import igde_stream.export
    import igde_stream.filters
    import igde_stream.hole_fill

    color, depth, gt = _frames()
    clock = _Clock()
    seen: dict[str, list] = {"frame": [], "export": [], "feeds": [], "threads": []}

    def tick(name):
        clock.now += durations[name].pop(0)

    def frame(h, w, errors):
        seen["frame"].append((h, w, errors))
        return color, depth, gt

    def export(ref, path, **kw):
        seen["export"].append((ref, pathlib.Path(path).name, kw))
        return path

    class Session:
        def __init__(self, path, so, providers):
            self.stem = pathlib.Path(path).stem
            seen["threads"].append((so.intra_op_num_threads, so.inter_op_num_threads, providers))

        def run(self, names, feeds):
            seen["feeds"].append(feeds)
            tick(self.stem)
            out = feeds["depth"].copy()
            out.reshape(-1)[: changed[self.stem]] += 0.5
            return [out]

    monkeypatch.setattr(models, "_structured_frame", frame)
    monkeypatch.setattr(models, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    monkeypatch.setattr(igde_stream.export, "export_onnx", export)
    monkeypatch.setattr(ort, "InferenceSession", Session)
    monkeypatch.setattr(cv2, "setNumThreads", lambda n: seen["threads"].append(n))
    monkeypatch.setattr(igde_stream.filters, "FILTERS", {"fake": lambda c, d: tick("fake")})
    def fill(c, d, settings, workers):  # the shipped fill ("fill") and the sampled window ("fill3")
        seen.setdefault("fill", []).append((settings, workers))
        tick("fill" if settings == igde_stream.hole_fill.DEFAULT_FILL else "fill3")

    monkeypatch.setattr(igde_stream.hole_fill, "fill_holes", fill)
    monkeypatch.setattr(models, "log", lambda s: None)
    return seen, (color, depth, gt)


def _args(**kw):
    a = dict(size=(W, H), errors="mix", models=["igde-tiny"], also_dense=False, also_unpadded=False, threads=3,
             rounds=3, filters=["fake"], argv=["--rounds", "3"])
    a.update(kw)
    return argparse.Namespace(**a)


def test_models_rows_are_medians_in_ms_and_ratios_to_the_first_entry(monkeypatch):
    """Per entry: the median of its timed rounds in ms, its ratio to the first entry's median, the
    rounds, and the share of pixels a model changed; the input's wrong and hole shares."""
    durations = {"m016": [9.0, 9.0, 0.030, 0.010, 0.020],  # changed-pixels call, warm-up, 3 rounds
                 "fake": [9.0, 0.004, 0.100, 0.005],  # warm-up, 3 rounds
                 "fill": [9.0, 0.001, 0.003, 0.002], "fill3": [9.0, 0.0005, 0.0004, 0.0006]}
    seen, (color, depth, gt) = _stand_ins(monkeypatch, durations, {"m016": 5})
    res = models.run_benchmark(_args())
    assert seen["frame"] == [(H, W, "mix")]
    assert seen["export"] == [("igde-tiny", "m016.onnx", {"check": False, "dense_head": False, "channel_multiple": 16})]
    assert seen["threads"] == [(3, 1, ["CPUExecutionProvider"]), 3]
    feeds = seen["feeds"][0]
    assert feeds["color"].dtype == np.float32 and feeds["color"].shape == (1, 3, H, W)
    np.testing.assert_allclose(feeds["color"][0], color.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    assert feeds["depth"].dtype == np.float32 and feeds["depth"].shape == (1, 1, H, W)
    np.testing.assert_allclose(feeds["depth"][0, 0], depth / 255.0, rtol=1e-6)
    assert all(not v for v in durations.values())  # every call ran, each once per round
    rows = {r["entry"]: r for r in res["rows"]}
    assert list(rows) == ["model:igde-tiny", "filter:fake", "hole fill (after the model)",
                          "hole fill, window sampled every 3 px"]
    assert rows["model:igde-tiny"] == pytest.approx({"entry": "model:igde-tiny", "ms_per_frame": 20.0, "ratio": 1.0,
                                                     "runs": 3, "changed_share": 0.25})
    assert rows["filter:fake"] == pytest.approx({"entry": "filter:fake", "ms_per_frame": 5.0, "ratio": 0.25, "runs": 3})
    assert rows["hole fill (after the model)"] == pytest.approx(
        {"entry": "hole fill (after the model)", "ms_per_frame": 2.0, "ratio": 0.1, "runs": 3})
    assert rows["hole fill, window sampled every 3 px"]["ms_per_frame"] == pytest.approx(0.5)
    from igde_stream.hole_fill import HoleFill

    assert set(seen["fill"]) == {(HoleFill(sigma_space=12, stride=1), 3), (HoleFill(), 3)}  # the model's threads
    assert res["size"] == [W, H] and res["errors"] == "mix" and res["threads"] == 3
    assert res["input_wrong_share"] == pytest.approx(4 / 20) and res["hole_share"] == pytest.approx(2 / 20)
    assert res["kind"] == "models" and res["command"] == "python tools/bench.py models --rounds 3"
    assert res["cpu_count"] == os.cpu_count() and res["device"].startswith("CPU ") and "python" in res["versions"]


def test_models_forms_dense_and_unpadded_each_an_entry(monkeypatch):
    durations = {"m016": [0, 0, 0.004], "m00": [0, 0, 0.002], "m0d16": [0, 0, 0.008], "m0d0": [0, 0, 0.001],
                 "fake": [0, 0.010], "fill": [0, 0.001], "fill3": [0, 0.0005]}
    seen, _ = _stand_ins(monkeypatch, durations, {"m016": 2, "m00": 2, "m0d16": 10, "m0d0": 10})
    res = models.run_benchmark(_args(also_dense=True, also_unpadded=True, rounds=1))
    assert [(name, kw["dense_head"], kw["channel_multiple"]) for _, name, kw in seen["export"]] == [
        ("m016.onnx", False, 16), ("m00.onnx", False, 0), ("m0d16.onnx", True, 16), ("m0d0.onnx", True, 0)]
    assert [r["entry"] for r in res["rows"]] == [
        "model:igde-tiny", "model:igde-tiny (unpadded)", "model:igde-tiny (dense head)",
        "model:igde-tiny (dense head) (unpadded)", "filter:fake", "hole fill (after the model)",
        "hole fill, window sampled every 3 px"]
    assert [r["ratio"] for r in res["rows"]] == pytest.approx([1.0, 0.5, 2.0, 0.25, 2.5, 0.25, 0.125])
    assert [r.get("changed_share") for r in res["rows"]] == [0.1, 0.1, 0.5, 0.5, None, None, None]
    assert [r["ms_per_frame"] for r in res["rows"]] == pytest.approx([4.0, 2.0, 8.0, 1.0, 10.0, 1.0, 0.5])


def test_models_without_holes_has_no_hole_fill_entry(monkeypatch):
    seen, (color, depth, gt) = _stand_ins(monkeypatch, {"m016": [0, 0, 0.002], "fake": [0, 0.001]}, {"m016": 0})
    depth[depth == 0] = 100
    res = models.run_benchmark(_args(rounds=1))
    assert [r["entry"] for r in res["rows"]] == ["model:igde-tiny", "filter:fake"]
    assert res["hole_share"] == 0.0 and res["input_wrong_share"] == pytest.approx(2 / 20)
    assert res["rows"][0]["changed_share"] == 0.0 and res["rows"][1]["ratio"] == pytest.approx(0.5)


def test_an_onnx_file_runs_as_it_is_and_its_errors_are_one_line(monkeypatch, tmp_path):
    seen, _ = _stand_ins(monkeypatch, {"given": [0, 0, 0.006], "fake": [0, 0.003], "fill": [0, 0.003],
                                       "fill3": [0, 0.001]}, {"given": 1})
    with pytest.raises(FileNotFoundError, match="^no such ONNX file: nope.onnx$"):
        models.run_benchmark(_args(models=["nope.onnx"]))
    onnx = tmp_path / "given.onnx"
    onnx.write_bytes(b"x")
    res = models.run_benchmark(_args(models=[str(onnx)], rounds=1))
    assert seen["export"] == [] and res["rows"][0] == pytest.approx(
        {"entry": f"onnx:{onnx}", "ms_per_frame": 6.0, "ratio": 1.0, "runs": 1, "changed_share": 0.05})
    assert [r["entry"] for r in res["rows"][1:]] == ["filter:fake", "hole fill (after the model)",
                                                     "hole fill, window sampled every 3 px"]
    assert [r["ratio"] for r in res["rows"][1:]] == pytest.approx([0.5, 0.5, 1 / 6])

    import onnxruntime as ort

    def broken(path, so, providers):
        raise RuntimeError("[ONNXRuntimeError] : 10 : INVALID_GRAPH\nsecond line")

    monkeypatch.setattr(ort, "InferenceSession", broken)
    with pytest.raises(ValueError, match=r"^.*given\.onnx: \[ONNXRuntimeError\] : 10 : INVALID_GRAPH$"):
        models.run_benchmark(_args(models=[str(onnx)]))


def test_models_markdown_table_by_hand():
    result = {"rows": [{"entry": "model:a", "ms_per_frame": 812.34, "ratio": 1.0, "runs": 5, "changed_share": 0.0667},
                       {"entry": "filter:guided", "ms_per_frame": 70.06, "ratio": 0.08624, "runs": 5}]}
    assert models.markdown_table(result) == (
        "| entry | ms/frame | x model:a | pixels changed |\n|---|---|---|---|\n"
        "| model:a | 812.3 | 1.000 | 6.7 % |\n| filter:guided | 70.1 | 0.086 | - |")


def test_models_main_defaults_and_the_least_counts(monkeypatch, capsys):
    """The documented defaults (960x540, 2 threads, 7 rounds, the mix); 1 thread and 1 round are taken."""
    got = []

    def fake(args):
        got.append(args)
        return {"size": list(args.size), "device": "CPU x", "date": "d",
                "rows": [{"entry": "model:igde-small", "ms_per_frame": 1.0, "ratio": 1.0, "runs": args.rounds}]}

    monkeypatch.setattr(models, "run_benchmark", fake)
    assert models.main([]) == 0
    a = got[-1]
    assert (a.size, a.threads, a.rounds, a.errors, a.models, a.argv) == ((960, 540), 2, 7, "mix", ["igde-small"], [])
    assert "960x540, 2 threads, CPU x, d" in capsys.readouterr().out
    assert models.main(["--threads", "1", "--rounds", "1"]) == 0 and (got[-1].threads, got[-1].rounds) == (1, 1)

    def fails(args):
        raise ValueError("x.onnx: bad graph")

    monkeypatch.setattr(models, "run_benchmark", fails)
    assert models.main([]) == 2  # the user's file: exit 2, as the commands give bad input
    assert capsys.readouterr().err == "bench models: x.onnx: bad graph\n"

    def breaks(args):
        raise RuntimeError("onnxruntime: session failed")

    monkeypatch.setattr(models, "run_benchmark", breaks)
    assert models.main([]) == 1  # a run that failed on its way
    assert capsys.readouterr().err == "bench models: onnxruntime: session failed\n"


def test_models_also_wide_errors_times_the_enhancer_both_ways(tiny_model, tmp_path):
    """--also-wide-errors: after the raw graph, the Enhancer one pass and with wide_errors, each its own
    entry; the wide entry's output is the Enhancer's own with wide_errors (its changed share matches)."""
    import json

    from igde_stream.enhancer import Enhancer

    out = tmp_path / "m.json"
    assert models.main(["--models", str(tiny_model), "--filters", "--size", "32x24", "--threads", "1", "--rounds", "1",
                        "--errors", "wide", "--also-wide-errors", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    names = [r["entry"] for r in rows]
    assert names[:3] == [f"model:{tiny_model}", f"Enhancer:{tiny_model}", f"Enhancer:{tiny_model} --wide-errors"]
    color, depth, _ = models._structured_frame(24, 32, "wide")
    wide = Enhancer(tiny_model, backend="torch", quiet=True, hole_fill=False, wide_errors=True).enhance(color, depth)
    assert rows[2]["changed_share"] == pytest.approx(float(np.mean(wide != depth)), abs=0.02)
