"""A degraded sequence in memory: colour, degraded depth, ground truth and the parameters behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .degrade import DegradeConfig, Degrader
from .synthetic import Scene, SceneConfig


@dataclass
class Sequence:
    """``color`` T x H x W x 3 uint8 RGB; ``depth`` (degraded input) and ``gt`` T x H x W uint8 or
    uint16 (larger = nearer); ``peak`` 255 or 65535; ``consecutive``: frames follow each other in
    time (temporal stability is meaningful); ``params``: how the data was made (JSON-ready);
    ``valid``: T x H x W bool, the pixels whose ground truth was measured (the metrics score only
    these), or None (all: rendered data)."""

    name: str
    color: np.ndarray
    depth: np.ndarray
    gt: np.ndarray
    peak: float
    consecutive: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    valid: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.gt)

    @property
    def error_mask(self) -> np.ndarray:
        """T x H x W bool: where the degraded input differs from the ground truth."""
        return self.depth != self.gt


def make_sequence(
    seed: int,
    scene: SceneConfig = SceneConfig(),
    degradation: DegradeConfig = DegradeConfig(),
    bits: int = 8,
    name: str | None = None,
) -> Sequence:
    """Render all ``scene.frames`` frames of scene ``seed`` and degrade them (seeded by ``seed``)."""
    sc = Scene(seed, scene)
    deg = Degrader(degradation, seed, (scene.height, scene.width))
    colors, ins, gts = [], [], []
    for t in range(scene.frames):
        f = sc.render(t, bits)
        d, _ = deg.apply(f.depth, t, f.labels)
        colors.append(f.color)
        ins.append(d)
        gts.append(f.depth)
    params = {
        "generator": "igde_stream.data.synthetic", "seed": int(seed), "bits": bits,
        "depth": "disparity-like, larger = nearer, normalised depth x peak",
        "scene": scene.to_dict(), "degradation": degradation.to_dict(),
    }
    return Sequence(name or f"synthetic-{seed}", np.stack(colors), np.stack(ins), np.stack(gts),
                    255.0 if bits == 8 else 65535.0, True, params)
