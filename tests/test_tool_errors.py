"""The scripts under tools/ that the docs tell users to run: a user's mistake (a model file that is not
there, a bad size or option) is one line on stderr and exit 2, as with ``igde-stream``; ``run_tool``
and the benchmarks' size parser by themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from igde_stream.bench.common import parse_size
from igde_stream.cli_logging import run_tool
from igde_stream.errors import IGDEError, InputError

ROOT = Path(__file__).resolve().parent.parent


def _tool(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("argv,message", [
    (["tools/figure.py", "--model", "no/such.pt"], "figure.py: error: no/such.pt: no such model file"),
    (["tools/eval_grid_color.py", "--model", "no/such.pt"], "eval_grid_color.py: error: no/such.pt: no such model file"),
    (["tools/evaluate.py", "--model", "no/such.pt", "--sequences", "1", "--frames", "1"],
     "evaluate.py: error: no/such.pt: no such checkpoint"),
    (["tools/bench_batch.py", "--size", "16"], "bench_batch.py: error: size '16': use WIDTHxHEIGHT, e.g. 960x540"),
    (["tools/bench.py", "stream", "--sizes", "32"], "bench.py: error: size '32': use WIDTHxHEIGHT, e.g. 960x540"),
    (["tools/figure.py", "--crop", "-5"], "--crop must be 16..480 pixels"),
    (["tools/export_onnx.py", "--channel-multiple", "-4"], "--channel-multiple must be >= 0"),
    (["tools/export_onnx.py", "--checkpoint", "no/such.pt", "--random-init"], "give it with --model, not --checkpoint"),
    (["tools/tune_filters.py", "--frames", "0", "--out", "/nonexistent/t.json"], "--frames must be >= 1, or 0 with --real-scene, got 0"),
    (["tools/tune_filters.py", "--errors", "paper", "bogus", "--out", "/nonexistent/t.json"],
     "unknown --errors ['bogus']; known: paper, mix"),
    (["tools/figure.py", "--errors", "bogus", "--out", "/nonexistent/f.png"], "unknown --errors 'bogus'; known: paper"),
    (["tools/figure.py", "--seed-index", "-1", "--out", "/nonexistent/f.png"], "--seed-index must be >= 0, got -1"),
    (["tools/export_onnx.py", "--checkpoint", "no/such.pt", "-o", "/nonexistent/x.onnx"],
     "export_onnx.py: error: no/such.pt"),
    (["tools/export_onnx.py", "--model", "igde-nope", "--random-init", "-o", "/nonexistent/x.onnx"],
     "export_onnx.py: error: unknown model 'igde-nope'"),
    # build_engine.py: the options are checked before TensorRT is looked for (none is installed here)
    (["tools/build_engine.py", "--opt", "0x0x0"], "'0x0x0': use NxHxW of positive integers"),
    (["tools/build_engine.py", "--batch", "0"], "--batch must be >= 1, got 0"),
    (["tools/build_engine.py", "--onnx", "no/such.onnx"], "build_engine: error: no/such.onnx: no such ONNX file"),
    (["tools/build_engine.py", "--like-video", "no/such.mkv"], "build_engine: error: no/such.mkv: no such file"),
    (["tools/build_engine.py", "--opt", "2x64x64", "--max", "1x64x64"], "need min <= opt <= max"),
    # paper_suite.py (docs/paper.md): a folder that is not there, a row that is not in the tables
    (["tools/paper_suite.py", "evaluate", "--ckpts", "no/such", "--out", "/nonexistent/r"],
     "paper_suite.py: error: no/such: no such folder"),
    # eval_distance.py (docs/formats.md): an ICL-NUIM folder without depth/ said so with exit 1
    (["tools/eval_distance.py", "--icl", "no/such", "--out", "/nonexistent/e"],
     "eval_distance.py: error: no/such: no depth/ folder (ICL-NUIM frames)"),
    # bench.py: a model that is not there said so with exit 1, as a run that failed on its way
    (["tools/bench.py", "infer", "--model", "igde-nope", "--sizes", "24x16", "--json", "/nonexistent/b.json"],
     "bench infer: unknown model 'igde-nope'"),
    (["tools/paper_suite.py", "train", "--rows", "igde", "nope", "--out", "/nonexistent/p"],
     "paper_suite.py: error: unknown suite rows ['nope']; known: "),
])
def test_a_users_mistake_is_one_line_and_exit_2(argv, message):
    r = _tool(*argv)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert message in r.stderr.strip().splitlines()[-1]  # argparse's own errors come after its usage lines


@pytest.mark.parametrize("extra,message", [
    (["--frames", "0"], "--frames must be >= 1, got 0"),
    (["--sequences", "-1"], "--sequences must be >= 1, got -1"),
    (["--first", "-1"], "--first must be >= 0, got -1"),
    (["--size", "65x48"], "--size must be even in both directions"),  # H.264 yuv420p: 4:2:0 chroma
    (["--first", "999", "--sequences", "2"], "split 'test' has 1000 seeds, asked for 1001"),
    (["--p-degrade", "2"], "p_degrade must be in [0, 1], got 2.0"),
    (["--jpeg-quality", "150"], "jpeg_quality must be in 0..100"),
])
def test_make_synthetic_refuses_bad_counts_and_sizes_before_writing(tmp_path, extra, message):
    out = tmp_path / "synth"
    r = _tool("tools/make_synthetic.py", str(out), "--sequences", "1", "--frames", "2", "--size", "32x32", *extra)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert message in r.stderr.strip().splitlines()[-1]
    assert not out.exists()  # no empty sequence folder left behind


def test_bench_help_lists_the_kinds_and_exits_0():
    r = _tool("tools/bench.py", "--help")
    assert r.returncode == 0
    assert [line.split()[0] for line in r.stdout.splitlines() if line.startswith("  ")] == \
        ["stream", "infer", "views", "gpu", "models", "seek", "viewmem", "rgb"]


def test_run_tool_turns_user_errors_into_exit_2_and_keeps_bugs(capsys):
    def bad_input():
        raise InputError("no frames", "clip.mkv")

    def missing():
        raise FileNotFoundError("model.pt: no such file")

    def bug():
        raise KeyError("x")

    assert run_tool(bad_input, "t.py") == 2 and capsys.readouterr().err == "t.py: error: clip.mkv: no frames\n"
    assert run_tool(missing, "t.py") == 2 and capsys.readouterr().err == "t.py: error: model.pt: no such file\n"
    assert run_tool(lambda: 0, "t.py") == 0
    with pytest.raises(KeyError):
        run_tool(bug, "t.py")


@pytest.mark.parametrize("text,size", [("960x540", (960, 540)), ("1X1", (1, 1)), (" 64x48 ", (64, 48))])
def test_parse_size_reads_width_then_height(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["16", "0x5", "5x0", "x5", "5x", "-5x5", "5.5x5", "5x5x5"])
def test_parse_size_refuses_anything_else(text):
    with pytest.raises(IGDEError, match=r"use WIDTHxHEIGHT"):
        parse_size(text)


def test_evaluate_with_model_none_scores_the_input_and_the_filters_only(tmp_path):
    """``tools/evaluate.py --model none``: the table of the input and the filters, no network (to
    re-score a filter without the model's minutes)."""
    import json

    r = _tool("tools/evaluate.py", "--model", "none", "--filters", "weighted-median", "--sequences", "1", "--frames",
              "1", "--size", "96x64", "--no-icl", "--no-middlebury", "--errors", "paper", "--views", "0", "--out",
              str(tmp_path))
    assert r.returncode == 0, r.stderr
    rows = json.loads((tmp_path / "eval.json").read_text())["rows"]
    assert [row["method"] for row in rows] == ["degraded input", "filter:weighted-median"]


@pytest.mark.parametrize("argv,status", [(["--help"], 0), (["--chek"], 2), (["extra"], 2)])
def test_colormap_tables_writes_nothing_for_help_or_a_mistake(tmp_path, monkeypatch, capsys, argv, status):
    """``tools/colormap_tables.py`` rewrites a module of the package: ``--help`` (usage, exit 0) and an
    option it does not know (one line, exit 2) must leave the module alone, not regenerate it."""
    from conftest import load_tool

    tool = load_tool("colormap_tables")
    out = tmp_path / "colormap_data.py"
    monkeypatch.setattr(tool, "OUT", out)
    with pytest.raises(SystemExit) as exc:
        tool.main(argv)
    assert exc.value.code == status
    assert not out.exists()
    err = capsys.readouterr()
    assert ("--check" in err.out) if status == 0 else ("error:" in err.err)
