"""Backend registry, model resolution, the auto choice, and the torch-free runtime path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from igde_stream.backends import BACKENDS, create_backend, resolve_model_file, select_backend
from igde_stream.backends.torch_backend import TorchBackend

ROOT = Path(__file__).resolve().parent.parent


def _inputs(n=2, h=23, w=41, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 3, h, w), dtype=np.float32), rng.random((n, 1, h, w), dtype=np.float32)


def test_registry_names():
    assert set(BACKENDS) == {"torch", "onnxruntime", "tensorrt"}


def test_unknown_backend_and_option_are_errors(tiny):
    with pytest.raises(ValueError, match="unknown backend"):
        create_backend("openvino")
    with pytest.raises(ValueError, match="does not take option"):
        create_backend("onnxruntime", model=str(tiny[2]), cuda_graph=True)


def test_missing_model_files_name_what_was_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        resolve_model_file(tmp_path / "x.onnx", ".onnx")
    with pytest.raises(FileNotFoundError, match="no shipped igde-nope.onnx"):
        resolve_model_file("igde-nope", ".onnx")


def test_onnxruntime_rejects_a_foreign_graph(tmp_path):
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    g = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    onnx.save(onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 17)]), tmp_path / "f.onnx")
    with pytest.raises(ValueError, match="not an igde-stream model"):
        create_backend("onnxruntime", model=str(tmp_path / "f.onnx"))
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(ValueError, match="cannot load"):
        create_backend("onnxruntime", model=str(tmp_path / "junk.onnx"))


def test_onnxruntime_reads_metadata_and_threads(tiny):
    b = create_backend("onnxruntime", model=str(tiny[2]), threads=1, optimization="basic")
    assert b.metadata["variant"] == "igde-tiny" and b.metadata["config"]["g0"] == 8
    out = b.run(*_inputs())
    assert out.shape == (2, 1, 23, 41)


def test_torch_backend_takes_a_module_without_touching_it(tiny):
    model = tiny[0]
    before = next(model.parameters()).clone()
    b = TorchBackend(model, "cpu", channels_last=True)
    c, d = _inputs(3, 19, 27)
    with torch.inference_mode():
        ref = model(torch.from_numpy(c), torch.from_numpy(d)).numpy()
    assert np.abs(b.run(c, d) - ref).max() < 1e-5
    assert torch.equal(next(model.parameters()), before)


def test_torch_fp16_and_graphs_need_cuda(tiny):
    with pytest.raises(ValueError, match="needs a CUDA device"):
        TorchBackend(tiny[0], "cpu", precision="fp16")
    with pytest.raises(ValueError, match="cuda_graph needs a CUDA device"):
        TorchBackend(tiny[0], "cpu", cuda_graph=True)
    with pytest.raises(ValueError, match="unexpected keyword"):
        TorchBackend(tiny[0], "cpu", fp16=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the choices made without a GPU")
def test_auto_without_gpu(tiny):
    _, pt, onnx_path = tiny
    assert select_backend(str(onnx_path)).backend == "onnxruntime"
    c = select_backend(str(pt))
    assert (c.backend, c.device) == ("torch", "cpu") and "checkpoint" in c.reason
    assert select_backend(str(onnx_path), device="cpu").reason == "device cpu"
    assert select_backend(tiny[0]).backend == "torch"
    with pytest.raises(ValueError, match="no CUDA GPU"):
        select_backend(str(onnx_path), device="cuda")
    with pytest.raises(ValueError, match="unknown device"):
        select_backend(str(onnx_path), device="tpu")
    with pytest.raises(FileNotFoundError, match="no shipped"):
        select_backend("igde-nope")


def test_runtime_path_needs_no_torch(tiny):
    """With torch unimportable, Enhancer still imports, picks ONNX Runtime and runs."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "from igde_stream.enhancer import Enhancer\n"
        f"e = Enhancer({str(tiny[2])!r}, quiet=True)\n"
        "out = e.enhance(np.zeros((9, 13, 3), np.uint8), np.full((9, 13), 100, np.uint8))\n"
        "assert 'torch' not in sys.modules or sys.modules['torch'] is None\n"
        "print(e.backend_name, out.shape, out.dtype)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["onnxruntime", "(9,", "13)", "uint8"]


def test_infer_benchmark_runs_and_saves_rows(tmp_path, capsys):
    from igde_stream.bench import infer

    out = tmp_path / "r.json"
    rc = infer.main(["--backends", "torch,onnxruntime", "--model", "igde-tiny", "--sizes", "40x24", "--batch", "1,2",
                     "--iters", "1", "--warmup", "0", "--json", str(out)])
    assert rc == 0
    import json

    res = json.loads(out.read_text())
    assert [(r["setup"], r["batch"]) for r in res["rows"]] == [
        ("torch:fp32", 1), ("torch:fp32", 2), ("onnxruntime:fp32", 1), ("onnxruntime:fp32", 2)]
    assert all(r["fps"] > 0 and r["peak_mem_mb"] > 0 for r in res["rows"])
    assert res["rows"][0]["ratio"] == 1.0
    assert res["weights"] == "shipped" or res["weights"].startswith("random init")
    assert "| onnxruntime:fp32 | 40x24 | 2 |" in capsys.readouterr().out


def test_onnxruntime_cpu_chunks_match_whole_batches(tiny):
    rng = np.random.default_rng(3)
    color = rng.random((5, 3, 21, 27), dtype=np.float32)
    depth = rng.random((5, 1, 21, 27), dtype=np.float32)
    whole = create_backend("onnxruntime", model=str(tiny[2]), cpu_chunk=0).run(color, depth)
    for chunk in (1, 2):
        out = create_backend("onnxruntime", model=str(tiny[2]), cpu_chunk=chunk).run(color, depth)
        assert out.shape == (5, 1, 21, 27)
        np.testing.assert_allclose(out, whole, atol=1e-6)
