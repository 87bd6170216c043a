"""Model registry: named IGDE variants, one constructor, checkpoints that carry their config.

Every consumer (training, evaluation, export, backends) builds the network through
``create_model(name, **overrides)`` or ``load_checkpoint(path)``; sizes live only in the variant
functions below.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Callable

import torch

from .igde import IGDE, IGDEConfig, ResidualDenseBlock, ResidualDenseNetwork
from .selection import head_form

__all__ = [
    "IGDE", "IGDEConfig", "ResidualDenseBlock", "ResidualDenseNetwork",
    "register_arch", "register_model", "list_models", "get_config", "create_model",
    "load_checkpoint", "read_checkpoint", "save_checkpoint", "config_from_dict",
    "build_model", "model_complexity", "weights_hash", "pretrained_path", "WEIGHTS_DIR",
]

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
# architecture name -> (config dataclass, model class); a model class takes its config and has
# forward(color N x 3 x H x W, depth N x 1 x H x W) -> N x 1 x H x W, all in [0, 1]
_ARCHS: dict[str, tuple[type, type[torch.nn.Module]]] = {}
_REGISTRY: dict[str, Callable[[], Any]] = {}


def register_arch(name: str, config_cls: type, model_cls: type[torch.nn.Module]) -> None:
    """Make an architecture known to checkpoints (``"arch"`` key) and to the registry."""
    _ARCHS[name] = (config_cls, model_cls)


def register_model(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Register a variant: a function named like the variant (``_`` -> ``-``) returning its config."""
    _REGISTRY[fn.__name__.replace("_", "-")] = fn
    return fn


def _arch_of(config: Any) -> str:
    for name, (cfg_cls, _) in _ARCHS.items():
        if type(config) is cfg_cls:
            return name
    raise TypeError(f"no architecture registered for {type(config).__name__}")


register_arch("igde", IGDEConfig, IGDE)
_register = register_model


@_register
def igde_tiny() -> IGDEConfig:
    """For tests: a few thousand parameters, well under a second on 64x64."""
    return IGDEConfig(g0=8, g=8, layers=2, extractor_blocks=1, refine_blocks=1)


@_register
def igde_small() -> IGDEConfig:
    """The shipped default: the gated selection head over 65 candidates (5x5 square + 8 rays to 7 px)
    with a 2-channel query / key and colour-distance term per candidate; the branches and refinement
    run at half resolution (scale 2), which pays for the per-candidate terms. One pass: a second
    (``passes=2``, the network again on its own output) gains on synthetic 960x540 frames but loses
    up to 2 dB on smaller real frames (docs/models.md). Edge band 2.5 levels: pixels with no depth
    second difference above two 8-bit levels within 7 px keep their input (a slanted surface, steep
    or not, is not a boundary error). Pick temperature 0.3, the temperature it is trained at (chosen
    on the val split and a real val pair): the hard output takes the input value nearest the soft
    output's candidate mean, not the top score. Flip average: the scores and gate are the mean of a
    run on the frame and one on its left-right mirror (twice the network's cost; the shipped weights
    are trained with it, ``TrainConfig.flip_train``; ``flip_average=False`` for the single run)."""
    return IGDEConfig(g0=16, g=12, layers=3, extractor_blocks=1, refine_blocks=2, head="select", radius=7,
                      candidates="star", attend=2, scale=2, passes=1, band_step=2.5, pick_temperature=0.3,
                      flip_average=True)


@_register
def igde_small_hq() -> IGDEConfig:
    """igde-small's weights with the top-bottom flip averaged too (``flip_vertical``): four runs (the
    frame, its mirror, upside down, turned half round) instead of two, twice the cost; chosen on
    validation data only (docs/models.md)."""
    return dataclasses.replace(igde_small(), flip_vertical=True)


@_register
def igde_small_select() -> IGDEConfig:
    """The full-resolution igde-small backbone with the plain gated selection head (the output-head
    comparison)."""
    return IGDEConfig(g0=16, g=12, layers=3, extractor_blocks=1, refine_blocks=2, head="select", radius=7,
                      candidates="star")


@_register
def igde_small_residual() -> IGDEConfig:
    """The igde-small backbone with the paper's residual head (the output-head comparison)."""
    return IGDEConfig(g0=16, g=12, layers=3, extractor_blocks=1, refine_blocks=2)


@_register
def igde_small_soft() -> IGDEConfig:
    """The igde-small backbone with the ungated soft selection head (the output-head comparison)."""
    return IGDEConfig(g0=16, g=12, layers=3, extractor_blocks=1, refine_blocks=2, head="soft", radius=7,
                      candidates="star")


@_register
def igde_base() -> IGDEConfig:
    """Paper scale, close to the RDN paper's blocks (G0 = 64, G = 32, L = 6)."""
    return IGDEConfig(g0=64, g=32, layers=6, extractor_blocks=2, refine_blocks=4)


def list_models() -> list[str]:
    """Names of the registered variants."""
    return sorted(_REGISTRY)


def get_config(name: str, **overrides: Any) -> Any:
    """Config of variant ``name`` with ``overrides`` applied; unknown names or keys raise."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; registered: {', '.join(list_models())}")
    config = _REGISTRY[name]()
    fields = {f.name for f in dataclasses.fields(config)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown {type(config).__name__} keys {unknown}; known: {sorted(fields)}")
    return dataclasses.replace(config, **overrides)


def build_model(config: Any) -> torch.nn.Module:
    """Instantiate the model class registered for ``config``'s type."""
    return _ARCHS[_arch_of(config)][1](config)


def pretrained_path(name: str) -> Path:
    """Where the shipped weights of variant ``name`` live (the file may not exist)."""
    return WEIGHTS_DIR / f"{name}.pt"


def create_model(name: str, pretrained: bool = False, **overrides: Any) -> torch.nn.Module:
    """Build variant ``name``; ``pretrained=True`` loads the weights shipped in the package."""
    if pretrained:
        path = pretrained_path(name)
        if not path.is_file():
            shipped = sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))
            raise FileNotFoundError(f"no shipped weights for {name!r} (looked for {path}; shipped: "
                                    f"{', '.join(shipped) or 'none'}; a .pt or .onnx path is accepted too)")
        model = load_checkpoint(path)
        if overrides:
            raise ValueError("overrides cannot be combined with pretrained=True")
        # the registered name, not the file's record: igde-small-hq.pt is igde-small's export with
        # flip_vertical set, and says "igde-small" (which an exported graph's metadata would repeat)
        model.variant = name
        return model
    model = build_model(get_config(name, **overrides))
    model.variant = name
    return model


def config_from_dict(d: dict[str, Any], arch: str = "igde") -> Any:
    """Rebuild a config of architecture ``arch`` from a checkpoint / metadata dict; unknown keys raise."""
    if arch not in _ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; known: {sorted(_ARCHS)}")
    cfg_cls = _ARCHS[arch][0]
    fields = {f.name for f in dataclasses.fields(cfg_cls)}
    unknown = sorted(set(d) - fields)
    if unknown:
        raise ValueError(f"unknown {cfg_cls.__name__} keys {unknown}")
    return cfg_cls(**d)


def save_checkpoint(path: str | Path, model: torch.nn.Module, **extra: Any) -> None:
    """Write ``{"arch", "variant", "config", "state_dict", **extra}`` atomically (temp file, rename)."""
    path = Path(path)
    payload = {
        "arch": _arch_of(model.config),
        "variant": getattr(model, "variant", None),
        "config": dataclasses.asdict(model.config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **extra,
    }
    tmp = path.with_name(path.name + ".part")
    torch.save(payload, tmp)
    tmp.replace(path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> torch.nn.Module:
    """Build the model described by a checkpoint's config and load its weights (eval mode)."""
    return read_checkpoint(path, map_location)[0]


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """``load_checkpoint``'s model and the file's whole payload (training config, run record,
    optimizer state), from one read of the file."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # torch raises many types for a non-checkpoint file
        raise ValueError(f"{path}: not an igde-stream checkpoint ({exc.__class__.__name__})") from None
    if not isinstance(payload, dict) or "config" not in payload or "state_dict" not in payload:
        raise ValueError(f"{path}: not an igde-stream checkpoint (no config / state_dict)")
    model = build_model(config_from_dict(payload["config"], payload.get("arch", "igde")))
    weights = {k: v.float() for k, v in payload["state_dict"].items()}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    shapes = sorted(k for k in set(weights) & set(expected) if weights[k].shape != expected[k].shape)
    if missing or unexpected or shapes:  # load_state_dict's own error is a page of key names
        found = ", ".join(f"{n} {what}" for n, what in ((len(missing), "missing"), (len(unexpected), "unexpected"),
                                                        (len(shapes), "of another shape")) if n)
        raise ValueError(f"{path}: its weights do not fit its config ({found}, e.g. "
                         f"{(missing or unexpected or shapes)[0]}): a checkpoint of another model or architecture")
    model.load_state_dict(weights)
    model.variant = payload.get("variant") or path.stem
    return model.eval(), payload


#: IGDEConfig fields added after models were shipped, with their "not set" value: left out of the
#: hash while unset.
LATER_FIELDS = {"full_convs": 0, "flip_vertical": False, "zero_holes": False, "global_context": 0}


def weights_hash(model: torch.nn.Module) -> str:
    """SHA-256 (first 16 hex digits) over the config and the float32 weights: identifies a model.
    ``full_convs``, ``flip_vertical``, ``zero_holes`` and ``global_context`` enter only when set, so the
    hashes of models from before those fields stay."""
    config = dataclasses.asdict(model.config)
    for name, unset in LATER_FIELDS.items():  # IGDE configs only; the baselines have no such fields
        if name in config and config[name] == unset:
            del config[name]
    h = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().float().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def model_complexity(model: torch.nn.Module | str, height: int = 540, width: int = 960) -> dict[str, float]:
    """Parameters and cost of one frame of ``height`` x ``width``.

    Every conv is stride 1 and size preserving, so multiply-accumulates scale with the pixel count:
    they are counted with forward hooks on a 32 x 32 probe (in eval mode: every inference pass) and
    scaled. GFLOP = 2 x GMAC. A select head is counted in its dense form (every pixel scored): the
    gated form scores only the pixels its gate opens, a share that depends on the input.
    """
    if isinstance(model, str):
        model = create_model(model)
    macs = 0

    def hook(mod: torch.nn.Conv2d, _inp: Any, out: torch.Tensor) -> None:
        nonlocal macs
        k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
        macs += out.numel() // out.shape[0] * k

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    was_training = model.training
    try:
        with torch.no_grad(), head_form(model, sparse=False):
            model.eval()(torch.zeros(1, 3, 32, 32), torch.zeros(1, 1, 32, 32))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    scale = height * width / (32 * 32)
    params = sum(p.numel() for p in model.parameters())
    return {"params": params, "gmac": macs * scale / 1e9, "gflop": 2 * macs * scale / 1e9}
from . import baselines  # noqa: F401
