"""The ONNX Runtime backend's own choices, on hand-made identity graphs (no export, no PyTorch): the
execution providers for a device, the fixed frame size read from the graph's input shapes, the CPU
chunks a batch is split into, the description line."""

from __future__ import annotations

import importlib.util

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from igde_stream.backends.onnxruntime_backend import OnnxRuntimeBackend

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


def _identity(path, color_shape, depth_shape):
    """depth_out = depth, inputs of the given shapes (ints fixed, strings dynamic)."""
    c = helper.make_tensor_value_info("color", TensorProto.FLOAT, color_shape)
    d = helper.make_tensor_value_info("depth", TensorProto.FLOAT, depth_shape)
    o = helper.make_tensor_value_info("depth_out", TensorProto.FLOAT, None)
    g = helper.make_graph([helper.make_node("Identity", ["depth"], ["depth_out"])], "g", [c, d], [o])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 9
    onnx.save(m, str(path))
    return path


def test_a_graph_with_only_its_depth_input_fixed_takes_that_size(tmp_path):
    """Colour dynamic, depth fixed at 16 x 24: the graph still takes only that size."""
    b = OnnxRuntimeBackend(_identity(tmp_path / "g.onnx", ["N", 3, "H", "W"], ["N", 1, 16, 24]))
    assert b.fixed_size == (16, 24)


def _frames(n, h, w):
    rng = np.random.default_rng(0)
    return rng.random((n, 3, h, w), dtype=np.float32), rng.random((n, 1, h, w), dtype=np.float32)


def test_the_providers_for_each_device():
    """By hand from the code's contract (docs/backends.md: the CUDA execution provider with
    onnxruntime-gpu, else the CPU): cuda:N -> CUDA on device N, then the CPU; plain cuda -> device 0;
    cpu or no device -> the CPU alone; cuda without the CUDA provider, or another device, refused."""
    pick = OnnxRuntimeBackend._default_providers
    assert pick("cuda:1", [CUDA, CPU]) == [(CUDA, {"device_id": 1}), CPU]
    assert pick("cuda:3", [CUDA, CPU]) == [(CUDA, {"device_id": 3}), CPU]
    assert pick("cuda", [CUDA, CPU]) == [(CUDA, {"device_id": 0}), CPU]
    assert pick("cpu", [CUDA, CPU]) == [CPU] and pick(None, [CUDA, CPU]) == [CPU]
    with pytest.raises(ValueError, match="no CUDA execution provider"):
        pick("cuda:0", [CPU])
    with pytest.raises(ValueError, match="unknown device 'mps'"):
        pick("mps", [CUDA, CPU])


@pytest.mark.parametrize("shape,fixed", [
    (["N", "C", 16, 24], (16, 24)),  # any batch, one frame size
    ([2, "C", 16, 24], (16, 24)),
    ([1, "C", "H", "W"], None),  # a fixed batch alone fixes no frame size
    ([1, "C", 16, "W"], None),  # only both sides fixed make a fixed size
    ([1, "C", "H", 24], None),
    (["N", "C", 16, "W"], None),
])
def test_the_fixed_frame_size_is_height_and_width_both_fixed(tmp_path, shape, fixed):
    """``fixed_size`` is (H, W) = the input shapes' axes 2 and 3 where both are numbers, else None
    (the attribute's comment); the batch axis (0) and channel axis (1) do not count."""
    color = [3 if a == "C" else a for a in shape]
    depth = [1 if a == "C" else a for a in shape]
    b = OnnxRuntimeBackend(_identity(tmp_path / "g.onnx", color, depth))
    assert b.fixed_size == fixed
    if fixed is None:
        n = shape[0] if isinstance(shape[0], int) else 2
        h = shape[2] if isinstance(shape[2], int) else 5
        w = shape[3] if isinstance(shape[3], int) else 7
        c, d = _frames(n, h, w)
        assert np.array_equal(b.run(c, d), d)


class _Spy:
    """Wraps a session and records the batch size of every run."""

    def __init__(self, session):
        self.session, self.sizes = session, []

    def run(self, names, feeds):
        self.sizes.append(len(feeds["depth"]))
        return self.session.run(names, feeds)


@pytest.mark.parametrize("chunk,sizes", [(1, [1, 1, 1, 1, 1]), (2, [2, 2, 1]), (3, [3, 2]), (5, [5]), (8, [5]),
                                         (0, [5])])
def test_a_cpu_batch_runs_in_chunks_of_cpu_chunk_frames(tmp_path, chunk, sizes):
    """OrtOptions.cpu_chunk: frames per ONNX Runtime call on the CPU, 0 whole batches; 5 frames in
    chunks of 2 are calls of 2, 2, 1 (by hand), and the frames come back in order."""
    b = OnnxRuntimeBackend(_identity(tmp_path / "g.onnx", ["N", 3, "H", "W"], ["N", 1, "H", "W"]), cpu_chunk=chunk)
    b.session = spy = _Spy(b.session)
    c, d = _frames(5, 4, 6)
    out = b.run(c, d)
    assert spy.sizes == sizes and np.array_equal(out, d)


def test_by_default_the_cpu_runs_one_frame_per_call(tmp_path):
    """OrtOptions: batching buys no speed on the CPU while ONNX Runtime's memory grows with the batch,
    so by default a batch of 3 is 3 calls of one frame."""
    b = OnnxRuntimeBackend(_identity(tmp_path / "g.onnx", ["N", 3, "H", "W"], ["N", 1, "H", "W"]))
    b.session = spy = _Spy(b.session)
    c, d = _frames(3, 4, 6)
    assert np.array_equal(b.run(c, d), d) and spy.sizes == [1, 1, 1]


def test_on_cuda_a_batch_is_one_call(tmp_path):
    """cpu_chunk applies on the CPU only (OrtOptions): with the CUDA provider a batch is one call."""
    b = OnnxRuntimeBackend(_identity(tmp_path / "g.onnx", ["N", 3, "H", "W"], ["N", 1, "H", "W"]), cpu_chunk=1)
    b.session, b.device = _Spy(b.session), "cuda"
    c, d = _frames(3, 4, 6)
    assert np.array_equal(b.run(c, d), d) and b.session.sizes == [3]


def test_the_description_names_device_file_and_threads(tmp_path):
    path = _identity(tmp_path / "g.onnx", ["N", 3, "H", "W"], ["N", 1, "H", "W"])
    assert OnnxRuntimeBackend(path, threads=2).description == "onnxruntime cpu (g.onnx, threads 2)"
    assert OnnxRuntimeBackend(path).description == "onnxruntime cpu (g.onnx, threads default)"


def test_the_metadata_is_the_igde_keys_without_their_prefix(tmp_path):
    """Metadata ``igde.KEY`` -> ``metadata[KEY]`` (``igde.`` is 5 characters), ``config`` parsed as JSON;
    other keys left out."""
    path = _identity(tmp_path / "g.onnx", ["N", 3, "H", "W"], ["N", 1, "H", "W"])
    m = onnx.load(str(path))
    for k, v in {"igde.variant": "x", "igde.config": '{"g": 12}', "other": "y"}.items():
        m.metadata_props.add(key=k, value=v)
    onnx.save(m, str(path))
    assert OnnxRuntimeBackend(path).metadata == {"variant": "x", "config": {"g": 12}}


@pytest.mark.parametrize("device", ["cuda:x", "cuda:", "cuda0", "cudax", "cuda:1:2"])
def test_a_malformed_cuda_device_is_refused_by_name(device):
    """The device choice takes cpu, cuda or cuda:N only: a malformed cuda name is the same one-line
    error as any unknown device, before a backend is built (it reached ``int()`` inside the ONNX
    Runtime backend where the CUDA provider is installed, and Python's message)."""
    from igde_stream.backends import select_backend

    with pytest.raises(ValueError, match=r"^unknown device .* \(use cpu, cuda or cuda:N\)$"):
        select_backend("igde-small", device=device)


def test_a_batch_of_no_frames_gives_no_frames(tmp_path):
    """N = 0 is a batch too: 0 x 1 x H x W float32 back, without a NumPy error from joining no chunks,
    and in the PyTorch backend without the network's pixel-unshuffle refusing the empty batch."""
    from igde_stream.backends import create_backend

    color, depth = _frames(0, 16, 24)
    ort = OnnxRuntimeBackend(_identity(tmp_path / "g.onnx", ["N", 3, "H", "W"], ["N", 1, "H", "W"]))
    torch_installed = importlib.util.find_spec("torch") is not None
    for backend in (ort, *([create_backend("torch", "igde-small", threads=1)] if torch_installed else [])):
        out = backend.run(color, depth)
        assert out.shape == (0, 1, 16, 24) and out.dtype == np.float32


@pytest.mark.parametrize("providers, pattern", [(None, False), ((CPU,), False), ((CUDA, CPU), True)])
def test_the_memory_pattern_is_off_on_the_cpu(tmp_path, monkeypatch, providers, pattern):
    """ONNX Runtime's memory pattern (buffers planned ahead for one input shape) cost 1.6 GB of peak
    memory at 1920x1080 on the CPU for no speed: it is off there, and left on with the CUDA provider."""
    import onnxruntime as ort

    seen = {}
    real = ort.InferenceSession

    def session(path, sess_options=None, providers=None):
        seen["pattern"], seen["providers"] = sess_options.enable_mem_pattern, providers
        return real(path, sess_options=sess_options, providers=[CPU])

    monkeypatch.setattr(ort, "InferenceSession", session)
    OnnxRuntimeBackend(_identity(tmp_path / "g.onnx", ["N", 3, "H", "W"], ["N", 1, "H", "W"]), providers=providers)
    assert seen["pattern"] is pattern and (providers is None or seen["providers"] == list(providers))
