"""The TensorRT build itself (needs TensorRT and a GPU): ``build_engine`` reuses a matching engine or
builds one, writing the sidecar before the engine, a build log beside it and the timing cache."""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .. import __version__
from .files import _atomic_write, _temp_name, engine_name, file_sha256, log_path, timing_cache_path
from .fp16 import convert_fp16, onnx_metadata
from .options import BuildOptions, BuildPlan, EngineBuildError, EngineError, build_plan
from .sidecar import EngineInfo, problems

log = logging.getLogger(__package__)  # "igde_stream.engine", as before the split into a package


def environment() -> dict[str, str]:
    """TensorRT version and GPU name of this machine (needs tensorrt and a CUDA GPU via PyTorch)."""
    try:
        import tensorrt as trt
    except ImportError:
        raise EngineError("TensorRT is not installed (pip install 'igde-stream[tensorrt]' on a machine with an NVIDIA GPU)") from None
    from ..backends import cuda_gpu

    gpu = cuda_gpu()
    if gpu is None:
        raise EngineError("TensorRT needs a CUDA GPU, and none is visible to PyTorch")
    return {"trt_version": trt.__version__, "gpu_name": gpu}


def _keep_fp32(trt: Any, network: Any) -> int:
    """Weakly typed FP16 builds: pin the layers of the depth gather path to FP32, and the comparisons on
    float values such as the hole test ``depth == 0`` (see FP32_OPS: 16-bit levels 1-3 are FP16
    subnormals); returns how many were pinned."""
    kinds = {getattr(trt.LayerType, k) for k in ("PADDING", "SLICE", "SHUFFLE", "GATHER", "SCATTER", "SELECT")
             if hasattr(trt.LayerType, k)}
    pinned = 0
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if layer.type in kinds and all(layer.get_output(j).dtype == trt.float32 for j in range(layer.num_outputs)):
            layer.precision = trt.float32
            for j in range(layer.num_outputs):
                layer.set_output_type(j, trt.float32)
            pinned += 1
        elif _is_float_comparison(trt, layer):  # ONNX Equal (``depth == 0``): computed in FP32, its bool output kept
            layer.precision = trt.float32
            pinned += 1
    return pinned


def _is_float_comparison(trt: Any, layer: Any) -> bool:
    """An elementwise layer with float32 inputs and a bool output: a comparison (ONNX Equal, Less, ...)."""
    return (layer.type == trt.LayerType.ELEMENTWISE and layer.num_outputs == 1
            and layer.get_output(0).dtype == trt.bool
            and all(layer.get_input(j).dtype == trt.float32 for j in range(layer.num_inputs)))


def build_engine(onnx_path: str | Path, engines_dir: str | Path = "engines", options: BuildOptions | None = None,
                 *, force: bool = False, verbose: bool = False) -> Path:
    """Build (or reuse, unless ``force``) the engine for ``onnx_path`` under ``engines_dir``.

    Returns the engine path; its sidecar and build log lie beside it. Raises EngineError when
    TensorRT or a GPU is missing and EngineBuildError when the build fails (the log is kept).
    """
    options = options or BuildOptions()
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise FileNotFoundError(f"{onnx_path}: no such ONNX file")
    env = environment()
    import tensorrt as trt

    engines_dir = Path(engines_dir)
    engines_dir.mkdir(parents=True, exist_ok=True)
    digest = file_sha256(onnx_path)
    engine = engines_dir / engine_name(onnx_path, digest, options, env["trt_version"], env["gpu_name"])
    stale: list[str] = []
    if engine.is_file() and not force:
        stale = _stale(engine, digest, options, env)
        if not stale:
            return engine
    plan = build_plan(int(env["trt_version"].split(".")[0]), options)
    log = log_path(engine)
    t0 = time.monotonic()
    with open(log, "w") as log_file:
        logger = _file_logger(trt, log_file, verbose)
        log_file.write(f"# igde-stream {__version__}: {onnx_path} -> {engine.name}\n# {asdict(options)}\n# {plan}\n")
        if stale:
            log_file.write(f"# rebuilding the engine already there: {'; '.join(stale)}\n")
        source = onnx_path
        if plan.fp16_onnx:
            source = engines_dir / f"{onnx_path.stem}.{digest[:12]}.fp16.onnx"
            tmp = _temp_name(source)
            try:
                convert_fp16(onnx_path, tmp)
                os.replace(tmp, source)
            finally:
                tmp.unlink(missing_ok=True)
            log_file.write(f"# FP16 ONNX (fp32 I/O kept): {source}\n")
        try:
            serialized = _build(trt, logger, source, options, plan, timing_cache_path(engines_dir, **env))
        except Exception as exc:  # TensorRT raises plain exceptions; keep the log, name it
            log_file.write(f"# build raised {exc!r}\n")
            raise EngineBuildError(f"TensorRT failed to build an engine from {onnx_path}: {exc}", log) from None
        if serialized is None:
            raise EngineBuildError(f"TensorRT failed to build an engine from {onnx_path}", log)
        data = memoryview(serialized)
        # sidecar first, then the engine: an engine never stands without the sidecar that describes
        # it (a crash in between leaves a sidecar whose engine_sha256 does not match: stale)
        EngineInfo(
            onnx_path=str(onnx_path.resolve()), onnx_sha256=digest, precision=options.precision,
            min_shape=options.min_shape, opt_shape=options.opt_shape, max_shape=options.max_shape,
            trt_version=env["trt_version"], gpu_name=env["gpu_name"], strongly_typed=plan.strongly_typed,
            fp16_onnx=plan.fp16_onnx, engine_sha256=hashlib.sha256(data).hexdigest(), model=onnx_metadata(onnx_path),
            build_options=asdict(options), built_at=_dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            build_seconds=round(time.monotonic() - t0, 1),
        ).save(engine)
        _atomic_write(engine, data)
        log_file.write(f"# built in {time.monotonic() - t0:.1f} s\n")
    return engine


def _stale(engine: Path, onnx_sha256: str, options: BuildOptions, env: dict[str, str]) -> list[str]:
    """Why the engine file already at ``engine`` is not the one asked for (empty: reuse it). One
    without a readable sidecar is stale: what it was built for cannot be checked."""
    try:
        info = EngineInfo.load(engine)
    except EngineError as exc:
        return [str(exc)]
    return problems(info, onnx_sha256=onnx_sha256, options=options, engine_sha256=file_sha256(engine), **env)


def _file_logger(trt: Any, log_file: Any, verbose: bool) -> Any:
    class FileLogger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)

        def log(self, severity: Any, msg: str) -> None:
            if severity == trt.ILogger.Severity.VERBOSE and not verbose:
                return
            log_file.write(f"[{getattr(severity, 'name', severity)}] {msg}\n")
            log_file.flush()

    return FileLogger()


def _build(trt: Any, logger: Any, onnx_path: Path, options: BuildOptions, plan: BuildPlan, cache_path: Path) -> Any:
    """The TensorRT calls: network from ONNX, profile, precision, timing cache, serialized engine."""
    builder = trt.Builder(logger)
    network = builder.create_network(network_flags(trt, plan.strongly_typed))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        logger.log(trt.ILogger.Severity.ERROR, f"ONNX parser: {errors}")
        return None
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(options.workspace_gib * (1 << 30)))
    config.builder_optimization_level = int(options.optimization_level)
    if options.precision == "fp32" and hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)  # on by default: FP32 convolutions in TF32 (a 10-bit mantissa)
    if plan.fp16_flag:
        config.set_flag(trt.BuilderFlag.FP16)
        if _keep_fp32(trt, network):
            config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    profile = builder.create_optimization_profile()
    for name, channels in (("color", 3), ("depth", 1)):
        n0, h0, w0 = options.min_shape
        n1, h1, w1 = options.opt_shape
        n2, h2, w2 = options.max_shape
        profile.set_shape(name, (n0, channels, h0, w0), (n1, channels, h1, w1), (n2, channels, h2, w2))
    config.add_optimization_profile(profile)
    cache = config.create_timing_cache(cache_path.read_bytes() if cache_path.is_file() else b"")
    cached = cache is not None and bool(config.set_timing_cache(cache, ignore_mismatch=False))
    if not cached:
        msg = f"timing cache {cache_path} could not be used (TensorRT refused it); building without it"
        logger.log(trt.ILogger.Severity.WARNING, msg)
        log.warning(msg)
    serialized = builder.build_serialized_network(network, config)
    if serialized is not None and cached:
        _atomic_write(cache_path, memoryview(config.get_timing_cache().serialize()))
    return serialized


def network_flags(trt: Any, strongly_typed: bool) -> int:
    """``create_network`` flags: STRONGLY_TYPED on TensorRT 10 when asked; none on 11+, where every
    network is strongly typed and the flag is deprecated (and ignored, so it is not touched)."""
    if not strongly_typed or int(str(trt.__version__).split(".")[0]) >= 11:
        return 0
    return 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
