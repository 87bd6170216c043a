"""``igde_stream.bench.gpu`` (``tools/gpu_checks.py``) values with CUDA faked (mutation campaign 60b;
no GPU here): stand-in backends, clocks, peak-memory counters and frames, so every figure is worked out
by hand. Expected settings come from the module's docstring and benchmarks/RESULTS.md (targets >= 200
frames/s for igde-small and >= 30 for igde-base at 960x540, PSNR >= 50 dB on every frame, correctness
at 93x67 batch 3 with at most 0.1 % / 1 % of a selection head's pixels differing, 40 frames at
960x540, batch 1 / 4 / 8, a profile at batch 4) and from the committed runs in benchmarks/gpu/
(20 timed iterations, host-to-host rows at batch 4 and 8, 12 operators per profile, PSNR means of
the frames' MSE); the quick CPU run's sizes from tests/test_gpu.py's smoke run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from igde_stream.bench import gpu
from igde_stream.bench.gpu_report import Report

ROOT = Path(__file__).resolve().parent.parent
MIB = 2**20
META = dict(device_name="fake", date="now", command="gpu_checks", torch="x", cuda="x", cudnn=None, notes=[])


def _tiny_frames(n, h, w, seed=0):
    """Stands in for ``structured_frames`` at any size: n frames of 4 x 4 (the size is not used)."""
    return np.zeros((n, 4, 4, 3), np.uint8), np.full((n, 4, 4), 100, np.uint8)


@pytest.fixture
def fake_cuda(monkeypatch):
    """CUDA's peak counter (1536 MiB after a reset) and cache, recorded."""
    calls: list = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: calls.append("empty_cache"))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda *a: calls.append("reset"))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *a: 1536 * MIB)
    return calls


def test_modes_per_device_and_head(monkeypatch):
    """FP32 alone on the CPU; on CUDA FP32, FP16 + channels_last and + CUDA graph, and the sparse form
    for a selection head only."""
    monkeypatch.setattr(gpu, "chooses_input", lambda m: m == "select")
    assert gpu.modes_for("select", "cpu") == {"fp32": gpu.MODES["fp32"]}
    assert list(gpu.modes_for("select", "cuda")) == ["fp32", "fp16+cl", "fp16+cl+graph", "fp16+cl+sparse"]
    assert list(gpu.modes_for("plain", "cuda")) == ["fp32", "fp16+cl", "fp16+cl+graph"]


def test_a_model_without_shipped_weights_is_the_seed_0_random_init_and_says_so():
    """igde-base ships no weights: its model is create_model("igde-base") after torch.manual_seed(0), and
    the notes say so (as the committed runs' notes do)."""
    from igde_stream.models import create_model, pretrained_path

    assert not pretrained_path("igde-base").is_file()
    notes: list = []
    got = gpu.load("igde-base", notes)
    torch.manual_seed(0)
    want = create_model("igde-base")
    assert all(torch.equal(a, b) for a, b in zip(got.state_dict().values(), want.state_dict().values()))
    assert notes == ["igde-base: no shipped weights, seeded random init (seed 0)"] and not got.training
    committed = json.loads((ROOT / "benchmarks" / "gpu" / "gpu_checks.json").read_text())["meta"]["notes"]
    assert notes[0] in committed


def test_speed_rows_per_model_mode_and_batch_with_targets_peaks_and_host_rows(tmp_path, monkeypatch, fake_cuda):
    """A selection head (igde-small) and another model (igde-base) at 960x540, batch 1 / 4 / 8, 20
    iterations; a stand-in clock: FP32 takes 10 ms a frame, the FP16 forms 5 ms, host to host 8 ms.
    Each row: ms per frame, frames/s, x FP32 (2.0 for FP16), the peak in MiB (1536 MiB = 1610612736
    bytes), the target (200 / 30 frames/s: benchmarks/RESULTS.md); host-to-host rows (no peak, no
    target) for igde-small's FP16 + graph and sparse forms at 960x540 at batch 4 and 8."""
    made = []

    class Backend:
        def __init__(self, model, device, **opts):
            self.opts = opts
            made.append((model, opts))

        def forward(self, c, d):
            return d

        def run(self, c, d):
            return d

    def per_frame(b):
        return 0.010 if b.opts["precision"] == "fp32" else 0.005

    def time_cuda(fn, warmup, iters, max_time):
        b = fn.__defaults__[0]
        fn()
        return [per_frame(b) * len(current["c"])] * iters

    current: dict = {}

    def device_frames(n, h, w, device):
        current["c"] = torch.zeros(n, 3, 2, 2)
        return current["c"], torch.zeros(n, 1, 2, 2)

    def time_host(fn, warmup, iters):
        fn()
        return [0.008 * current["host_n"]] * iters

    def frames(n, h, w, seed=0):
        current["host_n"] = n
        return _tiny_frames(n, h, w)

    monkeypatch.setattr(gpu, "TorchBackend", Backend)
    monkeypatch.setattr(gpu, "chooses_input", lambda m: m == "select")
    monkeypatch.setattr(gpu, "device_frames", device_frames)
    monkeypatch.setattr(gpu, "time_cuda", time_cuda)
    monkeypatch.setattr(gpu, "time_host", time_host)
    monkeypatch.setattr(gpu, "structured_frames", frames)
    rep = Report(tmp_path, META)
    rep.save = lambda: None
    models = {"igde-small": "select", "igde-base": "plain"}
    gpu.speed(rep, models, "cuda", [("igde-small", 960, 540), ("igde-base", 960, 540)], [1, 4, 8], 20, 3,
              deadline=math.inf)
    rows = rep.data["speed"]
    small = ["fp32", "fp16+cl", "fp16+cl+graph", "fp16+cl+sparse"]
    expected = [("igde-small", m, n) for m in small for n in (1, 4, 8)]
    expected.insert(9, ("igde-small", "fp16+cl+graph host", 4))
    expected.insert(10, ("igde-small", "fp16+cl+graph host", 8))
    expected += [("igde-small", "fp16+cl+sparse host", 4), ("igde-small", "fp16+cl+sparse host", 8)]
    expected += [("igde-base", m, n) for m in small[:3] for n in (1, 4, 8)]
    assert [(r["model"], r["mode"], r["batch"]) for r in rows] == expected
    for r in rows:
        host = r["mode"].endswith(" host")
        ms = 8.0 if host else (10.0 if r["mode"] == "fp32" else 5.0)
        assert r["size"] == "960x540" and r["iters"] == 20
        assert r["ms_per_frame"] == pytest.approx(ms) and r["fps"] == pytest.approx(1000 / ms)
        if host:
            assert r["target_fps"] is None and math.isnan(r["peak_mb"]) and r["x_fp32"] is None
        else:
            assert r["target_fps"] == (200.0 if r["model"] == "igde-small" else 30.0)
            assert r["peak_mb"] == 1536.0
            assert r["x_fp32"] == pytest.approx(1.0 if r["mode"] == "fp32" else 2.0)
    assert fake_cuda.count("reset") == 7  # its own peak per model and mode


def test_a_speed_step_past_its_deadline_is_skipped_and_said(tmp_path, monkeypatch, fake_cuda):
    monkeypatch.setattr(gpu, "TorchBackend", lambda **kw: pytest.fail("ran past the deadline"))
    monkeypatch.setattr(gpu, "chooses_input", lambda m: False)
    rep = Report(tmp_path, META)
    rep.save = lambda: None
    gpu.speed(rep, {"igde-small": "plain"}, "cuda", [("igde-small", 1920, 1080)], [1], 20, 3, deadline=-math.inf)
    assert rep.data["skipped"] == [f"igde-small 1920x1080 {m}: time budget spent"
                                   for m in ("fp32", "fp16+cl", "fp16+cl+graph")]


def test_correctness_limits_and_verdicts_at_their_bounds(tmp_path, monkeypatch):
    """Batch 1 of 25 x 40 = 1000 pixels. A selection head: FP32 may differ on 0.1 % (1 pixel: ok), FP16
    on 1 % (10 pixels: ok), every value taken from the input; another model: max abs difference at most
    1e-4 in FP32 and 2e-2 in FP16 (the committed runs' limits): 2^-14 and 2^-6 pass."""
    depth8 = (np.arange(1000) % 200 + 20).reshape(1, 25, 40).astype(np.uint8)
    monkeypatch.setattr(gpu, "structured_frames", lambda n, h, w, seed=0: (np.zeros((n, h, w, 3), np.uint8), depth8))

    class Select(torch.nn.Module):
        def forward(self, c, d):
            return d

    class Plain(Select):  # 0.5 everywhere: 0.5 + 2^-14 and 0.5 + 2^-6 are exact in float32
        def forward(self, c, d):
            return torch.full_like(d, 0.5)

    monkeypatch.setattr(gpu, "chooses_input", lambda m: isinstance(m, Select) and not isinstance(m, Plain))

    class Backend:
        def __init__(self, model, device, **opts):
            self.model, self.opts = model, opts

        def run(self, c, d):
            out = d.copy()
            fp32 = self.opts["precision"] == "fp32"
            if not isinstance(self.model, Plain):
                k = 1 if fp32 else 10
                out.reshape(-1)[:k] = d.reshape(-1)[1:k + 1]
            else:
                out = np.full_like(d, 0.5 + (2.0**-14 if fp32 else 2.0**-6))
            return out

    monkeypatch.setattr(gpu, "TorchBackend", Backend)
    rep = Report(tmp_path, META)
    rep.save = lambda: None
    gpu.correctness(rep, {"igde-small": Select(), "igde-base": Plain()}, "cuda", 1, 25, 40)
    rows = {(r["model"], r["mode"]): r for r in rep.data["correctness"]}
    assert list(rows) == [("igde-small", m) for m in ("fp32", "fp16+cl", "fp16+cl+graph", "fp16+cl+sparse")] + [
        ("igde-base", m) for m in ("fp32", "fp16+cl", "fp16+cl+graph")]
    for (model, mode), r in rows.items():
        assert r["size"] == "40x25x1" and r["replay_identical"] is True and r["ok"] is True, r
        if model == "igde-small":
            assert r["limit"] == (1e-3 if mode == "fp32" else 1e-2)
            assert r["differ"] == r["limit"] and r["from_input"] is True
        else:
            assert r["limit"] == (1e-4 if mode == "fp32" else 2e-2)
            assert r["max_abs_diff"] == (2.0**-14 if mode == "fp32" else 2.0**-6)


def test_psnr_row_by_hand(tmp_path):
    """Two frames of 8 x 8 at 64/255. Frame 0 off by 2^-7 everywhere: MSE 2^-14, 42.14 dB; frame 1 off by
    2^-9 on half its pixels: MSE 2^-19, 57.24 dB; mean = the dB of the frames' mean MSE. As 8-bit
    depth (rint(255 x)): frame 0 is 66 against 64 (MSE 4, 42.11 dB), frame 1 rounds back to 64 (inf);
    mean 10 log10(255^2 / 2) = 45.12 dB. 75 % of the pixels differ; min 42.14 < 50: not ok."""
    ref = np.full((2, 1, 8, 8), 64 / 255, np.float32)
    out = ref.copy()
    out[0] += np.float32(2.0**-7)
    out[1, :, :4] += np.float32(2.0**-9)
    rep = Report(tmp_path, META)
    gpu.psnr_row(rep, "igde-small", "fp16+cl+graph", out, ref, chosen=True)
    (row,) = rep.data["psnr"]
    p0, p1 = 10 * math.log10(2**14), 10 * math.log10(2**19)
    assert row["frames"] == 2 and row["size"] == "8x8" and row["mode"] == "fp16+cl+graph"
    assert row["per_frame_db"] == pytest.approx([p0, p1], abs=1e-3)
    assert row["min_db"] == pytest.approx(p0, abs=1e-3)
    assert row["mean_db"] == pytest.approx(10 * math.log10(2 / (2.0**-14 + 2.0**-19)), abs=1e-3)
    assert row["min_db_u8"] == pytest.approx(10 * math.log10(255**2 / 4), abs=1e-9)
    assert row["mean_db_u8"] == pytest.approx(10 * math.log10(255**2 / 2), abs=1e-9)
    assert row["differ"] == 0.75 and row["ok"] is False
    assert json.loads((tmp_path / "gpu_checks.json").read_text())["psnr"][0]["mode"] == "fp16+cl+graph"


def test_the_committed_psnr_means_are_the_db_of_the_mean_mse():
    """The definition the hand test above uses, checked on the committed runs' rows."""
    for name in ("gpu_checks", "gpu_checks_forms", "gpu_checks_h100"):
        for row in json.loads((ROOT / "benchmarks" / "gpu" / f"{name}.json").read_text())["psnr"]:
            p = [math.inf if v == "inf" else v for v in row["per_frame_db"]]
            mse = sum(10 ** (-v / 10) for v in p) / len(p)
            assert row["mean_db"] == pytest.approx(10 * math.log10(1 / mse), abs=1e-6), (name, row["mode"])


def test_test_frames_are_the_test_splits_scenes_of_8_frames():
    """10 frames: the first two scenes of the test split (8 frames each), cut to 10; the source says
    so as the committed runs do ("5 scenes x 8 frames" for their 40)."""
    from igde_stream.data import SceneConfig, make_sequence, split_seeds

    color, depth, source = gpu.test_frames(10, 24, 32)
    seqs = [make_sequence(s, SceneConfig(width=32, height=24, frames=8)) for s in split_seeds("test", 2)]
    assert source == "igde_stream.data test split (2 scenes x 8 frames, degraded depth)"
    assert np.array_equal(color, np.concatenate([s.color for s in seqs])[:10])
    assert np.array_equal(depth, np.concatenate([s.depth for s in seqs])[:10])
    committed = json.loads((ROOT / "benchmarks" / "gpu" / "gpu_checks.json").read_text())["meta"]["frames"]
    assert committed == gpu.test_frames(40, 16, 16)[2]


def test_profile_lists_the_top_12_operators_per_frame(tmp_path, monkeypatch):
    """A stand-in forward pass calling 16 distinct operators once each, batch 2, on the CPU: 12
    operators listed (the committed profiles list 12), by self time, each called 3 times over 3 x 2
    frames: 0.5 calls per frame; shares of one total, largest first."""
    unary = [torch.sin, torch.cos, torch.tan, torch.exp, torch.log1p, torch.sqrt, torch.erf, torch.neg,
             torch.sigmoid, torch.tanh, torch.relu, torch.floor, torch.ceil, torch.round, torch.trunc,
             torch.reciprocal]

    class Backend:
        def __init__(self, model, device, **opts):
            pass

        def forward(self, c, d):
            x = d.reshape(-1)[:4096] + 0.5
            return [f(x) for f in unary]

    monkeypatch.setattr(gpu, "TorchBackend", Backend)
    monkeypatch.setattr(gpu, "chooses_input", lambda m: False)
    monkeypatch.setattr(gpu, "device_frames", lambda n, h, w, device: (torch.rand(n, 3, h, w), torch.rand(n, 1, h, w)))
    rep = Report(tmp_path, META)
    rep.save = lambda: None
    gpu.profile(rep, None, "igde-small", "cpu", 64, 64, 2)
    (p,) = rep.data["profile"]
    assert (p["model"], p["size"], p["mode"], p["batch"], p["clock"]) == ("igde-small", "64x64", "fp32", 2, "CPU")
    ops = p["ops"]
    assert len(ops) == 12
    shares = [o["share"] for o in ops]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1 + 1e-9
    named = {o["name"]: o for o in ops}
    unary_names = {f"aten::{f.__name__}" for f in unary}
    assert unary_names & set(named)
    for name in unary_names & set(named):
        assert named[name]["calls_per_frame"] == 0.5, named[name]
    assert sum(o["ms_per_frame"] for o in ops) <= p["ms_per_frame"] + 1e-9


def test_compiled_row_by_hand(tmp_path, monkeypatch, fake_cuda):
    """The compiled step at 960x540, batch 8, on the 40 PSNR frames: the first call took 61.5 s by the
    clock; 40 ms a batch of 8: 5 ms a frame, 200 frames/s, igde-small's target 200; the PSNR row is the
    compiled mode's on 40 frames."""
    ticks = iter([100.0, 161.5])
    monkeypatch.setattr(gpu, "time", SimpleNamespace(monotonic=lambda: next(ticks)))
    seen = {}

    class Backend:
        description = "fake compiled"

        def __init__(self, model, device, **opts):
            seen.setdefault("opts", []).append(opts)

        def forward(self, c, d):
            return d

        def run(self, c, d):
            return d

    def test_frames(n, h, w):
        seen["frames"] = (n, h, w)
        return (*_tiny_frames(n, h, w), "x")

    monkeypatch.setattr(gpu, "TorchBackend", Backend)
    monkeypatch.setattr(gpu, "chooses_input", lambda m: False)
    monkeypatch.setattr(gpu, "device_frames",
                        lambda n, h, w, device: (torch.zeros(n, 3, 2, 2), torch.zeros(n, 1, 2, 2)))
    monkeypatch.setattr(gpu, "time_cuda", lambda fn, warmup, iters, max_time: [0.040] * iters)
    monkeypatch.setattr(gpu, "test_frames", test_frames)
    rep = Report(tmp_path, META)
    gpu.compiled(rep, None, "igde-small", "cuda", 40, 540, 960, 8, 20, 3)
    assert seen["frames"] == (40, 540, 960)
    assert seen["opts"][0] == dict(precision="fp16", channels_last=True, compile=True, cuda_graph=True)
    assert rep.data["compile"] == dict(model="igde-small", size="960x540", batch=8, first_call_s=61.5,
                                       description="fake compiled")
    row = rep.data["speed"][-1]
    assert row["mode"] == "fp16+cl+compile+graph" and row["batch"] == 8 and row["iters"] == 20
    assert row["ms_per_frame"] == pytest.approx(5.0) and row["fps"] == pytest.approx(200.0)
    assert row["target_fps"] == 200.0 and row["peak_mb"] == 1536.0
    assert rep.data["psnr"][-1]["mode"] == "fp16+cl+compile+graph" and rep.data["psnr"][-1]["frames"] == 40
    assert "from_input" not in rep.data["psnr"][-1]


def test_compiled_row_of_a_selection_head_says_its_values_come_from_the_input(tmp_path, monkeypatch, fake_cuda):
    """A selection head's compiled PSNR row also says whether every output value is one of its frame's
    input values (True here: the stand-in returns the depth it is given) and the share that differ."""
    class Backend:
        description = "fake compiled"

        def __init__(self, model, device, **opts):
            pass

        def forward(self, c, d):
            return d

        def run(self, c, d):
            return d

    monkeypatch.setattr(gpu, "TorchBackend", Backend)
    monkeypatch.setattr(gpu, "chooses_input", lambda m: True)
    monkeypatch.setattr(gpu, "device_frames",
                        lambda n, h, w, device: (torch.zeros(n, 3, 2, 2), torch.zeros(n, 1, 2, 2)))
    monkeypatch.setattr(gpu, "time_cuda", lambda fn, warmup, iters, max_time: [0.040] * iters)
    monkeypatch.setattr(gpu, "test_frames", lambda n, h, w: (*_tiny_frames(n, h, w), "x"))
    rep = Report(tmp_path, META)
    gpu.compiled(rep, None, "igde-small", "cuda", 8, 540, 960, 4, 2, 1)
    row = rep.data["psnr"][-1]
    assert row["from_input"] is True and row["differ"] == 0.0 and row["frames"] == 8


# ---- main: which step gets which settings, and the exit status -------------------------------------

@pytest.fixture
def steps(monkeypatch):
    """Every step of ``main`` replaced by a recorder of its arguments; the models by stand-ins."""
    got: dict = {}
    monkeypatch.setattr(gpu, "load", lambda name, notes: f"model {name}")
    monkeypatch.setattr(gpu, "weights_hash", lambda m: "hash")

    def record(label):
        def step(rep, *args):
            got[label] = args
            if label == "auto_choice":
                rep.data["auto"] = dict(backend="torch", description="d", reason="r", ok=True)
        return step

    for label in ("correctness", "auto_choice", "fp16_psnr", "speed", "profile", "compiled"):
        monkeypatch.setattr(gpu, label, record(label))
    return got


def test_main_quick_on_the_cpu(steps, tmp_path, monkeypatch, capsys):
    """The CPU smoke run (tests/test_gpu.py): correctness at 37 x 29, batch 3; speed of igde-small at
    batch 1 and 2; the PSNR step on 4 frames of igde-small alone; no compiled step. The run took
    1103.74 - 1000 s by the clock: elapsed 103.7 s in the meta and the last line."""
    ticks = iter([1000.0, 1103.74])
    monkeypatch.setattr(gpu, "time", SimpleNamespace(monotonic=lambda: next(ticks)))
    assert gpu.main(["--device", "cpu", "--quick", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "gpu_checks.json").read_text())["meta"]["elapsed_s"] == 103.7
    assert capsys.readouterr().out.splitlines()[-1].startswith("gpu_checks: all checks passed in 103.7 s; ")
    assert steps["correctness"][1:] == ("cpu", 3, 29, 37)
    assert list(steps["fp16_psnr"][0]) == ["igde-small"] and steps["fp16_psnr"][2] == 4
    plan, batches = steps["speed"][2:4]
    assert [name for name, _, _ in plan] == ["igde-small"] and batches == [1, 2]
    assert "compiled" not in steps and steps["profile"][1:3] == ("igde-small", "cpu")


@pytest.fixture
def cuda_main(monkeypatch, steps):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "NVIDIA H200")
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", torch.backends.cudnn.benchmark)
    return steps


def test_main_on_cuda_runs_the_documented_checks(cuda_main, tmp_path):
    """Correctness at 93 x 67, batch 3; FP16 PSNR on 40 frames at 960x540 for both models; speed of
    igde-small and igde-base at 960x540 and igde-small at 1920x1080, batch 1 / 4 / 8, 20 iterations;
    the profile at 960x540, batch 4; the compiled step on the 40 frames at batch 8 (benchmarks/RESULTS.md)."""
    assert gpu.main(["--out", str(tmp_path)]) == 0
    assert cuda_main["correctness"][1:] == ("cuda", 3, 67, 93)
    assert list(cuda_main["fp16_psnr"][0]) == ["igde-small", "igde-base"]
    assert cuda_main["fp16_psnr"][1:5] == ("cuda", 40, 540, 960)
    plan, batches, iters = cuda_main["speed"][2:5]
    assert plan == [("igde-small", 960, 540), ("igde-base", 960, 540), ("igde-small", 1920, 1080)]
    assert batches == [1, 4, 8] and iters == 20
    assert cuda_main["profile"][1:] == ("igde-small", "cuda", 960, 540, 4)
    assert cuda_main["compiled"][1:7] == ("igde-small", "cuda", 40, 540, 960, 8)
    meta = json.loads((tmp_path / "gpu_checks.json").read_text())["meta"]
    assert meta["device_name"] == "NVIDIA H200" and meta["quick"] is False


def test_main_quick_on_cuda_keeps_correctness_at_batch_3(cuda_main, tmp_path):
    assert gpu.main(["--quick", "--out", str(tmp_path)]) == 0
    assert cuda_main["correctness"][1:] == ("cuda", 3, 67, 93)


def test_main_exit_status_and_errors(steps, tmp_path, monkeypatch, capsys):
    """0 when every check passed; 1 when a row failed or a step raised (its error recorded as
    'label: repr', the later steps still run)."""
    def failing(rep, *args):
        rep.data["psnr"].append(dict(model="igde-small", mode="fp32", frames=1, size="1x1", min_db=40.0,
                                     mean_db=40.0, min_db_u8=40.0, mean_db_u8=40.0, per_frame_db=[40.0], ok=False))

    monkeypatch.setattr(gpu, "fp16_psnr", failing)
    assert gpu.main(["--device", "cpu", "--quick", "--out", str(tmp_path / "a")]) == 1
    assert "gpu_checks: SOME CHECKS FAILED" in capsys.readouterr().out

    def boom(rep, *args):
        raise RuntimeError("boom")

    monkeypatch.setattr(gpu, "fp16_psnr", lambda rep, *a: None)
    monkeypatch.setattr(gpu, "speed", boom)
    assert gpu.main(["--device", "cpu", "--quick", "--out", str(tmp_path / "b")]) == 1
    data = json.loads((tmp_path / "b" / "gpu_checks.json").read_text())
    assert data["errors"] == ["speed: RuntimeError('boom')"] and "profile" in steps


def test_main_without_cuda_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu.main(["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == "gpu_checks: PyTorch sees no CUDA GPU (use --device cpu for a smoke run)\n"
    assert not (tmp_path / "gpu_checks.json").exists()
