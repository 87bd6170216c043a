"""Per-frame cost of reading a colour-mapped depth video (``--depth-colormap``) against reading gray
depth: ``python tools/bench_colormap.py [--size 960x540] [--frames 60] [--map inferno] [--json PATH]``.

A synthetic depth clip (a slanted floor, two moving blobs with soft edges: smooth, as an estimator's
output is) is painted in the map by OpenCV and encoded as H.264 yuv420p at crf 18 (as Video Depth
Anything writes its ``_vis.mp4``), and the same depth as gray H.264 for the baseline. Both are decoded
once into memory; then each frame's conversion is timed alone (decoding is the same for both):
``ColormapReader.read`` (swscale to BGRA with interpolated chroma, the table gather, the distance
statistics) against ``formats.depth_array`` with the limited-range stretch that gray YUV depth gets.
The first frame is reported apart; the clip is read twice, the second time with every colour of it
already in the table (a long video's case: lossy video brings new colours for a while). Figures are printed and
saved as JSON (default benchmarks/colormap-cpu-<size>.json)."""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from igde_stream.bench.common import write_text_atomic
from igde_stream.stream import colormaps
from igde_stream.stream.formats import depth_array, luma_to_full

CV = {"inferno": cv2.COLORMAP_INFERNO, "magma": cv2.COLORMAP_MAGMA, "plasma": cv2.COLORMAP_PLASMA,
      "viridis": cv2.COLORMAP_VIRIDIS, "turbo": cv2.COLORMAP_TURBO, "jet": cv2.COLORMAP_JET}


def depth_clip(n: int, w: int, h: int) -> list[np.ndarray]:
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    frames = []
    for i in range(n):
        d = 40 + 120 * yy / h + 10 * np.sin(xx / w * 6)  # a floor rising toward the camera
        for cx, cy, r, near in ((0.3 + 0.004 * i, 0.5, 0.18, 230), (0.7 - 0.003 * i, 0.35, 0.12, 190)):
            inside = np.hypot(xx - cx * w, yy - cy * h) < r * h
            d = np.where(inside, near - 20 * (yy - cy * h) / h, d)
        frames.append(np.clip(cv2.GaussianBlur(d, (0, 0), 1.5), 0, 255).astype(np.uint8))
    return frames


def encode(pictures: list[np.ndarray], fmt: str) -> list[av.VideoFrame]:
    """Encode to H.264 yuv420p (crf 18) in memory and decode again: the frames a reader gets."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as out:
        s = out.add_stream("libx264", rate=30, options={"crf": "18"})
        s.width, s.height, s.pix_fmt = pictures[0].shape[1], pictures[0].shape[0], "yuv420p"
        for i, p in enumerate(pictures):
            f = av.VideoFrame.from_ndarray(p, format=fmt).reformat(format="yuv420p")
            f.pts = i
            for pkt in s.encode(f):
                out.mux(pkt)
        for pkt in s.encode(None):
            out.mux(pkt)
    buf.seek(0)
    with av.open(buf) as c:
        return list(c.decode(video=0))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="960x540")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--map", default="inferno", choices=sorted(CV))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    depths = depth_clip(args.frames, w, h)
    mapped = encode([np.ascontiguousarray(cv2.applyColorMap(d, CV[args.map])[..., ::-1]) for d in depths], "rgb24")
    gray = encode(depths, "gray")

    colormaps.inverse.cache_clear()  # a fresh process: tables filled by this run's frames
    reader, ref = colormaps.ColormapReader(args.map, "bench"), VideoReformatter()
    t0 = time.perf_counter()
    first = reader.read(mapped[0], ref, 0)
    first_ms = (time.perf_counter() - t0) * 1e3
    times, errors = [], [np.abs(first.astype(int) - depths[0])]
    for i, f in enumerate(mapped[1:], 1):
        t0 = time.perf_counter()
        d = reader.read(f, ref, i)
        times.append((time.perf_counter() - t0) * 1e3)
        errors.append(np.abs(d.astype(int) - depths[i]))
    steady = []  # the clip again: every colour met, one gather a frame (a long video's case)
    for i, f in enumerate(mapped):
        t0 = time.perf_counter()
        reader.read(f, ref, i)
        steady.append((time.perf_counter() - t0) * 1e3)
    sws = []
    for f in mapped:
        t0 = time.perf_counter()
        colormaps.frame_keys(f, ref)
        sws.append((time.perf_counter() - t0) * 1e3)
    base = []
    for f in gray[1:]:
        t0 = time.perf_counter()
        luma_to_full(depth_array(f, chroma=False), 8)
        base.append((time.perf_counter() - t0) * 1e3)
    err = np.stack(errors)
    row = {
        "tool": "tools/bench_colormap.py", "size": args.size, "frames": args.frames, "map": args.map,
        "codec": "libx264 yuv420p crf 18", "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "python": platform.python_version(), "pyav": av.__version__,
        "opencv": cv2.__version__, "numpy": np.__version__,
        "first_frame_ms": round(first_ms, 2),
        "colormap_ms_median": round(statistics.median(times), 3),
        "colormap_ms_p90": round(float(np.percentile(times, 90)), 3),
        "colormap_known_colours_ms_median": round(statistics.median(steady), 3),
        "swscale_to_bgra_ms_median": round(statistics.median(sws), 3),
        "gray_ms_median": round(statistics.median(base), 3),
        "table": reader.label, **{k: v for k, v in reader.summary().items() if k in ("mean_distance", "far_share")},
        "depth_error_mean": round(float(err.mean()), 3), "depth_error_p99": float(np.percentile(err, 99)),
        "depth_error_max": int(err.max()),
    }
    print(f"{args.map} {args.size}, {args.frames} frames of H.264 crf 18: colour map "
          f"{row['colormap_ms_median']:.2f} ms a frame (p90 {row['colormap_ms_p90']:.2f}; first frame "
          f"{row['first_frame_ms']:.1f} ms), "
          f"{row['colormap_known_colours_ms_median']:.2f} ms once its colours are known (swscale to BGRA "
          f"{row['swscale_to_bgra_ms_median']:.2f} ms of it); gray YUV depth {row['gray_ms_median']:.2f} ms")
    print(f"depth error vs the painted depth: mean {row['depth_error_mean']:.2f}, p99 {row['depth_error_p99']:.0f}, "
          f"max {row['depth_error_max']}; pixels {row['mean_distance']:.2f} from the map, "
          f"{100 * row['far_share']:.2f} % over {colormaps.FAR:g}")
    out = args.json or Path(__file__).resolve().parents[1] / "benchmarks" / f"colormap-cpu-{args.size}.json"
    write_text_atomic(out, json.dumps(row, indent=2) + "\n")  # folders made; never half a file
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
