#!/usr/bin/env python3
"""Distance maps (``--depth-order far-high``): ICL-NUIM's frames as 16-bit distance, enhanced by a model
read far-high (right), the same model read near-high (the wrong order) and the classical filters.

ICL-NUIM depth is 16-bit distance (value / 5000 m). The boundary errors are made where they belong,
in inverse depth: each frame is turned into 16-bit inverse depth ``round(65535 min(1, n / z))`` with
``n = max_depth / NEAR_RATIO`` (the far-high reading), degraded like the synthetic data, and turned back into
distance ``round(n 65535 / x)``. PSNR over ``0..max_depth`` against the clean distance. Writes a
Markdown table and JSON to --out (default results/eval_distance.{md,json}).

With --pictures DIR it also runs the real sensor frames of ../shared/data/real (TUM RGB-D Kinect,
HoloLens; distance with 0 = no measurement, no clean ground truth) through the command's path
(``Enhancer(depth_order="far-high")``) and draws colour, input, output and the changed pixels.

Example:
  python tools/evaluate.py ...                      # the main evaluation (near-high 8-bit depth)
  python tools/eval_distance.py --errors paper mix holes --max-depth 25000 --pictures results
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402  (after the sys.path line)


def icl_distance_frames(folder: Path, errors: str, max_depth: float, seed: int = 5):
    """(colour, degraded distance, clean distance) per frame of ``folder`` (see the module docstring)."""
    import cv2

    from igde_stream.data import error_type_config
    from igde_stream.data.degrade import Degrader
    from igde_stream.depth_order import near_limit

    n = float(near_limit(max_depth))
    names = sorted((folder / "depth").glob("*.png"), key=lambda p: (len(p.stem), p.stem))
    for t, p in enumerate(names):
        z = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        color = cv2.cvtColor(cv2.imread(str(folder / "color" / p.name), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        inv = np.where(z > 0, np.rint(65535 * np.minimum(1.0, n / np.maximum(z, 1))), 0).astype(np.uint16)
        deg, _ = Degrader(error_type_config(errors), seed, z.shape).apply(inv, t)
        deg = deg.astype(np.float64)
        far = np.where(deg > 0, np.rint(np.minimum(65535, n * 65535 / np.maximum(deg, 1))), 0).astype(np.uint16)
        yield color, far, z


# real frames: (name, colour, depth, far limit in the file's unit)
REAL_DISTANCE = [
    ("tum_fr1_1", "tum_rgbd/slambook_fr1_1.png", "tum_rgbd/slambook_fr1_1_depth.png", 45000.0),  # 9 m
    ("hololens_00003", "hololens_dvmvs_seq12/images/00003.png", "hololens_dvmvs_seq12/depth/00003.png", 10000.0),
]


def real_pictures(root: Path, out: Path, model: str, threads: int) -> list[Path]:
    """One PNG per ``REAL_DISTANCE`` frame: colour, input, output (both as inverse depth, black = no
    measurement) and the pixels the model changed. Frames whose files are missing are skipped."""
    import cv2

    from igde_stream.depth_order import normalize
    from igde_stream.enhancer import Enhancer
    from igde_stream.paper.figures import save_panel_row

    written = []
    for name, cpath, dpath, far in REAL_DISTANCE:
        bgr, z = cv2.imread(str(root / cpath), cv2.IMREAD_COLOR), cv2.imread(str(root / dpath), cv2.IMREAD_UNCHANGED)
        if bgr is None or z is None:
            print(f"{root / dpath}: missing; skipped")
            continue
        color = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        enh = Enhancer(model=model, backend="onnxruntime", max_depth=far, depth_order="far-high", quiet=True,
                       threads=threads)
        o = enh.enhance(color, z)
        changed = o != z
        top = float(normalize(z, far, "far-high").max()) or 1.0  # inverse depth shown up to the nearest pixel
        path = out / f"real_distance_{name}.png"
        save_panel_row(path, [
            (color, None, "colour", None),
            (normalize(z, far, "far-high"), "gray", f"input distance ({100 * np.mean(z == 0):.0f} % missing)", top),
            (normalize(o, far, "far-high"), "gray", f"{model} far-high ({100 * np.mean(o == 0):.0f} % missing)", top),
            (changed, "gray", f"changed pixels ({100 * changed.mean():.0f} %)", 1)],
            f"{name} ({dpath}): --depth-order far-high --max-depth {far:g}; shown as inverse depth; "
            "no clean ground truth")
        written.append(path)
        print(f"wrote {path}")
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="igde-small")
    p.add_argument("--errors", nargs="+", default=["paper", "mix", "soft", "holes"])
    p.add_argument("--max-depth", type=float, default=25000.0, help="far limit, in the data's unit (default: 5 m)")
    p.add_argument("--icl", default=None, help="ICL-NUIM folder (default: ../shared/data/real/icl_nuim_clean5)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="results/eval_distance")
    p.add_argument("--pictures", metavar="DIR", help="also draw the real sensor frames into DIR")
    args = p.parse_args(argv)

    from igde_stream import filters
    from igde_stream.enhancer import Enhancer
    from igde_stream.evaluation import DEFAULT_ICL

    folder = Path(args.icl) if args.icl else DEFAULT_ICL
    if not (folder / "depth").is_dir():
        print(f"eval_distance.py: error: {folder}: no depth/ folder (ICL-NUIM frames)", file=sys.stderr)
        return 2
    enh = {order: Enhancer(model=args.model, backend="onnxruntime", max_depth=args.max_depth, depth_order=order,
                           quiet=True, threads=args.threads) for order in ("far-high", "near-high")}
    methods = {f"{args.model} far-high": enh["far-high"].enhance, f"{args.model} near-high (wrong order)":
               enh["near-high"].enhance, **{f"filter:{k}": fn for k, fn in filters.FILTERS.items()}}
    rows = []
    for errors in args.errors:
        mse: dict[str, list[float]] = {"input": [], **{k: [] for k in methods}}
        for color, far, gt in icl_distance_frames(folder, errors, args.max_depth):
            g = gt.astype(np.float64)
            mse["input"].append(float(np.mean((far - g) ** 2)))
            for name, fn in methods.items():
                mse[name].append(float(np.mean((fn(color, far).astype(np.float64) - g) ** 2)))
        row = {"errors": errors, **{k: 10 * np.log10(args.max_depth ** 2 / np.mean(v)) for k, v in mse.items()}}
        rows.append(row)
        print(" | ".join(f"{k} {v:.2f}" if isinstance(v, float) else str(v) for k, v in row.items()), flush=True)
    names = list(rows[0])[1:]
    md = [f"ICL-NUIM as 16-bit distance (value / 5000 m), far limit {args.max_depth:g} "
          f"(`python tools/eval_distance.py --max-depth {args.max_depth:g}`). PSNR dB over 0..{args.max_depth:g}.",
          "", "| errors | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    md += ["| " + r["errors"] + " | " + " | ".join(f"{r[k]:.2f}" for k in names) + " |" for r in rows]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    out.with_suffix(".json").write_text(json.dumps({"max_depth": args.max_depth, "model": args.model,
                                                    "source": str(folder), "rows": rows}, indent=2) + "\n")
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")
    if args.pictures:
        real_pictures(folder.parent, Path(args.pictures), args.model, args.threads)
    return 0


if __name__ == "__main__":
    from igde_stream.cli_logging import run_tool

    sys.exit(run_tool(main, "eval_distance.py"))
