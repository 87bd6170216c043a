"""Multiview renderer vs IGDE inference, same machine, same run: is the renderer the bottleneck?

``python tools/bench.py views [--views 8] [--size 960x540] [--model igde-small] [--json PATH]``
``python tools/bench.py views --layouts --backends none --json benchmarks/views-layouts.json``

Renderer: ``multiview.warp_views`` (z-buffered forward warp + hole fill, all N views) on one
structured colour + depth frame, and the same plus the grid tiling a display would take.
``--torch`` (default on) adds the PyTorch renderer (``multiview_torch.TorchRenderer``) side by side
on the CPU (``--torch-threads`` threads) and, where PyTorch sees one, on the CUDA GPU (with the copy of
the views back to the host, and on the device alone); each row says whether its views are
bit-identical to NumPy's on that frame.
``--layouts`` adds every display layout (``igde_stream.display``) side by side with the grid: the
packing alone (views rendered beforehand, ``pack_ms``) and render + packing per frame, for N views
and, for the 16" Looking Glass preset, ``--preset-views`` (45). Inference (``--backends none``: skipped):
the ``infer`` benchmark's ``run_benchmark`` on the same frame size, batch 1, for every backend that
is available here (ONNX Runtime needs its backend and the ONNX exporter; PyTorch always runs).
Times are medians of host wall-clock; frames/s = 1 / median. Figures are printed and saved
(default ``benchmarks/views.json``).
"""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import replace
from typing import Any, Callable

from .common import device_name, loadavg_before_after, log, parse_size, run_or_status, save_json, stamp, versions
from .infer import run_benchmark, structured_frames, time_host


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
    from .. import display
    from .. import multiview as mv

    load_before = os.getloadavg()
    w, h = parse_size(args.size)
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
    timed(f"render {args.views} views + grid", lambda: display.tile_grid(mv.warp_views(color[0], depth[0], cfg).views))
    if args.torch:
        rows += _torch_rows(args, color[0], depth[0], cfg, r.views, log)
    if args.layouts:
        rows += _layout_rows(args, color[0], depth[0], cfg, log)

    backends = [] if args.backends == "none" else args.backends.split(",") if args.backends else _available_backends()
    if not backends:
        return _result(args, w, h, holes, load_before, rows, {"weights": None, "threads": None})
    inf_args = argparse.Namespace(backends=",".join(backends), model=args.model, onnx=None, engine=None,
                                  sizes=f"{w}x{h}", batch="1", device="cpu", threads=args.threads,
                                  warmup=1, iters=args.infer_iters, min_time=0.0, random_init=False, argv=[])
    log(f"# {args.model} inference at {w}x{h}, batch 1: {', '.join(backends)}")
    inf = run_benchmark(inf_args, log=log)
    for row in inf["rows"]:
        add(f"{args.model} {row['setup']}", row["ms_per_frame"] / 1000.0, row["iters"])
    return _result(args, w, h, holes, load_before, rows, inf)


def _torch_rows(args: argparse.Namespace, color: Any, depth: Any, cfg: Any, ref: Any,
                log: Callable[[str], None]) -> list[dict[str, Any]]:
    """The PyTorch renderer on the same frame: CPU, and CUDA when there is one."""
    import numpy as np
    import torch

    from ..multiview_torch import TorchRenderer

    rows: list[dict[str, Any]] = []
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    threads = torch.get_num_threads()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    try:
        n = torch.get_num_threads()
        for dev in devices:
            r = TorchRenderer(dev)
            same = bool(np.array_equal(r(color, depth, cfg), ref))
            cases = [(f"render {args.views} views, torch {dev}"
                      + (f" ({n} thread{'s' * (n != 1)})" if dev == "cpu" else ", views to host"),
                      lambda: r(color, depth, cfg))]
            if dev == "cuda":
                c, d = torch.from_numpy(color).to(dev), torch.from_numpy(depth).to(dev)

                def on_device() -> None:
                    r.render(c, d, cfg)
                    torch.cuda.synchronize()

                cases.append((f"render {args.views} views, torch cuda, on the device", on_device))
            for what, fn in cases:
                med = statistics.median(time_host(fn, 2, args.iters))
                rows.append({"what": what, "ms_per_frame": round(1000 * med, 1), "fps": round(1 / med, 3),
                             "iters": args.iters, "identical_to_numpy": same})
                log(f"  {what}: {1000 * med:.1f} ms/frame, {1 / med:.2f} frames/s, views identical to NumPy: {same}")
    finally:
        torch.set_num_threads(threads)
    return rows


def _layout_rows(args: argparse.Namespace, color: Any, depth: Any, cfg: Any,
                 log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Each display layout on the same frame: the layout alone (``Layout.pack`` of views rendered
    beforehand; RGB-D packs colour + depth) and render + layout (``Layout.frames``)."""
    from .. import display
    from .. import multiview as mv

    pw, ph = parse_size(args.panel)
    cal = replace(display.LenticularCalibration.from_json(args.calibration), n_views=args.views)
    r, c = display.grid_shape(args.views)
    big = replace(cfg, n_views=args.preset_views)
    lent = {"calibration": cal, "panel": (pw, ph)}
    cases = [  # (label, views, layout, options)
        (f"grid {c}x{r}", cfg, "grid", {}),
        (f"quilt {c}x{r} (tiles = views)", cfg, "quilt", {"quilt": display.QuiltSpec(c, r)}),
        ("quilt portrait preset 8x6 at 3360x3360", cfg, "quilt", {"quilt": display.QUILT_PRESETS["portrait"]}),
        ("rgbd (colour | depth, no views)", cfg, "rgbd", {}),
        (f"lenticular {pw}x{ph}, nearest view", cfg, "lenticular", lent),
        (f"lenticular {pw}x{ph}, blend of two", cfg, "lenticular", {**lent, "blend": True}),
        ("grid {1}x{0}".format(*display.grid_shape(big.n_views)), big, "grid", {}),
        ("quilt 16in preset 5x9 at 4096x4096", big, "quilt", {"quilt": display.QUILT_PRESETS["16in"]}),
    ]
    h, w = depth.shape
    log(f"# display layouts at {w}x{h}: the layout alone and render + layout")
    views: dict[int, Any] = {}
    rows: list[dict[str, Any]] = []
    for label, vc, name, opts in cases:
        if vc.n_views not in views:
            views[vc.n_views] = mv.warp_views(color, depth, vc).views
            if vc.n_views != cfg.n_views:
                med = statistics.median(time_host(lambda: mv.warp_views(color, depth, vc), 1, args.iters))
                rows.append({"what": f"render {vc.n_views} views", "ms_per_frame": round(1000 * med, 1),
                             "fps": round(1 / med, 3), "iters": args.iters})
                log(f"  render {vc.n_views} views: {1000 * med:.1f} ms/frame")
        lay = display.make_layout(name, vc, **opts)
        lay.outputs("bench.mkv", (w, h))  # the lenticular subpixel maps are built here once, as for a file
        vs = views[vc.n_views]
        pack = (lambda: lay.frames(color, depth)) if name == "rgbd" else (lambda: lay.pack(vs))
        pt = statistics.median(time_host(pack, 1, args.iters))
        med = statistics.median(time_host(lambda: lay.frames(color, depth), 1, args.iters))
        what = label if name == "rgbd" else f"render {vc.n_views} views + {label}"
        rows.append({"what": what, "ms_per_frame": round(1000 * med, 1), "fps": round(1 / med, 3),
                     "iters": args.iters, "pack_ms": round(1000 * pt, 1), "frame_size": list(pack()[0].shape[1::-1])})
        log(f"  {what}: {1000 * med:.1f} ms/frame (layout alone {1000 * pt:.1f} ms)")
    return rows


def _result(args: argparse.Namespace, w: int, h: int, holes: float, load_before: tuple[float, float, float],
            rows: list[dict[str, Any]], inf: dict[str, Any]) -> dict[str, Any]:
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
        "note": "renderer: NumPy, single thread (torch rows: multiview_torch, same views); "
                "render_speed_ratio = renderer frames/s / this row's frames/s; "
                "pack_ms: the layout alone, from views rendered beforehand",
        "rows": rows,
    }


def markdown_table(result: dict[str, Any]) -> str:
    lines = ["| stage | ms/frame | frames/s | layout alone (ms) | renderer speed / this |", "|---|---|---|---|---|"]
    for r in result["rows"]:
        pack = f"{r['pack_ms']:.1f}" if "pack_ms" in r else ""
        what = r["what"].replace("|", "\\|")
        lines.append(f"| {what} | {r['ms_per_frame']:.1f} | {r['fps']:.2f} | {pack} "
                     f"| {r['render_speed_ratio']:.2f} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python tools/bench.py views", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--views", type=int, default=8, help="number of views (default: %(default)s)")
    p.add_argument("--size", default="960x540", help="WIDTHxHEIGHT (default: %(default)s)")
    p.add_argument("--baseline", type=float, default=32.0, help="pixels between extreme views (default: %(default)s)")
    p.add_argument("--zero-parallax", type=float, default=0.5, help="normalised depth that does not move")
    p.add_argument("--model", default="igde-small", help="variant to compare with (default: %(default)s)")
    p.add_argument("--backends",
                   help="comma-separated infer setups, or none (default: onnxruntime if available, torch)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for inference")
    p.add_argument("--iters", type=int, default=10, help="timed renderer iterations (default: %(default)s)")
    p.add_argument("--infer-iters", type=int, default=3, help="timed inference iterations (default: %(default)s)")
    p.add_argument("--torch", action=argparse.BooleanOptionalAction, default=True,
                   help="also time the PyTorch renderer on the CPU and, if there is one, the CUDA GPU (default: on)")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="CPU threads for the torch renderer (0: PyTorch's default; default: %(default)s, "
                        "like NumPy's one)")
    p.add_argument("--layouts", action="store_true", help="also time every display layout (igde_stream.display)")
    p.add_argument("--preset-views", type=int, default=45, help="--layouts: views for the 16in quilt preset "
                   "(default: %(default)s)")
    p.add_argument("--panel", default="3840x2160", help="--layouts: lenticular panel (default: %(default)s)")
    p.add_argument("--calibration", default="docs/lenticular-calibration.json",
                   help="--layouts: lenticular calibration; its n_views is set to --views (default: %(default)s)")
    p.add_argument("--json", default="benchmarks/views.json", help="output JSON (default: %(default)s)")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(argv)
    result, status = run_or_status("views", lambda: run(args, log=log))
    if result is None:
        return status
    print(f"\n{result['views']} views at {result['size'][0]}x{result['size'][1]} vs {result['model']} "
          f"({result['weights'] or 'not run'}) on {result['device']} ({result['cpu_count']} CPUs, load "
          f"{result['loadavg_1min_before_after'][0]} -> {result['loadavg_1min_before_after'][1]}), {result['date']}")
    print(markdown_table(result))
    save_json(args.json, result)
    return 0
