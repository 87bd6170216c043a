"""A Looking Glass display's own calibration (``visual.json``, as Looking Glass's software reads it
from the device) turned into the van Berkel calibration of ``lenticular`` and the screen's size.

Looking Glass's lenticular shader gives the subpixel of channel i (0, 1, 2 from the left) of the
pixel at texture coordinates (u, v) (pixel centres; v from the bottom) the lens position

    a = frac((u + i * subp + v * tilt) * P - center'),   P = pitch * W / DPI * cos(atan(1 / slope)),
    tilt = H / (W * slope), subp = 1 / (3 W), center' = center,

with ``pitch`` in lenses per inch, W x H the screen in pixels; view floor(a N) of N, or the mirrored
one with ``invView``; ``flipSubp`` swaps R and B (a BGR panel). ``flipImageX`` negates tilt and subp
and adds half a lens to the center (center' = center + 1/2), as Looking Glass Bridge's uniforms do
(older HoloPlay releases negated the tilt only). With u = (x + 1/2) / W, v = (H - l - 1/2) / H this
is van Berkel's n / N = ((k + k_off - 3 l tan a) mod X) / X with X = 3 W / P subpixels per lens,
tan a = W tilt / H, channel i at subpixel column k = 3 x + i, and k_off = 3/2 + 3 (H - 1/2) tan a -
center X (taken mod X); under flipImageX channel i at k = 3 x + 2 - i (the subpixel order reversed)
and k_off = -1/2 + 3 (H - 1/2) tan a - (center + 1/2) X.

The file holds no view count: the views rendered are ``n_views`` (``--views``, default
``LOOKING_GLASS_VIEWS``). Calibrations with a per-cell subpixel layout (``CellPatternMode`` other
than 0) or a vertical flip are refused: this formula does not describe them.
"""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path
from typing import Any

from ..errors import InputError
from .lenticular import LenticularCalibration

#: the views of a Looking Glass quilt of 5 x 9 tiles, the usual count for these panels
LOOKING_GLASS_VIEWS = 45
_NEEDED = ("pitch", "slope", "center", "DPI", "screenW", "screenH")


def is_looking_glass(data: Any) -> bool:
    """A JSON object with the keys of a Looking Glass ``visual.json`` (slope, DPI, screenW, ...)."""
    return isinstance(data, dict) and {"slope", "DPI", "screenW", "screenH"} <= set(data)


def _number(data: dict, key: str, path: str | Path, default: float | None = None) -> float:
    v = data.get(key, default)
    if isinstance(v, dict):  # {"value": 49.8}, as the devices write them
        v = v.get("value")
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise InputError(f"Looking Glass calibration: {key} must be a number, got {v!r}", path)
    return float(v)


def looking_glass_calibration(data: dict, n_views: int | None, path: str | Path
                              ) -> tuple[LenticularCalibration, tuple[int, int]]:
    """The van Berkel calibration of a Looking Glass ``visual.json`` (``data``, parsed) for ``n_views``
    views (None: ``LOOKING_GLASS_VIEWS``), and the screen's (width, height) in pixels."""
    missing = [k for k in _NEEDED if k not in data]
    if missing:
        raise InputError(f"Looking Glass calibration: missing key(s) {', '.join(missing)}", path)
    pitch, slope, center, dpi = (_number(data, k, path) for k in _NEEDED[:4])
    w, h = (_number(data, k, path) for k in _NEEDED[4:])
    if not (w == int(w) > 0 and h == int(h) > 0):
        raise InputError(f"Looking Glass calibration: the screen must be whole pixels, got {w:g}x{h:g}", path)
    if slope == 0 or dpi <= 0 or pitch <= 0:
        raise InputError("Looking Glass calibration: slope must not be 0, pitch and DPI must be > 0 "
                         f"(got slope {slope:g}, pitch {pitch:g}, DPI {dpi:g})", path)
    pattern = _number(data, "CellPatternMode", path, 0)
    if pattern != 0:
        raise InputError(f"Looking Glass calibration: CellPatternMode {pattern:g} (a per-cell subpixel layout) "
                         "is not supported; only the plain RGB / BGR stripe (CellPatternMode 0)", path)
    if _number(data, "flipImageY", path, 0):
        raise InputError("Looking Glass calibration: flipImageY is not supported", path)
    w, h = int(w), int(h)
    lenses = pitch * w / dpi * math.cos(math.atan(1.0 / slope))  # lenses across the screen's width
    x = 3.0 * w / lenses
    flip = 1 if _number(data, "flipImageX", path, 0) else 0  # Bridge: tilt and subp negated, center + 1/2
    tan_a = (-1.0 if flip else 1.0) / slope
    offset = math.fmod(1.5 - 2 * flip + 3.0 * (h - 0.5) * tan_a - (center + 0.5 * flip) * x, x)
    reversed_order = bool(_number(data, "flipSubp", path, 0)) != bool(flip)  # subp < 0: channel i at 2 - i
    try:
        cal = LenticularCalibration(n_views=LOOKING_GLASS_VIEWS if n_views is None else n_views, pitch=x,
                                    tan_slant=tan_a, offset=offset + x if offset < 0 else offset,
                                    subpixel_order="BGR" if reversed_order else "RGB",
                                    inverted=bool(_number(data, "invView", path, 0)))
    except ValueError as exc:
        raise InputError(f"Looking Glass calibration: {exc}", path) from None
    return cal, (w, h)


def load_calibration(path: str | Path, n_views: int | None = None
                     ) -> tuple[LenticularCalibration, tuple[int, int] | None]:
    """A lenticular calibration file: the project's own keys (``LenticularCalibration.from_json``; no
    panel size: None) or a Looking Glass ``visual.json`` (``looking_glass_calibration``: with its
    screen's size)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return LenticularCalibration.from_json(path), None  # says what is wrong with the file
    if is_looking_glass(data):
        return looking_glass_calibration(data, n_views, path)
    return LenticularCalibration.from_data(data, path), None  # the file read once
