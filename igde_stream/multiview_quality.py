"""Measurement of the multiview stage: views rendered from ground-truth depth are the reference; views
rendered from each other depth map (degraded, enhanced, ...) with the same colour frame and the same
geometry (``multiview.ViewConfig``) are compared against them per view, over every pixel and in the
band around depth steps. Re-exported by ``igde_stream.multiview``."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from . import metrics
from .multiview import ViewConfig, warp_views


def _ssim_rgb(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    return float(np.mean([metrics.ssim(a[..., ch], b[..., ch], 255.0, mask) for ch in range(a.shape[-1])]))


def edge_band(depth01: np.ndarray, step: float = 0.02, radius: int = 8) -> np.ndarray:
    """Pixels within ``radius`` of a horizontal depth step larger than ``step`` (normalised): where
    DIBR artefacts live. Used for the boundary figures and the band-restricted PSNR."""
    import cv2

    jump = np.zeros(depth01.shape, dtype=np.uint8)
    j = np.abs(np.diff(depth01.astype(np.float32), axis=-1)) > step
    jump[..., 1:] |= j
    jump[..., :-1] |= j
    if radius <= 0:
        return jump.astype(bool)
    k = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return cv2.dilate(jump, k).astype(bool)


def view_quality(
    color: np.ndarray,
    gt_depth: np.ndarray,
    depths: Mapping[str, np.ndarray],
    n_views: int = 8,
    baseline: float = 32.0,
    zero_parallax: float = 0.5,
    max_depth: float | None = None,
    band_radius: int = 8,
    depth_order: str = "near-high",
    valid: np.ndarray | None = None,
) -> dict[str, Any]:
    """View quality of one frame: views from each depth map in ``depths`` against views from the
    ground truth (the reference), same colour and geometry.

    colour H x W x 3 uint8 RGB; ``gt_depth`` and each ``depths[name]`` H x W (uint8 / uint16 /
    float, see ``normalize_depth``). Per view and per depth map: MSE and PSNR over all pixels and
    all three channels (peak 255), SSIM (mean over R, G, B of ``metrics.ssim``), and MSE over the
    boundary band of the reference view (``edge_band`` of its depth, ``band_radius`` pixels; the
    band's pixel count is reported). PSNR is ``math.inf`` for identical views. Frames are combined
    with ``summarize_view_quality``.

    ``valid`` (H x W bool, the measured pixels of a ground truth that has unknown ones, e.g. the
    occlusions of a stereo disparity map): a reference view pixel is only as sure as the ground-truth
    pixel it shows, so every figure then counts only the view pixels whose reference shows a measured
    pixel (``RenderedViews.source``), as the depth metrics count only measured pixels; ``mse_all``
    keeps the figure over every pixel. Without ``valid`` nothing is excluded and ``mse_all`` equals
    ``mse``.
    """
    cfg = ViewConfig(n_views, baseline, zero_parallax, max_depth, depth_order)
    ref = _views_of(color, gt_depth, cfg, "ground truth", keep_source=valid is not None)
    if valid is not None:
        valid = np.asarray(valid, bool)
        if valid.shape != np.shape(gt_depth):
            raise ValueError(f"valid must be H x W like the ground truth {np.shape(gt_depth)}, got {valid.shape}")
        sure = [valid.ravel()[ref.source[k]] for k in range(n_views)]
    bands = [edge_band(ref.depth[k], radius=band_radius) for k in range(n_views)]
    if valid is not None:
        bands = [b & m for b, m in zip(bands, sure)]
    out: dict[str, Any] = {"config": asdict(cfg), "positions": cfg.positions().tolist(),
                           "band_pixels": [int(b.sum()) for b in bands], "depths": {}}
    if valid is not None:
        out["measured_share"] = [float(m.mean()) for m in sure]
    for name, dep in depths.items():
        views = _views_of(color, dep, cfg, repr(name)).views
        rows = []
        for k in range(n_views):
            mask = None if valid is None else sure[k]
            m_all = metrics.mse(views[k], ref.views[k])
            m = m_all if mask is None else metrics.mse(views[k], ref.views[k], mask[..., None])
            mb = metrics.mse(views[k], ref.views[k], bands[k][..., None])
            rows.append({"view": k, "mse": m, "psnr": metrics.psnr_from_mse(m),
                         "ssim": _ssim_rgb(views[k], ref.views[k], mask),
                         "mse_band": mb, "psnr_band": metrics.psnr_from_mse(mb),
                         "mse_all": m_all, "psnr_all": metrics.psnr_from_mse(m_all)})
        out["depths"][name] = {"per_view": rows, "mean": _mean_row(rows)}
    return out


def _views_of(color: np.ndarray, depth: np.ndarray, cfg: ViewConfig, what: str, **options: Any) -> Any:
    """``warp_views``, its refusal of a depth map naming which one (the ground truth or a ``depths``
    key): they share one message ("depth must be H x W like the colour ...")."""
    try:
        return warp_views(color, depth, cfg, **options)
    except ValueError as exc:
        if str(exc).startswith("depth"):
            raise ValueError(f"{what}: {exc}") from None
        raise


def _mean_row(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean MSE / band MSE (nan bands left out) / all-pixel MSE / SSIM of ``rows`` and the PSNRs of
    those MSEs: the mean over views of one frame, and in ``summarize_view_quality`` one view over
    frames."""
    m = float(np.mean([r["mse"] for r in rows]))
    m_all = float(np.mean([r["mse_all"] for r in rows]))
    mb = [r["mse_band"] for r in rows if not math.isnan(r["mse_band"])]
    mb_mean = float(np.mean(mb)) if mb else math.nan
    return {"mse": m, "psnr": metrics.psnr_from_mse(m), "ssim": float(np.mean([r["ssim"] for r in rows])),
            "mse_band": mb_mean, "psnr_band": metrics.psnr_from_mse(mb_mean),
            "mse_all": m_all, "psnr_all": metrics.psnr_from_mse(m_all)}


def summarize_view_quality(frames: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Combine per-frame ``view_quality`` results: per view and per depth map, PSNR from the mean
    MSE over frames (never a mean of PSNRs), mean SSIM; ``mean`` over views the same way."""
    frames = list(frames)
    if not frames:
        raise ValueError("no frames to summarise")
    first = frames[0]
    n = first["config"]["n_views"]
    out: dict[str, Any] = {"reference": "views rendered from the ground-truth depth",
                           "config": first["config"], "positions": first["positions"],
                           "frames": len(frames), "depths": {}}
    if any("measured_share" in f for f in frames):
        out["scored"] = ("view pixels whose reference shows a measured ground-truth pixel "
                         "(mse_all / psnr_all: every pixel)")
    for name in first["depths"]:
        rows = []
        for k in range(n):
            per = [f["depths"][name]["per_view"][k] for f in frames]
            rows.append({"view": k, **_mean_row(per)})
        out["depths"][name] = {"per_view": rows, "mean": _mean_row(rows)}
    return out


def view_quality_sequence(
    colors: np.ndarray,
    gt_depths: np.ndarray,
    depths: Mapping[str, np.ndarray],
    n_views: int = 8,
    baseline: float = 32.0,
    zero_parallax: float = 0.5,
    max_depth: float | None = None,
    band_radius: int = 8,
    stride: int = 1,
    depth_order: str = "near-high",
    valid: np.ndarray | None = None,
) -> dict[str, Any]:
    """``view_quality`` over a sequence (colour T x H x W x 3, depths T x H x W), every ``stride``-th
    frame, combined by ``summarize_view_quality``: what the evaluation tool calls. ``valid``: T x H x
    W bool, the measured ground-truth pixels (``view_quality``), or None (all)."""
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    colors, gt_depths = np.asarray(colors), np.asarray(gt_depths)  # lists of frames, CPU tensors: as warp_views
    depths = {k: np.asarray(v) for k, v in depths.items()}
    valid = None if valid is None else np.asarray(valid)
    if gt_depths.ndim != 3 or len(colors) != len(gt_depths):
        raise ValueError(f"need colour T x H x W x 3 and ground truth T x H x W of as many frames, got "
                         f"{colors.shape} and {gt_depths.shape}")
    for name, d in [*depths.items(), *([] if valid is None else [("valid", valid)])]:  # a depth may be named "valid"
        if d.shape != gt_depths.shape:
            raise ValueError(f"{name!r} has shape {d.shape}, the ground truth {gt_depths.shape}")
    frames = [view_quality(colors[t], gt_depths[t], {k: v[t] for k, v in depths.items()}, n_views, baseline,
                           zero_parallax, max_depth, band_radius, depth_order,
                           None if valid is None else valid[t])
              for t in range(0, len(gt_depths), stride)]
    out = summarize_view_quality(frames)
    out["frame_stride"] = stride
    return out


def jsonable(obj: Any) -> Any:
    """Replace inf / nan floats by None (JSON null) recursively, for ``json.dump``."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


def markdown_table(summary: Mapping[str, Any]) -> str:
    """Per-view PSNR / SSIM table (one column pair per depth map) of a ``summarize_view_quality``."""
    names = list(summary["depths"])

    def fmt(x: float, nd: int) -> str:
        return "inf" if x == math.inf else ("n/a" if math.isnan(x) else f"{x:.{nd}f}")

    head = "| view | t | " + " | ".join(f"PSNR {n} (dB) | band PSNR {n} (dB) | SSIM {n}" for n in names) + " |"
    sep = "|---|---|" + "---|---|---|" * len(names)
    lines = [head, sep]
    pos = summary["positions"]
    for k in range(len(pos)):
        cells = []
        for n in names:
            r = summary["depths"][n]["per_view"][k]
            cells += [fmt(r["psnr"], 2), fmt(r["psnr_band"], 2), fmt(r["ssim"], 4)]
        lines.append(f"| {k} | {pos[k]:+.3f} | " + " | ".join(cells) + " |")
    cells = []
    for n in names:
        r = summary["depths"][n]["mean"]
        cells += [fmt(r["psnr"], 2), fmt(r["psnr_band"], 2), fmt(r["ssim"], 4)]
    lines.append("| **mean** | | " + " | ".join(cells) + " |")
    return "\n".join(lines)
