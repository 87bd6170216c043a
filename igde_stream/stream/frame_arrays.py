"""How a decoded frame becomes the array a ``reader.VideoReader`` yields.

Colour: RGB uint8, resized as stored to the reader's grid, then turned as displayed (``rgb``).
Depth: the stream's samples (``formats.depth_array``), limited-range luma stretched to full range
(warned once where a value lies outside the range), a colour-mapped picture read back as gray
(``colormaps``), float depth mapped to 16-bit codes (``floatdepth.encode_counted``), turned as
displayed and enlarged to the reader's grid (warned once where holes meet the enlargement). A half
of a packed RGB-D frame is cut out by ``packed.Unpacker``.
"""

from __future__ import annotations

from typing import Any, Callable

import av
import numpy as np

from ..errors import InputError
from .exrdepth import rgb_depth_hint
from .floatdepth import FloatMap, encode_counted, exr_hint
from .formats import (CHROMA_EVERY, alpha_hint, bits_of, depth_array, is_float_format, luma_is_guessed, luma_to_full,
                      warn_holes_enlarged)
from .luma_checks import check_limited_luma, check_stored_luma
from .rgb import colour_rgb, first_colour_frame


class FrameArrays:
    """The frame conversion half of ``VideoReader`` (which sets these attributes when it opens the
    stream; ``arrays.ArrayReader`` uses ``_float_codes`` on NumPy frames)."""

    path: str
    role: str
    size: tuple[int, int] | None  # the grid frames are resized / enlarged to; None: the stream's own
    info: Any  # info.VideoInfo
    stream: Any
    orientation: Any  # orientation.Orientation
    float_map: FloatMap | None
    _packed: Any  # packed.Unpacker, or None
    _cmap: Any  # colormaps.ColormapReader, or None
    _reformatter: Any
    _depth_range: str | None
    _images: list[str]
    _range_warned: bool
    _holes_warned: bool
    _enlarge: Callable[..., np.ndarray]

    def _convert(self, f: av.VideoFrame, index: int, first: bool) -> np.ndarray:
        turn = self.orientation.apply
        if self._packed is not None:
            return self._packed.split(f, self._reformatter, turn, index if index % CHROMA_EVERY == 0 else None)
        if self.role == "color":  # resized as stored, then turned
            if first:
                first_colour_frame(f, self.path)
            size = None if self.size is None else self.orientation.size(*self.size)
            return turn(colour_rgb(f, self._reformatter, size))
        try:
            if self._cmap is not None:
                return self._enlarged(turn(self._cmap.read(f, self._reformatter, index)))
            d = depth_array(f, chroma=index % CHROMA_EVERY == 0)  # the format was checked by ``frames``
            if self.info.limited:  # warned once, at the first frame outside the range; then stretched
                bits = bits_of(f.format.name)
                self._range_warned = self._range_warned or check_limited_luma(d, bits, index, self.path, self.info.codec)
                d = luma_to_full(d, bits)
            elif first and luma_is_guessed(f.format.name, self.stream.codec_context.color_range, self.info.codec,
                                                self._depth_range):  # warned when the first frame looks limited
                check_stored_luma(d, bits_of(f.format.name), self.path)
            d = turn(d)
        except ValueError as exc:  # float or RGB depth whose three channels differ; not the colour map given
            first = self._images[0] if self._images else self.path  # the hints read its OpenEXR channels
            hints = exr_hint(self.info.codec, first) + rgb_depth_hint(self.info.codec, first, self.role == "depth")
            raise InputError(f"frame {index}: {exc}" + hints + alpha_hint(f.format.name, self.path), self.path) from None
        if is_float_format(f.format.name):
            d = self._float_codes(d, index)
        return self._enlarged(d)

    def _enlarged(self, d: np.ndarray) -> np.ndarray:
        """Depth enlarged to ``size``, where one is given."""
        if self.size is not None and not self._holes_warned and self.role != "color" and (d == 0).any():
            self._holes_warned = warn_holes_enlarged(self.path)
        return d if self.size is None else self._enlarge(d, *self.size)

    def _float_codes(self, d: np.ndarray, index: int) -> np.ndarray:
        """Float depth frame ``index`` through ``float_map`` (``floatdepth.encode_counted``); as it is while
        there is no map."""
        if self.float_map is not None and getattr(self, "keep_values", False) and self.size is None:
            self.kept_values = d  # for a float output: values the model leaves alone written as read
        return d if self.float_map is None else encode_counted(self, d, index)
