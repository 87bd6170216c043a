#!/usr/bin/env python3
"""The paper's Tables I-III: train every learned row with one budget, then evaluate into tables.

Examples:
  # GPU machine (H100): all 11 rows at once, 800 steps each (batch 8, 256x256), 5 min cap per row;
  # rows the cap cuts short are all set back to the largest snapshot step (200/400/600/800) all reached
  python tools/paper_suite.py train --device cuda --steps 800 --minutes 5 --jobs 11 --out runs/paper
  python tools/paper_suite.py evaluate --ckpts runs/paper --device cuda --datasets synthetic \
      --methods input learned --out results/                 # networks only: ~2 min
  # then on a CPU, where ../shared/data/real is: the filters (CPU-only, seconds per frame) and ICL-NUIM
  python tools/paper_suite.py evaluate --ckpts runs/paper --datasets synthetic --methods filters --out results/
  python tools/paper_suite.py evaluate --ckpts runs/paper --datasets icl --out results/
  # a CPU only: the networks on ONNX Runtime (~3x PyTorch there)
  python tools/paper_suite.py evaluate --ckpts runs/paper --backend onnxruntime --out results/
  # this CPU, a smoke run of the whole pipeline:
  python tools/paper_suite.py train --steps 5 --crop 64x64 --batch 2 --scene-size 160x96 --out /tmp/p
  python tools/paper_suite.py evaluate --ckpts /tmp/p --sequences 1 --frames 3 --size 160x96 --out /tmp/p/res
  # the tables (same as: python tools/evaluate.py --suite paper --ckpts runs/paper):
  python tools/paper_suite.py evaluate --ckpts runs/paper --out results/
  # two seeds (train twice with --seed 0 / --seed 1 into two folders): every row is the mean
  python tools/paper_suite.py evaluate --ckpts runs/paper runs/paper-s1 --out results/
  python tools/paper_suite.py real --ckpt runs/paper/igde.pt   # TUM / HoloLens pictures
  python tools/paper_suite.py list                        # rows, tables, model costs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_ICL = ROOT.parent / "shared" / "data" / "real" / "icl_nuim_clean5"


def _size(text: str) -> tuple[int, int]:
    from igde_stream.cli import pair_arg

    return pair_arg(text, "AxB", "256x256")


def main(argv: list[str] | None = None) -> int:
    from igde_stream.errors import IGDEError

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="train every learned row of Tables I-III")
    t.add_argument("--out", required=True, help="folder for <row>.pt / <row>.json checkpoints")
    t.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    t.add_argument("--steps", type=int, default=800, help="steps per row, the equal budget (default 800)")
    t.add_argument("--minutes", type=float, default=None,
                   help="wall-clock cap per row; a row stopped by it records the step it reached")
    t.add_argument("--jobs", type=int, default=1, help="rows trained at once, each its own process")
    t.add_argument("--crop", type=_size, default=(256, 256), help="training crop HxW (default 256x256)")
    t.add_argument("--batch", type=int, default=8, help="batch size (default 8)")
    t.add_argument("--seed", type=int, default=0, help="seed of weights and data (default 0)")
    t.add_argument("--lr", type=float, default=5e-4,
                   help="Adam learning rate, constant (default 5e-4: the paper's 1e-4 moves too little "
                        "in a budget this short)")
    t.add_argument("--scale", default="small", choices=["tiny", "small"], help="model variants (default small)")
    t.add_argument("--workers", type=int, default=1, help="data worker processes per row (default 1)")
    t.add_argument("--threads", type=int, default=None, help="torch threads per row (default: cores / jobs)")
    t.add_argument("--scene-size", type=_size, default=(960, 540), help="scene WxH (default 960x540)")
    t.add_argument("--val-samples", type=int, default=8, help="validation crops per row (default 8)")
    t.add_argument("--rows", nargs="+", default=None, help="train only these rows (see `list`)")
    t.add_argument("--chunks", type=int, default=4,
                   help="legs per row, each ending in a weight snapshot; rows cut short by --minutes are "
                        "all set back to the largest snapshot step every row reached (default 4)")
    t.add_argument("--keep-snapshots", action="store_true", help="keep the per-leg weight snapshots")
    t.add_argument("--keep-runs", action="store_true", help="keep full checkpoints with optimizer state")

    e = sub.add_parser("evaluate", help="evaluate a folder of suite checkpoints into the paper tables")
    e.add_argument("--ckpts", required=True, nargs="+",
                   help="folder(s) written by `train`; one per seed: rows then show the mean over seeds")
    e.add_argument("--out", default=str(ROOT / "results"), help="folder for the tables and figures")
    e.add_argument("--device", default="cpu")
    e.add_argument("--sequences", type=int, default=4, help="synthetic test sequences (default 4)")
    e.add_argument("--frames", type=int, default=12, help="frames per test sequence (default 12)")
    e.add_argument("--size", type=_size, default=(960, 540), help="test frame WxH (default 960x540)")
    e.add_argument("--icl", default=str(DEFAULT_ICL), help="ICL-NUIM clean folder ('' to skip)")
    e.add_argument("--datasets", nargs="+", default=["synthetic", "icl"], choices=["synthetic", "icl"],
                   help="what to (re)compute; the others are kept from OUT/paper_raw.json (default both)")
    e.add_argument("--methods", nargs="+", default=["input", "filters", "learned"],
                   choices=["input", "filters", "learned"],
                   help="what to (re)compute; the others are kept from OUT/paper_raw.json (default all)")
    e.add_argument("--batch", type=int, default=1, help="frames per forward pass (default 1)")
    e.add_argument("--backend", default="torch", choices=["torch", "onnxruntime"],
                   help="runs the networks: torch on --device, or onnxruntime on the cpu (each checkpoint "
                        "exported to a temporary ONNX file; ~3x torch on a CPU) (default torch)")
    e.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (default: one per core)")
    e.add_argument("--figures", type=int, default=2, help="Fig. 10 examples per dataset (default 2)")

    r = sub.add_parser("real", help="pictures of IGDE on TUM / HoloLens frames (no ground truth)")
    r.add_argument("--ckpt", required=True, help="checkpoint, e.g. runs/paper/igde.pt")
    r.add_argument("--real", default=str(DEFAULT_ICL.parent), help="folder of the real frames")
    r.add_argument("--out", default=str(ROOT / "results"))
    r.add_argument("--device", default="cpu")

    sub.add_parser("list", help="print the suite rows, the tables and each model's cost")
    args = p.parse_args(argv)

    if args.cmd == "list":
        from igde_stream.models import model_complexity
        from igde_stream.paper import LEARNED, TABLES

        for key, spec in LEARNED.items():
            c = model_complexity(f"{spec.arch}-small", 540, 960)
            print(f"{key:14s} {spec.arch}-small {spec.overrides or ''} loss {spec.loss_weights} "
                  f"{c['params'] / 1e3:.0f} k params, {c['gmac']:.1f} GMAC/960x540 (Conv2d only)")
        print("(model_complexity counts Conv2d only: dencbpn is ~28 GMAC with its transposed convs)")
        for name, rows in TABLES.items():
            print(f"{name}: " + ", ".join(f"{label} [{key}]" for label, key in rows))
        return 0
    if args.cmd == "train":
        import os

        from igde_stream.paper import train_suite

        threads = args.threads or max(1, (os.cpu_count() or 1) // max(1, args.jobs))
        try:
            train_suite(args.out, steps=args.steps, minutes=args.minutes, jobs=args.jobs, keys=args.rows,
                        keep_snapshots=args.keep_snapshots,
                        crop=args.crop, batch=args.batch, device=args.device, seed=args.seed, lr=args.lr,
                        scale=args.scale, workers=args.workers, threads=threads,
                        scene_size=args.scene_size, val_samples=args.val_samples, chunks=args.chunks,
                        keep_run=args.keep_runs)
        except ValueError as exc:  # a row that is not in the tables, no steps or minutes
            raise IGDEError(str(exc)) from None
        except RuntimeError as exc:  # rows whose training failed (their logs named)
            print(f"paper_suite.py: error: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.cmd == "real":
        from igde_stream.paper import real_pictures

        real_pictures(args.ckpt, args.real, args.out, device=args.device)
        return 0
    from igde_stream.paper import evaluate_suite

    missing = [c for c in args.ckpts if not Path(c).is_dir()]
    if missing:
        raise IGDEError("no such folder", missing[0])
    try:
        evaluate_suite(args.ckpts, args.out, device=args.device, sequences=args.sequences, frames=args.frames,
                       size=args.size, icl=args.icl or None, figures=args.figures, datasets=args.datasets,
                       methods=args.methods, batch=args.batch, backend=args.backend, threads=args.threads)
    except ValueError as exc:  # two folders with one seed, results of other test data, ...
        raise IGDEError(str(exc)) from None
    return 0


if __name__ == "__main__":
    from igde_stream.cli_logging import run_tool

    sys.exit(run_tool(main, "paper_suite.py"))
