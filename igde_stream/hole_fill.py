"""Colour-guided hole filling at the hole pixels only.

A depth sensor's holes (depth 0: no measurement) can be wider than the selection head's reach (7 px):
the head then has no measured candidate, or only ones from across an edge. This fill gives each hole
pixel the joint bilateral filter's value (:func:`igde_stream.filters.joint_bilateral`: the measured
pixels of a wide window, weighted by their colour likeness and distance; holes get no weight) and,
with ``snap``, replaces it by the nearest value that a measured pixel within ``snap`` px has (within
the whole window when none is that close), so that every output value is still an input value.

With ``layers`` K > 0 it does not average across depth layers: the window's measured pixels are
split at their weighted mean into a near and a far side, and when the two sides' weighted means are
further apart than ``layer_gap`` times the sum of their weighted standard deviations (two surfaces,
not one slanted or noisy one), the hole gets the far side's weighted mean, or the near side's where
the near side's weight is more than K times the far side's. A sensor's holes along an edge lie on
the far side of it (a Kinect-type occlusion shadow); the plain mean of two surfaces of like colour is
a depth between them that belongs to neither. Which side is far follows ``depth_order``.

A hole that no window reaches (no measured pixel within ``diameter // 2`` px: a stereo matcher's
invalid band along the frame's side, a wide occlusion, a sensor's out-of-range area) gets, with
``wide`` (the default), the colour-guided global fill: the measured depth spread along the colour by
OpenCV's fast global smoother (``cv2.ximgproc.fastGlobalSmootherFilter``, lambda ``WIDE_LAMBDA``,
colour sigma ``WIDE_SIGMA``), solved normalised, ``FGS(m d) / FGS(m)`` with ``m`` the measured mask, as
:func:`igde_stream.filters.global_smoother` solves it; without ``wide`` it keeps its value.

It computes the filter at the hole pixels alone: the same sums as OpenCV's
``cv2.ximgproc.jointBilateralFilter`` (a circular window of ``diameter // 2`` px, spatial weight
``exp(-r^2 / (2 sigma_space^2))``, colour weight ``exp(-L1^2 / (2 sigma_color^2))`` with ``L1`` the sum
of the RGB channels' absolute differences) but at a cost proportional to the holes instead of the
frame (OpenCV's whole-frame filter at d 55 takes seconds a 960 x 540 frame).
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_FILL", "PRESETS", "HoleFill", "fill_frames", "fill_holes", "preset_name"]

_CHUNK = 2048  # hole pixels per gather at most
# at most this many (hole pixel, offset) pairs per gather: fewer pixels for a wider window. Arrays of a
# few hundred kB stay in the CPU's cache: 2^16 pairs filled a 960 x 540 frame's 21,000 holes at stride 1
# in 0.47 s where 2^20 took 0.70 (stride 3: 0.13 against 0.20 s), and 2^14 was no quicker
_GATHER = 1 << 16
# a chunk whose windows hold measured pixels in under this share of their (hole, offset) pairs is summed
# over those pairs alone (the holes deep in a sensor's wide holes: on TUM RGB-D Kinect frames, 16-30 % of
# a hole's window is measured); above it, the full chunk x window arrays are quicker than the compaction
_SPARSE = 0.5
MAX_DIAMETER = 1001  # a window of ~790 000 offsets; a larger one's offset grid alone would take gigabytes


@dataclass(frozen=True)
class HoleFill:
    """Settings of :func:`fill_holes`. diameter / sigma_color / sigma_space: the joint bilateral's
    (its tuned defaults); snap: px (0: the filter's value as it is); stride: beyond the inner
    ``2 dense + 1`` px square (or the snap window, if larger) the window is sampled every ``stride`` px, each sample
    weighted for the ``stride^2`` pixels it stands for (the spatial weight falls by under 10 % across
    the window: on 960 x 540 validation frames stride 3 is within 0.25 dB of stride 1 at the holes
    and about 4 times faster: 0.10 against 0.40 s on a 960 x 540 frame's 17,300 holes, 1 thread).
    layers: 0 (default), the one weighted mean of the window; K >= 1,
    the far layer's mean unless the near layer's weight is more than K times the far's (1: the
    heavier layer; ``HoleFill(layers=2)``, with the layer_gap and layer_sigma defaults, is the
    setting measured in docs/models.md, "Layers": it leaks less foreground into background holes,
    and scores lower than the plain mean on real measured depth); layer_gap: how far apart, in the layers' summed standard deviations, two layers must lie
    to be two (one whole depth level is added to that sum for integer depth, which rounding leaves
    on one surface); layer_sigma: px, the layers' weights for that choice are also weighted by
    distance with this sigma (0: the window's own weights), so that the layer next to the hole
    counts more than one across the window; wide: the holes the window fills nothing into (none
    measured in it, or none of a similar colour) get the global fill (see the module; with ``snap``,
    the frame's measured value nearest it), else they keep their value; dense: px, the half-width of
    the inner square sampled at every pixel (7: 15 x 15)."""

    diameter: int = 55
    sigma_color: float = 10.0
    sigma_space: float = 64.0
    snap: int = 0
    stride: int = 3
    layers: float = 0.0
    layer_gap: float = 2.0
    layer_sigma: float = 16.0
    wide: bool = True
    dense: int = 7

    def __post_init__(self) -> None:
        for name in ("diameter", "snap", "stride", "dense"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"hole fill {name} must be a whole number >= 0, got {v!r}")
        if self.stride < 1:
            raise ValueError(f"hole fill stride must be at least 1, got {self.stride}")
        if not 3 <= self.diameter <= MAX_DIAMETER:
            raise ValueError(f"hole fill diameter must be 3 to {MAX_DIAMETER}, got {self.diameter}")
        for name in ("sigma_color", "sigma_space"):
            v = getattr(self, name)  # a real number, NumPy's integers and floats included
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (math.isfinite(v) and v > 0):
                raise ValueError(f"hole fill {name} must be a finite number > 0, got {v!r}")
        v = self.layers
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (v == 0 or 1 <= v < math.inf):
            raise ValueError(f"hole fill layers must be 0 (off) or a finite number >= 1, got {v!r}")
        if not isinstance(self.wide, (bool, np.bool_)):
            raise ValueError(f"hole fill wide must be True or False, got {self.wide!r}")
        for name in ("layer_gap", "layer_sigma"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (math.isfinite(v) and v >= 0):
                raise ValueError(f"hole fill {name} must be a finite number >= 0, got {v!r}")
        for name in ("sigma_color", "sigma_space", "layers", "layer_gap", "layer_sigma"):  # 2 and 2.0: one type
            object.__setattr__(self, name, float(getattr(self, name)))


#: The fill an Enhancer runs when it fills holes (``hole_fill=True``, or a model that reads depth 0 as
#: a hole) and :func:`fill_frames`' default: the joint bilateral's colour setting with a spatial sigma of
#: 12 px and every pixel of the window (stride 1). Chosen by two rules written before scoring: every
#: pixel at sigma 16 against ``HoleFill()`` (sigma 64, stride 3) on val scenes and the Aloe photograph
#: (results/candidates/hole_fill72_prereg.md: Aloe holes +0.62 dB, val holes +0.30), then sigma 12
#: against 16 weighing real measured depth first (hole_fill72b_prereg.md: TUM RGB-D, HoloLens and Aloe,
#: 21 rows, mean +0.11 dB, HoloLens holes +0.5; val rows within -0.07). On a photograph's texture the
#: stride's sampled window misweights the colour; the cost is about 4 times the sampled window's time.
DEFAULT_FILL = HoleFill(sigma_space=12.0, stride=1)

#: The fills ``--hole-fill`` names (``cli_parser.hole_fill_of``): ``on``, the default; ``fast``, the
#: default's weights with the window sampled every 3 px beyond its inner 15 x 15 px (on real measured
#: depth with holes, TUM RGB-D and HoloLens frames, 0.02-0.37 dB lower at a third to a tenth of the
#: time: results/hole_fill73_fast.json); ``far``, the fill that keeps depth layers apart and takes the
#: far one at its measured setting (docs/models.md, "Layers").
PRESETS = {"on": DEFAULT_FILL, "fast": HoleFill(sigma_space=12.0, stride=3), "far": HoleFill(layers=2)}


def preset_name(fill: HoleFill | None) -> str | None:
    """The ``--hole-fill`` name of ``fill`` (a :data:`PRESETS` entry), ``custom`` for any other
    setting, None for no fill: what a run's summary and report say it filled with."""
    if fill is None:
        return None
    return next((name for name, preset in PRESETS.items() if preset == fill), "custom")


def _gauss(sq: np.ndarray, sigma: float) -> np.ndarray:
    """``exp(-sq / (2 sigma^2))`` in float64 for ``sq >= 0``. A sigma so small that ``2 sigma^2``
    underflows to 0 gives the limit (1 at ``sq`` 0, 0 elsewhere), not 0 / 0 = NaN weights that fill
    nothing."""
    two_var = 2.0 * float(sigma) ** 2  # in float64 whatever sigma's type (a float32 square underflows sooner)
    if two_var == 0:
        return (np.asarray(sq) == 0).astype(np.float64)
    with np.errstate(over="ignore"):  # -sq / two_var beyond the float range: -inf, weight 0
        return np.exp(-np.asarray(sq, np.float64) / two_var)


def _offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """The (dy, dx) offsets of OpenCV's circular window: ``dy^2 + dx^2 <= radius^2``."""
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    dy, dx = dy.ravel(), dx.ravel()
    keep = dy * dy + dx * dx <= radius * radius
    return dy[keep], dx[keep]


@functools.lru_cache(maxsize=8)
def _window(s: HoleFill) -> tuple[np.ndarray, ...]:
    """What a setting's window is, whatever the frame: the sampled offsets (dy, dx), their spatial
    weights, the snap window among them, the colour weight of each L1 difference 0..765, and the
    layers' extra distance weights (``layer_sigma``; all 1 without it). Made once per setting (a
    stream's frames share it), read only."""
    dy, dx = _offsets(s.diameter // 2)
    inner = np.maximum(np.abs(dy), np.abs(dx)) <= max(s.snap, s.dense)
    keep = inner | ((dy % s.stride == 0) & (dx % s.stride == 0))
    dy, dx, inner = dy[keep], dx[keep], inner[keep]
    w_space = (_gauss(dy * dy + dx * dx, s.sigma_space) * np.where(inner, 1, s.stride ** 2)).astype(np.float32)
    lut = _gauss(np.arange(3 * 255 + 1, dtype=np.float64) ** 2, s.sigma_color).astype(np.float32)
    near = (np.abs(dy) <= s.snap) & (np.abs(dx) <= s.snap)  # the snap window's offsets within the fill window's
    w_layer = (_gauss(dy * dy + dx * dx, s.layer_sigma) if s.layer_sigma else np.ones(len(dy))).astype(np.float32)
    for a in (dy, dx, w_space, lut, near, w_layer):
        a.flags.writeable = False
    return dy, dx, w_space, lut, near, w_layer


def _layered(wgt: np.ndarray, vals: np.ndarray, mean: np.ndarray, s: HoleFill, far_high: bool,
             whole: bool, w_layer: np.ndarray) -> np.ndarray:
    """Each row's fill with ``s.layers`` (see the module): the far side's weighted mean, the near
    side's where its weight is over ``s.layers`` times the far's, or ``mean`` where the two sides are
    not two layers. wgt, vals: chunk x window (weight 0 where nothing is measured); mean: their
    weighted means; w_layer: the window's extra weights for the choice of layer."""
    base = mean.astype(np.float32)  # centred: the sums of squares keep their precision, and a layer
    v = vals - base[:, None]  # of one value gives that value back exactly
    base = base.astype(np.float64)
    far = v > 0 if far_high else v < 0
    wf = np.where(far, wgt, np.float32(0))
    wn = wgt - wf
    side = []
    for ws in (wf, wn):
        w0 = ws.sum(1, dtype=np.float64)
        wv = ws * v
        div = np.where(w0 > 0, w0, 1.0)
        m1 = wv.sum(1, dtype=np.float64) / div
        var = (wv * v).sum(1, dtype=np.float64) / div - m1 * m1
        side.append((w0, m1, np.sqrt(np.maximum(var, 0.0))))
    (w_far, m_far, sd_far), (w_near, m_near, sd_near) = side
    spread = sd_far + sd_near + (1.0 if whole else 0.0)  # rounding's one level is not a second surface
    two = (w_far > 0) & (w_near > 0) & (np.abs(m_near - m_far) > s.layer_gap * spread)
    if s.layer_sigma:
        w_far, w_near = (wf * w_layer).sum(1, dtype=np.float64), (wn * w_layer).sum(1, dtype=np.float64)
    pick = np.where(w_near > s.layers * w_far, m_near, m_far)
    return np.where(two, base + pick, mean)


def fill_holes(color: np.ndarray, depth: np.ndarray, out: np.ndarray | None = None,
               holes: np.ndarray | None = None, measured: np.ndarray | None = None,
               settings: HoleFill = HoleFill(), depth_order: str = "near-high", workers: int = 1) -> np.ndarray:
    """``out`` (default: a copy of ``depth``) with its ``holes`` pixels (default: ``depth == 0``)
    filled from the ``measured`` pixels of ``depth`` (default: ``depth != 0`` and not in ``holes``; a NaN or
    inf is never one). ``depth_order``: ``near-high`` (larger is nearer, like disparity) or
    ``far-high`` (a distance); it tells the ``layers`` fill which side is far. ``workers``: threads
    that share the holes (the result is the same for any number).

    color: H x W x 3 uint8; depth, out: H x W uint8 / uint16 / float32. A hole with no measured pixel
    in its window gets the global fill (``settings.wide``) or keeps its value in ``out``. Returns a
    new array of ``out``'s dtype."""
    if depth_order not in ("near-high", "far-high"):
        raise ValueError(f"depth_order must be 'near-high' or 'far-high', got {depth_order!r}")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    color, depth = np.asarray(color), np.asarray(depth)
    if color.ndim != 3 or color.shape[2] != 3 or color.dtype != np.uint8:
        raise ValueError(f"color must be H x W x 3 uint8, got {color.shape} {color.dtype}")
    if depth.ndim != 2 or depth.shape != color.shape[:2]:
        raise ValueError(f"depth must be H x W matching color {color.shape[:2]}, got {depth.shape}")
    result = np.array(depth if out is None else out, copy=True)
    if result.shape != depth.shape:
        raise ValueError(f"out must have depth's shape {depth.shape}, got {result.shape}")
    hole = depth == 0 if holes is None else np.asarray(holes, dtype=bool)
    if hole.shape != depth.shape:
        raise ValueError(f"holes must have depth's shape {depth.shape}, got {hole.shape}")
    if measured is None:
        measured = depth != 0
    else:
        measured = np.asarray(measured, dtype=bool)
        if measured.shape != depth.shape:
            raise ValueError(f"measured must have depth's shape {depth.shape}, got {measured.shape}")
    measured = measured & ~hole
    if depth.dtype.kind == "f":
        measured &= np.isfinite(depth)  # NaN / inf: no value to average
    if not hole.any() or not measured.any():
        return result
    s = settings
    r = s.diameter // 2
    h, w = depth.shape
    wp = w + 2 * r
    pad = ((r, r), (r, r))
    d_p = np.pad(np.where(measured, depth, 0).astype(np.float32), pad).ravel()  # a NaN times weight 0 is NaN
    m_p = np.pad(measured, pad).ravel()
    planes = [np.pad(color[..., k], pad).ravel() for k in range(3)]  # uint8: gathers are cheapest so
    dy, dx, w_space, lut, near, w_layer = _window(s)
    off = dy * wp + dx
    # a hole with no measured pixel in the square around its window has nothing to average: left out
    # (a frame of holes with a few measured pixels costs what those few reach, not the whole frame)
    sat = np.pad(measured, ((1, 0), (1, 0))).cumsum(0, dtype=np.int32).cumsum(1)
    y0, y1 = np.clip(np.arange(h) - r, 0, h), np.clip(np.arange(h) + r + 1, 0, h)
    x0, x1 = np.clip(np.arange(w) - r, 0, w), np.clip(np.arange(w) + r + 1, 0, w)
    reach = sat[y1][:, x1] - sat[y0][:, x1] - sat[y1][:, x0] + sat[y0][:, x0]
    ys, xs = np.nonzero(hole & (reach > 0))
    centre = (ys + r) * wp + (xs + r)
    filled = np.empty(len(centre), np.float64)
    found = np.zeros(len(centre), bool)
    chunk = max(1, min(_CHUNK, _GATHER // len(off)))

    def run(a: int) -> None:  # the holes a .. a + chunk: their rows of filled / found (no two runs share one)
        idx = centre[a : a + chunk, None] + off[None]  # chunk x window, into the padded frame
        ok = m_p.take(idx)  # (take: a plain gather, quicker than fancy indexing)
        if not (s.layers or s.snap):
            nz = np.flatnonzero(ok)
            if len(nz) < _SPARSE * ok.size:  # deep in a wide hole: the measured pairs alone
                filled[a : a + chunk], found[a : a + chunk] = _sparse_mean(idx, centre[a : a + chunk], nz)
                return
        l1 = np.zeros(idx.shape, np.int16)  # sum of the channels' |difference|, as uint8 max - min
        for plane in planes:
            q, p = plane.take(idx), plane[centre[a : a + chunk], None]
            l1 += np.maximum(q, p) - np.minimum(q, p)
        wgt = lut.take(l1)
        wgt *= w_space
        wgt *= ok
        vals = d_p.take(idx)
        den = wgt.sum(1, dtype=np.float64)
        got = den > 0
        mean = (wgt * vals).sum(1, dtype=np.float64) / np.where(got, den, 1.0)
        if s.layers:
            mean = _layered(wgt, vals, mean, s, depth_order == "far-high", depth.dtype.kind in "ui", w_layer)
        if s.snap:
            # the measured value nearest the mean: within the snap window if one is there, else the window's
            gap = np.abs(vals - mean[:, None].astype(np.float32))
            gap[~ok] = np.inf
            close = np.where(near, gap, np.inf)
            pick = np.where(np.isfinite(close.min(1)), close.argmin(1), gap.argmin(1))
            mean = vals[np.arange(len(pick)), pick].astype(np.float64)
        filled[a : a + chunk] = mean
        found[a : a + chunk] = got

    def _sparse_mean(idx: np.ndarray, at: np.ndarray, nz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The weighted means of a chunk from its measured (hole, offset) pairs only (``nz``: their
        flat indices into ``idx``): the same weights and sums as the full chunk's, whose other pairs
        weigh 0."""
        rows, cols = np.divmod(nz, idx.shape[1])
        src = idx.ravel().take(nz)
        ctr = at.take(rows)
        l1 = np.zeros(len(nz), np.int16)
        for plane in planes:
            q, p = plane.take(src), plane.take(ctr)
            l1 += np.maximum(q, p) - np.minimum(q, p)
        wgt = lut.take(l1)
        wgt *= w_space.take(cols)
        den = np.bincount(rows, wgt, minlength=len(at))
        num = np.bincount(rows, wgt * d_p.take(src), minlength=len(at))
        got = den > 0
        return num / np.where(got, den, 1.0), got

    starts = range(0, len(centre), chunk)
    if workers > 1 and len(starts) > 1:  # NumPy's gathers and arithmetic let go of the GIL: chunks in parallel
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(workers, len(starts))) as pool:
            list(pool.map(run, starts))  # (list: an error in a chunk is raised here)
    else:
        for a in starts:
            run(a)
    ys, xs, filled = ys[found], xs[found], filled[found]
    if s.wide:
        unreached = hole.copy()
        unreached[ys, xs] = False
        if unreached.any():
            far = _global_fill(color, np.where(measured, depth, 0), measured)
            lost = unreached & ~np.isfinite(far)
            if lost.any():  # no weight left even so (beyond very many strong colour edges): the nearest measured
                far[lost] = _nearest_measured(depth, measured)[lost]
            uy, ux = np.nonzero(unreached & np.isfinite(far))
            wide = far[uy, ux]
            if s.snap:  # no measured pixel nearby: the frame's measured value nearest the fill
                values = np.unique(depth[measured]).astype(np.float64)
                k = np.clip(np.searchsorted(values, wide), 1, max(1, len(values) - 1))
                lo, hi = values[k - 1], values[np.minimum(k, len(values) - 1)]
                wide = np.where(np.abs(wide - lo) <= np.abs(hi - wide), lo, hi)
            ys, xs, filled = np.concatenate([ys, uy]), np.concatenate([xs, ux]), np.concatenate([filled, wide])
    if result.dtype.kind in "ui":
        info = np.iinfo(result.dtype)
        filled = np.clip(np.rint(filled), info.min, info.max)
    result[ys, xs] = filled.astype(result.dtype)
    return result


#: The global fill's fast global smoother: lambda (smoothness) and colour sigma (8-bit units), those
#: of ``filters.global_smoother``. On a stereo matcher's output (OpenCV SGBM on the Middlebury
#: Motorcycle pair, 15 % invalid; tools/eval_stereo.py) lambda 1024 gave 20.87 dB against 20.35 / 19.65
#: for 4096 / 16384 (colour sigma 4 / 8 / 8; measured with a weight floor of 1e-6, since dropped: 20.92).
WIDE_LAMBDA = 1024.0
WIDE_SIGMA = 4.0


def _global_fill(color: np.ndarray, depth: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """The measured depth spread along the colour over the whole frame (float64 H x W; NaN where the
    solve gives no weight): ``FGS(m d) / FGS(m)``, ``m`` = ``measured`` (which holds a pixel)."""
    from .filters import normalized_smoother

    # The smoother's weights are products along the frame: a hole far from the measured depth, beyond
    # strong colour edges, got a weight below float32's range, FGS(m) = 0, and stayed a hole (848 px of
    # a TUM Kinect frame). The smoother is linear, so m and m d scaled by a power of two (exact) give
    # the same ratio with that many more binary orders of headroom, as long as m d stays finite.
    values = np.asarray(depth, np.float64)[measured]
    top = float(np.abs(values).max()) if values.size else 1.0
    scale = np.float32(2.0 ** max(0, min(100, 120 - math.ceil(math.log2(max(top, 1.0))))))
    num, den = normalized_smoother(color, depth, measured.astype(np.float32) * scale, WIDE_LAMBDA, WIDE_SIGMA)
    # a weighted mean of the measured depth: within its range, however small the weights far away
    # grow (they stay in proportion: on a stereo matcher's 80 px invalid band, weights of 1e-27 still
    # gave the background's disparity)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = num.astype(np.float64) / den
    return np.where((den > 0) & np.isfinite(mean), np.clip(mean, values.min(), values.max()), np.nan)


def _nearest_measured(depth: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Each pixel's nearest measured pixel's depth (float64 H x W; OpenCV's L2 distance transform, 5 x 5
    mask): the last resort of the global fill, where even its scaled weights leave nothing."""
    import cv2

    _, labels = cv2.distanceTransformWithLabels((~measured).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    value = np.zeros(int(labels.max()) + 1)
    value[labels[measured]] = np.asarray(depth, np.float64)[measured]
    return value[labels]


def fill_frames(color: np.ndarray, depth: np.ndarray, out: np.ndarray, settings: HoleFill = DEFAULT_FILL,
                peak: float | None = None, depth_order: str = "near-high", workers: int = 1) -> np.ndarray:
    """:func:`fill_holes` on each frame of a batch that has holes: colour N x H x W x 3, depth and
    ``out`` N x H x W; ``out`` is filled in place and returned. ``peak``: depth above it is no source
    (it is beyond the model's range, as an Enhancer's ``max_depth`` makes it). ``depth_order``,
    ``workers``: as :func:`fill_holes`'s."""
    for i in np.flatnonzero((depth == 0).any(axis=(1, 2))):  # (an empty batch has none)
        measured = depth[i] != 0 if peak is None else (depth[i] != 0) & (depth[i] <= peak)
        out[i] = fill_holes(color[i], depth[i], out[i], measured=measured, settings=settings,
                            depth_order=depth_order, workers=workers)
    return out
