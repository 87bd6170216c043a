"""The settings of a training run (:class:`TrainConfig`) and the data configs derived from them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .data import SPLITS, DegradeConfig, SceneConfig, steep_range
from .data.cache import CacheConfig
from .data.photo_scenes import photo_record
from .data.error_types import MIX_MAX_WIDTH, error_type_config
from .data.dataset import CropConfig
from .losses import GATE_TARGETS

__all__ = ["TrainConfig"]


@dataclass
class TrainConfig:
    """Everything a run depends on. ``steps`` and / or ``minutes`` bound the run (the first reached
    stops it; with ``resume``, ``steps`` is the total including earlier steps). ``crop`` and
    ``val_size`` are (h, w); ``scene_size`` is (W, H); ``scene_scale`` (lo, hi): with the crop cache,
    each scene is rendered at ``scene_size`` times a factor drawn log-uniformly from [lo, hi]. ``amp``: "auto" (bf16 autocast on CUDA, none
    on CPU), "bf16", "fp16" or "none". ``lr_schedule``: "constant" (the paper) or "cosine" (to 0 at
    the end of the step / time budget). ``degradation``: DegradeConfig overrides. ``head_init_scale``: a fresh residual model (config
    ``residual`` true, final conv ``head``) starts near the identity, its last conv's initial weights
    scaled by this factor (1 = as built; 0 would stall: the gradient into the network is
    proportional to those weights); other models are left as built.

    ``l2_weight`` / ``l2_warmup`` (not in the paper): an MSE warm-up. The loss is
    ``(1 - w) L5 + w l2_weight MSE`` with w falling linearly from 1 to 0 over the first ``l2_warmup``
    fraction of the budget (steps, or time when only minutes are given); after it the loss is
    exactly (5). Data: ``cache_scenes`` > 0 renders that many train scenes once into a crop cache
    (``igde_stream.data.cache``, in ``cache_dir``; boundary-biased crops) and samples it, instead of
    rendering in DataLoader workers; ``mix`` draws the boundary error types per scene (the real-world
    mix; validation then uses the fixed "mix" preset); ``color_blur`` softens the colour frames;
    ``color_codec`` sends that share of the cached colour frames through sensor noise and a JPEG
    round trip (``igde_stream.data.cache.camera_chain``); ``color_antialias`` renders that share of
    the cached scenes at twice the size, colour area-averaged down and depth sampled, so depth edges
    sit up to a pixel off the colour edges (``igde_stream.data.cache.antialiased``); ``color_warp``
    resamples each cached colour frame along a smooth random displacement field of at most that
    many pixels (``igde_stream.data.cache.warped_color``), on ``color_warp_share`` of the frames
    (drawn per frame; the rest keep exact colour); ``depth_blur`` blurs the degraded depth of that
    share of the cached frames (Gaussian, sigma 0.5-2 px; ``igde_stream.data.cache.blurred_depth``);
    ``color_rim`` gives that share of the cached frames a darkened or brightened band inside the
    nearer object's outlines and, on half of them, a camera's sharpening halos
    (``igde_stream.data.cache.rimmed_color``, ``sharpened``); ``photo_share`` makes that share of
    the cached scenes photographs with depth planes on their segments
    (``igde_stream.data.photo_scenes``: scikit-image's sample photographs plus the images of
    ``photo_dir``), their boundary errors limited to the types ``photo_errors`` when given;
    ``mix_max_width`` is the widest inflate / reduce of the mix (default 6 px), ``mix_clean`` the share
    of its scenes left without errors (default 0), with ``mix_clean_aligned`` their colour unwarped;
    ``steep_planes`` N > 0 adds 1..N steep
    planes (1-4 levels/px, :class:`~igde_stream.data.synthetic.SceneConfig`) to every training
    scene (scaled with its size), never to the validation scenes, so validation stays comparable
    across runs; ``limbs`` N > 0 grows 0..N thin parts out of each solid layer of the training
    scenes (``SceneConfig.limbs``), likewise never in validation.
    ``distill`` (a select model: a shipped name such as ``igde-small-hq``, or a .pt) adds
    ``distill_weight`` x :func:`~igde_stream.losses.distill_loss` toward that teacher's logits on
    the same crops (the teacher in eval mode: its flip runs, e.g. the four of ``flip_vertical``);
    ``supervised_weight`` scales the losses against the truth (0 with a teacher: distillation alone).
    Soft / select heads (``igde_stream.losses.selection_loss``): the temperature moves geometrically
    from ``temperature_start`` to ``temperature_end``; after ``hard_start`` (fraction of the budget) a straight-through
    hard output takes ``hard_share`` of the output loss; ``refine_share`` of each batch (select head)
    starts from the model's own hard output instead of the degraded depth, which trains the second
    and later passes of ``IGDEConfig.passes``; ``gate_weight`` / ``ce_weight`` weigh the gate
    BCE and the candidate cross-entropy; ``flip_train`` (a model with ``flip_average``) trains the
    scores averaged with the mirrored run's, as they ship, instead of one run per crop (twice the
    step time); ``gate_target`` is the gate's BCE target ("wrong": the
    input pixel is wrong; "improves": the head's own pick would lower its error). At the end a
    select head's gate threshold is set to the one with the best validation PSNR. Reason for the warm-up: from a near-identity start the L1-type terms of (5) hold the model at the
    identity (97 % of pixels are already right and their L1 gradient does not fade as the residual
    shrinks): on one fixed batch, igde-tiny with (5), or even (5) + 10 MSE, stays at the identity
    for 300 steps, while with this warm-up the error-pixel MSE falls 8000 -> 2700 and stays there
    once the loss is (5) alone. ``l2_weight=0`` trains with (5) only, as the paper does. A resumed
    run's warm-up goes on from where it was (a time budget counts the seconds already trained)."""

    model: str = "igde-small"
    overrides: dict[str, Any] = field(default_factory=dict)
    loss_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    steps: int | None = None
    minutes: float | None = None
    batch: int = 8
    crop: tuple[int, int] = (256, 256)
    lr: float = 1e-4
    lr_schedule: str = "constant"
    l2_weight: float = 10.0
    l2_warmup: float = 1.0
    device: str = "cpu"
    seed: int = 0
    workers: int = 2
    val_every: int = 200
    val_samples: int = 8
    val_size: tuple[int, int] = (256, 384)
    ckpt_every: int = 500
    log_every: int = 10
    out: str = "runs/train"
    resume: str | None = None
    amp: str = "auto"
    textures: str = "mixed"
    scene_size: tuple[int, int] = (960, 540)
    scene_scale: tuple[float, float] = (1.0, 1.0)
    frames_per_scene: int = 2
    crops_per_frame: int = 8
    degradation: dict[str, Any] = field(default_factory=dict)
    head_init_scale: float = 0.1
    threads: int | None = None
    progress: bool = True
    command: str = ""
    cache_scenes: int = 0
    cache_dir: str = "runs/cache"
    mix: bool = False
    color_blur: float = 0.0
    color_codec: float = 0.0
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
    temperature_start: float = 1.0
    temperature_end: float = 1.0
    hard_start: float = 1.0
    hard_share: float = 0.5
    gate_weight: float = 0.1
    gate_target: str = "wrong"
    ce_weight: float = 0.0
    flip_train: bool = False
    refine_share: float = 0.0
    steep_planes: int = 0
    limbs: int = 0
    distill: str | None = None
    distill_weight: float = 1.0
    supervised_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.steps is None and self.minutes is None:
            raise ValueError("give steps and/or minutes")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if self.amp not in ("auto", "bf16", "fp16", "none"):
            raise ValueError(f"amp must be auto, bf16, fp16 or none, got {self.amp!r}")
        if self.batch < 1 or self.workers < 0:
            raise ValueError("batch must be >= 1 and workers >= 0")
        if self.minutes is not None and not self.minutes > 0:
            raise ValueError(f"minutes must be > 0, got {self.minutes}")
        for name in ("val_every", "ckpt_every", "val_samples", "frames_per_scene", "crops_per_frame"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.cache_scenes < 0:
            raise ValueError(f"cache_scenes must be >= 0, got {self.cache_scenes}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not (self.device == "cpu" or str(self.device).startswith("cuda")):
            raise ValueError(f"device must be cpu, cuda or cuda:N, got {self.device!r}")
        for name in ("refine_share", "color_codec", "color_antialias", "depth_blur", "color_rim", "photo_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.gate_target not in GATE_TARGETS:
            raise ValueError(f"gate_target must be one of {GATE_TARGETS}, got {self.gate_target!r}")
        if self.steep_planes < 0:
            raise ValueError(f"steep_planes must be >= 0, got {self.steep_planes}")
        if self.limbs < 0:
            raise ValueError(f"limbs must be >= 0, got {self.limbs}")
        if self.distill_weight < 0 or self.supervised_weight < 0:
            raise ValueError("distill_weight and supervised_weight must be >= 0")
        if self.supervised_weight == 0 and (not self.distill or self.distill_weight == 0):
            raise ValueError("supervised_weight 0 needs a teacher (distill) with distill_weight > 0; the run "
                             "would have no loss")
        if not self.distill and self.distill_weight != 1.0:
            raise ValueError("distill_weight needs a teacher (distill)")
        if not (self.temperature_start > 0 and self.temperature_end > 0):
            raise ValueError("temperatures must be > 0")
        if self.seed < 0:  # it seeds NumPy generators, which take no negative seed
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        for name in ("color_blur", "gate_weight", "ce_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.hard_share <= 1.0:
            raise ValueError(f"hard_share must be in [0, 1], got {self.hard_share}")
        self.crop = tuple(self.crop)  # type: ignore[assignment]
        self.photo_errors = tuple(self.photo_errors)  # type: ignore[assignment]
        self.val_size = tuple(self.val_size)  # type: ignore[assignment]
        self.scene_size = tuple(self.scene_size)  # type: ignore[assignment]
        self.scene_scale = tuple(float(x) for x in self.scene_scale)  # type: ignore[assignment]
        if not self.cache_scenes:  # options of the crop cache alone: an error, not a silent no-op
            for name, off in (("scene_scale", (1.0, 1.0)), ("color_codec", 0.0), ("color_antialias", 0.0),
                              ("color_warp", 0.0), ("color_warp_share", 1.0), ("depth_blur", 0.0),
                              ("color_rim", 0.0), ("photo_share", 0.0), ("photo_dir", ""), ("photo_errors", ()),
                              ("mix_max_width", MIX_MAX_WIDTH), ("mix_clean", 0.0),
                              ("mix_clean_aligned", False)):
                if getattr(self, name) != off:
                    raise ValueError(f"{name} needs the crop cache (cache_scenes > 0)")
        self.crop_config()  # checks the crop against the scene size before any output
        if self.cache_scenes:
            self.cache_config()  # checks the cache's settings (scene_scale range) before any output
        self.loss_weights = tuple(float(x) for x in self.loss_weights)  # type: ignore[assignment]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig keys {unknown}")
        return cls(**d)

    def crop_config(self) -> CropConfig:
        w, h = self.scene_size
        return CropConfig(
            crop=self.crop, frames_per_scene=self.frames_per_scene, crops_per_frame=self.crops_per_frame,
            scene=SceneConfig(width=w, height=h, textures=self.textures,
                              steep_planes=steep_range(self.steep_planes), limbs=(0, self.limbs)),
            degradation=DegradeConfig(**self.degradation), mix=self.mix, color_blur=self.color_blur,
        )

    def val_crop_config(self) -> CropConfig:
        cc = self.crop_config()
        cc = dataclasses.replace(cc, scene=dataclasses.replace(cc.scene, steep_planes=(0, 0), limbs=(0, 0)),
                                 mix=False, color_blur=0.0)
        return dataclasses.replace(cc, degradation=error_type_config("mix")) if self.mix else cc

    def cache_config(self) -> CacheConfig:
        cc = self.crop_config()
        return CacheConfig(scenes=self.cache_scenes, frames_per_scene=self.frames_per_scene,
                           crops_per_frame=self.crops_per_frame, crop=self.crop, seed=self.seed,
                           mix=self.mix, color_blur=self.color_blur, color_codec=self.color_codec,
                           scene=cc.scene, degradation=cc.degradation, scene_scale=self.scene_scale,
                           color_antialias=self.color_antialias, color_warp=self.color_warp,
                           color_warp_share=self.color_warp_share, depth_blur=self.depth_blur,
                           color_rim=self.color_rim, photo_share=self.photo_share, photo_dir=self.photo_dir,
                           photo_errors=tuple(self.photo_errors), mix_max_width=self.mix_max_width,
                           mix_clean=self.mix_clean, mix_clean_aligned=self.mix_clean_aligned)

    def data_params(self) -> dict[str, Any]:
        cc = self.crop_config()
        return {"generator": "igde_stream.data.synthetic", "scene": cc.scene.to_dict(),
                "degradation": cc.degradation.to_dict(), "crop": list(self.crop),
                "frames_per_scene": cc.frames_per_scene, "crops_per_frame": cc.crops_per_frame,
                "flip": cc.flip, "train_seeds": [SPLITS["train"].start, SPLITS["train"].stop],
                "val_seeds": [SPLITS["val"].start, SPLITS["val"].start + self.val_samples],
                "val_size": list(self.val_size), "val_degradation": self.val_crop_config().degradation.to_dict(),
                "cache": dataclasses.asdict(self.cache_config()) if self.cache_scenes else None,
                "mix": self.mix, "color_blur": self.color_blur,
                "color_codec": self.color_codec, "color_antialias": self.color_antialias,
                "color_warp": self.color_warp, "color_warp_share": self.color_warp_share,
                "depth_blur": self.depth_blur, "color_rim": self.color_rim, "photo_share": self.photo_share,
                "photo_pool": photo_record(self.photo_dir or None) if self.photo_share else None,
                "photo_errors": list(self.photo_errors), "mix_max_width": self.mix_max_width,
                "mix_clean": self.mix_clean, "mix_clean_aligned": self.mix_clean_aligned}


#: settings of how a run goes, not of what it learns: a resume takes them from its own command line
RUN_FIELDS = frozenset({"out", "resume", "workers", "threads", "progress", "steps", "minutes", "command"})


def resumed_config(cli: dict[str, Any], given: set[str], saved: dict[str, Any] | None) -> tuple[TrainConfig, list[str]]:
    """The configuration of a resumed run: the run's own (``saved``, its checkpoint's
    ``train_config``), with the run fields (``RUN_FIELDS``) and the settings the resume command
    gives explicitly (``given``, TrainConfig field names) from ``cli`` (TrainConfig fields as the
    command line has them, checked only once merged); also a line per recipe setting the resume
    changes. Without a saved configuration (an old checkpoint): ``cli`` as it is."""
    if not saved:
        return TrainConfig(**cli), []
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    base = {k: v for k, v in saved.items() if k in known}
    take = (RUN_FIELDS | set(given)) & known & set(cli)
    changed = [f"{k}: {base[k]!r} -> {cli[k]!r}" for k in sorted(take - RUN_FIELDS)
               if k in base and _plain(base[k]) != _plain(cli[k])]
    merged = {**base, **{k: cli[k] for k in take}}
    merged["command"] = saved.get("command") or cli.get("command", "")  # the run's own command stays its record
    return TrainConfig(**merged), changed


def _plain(v: Any) -> Any:
    """Tuples and lists alike (a JSON round trip turns tuples into lists)."""
    return [_plain(x) for x in v] if isinstance(v, (list, tuple)) else v
