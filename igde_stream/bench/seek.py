"""``--start`` with and without seeking, side by side in one run.

``python tools/bench.py seek [--seconds 60] [--size 640x360] [--start 50] [--frames 8]
[--model igde-small] [--backend onnxruntime] [--repeat 2] [--json benchmarks/seek-cpu.json]``

A synthetic clip (``data.write_clip``'s frames, looped to ``--seconds`` at 25 fps by ``data.clip.write_video``:
colour in H.264 with x264's default keyframe interval, 250 frames; degraded and true depth in 16-bit FFV1,
every frame a keyframe) is enhanced from
``--start`` for ``--frames`` frames, with a report against the ground truth, two ways:

- ``seek``: as the command runs, the readers seeking to the keyframe before the start;
- ``from-start``: every reader decoding from the first frame (``seek.SEEK_FORMATS`` emptied), as
  before seeking was built.

Each mode: wall seconds of ``enhance_file`` (the least of ``--repeat`` runs) and the frames each input
decoded; the outputs of the two must be the same frames (pixels and pts) and the same report rows.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from .common import device_name, loadavg_before_after, log, parse_size, run_or_status, save_json, stamp, versions

RATE = Fraction(25)


def _loop_clip(folder: Path, seconds: float, size: tuple[int, int]) -> dict[str, Path]:
    """The clip of the benchmark: 50 rendered frames, repeated to ``seconds``."""
    import av

    from ..data.clip import write_clip, write_video

    src = write_clip(folder / "src", frames=50, size=size, bits=16, rate=RATE)
    n = round(seconds * RATE)
    out = {}
    for role, fmt in (("color", "rgb24"), ("depth", "gray16le"), ("gt", "gray16le")):
        with av.open(str(src[role])) as c:
            arrays = [f.to_ndarray(format=fmt) for f in c.decode(video=0)]
        out[role] = folder / Path(src[role]).name
        write_video(out[role], (arrays[i % len(arrays)] for i in range(n)), kind="color" if role == "color" else "depth",
                    rate=RATE)
    return out


def _frames(path: Path) -> list[tuple[int, bytes]]:
    import av

    with av.open(str(path)) as c:
        return [(f.pts, f.to_ndarray().tobytes()) for f in c.decode(video=0)]


def _run(clip: dict[str, Path], out: Path, args: argparse.Namespace, enhancer: Any) -> tuple[float, dict[str, int]]:
    from ..stream import sources
    from ..stream.pipeline import enhance_file

    decoded: dict[str, int] = {}
    real = sources.StreamDecoder.decode

    def count(self: Any, *a: Any) -> Any:
        got = real(self, *a)
        decoded[Path(self.path).name] = decoded.get(Path(self.path).name, 0) + len(got or [])
        return got

    sources.StreamDecoder.decode = count
    try:
        t0 = time.perf_counter()
        enhance_file(clip["color"], clip["depth"], out, gt_path=clip["gt"], report_path=out.with_suffix(".json"),
                     start=args.start, max_frames=args.frames, enhancer=enhancer, overwrite=True)
        return time.perf_counter() - t0, decoded
    finally:
        sources.StreamDecoder.decode = real


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    from .. import Enhancer
    from ..stream import seek

    before = os.getloadavg()
    size = parse_size(args.size)
    enhancer = Enhancer(model=args.model, backend=args.backend)
    modes: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="igde-bench-seek-") as tmp:
        folder = Path(tmp)
        log(f"writing a {args.seconds:g} s clip at {size[0]}x{size[1]} ...")
        clip = _loop_clip(folder, args.seconds, size)
        kept = seek.SEEK_FORMATS
        for mode in ("seek", "from-start"):
            seek.SEEK_FORMATS = kept if mode == "seek" else frozenset()
            try:
                runs = [_run(clip, folder / f"{mode}.mkv", args, enhancer) for _ in range(args.repeat)]
            finally:
                seek.SEEK_FORMATS = kept
            modes[mode] = {"seconds": round(min(s for s, _ in runs), 3), "decoded": runs[0][1]}
            log(f"{mode}: {modes[mode]['seconds']:.2f} s, decoded {modes[mode]['decoded']}")
        same_frames = _frames(folder / "seek.mkv") == _frames(folder / "from-start.mkv")
        rows = [json.loads((folder / f"{m}.json").read_text())["frames"] for m in modes]
    return {
        **stamp("seek", argv), "device": device_name(None), "versions": versions(),
        "clip": {"seconds": args.seconds, "size": args.size, "rate": str(RATE), "color": "H.264 (x264 defaults)",
                 "depth": "FFV1 gray16le"},
        "start": args.start, "frames": args.frames, "model": args.model, "backend": enhancer.backend_name,
        "modes": modes, "speedup": round(modes["from-start"]["seconds"] / modes["seek"]["seconds"], 2),
        "identical_frames": same_frames, "identical_report_rows": rows[0] == rows[1],
        "loadavg_1min_before_after": loadavg_before_after(before),
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python tools/bench.py seek", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=60.0, help="clip length (default: %(default)s)")
    p.add_argument("--size", default="640x360", help="frame size (default: %(default)s)")
    p.add_argument("--start", type=float, default=50.0, help="--start, seconds (default: %(default)s)")
    p.add_argument("--frames", type=int, default=8, help="--max-frames (default: %(default)s)")
    p.add_argument("--model", default="igde-small")
    p.add_argument("--backend", default="onnxruntime")
    p.add_argument("--repeat", type=int, default=2, help="runs per mode; the least time is kept")
    p.add_argument("--json", default="benchmarks/seek-cpu.json")
    args = p.parse_args(argv)
    result, status = run_or_status("seek", lambda: run(args, argv))
    if result is None:
        return status
    print(json.dumps({k: result[k] for k in ("modes", "speedup", "identical_frames", "identical_report_rows")},
                     indent=2))
    save_json(args.json, result)
    return 0 if result["identical_frames"] and result["identical_report_rows"] else 1
