"""The benchmark tools (``tools/bench.py KIND``, ``igde_stream.bench``): what each one times, what it
saves, and a user's mistake as one line; tiny sizes and fake backends, no timing asserted."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from igde_stream.bench import common, infer, models, stream
from igde_stream.cli_logging import run_tool


class _Recorder:
    """A backend that says when it runs (``calls`` gets its label) and returns the depth."""

    def __init__(self, calls: list[str], label: str) -> None:
        self.calls, self.label = calls, label
        self.name = self.description = label

    def run(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        self.calls.append(self.label)
        return depth


def test_infer_times_the_setups_round_by_round(monkeypatch):
    """The ratio column compares setups timed in turn, round by round (A, B, A, B, ...), as the models
    benchmark does, not all of A's rounds and then all of B's: a load that comes and goes hits both."""
    calls: list[str] = []
    monkeypatch.setattr(infer, "_make_backend", lambda setup, args, model, onnx: _Recorder(calls, setup.label))
    args = infer.build_parser().parse_args(["--backends", "torch,onnxruntime", "--onnx", "unused.onnx", "--model",
                                            "igde-tiny", "--sizes", "24x16", "--batch", "2", "--warmup", "0",
                                            "--iters", "3"])
    args.argv = []
    res = infer.run_benchmark(args, log=lambda s: None)
    assert calls[-6:] == ["torch:fp32", "onnxruntime:fp32"] * 3  # the timed calls
    assert [(r["setup"], r["iters"]) for r in res["rows"]] == [("torch:fp32", 3), ("onnxruntime:fp32", 3)]


BENCH = {"infer": ["--model", "igde-tiny", "--sizes", "24x16", "--backends", "torch", "--iters", "1", "--warmup", "0"],
         "stream": ["--sizes", "24x16", "--frames", "2", "--model", "igde-tiny", "--modes", "decode"],
         "models": ["--size", "24x16", "--filters"]}


def _bench(kind: str, *extra: str, tmp_path: pathlib.Path) -> int:
    mod = {"infer": infer, "stream": stream, "models": models}[kind]
    opts = ["--clips", str(tmp_path / "clips"), "--json", str(tmp_path / "s.json")] if kind == "stream" else []
    return run_tool(lambda: mod.main([*BENCH[kind], *opts, *extra]), "bench.py")


@pytest.mark.parametrize("kind,extra,message", [
    ("infer", ["--batch", "0"], "bench.py: error: batch '0': use whole numbers >= 1"),
    ("infer", ["--batch", "1,x"], "bench.py: error: batch '1,x': use whole numbers >= 1"),
    ("stream", ["--frames", "0"], "bench.py: error: frames '0': use whole numbers >= 1"),
    # a mode the worker does not know ran end to end under that name
    ("stream", ["--modes", "decode,decod"], "bench.py: error: unknown mode 'decod'; use a subset of decode,infer,e2e"),
])
def test_a_bad_count_or_mode_is_one_line_and_exit_2(kind, extra, message, tmp_path, capsys):
    assert _bench(kind, *extra, tmp_path=tmp_path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(message) and "Traceback" not in "\n".join(err)
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize("kind,extra,message", [
    ("infer", ["--iters", "0"], "argument --iters: must be a whole number >= 1, got '0'"),
    ("infer", ["--warmup", "-1"], "argument --warmup: must be a whole number >= 0, got '-1'"),
    ("stream", ["--batch", "0"], "argument --batch: must be a whole number >= 1, got '0'"),
    ("stream", ["--infer-frames", "0"], "argument --infer-frames: must be a whole number >= 1, got '0'"),
    # models: --rounds 0 exported every model and then said "bench models: no median for empty data"
    ("models", ["--rounds", "0"], "argument --rounds: must be a whole number >= 1, got '0'"),
    ("models", ["--threads", "0"], "argument --threads: must be a whole number >= 1, got '0'"),
])
def test_a_bad_count_option_is_argparses_error(kind, extra, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _bench(kind, *extra, tmp_path=tmp_path)
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(message)


def test_save_json_cut_short_leaves_the_earlier_file(tmp_path, monkeypatch):
    """A write that fails half-way (disk full, killed) leaves the earlier result whole, and no part file."""
    out = tmp_path / "bench.json"
    common.save_json(out, {"rows": [1]})
    real = pathlib.Path.write_text

    def half(self, text, *a, **k):
        real(self, text[: len(text) // 2], *a, **k)
        raise OSError("No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", half)
    with pytest.raises(OSError):
        common.save_json(out, {"rows": [1, 2, 3, 4, 5, 6]})
    monkeypatch.undo()
    assert json.loads(out.read_text()) == {"rows": [1]}
    assert [p.name for p in tmp_path.iterdir()] == ["bench.json"]


def test_the_saved_command_runs_again_as_it_is():
    import shlex

    argv = ["--models", "runs/my model.pt", "--json", "a b.json"]
    cmd = common.stamp("models", argv)["command"]
    assert shlex.split(cmd) == ["python", "tools/bench.py", "models", *argv]


def test_gpu_compiled_row_has_its_own_peak_memory(tmp_path, monkeypatch):
    """The compiled row's peak is its own, not the largest of the steps before it (igde-base's in the
    run that benchmarks/RESULTS.md quotes). CUDA is faked: the peak counter and the backend."""
    import torch

    from igde_stream.bench import gpu
    from igde_stream.bench.gpu_report import Report

    mib = 2**20
    peak = {"now": 12401 * mib}  # left by an earlier step
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda *a: peak.update(now=0))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *a: peak["now"])

    class Fake:
        description = "fake compiled"

        def __init__(self, **opts):
            pass

        def forward(self, c, d):
            peak["now"] = max(peak["now"], 300 * mib)
            return d

        def run(self, c, d):
            return self.forward(c, d)

    monkeypatch.setattr(gpu, "TorchBackend", Fake)
    monkeypatch.setattr(gpu, "chooses_input", lambda model: False)
    monkeypatch.setattr(gpu, "device_frames", lambda n, h, w, device: gpu.to_inputs(*gpu.structured_frames(n, h, w)))
    monkeypatch.setattr(gpu, "time_cuda", lambda fn, warmup, iters, max_time: [(fn(), 0.01)[1] for _ in range(iters)])
    monkeypatch.setattr(gpu, "test_frames", lambda n, h, w: (*gpu.structured_frames(n, h, w), "structured"))
    meta = dict(device_name="fake", date="now", command="gpu_checks", torch="x", cuda="x", cudnn=None, notes=[])
    rep = Report(tmp_path, meta)
    gpu.compiled(rep, None, "igde-small", "cuda", 4, 16, 24, 2, 3, 1)
    row = rep.data["speed"][-1]
    assert row["mode"] == "fp16+cl+compile+graph" and row["iters"] == 3
    assert row["peak_mb"] == 300


@pytest.mark.parametrize("tool, argv, words", [
    (infer, ["--model", "no-such-model", "--sizes", "24x16", "--iters", "1", "--warmup", "0"], "unknown model 'no-such-model'"),
    (models, ["--models", "no-such.onnx", "--size", "24x16", "--rounds", "1", "--filters"], "no-such.onnx"),
])
def test_a_users_mistake_exits_2_in_one_line(tool, argv, words, tmp_path, capsys):
    """A model that is not there is the user's mistake, as in every command: exit 2, one line naming it
    (a run that fails on its way exits 1: tests/test_bench_values.py)."""
    rc = tool.main(argv + (["--json", str(tmp_path / "r.json")] if tool is infer else []))
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) >= 1 and err[-1].startswith("bench ") and words in err[-1], err
    assert not (tmp_path / "r.json").exists()


def test_run_or_status_maps_each_error_to_its_status(capsys):
    """The shared rule, case by case (an error it does not know is a bug and keeps its traceback)."""
    import subprocess

    from igde_stream.errors import InputError

    def raises(exc):
        def run():
            raise exc
        return run

    assert common.run_or_status("x", lambda: {"a": 1}) == ({"a": 1}, 0)
    for exc, status in [(ValueError("bad size"), 2),
                        (FileNotFoundError("m.pt"), 2), (RuntimeError("worker died"), 1),
                        (subprocess.TimeoutExpired("ffmpeg", 5), 1)]:
        assert common.run_or_status("x", raises(exc)) == (None, status), exc
        assert capsys.readouterr().err.startswith("bench x: ")
    with pytest.raises(KeyError):
        common.run_or_status("x", raises(KeyError("bug")))
    with pytest.raises(InputError):  # run_tool says it, exit 2 (test_a_bad_count_or_mode_is_one_line_and_exit_2)
        common.run_or_status("x", raises(InputError("not a video", "c.mp4")))


def test_a_tensorrt_build_that_fails_on_its_way_exits_1(capsys):
    """EngineBuildError is an IGDEError but a RuntimeError: TensorRT refusing the graph is a run that
    failed on its way, exit 1 with one line (docs/backends.md), not the user's mistake (exit 2)."""
    from igde_stream.engine import EngineBuildError

    def run():
        raise EngineBuildError("TensorRT failed to build an engine from m.onnx")

    assert common.run_or_status("infer", run) == (None, 1)
    assert capsys.readouterr().err == "bench infer: TensorRT failed to build an engine from m.onnx\n"
