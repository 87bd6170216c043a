"""The layouts: one class per layout (``LAYOUT_CLASSES``), each turning an input frame into the
frames of its output files; ``make_layout`` and ``layout_frames``."""

from __future__ import annotations

import copy
import inspect
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .. import multiview as mv
from . import stereo
from .grid import grid_shape, tile_grid
from .lenticular import Interleaver, LenticularCalibration
from .quilt import QuiltSpec, pack_quilt, quilt_path
from .rgbd import NEAR, rgbd_frame


Renderer = Callable[[np.ndarray, np.ndarray, mv.ViewConfig, "Sequence[float] | None"], np.ndarray]


def numpy_renderer(color: np.ndarray, depth: np.ndarray, cfg: mv.ViewConfig,
                   positions: Sequence[float] | None = None) -> np.ndarray:
    """The default ``Renderer``: ``multiview.warp_views(...).views`` (N x H x W x 3 uint8)."""
    return mv.warp_views(color, depth, cfg, positions).views


class Layout:
    """A layout: ``frames(color, depth)`` -> the output frames of one input frame (one per file of
    ``outputs(out, size)``, ``size`` = the views' (W, H), known before the first frame), which is
    ``pack(views)`` of the rendered views. ``depth_8bit``: the frames carry 8-bit depth instead.
    ``render``: the renderer (``numpy_renderer`` by default; ``multiview_torch.TorchRenderer``
    renders the same views on a torch device). ``sar_kept``: the frames are made of the views'
    own pixels, so they carry the input's pixel aspect (non-square pixels: its sample aspect ratio);
    a quilt and a lenticular panel image are pictures of a display's own pixels, written square,
    with the views fitted as a player shows them (``view_sar``, ``with_view_sar``)."""

    depth_8bit = False
    sar_kept = True
    view_sar = 1.0  # the views' pixel aspect where they are fitted to a display (quilt, lenticular): with_view_sar
    stereo_mode: str | None = None  # what the file says of its frames: stereo.STEREO_MODES (None: nothing)

    def __init__(self, cfg: mv.ViewConfig) -> None:
        self.cfg = cfg

    def outputs(self, out: str | Path, size: tuple[int, int]) -> list[Path]:
        return [Path(out)]

    def frame_sizes(self, size: tuple[int, int]) -> list[tuple[int, int]]:
        """The (W, H) of each output file's frames (as ``outputs``) for views of ``size``, known before
        any frame is rendered, so that a size no encoder takes is refused before the work."""
        return [size]

    def level_fix(self) -> str:
        """What makes the frames smaller, for a line about frames too large for H.264 / HEVC level 5.x
        decoders; "" where nothing does (a display's own frame size)."""
        return "a smaller input"

    def frames(self, color: np.ndarray, depth: np.ndarray, render: Renderer | None = None) -> list[np.ndarray]:
        return self.pack((render or numpy_renderer)(color, depth, self.cfg, None))

    def pack(self, views: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError


class Grid(Layout):
    def __init__(self, cfg: mv.ViewConfig, rows: int | None = None, cols: int | None = None) -> None:
        super().__init__(cfg)
        self.rows, self.cols = grid_shape(cfg.n_views, rows, cols)

    def frame_sizes(self, size: tuple[int, int]) -> list[tuple[int, int]]:
        return [(self.cols * size[0], self.rows * size[1])]

    def pack(self, views: np.ndarray) -> list[np.ndarray]:
        return [tile_grid(views, self.rows, self.cols)]

    def level_fix(self) -> str:
        return "fewer views, or one file a view (--layout views), or a smaller input"


class StereoPair(Layout):
    """A layout of the stereo pair alone: the two extreme views (``stereo.stereo_positions``, the
    only ones rendered; ``pack`` of N views takes the first and the last), combined into one frame
    by ``combine(left, right)``."""

    def frames(self, color: np.ndarray, depth: np.ndarray, render: Renderer | None = None) -> list[np.ndarray]:
        return self.pack((render or numpy_renderer)(color, depth, self.cfg, stereo.stereo_positions()))

    def pack(self, views: np.ndarray) -> list[np.ndarray]:
        return [self.combine(views[0], views[-1])]

    def combine(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Stacked(StereoPair):
    """The two views one after the other along ``axis`` (``stereo._stack``: 1 side by side, 0 top and
    bottom); ``squeeze``: each halved along it so that the frame keeps the input's size."""

    axis = 1

    def __init__(self, cfg: mv.ViewConfig, squeeze: bool = False) -> None:
        super().__init__(cfg)
        self.squeeze = squeeze

    def outputs(self, out: str | Path, size: tuple[int, int]) -> list[Path]:
        if self.squeeze:
            stereo.check_squeeze(*size, self.axis)
        return super().outputs(out, size)

    def frame_sizes(self, size: tuple[int, int]) -> list[tuple[int, int]]:
        w, h = size
        return [(w, h) if self.squeeze else (2 * w, h) if self.axis == 1 else (w, 2 * h)]

    def level_fix(self) -> str:
        return "a smaller input" if self.squeeze else \
            "--squeeze (half side by side / top and bottom, the input's size), or a smaller input"

    def combine(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return (stereo.side_by_side if self.axis == 1 else stereo.top_and_bottom)(left, right, self.squeeze)


class SideBySide(Stacked):
    """``stereo.side_by_side``: left | right; ``squeeze``: half width each (the input's width)."""

    axis = 1
    stereo_mode = "left_right"


class TopAndBottom(Stacked):
    """``stereo.top_and_bottom``: left over right; ``squeeze``: half height each (the input's height)."""

    axis = 0
    stereo_mode = "top_bottom"


class Anaglyph(StereoPair):
    """``stereo.anaglyph``: one red-cyan frame of the input's size, ``anaglyph`` dubois or color."""

    stereo_mode = "anaglyph_cyan_red"

    def __init__(self, cfg: mv.ViewConfig, anaglyph: str = "dubois") -> None:
        super().__init__(cfg)
        stereo.check_anaglyph(anaglyph)
        self.method = anaglyph

    def combine(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return stereo.anaglyph(left, right, self.method)


class Separate(Layout):
    def outputs(self, out: str | Path, size: tuple[int, int]) -> list[Path]:
        out = Path(out)
        return [out.with_name(f"{out.stem}_v{k}{out.suffix}") for k in range(self.cfg.n_views)]

    def frame_sizes(self, size: tuple[int, int]) -> list[tuple[int, int]]:
        return [size] * self.cfg.n_views

    def pack(self, views: np.ndarray) -> list[np.ndarray]:
        return list(views)


class Quilt(Layout):
    sar_kept = False  # the display reads its tiles by the aspect in the name, not by a pixel aspect

    def __init__(self, cfg: mv.ViewConfig, quilt: QuiltSpec) -> None:
        super().__init__(cfg)
        if cfg.n_views > quilt.cols * quilt.rows:
            raise ValueError(f"{cfg.n_views} views do not fit a {quilt.cols}x{quilt.rows} quilt")
        self.spec = quilt

    def outputs(self, out: str | Path, size: tuple[int, int]) -> list[Path]:
        return [quilt_path(out, self.spec.cols, self.spec.rows, self.spec.aspect_for(size, self.view_sar))]

    def frame_sizes(self, size: tuple[int, int]) -> list[tuple[int, int]]:
        return [self.spec.size or (self.spec.cols * size[0], self.spec.rows * size[1])]

    def level_fix(self) -> str:  # a preset's size is its display's
        return "" if self.spec.size else "fewer columns or rows (--quilt CxR), or a smaller input"

    def pack(self, views: np.ndarray) -> list[np.ndarray]:
        return [pack_quilt(views, self.spec, self.view_sar)]


class RGBD(Layout):
    depth_8bit = True

    def __init__(self, cfg: mv.ViewConfig, depth_near: str = "white") -> None:
        super().__init__(cfg)
        if depth_near not in NEAR:
            raise ValueError(f"depth_near must be white or black, got {depth_near!r}")
        self.near = depth_near

    def frame_sizes(self, size: tuple[int, int]) -> list[tuple[int, int]]:
        return [(2 * size[0], size[1])]  # colour | depth

    def frames(self, color: np.ndarray, depth: np.ndarray, render: Renderer | None = None) -> list[np.ndarray]:
        return [rgbd_frame(color, depth, self.near, self.cfg.max_depth, self.cfg.depth_order)]  # no views: the display renders them


class Lenticular(Layout):
    sar_kept = False  # one pixel of the panel per pixel of the frame

    def __init__(self, cfg: mv.ViewConfig, calibration: LenticularCalibration, panel: tuple[int, int],
                 blend: bool = False) -> None:
        super().__init__(cfg)
        if cfg.n_views != calibration.n_views:
            raise ValueError(f"the calibration is for {calibration.n_views} views, not {cfg.n_views}")
        self.cal, self.panel, self.blend = calibration, panel, blend
        self.interleaver: Interleaver | None = None

    def outputs(self, out: str | Path, size: tuple[int, int]) -> list[Path]:
        self.interleaver = Interleaver(self.cal, self.panel, size, self.blend, self.view_sar)  # checks the panel up front
        return [Path(out)]

    def frame_sizes(self, size: tuple[int, int]) -> list[tuple[int, int]]:
        return [tuple(self.panel)]

    def level_fix(self) -> str:
        return ""  # the panel's own size

    def pack(self, views: np.ndarray) -> list[np.ndarray]:
        size = (views.shape[2], views.shape[1])
        interleaver = self.interleaver  # read once: a thread with frames of another size may replace it
        if interleaver is None or interleaver.view_size != size:
            interleaver = self.interleaver = Interleaver(self.cal, self.panel, size, self.blend, self.view_sar)
        return [interleaver.compose(views)]


LAYOUT_CLASSES: dict[str, type[Layout]] = {"grid": Grid, "sbs": SideBySide, "tab": TopAndBottom, "anaglyph": Anaglyph,
                                           "views": Separate, "quilt": Quilt, "rgbd": RGBD, "lenticular": Lenticular}
LAYOUTS = tuple(LAYOUT_CLASSES)


def make_layout(name: str, cfg: mv.ViewConfig, **options: Any) -> Layout:
    """The layout ``name`` (``LAYOUTS``) for views of ``cfg`` with its options (grid: rows, cols;
    sbs, tab: squeeze; anaglyph: anaglyph; quilt: quilt; rgbd: depth_near; lenticular: calibration,
    panel, blend). An option that the layout does not take is a ``ValueError``."""
    if name not in LAYOUT_CLASSES:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {name!r}")
    cls = LAYOUT_CLASSES[name]
    params = inspect.signature(cls.__init__).parameters
    extra = sorted(set(options) - set(params) - {"self", "cfg"})
    if extra:
        raise ValueError(f"{', '.join(extra)}: not an option of the {name} layout")
    missing = [k for k, v in params.items() if k not in ("self", "cfg") and v.default is inspect.Parameter.empty
               and k not in options]
    if missing:
        raise ValueError(f"the {name} layout needs {' and '.join(missing)}")
    return cls(cfg, **options)


def with_config(layout: Layout, cfg: mv.ViewConfig) -> Layout:
    """A shallow copy of ``layout`` that renders with ``cfg`` (e.g. the depth's own peak or order);
    the caller's layout is unchanged."""
    new = copy.copy(layout)
    new.cfg = cfg
    return new


def with_view_sar(layout: Layout, sar: float) -> Layout:
    """A shallow copy of ``layout`` whose views have pixels ``sar`` times as wide as tall (anamorphic
    video): a quilt or a lenticular panel fits them as a player shows them, and a quilt of the views
    themselves names the aspect they show at. The caller's layout is unchanged."""
    new = copy.copy(layout)
    new.view_sar = float(sar)
    return new


def layout_frames(color: np.ndarray, depth: np.ndarray, config: mv.ViewConfig, layout: str = "grid",
                  **options: Any) -> list[np.ndarray]:
    """Render one frame and lay it out (``make_layout``): one array per output file."""
    return make_layout(layout, config, **options).frames(color, depth)
