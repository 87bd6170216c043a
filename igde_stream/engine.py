"""TensorRT engines: build options, names and sidecars that make staleness visible, and the build.

An engine is tied to the ONNX file it came from, the optimisation profile, the precision, the
TensorRT version and the GPU. All of these go into its file name (short forms) and into a JSON
sidecar ``<engine>.json`` (full values); a timing cache per GPU and TensorRT version sits beside
the engines, and each build writes ``<engine>.log``, kept whether the build worked or not.

Precision paths (section 8 of the design):
- TensorRT 10: FP32 ONNX, weakly typed network, ``BuilderFlag.FP16``.
- TensorRT 11 (no FP16 flag any more; every network is strongly typed): the ONNX is first converted
  to FP16 with FP32 inputs and outputs kept (``convert_fp16``), then built strongly typed.
Everything here but ``build_engine`` works without TensorRT or a GPU.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .errors import IGDEError

Shape = tuple[int, int, int]  # N, H, W


class EngineError(IGDEError, ValueError):
    """An engine that cannot be used as it is (missing, stale, for another GPU or TensorRT); an
    IGDEError, so the command line reports it in one line, also when it is raised mid-stream."""


class EngineBuildError(IGDEError, RuntimeError):
    """TensorRT could not build the engine; ``log_path`` holds the builder's log."""

    def __init__(self, message: str, log_path: Path | None = None) -> None:
        super().__init__(message + (f" (build log: {log_path})" if log_path else ""))
        self.log_path = log_path


@dataclass(frozen=True)
class BuildOptions:
    """How to build an engine.

    min_shape / opt_shape / max_shape: (N, H, W) of the optimisation profile (colour and depth share
    it); opt is what TensorRT tunes for, so make it the stream's batch and size. precision: ``fp16``
    (default) or ``fp32``; inputs and outputs stay float32 either way. typing: ``auto`` (weak + FP16
    flag on TensorRT 10, strongly typed FP16 ONNX on 11+), ``weak`` or ``strong``. workspace_gib:
    builder scratch memory. optimization_level: TensorRT's builder_optimization_level (0-5).
    """

    min_shape: Shape = (1, 64, 64)
    opt_shape: Shape = (4, 540, 960)
    max_shape: Shape = (8, 1088, 1920)
    precision: str = "fp16"
    typing: str = "auto"
    workspace_gib: float = 4.0
    optimization_level: int = 3

    def __post_init__(self) -> None:
        if self.precision not in ("fp16", "fp32"):
            raise ValueError(f"precision must be fp16 or fp32, got {self.precision!r}")
        if self.typing not in ("auto", "weak", "strong"):
            raise ValueError(f"typing must be auto, weak or strong, got {self.typing!r}")
        for name in ("min_shape", "opt_shape", "max_shape"):
            s = getattr(self, name)
            if len(s) != 3 or any(int(v) < 1 for v in s):
                raise ValueError(f"{name} must be three positive ints (N, H, W), got {s}")
        if not all(a <= b <= c for a, b, c in zip(self.min_shape, self.opt_shape, self.max_shape)):
            raise ValueError(f"need min <= opt <= max in every dimension, got min {self.min_shape}, "
                             f"opt {self.opt_shape}, max {self.max_shape}")

    @classmethod
    def for_stream(cls, batch: int, height: int, width: int, **kw: Any) -> "BuildOptions":
        """A profile for one stream: batch 1..``batch`` at exactly ``height`` x ``width``, opt = full batch."""
        return cls(min_shape=(1, height, width), opt_shape=(batch, height, width),
                   max_shape=(batch, height, width), **kw)

    def covers(self, shape: Shape) -> bool:
        return all(a <= v <= c for a, v, c in zip(self.min_shape, shape, self.max_shape))

    def widened(self, shape: Shape) -> "BuildOptions":
        """The same options with a profile that also covers ``shape`` (opt becomes ``shape``)."""
        lo = tuple(min(a, v) for a, v in zip(self.min_shape, shape))
        hi = tuple(max(c, v) for c, v in zip(self.max_shape, shape))
        return BuildOptions(min_shape=lo, opt_shape=tuple(shape), max_shape=hi, precision=self.precision,  # type: ignore[arg-type]
                            typing=self.typing, workspace_gib=self.workspace_gib,
                            optimization_level=self.optimization_level)


@dataclass(frozen=True)
class BuildPlan:
    """What a TensorRT major version needs for a precision: the FP16 flag, strong typing, FP16 ONNX."""

    fp16_flag: bool
    strongly_typed: bool
    fp16_onnx: bool


# ONNX ops left in float32 by the FP16 conversion: the selection head's gather of input depth values
FP32_OPS = ("Pad", "Reshape", "GatherElements", "Where")

def build_plan(trt_major: int, options: BuildOptions) -> BuildPlan:
    """TensorRT 10 weak: FP16 flag on an FP32 graph. Strong typing (forced on 11+): FP16 graph, no flag."""
    strong = options.typing == "strong" or (options.typing == "auto" and trt_major >= 11)
    if trt_major >= 11 and options.typing == "weak":
        raise ValueError("TensorRT 11 has no weakly typed networks (and no FP16 builder flag); use typing='auto' or 'strong'")
    fp16 = options.precision == "fp16"
    return BuildPlan(fp16_flag=fp16 and not strong, strongly_typed=strong, fp16_onnx=fp16 and strong)


@dataclass
class EngineInfo:
    """The sidecar: everything an engine depends on, plus where it came from."""

    onnx_path: str
    onnx_sha256: str
    precision: str
    min_shape: Shape
    opt_shape: Shape
    max_shape: Shape
    trt_version: str
    gpu_name: str
    strongly_typed: bool = False
    fp16_onnx: bool = False
    engine_sha256: str = ""
    model: dict[str, Any] = field(default_factory=dict)  # the ONNX's igde.* metadata (variant, config, weights hash)
    build_options: dict[str, Any] = field(default_factory=dict)
    built_at: str = ""
    build_seconds: float = 0.0
    igde_stream_version: str = __version__

    @classmethod
    def load(cls, engine_path: str | Path) -> "EngineInfo":
        side = sidecar_path(engine_path)
        if not side.is_file():
            raise EngineError(f"{engine_path}: no sidecar {side.name}, so what it was built for cannot be checked; "
                              "rebuild it with tools/build_engine.py")
        try:
            d = json.loads(side.read_text())
            for k in ("min_shape", "opt_shape", "max_shape"):
                d[k] = tuple(d[k])
            return cls(**d)
        except (ValueError, TypeError, KeyError) as exc:
            raise EngineError(f"{side}: unreadable engine sidecar ({exc})") from None

    def save(self, engine_path: str | Path) -> Path:
        side = sidecar_path(engine_path)
        tmp = side.with_name(side.name + ".part")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(side)
        return side

    @property
    def options(self) -> BuildOptions:
        return BuildOptions(min_shape=self.min_shape, opt_shape=self.opt_shape, max_shape=self.max_shape,
                            precision=self.precision)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def slug(text: str) -> str:
    """``NVIDIA H100 80GB HBM3`` -> ``nvidia-h100-80gb-hbm3``: safe in file names."""
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-") or "unknown"


def _shape_tag(s: Shape) -> str:
    return f"{s[0]}x{s[1]}x{s[2]}"


def engine_name(onnx_path: str | Path, onnx_sha256: str, options: BuildOptions, trt_version: str, gpu_name: str) -> str:
    """File name that changes whenever anything the engine depends on changes."""
    stem = Path(onnx_path).stem
    prof = "-".join(_shape_tag(s) for s in (options.min_shape, options.opt_shape, options.max_shape))
    return f"{stem}.{onnx_sha256[:12]}.{options.precision}.{prof}.trt{trt_version}.{slug(gpu_name)}.engine"


def sidecar_path(engine_path: str | Path) -> Path:
    p = Path(engine_path)
    return p.with_name(p.name + ".json")


def log_path(engine_path: str | Path) -> Path:
    p = Path(engine_path)
    return p.with_name(p.name + ".log")


def timing_cache_path(engines_dir: str | Path, trt_version: str, gpu_name: str) -> Path:
    return Path(engines_dir) / f"timing.trt{trt_version}.{slug(gpu_name)}.cache"


def problems(info: EngineInfo, *, trt_version: str, gpu_name: str, onnx_sha256: str | None = None,
             shape: Shape | None = None, precision: str | None = None, engine_sha256: str | None = None) -> list[str]:
    """Why an engine described by ``info`` must not run here; empty when it may."""
    out = []
    if info.trt_version != trt_version:
        out.append(f"built with TensorRT {info.trt_version}, this is TensorRT {trt_version}")
    if info.gpu_name != gpu_name:
        out.append(f"built on {info.gpu_name}, this GPU is {gpu_name}")
    if onnx_sha256 is not None and info.onnx_sha256 != onnx_sha256:
        out.append(f"built from another ONNX file (sha256 {info.onnx_sha256[:12]}, the model's is {onnx_sha256[:12]})")
    if precision is not None and info.precision != precision:
        out.append(f"precision {info.precision}, asked for {precision}")
    if engine_sha256 is not None and info.engine_sha256 and info.engine_sha256 != engine_sha256:
        out.append("the engine file does not match its sidecar (changed after the build)")
    if shape is not None and not info.options.covers(shape):
        out.append(f"input N x H x W {_shape_tag(shape)} is outside the engine's profile "
                   f"{_shape_tag(info.min_shape)} .. {_shape_tag(info.max_shape)}")
    return out


def find_engine(engines_dir: str | Path, onnx_sha256: str, trt_version: str, gpu_name: str,
                precision: str = "fp16", shape: Shape | None = None) -> Path | None:
    """Newest engine in ``engines_dir`` whose sidecar matches all of the given; None if there is none."""
    d = Path(engines_dir)
    if not d.is_dir():
        return None
    found = []
    for side in d.glob(f"*.{onnx_sha256[:12]}.*.engine.json"):
        engine = side.with_name(side.name[: -len(".json")])
        if not engine.is_file():
            continue
        try:
            info = EngineInfo.load(engine)
        except EngineError:
            continue
        if not problems(info, trt_version=trt_version, gpu_name=gpu_name, onnx_sha256=onnx_sha256,
                        shape=shape, precision=precision):
            found.append((engine.stat().st_mtime, engine))
    return max(found)[1] if found else None


def environment() -> dict[str, str]:
    """TensorRT version and GPU name of this machine (needs tensorrt and a CUDA GPU via PyTorch)."""
    try:
        import tensorrt as trt
    except ImportError:
        raise EngineError("TensorRT is not installed (pip install 'igde-stream[tensorrt]' on a machine with an NVIDIA GPU)") from None
    from .backends import cuda_gpu

    gpu = cuda_gpu()
    if gpu is None:
        raise EngineError("TensorRT needs a CUDA GPU, and none is visible to PyTorch")
    return {"trt_version": trt.__version__, "gpu_name": gpu}


def convert_fp16(src: str | Path, dst: str | Path) -> Path:
    """FP16 copy of an ONNX graph with float32 inputs and outputs kept (casts inserted at the edges).

    Uses onnxconverter-common's ``float16`` converter (the ``tensorrt`` extra installs it); falls back
    to the copy of the same converter that ships inside onnxruntime. Values above the FP16 range are
    clamped by the converter; inputs here are in [0, 1].
    """
    import onnx

    try:
        from onnxconverter_common.float16 import convert_float_to_float16
    except ImportError:
        try:
            from onnxruntime.transformers.float16 import convert_float_to_float16
        except ImportError:
            raise EngineError("FP16 ONNX conversion needs onnxconverter-common (pip install 'igde-stream[tensorrt]')") from None
    model = onnx.load(str(src))
    # the selection head gathers its output from the input depth: keep that path (Pad, Reshape,
    # GatherElements, Where) in float32 so 16-bit depth values pass exactly; the layers go to FP16
    fp16 = _skip_fp16_round_trips(convert_float_to_float16(model, keep_io_types=True, op_block_list=list(FP32_OPS)))
    dst = Path(dst)
    onnx.save(fp16, str(dst))
    return dst


def _skip_fp16_round_trips(model: Any) -> Any:
    """The converter sends every float32 value that a kept op (FP32_OPS) or a graph input hands on
    through a Cast to float16 and back, which rounds it. Point each such Cast-to-float32 at the
    original float32 value instead (a Cast from float32 to float32 is the identity)."""
    from onnx import TensorProto

    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    float_inputs = {i.name for i in g.input if i.type.tensor_type.elem_type == TensorProto.FLOAT}

    def cast_to(node: Any) -> int | None:
        return next((a.i for a in node.attribute if a.name == "to"), None) if node.op_type == "Cast" else None

    for node in g.node:
        inner = producer.get(node.input[0]) if cast_to(node) == TensorProto.FLOAT else None
        if inner is None or cast_to(inner) != TensorProto.FLOAT16:
            continue
        src = inner.input[0]
        origin = producer.get(src)
        if src in float_inputs or (origin is not None and origin.op_type in FP32_OPS):
            node.input[0] = src
    return model


def _keep_fp32(trt: Any, network: Any) -> int:
    """Weakly typed FP16 builds: pin the layers of the depth gather path to FP32 (see FP32_OPS);
    returns how many were pinned."""
    kinds = {getattr(trt.LayerType, k) for k in ("PADDING", "SLICE", "SHUFFLE", "GATHER", "SELECT")
             if hasattr(trt.LayerType, k)}
    pinned = 0
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if layer.type in kinds and all(layer.get_output(j).dtype == trt.float32 for j in range(layer.num_outputs)):
            layer.precision = trt.float32
            for j in range(layer.num_outputs):
                layer.set_output_type(j, trt.float32)
            pinned += 1
    return pinned


def onnx_metadata(path: str | Path) -> dict[str, Any]:
    """The ``igde.*`` metadata of an ONNX file (empty if it has none)."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    meta: dict[str, Any] = {p.key[5:]: p.value for p in proto.metadata_props if p.key.startswith("igde.")}
    if "config" in meta:
        meta["config"] = json.loads(meta["config"])
    return meta


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
    if engine.is_file() and not force:
        info = EngineInfo.load(engine)
        if not problems(info, onnx_sha256=digest, engine_sha256=file_sha256(engine), **env):
            return engine
    plan = build_plan(int(env["trt_version"].split(".")[0]), options)
    log = log_path(engine)
    t0 = time.monotonic()
    with open(log, "w") as log_file:
        logger = _file_logger(trt, log_file, verbose)
        log_file.write(f"# igde-stream {__version__}: {onnx_path} -> {engine.name}\n# {asdict(options)}\n# {plan}\n")
        source = onnx_path
        if plan.fp16_onnx:
            source = engines_dir / f"{onnx_path.stem}.{digest[:12]}.fp16.onnx"
            convert_fp16(onnx_path, source)
            log_file.write(f"# FP16 ONNX (fp32 I/O kept): {source}\n")
        try:
            serialized = _build(trt, logger, source, options, plan, timing_cache_path(engines_dir, **env))
        except Exception as exc:  # TensorRT raises plain exceptions; keep the log, name it
            log_file.write(f"# build raised {exc!r}\n")
            raise EngineBuildError(f"TensorRT failed to build an engine from {onnx_path}: {exc}", log) from None
        if serialized is None:
            raise EngineBuildError(f"TensorRT failed to build an engine from {onnx_path}", log)
        tmp = engine.with_name(engine.name + ".part")
        with open(tmp, "wb") as f:
            f.write(serialized)
        tmp.replace(engine)
        log_file.write(f"# built in {time.monotonic() - t0:.1f} s\n")
    EngineInfo(
        onnx_path=str(onnx_path.resolve()), onnx_sha256=digest, precision=options.precision,
        min_shape=options.min_shape, opt_shape=options.opt_shape, max_shape=options.max_shape,
        trt_version=env["trt_version"], gpu_name=env["gpu_name"], strongly_typed=plan.strongly_typed,
        fp16_onnx=plan.fp16_onnx, engine_sha256=file_sha256(engine), model=onnx_metadata(onnx_path),
        build_options=asdict(options), built_at=_dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        build_seconds=round(time.monotonic() - t0, 1),
    ).save(engine)
    return engine


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
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if plan.strongly_typed else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        logger.log(trt.ILogger.Severity.ERROR, f"ONNX parser: {errors}")
        return None
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(options.workspace_gib * (1 << 30)))
    config.builder_optimization_level = int(options.optimization_level)
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
    config.set_timing_cache(cache, ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is not None:
        tmp = cache_path.with_name(cache_path.name + ".part")
        tmp.write_bytes(memoryview(config.get_timing_cache().serialize()))
        tmp.replace(cache_path)
    return serialized
