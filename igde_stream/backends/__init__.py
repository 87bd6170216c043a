"""Inference backends behind one narrow interface, and the ``auto`` choice between them.

A backend is built once from a model reference and runs batches:
``run(color, depth) -> depth_out`` with ``color`` N x 3 x H x W and ``depth`` N x 1 x H x W, float32
in [0, 1] (C-contiguous NumPy), returning N x 1 x H x W float32 in [0, 1]. Each runtime lives in its
own module and imports its library inside; ``BACKENDS`` maps names to factories and
``BACKEND_OPTIONS`` to the keyword options each accepts. This module imports neither torch nor
onnxruntime: the runtime install (no torch) must be able to import it.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
ENGINES_DIR = Path("engines")  # relative to the working directory; ``engines_dir=`` overrides
ENGINE_SUFFIXES = (".engine", ".plan")


class Backend(Protocol):
    name: str

    def run(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray: ...


def empty_batch(depth: np.ndarray) -> np.ndarray:
    """The output of a batch of no frames (0 x 1 x H x W float32): every backend gives it without
    running its runtime, which may not take a zero batch (a pixel-unshuffle, a fixed-shape engine)."""
    return np.zeros((0, 1, *depth.shape[2:]), np.float32)


def _torch(**kw: Any) -> Backend:
    from .torch_backend import TorchBackend

    return TorchBackend(**kw)


def _onnxruntime(**kw: Any) -> Backend:
    from .onnxruntime_backend import OnnxRuntimeBackend

    return OnnxRuntimeBackend(**kw)


def _tensorrt(**kw: Any) -> Backend:
    from .tensorrt_backend import TensorRTBackend

    return TensorRTBackend(**kw)


BACKENDS: dict[str, Callable[..., Backend]] = {"torch": _torch, "onnxruntime": _onnxruntime, "tensorrt": _tensorrt}
BACKEND_OPTIONS: dict[str, frozenset[str]] = {
    "torch": frozenset({"options", "precision", "channels_last", "cuda_graph", "max_graphs", "threads", "sparse", "stacked", "compile"}),
    "onnxruntime": frozenset({"options", "threads", "optimization", "providers", "spinning", "cpu_chunk"}),
    "tensorrt": frozenset({"engine", "engines_dir", "rebuild", "build", "max_batch", "precision", "quiet"}),
}


def worded(api: str, cli: str) -> ValueError:
    """A backend's refusal in the Python API's words (``backend="torch"``) and in the command's
    (``--backend torch``): an ``EnhancerError`` (a ``ValueError``) whose ``cli_message`` is ``cli``."""
    from ..errors import EnhancerError

    return EnhancerError(api, cli_problem=cli)


def create_backend(name: str, model: Any = "igde-small", device: str | None = None, **options: Any) -> Backend:
    """Build backend ``name`` (see ``BACKENDS``); options it does not know are an error."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose from: auto, {', '.join(BACKENDS)}")
    unknown = sorted(set(options) - BACKEND_OPTIONS[name])
    if unknown:
        raise ValueError(f"backend {name!r} does not take option(s) {unknown}; "
                         f"it takes: {', '.join(sorted(BACKEND_OPTIONS[name]))}")
    return BACKENDS[name](model=model, device=device, **options)


def check_threads(threads: Any) -> int | None:
    """A backend's ``threads`` option: None or 0 (the runtime's default), or a positive integer;
    anything else is a ``ValueError`` (PyTorch raised a RuntimeError for a negative count, ONNX
    Runtime took it, and 2.5 became 2 while the description said 2.5)."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
        raise ValueError(f"threads must be an integer >= 0 (0 or None: the runtime's default), got {threads!r}")
    return int(threads)


def resolve_model_file(model: str | Path, suffix: str) -> Path:
    """A model reference -> an existing file: a path as is, or a registered name -> its shipped file.

    ``suffix`` is the shipped kind wanted for a name (``.onnx`` or ``.pt``). Raises
    FileNotFoundError with what was looked for.
    """
    p = Path(str(model))
    check_not_other_file(p)
    if p.suffix in (".onnx", ".pt", *ENGINE_SUFFIXES) or p.parent != Path("."):
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such model file")
        return p
    shipped = WEIGHTS_DIR / f"{p.name}{suffix}"
    if shipped.is_file():
        return shipped
    have = sorted(f.name[: -len(suffix)] for f in WEIGHTS_DIR.glob(f"*{suffix}")) if WEIGHTS_DIR.is_dir() else []
    # no export command ships with the package (tools/ is in the source checkout only): name what works for both
    raise FileNotFoundError(
        f"model {p.name!r}: not a file, and no shipped {p.name}{suffix} in {WEIGHTS_DIR}: give a shipped model "
        f"({', '.join(have) or 'none installed'}) or the path of a model file (.onnx or .pt, e.g. one you "
        f"exported or trained; a TensorRT .engine)"
    )


def check_not_other_file(p: Path) -> None:
    """A model reference that names an existing file of another kind (``--model depth.mkv``) is a
    ``ValueError`` saying so, rather than a search for a shipped model of that name."""
    if p.suffix and p.suffix not in (".onnx", ".pt", *ENGINE_SUFFIXES) and p.is_file():
        raise ValueError(f"{p}: not a model file (give a shipped model name, or a .onnx, .pt or TensorRT "
                         f"{' / '.join(ENGINE_SUFFIXES)} file)")


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def cuda_gpu() -> str | None:
    """Name of the current CUDA GPU (device 0 unless a ``torch.cuda.device(N)`` context says
    otherwise), or None (also when PyTorch is not installed)."""
    if not _has("torch"):
        return None
    import torch

    return torch.cuda.get_device_name(torch.cuda.current_device()) if torch.cuda.is_available() else None


def _ort_has_cuda() -> bool:
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


@dataclass
class Choice:
    """What ``auto`` picked: backend name, device, options to add, and why (one line)."""

    backend: str
    device: str
    reason: str
    options: dict[str, Any]


def _try(fn: Callable[[], Path]) -> Path | None:
    try:
        return fn()
    except FileNotFoundError:
        return None


def select_backend(model: Any, device: str | None = None, engine: str | Path | None = None,
                   engines_dir: str | Path | None = None, precision: str | None = None) -> Choice:
    """The design's ``auto``: TensorRT when an engine (given, or a matching one of ``precision``,
    default fp16, in ``engines_dir``) and a GPU are there, else PyTorch CUDA, else ONNX Runtime CPU."""
    if device not in (None, "cpu") and not re.fullmatch(r"cuda(:\d+)?", str(device)):
        raise ValueError(f"unknown device {device!r} (use cpu, cuda or cuda:N)")
    if not isinstance(model, (str, Path)):  # an nn.Module handed in by code: only torch runs it
        return Choice("torch", device or ("cuda" if cuda_gpu() else "cpu"), "model is a PyTorch module", {})
    suffix = Path(str(model)).suffix
    pt = _try(lambda: resolve_model_file(model, ".pt")) if suffix != ".onnx" and suffix not in ENGINE_SUFFIXES else None
    onnx = _try(lambda: resolve_model_file(model, ".onnx")) if suffix not in (".pt", *ENGINE_SUFFIXES) else None
    torch_ok = _has("torch")
    if device != "cpu":
        gpu = cuda_gpu()
        if gpu:
            cuda = device or "cuda"
            if _has("tensorrt"):
                if engine is not None or suffix in ENGINE_SUFFIXES:
                    return Choice("tensorrt", cuda, f"TensorRT engine given, GPU {gpu}", {})
                if onnx is not None:
                    from ..engine import environment, file_sha256, find_engine

                    env = environment()
                    found = find_engine(engines_dir or ENGINES_DIR, file_sha256(onnx), env["trt_version"],
                                        env["gpu_name"], precision=precision or "fp16")
                    if found is not None:
                        return Choice("tensorrt", cuda, f"matching TensorRT engine {found}, GPU {gpu}", {"engine": str(found)})
            elif engine is not None or suffix in ENGINE_SUFFIXES:
                raise ValueError("a TensorRT engine was given, but the tensorrt package is not installed")
            if pt is not None:
                return Choice("torch", cuda, f"GPU {gpu}, no matching TensorRT engine", {})
            if onnx is not None and _ort_has_cuda():
                return Choice("onnxruntime", cuda, f"GPU {gpu}, ONNX model, onnxruntime CUDA provider", {})
        elif device is not None:
            if not torch_ok and onnx is not None and _ort_has_cuda():
                return Choice("onnxruntime", device, "no PyTorch; onnxruntime CUDA provider", {})
            raise ValueError(f"device {device!r} asked for, but no CUDA GPU is visible"
                             + ("" if torch_ok else " (PyTorch is not installed)"))
        elif engine is not None or suffix in ENGINE_SUFFIXES:
            raise ValueError("a TensorRT engine was given, but there is no CUDA GPU to run it")
    if device == "cpu" and engine is not None:
        said = ("a TensorRT engine was given with device cpu: an engine runs on a CUDA GPU only (drop {} to run the "
                "model on the CPU)")
        raise worded(said.format("engine="), said.format("--engine"))
    if device == "cpu":
        why = "device cpu"
    elif device is None and cuda_gpu():
        why = "a CUDA GPU, but no PyTorch checkpoint, TensorRT engine or CUDA-enabled ONNX Runtime for it"
    else:
        why = "no CUDA GPU"
    if onnx is not None:
        return Choice("onnxruntime", "cpu", why, {})
    if pt is not None and torch_ok:
        return Choice("torch", "cpu", f"{why}; model is a PyTorch checkpoint without an ONNX file", {})
    if suffix in ENGINE_SUFFIXES:
        raise ValueError(f"{model}: a TensorRT engine needs a CUDA GPU")
    resolve_model_file(model, ".pt" if suffix == ".pt" else ".onnx")  # raises the clear FileNotFoundError
    raise ValueError(f"{model}: a PyTorch checkpoint needs PyTorch installed (pip install 'igde-stream[torch]'), "
                     "or export it to ONNX first")
