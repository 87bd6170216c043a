"""Large frames in row strips: the network's memory bounded on the CPU, the output unchanged.

ONNX Runtime on the CPU holds about 1 KB per pixel while it runs ``igde-small`` (1.9 GB for one
1920x1080 frame, 8 GB for one 3840x2160 frame; twice that with its memory pattern on), so a 4K or 8K
stream would exhaust an ordinary machine's memory. :func:`run_bounded` gives the backend at most ``max_pixels`` pixels per call:
whole frames while they fit, else each frame as full-width strips of rows that overlap by
``STRIP_MARGIN`` rows on each side, of which only the middle is kept. Every registered model is
local (stride-1 convolutions, no frame-wide pooling) and reads at most 49 rows on either side of a
pixel (igde-small: 41 for its scores, 8 more for its candidates and edge band; ``tests/test_strips.py``
measures each), so a margin of 64 rows leaves each kept row exactly as the whole frame gives it. Strip boundaries fall
on even rows, so a model that runs at half resolution (pixel-unshuffle) sees the same 2 x 2 blocks.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

STRIP_MARGIN = 64  # rows of context above and below each strip (more than any registered model reads)
CPU_MAX_PIXELS = 1920 * 1088  # pixels per backend call on the CPU (about 2 GB with ONNX Runtime)
MIN_CORE = 64  # rows a strip keeps at the least, however wide the frame (bounds the margins' overhead)

__all__ = ["CPU_MAX_PIXELS", "STRIP_MARGIN", "run_bounded", "strip_rows"]


def strip_rows(height: int, width: int, max_pixels: int, margin: int = STRIP_MARGIN) -> list[tuple[int, int, int, int]]:
    """(first, end) of the rows each strip runs and (first, end) of the rows it keeps, top to bottom:
    the kept rows tile ``0..height``; each run reaches ``margin`` rows past its kept rows (clipped to
    the frame); runs hold at most ``max_pixels`` pixels unless a frame is so wide that ``MIN_CORE``
    rows and their margins exceed it; every boundary inside the frame is an even row."""
    core = (max_pixels // max(1, width) - 2 * margin) // 2 * 2
    core = max(MIN_CORE, core)
    out = []
    for top in range(0, height, core):
        bottom = min(height, top + core)
        out.append((max(0, top - margin), min(height, bottom + margin), top, bottom))
    return out


def run_bounded(run: Callable[[np.ndarray, np.ndarray], np.ndarray], color: np.ndarray, depth: np.ndarray,
                max_pixels: int | None, margin: int = STRIP_MARGIN) -> np.ndarray:
    """``run(color, depth)`` (N x 3 x H x W, N x 1 x H x W float32; N x 1 x H x W out) with at most
    ``max_pixels`` pixels per call (None: one call): frames in smaller groups, a frame larger than
    that in row strips (:func:`strip_rows`)."""
    n, _, h, w = depth.shape
    if max_pixels is None or n * h * w <= max_pixels or n == 0:
        return run(color, depth)
    if h * w <= max_pixels:
        k = max(1, max_pixels // (h * w))
        return np.concatenate([run(color[i:i + k], depth[i:i + k]) for i in range(0, n, k)])
    out = np.empty((n, 1, h, w), np.float32)
    for i in range(n):
        for a, b, top, bottom in strip_rows(h, w, max_pixels, margin):
            y = run(color[i:i + 1, :, a:b], depth[i:i + 1, :, a:b])
            out[i, :, top:bottom] = y[0, :, top - a:bottom - a]
    return out
