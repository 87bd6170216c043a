"""Peak memory and time of the Enhancer on large frames, whole against in row strips (igde_stream.strips).

    python tools/bench_strips.py --sizes 1920x1080,3840x2160 --frames 2 --out benchmarks/strips.json

Each setting runs in a fresh Python process (its peak resident memory is the process's own, which it
reads from ``getrusage`` and prints), ONNX Runtime on the CPU with the shipped igde-small, on frames of
a disc 5 px off its colour edge; the settings of one size run one after the other in the same call, and
the outputs are compared value for value.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import sys, numpy as np
from igde_stream import Enhancer
w, h, n, limit, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
yy, xx = np.mgrid[:h, :w]
gt = np.where((xx - w / 2) ** 2 + (yy - h / 2) ** 2 < (h / 3) ** 2, 200, 60).astype(np.uint8)
color = np.stack([gt, 255 - gt, np.full_like(gt, 100)], -1)
e = Enhancer("igde-small", backend="onnxruntime", quiet=True, threads=2,
             max_pixels=None if limit == "none" else int(limit))
res = e.enhance(np.repeat(color[None], n, 0), np.repeat(np.roll(gt, 5, 1)[None], n, 0))
np.save(out, res)
import resource
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KB on Linux
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1920x1080,3840x2160")
    ap.add_argument("--frames", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    import numpy as np

    from igde_stream.strips import CPU_MAX_PIXELS

    rows = []
    for size in a.sizes.split(","):
        w, h = (int(v) for v in size.lower().split("x"))
        outs = {}
        for limit in ("none", str(CPU_MAX_PIXELS)):
            tmp = a.out.with_name(f".strips_{w}x{h}_{limit}.npy")
            t = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", CHILD, str(w), str(h), str(a.frames), limit, str(tmp)],
                                  check=True, capture_output=True, text=True)
            secs = time.perf_counter() - t
            peak = int(done.stdout.split()[-1])  # the child's own peak resident memory, KB
            outs[limit] = np.load(tmp)
            tmp.unlink()
            row = dict(size=f"{w}x{h}", frames=a.frames, max_pixels=None if limit == "none" else int(limit),
                       seconds=round(secs, 2), peak_rss_mb=round(peak / 1024))
            rows.append(row)
            print(json.dumps(row), flush=True)
        rows[-1]["same_output"] = bool(np.array_equal(outs["none"], outs[str(CPU_MAX_PIXELS)]))
        print(f"{w}x{h}: same output in strips: {rows[-1]['same_output']}", flush=True)
    a.out.write_text(json.dumps(dict(command="python tools/bench_strips.py " + " ".join(argv or sys.argv[1:]),
                                     machine=platform.processor() or platform.machine(), rows=rows), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
