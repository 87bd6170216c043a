"""Multiview stage: depth-image-based rendering (DIBR) of N views from colour + depth.

What a naked-eye 3D display does with the enhanced depth, so that its effect can be seen and
measured on the views themselves.

Geometry (all views are horizontal translations of the input camera, which sits in the middle):

- Depth is normalised to [0, 1], larger = nearer (like disparity): uint8 / 255, uint16 / 65535,
  or ``/ max_depth``; float input is taken as already normalised. Distance maps (``depth_order``
  far-high, 0 = no measurement) are read as inverse depth, as the network reads them
  (``depth_order.normalize``).
- View ``k`` of ``N`` sits at position ``t_k = k / (N - 1) - 1/2`` (``-1/2`` is the leftmost
  camera, ``+1/2`` the rightmost; one view sits at ``t = 0``).
- A pixel of normalised depth ``d`` moves horizontally by ``shift = -t_k * baseline * (d - zp)``
  pixels, then is rounded to the nearest pixel. ``zp`` (zero parallax) is the depth level that
  does not move (the screen plane); ``baseline`` is the shift in pixels between the two extreme
  views of a point at ``d - zp = 1``, so the per-view step is ``baseline / (N - 1)``.
- Direction: in views left of centre (``t < 0``) points nearer than the screen plane move right and
  points behind it move left; right of centre, the reverse (what a viewer who moves left sees).
- Z-buffer: where several source pixels land on one target pixel, the nearest (largest depth) wins;
  exact ties go to the larger source index (deterministic).
- Holes (disocclusions, cracks, image borders) are filled along the row from the background side:
  with the nearest rendered pixel to the left or to the right, whichever is farther (smaller depth);
  at an image border the only existing side is used.

Everything is vectorised over pixels (per view: one ``np.maximum.at`` scatter, then running-max /
running-min passes for the holes); the only Python loop is over the N views.

Measurement (``view_quality``): views rendered from ground-truth depth are the reference; views
rendered from each other depth map (degraded, enhanced, ...) with the same colour frame and the
same geometry are compared against them per view, over every pixel.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from . import metrics
from .depth_order import check_order, normalize, normalize_unit

_PEAKS = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


@dataclass(frozen=True)
class ViewConfig:
    """Geometry of the rendered views (see the module docstring for the formulas).

    ``n_views``: number of views (>= 1). ``baseline``: pixels between the extreme views at
    ``d - zero_parallax = 1``. ``zero_parallax``: normalised depth level that does not move.
    ``max_depth``: peak used to normalise integer depth (None: 255 for uint8, 65535 for uint16).
    ``depth_order``: near-high (depth grows toward the camera) or far-high (distance maps).
    """

    n_views: int = 8
    baseline: float = 32.0
    zero_parallax: float = 0.5
    max_depth: float | None = None
    depth_order: str = "near-high"

    def __post_init__(self) -> None:
        if isinstance(self.n_views, bool) or not isinstance(self.n_views, numbers.Integral) or self.n_views < 1:
            raise ValueError(f"n_views must be a whole number >= 1, got {self.n_views!r}")
        if not math.isfinite(self.baseline) or self.baseline < 0:
            raise ValueError(f"baseline must be a finite number >= 0 (pixels), got {self.baseline}")
        if not 0.0 <= self.zero_parallax <= 1.0:
            raise ValueError(f"zero_parallax must be in [0, 1] (normalised depth), got {self.zero_parallax}")
        if self.max_depth is not None and not (math.isfinite(self.max_depth) and self.max_depth > 0):
            raise ValueError(f"max_depth must be a finite number > 0, got {self.max_depth}")
        check_order(self.depth_order)

    def positions(self) -> np.ndarray:
        return view_positions(self.n_views)


@dataclass
class RenderedViews:
    """``views`` N x H x W x 3 uint8; ``depth`` N x H x W float32 (normalised depth seen in each
    view, holes filled like the colour); ``holes`` N x H x W bool (pixels no source landed on);
    ``source`` N x H x W int64, the flat index ``y * W + x`` of the input pixel that each view pixel
    shows (a hole: the pixel it was filled from); None unless asked for (``warp_views(keep_source=True)``)."""

    views: np.ndarray
    depth: np.ndarray
    holes: np.ndarray
    source: np.ndarray | None = None


def view_positions(n_views: int) -> np.ndarray:
    """Camera positions ``t_k = k / (N - 1) - 1/2`` for k = 0..N-1 (``[0.0]`` for one view)."""
    if n_views < 1:
        raise ValueError(f"n_views must be >= 1, got {n_views}")
    if n_views == 1:
        return np.zeros(1)
    return np.arange(n_views) / (n_views - 1) - 0.5


def normalize_depth(depth: np.ndarray, max_depth: float | None = None, order: str = "near-high") -> np.ndarray:
    """Depth H x W (uint8, uint16 or float) -> float32 in [0, 1], larger = nearer; ``order``
    far-high depth is read as inverse depth (integer: ``depth_order.normalize``, distances beyond
    ``max_depth`` clipped to it, as float depth above 1 is; float in [0, 1]: ``normalize_unit``)."""
    depth = np.asarray(depth)
    check_order(order)
    if not depth.dtype.isnative:  # big-endian samples (np.frombuffer of a 16-bit PGM): the same values, native
        depth = depth.astype(depth.dtype.newbyteorder("="))
    if depth.dtype.kind == "f":
        if not np.isfinite(depth).all():
            raise ValueError("depth contains NaN or infinite values")
        out = depth.astype(np.float32) if max_depth is None else depth.astype(np.float32) / np.float32(max_depth)
        out = normalize_unit(out, order)
    else:
        peak = max_depth if max_depth is not None else _PEAKS.get(depth.dtype)
        if peak is None:
            raise ValueError(f"depth must be uint8, uint16 or float, got {depth.dtype}")
        if order == "far-high":  # beyond the far limit: drawn at it (the network's reading passes them through)
            depth = np.minimum(depth.astype(np.float32), np.float32(peak))
        out = normalize(depth, peak, order)
    return np.clip(out, 0.0, 1.0) + np.float32(0.0)  # + 0.0 turns -0.0 into 0.0 (the z-buffer uses the bits)


def disparity(depth01: np.ndarray, t: float, baseline: float, zero_parallax: float) -> np.ndarray:
    """Horizontal shift in pixels of each pixel into the view at position ``t`` (positive = right)."""
    return np.float32(-t * baseline) * (depth01 - np.float32(zero_parallax))


def warp_views(
    color: np.ndarray,
    depth: np.ndarray,
    config: ViewConfig | None = None,
    positions: Sequence[float] | np.ndarray | None = None,
    keep_source: bool = False,
) -> RenderedViews:
    """Render views from one frame: colour H x W x 3 uint8, depth H x W (see ``normalize_depth``).

    ``positions`` overrides ``config.positions()`` (e.g. ``[-0.5, 0.5]`` for a stereo pair).
    ``keep_source``: also return ``RenderedViews.source`` (8 bytes per view pixel, so off unless a
    measurement needs it).
    """
    config = config or ViewConfig()
    if color.ndim != 3 or color.shape[2] != 3 or color.dtype != np.uint8:
        raise ValueError(f"colour must be H x W x 3 uint8, got {color.shape} {color.dtype}")
    if depth.shape != color.shape[:2]:
        raise ValueError(f"depth must be H x W like the colour {color.shape[:2]}, got {depth.shape}")
    ts = np.asarray(config.positions() if positions is None else positions, dtype=np.float64)
    if ts.ndim != 1 or ts.size == 0:
        raise ValueError("positions must be a non-empty 1-D sequence")
    d = normalize_depth(depth, config.max_depth, config.depth_order)
    h, w = d.shape
    hw = h * w
    # z-buffer key: (depth bits, source index); the float32 bits of a non-negative depth order like
    # the depth itself, so one integer maximum keeps the nearest source and remembers which it was
    key = (d.view(np.int32).astype(np.int64).ravel() << 32) | np.arange(hw, dtype=np.int64)
    cols = np.arange(w, dtype=np.int64)
    row_base = np.arange(0, hw, w, dtype=np.int64)[:, None]
    views = np.empty((len(ts), h, w, 3), np.uint8)
    vdepth = np.empty((len(ts), h, w), np.float32)
    holes = np.empty((len(ts), h, w), bool)
    sources = np.empty((len(ts), h, w), np.int64) if keep_source else None
    for k, t in enumerate(ts):  # one view at a time: same speed as all at once, bounded memory
        # the shift is rounded, then added: every pixel of one depth moves alike (rounding x + shift
        # would send even and odd columns apart at a shift of k + 0.5, and near it in float32)
        xt = cols + np.rint(disparity(d, t, config.baseline, config.zero_parallax)).astype(np.int64)
        tgt = np.where((xt >= 0) & (xt < w), row_base + xt, hw)  # spare slot hw: left the frame
        zbuf = np.full(hw + 1, -1, dtype=np.int64)
        np.maximum.at(zbuf, tgt.ravel(), key)
        zbuf = zbuf[:hw]
        hole = zbuf < 0
        src = zbuf & 0xFFFFFFFF
        vd = np.where(hole, np.float32(-1.0), (zbuf >> 32).astype(np.int32).view(np.float32))
        if hole.any():
            src, vd = _fill_from_background(src.reshape(h, w), vd.reshape(h, w), hole.reshape(h, w))
        src = src.reshape(h, w)
        if keep_source:
            sources[k] = src
        views[k] = color.reshape(hw, 3)[src]
        vdepth[k] = vd.reshape(h, w)
        holes[k] = hole.reshape(h, w)
    return RenderedViews(views=views, depth=vdepth, holes=holes, source=sources)


def _fill_from_background(src: np.ndarray, vdepth: np.ndarray, holes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill each hole with the nearest rendered pixel on its row, left or right, whichever is
    farther (smaller depth); one side only at the borders; rows with nothing rendered get the
    source pixel at the same place."""
    w = src.shape[-1]
    flat_holes = holes.ravel()
    idx = np.arange(flat_holes.size, dtype=np.int32 if flat_holes.size < 2**31 - 1 else np.int64)
    # nearest rendered pixel at or before / at or after each position, over the flattened frame
    left = np.maximum.accumulate(np.where(flat_holes, -1, idx))
    right = np.minimum.accumulate(np.where(flat_holes, flat_holes.size, idx)[::-1])[::-1]
    hi = np.flatnonzero(flat_holes).astype(idx.dtype)
    row_start = hi - hi % w
    lft, rgt = left[hi], right[hi]
    has_l, has_r = lft >= row_start, rgt < row_start + w  # the neighbour must be on the same row
    sf, df = src.reshape(-1), vdepth.reshape(-1)
    dl = df[np.where(has_l, lft, 0)]
    dr = df[np.where(has_r, rgt, 0)]
    use_left = has_l & (~has_r | (dl <= dr))
    pick = np.where(use_left, lft, rgt)
    empty = ~(has_l | has_r)
    pick = np.where(empty, 0, pick)
    fill_src = np.where(empty, hi % (src.shape[-2] * w), sf[pick])
    fill_d = np.where(empty, np.float32(0.0), df[pick])
    sf[hi], df[hi] = fill_src, fill_d  # in place when contiguous (fresh arrays in warp_views)
    return sf.reshape(holes.shape), df.reshape(holes.shape)


def render_views(
    color: np.ndarray,
    depth: np.ndarray,
    n_views: int = 8,
    baseline: float = 32.0,
    zero_parallax: float = 0.5,
    max_depth: float | None = None,
    depth_order: str = "near-high",
) -> np.ndarray:
    """N views (N x H x W x 3 uint8, leftmost first) from colour H x W x 3 uint8 and depth H x W."""
    return warp_views(color, depth, ViewConfig(n_views, baseline, zero_parallax, max_depth, depth_order)).views


# ------------------------------------------------------------------------------------ measurement


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
    ref = warp_views(color, gt_depth, cfg, keep_source=valid is not None)
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
        views = warp_views(color, dep, cfg).views
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
    for name, d in {**depths, "valid": gt_depths if valid is None else valid}.items():
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
