"""Depth order: which way depth values grow, and how each order is normalised for the network.

The network, the views and the RGB-D output work on normalised depth that grows toward the camera
(``near-high``: disparity, inverse depth, the 8-bit depth of 3D pipelines): ``x = v / P`` for a
peak ``P`` (255, 65535 or ``max_depth``).

Distance maps from ToF, Kinect-type and LiDAR sensors grow away from the camera (``far-high``, e.g.
millimetres) and mark a pixel without a measurement with 0. They are read as inverse depth, which
is what disparity is and what the network learned (planes are affine in it, views shift by it):
``x = min(1, n / v)`` with the near limit ``n = P / NEAR_RATIO`` (``P``, the far limit: ``max_depth``
or the dtype's peak), so ``--max-depth 5000`` on millimetres reads 0.25 m .. 5 m as 1.0 .. 0.05.
0 stays 0 (no measurement = the farthest, as the network learned holes). The ratio 20 was measured
(tools/eval_distance.py, ICL-NUIM paper errors): against 10 it is as good at --max-depth 25000
(+0.16 dB) and keeps working when --max-depth is set well above the scene's depth (60000: +5.4 dB
over the input, against +0.8 dB with 10, whose near limit clips the nearest pixels).

Back from the network's output ``y``: ``round(y P)`` (near-high) or ``round(n / y)``, at most ``P``,
0 for ``y = 0`` (far-high). ``n / v`` in float32 keeps 16-bit values apart, so a value the selection
head copies from a pixel farther than ``n`` comes back exactly; a pixel whose output is its own input
keeps its own value (also nearer than ``n``, where the input was clipped to 1).
"""

from __future__ import annotations

import numpy as np

ORDERS = ("near-high", "far-high")
NEAR_RATIO = 20.0  # far-high: the near limit is the far limit / 20


def check_order(order: str) -> str:
    if order not in ORDERS:
        raise ValueError(f"depth order must be near-high or far-high, got {order!r}")
    return order


def near_limit(peak: float) -> np.float32:
    """Far-high depth: the distance read as 1.0 (nearer is clipped to 1.0)."""
    return np.float32(peak / NEAR_RATIO)


def normalize(depth: np.ndarray, peak: float, order: str = "near-high") -> np.ndarray:
    """Integer depth -> float32 in [0, 1], larger = nearer (see the module docstring). Values above
    ``peak`` give 1.0 (near-high) or 0 (far-high: beyond the far limit); callers that keep them pass
    them through."""
    d = np.asarray(depth).astype(np.float32)
    if check_order(order) == "near-high":
        return np.clip(d / np.float32(peak), 0.0, 1.0)
    measured = (d > 0) & (d <= np.float32(peak))
    with np.errstate(divide="ignore"):
        x = np.minimum(near_limit(peak) / d, np.float32(1.0))
    return np.where(measured, x, np.float32(0.0)).astype(np.float32)


def denormalize(y: np.ndarray, peak: float, order: str, dtype: np.dtype, source: np.ndarray | None = None,
                source_x: np.ndarray | None = None) -> np.ndarray:
    """The network's output ``y`` (float, larger = nearer) -> integer depth of ``dtype`` in ``order``.

    Far-high: where ``y`` equals ``source_x`` (the normalised input) bit for bit, ``source`` (the
    input) is returned as it was."""
    y = np.clip(np.asarray(y, dtype=np.float32), 0.0, 1.0)
    if check_order(order) == "near-high":
        return np.rint(y * np.float32(peak)).astype(dtype)
    with np.errstate(divide="ignore"):
        v = np.where(y > 0, np.minimum(np.float64(near_limit(peak)) / y.astype(np.float64), float(int(peak))), 0.0)
    out = np.rint(v).astype(dtype)
    if source is not None and source_x is not None:
        same = y == source_x
        out[same] = np.asarray(source)[same]
    return out


def normalize_unit(depth01: np.ndarray, order: str = "near-high") -> np.ndarray:
    """Float depth already in [0, 1] (1.0 = the far limit when far-high) -> [0, 1], larger = nearer."""
    d = np.clip(np.asarray(depth01, dtype=np.float32), 0.0, 1.0)
    if check_order(order) == "near-high":
        return d
    with np.errstate(divide="ignore"):
        return np.where(d > 0, np.minimum(np.float32(1.0 / NEAR_RATIO) / d, np.float32(1.0)),
                        np.float32(0.0)).astype(np.float32)
