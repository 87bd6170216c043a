"""The clips of ``igde-stream batch``: the list (``read_jobs``: a CSV or a folder), the checks made
before any clip runs (``check_outputs``, ``check_summary_path``) and the summary file
(``write_summary``). Running them is ``igde_stream.batch``."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .errors import IGDEError, OutputError

CSV_COLUMNS = ("color", "depth", "output", "gt", "clip", "start", "to")  # the first three are required
PACKED_CSV_COLUMNS = ("input", "output", "gt", "clip", "start", "to")  # with --packed; the first two are required
SUMMARY_FIELDS = ("clip", "status", "error", "frames", "seconds", "output", "color", "depth", "gt", "start", "end",
                  "backend", "mean_psnr", "mean_gain_db", "host", "warnings")
SUMMARY_SUFFIXES = (".json", ".csv")


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
    start: float | None = None  # the CSV's start and to (seconds; None: the command's --start / --to)
    end: float | None = None


def read_jobs(path: str | os.PathLike[str], output_dir: str | os.PathLike[str] | None = None,
              output_ext: str = ".mkv", packed: bool = False) -> list[Job]:
    """The clips listed by ``path``: a CSV file or a folder (see ``docs/batch.md``).

    CSV: a header row naming the columns ``color``, ``depth``, ``output`` and optionally ``gt``,
    ``clip`` (a label; default: the output as written), ``start`` and ``to`` (the clip's span, as
    ``--start`` / ``--to`` take it; an empty cell: the command's); relative paths are relative to the CSV's
    folder; blank lines and lines starting with ``#`` are skipped. Folder: ``color/NAME.*`` and
    ``depth/NAME.*`` pair by NAME (files, or folders of images), ``gt/NAME.*`` is used when present,
    and the output is ``output_dir/NAME<output_ext>`` (default folder: ``path/enhanced``).
    ``packed``: each clip is one packed RGB-D input (``--packed``), the CSV's ``input`` column in
    place of ``color`` and ``depth``, or the folder's ``packed/NAME.*``; its job has ``color`` =
    ``depth`` = that input.
    Raises ``IGDEError`` for a list that cannot be read, no clips, two clips with one output, or an output
    inside another clip's image-sequence folder.
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
                        f"gt, clip, start and to{hint}", path)
    jobs, seen, written = [], {}, []
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
                        str(base / row["gt"]) if row.get("gt") else None, None, *_span_cells(row, n, path)))
        written.append((n, row["output"]))
    _check_sequence_folders(jobs, written, path)
    return jobs


def _check_sequence_folders(jobs: list[Job], lines: list[tuple[int, str]], path: Path) -> None:
    """Refuse an output inside another line's image-sequence folder (that folder holds its sequence's
    frames alone, and is put in place whole): said before any clip runs, not as the later clip's
    failure after the first has written its frames. ``lines``: each job's (line, output as written)."""
    from .stream.imageseq import is_pattern  # here: the stream package is heavy to import

    folders: dict[str, int] = {}  # a sequence's folder -> the first line writing one there
    for j, (n, _) in zip(jobs, lines):
        if is_pattern(j.output):
            folders.setdefault(_real(Path(j.output).parent), n)
    if not folders:
        return
    for j, (n, written) in zip(jobs, lines):
        for folder in Path(j.output).parents:
            m = folders.get(_real(folder))
            if m is not None and m != n:
                raise IGDEError(f"line {n}: output {written} is inside the image-sequence folder of line {m}, "
                                "which holds that sequence's frames alone", path)


def _span_cells(row: dict[str, str], n: int, path: Path) -> tuple[float | None, float | None]:
    """A CSV line's ``start`` and ``to`` cells as seconds (None where empty or absent); ``IGDEError``
    naming the line for a time that does not read, or a ``to`` not after the ``start``."""
    import argparse

    from .cli_parser import time_arg

    times: list[float | None] = []
    for key in ("start", "to"):
        try:
            times.append(time_arg(row[key]) if row.get(key) else None)
        except argparse.ArgumentTypeError as exc:
            raise IGDEError(f"line {n}: {key}: {exc}", path) from None
    start, end = times
    if end is not None and end <= (start or 0.0):
        raise IGDEError(f"line {n}: to {end:g} s must come after start {start or 0:g} s", path)
    return start, end


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


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask, which a scheduler's allocation sets (Slurm's
    ``--cpus-per-task``, ``taskset``, a container's cpuset), not every CPU of the node that
    ``os.cpu_count()`` counts; that where the platform has no affinity (macOS, Windows)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.realpath(path))


def _files(job: Job, roles: Sequence[str]) -> list[tuple[str, str]]:
    """(role, real path) of ``job``'s files of ``roles`` that it has."""
    return [(role, _real(getattr(job, role))) for role in roles if getattr(job, role)]


def output_written(output: str) -> bool:
    """Whether a clip's ``output`` is there, which ``--resume`` takes for a finished clip: the file, or
    for an image sequence its folder holding frames of its pattern (the folder is put in place whole;
    an empty one made ahead of the batch is no output)."""
    from .stream.imageseq import is_pattern, sequence_written  # here: the stream package is heavy to import

    return sequence_written(output) if is_pattern(output) else os.path.exists(output)


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
    from .stream.imageseq import is_pattern  # here: the stream package is heavy to import

    for j in jobs:  # a folder where a video goes is no finished output (nor anything -y may replace)
        if not is_pattern(j.output) and os.path.isdir(j.output):
            raise OutputError("is a folder", j.output)
    done = [j for j in jobs if output_written(j.output)]
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
    if not os.access(p.parent, os.W_OK | os.X_OK):  # said now, not after every clip has run
        raise OutputError(f"folder {str(p.parent)!r} is not writable", p)
    return p



def _jsonable(value: Any) -> Any:
    """A summary value JSON has no type for: an options dataclass as an object of its fields (the
    input options: fps, streams, packing ...), anything else (a Fraction, a path) as its text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


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
                counts = {s: sum(r["status"] == s for r in rows)
                          for s in ("done", "skipped", "failed", "interrupted", "pending")}
                for s in ("interrupted", "pending"):  # a stopped batch's only (header["stopped_by"] says the
                    if not counts[s]:  # signal), a running batch's only (header["running"])
                        del counts[s]
                json.dump({**header, "clips": len(rows), **counts, "rows": list(rows)}, f, indent=1, default=_jsonable)
                f.write("\n")
        os.replace(tmp, p)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(f"cannot write the summary: {exc.strerror or exc}", p) from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    """Remove a partial summary, if there is one and it can be: on a folder that became read-only
    (a network share remounted) the removal fails as the write did, and the write's error is the one said."""
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass


__all__ = ["CSV_COLUMNS", "INPUT_ROLES", "Job", "PACKED_CSV_COLUMNS", "SUMMARY_FIELDS", "SUMMARY_SUFFIXES",
           "check_outputs", "check_summary_path", "output_written", "read_jobs", "usable_cpus", "write_summary"]
