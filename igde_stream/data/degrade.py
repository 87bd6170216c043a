"""Simulated depth boundary errors (paper section 4: "randomly inflate or reduce depth values at
object boundaries"), plus optional extras kept as separate, named options.

Boundary errors. A depth edge is a pair of 4-neighbours whose depths differ by at least
``edge_threshold`` (in 8-bit levels; scaled to the peak for 16-bit); given the scene's label map
(``apply(gt, t, labels)``), only pairs that also lie on two different surfaces count
(:func:`label_edges`), so that a steep plane, whose neighbours differ by several levels, is not
taken for an edge. Along each edge a smooth random
field picks, for every pixel, a bleed width r in ``[min_width, max_width]`` px (or no error, with
probability ``1 - p_degrade``) and a side: *inflate* (grey dilation: the nearer side spills over
the true edge into the farther one) with probability ``p_inflate``, else *reduce* (grey erosion:
the farther side eats into the nearer object). A pixel is changed only
when the dilated / eroded value differs from its own by at least the edge threshold, so a change
always carries the depth of the other side of an edge no farther than ``max_width`` px away: the
error lies entirely in the boundary band. The fields vary along an edge with a correlation length
of ``scale`` px; in a sequence they drift smoothly with period ``temporal_period`` frames. With
``keep_thin`` (default) errors move edges but never delete a whole structure: a pole or a gap
narrower than 2r + 1 px (one that a grey opening / closing of radius r would remove) keeps its
pixels at that width, since no method could recover the depth of a structure that vanished.

Real-world boundary error types, each its own option (all off by default, so the default is the
paper's type alone); :data:`~igde_stream.data.error_types.BOUNDARY_ERRORS` names one preset per type and :func:`~igde_stream.data.error_types.mixed_config`
draws the training mix. Every type changes only pixels within its width of a depth edge, except the
misregistration, which moves the whole map:
- ``soft_width`` W > 0: *soft transitions*. Along edges (on the ``p_soft`` share of the smooth "on"
  field) a pixel within r px of an edge (r in 1..W from the width field) takes the (2r+1)^2 box mean
  of the depth around it: a ramp of intermediate values across the edge, like a ToF sensor's flying
  pixels or a monocular estimator's blur.
- ``edge_holes`` p > 0: *holes along edges*. On the share p of the edge field, the pixels of the
  FARTHER side within r px (r in 1..``hole_width``) of a nearer surface become 0, like the shadows a
  Kinect-type sensor leaves beside foreground objects.
- ``lowres`` F > 1: *low-resolution depth*. The map is taken at 1/F of the frame size and scaled
  back up, as a ToF sensor's or a monocular estimator's output is before it meets the colour
  frame: with ``lowres_linear`` an area (binning) reduction and a bilinear enlargement (ramps F px
  wide across edges), else nearest both ways (edges snap to an F-px grid, a staircase). The result
  is kept within F px of an edge; flat and gently slanted surfaces keep their values.
- ``shift`` S > 0: *misregistration*. The whole map moves by (dy, dx), integers drawn per sequence
  from -S..S (not both 0), with replicated borders: depth no longer lines up with colour.

Extras, all off by default and applied to the whole frame after the boundary errors, in this order
(never drawn by the training mix; :data:`~igde_stream.data.error_types.HELD_OUT_ERRORS` names presets of them for evaluation):
``blur_sigma`` (Gaussian blur, like a monocular estimator), ``noise_std`` (Gaussian noise, 8-bit
levels), ``holes`` (that many random blobs set to 0, a sensor's missing depth), ``jpeg_quality``
(JPEG round trip of the depth map as a stand-in for lossy-codec artefacts; 8-bit only).

The error mask used by PSNRt / PSNRf is ``degraded != ground truth`` (threshold 0).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from statistics import NormalDist

import cv2
import numpy as np

from .textures import smooth_noise

__all__ = ["DegradeConfig", "Degrader", "degrade", "depth_edges", "label_edges", "boundary_band", "depth_peak"]


@dataclass(frozen=True)
class DegradeConfig:
    """Parameters of the degradation (widths in pixels, depth amounts in 8-bit levels)."""

    min_width: int = 1
    max_width: int = 4
    p_degrade: float = 0.85
    p_inflate: float = 0.5
    scale: float = 24.0
    edge_threshold: float = 2.0
    temporal_period: float = 32.0
    keep_thin: bool = True
    blur_sigma: float = 0.0
    noise_std: float = 0.0
    holes: int = 0
    jpeg_quality: int = 0
    soft_width: int = 0
    p_soft: float = 0.85
    edge_holes: float = 0.0
    hole_width: int = 4
    shift: int = 0
    lowres: int = 0
    lowres_linear: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.min_width <= self.max_width:
            raise ValueError(f"need 0 <= min_width <= max_width, got {self.min_width}, {self.max_width}")
        if self.soft_width < 0 or self.hole_width < 1 or not 0 <= self.shift <= 16:
            raise ValueError("need soft_width >= 0, hole_width >= 1 and 0 <= shift <= 16")
        if self.lowres < 0 or self.lowres == 1 or self.lowres > 8:
            raise ValueError(f"lowres must be 0 (off) or a factor in 2..8, got {self.lowres}")
        for name in ("p_degrade", "p_inflate", "p_soft", "edge_holes"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.edge_threshold <= 0 or self.scale <= 0:
            raise ValueError("edge_threshold and scale must be > 0")
        if not 0 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 0..100 (0 = off), got {self.jpeg_quality}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def depth_peak(depth: np.ndarray) -> float:
    """The full-scale value of a uint8 (255) or uint16 (65535) depth map; ValueError otherwise."""
    if depth.dtype == np.uint8:
        return 255.0
    if depth.dtype == np.uint16:
        return 65535.0
    raise ValueError(f"depth must be uint8 or uint16, got {depth.dtype}")


def depth_edges(depth: np.ndarray, threshold: float = 2.0) -> np.ndarray:
    """Pixels on either side of a 4-neighbour depth jump of >= ``threshold`` 8-bit levels (bool)."""
    return _edges(depth, threshold, None)


def label_edges(labels: np.ndarray, depth: np.ndarray, threshold: float = 2.0) -> np.ndarray:
    """Pixels on either side of a 4-neighbour pair on two different surfaces (``labels`` differ)
    whose depths differ by >= ``threshold`` 8-bit levels (bool). Where every surface is gentler than
    ``threshold`` per pixel and layers keep apart in depth, this equals :func:`depth_edges`."""
    if labels.shape != depth.shape:
        raise ValueError(f"labels {labels.shape} and depth {depth.shape} differ in shape")
    return _edges(depth, threshold, labels)


def _edges(depth: np.ndarray, threshold: float, labels: np.ndarray | None) -> np.ndarray:
    thr = threshold * depth_peak(depth) / 255.0
    d = depth.astype(np.float32)
    jx = np.abs(d[:, 1:] - d[:, :-1]) >= thr
    jy = np.abs(d[1:, :] - d[:-1, :]) >= thr
    if labels is not None:
        jx &= labels[:, 1:] != labels[:, :-1]
        jy &= labels[1:, :] != labels[:-1, :]
    e = np.zeros(d.shape, bool)
    e[:, 1:] |= jx
    e[:, :-1] |= jx
    e[1:, :] |= jy
    e[:-1, :] |= jy
    return e


def boundary_band(depth: np.ndarray, width: int, threshold: float = 2.0) -> np.ndarray:
    """Pixels within ``width`` px (chessboard distance) of a depth edge pixel (bool)."""
    return _widen(depth_edges(depth, threshold), width)


def _widen(edges: np.ndarray, width: int) -> np.ndarray:
    """``edges`` (bool) grown by ``width`` px in chessboard distance."""
    if width <= 0:
        return edges.copy()
    return cv2.dilate(edges.astype(np.uint8), np.ones((2 * width + 1, 2 * width + 1), np.uint8)).astype(bool)


def _below(z: np.ndarray, p: float) -> np.ndarray:
    """Where a unit-normal field lies below its ``p`` quantile (a fraction ``p`` of the pixels)."""
    if p <= 0:
        return np.zeros(z.shape, bool)
    if p >= 1:
        return np.ones(z.shape, bool)
    return z < NormalDist().inv_cdf(p)


class Degrader:
    """Degradation of the frames of one sequence (size H x W) with temporally coherent fields.

    ``apply(gt, t, labels)`` returns ``(degraded, error_mask)`` for frame ``t``; deterministic in
    ``(seed, t)``. With ``labels`` (the scene's surface labels) edges are :func:`label_edges`, else
    :func:`depth_edges`.
    """

    def __init__(self, config: DegradeConfig, seed: int, shape: tuple[int, int]) -> None:
        self.config = config
        self.seed = int(seed)
        self.shape = (int(shape[0]), int(shape[1]))
        self._cache: dict[tuple[str, int], np.ndarray] = {}

    def _noise(self, name: str, k: int) -> np.ndarray:
        # each field has its own seed, so fields are made only when needed (t = 0 needs k = 0 only)
        if (name, k) not in self._cache:
            scale, octaves = {"width": (1.0, 2), "on": (1.5, 1), "side": (2.0, 1), "soft": (1.5, 1),
                              "hole": (1.5, 1)}[name]
            names = ("width", "on", "side", "soft", "hole")
            rng = np.random.default_rng([self.seed, 0xDE6, names.index(name), k])
            self._cache[name, k] = smooth_noise(rng, *self.shape, self.config.scale * scale, octaves)
        return self._cache[name, k]

    def _field(self, name: str, t: float) -> np.ndarray:
        """Unit-normal field at time ``t``: two independent fields mixed by a phase turning with t."""
        a = 2 * math.pi * t / self.config.temporal_period if self.config.temporal_period > 0 else 0.0
        if a == 0.0:
            return self._noise(name, 0)
        return math.cos(a) * self._noise(name, 0) + math.sin(a) * self._noise(name, 1)

    def apply(self, gt: np.ndarray, t: float = 0,
              labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        c = self.config
        if gt.shape != self.shape:
            raise ValueError(f"frame shape {gt.shape} differs from the degrader's {self.shape}")
        peak = depth_peak(gt)
        thr = c.edge_threshold * peak / 255.0
        edges = (depth_edges(gt, c.edge_threshold) if labels is None
                 else label_edges(labels, gt, c.edge_threshold))
        out = gt.copy()
        if c.max_width > 0 and c.p_degrade > 0:
            band = _widen(edges, c.max_width)
            z = self._field("width", t)
            n = c.max_width - c.min_width + 1  # widths min..max equally likely
            width = np.full(gt.shape, c.min_width, np.int32)
            for k in range(1, n):
                width += ~_below(z, k / n)
            on = band & _below(self._field("on", t), c.p_degrade) & (width > 0)
            inflate = _below(self._field("side", t), c.p_inflate)
            g = gt.astype(np.float32)
            for r in range(1, c.max_width + 1):
                sel = on & (width == r)
                if not sel.any():
                    continue
                k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
                dil, ero = cv2.dilate(gt, k), cv2.erode(gt, k)
                take_d = sel & inflate & (dil.astype(np.float32) - g >= thr)
                take_e = sel & ~inflate & (g - ero.astype(np.float32) >= thr)
                if c.keep_thin:
                    # opening / closing drop structures / gaps thinner than 2r+1: leave those whole
                    take_e &= g - cv2.dilate(ero, k).astype(np.float32) < thr
                    take_d &= cv2.erode(dil, k).astype(np.float32) - g < thr
                out[take_d] = dil[take_d]
                out[take_e] = ero[take_e]
        if c.lowres > 1:
            out = self._lowres(edges, out)
        if c.soft_width > 0 and c.p_soft > 0:
            out = self._soft(edges, out, t)
        if c.edge_holes > 0:
            out = self._holes(gt, edges, out, t, thr)
        if c.shift > 0:
            dy, dx = self.shift_offset()
            m = np.float32([[1, 0, dx], [0, 1, dy]])
            out = cv2.warpAffine(out, m, (out.shape[1], out.shape[0]), flags=cv2.INTER_NEAREST,
                                 borderMode=cv2.BORDER_REPLICATE)
        out = _extras(out, c, np.random.default_rng([self.seed, 0xE77, int(round(t * 1000))]), peak)
        return out, out != gt


    def _widths(self, t: float, top: int) -> np.ndarray:
        """Per-pixel width 1..top from the width field (equally likely)."""
        z = self._field("width", t)
        width = np.ones(self.shape, np.int32)
        for k in range(1, top):
            width += ~_below(z, k / top)
        return width

    def _soft(self, edges: np.ndarray, out: np.ndarray, t: float) -> np.ndarray:
        c = self.config
        on = _below(self._field("soft", t), c.p_soft)
        width = self._widths(t, c.soft_width)
        src = out.astype(np.float32)
        res = out.copy()
        for r in range(1, c.soft_width + 1):
            sel = on & (width == r) & _widen(edges, r)
            if sel.any():
                ramp = cv2.blur(src, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REPLICATE)
                res[sel] = np.rint(ramp[sel]).astype(out.dtype)
        return res

    def _lowres(self, edges: np.ndarray, out: np.ndarray) -> np.ndarray:
        c, (h, w) = self.config, self.shape
        f = c.lowres
        small_size = (max(1, -(-w // f)), max(1, -(-h // f)))
        if c.lowres_linear:
            up = cv2.resize(cv2.resize(out.astype(np.float32), small_size, interpolation=cv2.INTER_AREA),
                            (w, h), interpolation=cv2.INTER_LINEAR)
            up = np.rint(up).astype(out.dtype)
        else:
            up = cv2.resize(cv2.resize(out, small_size, interpolation=cv2.INTER_NEAREST), (w, h),
                            interpolation=cv2.INTER_NEAREST)
        band = _widen(edges, f)
        res = out.copy()
        res[band] = up[band]
        return res

    def _holes(self, gt: np.ndarray, edges: np.ndarray, out: np.ndarray, t: float, thr: float) -> np.ndarray:
        c = self.config
        on = _below(self._field("hole", t), c.edge_holes)
        width = self._widths(t, c.hole_width)
        g = gt.astype(np.float32)
        res = out.copy()
        for r in range(1, c.hole_width + 1):
            sel = on & (width == r)
            if sel.any():
                k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
                far = cv2.dilate(gt, k).astype(np.float32) - g >= thr  # a nearer surface within r px
                res[sel & far & _widen(edges, r)] = 0  # ... across an edge
        return res

    def shift_offset(self) -> tuple[int, int]:
        """The misregistration (dy, dx) of this sequence: integers in -shift..shift, not both 0."""
        s = self.config.shift
        rng = np.random.default_rng([self.seed, 0x5F7])
        while True:
            dy, dx = (int(v) for v in rng.integers(-s, s + 1, 2))
            if dy or dx:
                return dy, dx


def _extras(d: np.ndarray, c: DegradeConfig, rng: np.random.Generator, peak: float) -> np.ndarray:
    if c.blur_sigma > 0:
        d = cv2.GaussianBlur(d, (0, 0), c.blur_sigma)
    if c.noise_std > 0:
        n = rng.normal(0, c.noise_std * peak / 255.0, d.shape)
        d = np.clip(np.rint(d + n), 0, peak).astype(d.dtype)
    if c.holes > 0:
        h, w = d.shape
        m = np.zeros((h, w), np.uint8)
        for _ in range(c.holes):
            cx, cy = int(rng.integers(w)), int(rng.integers(h))
            ax, ay = (int(rng.integers(2, max(3, w // 30))), int(rng.integers(2, max(3, h // 30))))
            cv2.ellipse(m, (cx, cy), (ax, ay), float(rng.uniform(0, 180)), 0, 360, 1, -1)
        d = d.copy()
        d[m.astype(bool)] = 0
    if c.jpeg_quality > 0:
        if d.dtype != np.uint8:
            raise ValueError("jpeg_quality applies to 8-bit depth only")
        ok, buf = cv2.imencode(".jpg", d, [cv2.IMWRITE_JPEG_QUALITY, int(c.jpeg_quality)])
        d = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return d


def degrade(gt: np.ndarray, config: DegradeConfig = DegradeConfig(), seed: int = 0,
            t: float = 0, labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Degrade one ground-truth depth frame (H x W uint8 / uint16; ``labels``: its surface labels,
    see :meth:`Degrader.apply`). Returns ``(degraded, error_mask)`` where
    ``error_mask == (degraded != gt)``."""
    return Degrader(config, seed, gt.shape).apply(gt, t, labels)
