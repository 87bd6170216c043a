"""Stream benchmark: decode only, inference only and end to end (frames/s), with peak memory.

``python tools/bench.py stream --sizes 960x540,1920x1080 --frames 100,1000 --model igde-small``

For each size x frame count a clip is written once (colour: H.264 in MP4; depth: FFV1 gray in MKV;
30000/1001 fps; a few structured frames that move), then each mode runs in a fresh Python process so
that its peak resident memory (``ru_maxrss``: imports, model and the run) belongs to that run alone:

- ``decode``: the stream reader threads + timestamp pairing, nothing else;
- ``infer``: ``Enhancer.enhance`` on batches already in memory (``--infer-frames`` frames; frames/s
  is a steady-state rate, so it does not need the whole clip);
- ``e2e``: ``enhance_file`` (decode, pair, enhance, FFV1 encode, rename), timed after the model is
  built and warmed up, as inference is.

Targets (issue 4): end to end >= 85 % of inference-only frames/s (I/O hidden behind inference), and
the end-to-end peak memory for the longest clip within 10 % of the shortest. Figures are printed and
saved (default ``benchmarks/stream.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

from ..cli_parser import count_arg as count
from ..errors import IGDEError
from .common import (counts as parse_counts, device_name, loadavg_before_after, log, parse_size,
                     run_or_status, save_json, stamp, versions)

MODES = ("decode", "infer", "e2e")
RATE = Fraction(30000, 1001)


def write_bench_clip(folder: Path, size: tuple[int, int], frames: int, seed: int = 1) -> dict[str, Path]:
    """Colour (H.264 MP4) + depth (FFV1 gray MKV) of ``frames`` frames at ``size``; cached in ``folder``."""
    import av
    import numpy as np

    from .infer import structured_frames

    w, h = size
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"color": folder / f"color_{w}x{h}_{frames}.mp4", "depth": folder / f"depth_{w}x{h}_{frames}.mkv"}
    if all(p.exists() for p in paths.values()):
        return paths
    base_c, base_d = structured_frames(8, h, w, seed=seed)
    tb = 1 / RATE
    outs = {}
    for key, codec, fmt, opts in (("color", "libx264", "yuv420p", {"preset": "veryfast", "crf": "18"}),
                                  ("depth", "ffv1", "gray", {"level": "3", "g": "1", "slicecrc": "1"})):
        c = av.open(str(paths[key]) + ".part", "w", format="mp4" if key == "color" else "matroska")
        s = c.add_stream(codec, rate=RATE, options=opts)
        s.width, s.height, s.pix_fmt = w, h, fmt
        s.time_base = s.codec_context.time_base = tb
        outs[key] = (c, s)
    try:
        for i in range(frames):
            shift = (3 * i) % w  # motion: the scene slides sideways
            for key, img, fmt in (("color", np.roll(base_c[i % 8], shift, 1), "rgb24"),
                                  ("depth", np.roll(base_d[i % 8], shift, 1), "gray")):
                c, s = outs[key]
                f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format=fmt)
                f.pts, f.time_base = i, tb
                for p in s.encode(f):
                    c.mux(p)
        for c, s in outs.values():
            for p in s.encode(None):
                c.mux(p)
    finally:
        for c, _ in outs.values():
            c.close()
    for p in paths.values():
        os.replace(str(p) + ".part", p)
    return paths


def resolve_model(model: str, folder: Path) -> tuple[str, str]:
    """(model reference for Enhancer, description of the weights)."""
    if Path(model).suffix in (".pt", ".onnx", ".engine") or os.sep in model:
        return model, f"file {model}"
    from ..models import pretrained_path

    if pretrained_path(model).is_file():
        return model, "shipped"
    import torch

    from ..models import create_model, save_checkpoint

    torch.manual_seed(0)
    path = folder / f"{model}-random-seed0.pt"
    if not path.exists():
        save_checkpoint(path, create_model(model))
    return str(path), "random init (seed 0): no shipped weights"


# ---------------------------------------------------------------- one mode, in its own process


def _worker(cfg: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    from ..stream.stages import ByteQueue, _Crew, _read
    from ..stream.pairing import pair_frames
    from ..stream.reader import VideoReader

    mode = cfg["mode"]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result: dict[str, Any] = {"mode": mode}
    enh = None
    if mode in ("infer", "e2e"):
        from ..enhancer import Enhancer

        opts = {k: v for k, v in cfg["enhancer"].items() if v is not None}
        enh = Enhancer(quiet=True, **opts)
        result["backend"] = enh.backend_description
        w, h = cfg["size"]
        warm_c = np.zeros((enh.batch, h, w, 3), np.uint8)
        enh.enhance(warm_c, np.zeros((enh.batch, h, w), np.uint8))  # first call allocates; not timed
    rss_ready = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if mode == "decode":
        crew = _Crew()
        cq, dq = ByteQueue(64 << 20, crew.stop), ByteQueue(64 << 20, crew.stop)
        t0 = time.perf_counter()
        with VideoReader(cfg["depth"], "depth") as d:
            with VideoReader(cfg["color"], "color", size=(d.info.width, d.info.height)) as c:
                crew.spawn("igde-read-colour", _read, c, cq, crew.stop)
                crew.spawn("igde-read-depth", _read, d, dq, crew.stop)
                n = sum(1 for _ in pair_frames(iter(cq), iter(dq), 0.5 * d.info.frame_duration, (c.path, d.path)))
                crew.join()
        if crew.failure is not None:
            raise crew.failure
        seconds = time.perf_counter() - t0
    elif mode == "infer":
        with VideoReader(cfg["depth"], "depth") as d:
            depths = [f.data for _, f in zip(range(enh.batch), d.frames())]
        with VideoReader(cfg["color"], "color") as c:
            colors = [f.data for _, f in zip(range(enh.batch), c.frames())]
        cb, db = np.stack(colors), np.stack(depths)
        calls = max(1, -(-cfg["infer_frames"] // enh.batch))
        t0 = time.perf_counter()
        for _ in range(calls):
            enh.enhance(cb, db)
        seconds = time.perf_counter() - t0
        n = calls * enh.batch
    else:
        from ..stream import enhance_file

        s = enhance_file(cfg["color"], cfg["depth"], cfg["out"], enhancer=enh, overwrite=True,
                         queue_bytes=cfg["queue_bytes"])
        n, seconds = s["frames"], s["seconds"]
        result["inference_seconds"] = s["inference_seconds"]
        os.unlink(cfg["out"])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result.update({
        "frames": n, "seconds": round(seconds, 3), "fps": round(n / seconds, 3),
        "peak_rss_mb": round(rss / 1024, 1), "rss_before_run_mb": round(rss_ready / 1024, 1),
        "rss_after_imports_mb": round(rss0 / 1024, 1),
    })
    return result


def _run_worker(cfg: dict[str, Any], timeout: float) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-m", "igde_stream.bench.stream", "--worker", json.dumps(cfg)],
                       capture_output=True, text=True, env=env, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{cfg['mode']} worker failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the benchmark


def run(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    counts = sorted(parse_counts(args.frames, "frames"))
    modes = args.modes.split(",")
    unknown = [m for m in modes if m not in MODES]
    if unknown:  # a worker runs end to end for any mode it does not know
        raise IGDEError(f"unknown mode {', '.join(map(repr, unknown))}; use a subset of {','.join(MODES)}")
    load_before = os.getloadavg()
    tmp = tempfile.TemporaryDirectory(prefix="igde-bench-stream-")
    folder = Path(args.clips) if args.clips else Path(tmp.name)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    try:
        model, weights = resolve_model(args.model, folder)
        enhancer = {"model": model, "backend": args.backend, "device": args.device, "batch": args.batch}
        for w, h in sizes:
            for n in counts:
                t0 = time.perf_counter()
                clip = write_bench_clip(folder, (w, h), n)
                log(f"# {w}x{h}, {n} frames (clip ready in {time.perf_counter() - t0:.0f} s)")
                for mode in modes:
                    cfg = {"mode": mode, "color": str(clip["color"]), "depth": str(clip["depth"]),
                           "out": str(folder / f"out_{w}x{h}_{n}.mkv"), "size": [w, h], "enhancer": enhancer,
                           "infer_frames": min(n, args.infer_frames), "queue_bytes": args.queue_mb << 20}
                    r = _run_worker(cfg, args.timeout)
                    r.update({"width": w, "height": h, "clip_frames": n})
                    rows.append(r)
                    log(f"  {mode:6s} {r['fps']:8.2f} frames/s  ({r['frames']} frames in {r['seconds']:.1f} s)  "
                        f"peak RSS {r['peak_rss_mb']:.0f} MB")
    finally:
        tmp.cleanup()
    checks = _checks(rows, counts)
    for c in checks:
        log(f"  {c['what']}: {c['value']} (target {c['target']}) {'ok' if c['ok'] else 'MISSED'}")
    return {
        **stamp("stream", args.argv),
        "device": device_name(args.device),
        "cpu_count": os.cpu_count(),
        "loadavg_1min_before_after": loadavg_before_after(load_before),
        "model": args.model, "weights": weights, "backend_asked": args.backend, "batch": args.batch,
        "versions": versions(),
        "note": ("decode: reader threads + pairing; infer: Enhancer.enhance on in-memory batches "
                 f"(min(frames, {args.infer_frames}) frames); e2e: enhance_file after model build + warm-up; "
                 "peak_rss_mb: ru_maxrss of a fresh process per row (imports + model + run)"),
        "rows": rows,
        "checks": checks,
    }


def _checks(rows: list[dict[str, Any]], counts: list[int]) -> list[dict[str, Any]]:
    out = []
    by = {(r["width"], r["height"], r["clip_frames"], r["mode"]): r for r in rows}
    for (w, h, n, mode), r in by.items():
        inf = by.get((w, h, n, "infer"))
        if mode == "e2e" and inf:
            ratio = r["fps"] / inf["fps"]
            out.append({"what": f"{w}x{h} {n} frames: end to end / inference only", "value": round(ratio, 3),
                        "target": ">= 0.85", "ok": ratio >= 0.85})
        if mode == "e2e" and r.get("inference_seconds"):
            # Same run, same machine load: the share of wall time the model was busy (1.0: I/O fully hidden).
            ratio = r["inference_seconds"] / r["seconds"]
            out.append({"what": f"{w}x{h} {n} frames: e2e time inside inference / e2e wall time",
                        "value": round(ratio, 3), "target": ">= 0.85", "ok": ratio >= 0.85})
    if len(counts) > 1:
        for w, h in {(r["width"], r["height"]) for r in rows}:
            a, b = by.get((w, h, counts[0], "e2e")), by.get((w, h, counts[-1], "e2e"))
            if a and b:
                ratio = b["peak_rss_mb"] / a["peak_rss_mb"]
                out.append({"what": f"{w}x{h}: e2e peak RSS {counts[-1]} / {counts[0]} frames",
                            "value": round(ratio, 3), "target": "<= 1.10", "ok": ratio <= 1.10})
    return out


def markdown_table(result: dict[str, Any]) -> str:
    lines = ["| size | frames | mode | frames/s | seconds | peak RSS (MB) |", "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['width']}x{r['height']} | {r['clip_frames']} | {r['mode']} | {r['fps']:.2f} | "
                     f"{r['seconds']:.1f} | {r['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python tools/bench.py stream", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="960x540,1920x1080", help="WxH list (default: %(default)s)")
    p.add_argument("--frames", default="100,1000", help="clip lengths (default: %(default)s)")
    p.add_argument("--modes", default=",".join(MODES), help="subset of decode,infer,e2e (default: all)")
    p.add_argument("--model", default="igde-small", help="name or .pt/.onnx/.engine path (default: %(default)s)")
    p.add_argument("--backend", default="auto", help="auto|onnxruntime|torch|tensorrt (default: %(default)s)")
    p.add_argument("--device", help="cpu / cuda (default: the backend's choice)")
    p.add_argument("--batch", type=count(1), default=4, help="frames per inference call (default: %(default)s)")
    p.add_argument("--infer-frames", type=count(1), default=64, help="frames timed in inference-only mode (default: %(default)s)")
    p.add_argument("--queue-mb", type=count(1), default=64, help="bytes bound of each pipeline queue in MiB (default: %(default)s)")
    p.add_argument("--clips", help="folder to keep / reuse the generated clips (default: a temporary one)")
    p.add_argument("--timeout", type=float, default=7200, help="seconds per mode (default: %(default)s)")
    p.add_argument("--json", default="benchmarks/stream.json", help="output JSON (default: %(default)s)")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(argv)
    result, status = run_or_status("stream", lambda: run(args, log=log))
    if result is None:
        return status
    print(f"\n{result['model']} ({result['weights']}), batch {result['batch']}, on {result['device']} "
          f"({result['cpu_count']} CPUs, load {result['loadavg_1min_before_after'][0]} -> "
          f"{result['loadavg_1min_before_after'][1]}), {result['date']}")
    print(markdown_table(result))
    for c in result["checks"]:
        print(f"- {c['what']}: {c['value']} (target {c['target']}): {'ok' if c['ok'] else 'MISSED'}")
    save_json(args.json, result)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(json.loads(sys.argv[2]))))
        sys.exit(0)
    sys.exit(main(sys.argv[1:]))
