"""How a stream's depth is read: the enhancer's normalising peak (the format's for 10 / 12-bit depth,
which sits in uint16) and the views and RGB-D outputs reading the enhanced depth as the enhancer
reads its input."""

from __future__ import annotations

import copy
import dataclasses
import logging
from typing import Any

import numpy as np

from .. import display
from ..errors import IGDEError
from .info import VideoInfo
from .outputs import ViewsOptions

log = logging.getLogger("igde_stream.stream")

_PEAKS = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def enhancer_peak(enhancer: Any, dtype: np.dtype) -> float:
    """The enhancer's peak for ``dtype``; its own check refuses a max-depth the dtype cannot hold,
    before any output is written."""
    if hasattr(enhancer, "peak_for"):
        return float(enhancer.peak_for(dtype))
    max_depth = getattr(enhancer, "max_depth", None)
    return float(max_depth) if max_depth else _PEAKS[np.dtype(dtype)]


def with_format_peak(enhancer: Any, di: VideoInfo) -> Any:
    """Depth of 10 or 12 bits sits in uint16 but peaks at 1023 / 4095: without a max_depth of its own,
    the enhancer normalises by the format's peak (a shallow copy: the caller's object is unchanged)."""
    max_depth = getattr(enhancer, "max_depth", None)  # an object without one gets the format's too
    if max_depth and max_depth > di.peak:
        raise max_depth_error(max_depth, di, di.peak)
    if di.bits in (8, 16) or max_depth is not None:
        return enhancer
    log.info("%s: %d-bit depth (%s), normalised by its peak %d", di.path, di.bits, di.pix_fmt, di.peak)
    enhancer = copy.copy(enhancer)
    enhancer.max_depth = di.peak
    return enhancer


def max_depth_error(max_depth: float, di: VideoInfo, most: float, kind: type[IGDEError] = IGDEError) -> IGDEError:
    """The refusal of a ``max_depth`` above ``most``, the largest value the depth stream ``di`` holds:
    one line in the API's words (max_depth) and the command's (--max-depth)."""
    beyond = f"{max_depth:g} is above the largest value of {di.bits}-bit depth ({di.pix_fmt}: 0..{most:g})"
    return kind(f"max_depth {beyond}", di.path, cli_problem=f"--max-depth {beyond}")


def views_like_enhancer(views: ViewsOptions, enhancer: Any, peak: float, dtype: np.dtype) -> ViewsOptions:
    """The views and RGB-D outputs read the enhanced depth as the enhancer reads its input: its depth
    order, and its peak where the views have none of their own (10 / 12-bit depth, ``max_depth``).
    A copy when something changes; the caller's options stay as they were."""
    layout = views.layout  # a display.Layout object renders with its own config
    cfg = views.config if isinstance(layout, str) else layout.cfg
    order = getattr(enhancer, "depth_order", "near-high")
    max_depth = cfg.max_depth if cfg.max_depth is not None or peak == _PEAKS[np.dtype(dtype)] else peak
    if (order, max_depth) == (cfg.depth_order, cfg.max_depth):
        return views
    new = dataclasses.replace(cfg, depth_order=order, max_depth=max_depth)
    return dataclasses.replace(views, config=new, layout=layout if isinstance(layout, str) else
                               display.with_config(layout, new))


__all__ = ["enhancer_peak", "max_depth_error", "views_like_enhancer", "with_format_peak"]
