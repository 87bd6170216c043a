"""``Enhancer``: the pipeline-stage API (model + backend built once, frames in, enhanced depth out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .backends import create_backend

_PEAKS = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


class Enhancer:
    """Enhance depth frames with an IGDE model.

    ``model``: a registered name (shipped weights) or a path to a checkpoint (.pt) or ONNX file.
    ``enhance(color, depth)``: colour H x W x 3 uint8 RGB and depth H x W uint8/uint16 (one frame),
    or N x H x W x 3 and N x H x W (a batch); returns depth of the same shape and dtype. Depth is
    normalised by ``max_depth`` when given, else by its dtype's peak (255 or 65535).
    """

    def __init__(
        self,
        model: str | Path = "igde-small",
        backend: str = "auto",
        device: str | None = None,
        batch: int = 4,
        max_depth: float | None = None,
        **backend_options: Any,
    ) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self.batch = batch
        self.max_depth = max_depth
        name = "torch" if backend == "auto" else backend
        self.backend = create_backend(name, model=model, device=device, **backend_options)

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def peak_for(self, dtype: np.dtype) -> float:
        if self.max_depth is not None:
            return float(self.max_depth)
        try:
            return _PEAKS[np.dtype(dtype)]
        except KeyError:
            raise ValueError(f"depth must be uint8 or uint16, got {np.dtype(dtype)}") from None

    def enhance(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        single = depth.ndim == 2
        if single:
            color, depth = color[None], depth[None]
        if depth.ndim != 3 or color.ndim != 4 or color.shape[-1] != 3 or color.shape[:3] != depth.shape:
            raise ValueError(
                f"expected colour (N)xHxWx3 and depth (N)xHxW of the same size, got {color.shape} and {depth.shape}"
            )
        if color.dtype != np.uint8:
            raise ValueError(f"colour must be uint8 RGB, got {color.dtype}")
        peak = self.peak_for(depth.dtype)
        out = np.empty_like(depth)
        for s in range(0, len(depth), self.batch):
            c = np.ascontiguousarray(color[s : s + self.batch].transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
            d = (depth[s : s + self.batch, None].astype(np.float32) / peak).clip(0.0, 1.0)
            y = self.backend.run(c, np.ascontiguousarray(d))[:, 0]
            out[s : s + self.batch] = np.rint(y.clip(0.0, 1.0) * peak).astype(depth.dtype)
        return out[0] if single else out
