"""PyTorch CUDA backend (marked gpu, skipped without CUDA) and a CPU smoke run of tools/gpu_checks.py."""

from __future__ import annotations

import json
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
    torch.backends.cudnn.allow_tf32 = False
    try:
        torch.manual_seed(0)
        model = create_model("igde-small").eval()
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


@pytest.mark.slow
def test_gpu_checks_script_runs_end_to_end_on_cpu(tmp_path):
    r = subprocess.run([sys.executable, "tools/gpu_checks.py", "--device", "cpu", "--quick", "--out", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    res = json.loads((tmp_path / "gpu_checks.json").read_text())
    assert res["correctness"] and res["psnr"] and res["speed"] and not res["errors"]
    assert (tmp_path / "gpu_checks.md").read_text().startswith("# GPU checks")
