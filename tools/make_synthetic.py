#!/usr/bin/env python3
"""Write synthetic Scene-Flow-like sequences as video files.

Each sequence goes to OUT/<split>-<seed>/: color.mp4 (H.264), depth.mkv (degraded, FFV1),
gt.mkv (ground truth, FFV1), data.json (all generator / degradation parameters).

Examples:
  python tools/make_synthetic.py out/synthetic                       # test split: 4 x 48 frames, 960x540
  python tools/make_synthetic.py out/val --split val --sequences 2 --frames 24 --size 640x360 --bits 16
  python tools/make_synthetic.py out/demo --textures procedural --blur-sigma 1.0 --noise-std 1.5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from igde_stream.cli import size_arg as _size  # noqa: E402  (after the sys.path line)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="output folder")
    p.add_argument("--split", choices=("train", "val", "test"), default="test")
    p.add_argument("--sequences", type=int, default=4)
    p.add_argument("--first", type=int, default=0, help="index of the first seed within the split")
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--size", type=_size, default=(960, 540), metavar="WxH")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8)
    p.add_argument("--textures", choices=("procedural", "photo", "mixed"), default="mixed")
    g = p.add_argument_group("degradation (see igde_stream/data/degrade.py)")
    g.add_argument("--max-width", type=int, default=4, help="largest boundary bleed, px")
    g.add_argument("--p-degrade", type=float, default=0.85, help="fraction of edge length degraded")
    g.add_argument("--blur-sigma", type=float, default=0.0)
    g.add_argument("--noise-std", type=float, default=0.0, help="8-bit levels")
    g.add_argument("--holes", type=int, default=0)
    g.add_argument("--jpeg-quality", type=int, default=0, help="0 = off")
    args = p.parse_args(argv)
    # a user's mistake is one line and exit 2 before any folder is made, not a traceback half way
    for name in ("sequences", "frames"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.first < 0:
        p.error(f"--first must be >= 0, got {args.first}")
    if args.size[0] % 2 or args.size[1] % 2:
        p.error(f"--size must be even in both directions (color.mp4 is H.264 yuv420p), got {args.size[0]}x{args.size[1]}")

    from igde_stream.data import DegradeConfig, split_seeds, write_clip

    try:
        deg = DegradeConfig(max_width=args.max_width, min_width=min(1, args.max_width), p_degrade=args.p_degrade,
                            blur_sigma=args.blur_sigma, noise_std=args.noise_std, holes=args.holes,
                            jpeg_quality=args.jpeg_quality)
        seeds = split_seeds(args.split, args.first + args.sequences)[args.first:]
    except ValueError as exc:
        p.error(str(exc))
    for seed in seeds:
        d = Path(args.out) / f"{args.split}-{seed}"
        write_clip(d, frames=args.frames, size=args.size, seed=seed, textures=args.textures,
                   bits=args.bits, degradation=deg)
        print(f"wrote {d}", flush=True)
    return 0


if __name__ == "__main__":
    from igde_stream.cli_logging import run_tool

    sys.exit(run_tool(main, "make_synthetic.py"))
