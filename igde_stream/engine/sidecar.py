"""The engine sidecar (``EngineInfo``) and the checks that decide whether an engine may run here
(``problems``) or can be reused (``find_engine``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from .files import _atomic_write, _shape_tag, sidecar_path
from .options import BuildOptions, EngineError, Shape


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
            info = cls(**d)
            unknown = sorted(set(info.build_options) - set(BuildOptions.__dataclass_fields__))
            if unknown:
                raise ValueError(f"unknown build options {unknown}")
            info.options  # noqa: B018 - validates the recorded build settings
            return info
        except (ValueError, TypeError, KeyError) as exc:
            raise EngineError(f"{side}: unreadable engine sidecar ({exc})") from None

    def save(self, engine_path: str | Path) -> Path:
        """Write the sidecar atomically (a unique temporary file in the same folder, then a rename)."""
        side = sidecar_path(engine_path)
        _atomic_write(side, (json.dumps(asdict(self), indent=2) + "\n").encode())
        return side

    @property
    def options(self) -> BuildOptions:
        """The build options recorded in the sidecar (typing, workspace and optimisation level from
        ``build_options``; their defaults where an older sidecar lacks them)."""
        extra = {k: self.build_options[k] for k in ("typing", "workspace_gib", "optimization_level")
                 if k in self.build_options}
        return BuildOptions(min_shape=self.min_shape, opt_shape=self.opt_shape, max_shape=self.max_shape,
                            precision=self.precision, **extra)


def problems(info: EngineInfo, *, trt_version: str, gpu_name: str, onnx_sha256: str | None = None,
             shape: Shape | None = None, precision: str | None = None, engine_sha256: str | None = None,
             options: BuildOptions | None = None) -> list[str]:
    """Why an engine described by ``info`` must not run here; empty when it may.

    ``options``: the build asked for; every build setting and the profile must then match exactly
    (``precision`` defaults to its precision)."""
    out = []
    if options is not None:
        precision = precision or options.precision
        for key, label in (("typing", "typing"), ("workspace_gib", "workspace GiB"),
                           ("optimization_level", "optimization level")):
            have, want = info.build_options.get(key, "not recorded"), getattr(options, key)
            if have != want:
                out.append(f"{label} {have}, asked for {want}")
        have_prof = tuple(tuple(int(v) for v in s) for s in (info.min_shape, info.opt_shape, info.max_shape))
        want_prof = tuple(tuple(int(v) for v in s) for s in (options.min_shape, options.opt_shape, options.max_shape))
        if have_prof != want_prof:
            out.append(f"profile {' / '.join(map(_shape_tag, have_prof))}, asked for {' / '.join(map(_shape_tag, want_prof))}")
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
    if shape is not None and not info.options.accepts(shape):
        out.append(f"input N x H x W {_shape_tag(shape)} is outside the engine's profile "
                   f"{_shape_tag(info.min_shape)} .. {_shape_tag(info.max_shape)}")
    return out


def find_engine(engines_dir: str | Path, onnx_sha256: str, trt_version: str, gpu_name: str,
                precision: str = "fp16", shape: Shape | None = None, options: BuildOptions | None = None) -> Path | None:
    """Newest engine in ``engines_dir`` whose sidecar matches all of the given (with ``options``:
    every build setting and the profile too); None if there is none."""
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
                        shape=shape, precision=options.precision if options else precision, options=options):
            found.append((engine.stat().st_mtime, engine))
    return max(found)[1] if found else None
