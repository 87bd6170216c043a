"""How much memory the views' outputs hold while they run, and a warning before the first frame
where that is more than the machine has free.

Measured by ``python tools/bench.py viewmem`` (benchmarks/viewmem-cpu.json, docs/multiview.md): each
encoder holds a fixed number of bytes per pixel of its frames once its look-ahead is full (x264 and
x265 reach it after 40-60 frames, FFV1 at the first), and the renderer a number of bytes per pixel
of each view it renders. An 8K clip written one file a view (8 x 7680 x 4320, FFV1) needs about 22
GB; on a machine with less free memory the system would kill the run partway, with nothing said.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

log = logging.getLogger("igde_stream.stream")

#: bytes per pixel of an output frame each encoder holds once its look-ahead is full, measured on 2
#: cores at 1920x1080 and 3840x2160 (benchmarks/viewmem-cpu.json); x265 holds more with more cores
#: (a frame thread each)
ENCODER_BYTES_PER_PIXEL = {"ffv1": 82, "h264": 190, "hevc": 230}
#: bytes an encoder holds whatever the frame size
ENCODER_FIXED_BYTES = 4 * 2**20
#: bytes per pixel of one view the renderer holds (the views, their depth and the warp's buffers)
RENDER_BYTES_PER_VIEW_PIXEL = 7
#: below this the estimate is not worth a word (any machine that runs the model has it)
QUIET_BYTES = 2**30


def views_memory(frame_sizes: Sequence[tuple[int, int]], codec: str, views: int, size: tuple[int, int],
                 image: bool = False) -> int:
    """Bytes held by the outputs of ``frame_sizes`` ((W, H) of each file's frames, ``Layout.frame_sizes``)
    in ``codec`` (``VIEW_CODECS``; ``image``: one PNG picture, no encoder kept) and by the renderer
    of ``views`` views of ``size`` (W, H)."""
    encoders = 0 if image else sum(ENCODER_BYTES_PER_PIXEL[codec] * w * h + ENCODER_FIXED_BYTES
                                   for w, h in frame_sizes)
    return encoders + RENDER_BYTES_PER_VIEW_PIXEL * views * size[0] * size[1]


def available_memory() -> int | None:
    """Bytes the system can give without swapping (Linux ``MemAvailable``), else its free pages where
    the platform says (``os.sysconf``), else None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def warn_views_memory(frame_sizes: Sequence[tuple[int, int]], codec: str, views: int, size: tuple[int, int],
                      image: bool = False, available: int | None = None) -> bool:
    """One warning when the views' outputs need more memory than is free (``available``, bytes; None:
    ``available_memory()``), naming what would need less. True when it warned."""
    need = views_memory(frame_sizes, codec, views, size, image)
    free = available_memory() if available is None else available
    if free is None or need <= max(free, QUIET_BYTES):
        return False
    files = len(frame_sizes)
    w, h = max(frame_sizes, key=lambda s: s[0] * s[1])
    what = f"{files} {codec} file{'s' if files > 1 else ''} of {w}x{h}" if not image else f"a {w}x{h} picture"
    lighter = [] if codec == "ffv1" or image else ["the ffv1 codec (--codec ffv1, --views-codec ffv1 in one pass: the encoder that holds least)"]
    lighter += ["fewer views (--views)"] if views > 2 else ["a smaller frame"]
    log.warning("the views need about %.1f GB of memory (%s and %d rendered views of %dx%d) and %.1f GB is free: "
                "the system may stop the run partway; use %s", need / 2**30, what, views, size[0], size[1],
                free / 2**30, ", or ".join(lighter))
    return True


def warn_layout_memory(layout: object, paths: Sequence[Path], codec: str, size: tuple[int, int]) -> bool:
    """``warn_views_memory`` for a display layout's outputs (``paths``) of views of ``size``: a stereo
    layout renders its two views alone; a ``.png`` name is one picture (no encoder kept)."""
    from ..display.layouts import StereoPair

    views = 2 if isinstance(layout, StereoPair) else layout.cfg.n_views  # type: ignore[attr-defined]
    image = all("%" not in Path(p).name and Path(p).suffix.lower() == ".png" for p in paths)
    return warn_views_memory(layout.frame_sizes(size), codec, views, size, image)  # type: ignore[attr-defined]
