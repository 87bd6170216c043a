"""Many colour / depth clips through ``enhance_file``: on a local process pool, or on a Ray cluster.

``read_jobs`` reads the list of clips (a CSV, or a folder with ``color/`` and ``depth/``; with
``packed``, one packed RGB-D input a clip: a CSV ``input`` column, or a folder with ``packed/``), ``run_batch``
runs them and returns one summary row per clip, and ``write_summary`` writes the rows as JSON or CSV
(the list, its checks and the summary file are ``igde_stream.batch_jobs``, re-exported here).

Each clip is one task, run whole by one ``enhance_file`` call: clips are never cut by time, so every
output is frame for frame what a single ``igde-stream`` run writes. The engines are existing ones:
``concurrent.futures.ProcessPoolExecutor`` locally and Ray tasks on a cluster (``igde_stream.batch_ray``);
nothing here schedules. A worker process builds its ``Enhancer`` once and keeps it for the clips that
follow. A clip that fails becomes a row with ``status`` ``failed`` and its one-line error; the others
go on. Outputs are atomic (``enhance_file`` renames them into place when complete), so an output that
exists is finished, which is what ``resume`` relies on.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
import socket
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .batch_jobs import (CSV_COLUMNS, PACKED_CSV_COLUMNS, SUMMARY_FIELDS, Job, check_outputs, check_summary_path,
                         read_jobs, usable_cpus, write_summary)
from .errors import IGDEError, cli_message
from .stream.imageseq import is_pattern
from .stream.parts import remove_stale_parts

log = logging.getLogger("igde_stream.batch")

OnRow = Callable[[dict[str, Any], int, int], None]  # (row, clips finished so far, clips to run)


# ---- one clip, in a worker process -----------------------------------------------------------------

_enhancer: tuple[tuple, Any] | None = None  # (options, Enhancer): built once per worker process


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((getattr(record, "cli_text", None) or record.getMessage()).splitlines()[0])  # --max-depth


def run_clip(job: Job, options: dict[str, Any], model_threads: int | None = None) -> dict[str, Any]:
    """Run one clip and return its summary row; never raises for a failed clip: the row says
    ``failed`` with the error's first line. ``options``: ``enhance_file``'s keywords; those that are
    not its own parameters build the ``Enhancer`` (as in ``enhance_file``), once per process; ``duration``
    (``--duration``): the end is that long after the clip's start, a CSV row's where it has one.
    ``model_threads``: the model's CPU threads (the worker's share of the cores)."""
    global _in_clip

    if _stopping:  # the pool hands a stopped worker the clips already queued to it: run none of them
        if _batch_stop is not None and not _batch_stop.is_set():
            # SIGTERM to this worker alone: exiting would break the pool and kill the clips the other
            # workers run; this one hands its clips back unstarted, and the batch runs them afresh
            raise NotStarted(job.output)
        os._exit(_stopping)
    _in_clip = True  # (a SIGTERM from here on unwinds the clip: _exit_on_sigterm)
    try:
        return _run_clip(job, options, model_threads)
    finally:
        _in_clip = False


def _run_clip(job: Job, options: dict[str, Any], model_threads: int | None) -> dict[str, Any]:
    global _enhancer
    import inspect

    from .stream import enhance_file
    from .stream.pipeline import _make_enhancer

    if _started is not None:  # the local pool's record of the clips begun, should this process die
        _started.put(job.output)
    row = summary_row(job, "failed")
    row["host"] = f"{socket.gethostname()}:{os.getpid()}"
    if job.problem:
        row["error"] = job.problem
        return row
    own = inspect.signature(enhance_file).parameters
    options = dict(options)
    duration = options.pop("duration", None)  # --duration counts from each clip's start, a row's too
    file_opts = {k: v for k, v in options.items() if k in own}
    end = job.end if job.end is not None or duration is None or job.start is None else job.start + duration
    file_opts.update({k: v for k, v in (("start", job.start), ("end", end)) if v is not None})  # the CSV's span
    if job.gt is None:  # --gt-measured speaks of a ground truth: a clip without one is scored by none
        file_opts.pop("gt_measured", None)
    row.update(start=file_opts.get("start") or None, end=file_opts.get("end"))
    if row["end"] is not None and row["end"] <= (row["start"] or 0.0):
        row["error"] = f"to {row['end']:g} s must come after start {row['start'] or 0:g} s"
        return row
    enh_opts = {k: v for k, v in options.items() if k not in own}
    if model_threads and enh_opts.get("backend") != "tensorrt":
        enh_opts["threads"] = model_threads
    enh_opts["quiet"] = True
    key = tuple(sorted((k, repr(v)) for k, v in enh_opts.items()))
    warnings = _Warnings()
    logger = logging.getLogger("igde_stream")
    logger.addHandler(warnings)
    t0 = time.perf_counter()
    try:
        if _enhancer is None or _enhancer[0] != key:
            _enhancer = None
            _enhancer = (key, _make_enhancer(enh_opts))
        s = enhance_file(job.color, job.depth, job.output, gt_path=job.gt, enhancer=_enhancer[1], **file_opts)
    except IGDEError as exc:
        row["error"] = cli_message(exc).splitlines()[0]  # --max-depth, as the warnings (_Warnings)
    except Exception as exc:  # noqa: BLE001 - a bug on one clip must not stop the others; it is reported
        row["error"] = f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    else:
        row.update(status="done", error=None, frames=s["frames"], backend=s.get("backend"),
                   mean_psnr=_finite(s.get("mean_psnr")), mean_gain_db=_finite(s.get("mean_gain_db")))
    finally:
        logger.removeHandler(warnings)
    row["seconds"] = round(time.perf_counter() - t0, 3)
    row["warnings"] = warnings.lines
    return row


def summary_row(job: Job, status: str) -> dict[str, Any]:
    """A row of ``SUMMARY_FIELDS`` for ``job`` with ``status``, its measurements still empty."""
    row: dict[str, Any] = dict.fromkeys(SUMMARY_FIELDS)
    row.update(clip=job.clip, status=status, output=job.output, color=job.color, depth=job.depth, gt=job.gt,
               warnings=[])
    return row


def _finite(v: Any) -> Any:
    """JSON has no inf / nan: inf as "inf" (identical frames), nan as None (not measured)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


# ---- the local pool --------------------------------------------------------------------------------

def _init_worker(started: Any = None, batch_stop: Any = None) -> None:
    # Ctrl-C reaches the whole process group: the parent alone handles it and stops the workers with
    # SIGTERM, which unwinds the clip in progress (its temporary output is removed).
    global _started, _batch_stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    _started, _batch_stop = started, batch_stop


class NotStarted(Exception):
    """A clip that a worker stopped alone by SIGTERM handed back without starting it."""


_stopping = 0  # a worker's exit status once SIGTERM stopped it: no queued clip starts then
_started: Any = None  # in a pool's worker: a queue that gets each clip's output as the clip begins
_batch_stop: Any = None  # in a pool's worker: an event the parent sets before it stops the workers
_in_clip = False  # in a worker: a clip runs (run_clip)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    global _stopping
    _stopping = 128 + signum
    if not _in_clip and _batch_stop is not None and not _batch_stop.is_set():
        # sent to this worker alone between clips: no clip to stop, and an exit would break the pool
        # (the other workers' clips killed with it); the clips it is handed from now on go back unstarted
        return
    raise SystemExit(_stopping)  # unwinds the clip in progress: its temporary output is removed


def _stop_workers(before: set[Any], settle: float = 0.5, limit: float = 30.0) -> None:
    """Terminate and join every child process started since ``before``; the executor's manager
    thread may still start a replacement worker after the first sweep, so sweep until none has
    appeared for ``settle`` seconds (at most ``limit``)."""
    deadline = time.monotonic() + limit
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        extra = [p for p in multiprocessing.active_children() if p not in before]
        if extra:
            for p in extra:
                p.terminate()
            for p in extra:
                p.join(max(0.1, deadline - time.monotonic()))
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= settle:
            return
        else:
            time.sleep(0.05)


def run_pool(jobs: Sequence[Job], options: dict[str, Any], workers: int, on_row: OnRow) -> list[dict[str, Any]]:
    """The clips on ``workers`` spawned processes (``concurrent.futures``); rows in job order.

    A worker that dies (killed, out of memory) breaks its pool: the clips that had begun fail, and
    those that had not run on a new pool."""
    threads = max(1, usable_cpus() // workers)  # the CPUs the scheduler gave this job, shared out
    ctx = multiprocessing.get_context("spawn")  # no fork of a parent holding model or decoder threads
    rows: dict[int, dict[str, Any]] = {}
    todo = list(range(len(jobs)))
    while todo:
        todo = _pool_round(jobs, todo, options, workers, threads, ctx, rows, on_row)
    return [rows[i] for i in range(len(jobs))]


def _pool_round(jobs: Sequence[Job], todo: list[int], options: dict[str, Any], workers: int, threads: int,
                ctx: Any, rows: dict[int, dict[str, Any]], on_row: OnRow) -> list[int]:
    """Run ``jobs[i]`` for ``i`` in ``todo`` on one pool, putting their rows in ``rows``; returns the
    clips to run again: those a broken pool lost before they began."""
    started = ctx.SimpleQueue()
    batch_stop = ctx.Event()  # set: the batch stops its workers (a SIGTERM without it came from elsewhere)
    begun: set[str] = set()

    def drain() -> None:  # read as they come: a full pipe would block the workers' put for good
        while not started.empty():
            begun.add(started.get())

    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(started, batch_stop))
    lost: dict[int, str] = {}  # clips of a broken pool: the first line of its error
    handed_back: list[int] = []  # clips that worker handed back unstarted
    try:
        futures: dict[Future, int] = {pool.submit(run_clip, jobs[i], options, threads): i for i in todo}
        pending: Iterable[Future] = futures
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            drain()
            for f in done:
                i = futures[f]
                try:
                    rows[i] = f.result()
                except NotStarted:  # handed back by a worker stopped alone: run on the next pool
                    handed_back.append(i)
                    continue
                except SystemExit as exc:  # the worker alone got SIGTERM (_exit_on_sigterm): its clip fails
                    rows[i] = {**summary_row(jobs[i], "failed"),
                               "error": f"worker process stopped by {_signal_name(exc.code)} while this clip ran"}
                except Exception as exc:  # noqa: BLE001 - the worker process died (killed, out of memory)
                    lost[i] = f"{exc}".splitlines()[0]
                    continue
                on_row(rows[i], len(rows), len(jobs))
        pool.shutdown()
        drain()
    except BaseException:
        batch_stop.set()  # before the workers' SIGTERM: they exit, handing back no queued clip
        pool.shutdown(wait=False, cancel_futures=True)
        _stop_workers(before)
        for i in todo:  # a stopped worker's partial file, where it died before its own cleanup ran
            out = jobs[i].output
            remove_stale_parts(Path(out).parent if is_pattern(out) else out)
        raise
    finally:
        started.close()
    again = [i for i in lost if jobs[i].output not in begun]
    if len(again) == len(lost):  # none had begun: the pool broke by itself, and a new one would too
        again = []
    for i, error in lost.items():
        if i not in again:
            when = "died while this clip ran" if jobs[i].output in begun else "failed"
            out = jobs[i].output  # the dead worker's partial file (an image sequence's: its folder)
            remove_stale_parts(Path(out).parent if is_pattern(out) else out)
            rows[i] = {**summary_row(jobs[i], "failed"), "error": f"worker process {when}: {error}"}
            on_row(rows[i], len(rows), len(jobs))
    return sorted(again + handed_back)


def _signal_name(code: Any) -> str:
    """"SIGTERM" for a worker's exit status 128 + 15."""
    try:
        return signal.Signals(int(code) - 128).name
    except (TypeError, ValueError):
        return f"exit status {code}"


# ---- the whole batch -------------------------------------------------------------------------------

def run_batch(
    jobs: Sequence[Job], options: dict[str, Any], *, workers: int = 2, ray: str | None = None,
    cpus_per_clip: float = 1, gpus_per_clip: float = 0, skip: Sequence[Job] = (), on_row: OnRow | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Run ``jobs`` (``enhance_file`` keywords in ``options``) on a pool of ``workers`` processes, or
    on Ray when ``ray`` is an address (``local``, ``auto``, ``HOST:PORT``, ``ray://HOST:PORT``).
    Jobs in ``skip`` get a ``skipped`` row. Returns (rows in job order, a line naming the engine)."""
    on_row = on_row or (lambda row, done, total: None)
    skipped = {id(j) for j in skip}
    todo = [j for j in jobs if id(j) not in skipped]
    if ray is not None:
        from .batch_ray import run_ray

        ran, engine = run_ray(todo, options, ray, workers, cpus_per_clip, gpus_per_clip, on_row)
    else:
        engine = f"a local pool of {workers} process{'es' if workers > 1 else ''}"
        ran = run_pool(todo, options, workers, on_row) if todo else []
    by_job = {id(j): r for j, r in zip(todo, ran)}
    rows = [by_job[id(j)] if id(j) in by_job else {**summary_row(j, "skipped"), "error": None} for j in jobs]
    return rows, engine


__all__ = ["CSV_COLUMNS", "PACKED_CSV_COLUMNS", "SUMMARY_FIELDS", "Job", "OnRow", "check_outputs",
           "check_summary_path", "read_jobs", "run_batch", "run_clip", "run_pool", "summary_row", "write_summary"]
