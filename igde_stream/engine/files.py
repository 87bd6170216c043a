"""Engine file names and the files beside an engine (sidecar, build log, timing cache); hashing and
atomic writes."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

from .options import BuildOptions, Shape


def _temp_name(path: Path) -> Path:
    """A temporary name beside ``path`` that no concurrent writer shares (PID + random suffix)."""
    return path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")


def _atomic_write(path: Path, data: bytes | memoryview) -> None:
    """``path`` gets ``data`` all at once: written under a unique temporary name, then os.replace'd
    (readers see the old file or the new one, never a part; concurrent writers do not collide)."""
    tmp = _temp_name(path)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
    """File name that changes whenever anything the engine depends on changes: the ONNX, every
    build option (precision, typing, workspace, optimisation level, profile), TensorRT and the GPU."""
    o = options
    stem = Path(onnx_path).stem
    prof = "-".join(_shape_tag(s) for s in (o.min_shape, o.opt_shape, o.max_shape))
    settings = f"{o.precision}.{o.typing}.ws{o.workspace_gib:g}g.o{o.optimization_level}"
    return f"{stem}.{onnx_sha256[:12]}.{settings}.{prof}.trt{trt_version}.{slug(gpu_name)}.engine"


def sidecar_path(engine_path: str | Path) -> Path:
    p = Path(engine_path)
    return p.with_name(p.name + ".json")


def log_path(engine_path: str | Path) -> Path:
    p = Path(engine_path)
    return p.with_name(p.name + ".log")


def timing_cache_path(engines_dir: str | Path, trt_version: str, gpu_name: str) -> Path:
    return Path(engines_dir) / f"timing.trt{trt_version}.{slug(gpu_name)}.cache"
