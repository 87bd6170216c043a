"""Inference backends behind one narrow interface.

A backend is built once from a model reference and runs batches:
``run(color, depth) -> depth_out`` with ``color`` N x 3 x H x W and ``depth`` N x 1 x H x W, float32
in [0, 1] (C-contiguous NumPy), returning N x 1 x H x W float32 in [0, 1]. Each runtime lives in its
own module and imports its library inside; ``BACKENDS`` maps names to factories.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np


class Backend(Protocol):
    name: str

    def run(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray: ...


def _torch(**kw) -> Backend:
    from .torch_backend import TorchBackend

    return TorchBackend(**kw)


BACKENDS: dict[str, Callable[..., Backend]] = {"torch": _torch}


def create_backend(name: str, **kw) -> Backend:
    """Build backend ``name`` (see ``BACKENDS``)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose from: auto, {', '.join(BACKENDS)}")
    return BACKENDS[name](**kw)
