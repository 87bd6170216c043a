"""Shipping a trained checkpoint: the weights-only ``.pt`` and its ``.json`` record (command, seed,
data, validation, and the runs it was fine-tuned from)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

from .models import read_checkpoint, save_checkpoint, weights_hash
from .training import _with_settings, _write_json

__all__ = ["average_weights", "export_weights"]


def export_weights(checkpoint: str | Path, dest: str | Path, extra: dict[str, Any] | None = None,
                   overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ship a training checkpoint: ``dest`` (.pt) gets the model config + weights only (no optimizer),
    ``dest`` with suffix .json gets command, seed, steps, data parameters, validation metrics and the
    weights hash (plus ``extra``, e.g. an evaluation table). ``overrides``: config settings that keep
    the weights (inference ones such as ``passes``), recorded as ``export_overrides``. ``checkpoint``
    may also be shipped weights with their record beside them: the new record then keeps that one's
    training run, seed, data, validation and lineage, adds ``overrides`` to its ``export_overrides``
    and names the release it came from (``re_released_from``). Returns the JSON record."""
    checkpoint, dest = Path(checkpoint), Path(dest)
    model, payload = read_checkpoint(checkpoint)
    if overrides:
        model = _with_settings(model, overrides, checkpoint).eval()
    tc = payload.get("train_config", {})
    # all read before writing dest: a fine-tune may replace its own start, a re-release its source
    lineage = _lineage(tc.get("model"))
    shipped = _shipped_record(checkpoint, payload)
    dest.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(dest, model)
    meta = {
        "model": payload.get("variant"), "arch": payload.get("arch"), "config": dataclasses.asdict(model.config),
        "export_overrides": dict(overrides or {}),
        "weights_hash": weights_hash(model), "params": sum(p.numel() for p in model.parameters()),
        "source_checkpoint": checkpoint.name, **_run_fields(payload),
        "train_config": tc, "data": payload.get("data"),
        "validation": payload.get("val"), "torch": torch.__version__,
        "starts_from": lineage,
    }
    if shipped:  # the training run is the one the shipped record describes
        meta.update({k: shipped.get(k) for k in _RECORD_KEYS})
        meta.update({k: shipped[k] for k in _RESUME_KEYS if k in shipped})
        meta.update({k: shipped[k] for k in _AVERAGE_KEYS if k in shipped})
        meta["export_overrides"] = {**(shipped.get("export_overrides") or {}), **dict(overrides or {})}
        meta["re_released_from"] = {k: shipped.get(k) for k in ("weights_hash", "config", "export_command")}
    meta.update(extra or {})
    _write_json(dest.with_suffix(".json"), meta)
    return meta


# what a re-release keeps from the record of the shipped weights it starts from
_RECORD_KEYS = ("model", "source_checkpoint", "command", "seed", "steps", "train_seconds", "train_config",
                "data", "validation", "starts_from")
# ... and, for an average of weights, these too
_AVERAGE_KEYS = ("averaged_from", "seeds")
# ... and, for a run that was resumed, its resume commands
_RESUME_KEYS = ("resumed_with",)


def average_weights(first: str | Path, second: str | Path, dest: str | Path, share: float = 0.5,
                    overrides: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ship the weight average ``(1 - share) * first + share * second`` of two models of one
    architecture (every floating-point tensor; e.g. two seeds of one recipe, or a fine-tune and the
    release it started from). ``overrides``: inference settings (e.g. ``zero_holes``) set on both
    parents before their configs are compared; the configs must then be equal. ``dest`` (.pt) gets
    the weights, its .json the record: both parents' hashes (as they were read), shares and records
    (command, seed, lineage; an averaged parent its own ``averaged_from``) and ``seeds``, the seeds
    of the training runs averaged (the runs they started from are in each parent's ``starts_from``).
    With share 0.5 the average is exact in float32 (halving is), so the order of the two does not
    change it."""
    if not 0.0 < share < 1.0:
        raise ValueError(f"share must be in (0, 1), got {share}")
    models, records, payloads = [], [], []
    for path, w in ((Path(first), 1.0 - share), (Path(second), share)):
        model, payload = read_checkpoint(path)
        payloads.append(payload)
        records.append(_parent_record(path, payload, model, w))
        models.append(_with_settings(model, overrides, path).eval() if overrides else model)
    a, b = models
    ca, cb = dataclasses.asdict(a.config), dataclasses.asdict(b.config)
    differ = [f"{k}: {ca[k]} vs {cb.get(k)}" for k in sorted(ca) if ca[k] != cb.get(k)]
    if type(a) is not type(b) or differ:
        raise ValueError(f"{first} and {second} are not one architecture ({'; '.join(differ) or 'model types'}); "
                         "an inference setting can be made equal with --override")
    wa, wb = a.state_dict(), b.state_dict()
    for k, v in wa.items():
        if not v.is_floating_point() and not torch.equal(v, wb[k]):
            raise ValueError(f"{first} and {second} differ in the integer buffer {k}; cannot average them")
    a.load_state_dict({k: ((1.0 - share) * v + share * wb[k]).to(v.dtype) if v.is_floating_point() else v
                       for k, v in wa.items()})
    seeds: list[Any] = []
    for r in records:
        for seed in r.get("seeds") or [r.get("seed")]:
            if seed is not None and seed not in seeds:
                seeds.append(seed)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(dest, a)
    meta = {
        "model": getattr(a, "variant", None), "arch": payloads[0].get("arch"), "config": dataclasses.asdict(a.config),
        "export_overrides": dict(overrides or {}),
        "weights_hash": weights_hash(a), "params": sum(p.numel() for p in a.parameters()),
        "averaged_from": records, "seeds": seeds, "torch": torch.__version__,
    }
    meta.update(extra or {})
    _write_json(dest.with_suffix(".json"), meta)
    return meta


def _parent_record(path: Path, payload: dict[str, Any], model: torch.nn.Module, share: float) -> dict[str, Any]:
    """One parent of a weight average (``payload``: its file as read): its hash and share, and what
    made it (a training checkpoint's run and lineage, or the record beside shipped weights)."""
    entry: dict[str, Any] = {"checkpoint": str(path), "share": share, "weights_hash": weights_hash(model)}
    shipped = _shipped_record(path, payload)
    if shipped:
        keep = ("command", "seed", "steps", "train_seconds", "train_config", "data", "validation",
                "export_command", "export_overrides", "starts_from", *_AVERAGE_KEYS, *_RESUME_KEYS)
        entry.update({k: shipped[k] for k in keep if k in shipped})
    elif "train_config" in payload:
        entry.update({**_run_fields(payload), "train_config": payload["train_config"], "data": payload.get("data"),
                      "validation": payload.get("val"), "starts_from": _lineage(payload["train_config"].get("model"))})
    return entry


def _shipped_record(checkpoint: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """The ``.json`` record beside shipped weights (a weights-only ``.pt``, no training payload), or
    {} for a training checkpoint or a file without one. Exporting shipped weights again with an
    inference override (a re-release) keeps the record's training run, seed, data and lineage."""
    record = checkpoint.with_suffix(".json")
    if "train_config" in payload or not record.is_file():
        return {}
    try:
        return json.loads(record.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{record}: not a JSON record of shipped weights ({exc.msg})") from None


def _run_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """Command, seed, steps and seconds of the training run that wrote a checkpoint payload, and the
    commands that resumed it (``resumed_with``, where it was resumed: its own command alone would stop
    at its first budget)."""
    tc = payload.get("train_config", {})
    fields = {"command": payload.get("command") or tc.get("command"), "seed": tc.get("seed"),
              "steps": payload.get("step"), "train_seconds": payload.get("elapsed_s")}
    if payload.get("resumed_with"):
        fields["resumed_with"] = list(payload["resumed_with"])
    return fields


def _lineage(model: Any, depth: int = 0, seen: frozenset[Path] = frozenset()) -> list[dict[str, Any]]:
    """The training runs a fine-tune started from, nearest first: checkpoint, command, seed, steps and
    seconds of each (a run from scratch names a registered model, and the list ends there). Shipped
    weights (no training payload) are described by the ``.json`` record beside them, whose own
    ``starts_from`` continues the list. A checkpoint already listed ends it (a fine-tune that wrote
    over the file it started from names itself: the weights it started from are gone)."""
    path = Path(str(model)) if model else None
    if path is None or path.suffix != ".pt" or not path.is_file() or depth >= 8 or path.resolve() in seen:
        return []
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if "train_config" not in payload:
        record = path.with_suffix(".json")
        meta = json.loads(record.read_text()) if record.is_file() else {}
        entry = {"checkpoint": str(path), **{k: meta.get(k) for k in (
            "weights_hash", "command", "seed", "steps", "train_seconds", "export_command")},
                 **{k: meta[k] for k in (*_AVERAGE_KEYS, *_RESUME_KEYS) if k in meta}}
        return [entry] + list(meta.get("starts_from") or [])
    entry = {"checkpoint": str(path), **_run_fields(payload)}
    return [entry] + _lineage(payload.get("train_config", {}).get("model"), depth + 1, seen | {path.resolve()})
