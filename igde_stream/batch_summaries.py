"""The batch's summaries as the batch runs, ends or is stopped, and the lines about earlier outputs
(``igde-stream batch``; the rows and files themselves: ``batch.summary_row``, ``batch_jobs.write_summary``)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Sequence


def _write_summaries(rows: Sequence[dict[str, Any]], summaries: Sequence[Path], header: dict[str, Any],
                     log: logging.Logger) -> list[Path]:
    """Write ``rows`` to each summary after a signal; the paths written (one that cannot be is said in
    the log, and the signal's exit status stays)."""
    from .batch import write_summary
    from .errors import IGDEError, cli_message

    written = []
    for path in summaries:
        try:
            write_summary(rows, path, header)
        except IGDEError as exc:
            log.error("%s", cli_message(exc))
        else:
            written.append(path)
    return written


#: the summaries are rewritten as clips end, at most this often (s), so that a batch killed outright
#: (SIGKILL after a scheduler's grace period, the OOM killer) leaves the record of the clips that ended
INTERIM_SECONDS = 5.0


def _interim_summaries(jobs: Sequence[Any], skip: Sequence[Any], finished: dict[str, dict[str, Any]],
                       summaries: Sequence[Path], header: dict[str, Any], log: logging.Logger,
                       unwritable: set[Path]) -> None:
    """The summaries of a batch still running: the rows of the clips that ended, ``skipped`` ones, and
    ``pending`` for the rest (running or queued). A summary that cannot be written now is said once in
    the log (``unwritable``: those said); the batch goes on, and the write at its end says what it says."""
    from .batch import summary_row, write_summary
    from .errors import IGDEError, cli_message

    skipped = {j.output for j in skip}
    rows = [finished.get(j.output) or ({**summary_row(j, "skipped"), "error": None} if j.output in skipped else
            {**summary_row(j, "pending"), "error": "not finished yet: the batch is running"}) for j in jobs]
    for path in summaries:
        try:
            write_summary(rows, path, header)
        except IGDEError as exc:
            if path not in unwritable:
                unwritable.add(path)
                log.warning("%s (the summary is written again when the batch ends)", cli_message(exc))


def _say_other_options(summaries: Sequence[Path], options: dict[str, Any], skipped: int, log: logging.Logger) -> None:
    """``--resume`` skips outputs by name; an earlier JSON summary at one of ``summaries`` says the
    options its batch ran with: where they differ from this batch's ``options``, one warning names
    the options and their two values (the skipped clips were made with the earlier ones)."""
    import json

    from .batch_jobs import _jsonable

    now = json.loads(json.dumps(options, default=_jsonable))  # as a summary holds them
    for path in summaries:
        if path.suffix.lower() != ".json" or not path.is_file():
            continue
        try:
            before = json.loads(path.read_text(encoding="utf-8")).get("options")
        except (OSError, ValueError, AttributeError):  # not a summary of ours: nothing to compare
            continue
        if not isinstance(before, dict) or before == now:
            continue
        keys = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        said = "; ".join(f"{k}: {json.dumps(before.get(k))} then, {json.dumps(now.get(k))} now" for k in keys)
        many = skipped > 1
        log.warning("--resume: %s says its batch ran with other options (%s); the %d clip%s skipped %s "
                    "made with those (rerun %s with -y)", path, said, skipped, "s" if many else "",
                    "keep outputs" if many else "keeps an output", "them" if many else "it")
        return


def _stopped_summaries(jobs: Sequence[Any], skip: Sequence[Any], finished: dict[str, dict[str, Any]],
                       summaries: Sequence[Path], header: dict[str, Any], began: float,
                       log: logging.Logger) -> tuple[list[Path], list[str]]:
    """The summaries of a batch stopped by a signal: the rows of the clips that ended (done or failed),
    ``skipped`` for those ``--resume`` skipped, ``interrupted`` for the rest (stopped while they ran, or
    never begun: none of them left an output). Returns the paths written (one that cannot be is said
    in the log) and the outputs of interrupted clips that hold an earlier run's file (``-y`` had not
    replaced it yet), which a rerun with ``--resume`` would take for finished."""
    from .batch import summary_row

    why = f"not finished: the batch was stopped ({header['stopped_by']})"
    skipped = {j.output for j in skip}
    rows, earlier = [], []
    for j in jobs:
        if j.output in finished or j.output in skipped:
            rows.append(finished.get(j.output) or {**summary_row(j, "skipped"), "error": None})
        elif _older(j.output, began):
            earlier.append(j.output)
            rows.append({**summary_row(j, "interrupted"), "error": f"{why}; {j.output} is an earlier run's file, "
                                                                    "which --resume would skip: rerun it with -y"})
        else:
            rows.append({**summary_row(j, "interrupted"), "error": f"{why}; rerun with --resume"})
    return _write_summaries(rows, summaries, header, log), earlier


def _earlier_text(outputs: Sequence[str], what: str) -> str:
    """"2 clips not finished still hold an earlier run's output (out/o1.mkv, ...), which --resume would
    skip: rerun them with -y" (``what``: "not finished", "failed")."""
    n = len(outputs)
    return (f"{n} clip{'s' if n > 1 else ''} {what} still {'hold' if n > 1 else 'holds'} an earlier run's output "
            f"({outputs[0]}{', ...' if n > 1 else ''}), which --resume would skip: rerun {'them' if n > 1 else 'it'} "
            "with -y")


def _older(output: str, began: float) -> bool:
    """Whether ``output`` is there from before ``began`` (a wall time), as ``--resume`` sees an output
    (an image sequence's: its folder, holding frames)."""
    from .batch_jobs import output_written
    from .stream.imageseq import is_pattern

    if not output_written(output):  # (an empty folder made ahead of the batch: --resume runs that clip)
        return False
    try:
        return os.stat(Path(output).parent if is_pattern(output) else output).st_mtime < began
    except OSError:
        return False
