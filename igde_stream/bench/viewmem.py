"""Memory of the views' outputs: each view codec's encoder and the renderer, per pixel, and a whole
``views render`` run against the estimate the command warns with (``stream.view_memory``).

``python tools/bench.py viewmem [--size 1920x1080] [--frames 80] [--views 8] [--json benchmarks/viewmem-cpu.json]``

Each figure is a child process's peak resident memory (``ru_maxrss`` of the child, Linux and macOS),
less that of a baseline child that does the same work without what is measured:

- ``encoder``: ``ColorWriter`` writing ``--frames`` frames of ``--size`` (a textured frame moved 3 px
  a frame) for each codec of ``VIEW_CODECS``, against a child that makes the same frames and writes
  none; bytes per pixel of the frame. x264 and x265 hold their look-ahead and frame threads, so
  their memory grows over the first 40-60 frames and then stays: ``--frames`` must pass that.
- ``renderer``: ``multiview.warp_views`` of ``--views`` views of one frame, against a child that only
  loads the frame; bytes per pixel of one view.
- ``run``: ``views render`` of a ``--run-frames`` clip of ``--size`` to ``--layout views`` (one FFV1
  file a view), against a child that only imports the package and reads the inputs' first frame;
  beside ``view_memory.views_memory`` of the same outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .common import device_name, log, parse_size, run_or_status, save_json, stamp, versions

_FRAMES = """
import numpy as np, cv2
w, h = {w}, {h}
base = np.random.default_rng(0).integers(0, 256, (h // 8, w // 8, 3), np.uint8)
img = cv2.resize(base, (w, h), interpolation=cv2.INTER_LINEAR)
frames = (np.roll(img, 3 * i, 1) for i in range({n}))
"""

_ENCODE = _FRAMES + """
from fractions import Fraction
from igde_stream.stream.view_writers import ColorWriter
out = ColorWriter({path!r}, {codec!r}, Fraction(25), Fraction(1, 25), size=(w, h))
for i, f in enumerate(frames):
    out.write(f, i)
out.finish()
out.abort()
"""

_NO_ENCODE = _FRAMES + """
from igde_stream.stream.view_writers import ColorWriter
for f in frames:
    f.sum()
"""

_RENDER = """
import numpy as np
from igde_stream import multiview as mv
from igde_stream.bench.infer import structured_frames
color, depth = structured_frames(1, {h}, {w})
color, depth = color[0], depth[0]
if {render}:
    mv.warp_views(color, depth, mv.ViewConfig(n_views={views}))
"""

_RUN = """
import sys
from igde_stream import multiview as mv
from igde_stream.stream.views import render_file
from igde_stream.stream import VideoReader
if {render}:
    render_file({color!r}, {depth!r}, {out!r}, mv.ViewConfig(n_views={views}), layout="views", codec="ffv1")
else:
    for role, p in (("color", {color!r}), ("depth", {depth!r})):
        r = VideoReader(p, role)
        next(iter(r.frames()))
        r.close()
"""


def peak_mb(code: str) -> float:
    """The peak resident memory (MB) of a child Python running ``code``."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after <= before:  # RUSAGE_CHILDREN keeps the largest child so far: measure each in its own process
        raise RuntimeError("run each measurement in a fresh process (ru_maxrss of the children did not rise)")
    return after / (2**20 if sys.platform == "darwin" else 2**10)


def _child_peak(code: str) -> float:
    """``peak_mb`` in a process of its own, so that each figure is that child's alone."""
    probe = (f"import json, sys; from igde_stream.bench.viewmem import peak_mb; "
             f"print(json.dumps(peak_mb({code!r})))")
    res = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return float(res.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    from ..stream.view_memory import views_memory
    from ..stream.view_writers import VIEW_CODECS

    w, h = args.size
    px = w * h
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = _child_peak(_NO_ENCODE.format(w=w, h=h, n=args.frames))
        for codec in VIEW_CODECS:
            path = str(Path(tmp) / "v.mkv")
            peak = _child_peak(_ENCODE.format(w=w, h=h, n=args.frames, path=path, codec=codec))
            rows.append(dict(what="encoder", codec=codec, peak_mb=round(peak, 1), baseline_mb=round(base, 1),
                             bytes_per_pixel=round((peak - base) * 2**20 / px, 1)))
            log(f"encoder {codec}: {peak - base:.0f} MB over the baseline, {rows[-1]['bytes_per_pixel']} B/px")
        base = _child_peak(_RENDER.format(w=w, h=h, views=args.views, render=False))
        peak = _child_peak(_RENDER.format(w=w, h=h, views=args.views, render=True))
        rows.append(dict(what="renderer", views=args.views, peak_mb=round(peak, 1), baseline_mb=round(base, 1),
                         bytes_per_view_pixel=round((peak - base) * 2**20 / (px * args.views), 1)))
        log(f"renderer, {args.views} views: {peak - base:.0f} MB, {rows[-1]['bytes_per_view_pixel']} B per view pixel")
        from ..data.clip import write_clip

        clip = write_clip(Path(tmp) / "clip", frames=args.run_frames, size=(w, h), seed=1)
        kw = dict(color=str(clip["color"]), depth=str(clip["gt"]), out=str(Path(tmp) / "views.mkv"), views=args.views)
        base = _child_peak(_RUN.format(render=False, **kw))
        peak = _child_peak(_RUN.format(render=True, **kw))
        estimate = views_memory([(w, h)] * args.views, "ffv1", args.views, (w, h)) / 2**20
        rows.append(dict(what="run", layout="views", codec="ffv1", views=args.views, frames=args.run_frames,
                         peak_mb=round(peak, 1), baseline_mb=round(base, 1), measured_mb=round(peak - base, 1),
                         estimate_mb=round(estimate, 1), estimate_ratio=round(estimate / (peak - base), 2)))
        log(f"views render --layout views ({args.views} FFV1 files): {peak - base:.0f} MB measured, "
            f"{estimate:.0f} MB estimated ({rows[-1]['estimate_ratio']}x)")
    return dict(stamp(args.kind, args.argv), device=device_name("cpu"), versions=versions(), size=f"{w}x{h}",
                frames=args.frames, rows=rows)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tools/bench.py viewmem", description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=parse_size, default=(1920, 1080))
    p.add_argument("--frames", type=int, default=80, help="frames each encoder writes (past x264's look-ahead)")
    p.add_argument("--run-frames", type=int, default=6, help="frames of the whole views render run")
    p.add_argument("--views", type=int, default=8)
    p.add_argument("--json", default="benchmarks/viewmem-cpu.json")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    args.kind, args.argv = "viewmem", argv
    result, status = run_or_status("viewmem", lambda: run(args))
    if result is not None:
        save_json(args.json, result)
        print(json.dumps(result["rows"], indent=1))
    return status
