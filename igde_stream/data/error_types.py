"""The named boundary error types: one :class:`~igde_stream.data.degrade.DegradeConfig` preset per
type (:data:`BOUNDARY_ERRORS`, the training mix's; :data:`HELD_OUT_ERRORS`, never trained on), the
evaluation's rows (:func:`error_type_config`, :data:`ERROR_TYPES`) and the training mix drawn per
scene (:func:`mixed_config`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from .degrade import DegradeConfig

__all__ = ["BOUNDARY_ERRORS", "HELD_OUT_ERRORS", "ERROR_TYPES", "MIX_MAX_WIDTH", "error_type_config", "mixed_config",
           "has_boundary_errors"]


# One preset per boundary error type (DegradeConfig overrides); "inflate-reduce" is the paper's type.
BOUNDARY_ERRORS: dict[str, dict] = {
    "inflate-reduce": {"min_width": 1, "max_width": 6},
    "soft": {"p_degrade": 0.0, "soft_width": 5},
    "misregistration": {"p_degrade": 0.0, "shift": 2},
    "holes": {"p_degrade": 0.0, "edge_holes": 0.85, "hole_width": 4},
    "lowres": {"p_degrade": 0.0, "lowres": 4, "lowres_linear": True},
}
# Error types that the training mix never draws (whole-frame extras, some over the paper's boundary
# errors; the paper's errors wider than the mix's 1-6 px; none at all), named so that an evaluation
# can score how the model generalises beyond its training data and what it does to correct depth.
HELD_OUT_ERRORS: dict[str, dict] = {
    "blur": {"p_degrade": 0.0, "blur_sigma": 1.5},  # a monocular estimator's smooth map
    "noise": {"noise_std": 1.5},  # sensor noise over the paper's errors
    "codec": {"jpeg_quality": 75},  # lossy-coded depth (8-bit) over the paper's errors
    "dropouts": {"holes": 12},  # a sensor's missing blobs (depth 0) over the paper's errors
    "wide": {"min_width": 7, "max_width": 10},  # inflate / reduce beyond the training's 1-6 px
    "clean": {"p_degrade": 0.0},  # no error at all: whatever a model changes is harm (input PSNR inf)
}
# The fixed evaluation mix ("mix") combines these four, as it did before "lowres" existed, so its
# rows stay comparable across versions; "lowres" is scored as its own row.
_EVAL_MIX_TYPES = ("inflate-reduce", "soft", "misregistration", "holes")


def error_type_config(name: str) -> DegradeConfig:
    """The DegradeConfig of one named type of :data:`BOUNDARY_ERRORS` or :data:`HELD_OUT_ERRORS`,
    ``"paper"`` (the default config: inflate / reduce by 1-4 px) or ``"mix"`` (a fixed representative
    mix: every type on)."""
    if name == "paper":
        return DegradeConfig()
    if name == "mix":
        merged: dict = {}
        for k in _EVAL_MIX_TYPES:
            merged.update(BOUNDARY_ERRORS[k])
        merged.update({"p_degrade": 0.85, "shift": 1, "edge_holes": 0.3, "p_soft": 0.4})
        return DegradeConfig(**merged)
    if name in HELD_OUT_ERRORS:
        return DegradeConfig(**HELD_OUT_ERRORS[name])
    if name not in BOUNDARY_ERRORS:
        raise ValueError(f"unknown boundary error type {name!r}; known: {', '.join(ERROR_TYPES)}")
    return DegradeConfig(**BOUNDARY_ERRORS[name])


# The widest inflate / reduce the training mix draws unless told otherwise (px).
MIX_MAX_WIDTH = 6

# The DegradeConfig settings with every type of BOUNDARY_ERRORS off.
_ALL_OFF = {"p_degrade": 0.0, "soft_width": 0, "edge_holes": 0.0, "shift": 0, "lowres": 0}

# Every name error_type_config knows, in table order.
ERROR_TYPES: tuple[str, ...] = ("paper", "mix", *BOUNDARY_ERRORS, *HELD_OUT_ERRORS)


def mixed_config(rng: np.random.Generator, base: DegradeConfig = DegradeConfig(),
                 types: tuple[str, ...] = (), max_width: int = MIX_MAX_WIDTH, clean: float = 0.0) -> DegradeConfig:
    """The training mix: each type of :data:`BOUNDARY_ERRORS` (of ``types`` when given) on with
    probability 1/2 (at least one), its strength drawn at random (inflate / reduce: widths 1..W, W
    drawn from 2..``max_width``); ``base`` gives everything else (extras, thresholds). With
    probability ``clean`` every type is off instead: the depth stays right (the held-out type
    ``clean``), so that the gate also learns where to leave an edge alone. At ``clean`` 0 no draw is
    made for it, so the draws of the mix stay as they were."""
    unknown = sorted(set(types) - set(BOUNDARY_ERRORS))
    if unknown:
        raise ValueError(f"unknown boundary error types {unknown}; choose from {list(BOUNDARY_ERRORS)}")
    if not 2 <= max_width <= 16:
        raise ValueError(f"the mix's widest inflate / reduce must be 2..16 px, got {max_width}")
    if not 0.0 <= clean < 1.0:
        raise ValueError(f"the mix's share of clean scenes must be in [0, 1), got {clean}")
    d = {**dataclasses.asdict(base), **_ALL_OFF}
    if clean > 0.0 and rng.random() < clean:
        return DegradeConfig(**d)
    while True:
        on = {k: rng.random() < 0.5 and (not types or k in types) for k in BOUNDARY_ERRORS}
        if any(on.values()):
            break
    if on["inflate-reduce"]:
        d.update(min_width=1, max_width=int(rng.integers(2, max_width + 1)), p_degrade=float(rng.uniform(0.5, 0.95)))
    if on["soft"]:
        d.update(soft_width=int(rng.integers(1, 6)), p_soft=float(rng.uniform(0.4, 0.95)))
    if on["holes"]:
        d.update(edge_holes=float(rng.uniform(0.2, 0.9)), hole_width=int(rng.integers(1, 5)))
    if on["misregistration"]:
        d.update(shift=int(rng.integers(1, 3)))
    if on["lowres"]:
        d.update(lowres=int(rng.integers(2, 5)), lowres_linear=bool(rng.random() < 0.5))
    return DegradeConfig(**d)


def has_boundary_errors(cfg: DegradeConfig) -> bool:
    """Whether ``cfg`` turns on any type of :data:`BOUNDARY_ERRORS` (a clean draw of
    :func:`mixed_config` turns on none)."""
    return any(getattr(cfg, name) != off for name, off in _ALL_OFF.items())
