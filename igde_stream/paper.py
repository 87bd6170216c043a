"""The paper's experiments (section 4, Tables I-III, Fig. 10) on the project's own data.

Three pieces, each usable alone:

- the *suite*: which models to train (``LEARNED``) and which rows each table shows (``TABLES``).
  Every learned row trains with one recipe (``igde_stream.training.train``: Adam, lr 5e-4, the
  same synthetic crops, batch, crop size, number of steps and seed); only the model and, for
  Table II, the loss weights (a, b, c) of eq. (5) differ. Learned baselines use the full loss (5),
  as the paper trains them "with our training configuration". Rows shared between tables (IGDE with
  all three losses and three colour taps) are trained once.
- ``train_suite``: trains the rows as separate processes, ``jobs`` at a time, and writes one small
  checkpoint (config + weights, no optimizer) and one JSON record (steps reached, seed, seconds,
  validation) per row into a folder.
- ``evaluate_suite``: runs the degraded input, the three OpenCV filters and every checkpoint found
  in such a folder on the synthetic test split and on ICL-NUIM (same degradation), and writes
  ``paper_tables.md``, ``paper_tables.json`` and Fig. 10-style PNGs.

Metrics and aggregation are those of :mod:`igde_stream.evaluation` (PSNR from the frame-averaged
MSE; SSIM and RMSE per-frame means; temporal stability over consecutive test frames).
"""

from __future__ import annotations

import gc
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence as Seq

import numpy as np

from .evaluation import _fmt as _fmt_value, _json_ready

__all__ = [
    "Learned", "LEARNED", "TABLES", "TABLE_TITLES", "train_one", "train_suite", "filter_methods",
    "evaluate_suite", "build_tables", "tables_markdown", "claims", "save_fig10", "real_pictures", "REAL_FRAMES",
]


@dataclass(frozen=True)
class Learned:
    """One model to train: registered architecture ``arch`` (the variant is ``arch-scale``),
    config ``overrides`` and the loss weights (a, b, c) of eq. (5)."""

    arch: str
    overrides: dict[str, Any] = field(default_factory=dict)
    loss_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)


# key (file stem of the checkpoint) -> what to train
LEARNED: dict[str, Learned] = {
    "igde": Learned("igde"),
    "decnn": Learned("decnn"),
    "drecnn": Learned("drecnn"),
    "dencbpn": Learned("dencbpn"),
    "rdn-depth": Learned("rdn-depth"),
    "igde-l1": Learned("igde", loss_weights=(1.0, 0.0, 0.0)),
    "igde-l1-focal": Learned("igde", loss_weights=(1.0, 1.0, 0.0)),
    "igde-l1-sobel": Learned("igde", loss_weights=(1.0, 0.0, 1.0)),
    "igde-taps0": Learned("igde", {"color_taps": 0}),
    "igde-taps1": Learned("igde", {"color_taps": 1}),
    "igde-taps2": Learned("igde", {"color_taps": 2}),
}

# table -> rows (label, method key); a method key is "input", "filter:<name>" or a LEARNED key
TABLES: dict[str, list[tuple[str, str]]] = {
    "table1": [
        ("degraded input", "input"),
        ("joint bilateral filter", "filter:joint-bilateral"),
        ("guided filter", "filter:guided"),
        ("weighted median filter", "filter:weighted-median"),
        ("DE-CNN", "decnn"),
        ("DRECNN", "drecnn"),
        ("DEN+CBPN", "dencbpn"),
        ("RDN (depth only)", "rdn-depth"),
        ("IGDE", "igde"),
    ],
    "table2": [
        ("L1", "igde-l1"),
        ("L1 + focal", "igde-l1-focal"),
        ("L1 + Sobel", "igde-l1-sobel"),
        ("L1 + focal + Sobel", "igde"),
    ],
    "table3": [
        ("0 colour taps", "igde-taps0"),
        ("1 colour tap", "igde-taps1"),
        ("2 colour taps", "igde-taps2"),
        ("3 colour taps", "igde"),
    ],
}
TABLE_TITLES = {
    "table1": "Table I: comparison with other methods",
    "table2": "Table II: loss functions (weights a, b, c of eq. (5))",
    "table3": "Table III: colour feature taps into the depth branch",
}


# ------------------------------------------------------------------------------------------ training


def train_one(
    key: str, out: str | Path, *, steps: int | None, minutes: float | None = None,
    crop: tuple[int, int] = (256, 256), batch: int = 8, device: str = "cpu", seed: int = 0,
    scale: str = "small", workers: int = 1, threads: int | None = None, lr: float = 5e-4,
    scene_size: tuple[int, int] = (960, 540), val_samples: int = 8, chunks: int = 4,
    keep_run: bool = False,
) -> dict[str, Any]:
    """Train row ``key`` of ``LEARNED`` with the suite recipe; writes ``out/<key>.pt`` (config +
    weights) and ``out/<key>.json`` (record incl. the step reached); returns the record.

    With ``steps``, the run is cut into ``chunks`` equal legs (each resumes the last: same optimizer
    state, fresh scenes) and the weights at the end of every leg are kept as snapshots
    ``out/snapshots/<key>/<step>.pt``: when ``minutes`` stops some rows early, ``train_suite`` then
    gives every row the weights of the largest step all rows reached, so the budget stays equal.
    The MSE warm-up of the recipe is stretched per leg so that it spans the same fraction of the
    whole budget as in one run (with ``minutes``, the library's time-based progress can shorten it
    for a row slower than the cap's pace; such a row is then cut short and equalized anyway).
    The run folder ``out/runs/<key>`` keeps ``config.json`` and ``log.csv``; its full checkpoints
    (with optimizer state) are deleted unless ``keep_run``. The last step's weights are used (not
    the best validation step), so every row has exactly the budget it states.
    """
    from .training import TrainConfig, export_weights, train

    spec = LEARNED[key]
    out = Path(out)
    run = out / "runs" / key
    snaps = out / "snapshots" / key
    snaps.mkdir(parents=True, exist_ok=True)
    legs = [steps] if steps is None else sorted({max(1, round(steps * (i + 1) / max(1, chunks))) for i in range(chunks)})
    extra = {"paper_key": key, "loss_weights": list(spec.loss_weights), "overrides": spec.overrides,
             "requested_steps": steps, "minutes_cap": minutes}
    t0 = time.perf_counter()
    reached = 0
    for i, target in enumerate(legs):
        left = None if minutes is None else minutes - (time.perf_counter() - t0) / 60
        if left is not None and left <= 0:
            break
        # the recipe's schedules (MSE warm-up) run over a fraction of cfg.steps: stretch them so that
        # over all legs they follow the whole budget ``steps``, as in one uninterrupted run
        stretch = {} if steps is None else {"l2_warmup": TrainConfig.l2_warmup * steps / target}
        cfg = TrainConfig(
            **stretch, lr=lr,
            model=f"{spec.arch}-{scale}", overrides=dict(spec.overrides), loss_weights=spec.loss_weights,
            steps=target, minutes=left, batch=batch, crop=tuple(crop), device=device, seed=seed,
            workers=workers, threads=threads, scene_size=tuple(scene_size), val_samples=val_samples,
            val_every=10**9, ckpt_every=10**9, out=str(run), progress=False, resume="auto" if i else None,
            command=" ".join(sys.argv),
        )
        last = train(cfg)
        record = export_weights(last, out / f"{key}.pt", extra={**extra, "wall_s": time.perf_counter() - t0})
        reached = int(record["steps"])
        if target is not None and reached >= target:
            export_weights(last, snaps / f"{reached}.pt", extra={**extra, "wall_s": time.perf_counter() - t0})
        if target is None or reached < target:
            break
    if not keep_run:
        for p in run.glob("*.pt"):
            p.unlink()
    return json.loads((out / f"{key}.json").read_text())


def equalize(out: str | Path, keys: Seq[str]) -> int | None:
    """Give every row in ``keys`` the weights of the largest snapshot step that all of them reached
    (see ``train_one``); rows already at that step are left alone. Returns that step (None when
    some row has no snapshot)."""
    out = Path(out)
    steps_of = {k: {int(p.stem) for p in (out / "snapshots" / k).glob("*.pt") if p.stem.isdigit()} for k in keys}
    common = set.intersection(*steps_of.values()) if steps_of else set()
    if not common:
        return None
    step = max(common)
    for k in keys:
        rec = json.loads((out / f"{k}.json").read_text())
        if rec.get("steps") != step:
            src = out / "snapshots" / k / f"{step}"
            shutil.copyfile(src.with_suffix(".pt"), out / f"{k}.pt")
            snap = json.loads(src.with_suffix(".json").read_text())
            snap["equalized_from_steps"] = rec.get("steps")
            (out / f"{k}.json").write_text(json.dumps(snap, indent=2, default=str) + "\n")
    return step


def train_suite(
    out: str | Path, *, steps: int | None, minutes: float | None = None, jobs: int = 1,
    keys: Seq[str] | None = None, keep_snapshots: bool = False, log: Callable[[str], None] = print,
    **train_kwargs: Any,
) -> dict[str, dict[str, Any]]:
    """Train every ``LEARNED`` row (or ``keys``), ``jobs`` processes at a time; see ``train_one``.

    Each row runs in its own Python process (its log in ``out/logs/<key>.log``), so rows share no
    state and a failure stops only that row. With ``minutes`` each row stops at that wall-clock cap
    if it has not reached ``steps``, and then every row is set back to the largest snapshot step all
    rows reached (``equalize``); the steps are recorded. The snapshots are deleted afterwards unless
    ``keep_snapshots`` (or a row failed). Returns ``{key: record}`` of the rows that finished; raises
    ``RuntimeError`` naming the failed rows after all have run.
    """
    keys = list(keys or LEARNED)
    unknown = [k for k in keys if k not in LEARNED]
    if unknown:
        raise ValueError(f"unknown suite rows {unknown}; known: {sorted(LEARNED)}")
    if steps is None and minutes is None:
        raise ValueError("give steps and/or minutes")
    out = Path(out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    code = "import json, sys; from igde_stream.paper import train_one; train_one(**json.loads(sys.argv[1]))"
    pending = list(keys)
    running: dict[str, tuple[subprocess.Popen, Any, float]] = {}
    failed: list[str] = []
    t_start = time.perf_counter()
    while pending or running:
        while pending and len(running) < max(1, jobs):
            key = pending.pop(0)
            args = {"key": key, "out": str(out), "steps": steps, "minutes": minutes, **train_kwargs}
            logf = open(out / "logs" / f"{key}.log", "w")
            proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(args)], stdout=logf,
                                    stderr=subprocess.STDOUT, env=env, cwd=root)
            running[key] = (proc, logf, time.perf_counter())
            log(f"[{time.perf_counter() - t_start:6.0f} s] started {key}")
        time.sleep(0.5)
        for key, (proc, logf, t0) in list(running.items()):
            if proc.poll() is None:
                continue
            logf.close()
            del running[key]
            took = time.perf_counter() - t0
            if proc.returncode != 0:
                failed.append(key)
                tail = (out / "logs" / f"{key}.log").read_text().strip().splitlines()[-3:]
                log(f"[{time.perf_counter() - t_start:6.0f} s] FAILED {key} (exit {proc.returncode}, "
                    f"{took:.0f} s): {' | '.join(tail)}")
            else:
                rec = json.loads((out / f"{key}.json").read_text())
                log(f"[{time.perf_counter() - t_start:6.0f} s] done {key}: {rec.get('steps')} steps in "
                    f"{took:.0f} s, val PSNR {((rec.get('validation') or {}).get('psnr') or math.nan):.2f}")
    done = [k for k in keys if (out / f"{k}.json").is_file()]
    reached = {k: json.loads((out / f"{k}.json").read_text()).get("steps") for k in done}
    equal = equalize(out, done) if done and len(set(reached.values())) > 1 else None
    if equal is not None:
        log(f"rows reached different steps {reached}: all now use the weights at step {equal}")
    if not keep_snapshots and not failed:
        shutil.rmtree(out / "snapshots", ignore_errors=True)
    records = {k: json.loads((out / f"{k}.json").read_text()) for k in done}
    (out / "suite.json").write_text(json.dumps({
        "steps": steps, "minutes": minutes, "jobs": jobs, **train_kwargs, "wall_s": time.perf_counter() - t_start,
        "rows": {k: {"steps": r.get("steps"), "seed": r.get("seed"), "train_seconds": r.get("train_seconds")}
                 for k, r in records.items()},
        "failed": failed, "reached_steps": reached, "equalized_to": equal,
    }, indent=2, default=str) + "\n")
    if failed:
        raise RuntimeError(f"suite rows failed: {', '.join(failed)} (logs in {out / 'logs'})")
    return records


# ---------------------------------------------------------------------------------------- evaluation


def filter_methods() -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """The OpenCV filters of :mod:`igde_stream.filters` as batch methods (``filter:<name>``)."""
    from .filters import FILTERS

    def batched(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]):
        def run(color: np.ndarray, depth: np.ndarray) -> np.ndarray:
            return np.stack([fn(c, d) for c, d in zip(color, depth)])
        return run

    return {f"filter:{name}": batched(fn) for name, fn in FILTERS.items()}


def _tags(key: str, *maps: dict[str, Any]) -> list[str]:
    """Entries of a learned row: ``key@<seed>`` per trained seed (plain ``key`` from older results)."""
    found = {t for m in maps for t in m if t == key or t.startswith(key + "@")}
    return sorted(found, key=lambda t: (t != key, int(t.split("@")[1]) if "@" in t else -1))


def _row(label: str, key: str, results: dict[str, dict[str, Any]], records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    metric_keys = ("psnr", "psnr_t", "psnr_f", "ssim", "rmse", "temporal", "ms_per_frame")
    if key not in LEARNED:
        m = results.get(key) or {}
        return {"method": label, **{k: m.get(k, math.nan) for k in metric_keys[:-1]}, "key": key,
                "frames": m.get("frames", 0), "steps": 0, "seed": None, "ms_per_frame": m.get("ms_per_frame", math.nan)}
    tags = _tags(key, results, records)
    done = [t for t in tags if t in results]
    # several seeds: every metric is the mean over seeds (PSNR of each seed from its frame-averaged MSE)
    mean = {k: (float(np.mean([results[t].get(k, math.nan) for t in done])) if done else math.nan)
            for k in metric_keys}
    recs = [records.get(t) or {} for t in tags]
    seeds = [r.get("seed", int(t.split("@")[1]) if "@" in t else None) for r, t in zip(recs, tags)]
    steps = sorted({r.get("steps") for r in recs if r.get("steps") is not None})
    per_seed = {str(sd): results[t]["psnr"] for sd, t in zip(seeds, tags) if t in results}
    row = {"method": label, **{k: mean[k] for k in metric_keys[:-1]}, "key": key,
           "frames": results[done[0]].get("frames", 0) if done else 0,
           "steps": steps[0] if len(steps) == 1 else (steps or None),
           "seed": seeds[0] if len(seeds) == 1 else (seeds or None),
           "psnr_per_seed": per_seed,
           "psnr_seed_spread": (max(per_seed.values()) - min(per_seed.values())) if len(per_seed) > 1 else None,
           "model": recs[0].get("model") if recs else None,
           "loss_weights": recs[0].get("loss_weights") if recs else None,
           "trained": bool(any(recs)), "ms_per_frame": mean["ms_per_frame"]}
    return row


def build_tables(results: dict[str, dict[str, dict[str, Any]]], records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Tables from per-dataset method metrics ``results[dataset][key]`` and training ``records``.

    ``table1/2/3`` use the synthetic test split; ``<table>_icl_nuim`` the ICL-NUIM frames when
    evaluated. Learned rows are stored per seed as ``<key>@<seed>`` (in both ``results`` and
    ``records``); a row trained with several seeds shows the mean of each metric over them, the
    seeds, and ``psnr_per_seed``. Rows whose checkpoint is missing are kept with null metrics and
    ``trained: false``.
    """
    tables: dict[str, Any] = {}
    for ds, suffix in (("synthetic-test", ""), ("icl_nuim_clean5", "_icl_nuim")):
        if ds not in results:
            continue
        for name, rows in TABLES.items():
            tables[name + suffix] = [_row(label, key, results[ds], records) for label, key in rows]
    return tables


def _fmt(v: Any, digits: int = 2) -> str:
    return "-" if v is None else _fmt_value(v, digits)


def _best(rows: list[dict[str, Any]], key: str = "psnr") -> dict[str, Any] | None:
    ok = [r for r in rows if isinstance(r.get(key), float) and not math.isnan(r[key])]
    return max(ok, key=lambda r: (r[key], r["key"] == "igde")) if ok else None  # a tie goes to IGDE


TIE_DB = 0.05  # PSNR differences below this are called ties (8-bit rounding)


def _noise(rows: list[dict[str, Any]]) -> tuple[float, str]:
    """The PSNR difference below which rows are not told apart: ``TIE_DB``, or the largest
    seed-to-seed spread of a row when rows were trained with several seeds (rows trained with one
    seed are taken to vary as much)."""
    spreads = [r["psnr_seed_spread"] for r in rows if r.get("psnr_seed_spread") is not None]
    if spreads and max(spreads) > TIE_DB:
        return max(spreads), f"the largest seed-to-seed spread of a row in these tables, {max(spreads):.2f} dB"
    return TIE_DB, f"{TIE_DB} dB"


def claims(tables: dict[str, Any], suffix: str = "") -> list[str]:
    """One sentence per claim of the paper, read off the tables (PSNR over all pixels decides, the
    mean over seeds when rows have several; differences under ``_noise`` are reported as
    undecided)."""
    def ok(r: dict[str, Any]) -> bool:
        return isinstance(r.get("psnr"), float) and not math.isnan(r["psnr"])

    out = []
    t1, t2, t3 = (tables.get(n + suffix) for n in ("table1", "table2", "table3"))
    # one noise level for the three claims: the largest seed-to-seed spread of any row in these tables
    noise, noise_text = _noise([r for t in (t1, t2, t3) if t for r in t if ok(r)])

    def ablation(rows: list[dict[str, Any]], claim: str) -> str | None:
        done = [r for r in rows if ok(r)]
        if not done or not any(r["key"] == "igde" for r in done):
            return None
        ranked = sorted(done, key=lambda r: (r["psnr"], r["key"] == "igde"), reverse=True)
        best, second = ranked[0], ranked[1] if len(ranked) > 1 else None
        full = next(r for r in done if r["key"] == "igde")
        spread = best["psnr"] - ranked[-1]["psnr"]
        if spread < noise:
            return f"{claim}: undecided here: all rows within {spread:.2f} dB of each other (noise: {noise_text})."
        if best["key"] == "igde":
            margin = full["psnr"] - second["psnr"]
            verdict = "holds here" if margin >= noise else "leans towards holding, within noise"
            return (f"{claim}: {verdict} ({full['psnr']:.2f} dB; next best {second['method']} "
                    f"{second['psnr']:.2f} dB; noise: {noise_text}).")
        margin = best["psnr"] - full["psnr"]
        verdict = "does not hold here" if margin >= noise else "leans against, within noise"
        return (f"{claim}: {verdict}: {best['method']} has the best PSNR ({best['psnr']:.2f} dB vs "
                f"{full['psnr']:.2f} dB; noise: {noise_text}).")

    if t1:
        igde = next(r for r in t1 if r["key"] == "igde")
        inp = next(r for r in t1 if r["key"] == "input")
        if ok(igde):
            best = _best([r for r in t1 if ok(r)])
            above = [f"{r['method']} ({r['psnr']:.2f})" for r in t1 if r["key"] != "igde" and ok(r)
                     and r["psnr"] >= igde["psnr"] + noise]
            below = [f"{r['method']} ({r['psnr']:.2f})" for r in t1 if r["key"] in LEARNED and r["key"] != "igde"
                     and ok(r) and r["psnr"] <= igde["psnr"] - noise]
            line = "Claim 1 (IGDE beats DE-CNN, DRECNN, DEN+CBPN): "
            if best["key"] == "igde" or not above:
                line += f"holds here: no method is clearly above IGDE's {igde['psnr']:.2f} dB (noise: {noise_text})."
            else:
                line += (f"does not hold here: clearly higher PSNR than IGDE's {igde['psnr']:.2f} dB "
                         f"(by more than {noise_text}): {', '.join(above)}.")
            if below:
                line += f" Learned rows clearly below IGDE: {', '.join(below)}."
            idle = [r["method"] for r in t1 if r["key"] in LEARNED and ok(r) and ok(inp)
                    and abs(r["psnr"] - inp["psnr"]) < TIE_DB]
            if idle:
                line += (f" Within {TIE_DB} dB of the degraded input: {', '.join(idle)}: at this training budget "
                         f"{'it has' if len(idle) == 1 else 'they have'} barely moved from the identity "
                         f"{'it starts' if len(idle) == 1 else 'they start'} at.")
            out.append(line)
    for rows, claim in ((t2, "Claim 2 (focal and Sobel losses help)"),
                        (t3, "Claim 3 (three colour taps are best)")):
        line = ablation(rows, claim) if rows else None
        if line:
            out.append(line)
    return out


def tables_markdown(tables: dict[str, Any], meta: dict[str, Any]) -> str:
    """The tables as Markdown: one section per table, the best learned / any value in bold."""
    lines = ["# Paper tables (IGDE, EURASIP JIVP 2022) reproduced on igde-stream's data", ""]
    lines += [f"- {k}: {v}" for k, v in meta.get("notes", {}).items()]
    lines.append("")
    for suffix, where in (("", "synthetic test split"), ("_icl_nuim", "ICL-NUIM")):
        found = claims(tables, suffix)
        if found:
            lines += [f"What the tables say about the paper's claims ({where}; a difference smaller than "
                      "the noise named in a line does not tell rows apart):", ""]
            lines += [f"- {c}" for c in found] + [""]
    for name, rows in tables.items():
        base = name.split("_")[0]
        where = "ICL-NUIM clean5 (real rendered living room, same degradation)" if name.endswith("icl_nuim") \
            else "synthetic test split"
        lines += [f"## {TABLE_TITLES[base]} - {where}", ""]
        cols = [("PSNR", "psnr", 2, 1), ("PSNRt", "psnr_t", 2, 1), ("PSNRf", "psnr_f", 2, 1),
                ("SSIM", "ssim", 4, 1), ("RMSE", "rmse", 3, -1)]
        temporal = not name.endswith("icl_nuim")
        if temporal:
            cols.append(("temporal", "temporal", 3, -1))
        best = {}
        for _, k, _, sign in cols:
            vals = [r[k] for r in rows if isinstance(r[k], float) and not math.isnan(r[k])]
            best[k] = (max(vals) if sign > 0 else min(vals)) if vals else None
        multi = any(len(r.get("psnr_per_seed") or {}) > 1 for r in rows)
        lines.append("| method | " + " | ".join(c[0] for c in cols) + " | steps | seed |"
                     + (" PSNR per seed |" if multi else ""))
        lines.append("|---" * (len(cols) + 3 + multi) + "|")
        for r in rows:
            cells = []
            for _, k, d, _ in cols:
                s = _fmt(r[k], d)
                cells.append(f"**{s}**" if best[k] is not None and r[k] == best[k] else s)
            steps = r.get("steps")
            steps_s = "not trained" if r["key"] in LEARNED and not r.get("trained") else (
                "-" if not steps else ", ".join(map(str, steps)) if isinstance(steps, list) else str(steps))
            seed = r.get("seed")
            seed_s = ", ".join(map(str, seed)) if isinstance(seed, list) else _fmt(seed)
            extra = ""
            if multi:
                per = r.get("psnr_per_seed") or {}
                extra = " " + (" / ".join(f"{v:.2f}" for v in per.values()) if per else "-") + " |"
            lines.append(f"| {r['method']} | " + " | ".join(cells) + f" | {steps_s} | {seed_s} |" + extra)
        lines.append("")
    lines.append("PSNR / PSNRt / PSNRf in dB from the frame-averaged MSE; PSNRt over pixels the degraded input "
                 "had right (damage), PSNRf over its error pixels (repair); SSIM and RMSE are per-frame means; "
                 "temporal = mean |(p_t - p_t-1) - (g_t - g_t-1)| over consecutive frames (lower is better). "
                 "Bold: best in column.")
    return "\n".join(lines) + "\n"


def save_fig10(path: str | Path, color: np.ndarray, gt: np.ndarray, degraded: np.ndarray,
               refined: np.ndarray, title: str = "") -> Path:
    """One Fig. 10-style PNG: (a) colour, (b) ground truth, (c) degraded depth, (d) refined depth,
    (e) |error| before, (f) |error| after, the two error maps on one colour scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e0 = np.abs(degraded.astype(np.int16) - gt.astype(np.int16))
    e1 = np.abs(refined.astype(np.int16) - gt.astype(np.int16))
    vmax = max(8, int(np.percentile(np.maximum(e0, e1), 99.9)))
    h, w = gt.shape
    fig, axes = plt.subplots(2, 3, figsize=(12, 12 * h / w * 2 / 3 + 0.8), dpi=90)
    panels = [(color, None, "(a) colour"), (gt, "gray", "(b) ground truth"),
              (degraded, "gray", "(c) degraded depth"), (refined, "gray", "(d) refined depth"),
              (e0, "magma", f"(e) error before ({int((e0 > 0).sum())} px)"),
              (e1, "magma", f"(f) error after ({int((e1 > 0).sum())} px)")]
    for ax, (img, cmap, label) in zip(axes.flat, panels):
        kw = {"vmin": 0, "vmax": vmax} if cmap == "magma" else ({"vmin": 0, "vmax": 255} if cmap else {})
        ax.imshow(img, cmap=cmap, interpolation="nearest", **kw)
        ax.set_title(label, fontsize=10)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def _crop_box(seq_err: np.ndarray, h: int, w: int) -> tuple[int, int]:
    """Top-left corner of the h x w window with the most input error pixels (coarse search)."""
    H, W = seq_err.shape
    integral = np.pad(seq_err.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    best, pos = -1, (0, 0)
    for y in range(0, H - h + 1, max(1, (H - h) // 8 or 1)):
        for x in range(0, W - w + 1, max(1, (W - w) // 8 or 1)):
            s = integral[y + h, x + w] - integral[y, x + w] - integral[y + h, x] + integral[y, x]
            if s > best:
                best, pos = s, (y, x)
    return pos


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
    from .evaluation import evaluate_methods, icl_nuim_sequence, identity_method, model_method, test_sequences

    folders = [Path(ckpts)] if isinstance(ckpts, (str, Path)) else [Path(c) for c in ckpts]
    out = Path(out)
    unknown = sorted(set(datasets) - {"synthetic", "icl"}) + sorted(set(methods) - {"input", "filters", "learned"})
    if unknown:
        raise ValueError(f"unknown datasets / methods {unknown}; known: synthetic, icl / input, filters, learned")
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
            raw_path.write_text(json.dumps(_json_ready({"results": results, "datasets": ds_meta}), indent=2) + "\n")
            results[ds][key] = row
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
    raw_path.write_text(json.dumps(_json_ready({"results": results, "datasets": ds_meta}), indent=2) + "\n")
    obj = _json_ready({**tables, "meta": meta})
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


# (name, colour path, depth path, metres per depth unit) under ../shared/data/real; no clean ground truth
REAL_FRAMES = [
    ("tum_fr1_1", "tum_rgbd/slambook_fr1_1.png", "tum_rgbd/slambook_fr1_1_depth.png", 1 / 5000),
    ("tum_open3d", "tum_rgbd/open3d_TUM_color.png", "tum_rgbd/open3d_TUM_depth.png", 1 / 5000),
    ("hololens_00003", "hololens_dvmvs_seq12/images/00003.png", "hololens_dvmvs_seq12/depth/00003.png", 1 / 1000),
    ("hololens_00008", "hololens_dvmvs_seq12/images/00008.png", "hololens_dvmvs_seq12/depth/00008.png", 1 / 1000),
]


def real_pictures(checkpoint: str | Path, real_root: str | Path, out: str | Path, *, device: str = "cpu",
                  log: Callable[[str], None] = print) -> list[Path]:
    """IGDE on real sensor frames (TUM RGB-D, HoloLens; ``REAL_FRAMES``) for pictures only: depth is
    converted like ICL-NUIM (8-bit inverse depth, ``evaluation.ICL_NEAR_M`` / ``ICL_FAR_M``; missing
    depth 0 stays 0) and ``real_<name>.png`` shows colour, input, output and |output - input|.
    Frames whose files are missing are skipped."""
    import cv2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .evaluation import ICL_FAR_M, ICL_NEAR_M, model_method

    method = model_method(checkpoint, device)
    real_root, out = Path(real_root), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, cpath, dpath, unit in REAL_FRAMES:
        bgr = cv2.imread(str(real_root / cpath), cv2.IMREAD_COLOR)
        z = cv2.imread(str(real_root / dpath), cv2.IMREAD_UNCHANGED)
        if bgr is None or z is None:
            log(f"{real_root / dpath}: missing; skipped")
            continue
        color = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        zm = z.astype(np.float64) * unit
        inv = (1.0 / np.maximum(zm, 1e-3) - 1.0 / ICL_FAR_M) / (1.0 / ICL_NEAR_M - 1.0 / ICL_FAR_M)
        d8 = np.where(z > 0, np.rint(np.clip(inv, 0, 1) * 255), 0).astype(np.uint8)
        pred = method(color[None], d8[None])[0]
        diff = np.abs(pred.astype(np.int16) - d8.astype(np.int16))
        h, w = d8.shape
        fig, axes = plt.subplots(1, 4, figsize=(16, 16 * h / w / 4 + 0.6), dpi=80)
        for ax, img, cmap, label in zip(axes, [color, d8, pred, diff], [None, "gray", "gray", "magma"],
                                        ["colour", "input depth (8-bit inverse)", "IGDE output",
                                         "|output - input|"]):
            kw = {} if cmap is None else {"vmin": 0, "vmax": 255 if cmap == "gray" else max(8, int(diff.max()))}
            ax.imshow(img, cmap=cmap, interpolation="nearest", **kw)
            ax.set_title(label, fontsize=10)
            ax.axis("off")
        fig.suptitle(f"{name} ({cpath}); model {Path(str(checkpoint)).name}; no clean ground truth: "
                     "pictures only", fontsize=10)
        fig.tight_layout()
        path = out / f"real_{name}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
        log(f"wrote {path}")
    return written
