"""Grid packing of views, and ``fit_view`` (a view scaled into a canvas), which the quilt and
lenticular layouts share. The stereo packings (side by side, top and bottom, anaglyph) are in ``stereo``."""

from __future__ import annotations

import math

import numpy as np


def grid_shape(n: int, rows: int | None = None, cols: int | None = None) -> tuple[int, int]:
    """(rows, cols) of the tile grid for ``n`` views.

    Given one side, the other is the smallest that fits. Otherwise: the factorisation of ``n``
    closest to square with cols >= rows (8 -> 2 x 4, 9 -> 3 x 3, 6 -> 2 x 3); when that would be
    more than twice as wide as tall (primes such as 5 or 7), a near-square grid with blank tiles.
    """
    if n < 1:
        raise ValueError(f"need at least one view, got {n}")
    for name, v in (("rows", rows), ("cols", cols)):
        if v is not None and v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    if rows or cols:
        if rows and cols and rows * cols < n:
            raise ValueError(f"a {rows} x {cols} grid holds {rows * cols} tiles, fewer than {n} views")
        r, c = rows or -(-n // cols), cols or -(-n // rows)
        if (r - 1) * c >= n or r * (c - 1) >= n:  # a whole row or column of black tiles
            raise ValueError(f"{r} x {c} tiles for {n} views leave a whole row or column blank; "
                             f"automatic for {n}: {' x '.join(map(str, grid_shape(n)))}")
        return r, c
    r = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
    if n // r <= 2 * r:
        return r, n // r
    c = math.ceil(math.sqrt(n))
    return -(-n // c), c


def tile_grid(views: np.ndarray, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    """Views N x H x W x 3 -> one frame (rows * H) x (cols * W) x 3, row-major, blank tiles black."""
    n, h, w, c = views.shape
    r, cc = grid_shape(n, rows, cols)
    out = np.zeros((r * cc, h, w, c), dtype=views.dtype)
    out[:n] = views
    return out.reshape(r, cc, h, w, c).transpose(0, 2, 1, 3, 4).reshape(r * h, cc * w, c)


def fit_view(view: np.ndarray, size: tuple[int, int], par: float = 1.0, view_par: float = 1.0) -> np.ndarray:
    """``view`` h x w x 3 scaled to fit a black W x H canvas (``size``), centred, keeping its aspect
    as shown on a display whose pixels are ``par`` times as wide as tall (the display stretches the
    canvas); ``view_par``: the view's own pixels' width : height (anamorphic video: its sample aspect
    ratio), so that it keeps the aspect a player shows it at (w * view_par : h); unchanged when it
    already is W x H and ``par`` equals ``view_par``. Shrinking uses ``cv2.INTER_AREA``; enlarging
    ``cv2.INTER_LINEAR`` (INTER_AREA enlarges like nearest neighbour: blocks)."""
    import cv2

    h, w = view.shape[:2]
    cw, ch = size
    if (w, h) == (cw, ch) and par == view_par:
        return view
    s = min(cw * par / (w * view_par), ch / h)  # scale in display units (canvas rows are 1 high)
    fw, fh = min(cw, max(1, round(s * w * view_par / par))), min(ch, max(1, round(s * h)))
    interp = cv2.INTER_AREA if fw <= w and fh <= h else cv2.INTER_LINEAR
    if (fw, fh) == (cw, ch):
        return cv2.resize(view, (fw, fh), interpolation=interp)
    out = np.zeros((ch, cw, 3), np.uint8)
    y0, x0 = (ch - fh) // 2, (cw - fw) // 2
    out[y0 : y0 + fh, x0 : x0 + fw] = cv2.resize(view, (fw, fh), interpolation=interp)
    return out
