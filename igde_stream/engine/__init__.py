"""TensorRT engines: build options, names and sidecars that make staleness visible, and the build.

An engine is tied to the ONNX file it came from, its build options (optimisation profile,
precision, typing, workspace, optimisation level), the TensorRT version and the GPU. All of these go
into its file name (short forms) and into a JSON sidecar ``<engine>.json`` (full values), written
before the engine; a timing cache per GPU and TensorRT version sits beside the engines, and each
build writes ``<engine>.log``, kept whether the build worked or not.

Precision paths (section 8 of the design):
- TensorRT 10: FP32 ONNX, weakly typed network, ``BuilderFlag.FP16``.
- TensorRT 11 (no FP16 flag any more; every network is strongly typed): the ONNX is first converted
  to FP16 with FP32 inputs and outputs kept (``convert_fp16``), then built strongly typed.
Everything here but ``build_engine`` works without TensorRT or a GPU.

Modules: ``options`` (BuildOptions, BuildPlan, errors), ``files`` (names, sidecar / log / timing
cache paths, hashing, atomic writes), ``sidecar`` (EngineInfo, the staleness checks, find_engine),
``fp16`` (FP16 ONNX conversion, ONNX metadata), ``builder`` (environment, build_engine). Code that
replaces a function for a test patches it where it is looked up: ``builder.environment`` and
``builder.onnx_metadata`` for ``build_engine``.
"""

from __future__ import annotations

from .builder import build_engine, environment, network_flags
from .files import engine_name, file_sha256, log_path, sidecar_path, slug, timing_cache_path
from .fp16 import FP32_OPS, convert_fp16, onnx_metadata
from .options import BuildOptions, BuildPlan, EngineBuildError, EngineError, Shape, build_plan
from .sidecar import EngineInfo, find_engine, problems

__all__ = [
    "BuildOptions", "BuildPlan", "EngineBuildError", "EngineError", "EngineInfo", "FP32_OPS", "Shape",
    "build_engine", "build_plan", "convert_fp16", "engine_name", "environment", "file_sha256", "find_engine",
    "log_path", "network_flags", "onnx_metadata", "problems", "sidecar_path", "slug", "timing_cache_path",
]
