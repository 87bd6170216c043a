"""``igde-stream batch`` against sequential runs of the same clips, side by side in one run.

``python tools/bench_batch.py [--clips 8] [--frames 16] [--size 160x120] [--model igde-small]
[--backend onnxruntime] [--jobs 1,2] [--no-ray] [--json benchmarks/batch-cpu.json]``

The clips are synthetic (``data.write_clip``, one seed each). Modes, each writing its own folder:

- ``sequential-api``: ``enhance_file`` per clip in this process with one ``Enhancer`` (model loaded
  once): the work itself, the baseline;
- ``sequential-cli``: one ``igde-stream COLOR DEPTH -o OUT`` process per clip, one after the other
  (a shell loop);
- ``batch-jN``: ``igde-stream batch jobs.csv --jobs N`` (a local pool of N processes);
- ``batch-ray``: ``igde-stream batch jobs.csv --ray --jobs 2`` (a Ray started and stopped by the
  command), where Ray is installed.

Each mode: wall seconds (the command from start to exit), CPU seconds (user + system of this process,
or of the command and the processes it waited for: pool workers yes, Ray's own daemons no), the sum
of the clips' own seconds, and whether every output equals the ``sequential-api`` output byte for
byte and frame for frame (pixels and pts). Overheads are differences against ``sequential-api`` and
``sequential-cli``; on a shared machine the CPU seconds are the steadier figure. Figures are printed and saved (default ``benchmarks/batch-cpu.json``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import device_name, loadavg_before_after, log, parse_size, save_json, versions


def _frames(path: Path) -> tuple[list[bytes], list[int]]:
    import av

    with av.open(str(path)) as c:
        pixels, pts = [], []
        for f in c.decode(video=0):
            pixels.append(f.to_ndarray().tobytes())
            pts.append(f.pts)
    return pixels, pts


def _compare(outputs: list[Path], refs: list[Path]) -> dict[str, bool]:
    same_bytes = all(o.is_file() and o.read_bytes() == r.read_bytes() for o, r in zip(outputs, refs))
    same_frames = all(o.is_file() and _frames(o) == _frames(r) for o, r in zip(outputs, refs))
    return {"identical_bytes": same_bytes, "identical_frames": same_frames}


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _cli(*args: str) -> tuple[float, float]:
    """(wall, CPU) seconds of ``igde-stream ARGS``; CPU counts the processes it waited for (pool
    workers), not Ray's own daemons."""
    t0, c0 = time.perf_counter(), _cpu(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-m", "igde_stream", *args], capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - t0, _cpu(resource.RUSAGE_CHILDREN) - c0
    if done.returncode != 0:
        raise RuntimeError(f"igde-stream {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds, cpu


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from ..data import write_clip
    from ..stream import enhance_file
    from ..stream.pipeline import _make_enhancer

    load_before = os.getloadavg()
    w, h = parse_size(args.size)
    opts = ["--model", args.model, "--backend", args.backend, "--batch", str(args.batch), "-q"]
    clips = []
    for i in range(args.clips):
        clips.append(write_clip(work / f"clip{i}", frames=args.frames, size=(w, h), seed=1000 + i))
    log(f"# {args.clips} clips of {args.frames} frames at {w}x{h} in {work}")
    modes: dict[str, dict[str, Any]] = {}

    def outs(mode: str) -> list[Path]:
        (work / mode).mkdir(exist_ok=True)
        return [work / mode / f"clip{i}.mkv" for i in range(args.clips)]

    refs = outs("sequential-api")
    t0, c0 = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
    enh = _make_enhancer({"model": args.model, "backend": args.backend, "batch": args.batch, "quiet": True})
    clip_s = [enhance_file(c["color"], c["depth"], o, enhancer=enh)["seconds"] for c, o in zip(clips, refs)]
    modes["sequential-api"] = {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu(resource.RUSAGE_SELF) - c0,
                               "clip_seconds_sum": sum(clip_s), "identical_bytes": True, "identical_frames": True}
    log(f"  sequential-api: {modes['sequential-api']['wall_s']:.2f} s")

    out = outs("sequential-cli")
    times = [_cli(str(c["color"]), str(c["depth"]), "-o", str(o), *opts) for c, o in zip(clips, out)]
    wall = sum(t for t, _ in times)
    modes["sequential-cli"] = {"wall_s": wall, "cpu_s": sum(c for _, c in times), **_compare(out, refs)}
    log(f"  sequential-cli: {wall:.2f} s")

    runs = [(f"batch-j{n}", ["--jobs", str(n)]) for n in args.jobs]
    if args.ray and importlib.util.find_spec("ray") is not None:
        runs.append(("batch-ray", ["--ray", "--jobs", "2"]))
    for mode, extra in runs:
        out = outs(mode)
        jobs = work / f"{mode}.csv"
        jobs.write_text("color,depth,output\n" + "".join(f"{c['color']},{c['depth']},{o}\n" for c, o in zip(clips, out)))
        summary = work / f"{mode}.json"
        try:
            wall, cpu = _cli("batch", str(jobs), *extra, *opts, "--summary", str(summary))
        except RuntimeError as exc:  # e.g. a local Ray that does not start on a loaded machine: said, not fatal
            modes[mode] = {"error": str(exc).strip().splitlines()[-1]}
            log(f"  {mode}: failed: {modes[mode]['error']}")
            continue
        rows = json.loads(summary.read_text())["rows"]
        modes[mode] = {"wall_s": wall, "cpu_s": cpu, "clip_seconds_sum": sum(r["seconds"] for r in rows),
                       "failed": sum(r["status"] != "done" for r in rows), **_compare(out, refs)}
        log(f"  {mode}: {wall:.2f} s")

    base_api, base_cli = modes["sequential-api"]["wall_s"], modes["sequential-cli"]["wall_s"]
    for m in modes.values():
        if "error" in m:
            continue
        m["overhead_vs_api_s"] = round(m["wall_s"] - base_api, 3)
        m["overhead_vs_cli_s"] = round(m["wall_s"] - base_cli, 3)
        m["speedup_vs_cli"] = round(base_cli / m["wall_s"], 3)
        m["cpu_overhead_vs_api_s"] = round(m["cpu_s"] - modes["sequential-api"]["cpu_s"], 3)
        for k in ("wall_s", "cpu_s", "clip_seconds_sum"):
            if k in m:
                m[k] = round(m[k], 3)
    return {
        "kind": "batch", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": shlex.join(["python", "tools/bench_batch.py", *args.argv]), "device": device_name("cpu"),
        "cores": os.cpu_count(), "loadavg_1min_before_after": loadavg_before_after(load_before),
        "versions": versions(), "clips": args.clips, "frames": args.frames, "size": f"{w}x{h}",
        "model": args.model, "backend": args.backend, "batch": args.batch, "modes": modes,
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python tools/bench_batch.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--size", default="160x120", help="WxH of every clip (default 160x120)")
    p.add_argument("--model", default="igde-small")
    p.add_argument("--backend", default="onnxruntime")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--jobs", default="1,2", help="pool sizes to run, comma-separated (default 1,2)")
    p.add_argument("--no-ray", dest="ray", action="store_false", help="skip the Ray mode")
    p.add_argument("--json", default="benchmarks/batch-cpu.json")
    p.add_argument("--keep", action="store_true", help="keep the clips and outputs (their folder is printed)")
    args = p.parse_args(argv)
    args.jobs = [int(n) for n in args.jobs.split(",") if n]
    args.argv = argv
    work = Path(tempfile.mkdtemp(prefix="igde-bench-batch-"))  # clips and outputs; removed unless --keep
    try:
        result = run(args, work)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{'mode':<16}{'wall s':>9}{'vs api s':>10}{'vs cli s':>10}{'x cli':>7}{'cpu s':>8}{'cpu vs api':>11}"
          "  identical bytes / frames")
    for name, m in result["modes"].items():
        if "error" in m:
            print(f"{name:<16}failed: {m['error']}")
            continue
        print(f"{name:<16}{m['wall_s']:>9.2f}{m['overhead_vs_api_s']:>10.2f}{m['overhead_vs_cli_s']:>10.2f}"
              f"{m['speedup_vs_cli']:>7.2f}{m['cpu_s']:>8.2f}{m['cpu_overhead_vs_api_s']:>11.2f}"
              f"  {m['identical_bytes']} / {m['identical_frames']}")
    save_json(args.json, result)
    return 0
