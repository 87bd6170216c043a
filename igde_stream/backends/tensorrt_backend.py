"""TensorRT backend: an FP16 engine built from the exported ONNX, run on torch CUDA tensors.

Bindings are torch CUDA tensors: ``set_input_shape`` + ``set_tensor_address`` for each I/O tensor,
then ``execute_async_v3`` on a stream of its own, ordered after the current torch stream's work and
before its next (no pycuda). The engine comes from, in order:
``engine=`` (checked against its sidecar: TensorRT version, GPU, source ONNX, profile); a matching
engine in ``engines_dir``; or a build from the model's ONNX at the first batch, with the profile's
opt shape set to that batch (the stream's size). A stale or mismatched engine is rebuilt when the
source ONNX is at hand and ``rebuild`` allows it, else refused with the reasons. A batch smaller
than the profile's minimum N (the stream's last) is padded with its last frame, not rebuilt for.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..engine import (BuildOptions, EngineError, EngineInfo, build_engine, environment, file_sha256, find_engine,
                      problems)
from ..signals import say
from . import ENGINE_SUFFIXES, ENGINES_DIR, empty_batch, resolve_model_file
from .torch_backend import HostStaging, pad_batch  # noqa: F401  (pad_batch: the last, partial batch)

_REBUILD = ("auto", "never", "always")


class TensorRTBackend:
    """``run(color, depth)``: N x 3 x H x W and N x 1 x H x W float32 [0, 1] NumPy -> N x 1 x H x W.

    ``forward(color, depth)`` takes and returns float32 CUDA tensors (no host copies).
    """

    name = "tensorrt"

    def __init__(self, model: str | Path | None = "igde-small", device: str | None = None,
                 engine: str | Path | None = None, engines_dir: str | Path | None = None,
                 rebuild: str = "auto", build: BuildOptions | None = None, max_batch: int | None = None,
                 precision: str | None = None, quiet: bool = False) -> None:
        try:
            import tensorrt as trt
        except ImportError:
            raise EngineError("the tensorrt backend needs TensorRT (pip install 'igde-stream[tensorrt]' "
                              "on a machine with an NVIDIA GPU)") from None
        if rebuild not in _REBUILD:
            raise ValueError(f"rebuild must be one of {_REBUILD}, got {rebuild!r}")
        # the precision asked for: an engine of another precision is rebuilt, never reused
        if build is not None and precision not in (None, build.precision):
            raise ValueError(f"precision {precision!r} contradicts the build options' {build.precision!r}")
        precision = precision or (build.precision if build is not None else "fp16")
        if precision not in ("fp16", "fp32"):
            raise ValueError(f"precision must be fp16 or fp32, got {precision!r}")
        self.trt = trt
        self.device = torch.device(device or "cuda")
        if self.device.type != "cuda":
            raise ValueError(f"TensorRT runs on CUDA devices only, got {device!r}")
        if torch.cuda.is_available() and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())
        with self._on_device():
            self._setup(trt, model, engine, engines_dir, rebuild, build, max_batch, precision, quiet)

    def _on_device(self) -> Any:
        """``torch.cuda.device`` of this backend's GPU: builds, loads and runs happen on cuda:N."""
        return torch.cuda.device(self.device) if torch.cuda.is_available() else nullcontext()

    def _setup(self, trt: Any, model: Any, engine: Any, engines_dir: Any, rebuild: str, build: Any,
               max_batch: Any, precision: str, quiet: bool) -> None:
        self.env = environment()  # raises a clear EngineError without a GPU; names cuda:N's GPU
        self.engines_dir = Path(engines_dir or ENGINES_DIR)
        self.rebuild, self.build_options, self.max_batch = rebuild, build, max_batch
        self.precision, self.quiet = precision, quiet
        if model is not None and Path(str(model)).suffix in ENGINE_SUFFIXES:
            engine, model = model, None
        if engine is not None and model is not None and Path(str(model)).suffix != ".onnx":
            # an engine given by the user is the model: a registered name (the CLI's default) does not
            # replace it; its own sidecar names the ONNX it was built from
            model = None
        self.explicit_engine = engine is not None
        self.onnx: Path | None = resolve_model_file(model, ".onnx") if model is not None else None
        self.model_name = None if model is None or Path(str(model)).suffix else str(model)
        self.engine_path: Path | None = None
        self.info: EngineInfo | None = None
        self._staging = HostStaging()
        if engine is not None:
            self._adopt(Path(engine))
        elif self.onnx is not None:
            found = None if rebuild == "always" else find_engine(
                self.engines_dir, file_sha256(self.onnx), precision=precision, options=build, **self.env)
            if found is not None:
                self._load(found)
            elif build is not None:
                self._load(build_engine(self.onnx, self.engines_dir, build, force=rebuild == "always"))
            # else: built at the first batch, with opt = that batch's shape
        else:
            raise ValueError("tensorrt backend: give an ONNX model or an engine")

    # ------------------------------------------------------------------ engine selection

    def _say(self, msg: str) -> None:
        if not self.quiet:
            say(f"igde-stream: {msg}", err=True)  # a log nobody reads is no error

    def _source_onnx(self, info: EngineInfo) -> Path | None:
        if self.onnx is not None:
            return self.onnx
        p = Path(info.onnx_path)
        return p if p.is_file() else None

    def _adopt(self, engine: Path, shape: tuple[int, int, int] | None = None) -> None:
        """Use ``engine`` if its sidecar matches this machine and model; else rebuild or refuse."""
        if not engine.is_file():
            raise FileNotFoundError(f"{engine}: no such TensorRT engine")
        info = EngineInfo.load(engine)
        if self.explicit_engine and self.onnx is not None and shape is None \
                and file_sha256(self.onnx) != info.onnx_sha256:
            raise EngineError(f"{engine} was built from {info.onnx_path}, not from {self.onnx}: give the "
                              "engine alone, or rebuild it from that ONNX with python tools/build_engine.py")
        src = self._source_onnx(info)
        why = problems(info, onnx_sha256=file_sha256(src) if src is not None else None, shape=shape,
                       precision=self.precision, engine_sha256=file_sha256(engine), **self.env)
        variant = info.model.get("variant")
        if self.model_name and variant and variant != self.model_name and self.onnx is not None:
            why.append(f"built for model {variant!r}, asked for {self.model_name!r}")
        if not why and self.rebuild != "always":
            self._load(engine)
            return
        if src is None or self.rebuild == "never":
            raise EngineError(f"{engine} cannot be used here: {'; '.join(why) or 'rebuild forced'}. "
                              "Rebuild it with python tools/build_engine.py"
                              + ("" if src is not None else " (its source ONNX is not at hand)"))
        # rebuild what was asked for (its precision), not what the stale engine was; unless forced, a
        # matching engine built before (same name, valid sidecar) is reused by build_engine
        options = self.build_options or replace(info.options, precision=self.precision)
        if options.typing == "weak" and int(self.env["trt_version"].split(".")[0]) >= 11:
            options = replace(options, typing="auto")  # built weak on TensorRT 10; 11 has strong typing only
        if shape is not None and not options.accepts(shape):
            options = options.widened(shape)
        self._say(f"{engine.name} does not fit ({'; '.join(why) or 'rebuild forced'}): "
                  "building a TensorRT engine that does (or reusing one built before)")
        self._release()
        self._load(build_engine(src, self.engines_dir, options, force=self.rebuild == "always"))

    def _release(self) -> None:
        """Drop the loaded engine, its context and (kept alive by the engine) its runtime: TensorRT keeps
        one logger while any runtime or builder lives, so a rebuild's messages went to the old runtime's
        logger and the build log stayed empty."""
        self._context = self._engine = None
        self.info = None

    def _load(self, engine: Path) -> None:
        trt = self.trt
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        with torch.cuda.device(self.device):  # the engine's memory lives on cuda:N, not on device 0
            self._engine = runtime.deserialize_cuda_engine(engine.read_bytes())
            self._stream = torch.cuda.Stream(self.device)
        if self._engine is None:
            raise EngineError(f"{engine}: TensorRT could not deserialize it (corrupt, or another TensorRT build)")
        names = {self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)}
        if names != {"color", "depth", "depth_out"}:
            raise EngineError(f"{engine}: not an igde-stream engine (I/O tensors {sorted(names)})")
        for name in names:
            if self._engine.get_tensor_dtype(name) != trt.DataType.FLOAT:
                raise EngineError(f"{engine}: tensor {name} is {self._engine.get_tensor_dtype(name)}, expected float32 I/O")
        with torch.cuda.device(self.device):
            self._context = self._engine.create_execution_context()
        self.engine_path, self.info = engine, EngineInfo.load(engine)

    def _ensure(self, shape: tuple[int, int, int]) -> None:
        if self.info is not None and self.info.options.accepts(shape):
            return
        if self.engine_path is not None:  # outside the profile: rebuild wider, or refuse
            self._adopt(self.engine_path, shape)
            return
        n, h, w = shape
        options = self.build_options or BuildOptions.for_stream(max(n, self.max_batch or n), h, w,
                                                                precision=self.precision)
        if not options.covers(shape):
            options = options.widened(shape)
        found = find_engine(self.engines_dir, file_sha256(self.onnx), precision=self.precision, shape=shape, **self.env)
        if found is None:
            self._say(f"building TensorRT {options.precision} engine for {self.onnx} (opt N x H x W = {options.opt_shape}); "
                      "this takes a while once")
            found = build_engine(self.onnx, self.engines_dir, options)
        self._load(found)

    # ------------------------------------------------------------------ inference

    @property
    def description(self) -> str:
        where = self.engine_path.name if self.engine_path else "engine built at the first batch"
        return f"tensorrt {self.precision} {self.env['gpu_name']} ({where})"

    def forward(self, color: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """float32 CUDA tensors N x 3 x H x W, N x 1 x H x W -> N x 1 x H x W (a new tensor).

        N below the engine profile's minimum (a stream's last, partial batch) runs padded with the
        last frame; the padded outputs are dropped."""
        n, _, h, w = depth.shape
        with self._on_device():
            self._ensure((n, h, w))
        run_n = max(n, self.info.min_shape[0] if self.info is not None else 1)
        if run_n == n:
            return self._execute(color, depth)
        return self._execute(pad_batch(color, run_n), pad_batch(depth, run_n))[:n]

    def _execute(self, color: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """One engine call on a batch inside the profile."""
        n, _, h, w = depth.shape
        color = color.to(self.device, torch.float32).contiguous()
        depth = depth.to(self.device, torch.float32).contiguous()
        out = torch.empty((n, 1, h, w), device=self.device, dtype=torch.float32)
        ctx = self._context
        for name, t in (("color", color), ("depth", depth)):
            if not ctx.set_input_shape(name, tuple(t.shape)):
                raise EngineError(f"TensorRT rejected input shape {tuple(t.shape)} for {name}")
            if not ctx.set_tensor_address(name, t.data_ptr()):
                raise EngineError(f"TensorRT refused the address of {name}")
        if not ctx.set_tensor_address("depth_out", out.data_ptr()):
            raise EngineError("TensorRT refused the address of depth_out")
        # a dedicated stream on this backend's device (not the legacy default stream), ordered after
        # the work that made the inputs and before the work that reads the output
        current = torch.cuda.current_stream(self.device)
        self._stream.wait_stream(current)
        with torch.cuda.device(self.device):
            ok = ctx.execute_async_v3(self._stream.cuda_stream)
        current.wait_stream(self._stream)
        if not ok:
            raise EngineError("TensorRT execute_async_v3 failed (its log on stderr says why)")
        return out

    def run(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        if len(depth) == 0:
            return empty_batch(depth)
        c = self._staging.to_device("color", color, self.device)
        d = self._staging.to_device("depth", depth, self.device)
        return self._staging.to_host(self.forward(c, d))
