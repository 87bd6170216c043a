"""Inference benchmark: backend x precision x batch x resolution -> ms/frame, frames/s, peak memory.

``python tools/bench.py infer --backends torch,onnxruntime --model igde-small --sizes 960x540 --batch 1``

A setup is ``backend[:precision[+graph]]``: ``torch:fp32``, ``torch:fp16+graph``, ``onnxruntime``,
``tensorrt:fp16``. Every setup runs the same weights (the shipped ones, or a seeded random init when
none are shipped, which is said in the output); ONNX Runtime and TensorRT get an ONNX exported from
them unless ``--onnx`` is given. Times are host to host (NumPy in, NumPy out: what ``Enhancer``
sees), the median over the timed iterations; the setups are timed round by round in turn (setup A,
setup B, ..., A, ...) at each size and batch, after every one's warm-up, so that a change in the
machine's load hits every setup alike; the ratio column compares each setup with the first one at
the same size and batch. CPU s/frame is the process's CPU time per frame of the timed calls: on a
shared machine it shows the cost that wall time hides (wall time grows with other people's load).
Peak memory is each setup's alone: it is built and run (its warm-up) first by itself, then built
again for the interleaved timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..cli_parser import count_arg as count
from ..errors import IGDEError
from .common import counts, device_name, log, parse_size, run_or_status, save_json, stamp, versions


# ---------------------------------------------------------------- timing and memory helpers


def time_host(fn: Callable[[], Any], warmup: int = 2, iters: int = 10, min_time: float = 0.0,
              max_time: float = 60.0) -> list[float]:
    """Wall-clock seconds of ``fn()`` (which must block until its result is ready), after warm-up.

    Runs at least ``iters`` times and until ``min_time`` seconds have passed, at most ``max_time``.
    """
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < iters or (time.perf_counter() - start) < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > max_time and times:
            break
    return times


def time_interleaved(fns: list[Callable[[], Any]], warmup: int = 2, iters: int = 10, min_time: float = 0.0,
                     max_time: float = 60.0) -> list[tuple[list[float], list[float]]]:
    """(wall-clock, process CPU) seconds of each call of each of ``fns`` (each must block until its
    result is ready), after every one's warm-up, timed round by round (fns[0], fns[1], ..., fns[0],
    ...) so that a change in the machine's load hits every one alike. Runs at least ``iters`` rounds
    and until ``min_time`` seconds have passed, at most ``max_time``."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    wall: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    start = time.perf_counter()
    while len(wall[0]) < iters or (time.perf_counter() - start) < min_time:
        for fn, w, c in zip(fns, wall, cpu):
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            w.append(time.perf_counter() - t0)
            c.append(time.process_time() - c0)
        if time.perf_counter() - start > max_time:
            break
    return list(zip(wall, cpu))


def time_cuda(fn: Callable[[], Any], warmup: int = 3, iters: int = 20, min_time: float = 0.0,
              max_time: float = 30.0) -> list[float]:
    """Seconds per call of ``fn()`` measured with CUDA events on the current stream, after warm-up."""
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < iters or (time.perf_counter() - start) < min_time:
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) / 1000.0)
        if time.perf_counter() - start > max_time:
            break
    return times


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):  # not Linux: fall back to the lifetime peak
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakRSS:
    """Context manager sampling the process resident set size every few ms; ``.peak`` in bytes."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakRSS":
        self.peak = _rss_bytes()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def structured_frames(n: int, height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Test frames when no dataset is at hand: colour N x H x W x 3 uint8 and depth N x H x W uint8.

    Smooth slanted background plus random rectangles and discs at constant depth, each with a
    colour texture (stripes / noise) that the depth does not have, so edges and texture both exist.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    color = np.empty((n, height, width, 3), np.uint8)
    depth = np.empty((n, height, width), np.uint8)
    for i in range(n):
        d = 40 + 60 * (yy / height) + 20 * (xx / width) * rng.uniform(-1, 1)
        c = np.stack([128 + 60 * np.sin(xx / rng.uniform(3, 15) + k) for k in range(3)], -1)
        for _ in range(12):
            cy, cx = rng.uniform(0, height), rng.uniform(0, width)
            r = rng.uniform(0.04, 0.2) * min(height, width)
            if rng.random() < 0.5:
                m = (np.abs(yy - cy) < r) & (np.abs(xx - cx) < r * rng.uniform(0.3, 2))
            else:
                m = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
            d[m] = rng.uniform(60, 250)
            tex = rng.uniform(0, 255, 3) + 50 * np.sin((xx + yy * rng.uniform(-1, 1)) / rng.uniform(2, 8))[..., None]
            c[m] = tex[m] + rng.normal(0, 10, (int(m.sum()), 3))
        color[i] = np.clip(c, 0, 255).astype(np.uint8)
        depth[i] = np.clip(d, 0, 255).astype(np.uint8)
    return color, depth


def to_inputs(color: np.ndarray, depth: np.ndarray, peak: float = 255.0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 frames -> float32 model inputs N x 3 x H x W and N x 1 x H x W in [0, 1]."""
    c = np.ascontiguousarray(color.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
    d = np.ascontiguousarray(depth[:, None], dtype=np.float32) / peak
    return c, d


# ---------------------------------------------------------------- the benchmark


@dataclass(frozen=True)
class Setup:
    """One benchmarked configuration: ``backend[:precision[+graph]]``."""

    backend: str
    precision: str = "fp32"
    graph: bool = False

    @classmethod
    def parse(cls, spec: str) -> "Setup":
        backend, _, rest = spec.partition(":")
        precision, _, extra = (rest or "fp32").partition("+")
        if backend not in ("torch", "onnxruntime", "tensorrt"):
            raise ValueError(f"unknown backend {backend!r} in {spec!r}")
        if precision not in ("fp32", "fp16") or extra not in ("", "graph"):
            raise ValueError(f"bad setup {spec!r}; use backend[:fp32|fp16[+graph]]")
        if backend == "tensorrt" and ":" not in spec:
            precision = "fp16"
        return cls(backend, precision, extra == "graph")

    @property
    def label(self) -> str:
        return f"{self.backend}:{self.precision}" + ("+graph" if self.graph else "")


@dataclass
class Row:
    setup: str
    device: str
    width: int
    height: int
    batch: int
    ms_per_frame: float
    fps: float
    ms_per_batch_median: float
    iters: int
    peak_mem_mb: float
    mem_kind: str
    ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _make_backend(setup: Setup, args: argparse.Namespace, torch_model: Any, onnx_path: Path | None) -> Any:
    from ..backends import create_backend

    if setup.backend == "torch":
        return create_backend("torch", model=torch_model, device=args.device, precision=setup.precision,
                              cuda_graph=setup.graph, channels_last=setup.precision == "fp16",
                              threads=args.threads)
    if setup.backend == "onnxruntime":
        return create_backend("onnxruntime", model=str(onnx_path), device=args.device, threads=args.threads)
    return create_backend("tensorrt", model=str(onnx_path), device="cuda", engine=args.engine)


def run_benchmark(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    import torch

    from ..models import create_model, pretrained_path, weights_hash

    load_at_start = [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None
    setups = [Setup.parse(s) for s in args.backends.split(",")]
    if len({s.label for s in setups}) < len(setups):
        raise ValueError(f"setups {args.backends!r}: each setup once")
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    batches = counts(args.batch, "batch")
    if args.iters < 1 or args.warmup < 0:
        raise IGDEError(f"iters {args.iters}, warmup {args.warmup}: need iters >= 1 and warmup >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    shipped = pretrained_path(args.model).is_file()
    if shipped and not args.random_init:
        model, weights = create_model(args.model, pretrained=True), "shipped"
    else:
        torch.manual_seed(0)
        model, weights = create_model(args.model), "random init (seed 0): no shipped weights" if not shipped else "random init (seed 0)"
    model.eval()
    onnx_path = Path(args.onnx) if args.onnx else None
    tmp = tempfile.TemporaryDirectory()
    if onnx_path is None and any(s.backend != "torch" for s in setups):
        from ..export import export_onnx

        onnx_path = Path(tmp.name) / f"{args.model}.onnx"
        export_onnx(model, onnx_path)
    rows: list[Row] = []
    cuda = (args.device or "cpu").startswith("cuda")
    shapes = [(w, h, n) for w, h in sizes for n in batches]
    peaks: dict[tuple[str, int, int, int], tuple[float, str]] = {}
    try:
        # 1. each setup by itself: its build and its warm-up calls at every size and batch -> its peak memory
        for setup in setups:
            with PeakRSS() as mem_build:
                backend = _make_backend(setup, args, model, onnx_path)
            log(f"# {setup.label}: {getattr(backend, 'description', backend.name)}")
            for w, h, n in shapes:
                c, d = to_inputs(*structured_frames(n, h, w, seed=1))
                if cuda:
                    torch.cuda.reset_peak_memory_stats()
                with PeakRSS() as mem:
                    for _ in range(max(1, args.warmup)):
                        backend.run(c, d)
                peaks[(setup.label, w, h, n)] = (torch.cuda.max_memory_allocated() / 2**20, "cuda_allocated") if cuda \
                    else (max(mem.peak, mem_build.peak) / 2**20, "process_rss")
            del backend, c, d
        # 2. the times: every setup built again, then timed round by round in turn at each size and batch
        backends = [_make_backend(setup, args, model, onnx_path) for setup in setups]
        for w, h, n in shapes:
            c, d = to_inputs(*structured_frames(n, h, w, seed=1))
            timed = time_interleaved([lambda b=b: b.run(c, d) for b in backends], args.warmup, args.iters,
                                     args.min_time)
            for setup, (times, cpu) in zip(setups, timed):
                cpu_s = statistics.fmean(cpu) / n
                med = statistics.median(times)
                peak, kind = peaks[(setup.label, w, h, n)]
                row = Row(setup.label, args.device or "cpu", w, h, n, 1000 * med / n, n / med, 1000 * med,
                          len(times), round(peak, 1), kind, extra={"cpu_s_per_frame": round(cpu_s, 3)})
                rows.append(row)
                log(f"  {setup.label} {w}x{h} b{n}: {row.ms_per_frame:.1f} ms/frame, {row.fps:.2f} fps, "
                    f"CPU {cpu_s:.2f} s/frame, peak {row.peak_mem_mb:.0f} MB")
        del backends
    finally:
        tmp.cleanup()
    order = {s.label: i for i, s in enumerate(setups)}
    rows.sort(key=lambda r: order[r.setup])  # one setup's rows together, as in the table
    base = setups[0].label
    for r in rows:
        ref = next(x for x in rows if x.setup == base and (x.width, x.height, x.batch) == (r.width, r.height, r.batch))
        r.ratio = round(r.fps / ref.fps, 3)
    return {
        **stamp("infer", args.argv),
        "model": args.model,
        "weights": weights,
        "weights_hash": weights_hash(model),
        "device": device_name(args.device),
        "threads": args.threads or torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_avg_at_start": load_at_start,
        "versions": versions(),
        "baseline": base,
        "rows": [asdict(r) for r in rows],
    }


def markdown_table(result: dict[str, Any]) -> str:
    """The rows as a Markdown table (ratio: frames/s relative to the baseline setup)."""
    lines = [
        f"| setup | size | batch | ms/frame | frames/s | x {result['baseline']} | CPU s/frame | peak MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['setup']} | {r['width']}x{r['height']} | {r['batch']} | {r['ms_per_frame']:.1f} | "
            f"{r['fps']:.2f} | {r['ratio']:.2f} | {r['extra'].get('cpu_s_per_frame', float('nan')):.2f} | "
            f"{r['peak_mem_mb']:.0f} ({r['mem_kind']}) |"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python tools/bench.py infer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="torch,onnxruntime",
                   help="comma-separated setups backend[:fp32|fp16[+graph]] (default: %(default)s)")
    p.add_argument("--model", default="igde-small", help="registered variant (default: %(default)s)")
    p.add_argument("--onnx", help="ONNX file for onnxruntime / tensorrt (default: exported from the same weights)")
    p.add_argument("--engine", help="TensorRT engine file (default: built or found in engines/)")
    p.add_argument("--sizes", default="960x540", help="comma-separated WIDTHxHEIGHT (default: %(default)s)")
    p.add_argument("--batch", default="1", help="comma-separated batch sizes (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    p.add_argument("--threads", type=count(1), default=None, help="CPU threads for torch and onnxruntime")
    p.add_argument("--warmup", type=count(0), default=2, help="untimed calls per setup first (default: %(default)s)")
    p.add_argument("--iters", type=count(1), default=5, help="timed rounds at least (default: %(default)s)")
    p.add_argument("--min-time", type=float, default=0.0, help="timed seconds at least per row")
    p.add_argument("--random-init", action="store_true", help="seeded random weights even if shipped ones exist")
    p.add_argument("--json", help="write the result as JSON here")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(argv)
    result, status = run_or_status("infer", lambda: run_benchmark(args, log=log))
    if result is None:
        return status
    print(f"\n{result['model']} ({result['weights']}) on {result['device']}, {result['date']}, "
          f"load average at start {result['load_avg_at_start']}")
    print(markdown_table(result))
    if args.json:
        save_json(args.json, result)
    return 0
