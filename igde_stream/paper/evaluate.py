"""Evaluating the suite: the degraded input, the OpenCV filters (``filter_methods``) and every
checkpoint on the synthetic test split and ICL-NUIM, written as tables and figures
(``evaluate_suite``)."""

from __future__ import annotations

import gc
import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Sequence as Seq

import numpy as np

from ..eval_report import json_ready
from .figures import _crop_box, save_fig10
from .suite import LEARNED
from .tables import build_tables, tables_markdown


def filter_methods() -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """The OpenCV filters of :mod:`igde_stream.filters` as batch methods (``filter:<name>``)."""
    from ..filters import FILTERS

    def batched(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]):
        def run(color: np.ndarray, depth: np.ndarray) -> np.ndarray:
            return np.stack([fn(c, d) for c, d in zip(color, depth)])
        return run

    return {f"filter:{name}": batched(fn) for name, fn in FILTERS.items()}


def evaluate_suite(
    ckpts: str | Path | Seq[str | Path], out: str | Path, *, device: str = "cpu", sequences: int = 4, frames: int = 12,
    size: tuple[int, int] = (960, 540), icl: str | Path | None = None, figures: int = 2,
    batch: int = 1, datasets: Seq[str] = ("synthetic", "icl"),
    methods: Seq[str] = ("input", "filters", "learned"), backend: str = "torch", threads: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Evaluate every method on the synthetic test split (``sequences`` x ``frames`` at ``size``
    (W, H)) and on ICL-NUIM frames in ``icl`` (skipped when None or missing); write
    ``out/paper_tables.md``, ``out/paper_tables.json`` and ``figures`` Fig. 10 PNGs per dataset.
    Returns the JSON object. Checkpoints are ``ckpts/<key>.pt`` with records ``<key>.json``;
    ``ckpts`` may be several folders (one ``train_suite`` run per seed): each row then shows the
    mean over its seeds (``build_tables``). Figures use the first folder's IGDE.

    ``datasets`` ("synthetic", "icl") and ``methods`` ("input", "filters", "learned") pick what to
    (re)compute; every other result is kept from ``out/paper_raw.json`` of an earlier run, so the
    networks can be evaluated on a GPU machine and the CPU-only filters and the ICL-NUIM frames
    later elsewhere. Merging results of different test data (size, frames) raises ValueError.
    ``backend`` runs the networks with PyTorch on ``device`` or, on a CPU, with ONNX Runtime
    (``threads``); each result records where it ran."""
    from ..evaluation import evaluate_methods, icl_nuim_sequence, identity_method, model_method, test_sequences

    folders = [Path(ckpts)] if isinstance(ckpts, (str, Path)) else [Path(c) for c in ckpts]
    out = Path(out)
    unknown = sorted(set(datasets) - {"synthetic", "icl"}) + sorted(set(methods) - {"input", "filters", "learned"})
    if unknown:
        raise ValueError(f"unknown datasets / methods {unknown}; known: synthetic, icl / input, filters, learned")
    for name, value, least in (("sequences", sequences, 1), ("frames", frames, 1), ("batch", batch, 1),
                               ("figures", figures, 0)):
        if value < least:  # before the output folder is made
            raise ValueError(f"{name} must be >= {least}, got {value}")
    records: dict[str, dict[str, Any]] = {}  # "<key>@<seed>" -> training record
    ckpt_of: dict[str, Path] = {}
    for folder in folders:
        for key in LEARNED:  # training records are read even when the networks are not re-run
            js = folder / f"{key}.json"
            if not js.is_file():
                continue
            rec = json.loads(js.read_text())
            tag = f"{key}@{rec.get('seed', 0)}"
            if tag in records:
                raise ValueError(f"{js}: a second {key} checkpoint with seed {rec.get('seed', 0)} "
                                 f"(the other is in {ckpt_of[tag].parent}); give one folder per seed")
            records[tag], ckpt_of[tag] = rec, folder / f"{key}.pt"
    # method factories: a network is built right before its turn and dropped after it (eleven or
    # more ONNX Runtime sessions with their memory arenas at 960x540 do not fit in 24 GB together)
    run: dict[str, Callable[[], Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {}
    if "input" in methods:
        run["input"] = lambda: identity_method
    if "filters" in methods:
        run.update({k: (lambda m=m: m) for k, m in filter_methods().items()})
    if "learned" in methods:
        for key in LEARNED:
            if not any(t.startswith(key + "@") for t in ckpt_of):
                log(f"no checkpoint of {key} in {', '.join(map(str, folders))}: its rows stay empty")
        for tag, p in ckpt_of.items():
            if p.is_file():
                run[tag] = lambda p=p: model_method(p, device, backend=backend, threads=threads)
            else:
                log(f"no checkpoint {p}: left out")
    fig_tag = next((t for t, p in ckpt_of.items() if t.startswith("igde@") and t in run), None)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    raw_path = out / "paper_raw.json"
    raw = json.loads(raw_path.read_text()) if raw_path.is_file() else {"results": {}, "datasets": {}}
    todo: dict[str, Any] = {}
    if "synthetic" in datasets:
        todo["synthetic-test"] = test_sequences(sequences, frames, size)
    if "icl" in datasets and icl is not None:
        seq = icl_nuim_sequence(icl)
        if seq is None:
            log(f"{icl}: no ICL-NUIM frames there; skipping the real-frame tables")
        else:
            todo["icl_nuim_clean5"] = [seq]
    log(f"data ready in {time.perf_counter() - t0:.0f} s; {len(run)} methods")
    results: dict[str, dict[str, dict[str, Any]]] = {
        ds: {k: {m: (math.nan if v is None else math.inf if v == "inf" else v) for m, v in row.items()}
             for k, row in rows.items()}
        for ds, rows in raw["results"].items()}
    ds_meta = dict(raw["datasets"])
    for ds, seqs in todo.items():
        new = {"sequences": len(seqs), "frames": sum(len(x) for x in seqs),
               "size": list(seqs[0].gt.shape[1:][::-1]), "params": seqs[0].params}
        old = ds_meta.get(ds)
        if "learned" in methods:  # the folders given now are the learned rows: earlier ones go
            results[ds] = {k: v for k, v in results.get(ds, {}).items() if k.split("@")[0] not in LEARNED}
        kept = [k for k in results.get(ds, {}) if k not in run]
        if old and kept and any(old.get(f) != new[f] for f in ("sequences", "frames", "size")):
            raise ValueError(f"{raw_path}: {ds} results of {kept} were computed on other data "
                             f"({old['sequences']} x {old['frames']} frames at {old['size']}); "
                             f"re-run them too or use another --out")
        devices = dict((old or {}).get("devices", {}))
        devices = {k: v for k, v in devices.items() if "learned" not in methods or k.split("@")[0] not in LEARNED}
        devices.update({k: f"{device} ({backend})" if k.split("@")[0] in LEARNED else "cpu" for k in run})
        ds_meta[ds] = {**new, "devices": devices}
        results.setdefault(ds, {})
        for key, make in run.items():
            t1 = time.perf_counter()
            method = make()
            (row,) = evaluate_methods({key: method}, seqs, dataset=ds, batch=batch)
            del method
            gc.collect()
            # every row is saved as soon as it exists: a run cut short keeps what it measured
            results[ds][key] = row
            raw_path.write_text(json.dumps(json_ready({"results": results, "datasets": ds_meta}), indent=2) + "\n")
            log(f"{ds} {key}: PSNR {row['psnr']:.2f} PSNRt {row['psnr_t']:.2f} PSNRf {row['psnr_f']:.2f} "
                f"SSIM {row['ssim']:.4f} RMSE {row['rmse']:.3f} temporal {row['temporal']:.3f} "
                f"({time.perf_counter() - t1:.0f} s)")
        if fig_tag is not None and figures:
            # the first frame of the first sequences, or the first frames of a single sequence
            examples = [(q, 0) for q in seqs[:figures]] if len(seqs) > 1 else \
                [(seqs[0], t) for t in range(min(figures, len(seqs[0])))]
            igde = run[fig_tag]()
            for i, (seq, t) in enumerate(examples):
                pred = igde(seq.color[t:t + 1], seq.depth[t:t + 1])[0]
                h, w = seq.gt[t].shape
                ch, cw = min(h, 270), min(w, 480)
                y, x = _crop_box(seq.depth[t] != seq.gt[t], ch, cw)
                sl = np.s_[y:y + ch, x:x + cw]
                name = f"fig10_{ds.replace('-', '_')}_{i}.png"
                save_fig10(out / name, seq.color[t][sl], seq.gt[t][sl], seq.depth[t][sl], pred[sl],
                           f"IGDE (seed {fig_tag.split('@')[1]}) on {seq.name} frame {t} "
                           f"({cw}x{ch} crop at x={x}, y={y})")
                log(f"wrote {out / name}")
            del igde
    tables = build_tables(results, records)
    meta = {
        "checkpoints": [str(f) for f in folders],
        "datasets": ds_meta,
        "training": {k: {f: r.get(f) for f in ("model", "steps", "seed", "train_seconds", "loss_weights",
                                                "weights_hash", "validation")}
                     | {"checkpoint": str(ckpt_of[k])}
                     | {"train_config": {f: (r.get("train_config") or {}).get(f)
                                         for f in ("batch", "crop", "lr", "device", "amp", "scene_size")}}
                     for k, r in records.items()},
        "notes": {
            "data": "; ".join(f"{ds}: {m['sequences']} sequence(s), {m['frames']} frames at "
                              f"{m['size'][0]}x{m['size'][1]}"
                              for ds, m in ds_meta.items())
                    + "; 8-bit depth with the default DegradeConfig boundary errors; ICL-NUIM as 8-bit inverse "
                      "depth with the same degradation (non-consecutive frames: no temporal column)",
            "budget": _budget_note(records) + "".join(sorted({
                          f"; trained with batch {tc.get('batch')}, crop {tc.get('crop')}, lr {tc.get('lr')}, "
                          f"on {tc.get('device')}"
                          for tc in (r.get("train_config") or {} for r in records.values()) if tc})),
            "inference": "; ".join(
                f"{ds}: networks run on " + ", ".join(sorted({v for k, v in m.get("devices", {}).items()
                                                             if k.split("@")[0] in LEARNED}) or ["-"])
                for ds, m in ds_meta.items()),
            "baselines": "DE-CNN, DRECNN, DEN+CBPN are re-implementations at igde-small cost "
                         "(igde_stream/models/baselines.py states what the paper leaves open)",
        },
        "wall_s": None,
    }
    meta["wall_s"] = time.perf_counter() - t0
    raw_path.write_text(json.dumps(json_ready({"results": results, "datasets": ds_meta}), indent=2) + "\n")
    obj = json_ready({**tables, "meta": meta})
    (out / "paper_tables.json").write_text(json.dumps(obj, indent=2) + "\n")
    (out / "paper_tables.md").write_text(tables_markdown(tables, meta))
    log(f"wrote {out / 'paper_tables.md'} and {out / 'paper_tables.json'} in {meta['wall_s']:.0f} s")
    return obj


def _budget_note(records: dict[str, dict[str, Any]]) -> str:
    """Say whether the learned rows really had equal steps (a wall-clock cap that stops every row
    before the first common snapshot leaves them unequal, and the tables must say so)."""
    steps = sorted({int(r["steps"]) for r in records.values() if r.get("steps") is not None})
    seeds = sorted({int(r.get("seed", 0)) for r in records.values()})
    if len(steps) <= 1 and len(seeds) > 1:
        per_key: dict[str, list[int]] = {}
        for tag, r in records.items():
            per_key.setdefault(tag.split("@")[0], []).append(int(r.get("seed", 0)))
        groups: dict[tuple[int, ...], list[str]] = {}
        for key, ss in per_key.items():
            groups.setdefault(tuple(sorted(ss)), []).append(key)
        which = "; ".join(f"seed{'s' if len(ss) > 1 else ''} {', '.join(map(str, ss))}: {', '.join(keys)}"
                          for ss, keys in sorted(groups.items(), key=lambda g: -len(g[0])))
        return (f"every learned row: same recipe, batch, crop and steps, trained once per seed ({which}; "
                f"the seed sets the initial weights and the training crops); metrics are means over a "
                f"row's seeds, the PSNR of each seed is in the last column")
    if len(steps) <= 1:
        return ("every learned row: same recipe, data, batch, crop, steps and seed (see steps / seed "
                "columns and meta.training)")
    return (f"learned rows: same recipe, data, batch, crop, seed and wall-clock cap, but NOT the same "
            f"steps: the cap stopped them at {steps[0]}-{steps[-1]} steps, before any common snapshot "
            f"(see the steps column); rows with more steps had an advantage")
