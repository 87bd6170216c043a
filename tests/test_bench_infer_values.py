"""``igde_stream.bench.infer`` by hand: the timers with stand-in clocks (and stand-in CUDA events), the
model inputs, the setups, the test frames against the committed views benchmarks, and the rows of
``run_benchmark`` from stand-in backends, times and memory (mutation campaign 60a). No timing asserted."""

from __future__ import annotations

import json
import pathlib
import types

import numpy as np
import pytest

from igde_stream.bench import infer

ROOT = pathlib.Path(__file__).resolve().parent.parent


class _Clock:
    """A stand-in for ``time``: reading it does not move it; the timed functions move it."""

    def __init__(self) -> None:
        self.wall, self.cpu = 100.0, 50.0

    def perf_counter(self) -> float:
        return self.wall

    def process_time(self) -> float:
        return self.cpu


# ---- the timers ---------------------------------------------------------------------------------

def test_time_interleaved_gives_each_calls_wall_and_cpu_seconds(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(infer, "time", clock)
    calls = []

    def make(label, wall, cpu):
        def fn():
            calls.append(label)
            clock.wall += wall
            clock.cpu += cpu
        return fn

    out = infer.time_interleaved([make("a", 0.5, 0.25), make("b", 2.0, 1.5)], warmup=1, iters=2)
    assert calls == ["a", "b", "a", "b", "a", "b"]  # warm-ups, then round by round
    assert out == [([0.5, 0.5], [0.25, 0.25]), ([2.0, 2.0], [1.5, 1.5])]


def test_time_host_runs_at_least_iters_times_within_its_default_cap():
    """"Runs at least ``iters`` times ... at most ``max_time``": three quick calls fit the default cap."""
    calls = []
    times = infer.time_host(lambda: calls.append(1), 0, 3)
    assert len(times) == 3 and len(calls) == 3 and all(t >= 0 for t in times)


class _Event:
    """A stand-in ``torch.cuda.Event``: records the stand-in GPU clock (ms)."""

    gpu_ms = 0.0

    def __init__(self, enable_timing: bool = False) -> None:
        assert enable_timing
        self.t = None

    def record(self) -> None:
        self.t = _Event.gpu_ms

    def synchronize(self) -> None:
        pass

    def elapsed_time(self, end: "_Event") -> float:
        return end.t - self.t


@pytest.fixture
def fake_cuda(monkeypatch):
    import torch

    clock = _Clock()
    monkeypatch.setattr(infer, "time", clock)
    monkeypatch.setattr(torch.cuda, "Event", _Event)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: None)
    _Event.gpu_ms = 0.0

    def fn():  # 2.5 ms on the GPU, 1 s of host time
        _Event.gpu_ms += 2.5
        clock.wall += 1.0
    return fn


def test_time_cuda_gives_seconds_from_the_events_milliseconds(fake_cuda):
    assert infer.time_cuda(fake_cuda, warmup=0, iters=3) == [0.0025] * 3


def test_time_cuda_runs_until_min_time_has_passed_and_no_longer(fake_cuda):
    """1 s a call, min_time 3 s: after the third call 3 s have passed (not fewer, not a fourth)."""
    assert len(infer.time_cuda(fake_cuda, warmup=0, iters=1, min_time=3.0)) == 3
    assert len(infer.time_cuda(fake_cuda, warmup=0, iters=1, min_time=2.5)) == 3


# ---- inputs, frames, setups ---------------------------------------------------------------------

def test_to_inputs_is_nchw_in_0_1():
    color = np.array([[[[0, 51, 255], [255, 0, 102]]]], np.uint8)  # 1 x 1 x 2 x 3
    depth = np.array([[[0, 255]]], np.uint8)
    c, d = infer.to_inputs(color, depth)
    assert c.shape == (1, 3, 1, 2) and d.shape == (1, 1, 1, 2) and c.dtype == d.dtype == np.float32
    np.testing.assert_allclose(c[0, :, 0, 0], [0.0, 0.2, 1.0], rtol=1e-6)
    np.testing.assert_allclose(c[0, :, 0, 1], [1.0, 0.0, 0.4], rtol=1e-6)
    np.testing.assert_allclose(d[0, 0, 0], [0.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(infer.to_inputs(color, depth, peak=1000.0)[1][0, 0, 0], [0.0, 0.255], rtol=1e-6)


def test_structured_frames_are_the_committed_benchmarks_frames():
    """The views benchmarks' frame is ``structured_frames(1, 540, 960, seed=1)``: its hole fraction
    with 8 views, 32 px, zero parallax 0.5 is the one every committed benchmarks/views*.json recorded."""
    from igde_stream import multiview as mv

    committed = {json.loads(p.read_text())["hole_fraction"] for p in (ROOT / "benchmarks").glob("views*.json")}
    assert committed == {0.00651}
    color, depth = infer.structured_frames(1, 540, 960, seed=1)
    assert color.shape == (1, 540, 960, 3) and depth.shape == (1, 540, 960)
    assert color.dtype == depth.dtype == np.uint8
    r = mv.warp_views(color[0], depth[0], mv.ViewConfig(n_views=8, baseline=32.0, zero_parallax=0.5))
    assert round(float(r.holes.mean()), 5) == 0.00651


def test_structured_colour_saturates_at_255_and_does_not_wrap_round():
    """The shapes' texture (uniform 0..255 plus stripes plus noise) goes past 255 on many pixels: they
    must show as 255 (saturated), not wrap round to dark values as a bare uint8 cast would."""
    color, _ = infer.structured_frames(2, 90, 160, seed=1)
    assert (color == 255).mean() > 0.005


def test_structured_frames_default_seed_is_0():
    a = infer.structured_frames(2, 12, 16)
    b = infer.structured_frames(2, 12, 16, seed=0)
    c = infer.structured_frames(2, 12, 16, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and not np.array_equal(a[1], c[1])


@pytest.mark.parametrize("spec, expected", [
    ("torch:fp32", infer.Setup("torch", "fp32", False)),
    ("torch:fp16+graph", infer.Setup("torch", "fp16", True)),
    ("onnxruntime", infer.Setup("onnxruntime", "fp32", False)),
    ("tensorrt:fp16", infer.Setup("tensorrt", "fp16", False)),
])
def test_setup_parse_reads_the_docstrings_forms(spec, expected):
    s = infer.Setup.parse(spec)
    assert s == expected and s.label == (spec if ":" in spec else f"{spec}:fp32")


def test_make_backend_gives_each_backend_its_options(monkeypatch):
    import igde_stream.backends as backends

    made = []
    monkeypatch.setattr(backends, "create_backend", lambda name, **kw: made.append((name, kw)) or name)
    args = types.SimpleNamespace(device="cpu", threads=2, engine="e.engine")
    model = object()
    for spec in ("torch:fp16", "torch:fp32+graph", "onnxruntime", "tensorrt:fp16"):
        assert infer._make_backend(infer.Setup.parse(spec), args, model, pathlib.Path("m.onnx")) == spec.split(":")[0]
    assert made == [
        ("torch", {"model": model, "device": "cpu", "precision": "fp16", "cuda_graph": False, "channels_last": True,
                   "threads": 2}),
        ("torch", {"model": model, "device": "cpu", "precision": "fp32", "cuda_graph": True, "channels_last": False,
                   "threads": 2}),
        ("onnxruntime", {"model": "m.onnx", "device": "cpu", "threads": 2}),
        ("tensorrt", {"model": "m.onnx", "device": "cuda", "engine": "e.engine"}),
    ]


# ---- run_benchmark ------------------------------------------------------------------------------

class _Backend:
    def __init__(self, label: str) -> None:
        self.name = self.description = label

    def run(self, color, depth):
        return depth


def _args(*extra: str):
    args = infer.build_parser().parse_args(["--backends", "torch,onnxruntime", "--onnx", "unused.onnx", "--model",
                                            "igde-tiny", "--sizes", "24x16", "--batch", "2", "--warmup", "0",
                                            "--iters", "3", *extra])
    args.argv = []
    return args


@pytest.fixture
def stand_ins(monkeypatch):
    monkeypatch.setattr(infer, "_make_backend", lambda setup, args, model, onnx: _Backend(setup.label))
    monkeypatch.setattr(infer, "_rss_bytes", lambda: 300 * 2**20)
    walls = {0: [0.3, 0.1, 0.2], 1: [0.7, 0.7, 0.7]}  # per batch of 2: medians 0.2 s and 0.7 s
    cpus = {0: [0.4, 0.4, 0.4], 1: [1.0, 2.0, 3.0]}
    monkeypatch.setattr(infer, "time_interleaved",
                        lambda fns, *a, **k: [(walls[i], cpus[i]) for i in range(len(fns))])


def test_run_benchmark_rows_by_hand(stand_ins):
    res = infer.run_benchmark(_args(), log=lambda s: None)
    torch_row, ort_row = res["rows"]
    assert res["baseline"] == "torch:fp32"
    assert torch_row["ms_per_batch_median"] == pytest.approx(200.0, rel=1e-12)
    assert torch_row["ms_per_frame"] == pytest.approx(100.0, rel=1e-12)
    assert torch_row["fps"] == pytest.approx(10.0, rel=1e-12)
    assert ort_row["ms_per_batch_median"] == pytest.approx(700.0, rel=1e-12)
    assert ort_row["ms_per_frame"] == pytest.approx(350.0, rel=1e-12)
    assert ort_row["fps"] == pytest.approx(2 / 0.7, rel=1e-12)
    # frames/s against the first setup's, to 3 decimals: (2 / 0.7) / 10 = 0.285714...
    assert torch_row["ratio"] == 1.0 and ort_row["ratio"] == 0.286
    # CPU seconds per frame: the mean of the timed calls' CPU seconds / batch, to 3 decimals
    assert torch_row["extra"] == {"cpu_s_per_frame": 0.2} and ort_row["extra"] == {"cpu_s_per_frame": 1.0}
    # peak memory: the process's resident set in MiB (300 MiB here)
    assert [(r["peak_mem_mb"], r["mem_kind"]) for r in res["rows"]] == [(300.0, "process_rss")] * 2
    assert [(r["width"], r["height"], r["batch"], r["iters"]) for r in res["rows"]] == [(24, 16, 2, 3)] * 2


def test_run_benchmark_on_cuda_reports_the_allocated_peak_in_mib(stand_ins, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda *a, **k: None)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *a, **k: 3 * 2**20)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: "Fake GPU")
    res = infer.run_benchmark(_args("--device", "cuda"), log=lambda s: None)
    rows = [(r["peak_mem_mb"], r["mem_kind"], r["device"]) for r in res["rows"]]
    assert rows == [(3.0, "cuda_allocated", "cuda")] * 2
    assert res["device"] == "Fake GPU"


def test_random_init_is_seed_0(stand_ins):
    """"a seeded random init when none are shipped, which is said in the output": seed 0."""
    import torch

    from igde_stream.models import create_model, weights_hash

    torch.manual_seed(0)
    expected = weights_hash(create_model("igde-tiny"))
    torch.manual_seed(123)
    res = infer.run_benchmark(_args("--random-init"), log=lambda s: None)
    assert res["weights_hash"] == expected and res["weights"].startswith("random init (seed 0)")
