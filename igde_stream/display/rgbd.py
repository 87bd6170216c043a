"""RGB-D frames: colour | depth side by side, depth as 8-bit gray in all three channels."""

from __future__ import annotations

import numpy as np

from .. import multiview as mv

NEAR = ("white", "black")


def depth_to_8bit(depth: np.ndarray, max_depth: float | None = None, order: str = "near-high") -> np.ndarray:
    """Depth H x W (uint8 / uint16 / float, see ``multiview.normalize_depth``; far-high ``order``
    read as inverse depth there) -> uint8, 255 = the nearest (1.0): uint8 unchanged, uint16
    ``round(d * 255 / 65535)``, else ``round(255 * d01)``."""
    depth = np.asarray(depth)
    if order != "near-high":
        return np.rint(mv.normalize_depth(depth, max_depth, order) * np.float32(255)).astype(np.uint8)
    if max_depth is None and depth.dtype == np.uint8:
        return depth
    if max_depth is None and depth.dtype == np.uint16:
        return ((depth.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return np.rint(mv.normalize_depth(depth, max_depth) * np.float32(255)).astype(np.uint8)


def rgbd_frame(color: np.ndarray, depth: np.ndarray, near: str = "white", max_depth: float | None = None,
               order: str = "near-high") -> np.ndarray:
    """Colour H x W x 3 uint8 and depth H x W -> H x 2W x 3 uint8: colour on the left, 8-bit depth
    (``depth_to_8bit``, ``order`` as there) as gray on the right; ``near`` white: 255 = nearest,
    black: 0 = nearest."""
    if near not in NEAR:
        raise ValueError(f"near must be white or black, got {near!r}")
    color, depth = np.asarray(color), np.asarray(depth)  # a CPU tensor, lists: as warp_views takes them
    mv.check_not_swapped(color, depth)
    if color.ndim != 3 or color.shape[2] != 3 or color.dtype != np.uint8 or depth.shape != color.shape[:2]:
        raise ValueError(f"need colour H x W x 3 uint8 and depth H x W, got {color.shape} {color.dtype}, {depth.shape}")
    d8 = near_white(depth_to_8bit(depth, max_depth, order), near)
    return np.concatenate([color, np.repeat(d8[..., None], 3, axis=2)], axis=1)


def near_white(d8: np.ndarray, near: str) -> np.ndarray:
    """8-bit depth between larger = nearer and the RGB-D picture's ``near`` colour: unchanged for
    white, ``255 - d`` for black (its own inverse, so it both packs and unpacks)."""
    return 255 - d8 if near == "black" else d8


def halves(frame: np.ndarray, axis: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(first, second) half of a packed frame, as views of it: left | right (``axis`` 1) or top /
    bottom (0); ``ValueError`` when that side is odd."""
    n = frame.shape[axis]
    if n % 2:
        raise ValueError(f"an odd {'width' if axis == 1 else 'height'} ({n}) does not split into two halves")
    first, second = np.split(frame, 2, axis=axis)
    return first, second


def unpack_rgbd(frame: np.ndarray, near: str = "white") -> tuple[np.ndarray, np.ndarray]:
    """H x 2W x 3 RGB-D frame -> (colour H x W x 3, depth H x W uint8, larger = nearer); the depth
    is the rounded mean of the right half's three channels (equal when lossless)."""
    if near not in NEAR:
        raise ValueError(f"near must be white or black, got {near!r}")
    color, right = halves(frame)
    return np.ascontiguousarray(color), near_white(((right.astype(np.uint16).sum(-1) + 1) // 3).astype(np.uint8), near)
