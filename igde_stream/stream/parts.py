"""Output paths: the checks made before a run (``check_outputs``), the hidden partial files a run
writes under (``temp_path``: beside the output, so the final rename is atomic), the removal of those
that a killed run left behind (``remove_stale_parts``), the one step that puts every output of a
run in place (``commit``: all or nothing), and a file's name as FFmpeg must be given it
(``ffmpeg_name``)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import string
from pathlib import Path
from typing import Any, Sequence

from ..errors import IGDEError, OutputError
from .imageseq import check_sequence_output, is_os_file, is_pattern, padding_hint, pattern_suffix_problem

log = logging.getLogger("igde_stream.stream")

_SCHEME_CHARS = frozenset(string.ascii_letters + string.digits + "+-.")  # what FFmpeg reads as a protocol name


def ffmpeg_name(path: str | os.PathLike[str]) -> str:
    """A local file's name as FFmpeg must be given it. FFmpeg takes the text before a name's first
    ':' for a protocol when it is made of letters, digits, '+', '-' and '.' only, so ``take1:final.mkv``
    (or its hidden partial file, ``.take1:final...``) would be opened with a protocol "take1" that does
    not exist: such a name goes in as ``file:take1:final.mkv`` (FFmpeg's file protocol); any other
    as it is. Image-sequence patterns too (the image2 muxer and demuxer keep the prefix on every
    file's name)."""
    name = os.fspath(path)
    head, colon, _ = name.partition(":")
    return "file:" + name if colon and head and set(head) <= _SCHEME_CHARS else name


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


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


STDOUT_PROBLEM = ("stdout (-) carries only the enhanced depth (igde-stream COLOR DEPTH -o -); views, RGB-D, "
                  "reports and pictures are written to a file: name one (.mkv or .mp4; one .png for a photograph)")


def check_run_outputs(out: Path | str, files: Sequence[Path], views_path: str | os.PathLike[str] | None,
                      rgbd_path: str | os.PathLike[str] | None, inputs: dict[str, Path], overwrite: bool) -> None:
    """The checks of a run's outputs before any input is opened: the depth output ``out`` (a path, or
    a network URL: a ``str`` subclass, not checked here) in a format that keeps depth, an image
    pattern's folder new or an earlier run's, nothing else written into that folder, views not to
    stdout, and ``files`` (the depth file, reports, plot, preview) with the RGB-D output by
    :func:`check_outputs`. The views' own names are checked once their layout has named them."""
    local = isinstance(out, Path)
    if local and (problem := pattern_suffix_problem(out, depth=True)) is not None:
        raise OutputError(problem, out)  # depth.jpg: lossy 8-bit, no depth format
    if local and is_pattern(out):
        check_sequence_output(out, overwrite, [p for p in inputs.values() if str(p) != "-"])
    refuse_stdout(views_path)
    for path in (views_path, rgbd_path):
        refuse_pattern(path)
    others = [*files, *(Path(p) for p in (views_path, rgbd_path) if p is not None)]
    if local and is_pattern(out):  # the folder is put in place as a whole: nothing else may be written into it
        for o in others:
            if same_file(o.parent, out.parent):
                raise OutputError(f"is inside {out.parent}, the folder of the image sequence {out.name}, which "
                                  "the run writes as a whole: put it in another folder", o)
    check_outputs([*files, *([Path(rgbd_path)] if rgbd_path is not None else [])], inputs, overwrite,
                  out if local else None)


def refuse_pattern(out: str | os.PathLike[str] | None) -> None:
    """``OutputError`` for an image pattern (``v/%06d.png``) as a views or RGB-D output, which is one
    video (or one picture of one frame): said before the folder is looked at, so that nobody is sent
    to make a folder for an output refused next."""
    if out is not None and is_pattern(out):
        raise OutputError("views and RGB-D are written as one video, not as an image sequence: use .mkv or .mp4, "
                          "or one .png for a single frame", out)


def refuse_stdout(out: str | Path | None) -> None:
    """``OutputError`` for ``-`` as an output that is written to a file only (views, RGB-D): said so,
    not as FFmpeg's "Could not determine output format" of a file named ``-``."""
    if out is not None and str(out) == "-":
        raise OutputError(STDOUT_PROBLEM, "-")


def check_outputs(outputs: Sequence[Path], inputs: dict[str, Path], overwrite: bool, depth: Path | None = None) -> None:
    """Each of ``outputs`` may be written: not an input, not given twice, no folder, device or named
    pipe, new (or ``overwrite``), in a writable folder. ``depth``: the enhanced depth among them, the
    one output that can stream to stdout instead (what a device or named pipe there is pointed to)."""
    for i, out in enumerate(outputs):
        refuse_stdout(out)
        if (problem := pattern_suffix_problem(out)) is not None:
            raise OutputError(problem, out)
        for role, p in inputs.items():
            if same_file(out, p):
                raise OutputError(f"output is the same file as the {role} input", out)
        for other in outputs[:i]:
            if same_file(out, other):
                raise OutputError("the same path is given for two outputs", out)
        if out.is_dir():
            raise OutputError("is a folder", out)
        mode = os.lstat(out).st_mode if os.path.lexists(out) else None
        if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            # the rename at the end would replace the device or pipe itself (as root: /dev/null)
            raise OutputError("is a device or a named pipe, not a file: write to stdout with -o - and redirect "
                              "that" if depth is not None and same_file(out, depth) else "is a device or a named pipe, "
                              "not a file: views, RGB-D, reports and pictures are written to files only (renamed into "
                              "place when complete); name one", out)
        if mode is not None and not overwrite:  # a symbolic link too, even one that points nowhere
            raise OutputError("already exists (overwrite=True replaces it)", out,
                              cli_problem="already exists (use -y / --overwrite to replace it)")
        parent = out.parent
        if not parent.exists():
            raise OutputError(f"folder {str(parent)!r} does not exist" + padding_hint(out), out)
        if not parent.is_dir():
            raise OutputError(f"{str(parent)!r} is not a folder", out)
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"folder {str(parent)!r} is not writable", out)
        check_name_length(out)


def check_name_length(out: Path) -> None:
    """The output's temporary and backup names (``temp_path``, ``commit``) are longer than its
    own; one the file system cannot hold is refused up front, not as a traceback mid-run."""
    try:
        limit = os.pathconf(out.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    longest = max(len(temp_path(out).name), len(backup_path(out).name))
    if len(out.name) > limit or longest > limit:
        raise OutputError(f"name too long ({len(out.name)} characters; with the temporary suffix it must stay "
                          f"within the file system's {limit}): choose a shorter name", out)


def backup_path(final: Path, pid: int | None = None) -> Path:
    """Where ``commit`` keeps a file it is replacing until the new one is in place (beside it)."""
    return final.with_name(f".{final.name}.igde-old-{os.getpid() if pid is None else pid}")


def commit(moves: Sequence[tuple[Path, Path]]) -> None:
    """Rename each (temporary, final) pair into place, all or nothing: on any failure (Ctrl-C included)
    the outputs already renamed are removed, files that were being replaced come back, and every
    temporary is removed."""
    pid = os.getpid()
    kept: list[tuple[Path, Path]] = []  # (backup, final) of files being replaced
    placed: list[Path] = []
    final: Path | None = None
    try:
        for _, final in moves:
            if os.path.lexists(final) and not (final.is_dir() and not any(final.iterdir())):
                backup = backup_path(final, pid)
                os.replace(final, backup)
                kept.append((backup, final))
        for tmp, final in moves:
            os.replace(tmp, final)
            placed.append(final)
    except BaseException as exc:
        for final in placed:
            remove_output(final)
        for backup, final in kept:
            try:
                os.replace(backup, final)
            except OSError:
                log.error("could not put %s back; it is kept as %s", final, backup)
        for tmp, _ in moves:
            remove_output(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write: {exc.strerror or exc}", final) from None
        raise
    for backup, final in kept:
        if _move_os_files(backup, final):
            remove_output(backup)


def _move_os_files(old: Path, new: Path) -> bool:
    """Move the OS's files (``imageseq.OS_FILES``: ``.DS_Store`` ...) of folder ``old``, an image sequence
    replaced, into ``new``, the one that replaced it; True where ``old`` may go (it holds earlier frames
    only). A file that cannot move keeps ``old`` where it is (said in the log): never deleted."""
    if not (old.is_dir() and not old.is_symlink() and new.is_dir()):
        return True
    for name in [n for n in os.listdir(old) if is_os_file(n)]:
        try:
            if os.path.lexists(new / name):
                raise FileExistsError(f"{new / name} exists")
            os.rename(old / name, new / name)
        except OSError as exc:
            log.warning("could not move %s into %s (%s); the replaced folder is kept as %s", name, new,
                        exc.strerror or exc, old)
            return False
    return True


def remove_output(path: Path) -> None:
    """Remove a file, or a folder of images (an image-sequence output), if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def check_side_outputs(report_path: Any, plot_path: Any, preview_path: Any, has_gt: bool,
                       ) -> tuple[list[Path], Path | None, Path | None]:
    """``enhance_file``'s reports (one path or several), plot and preview as paths, each checked before
    any frame is read; a report or plot without ground truth (``has_gt``) is refused."""
    from .preview import check_preview_path
    from .report import check_plot_path, check_report_path

    if report_path is None:
        reports = []
    elif isinstance(report_path, (str, os.PathLike)):
        reports = [Path(report_path)]
    else:
        reports = [Path(p) for p in report_path]
    plot = Path(plot_path) if plot_path is not None else None
    if (reports or plot) and not has_gt:
        raise IGDEError("a report or plot needs the ground-truth depth (gt_path)",
                        cli_problem="a report or plot needs the ground-truth depth (--gt)")
    for r in reports:
        check_report_path(r)
    if plot is not None:
        check_plot_path(plot)  # .png, and matplotlib importable: not found out after the whole stream
    preview = Path(preview_path) if preview_path is not None else None
    if preview is not None:
        check_preview_path(preview)
    return reports, plot, preview
