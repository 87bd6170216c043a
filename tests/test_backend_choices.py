"""Models and backends a user names that cannot run as asked: an ONNX graph with float16 inputs or
a fixed frame size, a TensorRT engine with device cpu, options auto does not use, a backend whose
module is missing, a PyTorch module on ONNX Runtime. Each is an EnhancerError in one line (the
command's exit 2), never an onnxruntime traceback or a silent change of what runs."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from igde_stream import Enhancer
from igde_stream.enhancer import EnhancerError

onnx = pytest.importorskip("onnx")


def _identity(path, shape_c, shape_d, dtype=None):
    """A graph with the igde-stream names (color, depth -> depth_out) that returns the depth."""
    from onnx import TensorProto, helper

    dtype = TensorProto.FLOAT if dtype is None else dtype
    c = helper.make_tensor_value_info("color", dtype, shape_c)
    d = helper.make_tensor_value_info("depth", dtype, shape_d)
    o = helper.make_tensor_value_info("depth_out", dtype, shape_d)
    g = helper.make_graph([helper.make_node("Identity", ["depth"], ["depth_out"])], "g", [c, d], [o])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 9
    onnx.save(m, str(path))
    return path


def _frames(h, w):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), np.uint8), rng.integers(0, 256, (h, w), np.uint8)


def test_a_fixed_size_graph_runs_its_size_and_refuses_another(tmp_path):
    path = _identity(tmp_path / "fixed.onnx", [1, 3, 16, 24], [1, 1, 16, 24])
    enh = Enhancer(model=str(path), backend="onnxruntime", batch=1, quiet=True)
    color, depth = _frames(16, 24)
    assert np.array_equal(enh.enhance(color, depth), depth)  # its own size: runs (the identity)
    color, depth = _frames(20, 24)
    with pytest.raises(EnhancerError, match=r"takes frames of 24x16 only \(fixed shape\), these are 24x20"):
        enh.enhance(color, depth)


def test_a_graph_that_fails_at_run_time_is_an_enhancer_error(tmp_path):
    """Dynamic N, H, W declared, but a Reshape to a fixed size inside: onnxruntime's own error becomes
    one EnhancerError line naming the file and the frame size."""
    from onnx import TensorProto, helper

    c = helper.make_tensor_value_info("color", TensorProto.FLOAT, ["N", 3, "H", "W"])
    d = helper.make_tensor_value_info("depth", TensorProto.FLOAT, ["N", 1, "H", "W"])
    o = helper.make_tensor_value_info("depth_out", TensorProto.FLOAT, ["N", 1, "H", "W"])
    shape = helper.make_tensor("shape", TensorProto.INT64, [4], [1, 1, 8, 8])
    g = helper.make_graph([helper.make_node("Reshape", ["depth", "shape"], ["depth_out"])], "g", [c, d], [o],
                          initializer=[shape])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 9
    onnx.save(m, str(tmp_path / "r.onnx"))
    enh = Enhancer(model=str(tmp_path / "r.onnx"), backend="onnxruntime", batch=1, quiet=True)
    with pytest.raises(EnhancerError, match=r"r.onnx: onnxruntime cannot run the graph on 12x10 frames") as e:
        enh.enhance(*_frames(10, 12))
    assert "\n" not in str(e.value)


def test_float16_inputs_are_refused_at_load(tmp_path):
    from onnx import TensorProto

    path = _identity(tmp_path / "h.onnx", ["N", 3, "H", "W"], ["N", 1, "H", "W"], TensorProto.FLOAT16)
    with pytest.raises(EnhancerError, match=r"inputs of type .*tensor\(float16\).*feeds float32"):
        Enhancer(model=str(path), backend="onnxruntime", quiet=True)


def test_an_engine_with_device_cpu_is_refused():
    with pytest.raises(EnhancerError, match="a TensorRT engine was given with device cpu"):
        Enhancer(model="igde-small", device="cpu", engine="nosuch.engine", quiet=True)


def test_auto_says_which_options_it_does_not_use(caplog):
    from igde_stream.backends import cuda_gpu

    if cuda_gpu() is not None:
        pytest.skip("on a CUDA machine auto may pick a backend that takes precision")
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        enh = Enhancer(model="igde-small", precision="fp16", quiet=True)
    assert enh.backend.name == "onnxruntime"
    assert [m for m in caplog.messages if "backend auto chose onnxruntime: precision='fp16' not used" in m]


def test_a_missing_backend_module_is_named_with_its_install(monkeypatch):
    import igde_stream.enhancer as en

    def missing(*a, **k):
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(en, "create_backend", missing)
    with pytest.raises(EnhancerError, match=r"the torch backend needs the Python module torch, which is not "
                                            r"installed \(pip install 'igde-stream\[torch\]'\)$"):
        Enhancer(model="igde-small", backend="torch", quiet=True)


def test_a_pytorch_module_on_onnxruntime_is_an_enhancer_error():
    from conftest import random_select_model

    with pytest.raises(EnhancerError, match="a PyTorch module runs on the torch backend only, not onnxruntime"):
        Enhancer(model=random_select_model(), backend="onnxruntime", quiet=True)


@pytest.mark.parametrize("device", ["gpu", "cuda:x", 3.5])
def test_an_unknown_torch_device_is_an_enhancer_error(device):
    """PyTorch's own parse error lists twenty device types and is no IGDEError; the torch backend says
    which devices it takes, as the other backends do."""
    with pytest.raises(EnhancerError, match=r"^unknown device .* for the torch backend \(use cpu, cuda or cuda:N\)$"):
        Enhancer(model="igde-small", backend="torch", device=device, quiet=True)
