"""A figure of the views near depth boundaries: a patch of one view rendered from the ground truth
and from each depth map, with the error below each (what ``igde-stream views quality --figure``
writes)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from . import metrics
from .multiview import ViewConfig, normalize_depth, warp_views


def boundary_figure(
    color: np.ndarray,
    gt_depth: np.ndarray,
    depths: Mapping[str, np.ndarray],
    path: str,
    view: int = 0,
    n_views: int = 8,
    baseline: float = 32.0,
    zero_parallax: float = 0.5,
    max_depth: float | None = None,
    crop: int = 128,
    depth_order: str = "near-high",
) -> tuple[int, int]:
    """PNG: a ``crop`` x ``crop`` patch of view ``view`` rendered from the ground truth and from each
    depth map, with |difference| to the reference below each, centred where the first depth map's
    view is worst (box-filtered error). Returns the patch's top-left (y, x)."""
    import cv2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = ViewConfig(n_views, baseline, zero_parallax, max_depth, depth_order)
    pos = cfg.positions()[view : view + 1]
    ref = warp_views(color, gt_depth, cfg, pos).views[0]
    views = {name: warp_views(color, d, cfg, pos).views[0] for name, d in depths.items()}
    h, w = ref.shape[:2]
    crop = min(crop, h, w)
    first = next(iter(views.values()))
    err = np.abs(first.astype(np.float32) - ref).mean(-1)
    score = cv2.boxFilter(err, -1, (crop, crop), normalize=True, borderType=cv2.BORDER_CONSTANT)
    cy, cx = np.unravel_index(int(np.argmax(score)), score.shape)
    y0 = int(np.clip(cy - crop // 2, 0, h - crop))
    x0 = int(np.clip(cx - crop // 2, 0, w - crop))
    sl = (slice(y0, y0 + crop), slice(x0, x0 + crop))
    cols = 1 + len(views)
    fig, ax = plt.subplots(2, cols, figsize=(3.2 * cols, 6.6), squeeze=False)
    ax[0, 0].imshow(ref[sl]); ax[0, 0].set_title("view from GT depth (reference)", fontsize=9)
    # stretched to the patch's own range: distance maps and 16-bit depth fill a sliver of 0..1 (ICL-NUIM
    # at --max-depth 25000 far-high: 0.07..0.15), which drawn over 0..1 is a black square
    shown = normalize_depth(gt_depth, max_depth, depth_order)[sl]
    lo, hi = (float(shown.min()), float(shown.max())) if shown.size else (0.0, 1.0)
    ax[1, 0].imshow(shown, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1e-6)  # a flat patch: black
    ax[1, 0].set_title(f"GT depth (input camera)\nnear = white, {lo:.3g}..{hi:.3g} of 0..1", fontsize=9)
    for i, (name, v) in enumerate(views.items(), start=1):
        e = np.abs(v.astype(np.float32) - ref).mean(-1)
        p = metrics.psnr(v, ref)
        ax[0, i].imshow(v[sl]); ax[0, i].set_title(f"view from {name} depth\nPSNR {p:.2f} dB (whole view)", fontsize=9)
        ax[1, i].imshow(e[sl], cmap="magma", vmin=0, vmax=128)
        ax[1, i].set_title(f"|{name} - reference|", fontsize=9)
    for a in ax.ravel():
        a.set_xticks([]); a.set_yticks([])
    fig.suptitle(f"view {view} of {n_views} (t = {pos[0]:+.3f}), patch at y={y0}, x={x0}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return y0, x0
