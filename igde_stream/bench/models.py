"""Models and filters side by side: CPU ms/frame of each on the same frames, in one run.

``python tools/bench.py models --models igde-small runs/old-igde-small.pt --threads 2 --size 960x540``

The frame is a synthetic test-split frame with the real-world mix of boundary errors (``--errors``):
a select head scores only the pixels its gate finds wrong, so its cost depends on the input;
``--also-dense`` adds each model's dense form (every pixel scored) as its own entry, and
``--also-unpadded`` adds each model exported with its dense layers' growth channels as trained (the
export pads them to multiples of 16 by default: ``igde_stream.models.layout``).

Each model (a registered name with shipped weights, or a checkpoint) is exported to ONNX (an ``.onnx``
file is taken as it is, e.g. an earlier release's graph: ``git show REV:igde_stream/weights/igde-small.onnx``) and run by
ONNX Runtime with ``--threads`` intra-op threads, batch 1; the classical filters of
:mod:`igde_stream.filters` run on the same frame with OpenCV limited to the same thread count. The
timed calls are interleaved round by round (model A, model B, ..., filter X, ...), so a change in
the machine's load hits every entry alike; the median per entry is reported, and the ratio to the
first model.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .common import device_name, log, run_or_status, save_json, stamp, versions


def _structured_frame(h: int, w: int, errors: str = "mix",
                      seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A synthetic test-split frame: colour, its depth given the boundary errors ``errors`` (a preset
    of :func:`~igde_stream.data.error_type_config`, or ``none``), and the true depth. A select head's
    gated form scores the pixels its gate finds wrong, so its cost depends on them."""
    from ..data import Scene, SceneConfig, degrade, error_type_config

    f = Scene(2_000_000 + seed, SceneConfig(width=w, height=h)).render(0, 8)
    if errors == "none":
        return f.color, f.depth, f.depth
    return f.color, degrade(f.depth, error_type_config(errors), seed=seed)[0], f.depth


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    import cv2
    import onnxruntime as ort

    from ..export import export_onnx
    from ..filters import FILTERS
    from ..hole_fill import DEFAULT_FILL, HoleFill, fill_holes

    w, h = args.size
    color, depth, gt = _structured_frame(h, w, args.errors)
    c = np.ascontiguousarray(color.transpose(2, 0, 1)[None], np.float32) / 255
    d = depth[None, None].astype(np.float32) / 255
    entries: dict[str, Callable[[], Any]] = {}
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    with tempfile.TemporaryDirectory(prefix="igde-bench-") as tmp:
        changed: dict[str, float] = {}
        for i, ref in enumerate(args.models):
            if str(ref).endswith(".onnx"):  # a graph as it is
                if not Path(ref).is_file():
                    raise FileNotFoundError(f"no such ONNX file: {ref}")
                key = f"onnx:{ref}"
                try:  # ONNX Runtime's own errors derive from Exception only
                    sess = ort.InferenceSession(str(ref), so, providers=["CPUExecutionProvider"])
                    entries[key] = lambda s=sess: s.run(None, {"color": c, "depth": d})
                    changed[key] = float(np.mean(entries[key]()[0] != d))
                except Exception as exc:
                    raise ValueError(f"{ref}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
                continue
            forms = [(dense, multiple) for dense in ((False, True) if args.also_dense else (False,))
                     for multiple in ((16, 0) if args.also_unpadded else (16,))]
            for dense, multiple in forms:
                path = export_onnx(ref, Path(tmp) / f"m{i}{'d' * dense}{multiple}.onnx", check=False,
                                   dense_head=dense, channel_multiple=multiple)
                sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
                key = f"model:{ref}" + (" (dense head)" if dense else "") + (" (unpadded)" if not multiple else "")
                entries[key] = lambda s=sess: s.run(None, {"color": c, "depth": d})
                changed[key] = float(np.mean(entries[key]()[0] != d))
            if getattr(args, "also_wide_errors", False):  # the Enhancer as the command runs it, one pass and --wide-errors
                from ..enhancer import Enhancer

                path = export_onnx(ref, Path(tmp) / f"m{i}e.onnx", check=False)
                for wide in (False, True):
                    enh = Enhancer(path, backend="onnxruntime", batch=1, quiet=True, hole_fill=False,
                                   threads=args.threads, wide_errors=wide)
                    key = f"Enhancer:{ref}" + (" --wide-errors" if wide else "")
                    entries[key] = lambda e=enh: e.enhance(color, depth)
                    changed[key] = float(np.mean(entries[key]() != depth))
        cv2.setNumThreads(args.threads)
        for name in args.filters:
            entries[f"filter:{name}"] = lambda fn=FILTERS[name]: fn(color, depth)
        if (depth == 0).any():  # the fill a zero_holes model's Enhancer runs after the model (CPU, numpy)
            entries["hole fill (after the model)"] = lambda: fill_holes(color, depth, settings=DEFAULT_FILL,
                                                                        workers=args.threads)
            entries["hole fill, window sampled every 3 px"] = lambda: fill_holes(color, depth, settings=HoleFill(),
                                                                                 workers=args.threads)
        for fn in entries.values():  # warm-up
            fn()
        times: dict[str, list[float]] = {k: [] for k in entries}
        for r in range(args.rounds):
            for k, fn in entries.items():
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
            log(f"  round {r + 1}/{args.rounds}")
    base = statistics.median(times[next(iter(times))])
    rows = [{"entry": k, "ms_per_frame": 1000 * statistics.median(v), "ratio": statistics.median(v) / base,
             "runs": len(v), **({"changed_share": changed[k]} if k in changed else {})} for k, v in times.items()]
    return {**stamp("models", args.argv), "size": [w, h], "errors": args.errors,
            "input_wrong_share": float(np.mean(depth != gt)), "hole_share": float(np.mean(depth == 0)),
            "threads": args.threads, "cpu_count": os.cpu_count(),
            "device": device_name("cpu"), "versions": versions(), "rows": rows}


def markdown_table(result: dict[str, Any]) -> str:
    first = result["rows"][0]["entry"]
    lines = [f"| entry | ms/frame | x {first} | pixels changed |", "|---|---|---|---|"]
    for r in result["rows"]:
        share = f"{100 * r['changed_share']:.1f} %" if "changed_share" in r else "-"
        lines.append(f"| {r['entry']} | {r['ms_per_frame']:.1f} | {r['ratio']:.3f} | {share} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    from ..cli import size_arg
    from ..cli_parser import count_arg as count
    from ..filters import FILTERS

    p = argparse.ArgumentParser(prog="python tools/bench.py models", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["igde-small"],
                   help="registered names, checkpoints, or .onnx files (run as they are)")
    p.add_argument("--filters", nargs="*", default=sorted(FILTERS), choices=sorted(FILTERS))
    p.add_argument("--size", type=size_arg, default=(960, 540), metavar="WxH")
    p.add_argument("--threads", type=count(1), default=2, help="ONNX Runtime and OpenCV threads (default: 2)")
    p.add_argument("--rounds", type=count(1), default=7, help="timed rounds; the median counts (default: 7)")
    p.add_argument("--errors", default="mix",
                   help="boundary errors of the input depth: a preset (paper, mix, soft, ...) or none (default: %(default)s)")
    p.add_argument("--also-dense", action="store_true",
                   help="also time each model exported with its select head's dense form (every pixel scored)")
    p.add_argument("--also-unpadded", action="store_true",
                   help="also time each model exported with its dense layers' channels as trained (not padded to "
                        "multiples of 16: igde_stream.models.layout)")
    p.add_argument("--also-wide-errors", action="store_true",
                   help="also time each model through an Enhancer, one pass and with wide_errors (--wide-errors)")
    p.add_argument("--json", help="write the result as JSON here")
    args = p.parse_args(argv)
    args.argv = list(argv)
    result, status = run_or_status("models", lambda: run_benchmark(args))
    if result is None:
        return status
    print(f"\n{result['size'][0]}x{result['size'][1]}, {args.threads} threads, {result['device']}, {result['date']}")
    print(markdown_table(result))
    if args.json:
        save_json(args.json, result)
    return 0
