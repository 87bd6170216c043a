"""Looking Glass quilts: ``QuiltSpec``, the per-device ``QUILT_PRESETS``, packing and unpacking, and
the ``_qs{C}x{R}a{aspect}`` file-name suffix (``quilt_path``)."""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import OutputError
from .grid import fit_view


@dataclass(frozen=True)
class QuiltSpec:
    """``cols`` x ``rows`` tiles. ``size`` (W, H) and ``aspect`` None: tiles are the views
    themselves and the aspect is view width / height; a preset fixes both (tiles ``size // (C, R)``,
    each shown by the display at ``aspect``)."""

    cols: int
    rows: int
    size: tuple[int, int] | None = None
    aspect: float | None = None

    def __post_init__(self) -> None:
        whole = lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool)  # noqa: E731
        if not (whole(self.cols) and whole(self.rows)):
            raise ValueError(f"quilt needs whole numbers of tiles, got {self.cols!r} x {self.rows!r}")
        if self.cols < 1 or self.rows < 1:
            raise ValueError(f"quilt needs at least 1 x 1 tiles, got {self.cols}x{self.rows}")
        if (self.size is None) != (self.aspect is None):
            raise ValueError("a quilt size needs an aspect and the reverse")
        if self.size is not None:
            w, h = self.size
            if not (whole(w) and whole(h) and w >= self.cols and h >= self.rows):  # tiles are size // (C, R)
                raise ValueError(f"a {w}x{h} quilt has no room for {self.cols}x{self.rows} tiles")
            if not (isinstance(self.aspect, numbers.Real) and math.isfinite(self.aspect) and self.aspect > 0):
                raise ValueError(f"quilt aspect must be a finite number > 0, got {self.aspect!r}")

    def tile(self, view_size: tuple[int, int]) -> tuple[int, int]:
        return view_size if self.size is None else (self.size[0] // self.cols, self.size[1] // self.rows)

    def aspect_for(self, view_size: tuple[int, int], view_par: float = 1.0) -> float:
        """The aspect a display shows each tile at: the preset's, else the views' as a player shows
        them (``view_par``: their pixels' width : height, non-square in anamorphic video)."""
        return view_size[0] * view_par / view_size[1] if self.aspect is None else self.aspect


# published per-device quilt settings (Looking Glass "What is a quilt", and the device templates of
# Looking Glass Bridge / its toolkit): Portrait 3:4, Go 9:16 (portrait), 16" and 32" (landscape, 2nd
# generation) and 65" 16:9
QUILT_PRESETS = {
    "portrait": QuiltSpec(8, 6, (3360, 3360), 0.75),
    "go": QuiltSpec(11, 6, (4092, 4092), 0.5625),
    "16in": QuiltSpec(5, 9, (4096, 4096), 16 / 9),
    "32in": QuiltSpec(5, 9, (8192, 8192), 16 / 9),
    "65in": QuiltSpec(8, 9, (8192, 8192), 16 / 9),
}


def parse_quilt(text: str) -> QuiltSpec:
    """``"CxR"`` (e.g. ``8x6``) -> a QuiltSpec whose tiles are the views."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise ValueError(f"quilt {text!r}: use COLUMNSxROWS, e.g. 8x6")
    return QuiltSpec(int(m[1]), int(m[2]))


def pack_quilt(views: np.ndarray, spec: QuiltSpec, view_par: float = 1.0) -> np.ndarray:
    """Views N x h x w x 3 (N <= C * R, leftmost first) -> quilt: view k in column ``k % C`` of row
    ``k // C`` counted from the bottom; empty tiles black. Without a preset size the quilt is
    (C * w) x (R * h); with one, each view is fitted into its tile (``fit_view``, keeping its aspect
    as the display shows the tile at ``spec.aspect``; ``view_par``: the views' pixel aspect, as a
    player shows them)."""
    n, h, w = views.shape[:3]
    if n > spec.cols * spec.rows:
        raise ValueError(f"{n} views do not fit a {spec.cols}x{spec.rows} quilt")
    tw, th = spec.tile((w, h))
    qw, qh = spec.size or (spec.cols * w, spec.rows * h)
    par = 1.0 if spec.aspect is None else spec.aspect * th / tw
    out = np.zeros((qh, qw, 3), np.uint8)
    for k in range(n):
        y0, x0 = qh - (k // spec.cols + 1) * th, (k % spec.cols) * tw
        out[y0 : y0 + th, x0 : x0 + tw] = views[k] if spec.size is None else fit_view(views[k], (tw, th), par, view_par)
    return out


def unpack_quilt(quilt: np.ndarray, cols: int, rows: int, n_views: int | None = None) -> np.ndarray:
    """Quilt H x W x 3 -> views N x (H // R) x (W // C) x 3 (N defaults to C * R), the inverse of
    ``pack_quilt``: tiles taken from the bottom-left corner, left to right, then up."""
    n = cols * rows if n_views is None else n_views
    qh, qw = quilt.shape[:2]
    tw, th = qw // cols, qh // rows
    if not 1 <= n <= cols * rows or tw < 1 or th < 1:
        raise ValueError(f"cannot take {n} views from a {qw}x{qh} image as a {cols}x{rows} quilt")
    return np.stack([quilt[qh - (k // cols + 1) * th : qh - (k // cols) * th, (k % cols) * tw : (k % cols + 1) * tw]
                     for k in range(n)])


_QS = re.compile(r"_qs(\d+)x(\d+)(?:a(\d+(?:\.\d+)?))?", re.IGNORECASE)


def quilt_path(out: str | Path, cols: int, rows: int, aspect: float) -> Path:
    """``out`` with ``_qs{C}x{R}a{aspect}`` at the end of its stem (aspect rounded to 2 decimals, as
    Looking Glass advises for its aspect metadata), or ``out`` itself when it ends in one. Every
    ``_qs`` tag already in the name, anywhere and with or without its aspect, must agree with the
    options (aspect within 0.01), else ``OutputError``: players read the first tag they find."""
    out = Path(out)
    want = f"qs{cols}x{rows}a{round(aspect, 2):g}"
    tags = list(_QS.finditer(out.stem))
    for m in tags:
        if (int(m[1]), int(m[2])) != (cols, rows) or (m[3] is not None and abs(float(m[3]) - aspect) > 0.01):
            raise OutputError(f"the name says {m[0][1:]} but the options give {want}; rename it or drop the tag", out)
    if tags and tags[-1].end() == len(out.stem) and tags[-1][3] is not None:
        return out
    return out.with_name(f"{out.stem}_{want}{out.suffix}")
