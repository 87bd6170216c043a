"""The methods of an evaluation: callables ``method(color, depth) -> depth_out`` on batches
(colour N x H x W x 3 uint8 RGB, depth N x H x W uint8 / uint16, out the same shape and dtype): the
degraded input itself, the classical filters and trained models (``igde_stream.evaluation`` scores
them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from .hole_fill import fill_frames

__all__ = ["Method", "identity_method", "guided_filter_method", "load_model", "model_method", "filter_method"]

Method = Callable[[np.ndarray, np.ndarray], np.ndarray]


def identity_method(color: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """The degraded input itself (the baseline row)."""
    return depth.copy()


def guided_filter_method(radius: int = 8, eps: float = 0.1) -> Method:
    """OpenCV's guided filter (``filters.guided``: ``cv2.ximgproc.guidedFilter``), colour as guide,
    per frame: the row of the older tables (``standard_evaluation`` with ``filters=None``).

    ``eps`` is on the [0, 1] intensity scale of the guide (the filter's regularisation is eps^2: 0.01
    at the default, ``filters.guided``'s default before its re-tuning to 1e-4, results/filter_tuning.json).
    The default radius 8 / eps 0.1 was the best
    PSNR of r in {2, 4, 8, 16} x eps in {0.005, 0.02, 0.05, 0.1, 0.2, 0.4} on 8 frames of the
    validation split (960x540).
    """
    from .filters import guided

    def run(color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        return np.stack([guided(c, d, radius, eps * eps) for c, d in zip(color, depth)])

    return run


def load_model(ref: Any):
    """A torch model from a module, a checkpoint path, or a registered name (shipped weights)."""
    import torch

    from .models import create_model, list_models, load_checkpoint

    if isinstance(ref, torch.nn.Module):
        return ref.eval()
    path = Path(ref)
    if path.suffix == ".pt" or path.is_file():
        return load_checkpoint(path)
    if str(ref) in list_models():
        return create_model(str(ref), pretrained=True)
    raise ValueError(f"{ref}: neither a checkpoint file nor a registered model ({', '.join(list_models())})")


def model_method(model: Any, device: str = "cpu", backend: str = "torch", threads: int | None = None,
                 wide_errors: bool = False) -> Method:
    """A torch model (module, checkpoint path or registered name) as a method: inputs / 255 and
    depth / peak, forward(color, depth), output x peak rounded to the input dtype.

    ``backend="onnxruntime"`` (CPU only): the model is exported to ONNX in a temporary folder (the
    export checks ONNX Runtime against PyTorch within 1e-4) and run by an ONNX Runtime
    :class:`~igde_stream.Enhancer` with ``threads``; about 3x PyTorch's speed on a CPU. ``threads``
    does not touch PyTorch's thread count. A model that reads depth 0 as a hole (``zero_holes``)
    has its holes filled after it (``igde_stream.hole_fill``), as an Enhancer does by default: the
    method scores what the user gets, on either backend. ``wide_errors``: as the Enhancer's (a pass at
    half size first; on the torch backend through a torch Enhancer)."""
    if backend == "onnxruntime":
        if device != "cpu":
            raise ValueError(f"model_method: the onnxruntime backend runs on the cpu here, not {device!r}")
        return _onnx_method(model, threads, wide_errors)
    if backend != "torch":
        raise ValueError(f"model_method: backend must be 'torch' or 'onnxruntime', got {backend!r}")
    import torch

    net = load_model(model).to(device)
    if wide_errors:
        from .enhancer import Enhancer

        return Enhancer(net, backend="torch", device=device, batch=1, quiet=True, wide_errors=True).enhance
    fill = bool(getattr(getattr(net, "config", None), "zero_holes", False))  # as Enhancer(hole_fill=None)

    @torch.no_grad()
    def run(color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        peak = 255.0 if depth.dtype == np.uint8 else 65535.0
        c = torch.from_numpy(np.ascontiguousarray(color.transpose(0, 3, 1, 2))).to(device).float() / 255.0
        d = torch.from_numpy(depth[:, None].astype(np.float32)).to(device) / peak
        y = net(c, d)[:, 0].float().clamp(0, 1).cpu().numpy()
        out = np.rint(y * peak).astype(depth.dtype)
        if fill:  # the shipped pipeline: holes get the colour-guided fill after the model
            fill_frames(color, depth, out)
        return out

    return run


def _onnx_method(model: Any, threads: int | None, wide_errors: bool = False) -> Method:
    import tempfile

    from .enhancer import Enhancer
    from .export import export_onnx

    with tempfile.TemporaryDirectory(prefix="igde-eval-") as tmp:
        path = export_onnx(model, Path(tmp) / "model.onnx")  # resolves modules, names and .pt files
        enhancer = Enhancer(path, backend="onnxruntime", batch=1, quiet=True, threads=threads, wide_errors=wide_errors)
    return enhancer.enhance


def filter_method(name: str) -> Method:
    """Filter ``name`` of :data:`igde_stream.filters.FILTERS` (its tuned defaults) or of
    :data:`igde_stream.filters.PHOTO_FILTERS` (the settings tuned on a photograph) as a batch method."""
    from .filters import FILTERS, PHOTO_FILTERS

    fn = {**FILTERS, **PHOTO_FILTERS}[name]

    def run(color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        return np.stack([fn(c, d) for c, d in zip(color, depth)])

    return run
