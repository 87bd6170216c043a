"""Training the suite: ``train_one`` (one row, in legs with snapshots), ``equalize`` (every row back to
the largest step all reached) and ``train_suite`` (rows as separate processes, ``jobs`` at a time)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence as Seq

from .suite import LEARNED


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
    from ..shipping import export_weights
    from ..training import TrainConfig, train

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


def check_budget(*, steps: int | None, minutes: float | None, jobs: int = 1, batch: int = 8, chunks: int = 4,
                 workers: int = 1, **_: Any) -> None:
    """A ``ValueError`` for a budget no row can train with, before anything is written or started."""
    for name, value, least in (("steps", steps, 1), ("jobs", jobs, 1), ("batch", batch, 1), ("chunks", chunks, 1),
                               ("workers", workers, 0)):
        if value is not None and value < least:
            raise ValueError(f"{name} must be >= {least}, got {value}")
    if minutes is not None and not (math.isfinite(minutes) and minutes > 0):
        raise ValueError(f"minutes must be a number > 0, got {minutes:g}")


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
    check_budget(steps=steps, minutes=minutes, jobs=jobs, **train_kwargs)
    out = Path(out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    root = str(Path(__file__).resolve().parents[2])  # the folder that holds igde_stream/
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
