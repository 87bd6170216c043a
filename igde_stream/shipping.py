"""Shipping a trained checkpoint: the weights-only ``.pt`` and its ``.json`` record (command, seed,
data, validation, and the runs it was fine-tuned from)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

from .models import load_checkpoint, save_checkpoint, weights_hash
from .training import _with_settings, _write_json

__all__ = ["export_weights"]


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
    model = load_checkpoint(checkpoint)
    if overrides:
        model = _with_settings(model, overrides, checkpoint).eval()
    payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
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
        meta["export_overrides"] = {**(shipped.get("export_overrides") or {}), **dict(overrides or {})}
        meta["re_released_from"] = {k: shipped.get(k) for k in ("weights_hash", "config", "export_command")}
    meta.update(extra or {})
    _write_json(dest.with_suffix(".json"), meta)
    return meta


# what a re-release keeps from the record of the shipped weights it starts from
_RECORD_KEYS = ("model", "source_checkpoint", "command", "seed", "steps", "train_seconds", "train_config",
                "data", "validation", "starts_from")


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
    """Command, seed, steps and seconds of the training run that wrote a checkpoint payload."""
    tc = payload.get("train_config", {})
    return {"command": payload.get("command") or tc.get("command"), "seed": tc.get("seed"),
            "steps": payload.get("step"), "train_seconds": payload.get("elapsed_s")}


def _lineage(model: Any, depth: int = 0) -> list[dict[str, Any]]:
    """The training runs a fine-tune started from, nearest first: checkpoint, command, seed, steps and
    seconds of each (a run from scratch names a registered model, and the list ends there). Shipped
    weights (no training payload) are described by the ``.json`` record beside them, whose own
    ``starts_from`` continues the list."""
    path = Path(str(model)) if model else None
    if path is None or path.suffix != ".pt" or not path.is_file() or depth >= 8:
        return []
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if "train_config" not in payload:
        record = path.with_suffix(".json")
        meta = json.loads(record.read_text()) if record.is_file() else {}
        entry = {"checkpoint": str(path), **{k: meta.get(k) for k in (
            "weights_hash", "command", "seed", "steps", "train_seconds", "export_command")}}
        return [entry] + list(meta.get("starts_from") or [])
    entry = {"checkpoint": str(path), **_run_fields(payload)}
    return [entry] + _lineage(payload.get("train_config", {}).get("model"), depth + 1)
