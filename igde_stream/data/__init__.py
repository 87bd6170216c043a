"""Scene-Flow-like synthetic data: scenes, boundary-error degradation, clips on disk.

Imports NumPy and OpenCV only (PyAV when a clip is written, scikit-image for photo textures,
PyTorch only in :mod:`igde_stream.data.dataset` and :mod:`igde_stream.data.cache`).
"""

from __future__ import annotations

from .clip import write_clip
from .degrade import DegradeConfig, Degrader, boundary_band, degrade, depth_edges, label_edges
from .error_types import BOUNDARY_ERRORS, ERROR_TYPES, HELD_OUT_ERRORS, error_type_config, mixed_config
from .sequence import Sequence, make_sequence
from .synthetic import (
    SPLITS, TEXTURE_MODES, Frame, Scene, SceneConfig, render_sequence, smooth_noise, split_seeds, steep_range,
)

__all__ = [
    "SceneConfig", "Scene", "Frame", "SPLITS", "TEXTURE_MODES", "split_seeds", "render_sequence",
    "smooth_noise", "steep_range", "DegradeConfig", "Degrader", "degrade", "depth_edges", "label_edges",
    "boundary_band",
    "write_clip", "make_sequence", "Sequence", "BOUNDARY_ERRORS", "HELD_OUT_ERRORS", "ERROR_TYPES", "error_type_config", "mixed_config",
]
