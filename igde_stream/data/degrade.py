"""Simulated depth boundary errors (paper section 4: "randomly inflate or reduce depth values at
object boundaries"), plus optional extras kept as separate, named options.

Boundary errors. A depth edge is a pair of 4-neighbours whose depths differ by at least
``edge_threshold`` (in 8-bit levels; scaled to the peak for 16-bit). Along each edge a smooth random
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

Extras, all off by default and applied to the whole frame after the boundary errors, in this order:
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

from .synthetic import smooth_noise

__all__ = ["DegradeConfig", "Degrader", "degrade", "depth_edges", "boundary_band"]


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

    def __post_init__(self) -> None:
        if not 0 <= self.min_width <= self.max_width:
            raise ValueError(f"need 0 <= min_width <= max_width, got {self.min_width}, {self.max_width}")
        for name in ("p_degrade", "p_inflate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.edge_threshold <= 0 or self.scale <= 0:
            raise ValueError("edge_threshold and scale must be > 0")
        if not 0 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 0..100 (0 = off), got {self.jpeg_quality}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _peak(depth: np.ndarray) -> float:
    if depth.dtype == np.uint8:
        return 255.0
    if depth.dtype == np.uint16:
        return 65535.0
    raise ValueError(f"depth must be uint8 or uint16, got {depth.dtype}")


def depth_edges(depth: np.ndarray, threshold: float = 2.0) -> np.ndarray:
    """Pixels on either side of a 4-neighbour depth jump of >= ``threshold`` 8-bit levels (bool)."""
    thr = threshold * _peak(depth) / 255.0
    d = depth.astype(np.float32)
    e = np.zeros(d.shape, bool)
    jx = np.abs(d[:, 1:] - d[:, :-1]) >= thr
    jy = np.abs(d[1:, :] - d[:-1, :]) >= thr
    e[:, 1:] |= jx
    e[:, :-1] |= jx
    e[1:, :] |= jy
    e[:-1, :] |= jy
    return e


def boundary_band(depth: np.ndarray, width: int, threshold: float = 2.0) -> np.ndarray:
    """Pixels within ``width`` px (chessboard distance) of a depth edge pixel (bool)."""
    e = depth_edges(depth, threshold).astype(np.uint8)
    if width > 0:
        e = cv2.dilate(e, np.ones((2 * width + 1, 2 * width + 1), np.uint8))
    return e.astype(bool)


def _below(z: np.ndarray, p: float) -> np.ndarray:
    """Where a unit-normal field lies below its ``p`` quantile (a fraction ``p`` of the pixels)."""
    if p <= 0:
        return np.zeros(z.shape, bool)
    if p >= 1:
        return np.ones(z.shape, bool)
    return z < NormalDist().inv_cdf(p)


class Degrader:
    """Degradation of the frames of one sequence (size H x W) with temporally coherent fields.

    ``apply(gt, t)`` returns ``(degraded, error_mask)`` for frame ``t``; deterministic in
    ``(seed, t)``.
    """

    def __init__(self, config: DegradeConfig, seed: int, shape: tuple[int, int]) -> None:
        self.config = config
        self.seed = int(seed)
        self.shape = (int(shape[0]), int(shape[1]))
        self._cache: dict[tuple[str, int], np.ndarray] = {}

    def _noise(self, name: str, k: int) -> np.ndarray:
        # each field has its own seed, so fields are made only when needed (t = 0 needs k = 0 only)
        if (name, k) not in self._cache:
            scale, octaves = {"width": (1.0, 2), "on": (1.5, 1), "side": (2.0, 1)}[name]
            rng = np.random.default_rng([self.seed, 0xDE6, ("width", "on", "side").index(name), k])
            self._cache[name, k] = smooth_noise(rng, *self.shape, self.config.scale * scale, octaves)
        return self._cache[name, k]

    def _field(self, name: str, t: float) -> np.ndarray:
        """Unit-normal field at time ``t``: two independent fields mixed by a phase turning with t."""
        a = 2 * math.pi * t / self.config.temporal_period if self.config.temporal_period > 0 else 0.0
        if a == 0.0:
            return self._noise(name, 0)
        return math.cos(a) * self._noise(name, 0) + math.sin(a) * self._noise(name, 1)

    def apply(self, gt: np.ndarray, t: float = 0) -> tuple[np.ndarray, np.ndarray]:
        c = self.config
        if gt.shape != self.shape:
            raise ValueError(f"frame shape {gt.shape} differs from the degrader's {self.shape}")
        peak = _peak(gt)
        thr = c.edge_threshold * peak / 255.0
        out = gt.copy()
        if c.max_width > 0 and c.p_degrade > 0:
            band = boundary_band(gt, c.max_width, c.edge_threshold)
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
        out = _extras(out, c, np.random.default_rng([self.seed, 0xE77, int(round(t * 1000))]), peak)
        return out, out != gt


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
            t: float = 0) -> tuple[np.ndarray, np.ndarray]:
    """Degrade one ground-truth depth frame (H x W uint8 / uint16). Returns ``(degraded, error_mask)``
    where ``error_mask == (degraded != gt)``."""
    return Degrader(config, seed, gt.shape).apply(gt, t)
