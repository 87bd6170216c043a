"""Large frames in row strips: the network's memory bounded on the CPU, the output unchanged.

ONNX Runtime on the CPU holds about 1 KB per pixel while it runs ``igde-small`` (1.9 GB for one
1920x1080 frame, 8 GB for one 3840x2160 frame; twice that with its memory pattern on), so a 4K or 8K
stream would exhaust an ordinary machine's memory. :func:`run_bounded` gives the backend at most ``max_pixels`` pixels per call:
whole frames while they fit, else each frame as full-width strips of rows that overlap by
``STRIP_MARGIN`` rows on each side, of which only the middle is kept. Every registered model is
local (no frame-wide pooling) and reads at most 49 rows on either side of a pixel (igde-small: 41 for
its scores, 8 more for its candidates and edge band; ``tests/test_strips.py`` measures each), so a
margin of 64 rows leaves each kept row exactly as the whole frame gives it. A model of one's own
built deeper or wider (more blocks or layers, passes, a larger radius) may read further:
:func:`rows_read` bounds that from its config, and the :class:`~igde_stream.enhancer.Enhancer` widens
the margin to it (:func:`margin_for`). Strip boundaries fall
on even rows, so a model that runs at half resolution (pixel-unshuffle) sees the same 2 x 2 blocks.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

STRIP_MARGIN = 64  # rows of context above and below each strip (more than any registered model reads)
CPU_MAX_PIXELS = 1920 * 1088  # pixels per backend call on the CPU (about 2 GB with ONNX Runtime)
MIN_CORE = 64  # rows a strip keeps at the least, however wide the frame (bounds the margins' overhead)

__all__ = ["CPU_MAX_PIXELS", "STRIP_MARGIN", "margin_for", "rows_read", "run_bounded", "strip_rows"]


def _rdn_reach(layers: int, blocks: int) -> int:
    """Rows an RDN (``models.igde.ResidualDenseNetwork``) reads on either side, at its resolution: two
    shallow 3x3 convs, ``blocks`` RDBs of ``layers`` 3x3 convs each, the 3x3 conv after the global fusion."""
    return 3 + blocks * layers


def _dbpn_stage(lo: int, hi: int) -> tuple[int, int]:
    """The full-resolution rows that the rows ``lo..hi`` of one DEN + CBPN stage's output read, back
    through its up-projection (up, down, up) and down-projection (down, up, down), each a 6 x 6 kernel
    at stride 2 with padding 2, along their widest path (the projections' skips read less). A strided
    conv's low row j reads full rows 2j - 2 .. 2j + 3; a transposed one's full row i reads low rows
    ceil((i - 3) / 2) .. floor((i + 2) / 2)."""
    for _ in range(3):
        lo, hi = -((3 - lo) // 2), (hi + 2) // 2  # transposed conv: full rows <- low rows
        lo, hi = 2 * lo - 2, 2 * hi + 3  # strided conv: low rows <- full rows
    return lo, hi


def rows_read(config: dict) -> int | None:
    """How many rows above or below a pixel the model of ``config`` (the dict a checkpoint, an ONNX
    file's metadata or an engine's sidecar carries; ``enhancer.model_config``) reads at most to give
    that pixel: a bound from the layers its architecture stacks, one row per 3 x 3 conv at its
    resolution. None when no bound holds (a frame-wide mean: ``global_context``) or the config is not
    one of the registered architectures'."""
    c = config
    try:
        if "head" in c and "g0" in c:  # IGDE (models.igde)
            if c.get("global_context"):
                return None
            low = _rdn_reach(c["layers"], c["extractor_blocks"]) + 1 + _rdn_reach(c["layers"], c["refine_blocks"])
            s = int(c.get("scale", 1))
            full = s * low + (s - 1) + (1 if s > 1 else 0) + int(c.get("full_convs", 0))
            if c["head"] != "residual":  # scores read keys / colour at the candidates; the pick, the band
                r = int(c["radius"])
                full += (r if c.get("attend") else 0) + r + 1
                full *= max(1, int(c.get("passes", 1)))  # each pass reads the last one's output
            return full
        if "g0" in c and "refine_blocks" in c:  # depth-only RDN (models.baselines.DepthRDN)
            return _rdn_reach(c["layers"], c["extractor_blocks"]) + 1 + _rdn_reach(c["layers"], c["refine_blocks"])
        if "branch_sets" in c:  # DRECNN: first conv, the branch's sets, the fusion's, the 3x3 head
            return 1 + int(c["branch_sets"]) + int(c["fusion_sets"]) + 1
        if "stages" in c:  # DEN + CBPN: the 3x3 head, the stages, a feature conv, the DEN, an odd frame's row
            lo, hi = -1, 1
            for _ in range(int(c["stages"])):
                lo, hi = _dbpn_stage(lo, hi)
            return max(-lo, hi) + 1 + int(c["den_depth"]) + 1 + 1
        if "depth" in c and "width" in c:  # DE-CNN: its 3x3 layers and the 3x3 head
            return int(c["depth"]) + 1
    except (KeyError, TypeError, ValueError):
        return None
    return None


def margin_for(config: dict) -> int:
    """The strip margin for the model of ``config``: :data:`STRIP_MARGIN`, or more (an even number of
    rows, past :func:`rows_read`) for a model that reads further."""
    reach = rows_read(config)
    if reach is None or reach < STRIP_MARGIN:
        return STRIP_MARGIN
    return (reach + 2) // 2 * 2


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
