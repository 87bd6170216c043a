"""Hidden partial files of an output: the temporary name a run writes under (beside the output, so the
final rename is atomic) and the removal of those that a killed run left behind."""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger("igde_stream.stream")


def temp_path(out: Path, pid: int | None = None) -> Path:
    """Hidden name beside ``out`` (same folder, so the final rename is atomic; same suffix for the muxer)."""
    return out.with_name(f".{out.stem}.igde-part-{os.getpid() if pid is None else pid}{out.suffix}")


def _process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # PermissionError: it exists, under another user; or no valid pid
        return False
    return False


def remove_stale_parts(out: str | os.PathLike[str]) -> list[Path]:
    """Remove the partial files of ``out`` (``temp_path`` names) left by processes that are gone.

    Only this output's partial files are considered, and only those whose process no longer exists
    (``os.kill(pid, 0)`` says so); a live process's file, this process's own, or a file we cannot
    remove is left alone. Returns the files removed (each one logged).
    """
    out = Path(out)
    pattern = re.compile(rf"\.{re.escape(out.stem)}\.igde-part-([0-9]+){re.escape(out.suffix)}")
    removed = []
    try:
        names = os.listdir(out.parent)
    except OSError:
        return removed
    for name in names:
        m = pattern.fullmatch(name)
        if m is None:
            continue
        pid = int(m.group(1))
        if pid <= 0 or pid == os.getpid() or not _process_is_gone(pid):
            continue
        path = out.parent / name
        try:
            if path.is_symlink():
                continue
            if path.is_dir():  # the temporary folder of an image-sequence output
                shutil.rmtree(path)
            elif path.is_file():
                path.unlink()
            else:
                continue
        except OSError:
            continue
        log.info("removed stale partial file %s (process %d is gone)", path, pid)
        removed.append(path)
    return removed
