"""``igde-stream --demo DIR``: the clip it writes and runs (``run_demo``), and what it may replace without
-y: the files an earlier demo wrote in DIR, and nothing of the user's (a ``color.mp4`` of their own in
``--demo .``, an existing ``--rgbd-out``)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any, Callable

# every file the demo writes in DIR (data.json: write_clip's record of the clip, which marks the folder)
DEMO_FILES = ("color.mp4", "depth.mkv", "gt.mkv", "data.json", "depth_enhanced.mkv", "report.json", "report.csv",
              "psnr.png", "preview.png")
_CLIP_FILES = {"color": "color.mp4", "depth": "depth.mkv", "gt": "gt.mkv"}


def earlier_demo(folder: Path) -> bool:
    """Whether ``folder`` holds a clip that ``write_clip`` wrote (its data.json), as an earlier demo left it."""
    try:
        record = json.loads((folder / "data.json").read_text())
    except (OSError, ValueError):
        return False
    return (isinstance(record, dict) and record.get("generator") == "igde_stream.data.synthetic"
            and record.get("files") == _CLIP_FILES)


def check_demo_outputs(args: argparse.Namespace, size: tuple[int, int]) -> None:
    """Without -y, before anything is written: the demo replaces the files it writes in DIR only where an
    earlier demo wrote them; --views-out, --rgbd-out and --preview name the user's own files, so an
    existing one is refused, as in any run."""
    from .errors import IGDEError, OutputError
    from .stream.parts import check_outputs
    from .views_options import onepass_kwargs

    folder = Path(args.demo)
    names = [n for n in DEMO_FILES if n != "preview.png" or args.preview is None]
    mine = [folder / n for n in names if (folder / n).exists() or (folder / n).is_symlink()]
    if mine and folder.is_dir() and not earlier_demo(folder):
        raise OutputError("already exists and is not from an earlier --demo", mine[0],
                          cli_problem="already exists and is not from an earlier --demo (use -y / --overwrite "
                                      "to replace it)")
    views = onepass_kwargs(args)["views"]
    paths = [Path(p) for p in (args.rgbd_out, args.preview) if p is not None]
    if args.views_out is not None:
        try:
            paths += views.make_layout().outputs(args.views_out, size)
        except ValueError as exc:
            raise IGDEError(str(exc)) from None
    check_outputs(paths, {}, overwrite=False)


def run_demo(args: argparse.Namespace, run: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """``--demo DIR``: a synthetic clip (colour, degraded depth, ground truth) into DIR, then the whole
    job on it through ``run`` (the command's own run of its arguments, with these paths)."""
    from .data import write_clip
    from .errors import OutputError

    out_dir = Path(args.demo)
    size = (320, 180)
    if not args.overwrite:  # before anything is written
        check_demo_outputs(args, size)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError("exists and is not a folder", out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder: {exc.strerror or exc}", out_dir) from None
    log = logging.getLogger("igde_stream.cli")
    log.info("demo: writing a synthetic 48-frame 320x180 clip into %s", out_dir)
    clip = write_clip(out_dir, frames=48, size=size)
    reports = [out_dir / "report.json", out_dir / "report.csv"]
    try:
        import matplotlib  # noqa: F401

        plot: Path | None = out_dir / "psnr.png"
    except ImportError:
        plot = None
        log.info("demo: matplotlib is not installed, so no plot and no preview")
    preview = args.preview or (out_dir / "preview.png" if plot is not None else None)
    # The demo owns the files it writes in DIR (check_demo_outputs): running it again replaces them.
    return run(
        args, color=clip["color"], depth=clip["depth"], gt=clip["gt"], output=out_dir / "depth_enhanced.mkv",
        report=reports, plot=plot, preview=preview, overwrite=True,
    )
