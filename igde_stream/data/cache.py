"""A crop cache: training crops rendered once (in worker processes), saved to disk, sampled for many
steps. The scene generator costs about 0.7 s of CPU per 960x540 frame, far more than a training step
of ``igde-small`` on a 96x96 batch, so a run that renders as it trains waits on its data.

Each cached crop is ``(color 3 x h x w, depth_in 1 x h x w, gt 1 x h x w)`` uint8. Crops are biased
toward boundaries: with probability ``edge_bias`` a crop is centred on a random pixel of the frame's
error mask (``degraded != gt``), else placed uniformly. With ``mix`` every scene draws its own
boundary error types (:func:`~igde_stream.data.error_types.mixed_config`); otherwise ``degradation`` is
used as given. With ``color_blur`` > 0 the colour frame is blurred with a Gaussian of sigma drawn
from [0, color_blur] (per frame): real cameras soften edges that the renderer draws pixel-exact.
With ``color_codec`` > 0 that share of the frames goes through a lossy camera chain after the blur:
Gaussian sensor noise (sigma drawn from [0, 2] levels) and a JPEG round trip (quality 50-95, 4:2:0
chroma), as colour arrives from H.264 / JPEG sources with its chroma halved and edges ringing.
With ``scene_scale = (lo, hi)`` each scene is rendered at ``scene`` size times a factor drawn
log-uniformly from [lo, hi] (at least the crop size): the generator scales its layers, thin
structures and speeds with the frame, so a smaller frame is the same kind of scene seen from farther
or with a smaller sensor, while the boundary errors stay 1-6 px wide. A model trained at one scale
only learns how far apart edges are at that scale.
With ``color_antialias`` > 0 that share of the scenes is rendered at twice the drawn size: the colour
frame is area-averaged down (a boundary pixel mixes the colours of both sides, as a camera's pixel
does), while the ground-truth depth and the labels take one of the four sub-pixel samples of each
2 x 2 block (the phase drawn per frame). The depth edge then falls anywhere inside the mixed colour
pixels, up to a pixel off where a rule "depth edge = strongest colour step" would put it, as with
measured depth; the renderer alone draws both edges on the same pixel, and a model trained on that
only moves right depth edges onto the colour edge of a real photograph.
With ``color_warp`` > 0 each frame's colour is resampled along a smooth random displacement field
whose largest shift is drawn from [0, color_warp] px (:func:`warped_color`); depth and ground truth
stay. The colour edges then wander up to that far from the depth edges, in both directions along one
edge, as with measured depth whose edges were found by another sensor or a stereo matcher: a model
trained on exact edges places real edges a pixel off with full confidence. ``color_warp_share`` < 1
warps that share of the frames only (drawn per frame) and keeps the rest exact, so that the model
also sees colour and depth that agree, as on rendered content.
With ``depth_blur`` > 0 that share of the frames (drawn per frame, from its own generator) has its
degraded depth blurred with a Gaussian whose sigma is drawn from [0.5, 2] px, over whatever boundary
errors it has: the smooth maps of monocular estimators and upsampled sensors, whose ramps reach
beyond the edge band and whose thin structures lose height. Ground truth and colour stay.
With ``color_rim`` > 0 that share of the frames (drawn per frame, from its own generator) gets the
colour detail that real photographs have at object outlines and the renderer lacks
(:func:`rimmed_color`): a band 1-4 px wide just inside the nearer object's outline, darkened or
brightened with a falloff toward the interior (shading at grazing angles, dark outlines, rim light),
and, on half of those frames, the edge halos of a camera's sharpening (an unsharp mask). A real edge
then shows two colour steps, the outline and the rim's inner side, and only the outer one is the
depth edge.

With ``photo_share`` > 0 that share of the scenes (drawn per scene, from its own generator) is a
:class:`~igde_stream.data.photo_scenes.PhotoScene`: a photograph (scikit-image's sample photographs
plus the images of ``photo_dir``) whose segments are given planes of depth, so that the depth edges
lie on a photograph's own outlines; the other colour options apply to it as to a rendered frame,
except the anti-aliasing and the rims, which a photograph has of itself. ``photo_errors`` (names of
:data:`~igde_stream.data.error_types.BOUNDARY_ERRORS`) limits the mix of the photo scenes to those types.
``mix_max_width`` (2..16, default 6) is the widest inflate / reduce the mix draws; ``mix_clean`` (in
[0, 1), default 0) the share of scenes the mix leaves without errors; with ``mix_clean_aligned`` those
scenes keep their colour aligned with the depth (no ``color_warp``).

``CachedCrops`` samples batches from the arrays with random flips and transposes (colour and depth
together).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing as mp
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from .dataset import blurred_color
from .degrade import DegradeConfig, Degrader
from .error_types import MIX_MAX_WIDTH, has_boundary_errors, mixed_config
from .photo_scenes import PhotoScene, photo_pool, pool_digest
from .synthetic import SPLITS, Frame, Scene, SceneConfig

__all__ = ["CacheConfig", "build_cache", "load_or_build_cache", "CachedCrops", "antialiased", "camera_chain",
           "rimmed_color", "sharpened", "warped_color"]


@dataclass(frozen=True)
class CacheConfig:
    """What a cache holds: ``scenes`` scenes of ``split`` from ``seed``, ``frames_per_scene`` frames
    each, ``crops_per_frame`` crops of ``crop`` (h, w)."""

    scenes: int = 200
    frames_per_scene: int = 2
    crops_per_frame: int = 16
    crop: tuple[int, int] = (96, 96)
    split: str = "train"
    seed: int = 0
    edge_bias: float = 0.8
    mix: bool = True
    color_blur: float = 0.8
    color_codec: float = 0.0
    scene: SceneConfig = field(default_factory=SceneConfig)
    degradation: DegradeConfig = field(default_factory=DegradeConfig)
    scene_scale: tuple[float, float] = (1.0, 1.0)
    color_antialias: float = 0.0
    color_warp: float = 0.0
    color_warp_share: float = 1.0
    depth_blur: float = 0.0
    color_rim: float = 0.0
    photo_share: float = 0.0
    photo_dir: str = ""
    photo_errors: tuple[str, ...] = ()
    mix_max_width: int = MIX_MAX_WIDTH
    mix_clean: float = 0.0
    mix_clean_aligned: bool = False

    def __post_init__(self) -> None:
        lo, hi = self.scene_scale
        if not 0 < lo <= hi <= 4:
            raise ValueError(f"scene_scale must be 0 < lo <= hi <= 4, got {lo}, {hi}")
        if not 0.0 <= self.color_antialias <= 1.0:
            raise ValueError(f"color_antialias must be in [0, 1], got {self.color_antialias}")
        if not 0.0 <= self.color_warp <= 4.0:
            raise ValueError(f"color_warp must be in [0, 4] px, got {self.color_warp}")
        if not 0.0 <= self.color_warp_share <= 1.0:
            raise ValueError(f"color_warp_share must be in [0, 1], got {self.color_warp_share}")
        if self.color_warp_share < 1.0 and self.color_warp == 0.0:
            raise ValueError("color_warp_share needs color_warp > 0")
        for name in ("depth_blur", "color_rim", "photo_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.photo_dir and self.photo_share == 0.0:
            raise ValueError("photo_dir needs photo_share > 0")
        for name, default in (("mix_max_width", MIX_MAX_WIDTH), ("mix_clean", 0.0)):
            if getattr(self, name) != default and not self.mix:
                raise ValueError(f"{name} needs the mix")
        if self.mix_clean_aligned and not self.mix_clean:
            raise ValueError("mix_clean_aligned needs mix_clean > 0")
        if self.mix_max_width != MIX_MAX_WIDTH or self.mix_clean:  # ranges checked
            mixed_config(np.random.default_rng(0), self.degradation, max_width=self.mix_max_width, clean=self.mix_clean)
        if self.photo_errors:
            object.__setattr__(self, "photo_errors", tuple(sorted(set(self.photo_errors))))  # one name per mix
            if self.photo_share == 0.0 or not self.mix:
                raise ValueError("photo_errors needs photo_share > 0 and the mix")
            mixed_config(np.random.default_rng(0), self.degradation, self.photo_errors)  # names checked
        if self.photo_share > 0:  # an unreadable or too small photograph: an error before any rendering
            photo_pool(self.photo_dir or None, self.crop)

    def scene_at(self, rng: np.random.Generator) -> SceneConfig:
        """The scene config of one cached scene: ``scene`` scaled by a factor drawn log-uniformly
        from ``scene_scale`` (no draw when lo == hi), never smaller than the crop."""
        lo, hi = self.scene_scale
        s = lo if lo == hi else float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        if s == 1.0:
            return self.scene
        w = max(self.crop[1], int(round(self.scene.width * s)))
        h = max(self.crop[0], int(round(self.scene.height * s)))
        return dataclasses.replace(self.scene, width=w, height=h)

    def key(self) -> str:
        """A short hash of every field: the cache file's name."""
        d = dataclasses.asdict(self)
        if tuple(d["scene_scale"]) == (1.0, 1.0):  # caches made before the field keep their names
            del d["scene_scale"]
        for name in ("color_antialias", "color_warp", "depth_blur", "color_rim"):
            if d[name] == 0.0:
                del d[name]
        if d["color_warp_share"] == 1.0:
            del d["color_warp_share"]
        if not d["photo_errors"]:
            del d["photo_errors"]
        if d["mix_max_width"] == MIX_MAX_WIDTH:
            del d["mix_max_width"]
        if d["mix_clean"] == 0.0:
            del d["mix_clean"]
        if not d["mix_clean_aligned"]:
            del d["mix_clean_aligned"]
        if d["photo_share"] == 0.0:
            del d["photo_share"], d["photo_dir"]
        else:  # the pool by content: a cache changes its name when the photo folder changes
            d["photo_dir"] = pool_digest(d["photo_dir"] or None)
        if tuple(d["scene"]["limbs"]) == (0, 0):
            del d["scene"]["limbs"]
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _scene_crops(args: tuple[CacheConfig, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cfg, i = args
    rng = np.random.default_rng([cfg.seed, i, 0xCAC4E])
    split = SPLITS[cfg.split]
    seed = int(split.start + (cfg.seed * 7919 + i * 104729) % len(split))
    scene_cfg = cfg.scene_at(rng)
    # drawn only when asked for, so that the caches of configs without it stay what they were
    antialias = cfg.color_antialias > 0 and rng.random() < cfg.color_antialias
    # its own generator: the scenes of the config without it stay what they were
    photo = cfg.photo_share > 0 and np.random.default_rng([cfg.seed, i, 0xF07]).random() < cfg.photo_share
    H, W = scene_cfg.height, scene_cfg.width
    if photo:
        scene = PhotoScene(photo_pool(cfg.photo_dir or None), np.random.default_rng([cfg.seed, i, 0xF08]),
                           (H, W), cfg.crop)
        H, W = scene.shape
        antialias = False
    else:
        scene = Scene(seed, dataclasses.replace(scene_cfg, width=2 * W, height=2 * H) if antialias else scene_cfg)
    deg_cfg = (mixed_config(rng, cfg.degradation, cfg.photo_errors if photo else (), cfg.mix_max_width,
                            cfg.mix_clean) if cfg.mix
               else cfg.degradation)
    deg = Degrader(deg_cfg, seed, (H, W))
    warp = cfg.color_warp > 0 and (has_boundary_errors(deg_cfg) or not cfg.mix_clean_aligned)
    h, w = cfg.crop
    cs, ds, gs = [], [], []
    for k in range(cfg.frames_per_scene):
        t = int(rng.integers(cfg.scene.frames))
        f = scene.render(t) if photo else scene.render(t, 8)
        if antialias:
            f = antialiased(f, (int(rng.integers(2)), int(rng.integers(2))))
        d, err = deg.apply(f.depth, t, f.labels)
        if cfg.depth_blur > 0:  # its own generator: the other frames stay those of the config without it
            brng = np.random.default_rng([cfg.seed, i, k, 0xB1])
            if brng.random() < cfg.depth_blur:
                d = blurred_depth(d, float(brng.uniform(*DEPTH_BLUR_SIGMA)))  # crops stay where the errors are
        color = f.color
        sharpen = None
        if cfg.color_rim > 0 and not photo:  # its own generator: the other frames stay those of the config without it
            rrng = np.random.default_rng([cfg.seed, i, k, 0x21A])
            if rrng.random() < cfg.color_rim:
                color = rimmed_color(color, f.depth, f.labels, int(rrng.integers(1, 5)),
                                     float(rrng.uniform(*RIM_STRENGTH)))
                if rrng.random() < 0.5:
                    sharpen = (float(rrng.uniform(*SHARPEN_AMOUNT)), float(rrng.uniform(*SHARPEN_SIGMA)))
        if warp:  # its own generator: the crops and depths stay those of the config without it
            wrng = np.random.default_rng([cfg.seed, i, k, 0x3A7])
            # the share's draw only when asked for, so that share 1 warps as before it existed
            if cfg.color_warp_share == 1.0 or wrng.random() < cfg.color_warp_share:
                color = warped_color(color, float(wrng.uniform(0, cfg.color_warp)), wrng)
        if cfg.color_blur > 0:
            color = blurred_color(color, rng, cfg.color_blur)
        if sharpen is not None:  # in the camera, before its codec
            color = sharpened(color, *sharpen)
        if cfg.color_codec > 0 and rng.random() < cfg.color_codec:
            color = camera_chain(color, rng)
        ys, xs = np.nonzero(err)
        for _ in range(cfg.crops_per_frame):
            if len(ys) and rng.random() < cfg.edge_bias:
                k = int(rng.integers(len(ys)))
                y = int(np.clip(ys[k] - h // 2, 0, H - h))
                x = int(np.clip(xs[k] - w // 2, 0, W - w))
            else:
                y, x = int(rng.integers(H - h + 1)), int(rng.integers(W - w + 1))
            cs.append(color[y:y + h, x:x + w].transpose(2, 0, 1))
            ds.append(d[None, y:y + h, x:x + w])
            gs.append(f.depth[None, y:y + h, x:x + w])
    return np.stack(cs), np.stack(ds), np.stack(gs)


DEPTH_BLUR_SIGMA = (0.5, 2.0)
RIM_STRENGTH = (-0.45, 0.3)  # the rim's relative brightness change at the outline (darkening more often)
SHARPEN_AMOUNT = (0.3, 1.5)
SHARPEN_SIGMA = (0.8, 2.0)


def rimmed_color(color: np.ndarray, depth: np.ndarray, labels: np.ndarray, width: int,
                 strength: float) -> np.ndarray:
    """``color`` (H x W x 3 uint8) with a rim inside every object outline: a pixel within Chebyshev
    distance r <= ``width`` px of a pixel of another layer (``labels``) that is farther than it
    (``depth`` larger = nearer), r the least such, has its colour scaled by
    ``1 + strength * (width + 1 - r) / width``, rounded and clipped; every other pixel is kept (the
    slope of a pixel's own layer never makes a rim)."""
    gt = depth.astype(np.float32)
    far = np.float32(np.iinfo(depth.dtype).max + 1)
    factor = np.ones(gt.shape, np.float32)
    done = np.zeros(gt.shape, bool)
    # per layer: its pixels, and the depth map with them pushed beyond the farthest value
    layers = [(own, np.where(own, far, gt)) for own in (labels == lab for lab in np.unique(labels))]
    for r in range(1, width + 1):
        kernel = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
        ring = np.zeros(gt.shape, bool)
        for own, rest in layers:  # the nearest depth of the other layers within r
            others = cv2.erode(rest, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=float(far))
            ring |= own & (others < gt)
        ring &= ~done
        factor[ring] = 1.0 + strength * (width + 1 - r) / width
        done |= ring
    out = color.astype(np.float32) * factor[..., None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def sharpened(color: np.ndarray, amount: float, sigma: float) -> np.ndarray:
    """A camera's sharpening: the unsharp mask ``color + amount * (color - Gaussian(color, sigma))``
    (OpenCV, reflected borders), rounded and clipped to uint8."""
    c = color.astype(np.float32)
    blur = cv2.GaussianBlur(c, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
    return np.clip(np.rint(c + amount * (c - blur)), 0, 255).astype(np.uint8)


def blurred_depth(depth: np.ndarray, sigma: float) -> np.ndarray:
    """``depth`` (H x W integers) blurred with a Gaussian of ``sigma`` px (OpenCV, reflected borders),
    rounded back to its dtype."""
    out = cv2.GaussianBlur(depth.astype(np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
    return np.clip(np.rint(out), 0, np.iinfo(depth.dtype).max).astype(depth.dtype)


def antialiased(frame: Frame, phase: tuple[int, int]) -> Frame:
    """A frame rendered at twice the size, brought to half: colour area-averaged over each 2 x 2
    block, depth and labels sampled at ``phase`` (dy, dx) of each block."""
    h, w = frame.depth.shape[0] // 2, frame.depth.shape[1] // 2
    dy, dx = phase
    color = cv2.resize(frame.color[:2 * h, :2 * w], (w, h), interpolation=cv2.INTER_AREA)
    return Frame(color, np.ascontiguousarray(frame.depth[dy:2 * h:2, dx:2 * w:2]),
                 np.ascontiguousarray(frame.labels[dy:2 * h:2, dx:2 * w:2]))


def warped_color(color: np.ndarray, amplitude: float, rng: np.random.Generator, cell: int = 24) -> np.ndarray:
    """``color`` (H x W x 3) resampled (bilinear, mirrored borders) at ``p + u(p)``: ``u`` is a smooth
    random displacement field (Gaussian noise on a grid of ``cell``-px cells, bicubic-upsampled), each
    of its two components scaled so that its largest magnitude is ``amplitude`` px."""
    h, w = color.shape[:2]
    if amplitude <= 0:
        return color
    grid = rng.normal(size=(2, h // cell + 2, w // cell + 2)).astype(np.float32)
    u = [cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC) for g in grid]
    u = [c * np.float32(amplitude / max(float(np.abs(c).max()), 1e-6)) for c in u]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(color, xs + u[0], ys + u[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def camera_chain(color: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An RGB uint8 frame after sensor noise (sigma in [0, 2] levels) and a JPEG round trip (quality
    50-95, OpenCV's default 4:2:0 chroma subsampling)."""
    sigma = float(rng.uniform(0, 2))
    noisy = np.clip(np.rint(color + rng.normal(0, sigma, color.shape)), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(50, 96))])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def build_cache(cfg: CacheConfig, workers: int = 2, progress: bool = True) -> dict[str, np.ndarray]:
    """Render the crops of ``cfg`` with ``workers`` processes; returns ``{"color", "depth", "gt"}``."""
    jobs = [(cfg, i) for i in range(cfg.scenes)]
    parts = []
    if workers > 1:
        with mp.get_context("spawn").Pool(workers) as pool:
            for n, part in enumerate(pool.imap(_scene_crops, jobs, chunksize=4), 1):
                parts.append(part)
                if progress and n % 25 == 0:
                    print(f"crop cache: {n}/{cfg.scenes} scenes", flush=True)
    else:
        parts = [_scene_crops(j) for j in jobs]
    return {k: np.concatenate([p[i] for p in parts]) for i, k in enumerate(("color", "depth", "gt"))}


def load_or_build_cache(cfg: CacheConfig, folder: str | Path = "runs/cache", workers: int = 2,
                        progress: bool = True) -> dict[str, np.ndarray]:
    """The cache of ``cfg`` from ``folder/<key>.npz``, rendered and saved (atomically) when missing."""
    path = Path(folder) / f"crops-{cfg.key()}.npz"
    if path.is_file():
        try:
            with np.load(path) as z:
                return {k: z[k] for k in ("color", "depth", "gt")}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:  # cut short, or not ours
            print(f"crop cache {path} cannot be read ({exc.__class__.__name__}): rendering it again", flush=True)
            path.unlink(missing_ok=True)
    arrays = build_cache(cfg, workers, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    if progress:
        print(f"crop cache: {len(arrays['gt'])} crops saved to {path}", flush=True)
    return arrays


class CachedCrops:
    """Random batches from cached crops: ``next(it)`` gives uint8 tensors (color, depth_in, gt) of
    ``batch`` crops, each flipped horizontally and / or transposed at random (square crops only for
    transposes)."""

    def __init__(self, arrays: dict[str, np.ndarray], batch: int, seed: int = 0) -> None:
        self.color = torch.from_numpy(arrays["color"])
        self.depth = torch.from_numpy(arrays["depth"])
        self.gt = torch.from_numpy(arrays["gt"])
        self.batch = int(batch)
        self.gen = torch.Generator().manual_seed(int(seed))
        self.square = self.gt.shape[-1] == self.gt.shape[-2]

    def __len__(self) -> int:
        return len(self.gt)

    def __iter__(self) -> "CachedCrops":
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = torch.randint(len(self.gt), (self.batch,), generator=self.gen)
        out = [self.color[idx], self.depth[idx], self.gt[idx]]
        flip, trans = torch.rand(2, generator=self.gen).tolist()
        if flip < 0.5:
            out = [x.flip(-1) for x in out]
        if self.square and trans < 0.5:
            out = [x.transpose(-1, -2) for x in out]
        return tuple(x.contiguous() for x in out)  # type: ignore[return-value]
