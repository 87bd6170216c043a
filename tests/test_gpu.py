"""PyTorch CUDA backend (marked gpu, skipped without CUDA) and a CPU smoke run of tools/gpu_checks.py."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from igde_stream import create_model
from igde_stream.backends.torch_backend import TorchBackend

ROOT = Path(__file__).resolve().parent.parent
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _inputs(n=3, h=37, w=53):
    rng = np.random.default_rng(0)
    return rng.random((n, 3, h, w), dtype=np.float32), rng.random((n, 1, h, w), dtype=np.float32)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("opts, atol", [
    (dict(precision="fp32", channels_last=False, cuda_graph=False), 1e-4),
    (dict(precision="fp16", channels_last=True, cuda_graph=False), 2e-2),
    (dict(precision="fp16", channels_last=True, cuda_graph=True), 2e-2),
])
def test_cuda_matches_cpu_reference(opts, atol):
    # the residual head: a continuous output, compared by max abs difference (a fresh selection head
    # returns its input on every backend; its parity test is below)
    torch.backends.cudnn.allow_tf32 = False
    try:
        torch.manual_seed(0)
        model = create_model("igde-small-residual").eval()
        c, d = _inputs()
        ref = TorchBackend(model, "cpu").run(c, d)
        b = TorchBackend(model, "cuda", **opts)
        first, again = b.run(c, d), b.run(c, d)
        assert float(np.abs(first - ref).max()) <= atol
        assert np.array_equal(first, again)
    finally:
        torch.backends.cudnn.allow_tf32 = True


@pytest.mark.gpu
@needs_cuda
def test_cuda_graph_per_shape_and_eviction():
    b = TorchBackend(create_model("igde-tiny").eval(), "cuda", max_graphs=2)
    for n, h, w in ((1, 32, 48), (2, 32, 48), (1, 40, 40), (1, 32, 48)):
        c, d = _inputs(n, h, w)
        assert b.run(c, d).shape == (n, 1, h, w)
    assert len(b._graphs) == 2


def _num(v):
    """A figure as gpu_checks.json writes it (``"inf"`` for an infinite PSNR) -> float."""
    return math.inf if v == "inf" else float(v)


@pytest.mark.slow
def test_gpu_checks_script_runs_end_to_end_on_cpu(tmp_path):
    env = {"PYTHONPATH": str(ROOT), "PATH": "", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "")}
    r = subprocess.run([sys.executable, "tools/gpu_checks.py", "--device", "cpu", "--quick", "--out", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600,
                       env={k: v for k, v in env.items() if v != "" or k == "PATH"})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    res = json.loads((tmp_path / "gpu_checks.json").read_text())
    assert res["correctness"] and res["psnr"] and res["speed"] and not res["errors"]
    # every check the script ran passed, and each figure is within the limit the row states: a run that
    # says "passed" while a row is over its limit (or a limit quietly widened) fails here
    assert {(row["model"], row["mode"]) for row in res["correctness"]} == {("igde-small", "fp32"), ("igde-base", "fp32")}
    for row in res["correctness"]:
        assert row["ok"] is True and row["replay_identical"] is True, row
        if row["model"] == "igde-small":  # a selection head: a share of differing pixels, outputs from the input
            assert row["limit"] == 1e-3 and 0.0 <= row["differ"] <= row["limit"] and row["from_input"] is True, row
        else:  # on CPU only FP32 runs; its stated limit is 1e-4
            assert row["limit"] == 1e-4 and 0.0 <= row["max_abs_diff"] <= row["limit"], row
    for row in res["psnr"]:  # CPU: FP32 against FP32, so the per-frame PSNR is far above the 50 dB target
        frames = [_num(v) for v in row["per_frame_db"]]
        assert row["ok"] is True and len(frames) == row["frames"] == 4, row
        assert _num(row["min_db"]) == min(frames) >= 50.0, row
    auto = res["auto"]
    assert auto["ok"] is True and auto["backend"] == "torch", auto  # a .pt without an ONNX file: PyTorch on CPU
    assert [(row["mode"], row["batch"]) for row in res["speed"]] == [("fp32", 1), ("fp32", 2)]
    for row in res["speed"]:
        assert math.isfinite(row["fps"]) and row["fps"] > 0 and row["ms_per_frame"] > 0, row
        assert row["ms_per_frame"] * row["fps"] == pytest.approx(1000.0), row  # ms/frame and frames/s: one time
        assert row["x_fp32"] == pytest.approx(1.0), row
    (prof,) = res["profile"]  # where the time goes: operators by self time, shares of one total
    shares = [o["share"] for o in prof["ops"]]
    assert prof["clock"] == "CPU" and 0 < sum(shares) <= 1.0 + 1e-9 and shares == sorted(shares, reverse=True), prof
    assert "gpu_checks: all checks passed" in r.stdout
    md = (tmp_path / "gpu_checks.md").read_text()
    assert md.startswith("# GPU checks") and "| igde-base | fp32 | 37x29x3 |" in md


def _open_select_model():
    """igde-small with random weights small enough for float16 (at x 0.3 the activations pass 65504,
    the gate turns NaN and nothing fires), the gate open and the colour term off: most pixels change."""
    torch.manual_seed(0)
    model = create_model("igde-small").eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.1)
        model.head.conv.bias[-1] = 2.0
        model.head.color_scale.fill_(-10.0)
    return model


FORMS = [dict(cuda_graph=False, sparse=False), dict(cuda_graph=True), dict(cuda_graph=False, sparse=True)]


@pytest.mark.gpu
@needs_cuda
def test_cuda_defaults_for_a_gated_selection_head_and_for_others():
    """igde-small on CUDA: FP16, the gated-pixel form, no graph; a residual head keeps its graph."""
    select = TorchBackend(_open_select_model(), "cuda")
    assert (select.options.sparse, select.options.cuda_graph, select.options.precision) == (True, False, "fp16")
    assert select.model.head.sparse is True and "gated pixels" in select.description
    residual = TorchBackend(create_model("igde-small-residual").eval(), "cuda")
    assert (residual.options.sparse, residual.options.cuda_graph) == (False, True)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("form", FORMS + [dict(compile=True)], ids=["dense", "graph", "sparse", "compiled"])
def test_fp16_select_head_keeps_16_bit_depth_exact(form):
    # the network runs in float16; every output is an input 16-bit level, gathered in float32, and
    # the choices are the CPU float32 model's but for near-ties
    model = _open_select_model()
    rng = np.random.default_rng(1)
    c = rng.random((2, 3, 40, 56), dtype=np.float32)
    d = (rng.integers(0, 65536, (2, 1, 40, 56)) / 65535).astype(np.float32)
    ref = TorchBackend(model, "cpu").run(c, d)
    out = TorchBackend(model, "cuda", precision="fp16", **form).run(c, d)
    levels = out * 65535
    assert np.array_equal(levels, np.rint(levels)) and np.isin(np.rint(levels), np.rint(d * 65535)).all()
    assert (ref != d).mean() > 0.2 and (out != d).mean() > 0.2
    assert (out != ref).mean() < 0.02


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("form", FORMS, ids=["dense", "graph", "sparse"])
def test_fp32_select_head_on_cuda_chooses_as_on_the_cpu(form):
    torch.backends.cudnn.allow_tf32 = False
    try:
        model = _open_select_model()
        c, d = _inputs(2, 37, 53)
        ref = TorchBackend(model, "cpu").run(c, d)
        b = TorchBackend(model, "cuda", precision="fp32", **form)
        out, again = b.run(c, d), b.run(c, d)
        assert (ref != d).mean() > 0.2
        assert (out != ref).mean() < 1e-3 and np.array_equal(out, again)
        assert all(np.isin(out[i], d[i]).all() for i in range(len(d)))
    finally:
        torch.backends.cudnn.allow_tf32 = True


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_cuda_graph_on_a_second_gpu_replays_new_inputs():
    torch.manual_seed(0)
    model = create_model("igde-small-residual").eval()
    b = TorchBackend(model, "cuda:1", precision="fp32", cuda_graph=True)
    c, d = _inputs()
    first = b.run(c, d)
    second = b.run(c[::-1].copy(), d[::-1].copy())
    assert not np.array_equal(first, second)  # a graph captured on the wrong device replays stale output
    np.testing.assert_allclose(second, TorchBackend(model, "cpu").run(c[::-1].copy(), d[::-1].copy()), atol=1e-4)
