"""``TensorRTBackend`` against a stand-in ``tensorrt`` module that behaves as the documented TensorRT
10 / 11 Python API does (mutation campaign 60b; no TensorRT and no GPU here):

- ``Runtime(logger).deserialize_cuda_engine(blob)``: the engine, or None when the blob is not one;
- ``ICudaEngine``: ``num_io_tensors``, ``get_tensor_name(i)``, ``get_tensor_mode(name)``,
  ``get_tensor_dtype(name)`` (``DataType.FLOAT`` for float32), ``create_execution_context()``;
- ``IExecutionContext.set_input_shape(name, shape)``: False for a shape outside the engine's profile
  (or of another channel count); ``set_tensor_address(name, ptr)``: False for an unknown tensor or a
  null address; ``execute_async_v3(stream_handle)``: False unless every input shape and every
  address is set; else it reads the inputs at their addresses and writes ``depth_out`` (N x 1 x H x W
  float32) at its address.

The stand-in engine computes ``depth_out = depth / 2 + colour's green / 4`` so that every expected
value is worked out by hand. CPU tensors stand in for CUDA tensors (their ``data_ptr`` is a host
address the stand-in reads and writes), and ``torch.cuda``'s device, streams and availability are
replaced by recorders: the order of the stream calls is asserted, not real concurrency.
"""

from __future__ import annotations

import ctypes
import json
import re
import sys
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from igde_stream.backends import tensorrt_backend
from igde_stream.backends.tensorrt_backend import TensorRTBackend
from igde_stream.engine import BuildOptions, EngineError, EngineInfo, engine_name, file_sha256
from igde_stream.models import WEIGHTS_DIR

ENV = dict(trt_version="10.13.0", gpu_name="NVIDIA H100 80GB HBM3")
IO = [["color", "INPUT", "FLOAT"], ["depth", "INPUT", "FLOAT"], ["depth_out", "OUTPUT", "FLOAT"]]
CHANNELS = {"color": 3, "depth": 1}
SMALL = BuildOptions.for_stream(2, 6, 8)  # N 1..2 at 6 x 8, opt 2 x 6 x 8


def _floats(ptr: int, shape: tuple[int, ...]) -> np.ndarray:
    """The float32 array of ``shape`` at address ``ptr`` (what a tensor address means to TensorRT)."""
    count = int(np.prod(shape))
    return np.ctypeslib.as_array((ctypes.c_float * count).from_address(ptr)).reshape(shape)


class FakeContext:
    """IExecutionContext of the stand-in engine."""

    def __init__(self, engine: "FakeEngine", log: list) -> None:
        self.engine, self.log = engine, log
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.addresses: dict[str, int] = {}

    def set_input_shape(self, name: str, shape) -> bool:
        self.log.append(("set_input_shape", name, tuple(shape)))
        lo, hi = self.engine.spec["min"], self.engine.spec["max"]
        if self.engine.modes.get(name) != "INPUT" or len(shape) != 4 or shape[1] != CHANNELS[name]:
            return False
        n, _, h, w = shape
        if not all(a <= v <= b for a, v, b in zip(lo, (n, h, w), hi)):
            return False
        self.shapes[name] = tuple(int(v) for v in shape)
        return True

    def set_tensor_address(self, name: str, ptr: int) -> bool:
        self.log.append(("set_tensor_address", name))
        if name not in self.engine.modes or not ptr:
            return False
        self.addresses[name] = int(ptr)
        return True

    def execute_async_v3(self, stream_handle: int) -> bool:
        self.log.append(("execute_async_v3", stream_handle))
        if set(self.shapes) != {"color", "depth"} or set(self.addresses) != {"color", "depth", "depth_out"}:
            return False
        c, d = self.shapes["color"], self.shapes["depth"]
        if (c[0], c[2], c[3]) != (d[0], d[2], d[3]):
            return False
        color = _floats(self.addresses["color"], c)
        depth = _floats(self.addresses["depth"], d)
        out = _floats(self.addresses["depth_out"], d)
        out[...] = depth / 2 + color[:, 1:2] / 4
        return True


class FakeEngine:
    """ICudaEngine: its I/O tensors (name, mode, dtype) and profile come from the blob's JSON."""

    def __init__(self, spec: dict, log: list) -> None:
        self.spec, self.log = spec, log
        self.modes = {name: mode for name, mode, _ in spec["tensors"]}
        self._dtypes = {name: dtype for name, _, dtype in spec["tensors"]}

    @property
    def num_io_tensors(self) -> int:
        return len(self.spec["tensors"])

    def get_tensor_name(self, i: int) -> str:
        return self.spec["tensors"][i][0]

    def get_tensor_mode(self, name: str) -> str:
        return self.modes[name]

    def get_tensor_dtype(self, name: str) -> str:
        return self._dtypes[name]

    def create_execution_context(self) -> FakeContext:
        self.log.append(("create_execution_context", _DEVICE_STACK[-1] if _DEVICE_STACK else None))
        return FakeContext(self, self.log)


_DEVICE_STACK: list = []


def fake_trt(log: list) -> SimpleNamespace:
    class Logger:
        WARNING = "WARNING"

        def __init__(self, severity) -> None:
            self.severity = severity

    class Runtime:
        def __init__(self, logger) -> None:
            self.logger = logger

        def deserialize_cuda_engine(self, blob: bytes):
            log.append(("deserialize_cuda_engine", _DEVICE_STACK[-1] if _DEVICE_STACK else None))
            if not bytes(blob).startswith(b"FAKE-TRT "):
                return None  # documented: None when it could not be deserialized
            return FakeEngine(json.loads(bytes(blob)[len(b"FAKE-TRT "):]), log)

    return SimpleNamespace(__version__=ENV["trt_version"], Logger=Logger, Runtime=Runtime,
                           DataType=SimpleNamespace(FLOAT="FLOAT", HALF="HALF"),
                           TensorIOMode=SimpleNamespace(INPUT="INPUT", OUTPUT="OUTPUT"))


def write_engine(folder: Path, onnx: Path, options: BuildOptions = SMALL, *, tensors=IO, env=ENV,
                 variant: str | None = None, blob: bytes | None = None) -> Path:
    """A stand-in engine for ``onnx`` with a valid sidecar, named as build_engine names it."""
    sha = file_sha256(onnx)
    path = Path(folder) / engine_name(onnx, sha, options, **env)
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = {"tensors": tensors, "min": list(options.min_shape), "max": list(options.max_shape)}
    path.write_bytes(blob if blob is not None else b"FAKE-TRT " + json.dumps(spec).encode())
    EngineInfo(onnx_path=str(onnx), onnx_sha256=sha, precision=options.precision, min_shape=options.min_shape,
               opt_shape=options.opt_shape, max_shape=options.max_shape, engine_sha256=file_sha256(path),
               model={"variant": variant} if variant else {}, build_options=asdict(options), **env).save(path)
    return path


@pytest.fixture
def trt(monkeypatch, tmp_path):
    """The stand-in TensorRT and CUDA; returns a namespace with the call log, the builds, the messages
    said, the stand-in ONNX file and the engines folder."""
    log: list = []
    monkeypatch.setitem(sys.modules, "tensorrt", fake_trt(log))
    monkeypatch.setattr(tensorrt_backend, "environment", lambda: dict(ENV))
    said: list = []
    monkeypatch.setattr(tensorrt_backend, "say", lambda msg, err=False: said.append(msg))

    class Device:  # torch.cuda.device: the device made current inside the block
        def __init__(self, device) -> None:
            self.device = device

        def __enter__(self):
            _DEVICE_STACK.append(str(self.device))

        def __exit__(self, *exc):
            _DEVICE_STACK.pop()

    class Stream:
        def __init__(self, device=None, name: str | None = None) -> None:
            self.name = name or f"stream{len([e for e in log if e[0] == 'Stream'])}"
            self.cuda_stream = 0x7000 + len(log)
            log.append(("Stream", str(device)))

        def wait_stream(self, other) -> None:
            log.append(("wait_stream", self.name, other.name))

        def synchronize(self) -> None:
            log.append(("synchronize", self.name))

    current = Stream(name="current")
    log.clear()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device", Device)
    monkeypatch.setattr(torch.cuda, "Stream", Stream)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: current)
    builds: list = []

    def build(src, engines_dir, options, force=False, verbose=False):
        builds.append(dict(src=Path(src), options=options, force=force))
        return write_engine(Path(engines_dir), Path(src), options)

    monkeypatch.setattr(tensorrt_backend, "build_engine", build)
    monkeypatch.chdir(tmp_path)
    onnx = tmp_path / "tiny.onnx"
    onnx.write_bytes(b"stands in for an ONNX file")
    return SimpleNamespace(log=log, builds=builds, said=said, onnx=onnx, engines=tmp_path / "engines")


def _frames(n: int, h: int = 6, w: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame i: colour's green (i + 1) / 4, red and blue 1; depth (i + 1) / 8: binary fractions."""
    color = torch.ones(n, 3, h, w)
    color[:, 1] = (torch.arange(n, dtype=torch.float32) + 1).view(n, 1, 1) / 4
    depth = ((torch.arange(n, dtype=torch.float32) + 1) / 8).view(n, 1, 1, 1).expand(n, 1, h, w).clone()
    return color, depth


def _on_cpu(b: TensorRTBackend) -> TensorRTBackend:
    b.device = torch.device("cpu")  # CPU tensors stand in for cuda:N's
    return b


def test_an_engine_runs_with_each_tensor_bound_by_name_on_its_own_stream(trt):
    """Frame i: depth (i + 1) / 8, green (i + 1) / 4 -> depth_out (i + 1) / 16 + (i + 1) / 16 = (i + 1) / 8
    in a new N x 1 x H x W float32 tensor; the shapes set are colour N x 3 x H x W and depth
    N x 1 x H x W; the engine runs on the backend's stream, after the current stream's work and
    before its next; the engine is deserialised and its context created on the backend's GPU."""
    engine = write_engine(trt.engines, trt.onnx)
    b = _on_cpu(TensorRTBackend(engine=engine, device="cuda:1", quiet=True))
    assert ("deserialize_cuda_engine", "cuda:1") in trt.log and ("create_execution_context", "cuda:1") in trt.log
    assert ("Stream", "cuda:1") in trt.log
    trt.log.clear()
    color, depth = _frames(2)
    out = b.forward(color, depth)
    assert out.shape == (2, 1, 6, 8) and out.dtype == torch.float32
    assert torch.equal(out[:, 0, 0, 0], torch.tensor([0.125, 0.25]))  # (i + 1) / 16 + (i + 1) / 16
    assert torch.equal(out, out[:, :, :1, :1].expand(2, 1, 6, 8))
    assert [e for e in trt.log if e[0] == "set_input_shape"] == [("set_input_shape", "color", (2, 3, 6, 8)),
                                                                  ("set_input_shape", "depth", (2, 1, 6, 8))]
    stream = b._stream
    assert [e for e in trt.log if e[0] in ("wait_stream", "execute_async_v3")] == [
        ("wait_stream", stream.name, "current"), ("execute_async_v3", stream.cuda_stream),
        ("wait_stream", "current", stream.name)]
    assert torch.equal(b.forward(color[:1], depth[:1])[:, 0, 0, 0], torch.tensor([0.125]))  # N 1: in the profile


def test_run_takes_numpy_and_gives_numpy_and_an_empty_batch_without_the_engine(trt):
    """``run`` on N x 3 x H x W / N x 1 x H x W float32 arrays gives the engine's output as an array;
    a batch of no frames gives 0 x 1 x H x W without running the engine."""
    b = _on_cpu(TensorRTBackend(engine=write_engine(trt.engines, trt.onnx), quiet=True))

    class Staging:  # the pinned-buffer copies, without CUDA
        def to_device(self, tag, array, device):
            return torch.from_numpy(np.ascontiguousarray(array))

        def to_host(self, tensor):
            return tensor.numpy().copy()

    b._staging = Staging()
    color, depth = _frames(2)
    out = b.run(color.numpy(), depth.numpy())
    assert isinstance(out, np.ndarray) and out.shape == (2, 1, 6, 8)
    assert out[:, 0, 0, 0].tolist() == [0.125, 0.25]
    trt.log.clear()
    empty = b.run(np.zeros((0, 3, 6, 8), np.float32), np.zeros((0, 1, 6, 8), np.float32))
    assert empty.shape == (0, 1, 6, 8) and empty.dtype == np.float32
    assert not [e for e in trt.log if e[0] == "execute_async_v3"]


def test_description_names_precision_gpu_and_engine_file(trt):
    engine = write_engine(trt.engines.with_name("given"), trt.onnx)
    b = TensorRTBackend(engine=engine, quiet=True)
    assert b.description == f"tensorrt fp16 NVIDIA H100 80GB HBM3 ({engine.name})"
    later = TensorRTBackend(model=trt.onnx, quiet=True)  # no engine yet: built at the first batch
    assert later.description == "tensorrt fp16 NVIDIA H100 80GB HBM3 (engine built at the first batch)"


def test_the_first_batch_builds_with_opt_at_its_shape_and_max_batch(trt):
    """No engine at hand: the first batch (3 frames of 6 x 8, max_batch 4) builds N 1..4 at 6 x 8 with
    opt 4 x 6 x 8 (docs/backends.md: opt = the stream's size), not forced, from the model's ONNX."""
    b = _on_cpu(TensorRTBackend(model=trt.onnx, max_batch=4, quiet=True))
    out = b.forward(*_frames(3))
    (build,) = trt.builds
    assert build["src"] == trt.onnx and build["force"] is False
    o = build["options"]
    assert (o.min_shape, o.opt_shape, o.max_shape, o.precision) == ((1, 6, 8), (4, 6, 8), (4, 6, 8), "fp16")
    assert out[:, 0, 0, 0].tolist() == [0.125, 0.25, 0.375]


@pytest.mark.parametrize("blob, tensors, message", [
    (b"not an engine", IO, r"TensorRT could not deserialize it \(corrupt, or another TensorRT build\)$"),
    (None, [["color", "INPUT", "FLOAT"], ["depth", "INPUT", "FLOAT"], ["output", "OUTPUT", "FLOAT"]],
     r"not an igde-stream engine \(I/O tensors \['color', 'depth', 'output'\]\)$"),
    (None, [["color", "INPUT", "FLOAT"], ["depth", "INPUT", "FLOAT"], ["depth_out", "OUTPUT", "HALF"]],
     r"tensor depth_out is HALF, expected float32 I/O$"),
], ids=["corrupt", "names", "dtype"])
def test_an_engine_that_is_not_an_igde_stream_float32_engine_is_refused(trt, blob, tensors, message):
    engine = write_engine(trt.engines, trt.onnx, tensors=tensors, blob=blob)
    with pytest.raises(EngineError, match=message):
        TensorRTBackend(engine=engine, quiet=True)


def test_a_shape_or_address_tensorrt_refuses_is_an_error(trt):
    b = _on_cpu(TensorRTBackend(engine=write_engine(trt.engines, trt.onnx), quiet=True))
    b._context.set_tensor_address = lambda name, ptr: name != "depth_out"
    with pytest.raises(EngineError, match="^TensorRT refused the address of depth_out$"):
        b._execute(*_frames(2))
    b._context.set_input_shape = lambda name, shape: name != "depth"
    with pytest.raises(EngineError, match=r"^TensorRT rejected input shape \(2, 1, 6, 8\) for depth$"):
        b._execute(*_frames(2))


def test_a_registered_name_beside_an_engine_does_not_replace_it_but_an_onnx_file_is_checked(trt):
    """``engine=`` with the CLI's default model name: the engine alone is the model (its sidecar names
    its ONNX); with an ONNX file of other content, the engine is refused as built from another ONNX."""
    engine = write_engine(trt.engines, trt.onnx)
    b = TensorRTBackend(model="igde-small", engine=engine, quiet=True)
    assert b.onnx is None and b.model_name is None and b.engine_path == engine and not trt.builds
    other = trt.onnx.with_name("other.onnx")
    other.write_bytes(b"another ONNX file")
    with pytest.raises(EngineError, match=re.escape(f"{engine} was built from {trt.onnx}, not from {other}: give the "
                                                    "engine alone, or rebuild it from that ONNX with")):
        TensorRTBackend(model=other, engine=engine, quiet=True)


def test_a_stale_engine_alone_is_rebuilt_from_the_onnx_its_sidecar_names(trt):
    """An engine built with TensorRT 10.9.0 met on 10.13.0, given alone: its sidecar's ONNX is at hand,
    so it is rebuilt from it (same profile and precision, not forced) and the new engine runs."""
    old = write_engine(trt.engines / "old", trt.onnx, env=dict(ENV, trt_version="10.9.0"))
    b = TensorRTBackend(engine=old, quiet=True)
    (build,) = trt.builds
    assert build["src"] == trt.onnx and build["force"] is False
    assert (build["options"].min_shape, build["options"].max_shape) == (SMALL.min_shape, SMALL.max_shape)
    assert b.engine_path != old and b.info.trt_version == "10.13.0"


def test_a_stale_engine_whose_onnx_is_gone_is_refused_in_one_line(trt):
    old = write_engine(trt.engines, trt.onnx, env=dict(ENV, trt_version="10.9.0"))
    trt.onnx.unlink()
    with pytest.raises(EngineError) as e:
        TensorRTBackend(engine=old, quiet=True)
    assert str(e.value) == (f"{old} cannot be used here: built with TensorRT 10.9.0, this is TensorRT 10.13.0. "
                            "Rebuild it with python tools/build_engine.py (its source ONNX is not at hand)")
    assert not trt.builds


def test_rebuild_always_forces_the_build(trt):
    """``rebuild="always"`` with build options: a build forced even where a matching engine exists;
    ``auto`` with no matching engine: built, not forced (build_engine may reuse one)."""
    write_engine(trt.engines, trt.onnx, SMALL)
    TensorRTBackend(model=trt.onnx, build=SMALL, rebuild="always", quiet=True)
    TensorRTBackend(model=trt.onnx, build=BuildOptions.for_stream(4, 6, 8), quiet=True)
    assert [(b["options"].max_shape, b["force"]) for b in trt.builds] == [((2, 6, 8), True), ((4, 6, 8), False)]


def test_a_weak_engine_of_tensorrt_10_rebuilt_on_10_stays_weak(trt):
    """Typing weak becomes auto only on TensorRT 11 and later (which has strong typing only): a weak
    engine from another GPU, rebuilt on TensorRT 10.13, is rebuilt weak."""
    weak = BuildOptions.for_stream(2, 6, 8, typing="weak")
    old = write_engine(trt.engines, trt.onnx, weak, env=dict(ENV, gpu_name="NVIDIA L4"))
    TensorRTBackend(engine=old, quiet=True)
    (build,) = trt.builds
    assert build["options"].typing == "weak"


@pytest.mark.parametrize("variant, extra", [("igde-small", ""),
                                            ("igde-base", "; built for model 'igde-base', asked for 'igde-small'")],
                         ids=["same-model", "other-model"])
def test_a_batch_outside_the_found_engines_profile_rebuilds_it_wider_and_says_why(trt, variant, extra):
    """The shipped igde-small's engine, found in engines/, gets frames of 6 x 10 (its profile is 6 x 8):
    rebuilt with N 1..2, H 6, W 8..10 and opt the batch's 2 x 6 x 10; the message gives the reasons,
    and a model mismatch only where the sidecar names another model."""
    shipped = WEIGHTS_DIR / "igde-small.onnx"
    write_engine(trt.engines, shipped, variant=variant)
    b = _on_cpu(TensorRTBackend(model="igde-small", engines_dir=trt.engines))
    assert b.model_name == "igde-small" and not trt.builds
    out = b.forward(*_frames(2, 6, 10))
    (build,) = trt.builds
    o = build["options"]
    assert (o.min_shape, o.opt_shape, o.max_shape) == ((1, 6, 8), (2, 6, 10), (2, 6, 10))
    assert build["src"] == shipped and out.shape == (2, 1, 6, 10)
    (msg,) = trt.said
    assert msg.startswith(f"igde-stream: {engine_name(shipped, file_sha256(shipped), SMALL, **ENV)} does not fit "
                          f"(input N x H x W 2x6x10 is outside the engine's profile 1x6x8 .. 2x6x8{extra}): ")
