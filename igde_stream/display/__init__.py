"""Display layouts: how the views of ``multiview.warp_views`` are packed into the frames a 3D display
takes. Views are the same in every layout (N x H x W x 3 uint8 RGB, leftmost first); only the
packing differs, so view quality is measured on the views (``multiview.view_quality``) whatever the
layout, and the lossless layouts unpack back to them bit for bit.

- ``grid``: tiles row-major from the top left; ``views``: one file per view.
- stereo pair (the two extreme views, leftmost first): ``sbs`` side by side, ``tab`` top and bottom
  (left on top), each with ``squeeze`` to half width / height so that the frame keeps the input's
  size; ``anaglyph`` red-cyan, Dubois least squares (in linear light) or plain colour. Each
  says so in its file (``STEREO_MODES``: Matroska StereoMode, H.264 frame-packing SEI, MP4 ``st3d``).
- ``quilt`` (Looking Glass): C columns x R rows of tiles; the bottom-left tile is view 0 (the
  leftmost), then left to right along the bottom row, then up: the top-right tile is the rightmost
  view. The file name carries ``_qs{C}x{R}a{aspect}`` (``quilt_path``). Presets (``QUILT_PRESETS``)
  use the published per-device quilt sizes; their tiles are ``quilt // (C, R)``, aligned to the
  bottom left (a leftover strip, e.g. 1 px of 4096 = 5 x 819 + 1, stays black at the right / top).
- ``rgbd``: colour | depth in one frame, depth as 8-bit gray in all three channels, near = white
  by default (depth is larger = nearer here, so white = 255 = nearest).
- ``lenticular``: the views interleaved per subpixel for a slanted-lenticular panel
  (``Interleaver``, van Berkel's view map); a Looking Glass ``visual.json`` is read as such a
  calibration (``looking_glass``).

Modules: ``grid`` (grid, ``fit_view``), ``stereo`` (side by side, top and bottom, anaglyph),
``quilt``, ``rgbd``, ``lenticular`` (the packings), ``looking_glass`` (its calibration file) and
``layouts`` (the layout classes, ``make_layout``, ``layout_frames``).
"""

from __future__ import annotations

from .grid import fit_view, grid_shape, tile_grid
from .layouts import (LAYOUT_CLASSES, LAYOUTS, RGBD, Anaglyph, Grid, Layout, Lenticular, Quilt, Renderer, Separate,
                      SideBySide, StereoPair, TopAndBottom, layout_frames, make_layout, numpy_renderer,
                      with_config, with_view_sar)
from .lenticular import Interleaver, LenticularCalibration, channel_view_number, nearest_view, view_number
from .looking_glass import LOOKING_GLASS_VIEWS, load_calibration, looking_glass_calibration
from .quilt import QUILT_PRESETS, QuiltSpec, pack_quilt, parse_quilt, quilt_path, unpack_quilt
from .rgbd import NEAR, depth_to_8bit, halves, near_white, rgbd_frame, unpack_rgbd
from .stereo import (ANAGLYPHS, DUBOIS_RED_CYAN_LEFT, DUBOIS_RED_CYAN_RIGHT, STEREO_MODES, anaglyph, linear_to_srgb,
                     side_by_side, srgb_to_linear, stereo_positions, top_and_bottom)

__all__ = [
    "grid_shape", "tile_grid", "fit_view",
    "side_by_side", "top_and_bottom", "stereo_positions", "anaglyph", "ANAGLYPHS", "DUBOIS_RED_CYAN_LEFT",
    "DUBOIS_RED_CYAN_RIGHT", "STEREO_MODES", "srgb_to_linear", "linear_to_srgb",
    "QuiltSpec", "QUILT_PRESETS", "parse_quilt", "pack_quilt", "unpack_quilt", "quilt_path",
    "NEAR", "depth_to_8bit", "halves", "near_white", "rgbd_frame", "unpack_rgbd",
    "LenticularCalibration", "view_number", "channel_view_number", "nearest_view", "Interleaver",
    "LOOKING_GLASS_VIEWS", "load_calibration", "looking_glass_calibration",
    "Layout", "Grid", "StereoPair", "SideBySide", "TopAndBottom", "Anaglyph", "Separate", "Quilt", "RGBD",
    "Lenticular", "LAYOUT_CLASSES", "LAYOUTS",
    "make_layout", "layout_frames", "Renderer", "numpy_renderer", "with_config", "with_view_sar",
]
