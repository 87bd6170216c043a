"""PyTorch datasets of training crops generated on the fly (the only module here that imports torch).

Each sample is ``(color, depth_in, gt)`` as uint8 tensors 3 x h x w, 1 x h x w, 1 x h x w (8-bit
depth); the training loop divides by 255 on the device (the paper's "inputs / 255").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from .degrade import DegradeConfig, Degrader
from .error_types import mixed_config
from .synthetic import SPLITS, Scene, SceneConfig, split_seeds

__all__ = ["CropConfig", "SyntheticCrops", "blurred_color", "profile_data", "validation_set"]

Sample = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class CropConfig:
    """How crops are cut: ``crop`` (h, w); ``frames_per_scene`` frames rendered from each generated
    scene, ``crops_per_frame`` random crops from each; ``shuffle_buffer`` samples mixed across scenes
    before they are yielded; ``flip``: random horizontal flips (colour and depth together); ``mix``:
    each scene draws its boundary error types (:func:`~igde_stream.data.error_types.mixed_config`
    over ``degradation``) instead of ``degradation`` as given; ``color_blur`` > 0: each frame's
    colour is blurred with a Gaussian of sigma drawn from [0, color_blur] (as in the crop cache)."""

    crop: tuple[int, int] = (256, 256)
    frames_per_scene: int = 2
    crops_per_frame: int = 8
    shuffle_buffer: int = 128
    flip: bool = True
    scene: SceneConfig = field(default_factory=SceneConfig)
    degradation: DegradeConfig = field(default_factory=DegradeConfig)
    mix: bool = False
    color_blur: float = 0.0

    def __post_init__(self) -> None:
        if self.color_blur < 0:
            raise ValueError(f"color_blur must be >= 0, got {self.color_blur}")
        if self.frames_per_scene < 1 or self.crops_per_frame < 1:  # no crop: the iterator would never yield
            raise ValueError(f"frames_per_scene and crops_per_frame must be >= 1, got {self.frames_per_scene} "
                             f"and {self.crops_per_frame}")
        h, w = self.crop
        if h > self.scene.height or w > self.scene.width:
            raise ValueError(f"crop {h}x{w} is larger than the scene {self.scene.height}x{self.scene.width}")


def blurred_color(color: np.ndarray, rng: np.random.Generator, max_sigma: float) -> np.ndarray:
    """``color`` blurred with a Gaussian of sigma drawn from [0, max_sigma] (unchanged below 0.1 px):
    real cameras soften the edges that the renderer draws pixel-exact (``--color-blur``)."""
    sigma = float(rng.uniform(0, max_sigma))
    return cv2.GaussianBlur(color, (0, 0), sigma) if sigma > 0.1 else color


def _crops(rng: np.random.Generator, cfg: CropConfig, scene_seed: int) -> list[Sample]:
    scene = Scene(scene_seed, cfg.scene)
    deg_cfg = mixed_config(rng, cfg.degradation) if cfg.mix else cfg.degradation
    deg = Degrader(deg_cfg, scene_seed, (cfg.scene.height, cfg.scene.width))
    h, w = cfg.crop
    H, W = cfg.scene.height, cfg.scene.width
    out = []
    for _ in range(cfg.frames_per_scene):
        t = int(rng.integers(cfg.scene.frames))
        f = scene.render(t, 8)
        d, _ = deg.apply(f.depth, t, f.labels)
        color = f.color
        if cfg.color_blur > 0:  # drawn only when asked for: the crops without it stay what they were
            color = blurred_color(color, rng, cfg.color_blur)
        for _ in range(cfg.crops_per_frame):
            y, x = int(rng.integers(H - h + 1)), int(rng.integers(W - w + 1))
            c, di, g = color[y:y + h, x:x + w], d[y:y + h, x:x + w], f.depth[y:y + h, x:x + w]
            if cfg.flip and rng.random() < 0.5:
                c, di, g = c[:, ::-1], di[:, ::-1], g[:, ::-1]
            out.append((
                torch.from_numpy(np.ascontiguousarray(c.transpose(2, 0, 1))),
                torch.from_numpy(np.ascontiguousarray(di[None])),
                torch.from_numpy(np.ascontiguousarray(g[None])),
            ))
    return out


class SyntheticCrops(IterableDataset):
    """Endless training crops from scenes of the train split, generated in each worker.

    Worker ``i`` draws scene seeds from the train range with a generator seeded by
    ``(seed, i, epoch)``; pass a new ``epoch`` (e.g. the step a run resumes from) for fresh data.
    """

    def __init__(self, config: CropConfig, seed: int = 0, epoch: int = 0) -> None:
        super().__init__()
        self.config = config
        self.seed = int(seed)
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[Sample]:
        info = get_worker_info()
        wid = info.id if info is not None else 0
        rng = np.random.default_rng([self.seed, wid, self.epoch, 0x7A1])
        train = SPLITS["train"]
        buf: list[Sample] = []
        while True:
            while len(buf) < max(1, self.config.shuffle_buffer):
                buf.extend(_crops(rng, self.config, int(rng.integers(train.start, train.stop))))
            i = int(rng.integers(len(buf)))
            buf[i], buf[-1] = buf[-1], buf[i]
            yield buf.pop()


def validation_set(config: CropConfig, samples: int = 8, size: tuple[int, int] | None = None) -> Sample:
    """A fixed validation batch from the val split: ``samples`` crops of ``size`` (h, w; default the
    training crop), one per val scene, at a fixed frame and place. Returns batched uint8 tensors."""
    h, w = size or config.crop
    H, W = config.scene.height, config.scene.width
    h, w = min(h, H), min(w, W)
    cs, ds, gs = [], [], []
    for i, seed in enumerate(split_seeds("val", samples)):
        rng = np.random.default_rng([seed, 0x7A1])
        t = i % config.scene.frames
        f = Scene(seed, config.scene).render(t, 8)
        d, _ = Degrader(config.degradation, seed, (H, W)).apply(f.depth, t, f.labels)
        err = d != f.depth
        # the most boundary-rich of a few candidate windows, so that every sample has edges to repair
        cands = [(int(rng.integers(H - h + 1)), int(rng.integers(W - w + 1))) for _ in range(8)]
        y, x = max(cands, key=lambda p: err[p[0]:p[0] + h, p[1]:p[1] + w].mean())
        cs.append(f.color[y:y + h, x:x + w].transpose(2, 0, 1))
        ds.append(d[None, y:y + h, x:x + w])
        gs.append(f.depth[None, y:y + h, x:x + w])
    return tuple(torch.from_numpy(np.ascontiguousarray(np.stack(a))) for a in (cs, ds, gs))  # type: ignore[return-value]


def profile_data(config: CropConfig, seed: int = 0, samples: int = 200) -> float:
    """CPU milliseconds per training sample of the crop generator in this process (after warm-up)."""
    it = iter(SyntheticCrops(config, seed=seed))
    next(it)
    t = time.process_time()
    for _ in range(samples):
        next(it)
    return 1000.0 * (time.process_time() - t) / samples
