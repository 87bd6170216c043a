"""``igde-stream batch JOBS``: many colour / depth clips, on a local process pool or a Ray cluster.

Thin entry point over ``igde_stream.batch``; the enhancement options are those of ``igde-stream``
(``cli.add_enhance_options``). Exit status: 0 every clip done (or skipped by ``--resume``), 1 at
least one clip failed (the others ran; the summary says which and why), 2 bad JOBS, option or
unreachable Ray address (one line, nothing written), 130 Ctrl-C, 143 SIGTERM (the summaries are
written with what ended; the other clips ``interrupted``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from .cli import add_enhance_options, add_input_options, check_enhance_options, enhance_kwargs, input_options
from .cli_logging import setup_logging
from .batch_jobs import usable_cpus
from .cli_parser import OneLineParser
from .run_summary import frames_text
from .signals import EXIT_OK, EXIT_USER_ERROR, Terminated, say, signals_raise, stopped
from .batch_summaries import (INTERIM_SECONDS, _earlier_text, _interim_summaries, _older, _say_other_options,  # noqa: F401
                              _stopped_summaries, _write_summaries)

PROG = "igde-stream batch"
EXIT_CLIP_FAILED = 1
DEFAULT_WORKERS = max(1, min(4, usable_cpus() // 2))  # of the CPUs this job may use (a Slurm allocation)

EXAMPLES = f"""\
JOBS is a CSV file or a folder:
  CSV     header color,depth,output[,gt][,clip][,start][,to]; one clip a line (start / to: its span,
          as --start / --to take it); relative paths are relative to the CSV's folder. With
          --packed: input,output[,gt][,clip][,start][,to], one packed RGB-D video a clip
  folder  color/NAME.* and depth/NAME.* pair by NAME (gt/NAME.* when there); outputs go to
          --output-dir (default JOBS/enhanced) as NAME.mkv. With --packed: packed/NAME.*

examples:
  igde-stream batch jobs.csv --summary summary.json
      every clip of jobs.csv, {DEFAULT_WORKERS} at a time on this machine, and a summary (.json or .csv)
  igde-stream batch clips/ --jobs 2 --resume --summary summary.csv
      the clips in clips/color and clips/depth; those already in clips/enhanced are skipped
  igde-stream batch clips/ --packed rgbd [--depth-near black]
      the packed RGB-D videos in clips/packed (colour | depth in each frame), as igde-stream P --packed rgbd
  igde-stream batch jobs.csv --ray
      the clips as tasks on a Ray started on this machine (pip install "igde-stream[ray]")
  igde-stream batch jobs.csv --ray auto --gpus-per-clip 1 --backend torch
      on the cluster that `ray start --head` runs here, one GPU per clip
  igde-stream batch jobs.csv --ray ray://head.example:10001
      through Ray Client on a remote cluster (the paths must be the same on every node)

exit status: 0 all clips done or skipped, 1 some clip failed (the others ran; see the summary),
2 bad JOBS, option or unreachable Ray address (nothing written), 130 Ctrl-C, 143 SIGTERM; an
interrupted batch keeps its finished outputs (rerun with --resume), leaves no partial file and
writes its summaries (the clips not finished: status interrupted).
"""


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG, description="Enhance many depth videos, each with its colour video as guide: one task per "
                               "whole clip, on a local process pool or a Ray cluster.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter, error_prog="igde-stream",
    )
    p.add_argument("jobs", metavar="JOBS", nargs="?", help="CSV of clips, or a folder with color/ and depth/ "
                   "(with --packed: packed/)")
    r = p.add_argument_group("running")
    r.add_argument("-j", "--jobs", dest="workers", type=int, metavar="N",
                   help=f"clips at once on this machine (default: {DEFAULT_WORKERS}); with --ray local, the CPUs "
                        "Ray is given")
    r.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run the clips as Ray tasks: local (the default: a Ray started here for this batch), "
                        "auto (the cluster `ray start` runs here), HOST:PORT, or ray://HOST:PORT (Ray Client)")
    r.add_argument("--cpus-per-clip", type=float, metavar="N", help="Ray: CPUs each clip's task asks for (default: 1)")
    r.add_argument("--gpus-per-clip", type=float, metavar="N", help="Ray: GPUs each clip's task asks for (default: 0)")
    r.add_argument("--resume", action="store_true", help="skip clips whose output exists (outputs appear only "
                                                         "when complete)")
    r.add_argument("--summary", metavar="PATH", action="append",
                   help="one row per clip (clip, status, error, frames, seconds, ...), .json or .csv; repeatable")
    f = p.add_argument_group("folder of clips")
    f.add_argument("--output-dir", metavar="DIR", help="where the outputs go (default: JOBS/enhanced)")
    f.add_argument("--output-ext", default=".mkv", metavar=".EXT", help="the outputs' suffix (default: .mkv)")
    add_input_options(p)  # image sequences and raw depth: --fps, --size, --pix-fmt, streams, --format
    from .views_options import add_depth_near_option, add_packed_option

    add_packed_option(p, "each clip's one input is")  # --packed rgbd: colour | depth in each frame
    add_depth_near_option(p, "--packed")
    p.add_argument("--gt-measured", action="store_true",
                   help="clips with a ground truth: score only the pixels where it is not 0 (a stereo ground "
                        "truth's unknown pixels, KITTI's sparse one, NaN / inf of a float one), as igde-stream "
                        "--gt-measured; default: every pixel")
    add_enhance_options(p)
    return p


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.jobs is None:
        if args.ray not in (None, "local", "auto") and os.path.exists(args.ray):
            parser.error(f"--ray took {args.ray} as its address: write JOBS first (`batch {args.ray} --ray`) "
                         "or give the address (--ray local)")
        parser.error("JOBS is required: a CSV file or a folder with color/ and depth/")
    check_enhance_options(parser, args)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--jobs must be >= 1, got {args.workers}")
    if args.ray is None and (args.cpus_per_clip is not None or args.gpus_per_clip is not None):
        parser.error("--cpus-per-clip and --gpus-per-clip are Ray task resources: they need --ray")
    if args.cpus_per_clip is not None and not args.cpus_per_clip > 0:
        parser.error(f"--cpus-per-clip must be > 0, got {args.cpus_per_clip:g}")
    if args.gpus_per_clip is not None and not args.gpus_per_clip >= 0:
        parser.error(f"--gpus-per-clip must be >= 0, got {args.gpus_per_clip:g}")
    if args.depth_near is not None and args.packed is None:
        parser.error("--depth-near says how the packed inputs hold near depth: it needs --packed")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    _check(parser, args)
    setup_logging(args.quiet)
    log = logging.getLogger("igde_stream.cli")

    from .errors import IGDEError, cli_message

    began = time.time()  # an output older than this is an earlier run's
    try:
        with signals_raise():
            rows, engine, seconds = _batch(args, log, began)
    except IGDEError as exc:
        print(f"igde-stream: error: {cli_message(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt as e:
        written = ", ".join(str(p) for p in getattr(e, "summaries", []))
        earlier = getattr(e, "earlier", [])
        return stopped("igde-stream", "term" if isinstance(e, Terminated) else "int",
                       "finished clips are kept (rerun with --resume), no partial file is left"
                       + (f"; the summary says which clips ended ({written})" if written else "")
                       + (f"; {_earlier_text(earlier, 'not finished')}" if earlier else ""))
    failed = [r for r in rows if r["status"] == "failed"]
    if not args.quiet:  # a summary nobody reads (| true) is no error: the clips are written
        counts = {s: sum(r["status"] == s for r in rows) for s in ("done", "skipped", "failed")}
        say(f"{len(rows)} clips: {counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed "
            f"in {seconds:.1f} s on {engine}")
        for path in args.summary or []:
            say(f"wrote {path}")
    for r in failed:
        say(f"igde-stream: clip {r['clip']} failed: {r['error']}", err=True)
    earlier = [r["output"] for r in failed if _older(r["output"], began)]  # -y had not replaced them
    if earlier:
        say(f"igde-stream: {_earlier_text(earlier, 'failed')}", err=True)
    return EXIT_CLIP_FAILED if failed else EXIT_OK


def _batch(args: argparse.Namespace, log: logging.Logger,
           began: float) -> tuple[list[dict[str, Any]], str, float]:
    """Everything that can be refused is checked before the first folder or file is made. ``began``: the
    wall time the run began (an output older than it is an earlier run's)."""
    from . import __version__
    from .batch import check_outputs, check_summary_path, read_jobs, run_batch, write_summary

    t0 = time.perf_counter()
    # first: InputOptions refuses --depth-stream with --packed, before the list is read
    options = {**enhance_kwargs(args), "inputs": input_options(args), "out_format": args.format,
               **({"duration": args.duration} if args.duration is not None else {}),  # from a row's start too
               **({"gt_measured": True} if args.gt_measured else {})}  # clips with a ground truth
    jobs = read_jobs(args.jobs, args.output_dir, args.output_ext, packed=args.packed is not None)
    summaries = [check_summary_path(s, jobs, args.jobs) for s in args.summary or []]
    skip = check_outputs(jobs, resume=args.resume, overwrite=args.overwrite)
    _check_model(args.model)
    if args.ray not in (None, "local", "auto"):
        from .batch_ray import check_reachable

        check_reachable(args.ray)
    workers = args.workers or DEFAULT_WORKERS

    finished: dict[str, dict[str, Any]] = {}  # output -> row, as the clips end: the summary of a stopped batch
    last_interim, unwritable = [time.monotonic()], set()  # (the summaries an interim write failed on)

    def progress(row: dict[str, Any], done: int, total: int) -> None:
        finished[row["output"]] = row
        log.info("[%d/%d] %s: %s, %s", done, total, row["clip"], row["status"], progress_text(row))
        if summaries and done < total and time.monotonic() - last_interim[0] >= INTERIM_SECONDS:
            header.update(seconds=round(time.perf_counter() - t0, 3), running=True)
            _interim_summaries(jobs, skip, finished, summaries, header, log, unwritable)
            last_interim[0] = time.monotonic()

    if skip:
        log.info("--resume: %d of %d clips are finished and skipped", len(skip), len(jobs))
    created = _make_folders({_folder(j.output): j.output for j in reversed(jobs) if j not in skip})
    header = {"tool": "igde-stream batch", "version": __version__, "jobs": str(args.jobs), "engine": None,
              "options": {k: v for k, v in options.items() if k != "quiet"}, "seconds": None}
    if skip:
        _say_other_options(summaries, header["options"], len(skip), log)
    try:
        rows, header["engine"] = run_batch(jobs, options, workers=workers, ray=args.ray,
                                           cpus_per_clip=args.cpus_per_clip or 1,
                                           gpus_per_clip=args.gpus_per_clip or 0, skip=skip, on_row=progress)
    except KeyboardInterrupt as stop:  # SIGTERM (Terminated) too: what ended, and what did not, is kept
        header.update(seconds=round(time.perf_counter() - t0, 3),
                      stopped_by="SIGTERM" if isinstance(stop, Terminated) else "SIGINT")
        header.pop("running", None)
        stop.summaries, stop.earlier = _stopped_summaries(  # type: ignore[attr-defined]
            jobs, skip, finished, summaries, header, began, log)
        raise
    finally:
        for folder in reversed(created):  # folders this batch made and nothing was written to
            try:
                folder.rmdir()
            except OSError:
                pass
    seconds = time.perf_counter() - t0
    header["seconds"] = round(seconds, 3)
    header.pop("running", None)
    try:
        for path in summaries:
            write_summary(rows, path, header)
    except KeyboardInterrupt as stop:  # every clip has ended: the signal does not lose their record
        stop.summaries = _write_summaries(rows, summaries, header, log)  # type: ignore[attr-defined]
        raise
    return rows, header["engine"], seconds


def _check_model(model: str) -> None:
    """A model no worker could load is a bad option, refused before anything runs as the single run
    refuses it: a path that is not there or not a model file, or a name with no shipped .onnx / .pt."""
    from .backends import resolve_model_file
    from .errors import IGDEError

    path = Path(model)
    if (path.suffix or path.parent != Path(".")) and not path.is_file():
        raise IGDEError("no such model file", path)
    problems = []
    for suffix in (".onnx", ".pt"):  # the ONNX Runtime and TensorRT backends take the first, PyTorch the second
        try:
            resolve_model_file(model, suffix)
            return
        except ValueError as exc:  # an existing file of another kind
            raise IGDEError(str(exc)) from None
        except FileNotFoundError as exc:
            problems.append(str(exc))
    raise IGDEError(f"cannot load the model: {problems[0]}", model)


def _folder(output: str) -> Path:
    """The folder an output is written into: an image sequence's folder is itself the output, put in
    place whole from a hidden folder beside it, so its parent."""
    from .stream.imageseq import is_pattern

    return Path(output).parent.parent if is_pattern(output) else Path(output).parent


def _make_folders(folders: dict[Path, str]) -> list[Path]:
    """Create the outputs' missing folders (``folders``: folder -> an output in it); the ones created,
    parents first. A folder that is a file or not writable (a read-only share) is refused here, before
    any clip runs, in the single run's words, not as every clip's failure."""
    from .errors import OutputError

    created: list[Path] = []
    for folder in sorted(folders):
        missing = [p for p in [folder, *folder.parents] if not p.exists()]
        for p in reversed(missing):
            try:
                p.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                for c in reversed(created):
                    c.rmdir()
                raise OutputError(f"cannot create the folder: {exc.strerror or exc}", p) from None
            created.append(p)
    for folder, output in sorted(folders.items()):
        problem = (f"{str(folder)!r} is not a folder" if not folder.is_dir() else
                   f"folder {str(folder)!r} is not writable" if not os.access(folder, os.W_OK | os.X_OK) else None)
        if problem is not None:
            for c in reversed(created):
                c.rmdir()
            raise OutputError(problem, output)
    return created


def progress_text(row: dict[str, Any]) -> str:
    """What a clip's progress line says after its status: "4 frames in 2.1 s" (1 frame), or its error."""
    if row["status"] != "done":
        return row["error"]
    return f"{frames_text(row['frames'])} in {row['seconds']:.1f} s"
