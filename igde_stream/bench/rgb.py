"""8-bit YUV colour to the model's RGB: swscale's routes, OpenCV / NumPy ones and the reader's, side by side.

``python tools/bench.py rgb [--sizes 1920x1080,960x540] [--rounds 25] [--json benchmarks/rgb-cpu.json]``

Frames: flat 64 x 64 patches of random colours and two photographs (scikit-image's astronaut and
chelsea, resized), made BT.709 limited-range 4:2:0 in NumPy (chroma the mean of each 2 x 2 block), then
passed through lossless x264 (qp 0) and decoded: an H.264 frame, tagged as every decoded H.264 is
(chroma location left). Plus the same at 720x576 in BT.601 (tagged SMPTE 170M).

Error: each route's RGB against the BT.709 / BT.601 arithmetic in float64 on the decoded planes, with
chroma interpolated bilinearly at its sited position (left: on the even luma columns, between two luma
rows), unrounded, so a perfectly rounded conversion is off by at most 0.5 (about 0.25 on average).
Flat patches are scored 8 pixels in from their edges. Time: milliseconds a frame, wall clock and CPU
(every thread's), the median of ``--rounds``, the least of ``--repeat`` runs (a shared machine's load
only adds); each route's ``VideoReformatter`` reused as the reader reuses its own, with swscale's threads
left as the reader leaves them; the routes timed round by round in turn on the astronaut frame.
``reader`` is ``stream.rgb.colour_rgb`` itself.
"""

from __future__ import annotations

import argparse
import io
import os
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from .common import device_name, loadavg_before_after, log, parse_size, run_or_status, save_json, stamp, versions

KR_KB = {709: (0.2126, 0.0722), 601: (0.299, 0.114)}
BIL, FULL, ACC, BITEXACT = 0x2, 0x2000, 0x40000, 0x80000
KERNELS = {"POINT": 0x10, "FAST_BILINEAR": 0x1, "BICUBIC": 0x4, "AREA": 0x20, "LANCZOS": 0x200}


def yuv420(rgb: np.ndarray, matrix: int) -> tuple[np.ndarray, ...]:
    """H x W x 3 uint8 RGB -> limited-range Y, U, V uint8 planes (chroma the mean of each 2 x 2 block)."""
    kr, kb = KR_KB[matrix]
    r, g, b = np.moveaxis(rgb.astype(float) / 255, -1, 0)
    y = kr * r + (1 - kr - kb) * g + kb * b
    h, w = y.shape
    u, v = ((c / (2 * (1 - k))).reshape(h // 2, 2, w // 2, 2).mean((1, 3)) for c, k in ((b - y, kb), (r - y, kr)))
    return tuple(np.clip(np.rint(a), 0, 255).astype(np.uint8) for a in (16 + 219 * y, 128 + 224 * u, 128 + 224 * v))


def h264_frame(planes: tuple[np.ndarray, ...], space: int) -> Any:
    """The planes through lossless x264 (qp 0) and back: a decoded H.264 frame tagged ``space``, limited."""
    import av

    y = planes[0]
    f = av.VideoFrame(y.shape[1], y.shape[0], "yuv420p")
    for p, a in zip(f.planes, planes):
        np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, :p.width] = a
    f.colorspace, f.color_range, f.pts, f.time_base = space, 1, 0, Fraction(1, 25)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = y.shape[1], y.shape[0], "yuv420p"
        s.codec_context.colorspace, s.codec_context.color_range = space, 1
        s.options = {"qp": "0", "preset": "ultrafast"}
        for pkt in [*s.encode(f), *s.encode()]:
            c.mux(pkt)
    buf.seek(0)
    with av.open(buf) as c:
        out = next(c.decode(video=0))
    if not all(np.array_equal(_plane(p), a) for p, a in zip(out.planes, planes)):
        raise RuntimeError("lossless x264 did not give the planes back")
    return out


def _plane(p: Any, dtype: str = "u1") -> np.ndarray:
    return np.frombuffer(p, dtype).reshape(p.height, p.line_size // np.dtype(dtype).itemsize)[:, :p.width]


def _up2(c: np.ndarray, axis: int, cosited: bool) -> np.ndarray:
    """2x bilinear interpolation along ``axis``; samples on the even positions (cosited) or between two."""
    c = np.moveaxis(c, axis, 0)
    prev, nxt = np.concatenate([c[:1], c[:-1]]), np.concatenate([c[1:], c[-1:]])
    out = np.empty((2 * c.shape[0], *c.shape[1:]))
    out[0::2], out[1::2] = (c, (c + nxt) / 2) if cosited else (0.75 * c + 0.25 * prev, 0.75 * c + 0.25 * nxt)
    return np.moveaxis(out, 0, axis)


def reference(planes: tuple[np.ndarray, ...], matrix: int) -> np.ndarray:
    """BT.709 / BT.601 limited range -> RGB levels in float64, unrounded; chroma sited left (H.264's default)."""
    y, u, v = (a.astype(float) for a in planes)
    u, v = (_up2(_up2(c, 0, False), 1, True) for c in (u, v))
    y, u, v = (y - 16) / 219, (u - 128) / 224, (v - 128) / 224
    kr, kb = KR_KB[matrix]
    r, b = y + 2 * (1 - kr) * v, y + 2 * (1 - kb) * u
    g = (y - kr * r - kb * b) / (1 - kr - kb)
    return np.clip(np.stack([r, g, b], -1) * 255, 0, 255)


def _affine(matrix: int) -> np.ndarray:
    """3 x 4: [Y U V 1] limited-range codes -> RGB levels (for ``cv2.transform``)."""
    kr, kb = KR_KB[matrix]
    kg = 1 - kr - kb
    m = np.array([[1, 0, 2 * (1 - kr)], [1, -2 * (1 - kb) * kb / kg, -2 * (1 - kr) * kr / kg], [1, 2 * (1 - kb), 0]])
    m = m * np.array([255 / 219, 255 / 224, 255 / 224])
    return np.hstack([m, (-m @ np.array([16, 128, 128]))[:, None]])


def _sws(flags: int) -> Callable[[Any, Any], np.ndarray]:
    return lambda f, r: r.reformat(f, format="rgb24", interpolation=flags).to_ndarray()


def _matrix(f: Any) -> int:
    return 709 if f.colorspace == 1 else 601


def _yuv444_transform(f: Any, r: Any) -> np.ndarray:
    """swscale enlarges the chroma (8 bits, rounded), OpenCV applies the matrix."""
    import cv2

    g = r.reformat(f, format="yuv444p", interpolation=BIL | ACC)
    return cv2.transform(cv2.merge([_plane(p) for p in g.planes]), _affine(_matrix(f)))


def _yuv444p16_transform(f: Any, r: Any) -> np.ndarray:
    """swscale enlarges the chroma to 16 bits, OpenCV applies the matrix in float32, NumPy rounds."""
    import cv2

    g = r.reformat(f, format="yuv444p16le", interpolation=BIL | ACC)
    m = _affine(_matrix(f))
    m[:, :3] /= 256
    x = cv2.transform(cv2.merge([_plane(p, "<u2") for p in g.planes]).astype(np.float32), m)
    return np.rint(np.clip(x, 0, 255, out=x), out=x).astype(np.uint8)


def _cv2_resize_transform(f: Any, r: Any) -> np.ndarray:
    """OpenCV enlarges the chroma in float32 (bilinear, centre-sited: not H.264's left siting), then the matrix."""
    import cv2

    y, u, v = (_plane(p) for p in f.planes[:3])
    size = (y.shape[1], y.shape[0])
    uv = [cv2.resize(c.astype(np.float32), size, interpolation=cv2.INTER_LINEAR) for c in (u, v)]
    x = cv2.transform(cv2.merge([y.astype(np.float32), *uv]), _affine(_matrix(f)))
    return np.rint(np.clip(x, 0, 255, out=x), out=x).astype(np.uint8)


def routes() -> dict[str, Callable[[Any, Any], np.ndarray]]:
    from ..stream.rgb import colour_rgb

    out = {
        "reader (colour_rgb)": colour_rgb,
        "default: BILINEAR (ffmpeg -pix_fmt rgb24)": _sws(BIL),
        "exact: BILINEAR|FULL_CHR_H_INT|ACCURATE_RND": _sws(BIL | FULL | ACC),
        "BILINEAR|ACCURATE_RND": _sws(BIL | ACC),
        "BILINEAR|FULL_CHR_H_INT": _sws(BIL | FULL),
        "BILINEAR|BITEXACT": _sws(BIL | BITEXACT),
        "exact|BITEXACT": _sws(BIL | FULL | ACC | BITEXACT),
        **{f"{k}|FULL_CHR_H_INT|ACCURATE_RND": _sws(v | FULL | ACC) for k, v in KERNELS.items()},
        "gbrp BILINEAR|ACCURATE_RND, to_ndarray": lambda f, r: r.reformat(f, format="gbrp",
                                                                             interpolation=BIL | ACC).to_ndarray(),
        "yuv444p (swscale) + cv2.transform": _yuv444_transform,
        "yuv444p16le (swscale) + cv2.transform float32": _yuv444p16_transform,
        "cv2.resize chroma float32 + cv2.transform": _cv2_resize_transform,
    }
    return out


def _patches(w: int, h: int, p: int = 64) -> tuple[np.ndarray, np.ndarray]:
    pal = np.random.default_rng(1).integers(0, 256, (h // p + 1, w // p + 1, 3)).astype(np.uint8)
    img = np.kron(pal, np.ones((p, p, 1), np.uint8))[:h, :w]
    inside = np.zeros((h, w), bool)
    for i in range(0, h, p):
        for j in range(0, w, p):
            inside[i + 8:i + p - 8, j + 8:j + p - 8] = True
    return img, inside


def _content(name: str, w: int, h: int) -> tuple[np.ndarray, np.ndarray | None]:
    import cv2

    if name == "flat":
        return _patches(w, h)
    try:
        import skimage.data
    except ImportError:
        raise ValueError("the photographs come from scikit-image: pip install scikit-image") from None
    img = getattr(skimage.data, name)()
    small = w * h < img.shape[0] * img.shape[1]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if small else cv2.INTER_CUBIC), None


def errors(table: dict[str, Callable], size: tuple[int, int], matrix: int) -> list[dict[str, Any]]:
    import av

    rows = []
    for content in ("flat", "astronaut", "chelsea"):
        img, inside = _content(content, *size)
        planes = yuv420(img, matrix)
        frame = h264_frame(planes, 1 if matrix == 709 else 6)
        want = reference(planes, matrix)
        for name, route in table.items():
            err = np.abs(route(frame, av.video.reformatter.VideoReformatter()).astype(float) - want)
            err = err if inside is None else err[inside]
            rows.append({"size": f"{size[0]}x{size[1]}", "matrix": f"BT.{matrix}", "content": content, "route": name,
                         "mean": round(float(err.mean()), 3), "p99": round(float(np.percentile(err, 99)), 2),
                         "max": round(float(err.max()), 2)})
    return rows


def timings(table: dict[str, Callable], size: tuple[int, int], rounds: int) -> dict[str, dict[str, float]]:
    """Per route: wall-clock and CPU ms a frame (process time: every thread's), medians of ``rounds``."""
    import time

    import av

    frame = h264_frame(yuv420(_content("astronaut", *size)[0], 709), 1)
    kept = {name: av.video.reformatter.VideoReformatter() for name in table}
    for name, route in table.items():
        route(frame, kept[name])
    spent: dict[str, list[tuple[float, float]]] = {name: [] for name in table}
    for _ in range(rounds):
        for name, route in table.items():
            t0, c0 = time.perf_counter(), time.process_time()
            route(frame, kept[name])
            spent[name].append((time.perf_counter() - t0, time.process_time() - c0))
    return {name: {"wall": round(1000 * float(np.median([w for w, _ in t])), 2),
                   "cpu": round(1000 * float(np.median([c for _, c in t])), 2)} for name, t in spent.items()}


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    import av

    before = os.getloadavg()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    if any(w % 2 or h % 2 for w, h in sizes):
        raise ValueError(f"--sizes {args.sizes}: 4:2:0 frames need even widths and heights")
    table = routes()
    ms, runs, rows = {}, {}, []
    for size in sizes:
        key = f"{size[0]}x{size[1]}"
        runs[key] = []
        for i in range(args.repeat):
            log(f"timing {key}, run {i + 1} of {args.repeat} (1-minute load {os.getloadavg()[0]:.1f}) ...")
            runs[key].append(timings(table, size, args.rounds))
        ms[key] = {name: {k: min(r[name][k] for r in runs[key]) for k in ("wall", "cpu")} for name in table}
    for size, matrix in [*((s, 709) for s in sizes), ((720, 576), 601)]:
        log(f"errors {size[0]}x{size[1]} BT.{matrix} ...")
        rows += errors(table, size, matrix)
    return {**stamp("rgb", argv), "device": device_name(None), "versions": {**versions(), "av": av.__version__},
            "rounds": args.rounds, "repeat": args.repeat, "ms_per_frame": ms, "runs": runs, "errors": rows,
            "loadavg_1min_before_after": loadavg_before_after(before)}


def report(result: dict[str, Any]) -> str:
    """The table: per route, ms a frame at each size, then mean / max error on flat and photo content."""
    ms = result["ms_per_frame"]
    lines = []
    for (size, matrix) in dict.fromkeys((r["size"], r["matrix"]) for r in result["errors"]):
        head = f"{size} {matrix}"
        lines.append(f"\n{head:45s} {'ms wall':>8s} {'ms cpu':>7s}   {'flat mean/max':>14s} {'astronaut':>12s} "
                     f"{'chelsea':>12s}")
        for route in dict.fromkeys(r["route"] for r in result["errors"]):
            cells = [f"{r['mean']:.3f}/{r['max']:.1f}" for r in result["errors"]
                     if (r["size"], r["matrix"], r["route"]) == (size, matrix, route)]
            t = ms.get(size, {}).get(route)
            wall, cpu = ("-", "-") if t is None else (f"{t['wall']:.2f}", f"{t['cpu']:.2f}")
            lines.append(f"{route:45s} {wall:>8s} {cpu:>7s}   {cells[0]:>14s} {cells[1]:>12s} {cells[2]:>12s}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python tools/bench.py rgb", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1920x1080,960x540", help="even frame sizes, comma-separated (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=25, help="timed rounds, the median kept (default: %(default)s)")
    p.add_argument("--repeat", type=int, default=3, help="timing runs, the least median kept (default: %(default)s)")
    p.add_argument("--json", default="benchmarks/rgb-cpu.json")
    args = p.parse_args(argv)
    result, status = run_or_status("rgb", lambda: run(args, argv))
    if result is None:
        return status
    print(report(result))
    save_json(args.json, result)
    return 0
