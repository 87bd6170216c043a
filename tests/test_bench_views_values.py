"""``igde_stream.bench.views`` by hand: each row's ms/frame (1 decimal), frames/s (1 / median, 3
decimals) and renderer speed ratio (2 decimals) from a stand-in timer, the inference rows from a
stand-in ``run_benchmark``, and the defaults and rows of the committed ``benchmarks/views*.json``
(mutation campaign 60a). No timing asserted."""

from __future__ import annotations

import json
import pathlib

import pytest

from igde_stream.bench import views
from igde_stream.cli_logging import run_tool

ROOT = pathlib.Path(__file__).resolve().parent.parent
MED = 0.0123456  # 12.3456 ms: 12.3 ms/frame; 1 / MED = 81.000518... frames/s: 81.001


def _committed(name: str) -> dict:
    return json.loads((ROOT / "benchmarks" / name).read_text())


@pytest.fixture
def timer(monkeypatch):
    """time_host stand-in: ``iters`` times of MED each, but 0.05 s (20 frames/s) on its second call."""
    calls = []

    def fake(fn, warmup=2, iters=10, *a, **k):
        calls.append(warmup)
        return [0.05 if len(calls) == 2 else MED] * iters

    monkeypatch.setattr(views, "time_host", fake)
    return calls


@pytest.fixture
def inference(monkeypatch):
    """run_benchmark stand-in: 500 ms/frame per setup; records the options it was given."""
    seen = []

    def fake(args, log=print):
        seen.append(args)
        return {"rows": [{"setup": f"{b}:fp32", "ms_per_frame": 500.0, "iters": args.iters}
                         for b in args.backends.split(",")], "weights": "shipped", "threads": 2}

    monkeypatch.setattr(views, "run_benchmark", fake)
    return seen


def _run(*argv: str) -> dict:
    args = views.build_parser().parse_args(list(argv))
    args.argv = list(argv)
    return views.run(args, log=lambda s: None)


def test_default_run_matches_the_committed_views_json(timer, inference):
    """benchmarks/views.json is ``python tools/bench.py views`` (before the torch rows existed): its
    frame's hole fraction, views, baseline, zero parallax, model, rows and iterations."""
    committed = _committed("views.json")
    assert committed["command"].strip() == "python tools/bench.py views"
    res = _run("--no-torch")
    for key in ("size", "views", "baseline_px", "zero_parallax", "hole_fraction", "model"):
        assert res[key] == committed[key], key
    assert [(r["what"], r["iters"]) for r in res["rows"]] == [(r["what"], r["iters"]) for r in committed["rows"]]
    (inf,) = inference
    assert (inf.sizes, inf.batch, inf.iters, inf.min_time) == ("960x540", "1", 3, 0.0)  # exactly --infer-iters rounds


def test_rows_ms_fps_and_ratio_by_hand(timer, inference):
    res = _run("--size", "64x48", "--no-torch", "--backends", "torch", "--model", "igde-tiny", "--iters", "4")
    rows = {r["what"]: r for r in res["rows"]}
    assert rows["render 8 views"] == {"what": "render 8 views", "ms_per_frame": 12.3, "fps": 81.001, "iters": 4,
                                      "render_speed_ratio": 1.0}
    # 0.05 s: 50 ms, 20 frames/s; the renderer's 81.001 frames/s over 20 -> 4.05
    assert rows["render 8 views + grid"] == {"what": "render 8 views + grid", "ms_per_frame": 50.0, "fps": 20.0,
                                             "iters": 4, "render_speed_ratio": 4.05}
    # inference: 500 ms/frame -> 2 frames/s; 81.001 / 2 = 40.5005 -> 40.5
    assert rows["igde-tiny torch:fp32"] == {"what": "igde-tiny torch:fp32", "ms_per_frame": 500.0, "fps": 2.0,
                                            "iters": 3, "render_speed_ratio": 40.5}
    assert (res["weights"], res["threads"]) == ("shipped", 2)
    assert res["hole_fraction"] == round(res["hole_fraction"], 5)


def test_torch_row_by_hand_and_its_default_single_thread(timer, monkeypatch):
    """benchmarks/views-renderers.json (``--backends none --iters 15``, no --torch-threads): the torch
    renderer on one CPU thread, "like NumPy's one", even where PyTorch would take more."""
    import torch

    committed = _committed("views-renderers.json")
    assert "--torch-threads" not in committed["command"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        res = _run("--size", "64x48", "--backends", "none", "--iters", "15")
    finally:
        torch.set_num_threads(threads)
    row = res["rows"][2]
    assert row["what"] == committed["rows"][2]["what"] == "render 8 views, torch cpu (1 thread)"
    assert row == {"what": row["what"], "ms_per_frame": 12.3, "fps": 81.001, "iters": 15, "identical_to_numpy": True,
                   "render_speed_ratio": 1.0}


def test_layout_rows_by_hand_and_the_45_view_preset(timer):
    """benchmarks/views-layouts.json (``--layouts --backends none --iters 3``): the 16in preset's rows
    render 45 views; every layout row's times by hand."""
    committed = [r["what"] for r in _committed("views-layouts.json")["rows"] if "45" in r["what"]]
    assert committed == ["render 45 views", "render 45 views + grid 9x5",
                         "render 45 views + quilt 16in preset 5x9 at 4096x4096"]
    res = _run("--size", "64x48", "--layouts", "--no-torch", "--backends", "none", "--iters", "3", "--panel", "128x96")
    assert [r["what"] for r in res["rows"] if "45" in r["what"]] == committed
    layout_rows = res["rows"][2:]
    for r in layout_rows:
        assert (r["ms_per_frame"], r["fps"], r["iters"], r["render_speed_ratio"]) == (12.3, 81.001, 3, 1.0), r
        if r["what"] != "render 45 views":
            assert r["pack_ms"] == 12.3, r
    assert {r["what"]: r.get("frame_size") for r in layout_rows}["render 45 views + grid 9x5"] == [9 * 64, 5 * 48]


def test_markdown_table_by_hand():
    result = {"rows": [
        {"what": "render 8 views", "ms_per_frame": 12.34, "fps": 81.001, "render_speed_ratio": 1.0},
        {"what": "rgbd (colour | depth, no views)", "ms_per_frame": 1.7, "fps": 602.075, "pack_ms": 1.5,
         "render_speed_ratio": 0.01},
    ]}
    assert views.markdown_table(result) == (
        "| stage | ms/frame | frames/s | layout alone (ms) | renderer speed / this |\n"
        "|---|---|---|---|---|\n"
        "| render 8 views | 12.3 | 81.00 |  | 1.00 |\n"
        "| rgbd (colour \\| depth, no views) | 1.7 | 602.08 | 1.5 | 0.01 |")


def test_a_missing_file_is_one_line_and_exit_2(timer, tmp_path, capsys):
    out = tmp_path / "v.json"
    rc = run_tool(lambda: views.main(["--size", "64x48", "--layouts", "--no-torch", "--backends", "none", "--iters", "1",
                                      "--calibration", str(tmp_path / "missing.json"), "--json", str(out)]), "bench.py")
    err = capsys.readouterr().err
    last = err.splitlines()[-1]
    assert rc == 2 and last.startswith("bench.py: error: ") and "missing.json" in last and not out.exists()
    assert err.count("missing.json") == 1
