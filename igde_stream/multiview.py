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

Measurement (``view_quality``, in ``igde_stream.multiview_quality`` and re-exported here): views rendered from ground-truth depth are the reference; views
rendered from each other depth map (degraded, enhanced, ...) with the same colour frame and the
same geometry are compared against them per view, over every pixel.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .depth_order import check_order, normalize, normalize_unit
from .enhancer_inputs import looks_swapped

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
        real = lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool)  # noqa: E731 - None, "32": no number
        if not real(self.baseline) or not math.isfinite(self.baseline) or self.baseline < 0:
            raise ValueError(f"baseline must be a finite number >= 0 (pixels), got {self.baseline!r}")
        if not real(self.zero_parallax) or not 0.0 <= self.zero_parallax <= 1.0:
            raise ValueError(f"zero_parallax must be in [0, 1] (normalised depth), got {self.zero_parallax!r}")
        if self.max_depth is not None and not (real(self.max_depth) and math.isfinite(self.max_depth)
                                               and self.max_depth > 0):
            raise ValueError(f"max_depth must be a finite number > 0, got {self.max_depth!r}")
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


def chosen_positions(config: ViewConfig, positions: Sequence[float] | np.ndarray | None) -> np.ndarray:
    """``positions`` (else ``config.positions()``) as float64, refused unless a non-empty 1-D sequence of
    finite numbers (a NaN shifts the view off the frame: a silent no-op); both renderers' check."""
    ts = np.asarray(config.positions() if positions is None else positions, dtype=np.float64)
    if ts.ndim != 1 or ts.size == 0 or not np.isfinite(ts).all():
        raise ValueError(f"positions must be a non-empty 1-D sequence of finite numbers, got {ts.tolist()}")
    return ts


def check_not_swapped(color: np.ndarray, depth: np.ndarray) -> None:
    """A ``ValueError`` saying so where colour and depth were handed over the other way round (depth
    H x W x 3 beside colour H x W), instead of "colour must be H x W x 3" about the depth map."""
    if looks_swapped(color, depth):
        raise ValueError(f"colour is {' x '.join(map(str, color.shape))} and depth {' x '.join(map(str, depth.shape))}: "
                         "the two look swapped; colour comes first, then depth")


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
        top = _PEAKS.get(depth.dtype)  # another integer type with a max_depth of its own: read by it, as before
        if top is not None and peak > top:  # every value would sit low in 0..1: flat views, as the Enhancer refuses it
            raise ValueError(f"max_depth {peak:g} is above the range of {depth.dtype} depth (0..{top:g})")
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
    """Render views from one frame: colour H x W x 3 uint8, depth H x W (see ``normalize_depth``);
    anything ``np.asarray`` takes (a CPU tensor, nested lists) is taken as that array.

    ``positions`` overrides ``config.positions()`` (e.g. ``[-0.5, 0.5]`` for a stereo pair).
    ``keep_source``: also return ``RenderedViews.source`` (8 bytes per view pixel, so off unless a
    measurement needs it).
    """
    config = config or ViewConfig()
    color, depth = np.asarray(color), np.asarray(depth)  # frames of another library (a CPU tensor), lists: as the Enhancer
    check_not_swapped(color, depth)
    if color.ndim != 3 or color.shape[2] != 3 or color.dtype != np.uint8:
        raise ValueError(f"colour must be H x W x 3 uint8, got {color.shape} {color.dtype}")
    if depth.shape != color.shape[:2]:
        raise ValueError(f"depth must be H x W like the colour {color.shape[:2]}, got {depth.shape}")
    ts = chosen_positions(config, positions)
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


# the measurement of the views (multiview_quality, which imports this module), re-exported on first
# use: ``mv.view_quality`` and the rest are where callers expect them
_QUALITY = ("edge_band", "jsonable", "markdown_table", "summarize_view_quality", "view_quality",
            "view_quality_sequence")


def __getattr__(name: str) -> Any:
    if name in _QUALITY:
        from . import multiview_quality

        return getattr(multiview_quality, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RenderedViews", "ViewConfig", "normalize_depth", "render_views", "view_positions", "warp_views",
           *_QUALITY]
