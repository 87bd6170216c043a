"""Slanted-lenticular panels: the calibration (``LenticularCalibration``), van Berkel's view map and
the per-subpixel interleaving of the views (``Interleaver``)."""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .grid import fit_view


@dataclass(frozen=True)
class LenticularCalibration:
    """A slanted-lenticular panel: ``n_views`` N, lens ``pitch`` X (subpixels, horizontal),
    ``tan_slant`` tan a, ``offset`` k_off (subpixels), the panel's ``subpixel_order`` (RGB, BGR) and
    ``inverted``: the subpixel of view number n shows view N - 1 - floor(n) instead of floor(n), as a
    lens (or a barrier's slit) mirrors what lies under it (Looking Glass's calibrations: invView 1).
    JSON: the same keys (``from_json``); unknown keys are an error."""

    n_views: int
    pitch: float
    tan_slant: float
    offset: float = 0.0
    subpixel_order: str = "RGB"
    inverted: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.n_views, bool) or not isinstance(self.n_views, numbers.Integral) or self.n_views < 2:
            raise ValueError(f"n_views must be an integer >= 2, got {self.n_views!r}")
        for name in ("pitch", "tan_slant", "offset"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):  # np.float32 too
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        if not self.pitch > 0:
            raise ValueError(f"pitch must be > 0 (subpixels), got {self.pitch!r}")
        if self.subpixel_order not in ("RGB", "BGR"):
            raise ValueError(f"subpixel_order must be RGB or BGR, got {self.subpixel_order!r}")
        if not isinstance(self.inverted, bool):
            raise ValueError(f"inverted must be true or false, got {self.inverted!r}")

    @classmethod
    def from_json(cls, path: str | Path) -> "LenticularCalibration":
        try:
            data = json.loads(Path(path).read_text())
        except OSError as exc:
            raise InputError(f"cannot read the calibration ({exc.strerror or exc})", path) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"not JSON ({exc})", path) from None
        return cls.from_data(data, path)

    @classmethod
    def from_data(cls, data: Any, path: str | Path) -> "LenticularCalibration":
        """The calibration of a parsed calibration file ``data`` (``path``: for the messages)."""
        keys = [f.name for f in fields(cls)]
        if not isinstance(data, dict):
            raise InputError(f"a calibration is a JSON object with keys {', '.join(keys)}", path)
        extra, missing = sorted(set(data) - set(keys)), [k for k in keys[:3] if k not in data]
        if extra or missing:
            what = f"unknown key(s) {', '.join(extra)}" if extra else f"missing key(s) {', '.join(missing)}"
            raise InputError(f"{what}; a calibration has {', '.join(keys)}", path)
        try:
            return cls(**data)
        except ValueError as exc:
            raise InputError(str(exc), path) from None


def view_number(cal: LenticularCalibration, width: int, height: int) -> np.ndarray:
    """van Berkel's view number (SPIE 3639, 1999) for every subpixel of a ``width`` x ``height``
    pixel panel: height x 3*width float64 in panel order,

        n(k, l) = ((k + k_off - 3 l tan a) mod X) * N / X        in [0, N)

    k: subpixel column (3 per pixel, left to right in the panel's order: R, G, B or B, G, R);
    l: pixel row from the top. Lens boundaries are the lines k + k_off - 3 l tan a = 0 (mod X): a
    pixel is 3 subpixels wide and 1 row tall, so one row down the lenses sit 3 tan a subpixels
    further right (tan a > 0 leans them from top left to bottom right). n is the position under
    the lens in view widths, increasing to the right; view i takes n in [i, i + 1).
    """
    k = np.arange(3 * width, dtype=np.float64)[None, :]
    l3 = 3.0 * np.arange(height, dtype=np.float64)[:, None]
    # multiply before dividing, so that hand-exact cases (X = 4.5, N = 9) stay exact in floats
    return np.mod(k + cal.offset - l3 * cal.tan_slant, cal.pitch) * cal.n_views / cal.pitch


def channel_view_number(cal: LenticularCalibration, width: int, height: int) -> np.ndarray:
    """``view_number`` as height x width x 3 in RGB channel order (a BGR panel's R is its 3rd subpixel)."""
    n = view_number(cal, width, height).reshape(height, width, 3)
    return n[..., ::-1] if cal.subpixel_order == "BGR" else n


def nearest_view(n: np.ndarray, n_views: int) -> np.ndarray:
    """The view whose zone [i, i + 1) holds ``n``: floor, not round. Floor gives every view an equal
    share of each lens and never N; round would shift every zone by half a view (a change of k_off
    by X / 2N, the calibration's business) and wrap the top half-zone to view 0. The 1e-9 keeps
    values that are integers by hand but a hair below in floats in their zone."""
    return np.minimum(np.floor(n + 1e-9), n_views - 1).astype(np.intp)


class Interleaver:
    """Composes the panel image (H x W x 3 uint8 RGB, ``panel`` = (W, H)) from N views of
    ``view_size`` (w, h): each view fitted to the panel (``fit_view``), then each subpixel taken from
    view ``nearest_view(n)``, or with ``blend`` linearly from the two views whose centres (i + 1/2)
    are nearest: u = n - 1/2, views floor(u) and floor(u) + 1 with weights 1 - frac(u), frac(u);
    clamped to view 0 / N-1 at the lens edges (no mixing of the two extreme views); an ``inverted``
    calibration gives view i's subpixels to view N - 1 - i. The subpixel maps are computed once
    here; ``compose`` is per frame."""

    def __init__(self, cal: LenticularCalibration, panel: tuple[int, int], view_size: tuple[int, int],
                 blend: bool = False, view_par: float = 1.0) -> None:
        pw, ph = panel
        if pw < view_size[0] or ph < view_size[1]:
            raise ValueError(f"the panel {pw}x{ph} is smaller than the views {view_size[0]}x{view_size[1]}")
        self.cal, self.panel, self.view_size, self.blend = cal, (pw, ph), tuple(view_size), blend
        self.view_par = view_par  # the views' pixel aspect (anamorphic video): fitted as a player shows them
        n = channel_view_number(cal, pw, ph).ravel()
        if not blend:
            v = nearest_view(n, cal.n_views)
            self.parts = [[(np.flatnonzero(v == i), None)] for i in range(cal.n_views)]
        else:
            self._blend_parts(n)
        if cal.inverted:
            self.parts.reverse()

    def _blend_parts(self, n: np.ndarray) -> None:
        cal = self.cal
        u = np.clip(n - 0.5, 0.0, cal.n_views - 1.0)
        i0 = np.minimum(np.floor(u), cal.n_views - 2).astype(np.intp)
        f = (u - i0).astype(np.float32)
        self.parts = []
        for i in range(cal.n_views):
            lo, hi = np.flatnonzero(i0 == i), np.flatnonzero((i0 + 1 == i) & (f > 0))
            self.parts.append([(lo, 1 - f[lo]), (hi, f[hi])])

    def compose(self, views: np.ndarray) -> np.ndarray:
        n, h, w = views.shape[:3]
        if n != self.cal.n_views or (w, h) != self.view_size:
            raise ValueError(f"expected {self.cal.n_views} views of {self.view_size[0]}x{self.view_size[1]}, "
                             f"got {n} of {w}x{h}")
        pw, ph = self.panel
        acc = np.zeros(ph * pw * 3, np.float32 if self.blend else np.uint8)
        for view, parts in zip(views, self.parts):
            flat = fit_view(view, (pw, ph), 1.0, self.view_par).reshape(-1)
            for idx, weight in parts:
                acc[idx] += flat[idx] if weight is None else flat[idx] * weight
        if self.blend:
            acc = np.rint(acc).clip(0, 255).astype(np.uint8)
        return acc.reshape(ph, pw, 3)
