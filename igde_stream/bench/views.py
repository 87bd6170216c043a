"""Multiview renderer vs IGDE inference, same machine, same run: is the renderer the bottleneck?

``python tools/bench.py views [--views 8] [--size 960x540] [--model igde-small] [--json PATH]``

Renderer: ``multiview.warp_views`` (z-buffered forward warp + hole fill, all N views) on one
structured colour + depth frame, and the same plus the grid tiling a display would take. Inference:
the ``infer`` benchmark's ``run_benchmark`` on the same frame size, batch 1, for every backend that
is available here (ONNX Runtime needs its backend and the ONNX exporter; PyTorch always runs).
Times are medians of host wall-clock; frames/s = 1 / median. Figures are printed and saved
(default ``benchmarks/views.json``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from typing import Any, Callable

from .common import device_name, loadavg_before_after, log, save_json, stamp, versions
from .infer import _parse_size, run_benchmark, structured_frames, time_host


def _available_backends() -> list[str]:
    from ..backends import BACKENDS

    out = []
    if "onnxruntime" in BACKENDS:
        try:
            from .. import export  # noqa: F401  (the ONNX exporter the infer bench uses)

            out.append("onnxruntime")
        except ImportError:
            pass
    out.append("torch")
    return out


def run(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    from .. import multiview as mv

    load_before = os.getloadavg()
    w, h = _parse_size(args.size)
    color, depth = structured_frames(1, h, w, seed=1)
    cfg = mv.ViewConfig(n_views=args.views, baseline=args.baseline, zero_parallax=args.zero_parallax)
    rows: list[dict[str, Any]] = []

    def add(what: str, med: float, iters: int) -> None:
        rows.append({"what": what, "ms_per_frame": round(1000 * med, 1), "fps": round(1 / med, 3), "iters": iters})
        log(f"  {what}: {1000 * med:.1f} ms/frame, {1 / med:.2f} frames/s")

    def timed(what: str, fn: Callable[[], Any]) -> None:
        times = time_host(fn, 1, args.iters)
        add(what, statistics.median(times), len(times))

    log(f"# renderer: {args.views} views at {w}x{h}")
    r = mv.warp_views(color[0], depth[0], cfg)
    holes = float(r.holes.mean())
    timed(f"render {args.views} views", lambda: mv.warp_views(color[0], depth[0], cfg))
    timed(f"render {args.views} views + grid", lambda: mv.tile_grid(mv.warp_views(color[0], depth[0], cfg).views))

    backends = args.backends.split(",") if args.backends else _available_backends()
    inf_args = argparse.Namespace(backends=",".join(backends), model=args.model, onnx=None, engine=None,
                                  sizes=f"{w}x{h}", batch="1", device="cpu", threads=args.threads,
                                  warmup=1, iters=args.infer_iters, min_time=0.0, random_init=False, argv=[])
    log(f"# {args.model} inference at {w}x{h}, batch 1: {', '.join(backends)}")
    inf = run_benchmark(inf_args, log=log)
    for row in inf["rows"]:
        add(f"{args.model} {row['setup']}", row["ms_per_frame"] / 1000.0, row["iters"])
    render_fps = rows[0]["fps"]
    for row in rows:
        row["render_speed_ratio"] = round(render_fps / row["fps"], 2)
    return {
        **stamp("views", args.argv),
        "device": device_name("cpu"),
        "size": [w, h],
        "views": args.views,
        "baseline_px": args.baseline,
        "zero_parallax": args.zero_parallax,
        "hole_fraction": round(holes, 5),
        "model": args.model,
        "weights": inf["weights"],
        "threads": inf["threads"],
        "cpu_count": os.cpu_count(),
        "loadavg_1min_before_after": loadavg_before_after(load_before),
        "versions": versions(),
        "note": "renderer: NumPy, single thread; render_speed_ratio = renderer frames/s / this row's frames/s",
        "rows": rows,
    }


def markdown_table(result: dict[str, Any]) -> str:
    lines = ["| stage | ms/frame | frames/s | renderer speed / this |", "|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['what']} | {r['ms_per_frame']:.1f} | {r['fps']:.2f} | {r['render_speed_ratio']:.2f} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python tools/bench.py views", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--views", type=int, default=8, help="number of views (default: %(default)s)")
    p.add_argument("--size", default="960x540", help="WIDTHxHEIGHT (default: %(default)s)")
    p.add_argument("--baseline", type=float, default=32.0, help="pixels between extreme views (default: %(default)s)")
    p.add_argument("--zero-parallax", type=float, default=0.5, help="normalised depth that does not move")
    p.add_argument("--model", default="igde-small", help="variant to compare with (default: %(default)s)")
    p.add_argument("--backends", help="comma-separated infer setups (default: onnxruntime if available, torch)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for inference")
    p.add_argument("--iters", type=int, default=10, help="timed renderer iterations (default: %(default)s)")
    p.add_argument("--infer-iters", type=int, default=3, help="timed inference iterations (default: %(default)s)")
    p.add_argument("--json", default="benchmarks/views.json", help="output JSON (default: %(default)s)")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(argv)
    try:
        result = run(args, log=log)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"bench views: {exc}", file=sys.stderr)
        return 1
    print(f"\n{result['views']} views at {result['size'][0]}x{result['size'][1]} vs {result['model']} "
          f"({result['weights']}) on {result['device']} ({result['cpu_count']} CPUs, load "
          f"{result['loadavg_1min_before_after'][0]} -> {result['loadavg_1min_before_after'][1]}), {result['date']}")
    print(markdown_table(result))
    save_json(args.json, result)
    return 0
