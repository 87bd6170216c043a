"""Many colour / depth clips through ``enhance_file``: on a local process pool, or on a Ray cluster.

``read_jobs`` reads the list of clips (a CSV, or a folder with ``color/`` and ``depth/``; with
``packed``, one packed RGB-D input a clip: a CSV ``input`` column, or a folder with ``packed/``), ``run_batch``
runs them and returns one summary row per clip, and ``write_summary`` writes the rows as JSON or CSV.

Each clip is one task, run whole by one ``enhance_file`` call: clips are never cut by time, so every
output is frame for frame what a single ``igde-stream`` run writes. The engines are existing ones:
``concurrent.futures.ProcessPoolExecutor`` locally and Ray tasks on a cluster (``igde_stream.batch_ray``);
nothing here schedules. A worker process builds its ``Enhancer`` once and keeps it for the clips that
follow. A clip that fails becomes a row with ``status`` ``failed`` and its one-line error; the others
go on. Outputs are atomic (``enhance_file`` renames them into place when complete), so an output that
exists is finished, which is what ``resume`` relies on.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import multiprocessing
import os
import signal
import socket
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .errors import IGDEError, OutputError

log = logging.getLogger("igde_stream.batch")

CSV_COLUMNS = ("color", "depth", "output", "gt", "clip")  # the first three are required
PACKED_CSV_COLUMNS = ("input", "output", "gt", "clip")  # with --packed; the first two are required
SUMMARY_FIELDS = ("clip", "status", "error", "frames", "seconds", "output", "color", "depth", "gt", "backend",
                  "mean_psnr", "mean_gain_db", "host", "warnings")
SUMMARY_SUFFIXES = (".json", ".csv")
OnRow = Callable[[dict[str, Any], int, int], None]  # (row, clips finished so far, clips to run)


@dataclass(frozen=True)
class Job:
    """One clip: its inputs and output (absolute or relative to the working folder); a packed RGB-D
    clip has one input, ``color`` = ``depth``. ``problem``: why it cannot run (e.g. a depth file
    without a colour file); such a job is reported as failed."""

    clip: str
    color: str | None
    depth: str | None
    output: str
    gt: str | None = None
    problem: str | None = None


def read_jobs(path: str | os.PathLike[str], output_dir: str | os.PathLike[str] | None = None,
              output_ext: str = ".mkv", packed: bool = False) -> list[Job]:
    """The clips listed by ``path``: a CSV file or a folder (see ``docs/batch.md``).

    CSV: a header row naming the columns ``color``, ``depth``, ``output`` and optionally ``gt`` and
    ``clip`` (a label; default: the output as written); relative paths are relative to the CSV's
    folder; blank lines and lines starting with ``#`` are skipped. Folder: ``color/NAME.*`` and
    ``depth/NAME.*`` pair by NAME (files, or folders of images), ``gt/NAME.*`` is used when present,
    and the output is ``output_dir/NAME<output_ext>`` (default folder: ``path/enhanced``).
    ``packed``: each clip is one packed RGB-D input (``--packed``), the CSV's ``input`` column in
    place of ``color`` and ``depth``, or the folder's ``packed/NAME.*``; its job has ``color`` =
    ``depth`` = that input.
    Raises ``IGDEError`` for a list that cannot be read, no clips, or two clips with one output.
    """
    p = Path(path)
    if p.is_dir():
        jobs = _read_folder(p, Path(output_dir) if output_dir is not None else p / "enhanced", output_ext, packed)
    elif p.is_file():
        if output_dir is not None:
            raise IGDEError("--output-dir is for a folder of clips; a CSV names each output", p)
        jobs = _read_csv(p, packed)
    else:
        raise IGDEError("no such CSV file or folder", p)
    if not jobs:
        raise IGDEError("lists no clips", p)
    return jobs


def _read_csv(path: Path, packed: bool = False) -> list[Job]:
    base = path.parent
    columns, inputs = (PACKED_CSV_COLUMNS, ("input",)) if packed else (CSV_COLUMNS, ("color", "depth"))
    required = (*inputs, "output")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [(n, row) for n, row in enumerate(csv.reader(f), 1)
                    if any(c.strip() for c in row) and not row[0].lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise IGDEError(f"cannot read the CSV: {getattr(exc, 'strerror', None) or exc}", path) from None
    if not rows:
        raise IGDEError(f"is empty: the first line must name the columns {','.join(required)}[,gt]", path)
    header = [c.strip().lower() for c in rows[0][1]]
    unknown = [c for c in header if c not in columns]
    missing = [c for c in required if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        what = f"unknown column {unknown[0]!r}" if unknown else (
            f"no {missing[0]!r} column" if missing else "a column named twice")
        hint = ""
        if packed and {"color", "depth"} & set(header):
            hint = " (--packed: each clip is one packed RGB-D video, its column is input)"
        elif not packed and "input" in header:
            hint = " (one packed RGB-D video a clip, in an input column: add --packed rgbd)"
        raise IGDEError(f"line {rows[0][0]}: {what}; the header names {', '.join(required)} and optionally "
                        f"gt and clip{hint}", path)
    jobs, seen = [], {}
    for n, cells in rows[1:]:
        if len(cells) > len(header):
            raise IGDEError(f"line {n}: {len(cells)} cells for {len(header)} columns", path)
        row = {k: (cells[i].strip() if i < len(cells) else "") for i, k in enumerate(header)}
        for key in required:
            if not row[key]:
                raise IGDEError(f"line {n}: no {key} path", path)
        output = str(base / row["output"])
        key = _real(output)  # one file through a linked folder is one output
        if key in seen:
            raise IGDEError(f"line {n}: output {row['output']} is also the output of line {seen[key]}", path)
        seen[key] = n
        color, depth = (str(base / row[inputs[0]]), str(base / row[inputs[-1]]))
        jobs.append(Job(row.get("clip") or row["output"], color, depth, output,
                        str(base / row["gt"]) if row.get("gt") else None))
    return jobs


def _entries(folder: Path) -> dict[str, list[Path]]:
    """Visible files and folders of ``folder`` by name without suffix."""
    named: dict[str, list[Path]] = {}
    if folder.is_dir():
        for e in sorted(folder.iterdir()):
            if not e.name.startswith("."):
                named.setdefault(e.stem if e.is_file() else e.name, []).append(e)
    return named


def _read_folder(root: Path, output_dir: Path, ext: str, packed: bool = False) -> list[Job]:
    inputs = ("packed",) if packed else ("color", "depth")
    missing = [n for n in inputs if not (root / n).is_dir()]
    if missing and packed:
        raise IGDEError("a folder of packed RGB-D clips (--packed) needs a packed/ folder (packed/NAME.*, "
                        "gt/NAME.* for ground truth); packed/ is missing", root)
    if missing:
        hint = "; packed/ holds packed RGB-D clips? add --packed rgbd" if (root / "packed").is_dir() else ""
        raise IGDEError(f"a folder of clips needs color/ and depth/ folders; {missing[0]}/ is missing{hint}", root)
    if not ext.startswith(".") or len(ext) < 2 or os.sep in ext:
        raise IGDEError(f"--output-ext {ext!r}: write it like .mkv")
    named = {n: _entries(root / n) for n in (*inputs, "gt")}
    jobs = []
    for name in sorted(set().union(*(named[n] for n in inputs))):
        found = {role: named[role].get(name, []) for role in (*inputs, "gt")}
        problem = None
        for role, paths in found.items():
            if len(paths) > 1:
                problem = f"{len(paths)} {role} inputs named {name}: " + ", ".join(p.name for p in paths)
            elif not paths and role != "gt":
                problem = f"no {role} input named {name}.* in {root / role}"
        one = {role: str(paths[0]) if len(paths) == 1 else None for role, paths in found.items()}
        jobs.append(Job(name, one[inputs[0]], one[inputs[-1]], str(output_dir / f"{name}{ext}"), one["gt"], problem))
    return jobs


INPUT_ROLES = ("color", "depth", "gt")


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.realpath(path))


def _files(job: Job, roles: Sequence[str]) -> list[tuple[str, str]]:
    """(role, real path) of ``job``'s files of ``roles`` that it has."""
    return [(role, _real(getattr(job, role))) for role in roles if getattr(job, role)]


def check_outputs(jobs: Sequence[Job], *, resume: bool, overwrite: bool) -> list[Job]:
    """The jobs that ``resume`` skips (their output exists). Without ``resume`` or ``overwrite`` an
    existing output is an ``OutputError``, raised before any clip runs."""
    if resume and overwrite:
        raise IGDEError("--resume keeps finished outputs and -y replaces them: give one of them")
    inputs: dict[str, list[tuple[Job, str]]] = {}  # real path -> the clips (and roles) that read it
    for j in jobs:
        for role, path in _files(j, INPUT_ROLES):
            inputs.setdefault(path, []).append((j, role))
    for j in jobs:
        readers = inputs.get(_real(j.output), [])
        own = [role for clip, role in readers if clip is j]
        if own:
            raise OutputError(f"output is the same file as the {own[0]} input of clip {j.clip}", j.output)
        if readers:
            clip, role = readers[0]
            raise OutputError(f"is the {role} input of clip {clip.clip}: a clip's output would replace "
                              "another clip's input", j.output)
    done = [j for j in jobs if os.path.exists(j.output)]
    if done and not (resume or overwrite):
        more = f" (and {len(done) - 1} more)" if len(done) > 1 else ""
        raise OutputError(f"already exists{more}; use --resume to skip finished clips or -y to replace them",
                          done[0].output)
    return done if resume else []


def check_summary_path(path: str | os.PathLike[str], jobs: Sequence[Job] = (),
                       jobs_file: str | os.PathLike[str] | None = None) -> Path:
    """``OutputError`` for a summary path that is no .json / .csv in an existing folder, or that is
    the jobs list or one of the clips' inputs or outputs (it would replace them)."""
    p = Path(path)
    if p.suffix.lower() not in SUMMARY_SUFFIXES:
        raise OutputError("a summary is .json or .csv", p)
    if jobs_file is not None and os.path.isfile(jobs_file) and _real(jobs_file) == _real(p):
        raise OutputError("is the jobs list: the summary would replace it", p)
    real = _real(p)
    for j in jobs:
        for role, other in _files(j, (*INPUT_ROLES, "output")):
            if other == real:
                raise OutputError(f"is the {role} of clip {j.clip}: the summary would replace it", p)
    if not p.parent.is_dir():
        raise OutputError(f"folder {str(p.parent)!r} does not exist", p)
    if p.is_dir():
        raise OutputError("is a folder", p)
    return p


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
    not its own parameters build the ``Enhancer`` (as in ``enhance_file``), once per process.
    ``model_threads``: the model's CPU threads (the worker's share of the cores)."""
    global _enhancer
    import inspect

    from .stream import enhance_file
    from .stream.pipeline import _make_enhancer

    if _stopping:  # the pool hands a stopped worker the clips already queued to it: run none of them
        os._exit(_stopping)
    row = summary_row(job, "failed")
    row["host"] = f"{socket.gethostname()}:{os.getpid()}"
    if job.problem:
        row["error"] = job.problem
        return row
    own = inspect.signature(enhance_file).parameters
    file_opts = {k: v for k, v in options.items() if k in own}
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
        row["error"] = str(exc).splitlines()[0]
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

def _init_worker() -> None:
    # Ctrl-C reaches the whole process group: the parent alone handles it and stops the workers with
    # SIGTERM, which unwinds the clip in progress (its temporary output is removed).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


_stopping = 0  # a worker's exit status once the parent has stopped it: no queued clip starts then


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    global _stopping
    _stopping = 128 + signum
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
    """The clips on ``workers`` spawned processes (``concurrent.futures``); rows in job order."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = multiprocessing.get_context("spawn")  # no fork of a parent holding model or decoder threads
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker)
    rows: dict[int, dict[str, Any]] = {}
    try:
        futures: dict[Future, int] = {pool.submit(run_clip, job, options, threads): i for i, job in enumerate(jobs)}
        pending: Iterable[Future] = futures
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                i = futures[f]
                try:
                    rows[i] = f.result()
                except Exception as exc:  # noqa: BLE001 - the worker process died (killed, out of memory)
                    error = f"worker process failed: {exc}".splitlines()[0]
                    rows[i] = {**summary_row(jobs[i], "failed"), "error": error}
                on_row(rows[i], len(rows), len(jobs))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        _stop_workers(before)
        raise
    pool.shutdown()
    return [rows[i] for i in range(len(jobs))]


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


def write_summary(rows: Sequence[dict[str, Any]], path: str | os.PathLike[str], header: dict[str, Any]) -> None:
    """The rows as JSON (``header`` + counts + ``clips``) or CSV (one line per clip), by suffix;
    written under a temporary name and renamed."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.igde-part-{os.getpid()}")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            if p.suffix.lower() == ".csv":
                w = csv.DictWriter(f, SUMMARY_FIELDS)
                w.writeheader()
                for r in rows:
                    w.writerow({**r, "warnings": " | ".join(r.get("warnings") or [])})
            else:
                counts = {s: sum(r["status"] == s for r in rows) for s in ("done", "skipped", "failed")}
                json.dump({**header, "clips": len(rows), **counts, "rows": list(rows)}, f, indent=1, default=str)
                f.write("\n")
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write the summary: {exc.strerror or exc}", p) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


__all__ = ["Job", "check_outputs", "check_summary_path", "read_jobs", "run_batch", "run_clip",
           "write_summary"]
