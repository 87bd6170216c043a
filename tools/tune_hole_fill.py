"""Score the hole fill (``igde_stream.hole_fill``) on validation data: a model's output with its
input holes left to the model, and filled with each setting given, before or after the model.

    python tools/tune_hole_fill.py --model igde-small --scenes 8 --first-seed 700 \\
        --errors holes dropouts mix paper --snaps 0 7 --real-scene runs/aloeL.jpg runs/aloeGT.png \\
        --out results/hole_fill_val.json

Each row: the input's PSNR, the model without the fill (``off``), and the model with the fill at
each ``--snaps`` value (``snap7`` ...), on ``--scenes`` validation scenes (one frame each, seeds from
``--first-seed`` of the val split) at each ``--sizes``, and on each ``--real-scene`` pair (a colour
image and its disparity, ``--real-frames`` draws of the errors). The model runs once per frame
(ONNX Runtime); the fills are applied to its output. ``--orders`` adds the fill before the model
(``before``: the model runs on the filled depth; ``before-keep``: the same, then the hole pixels get
the fill's value back), named ``before-snap0`` ...; ``--views N`` also scores the mean PSNR of N views
rendered from each depth against the views from the ground truth (``multiview.view_quality``).
``--layers K ...`` scores each snap at each ``HoleFill.layers`` (``snap0-far2`` ...; 0: the plain mean,
named ``snap0``), with ``--layer-gap`` / ``--layer-sigma``; under each row, the share of the hole
pixels filled nearer than the truth by more than ``--leak-levels`` (a foreground leak) / farther by
more than that, in %. Nothing from the test split is read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from igde_stream.cli import size_arg  # noqa: E402
from igde_stream.cli_parser import count_arg  # noqa: E402
from igde_stream.hole_fill import HoleFill  # noqa: E402


ORDERS = ("after", "before", "before-keep")


def fill_arg(text: str) -> tuple[str, HoleFill]:
    """``NAME:KEY=V[,KEY=V]`` -> (NAME, the HoleFill with those fields; the others its defaults)."""
    import dataclasses

    name, sep, spec = text.partition(":")
    if not name or not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME:KEY=V[,KEY=V]")
    fields = {f.name: f.type for f in dataclasses.fields(HoleFill)}
    values = {}
    for item in filter(None, spec.split(",")):
        key, eq, value = item.partition("=")
        if not eq or key not in fields:
            raise argparse.ArgumentTypeError(f"{item!r}: not KEY=V with KEY one of {', '.join(fields)}")
        kind = fields[key]
        if kind == "bool":  # a word of neither list (a typo: wide=flase) is refused, not read as false
            if value.lower() not in ("1", "true", "yes", "0", "false", "no"):
                raise argparse.ArgumentTypeError(f"{item!r}: {value!r} is not true or false")
            values[key] = value.lower() in ("1", "true", "yes")
            continue
        try:
            values[key] = int(value) if kind == "int" else float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r}: {value!r} is not {'a whole number' if kind == 'int' else 'a number'}") from None
    try:
        return name, HoleFill(**values)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def fill_order_outputs(enh, color, depth, out_after, fill, order, timing=None):
    """One frame's output with ``fill`` (a ``HoleFill``) at ``order``: ``after`` fills the input holes
    in ``out_after`` (the model's output on ``depth``); ``before`` runs the model on the filled depth;
    ``before-keep`` does too, then gives the hole pixels the fill's value back. ``timing``: a list that
    gets the seconds spent in the fill alone (the model's run on the filled depth not counted)."""
    from igde_stream import hole_fill

    t = time.perf_counter()
    filled = hole_fill.fill_holes(color, depth, out_after if order == "after" else None, settings=fill)
    if timing is not None:
        timing.append(time.perf_counter() - t)
    if order == "after":
        return filled
    out = enh.enhance(color, filled)
    if order == "before-keep":
        hole = depth == 0
        out[hole] = filled[hole]
    return out


def hole_leak(frames, outs, levels: float) -> tuple[float, float]:
    """The shares of the input-hole pixels (scored ones: ``valid`` where a frame has it) whose output
    is nearer than the ground truth by more than ``levels`` (larger is nearer: a foreground leak),
    and farther by more than that. 0, 0 without holes."""
    near = far = total = 0
    for (_, d, g, v), o in zip(frames, outs):
        hole = d == 0 if v is None else (d == 0) & v
        diff = o[hole].astype(np.float64) - g[hole].astype(np.float64)
        near += int((diff > levels).sum())
        far += int((diff < -levels).sum())
        total += int(hole.sum())
    return (near / total, far / total) if total else (0.0, 0.0)


def main(argv: list[str] | None = None) -> int:
    prog = "tune_hole_fill.py"
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="igde-small", help="registered name, .pt or .onnx")
    p.add_argument("--scenes", type=count_arg(), default=8, help="validation scenes (one frame each) per size and error type")
    p.add_argument("--first-seed", type=count_arg(0), default=700, help="index of the first val-split seed")
    p.add_argument("--sizes", nargs="+", type=size_arg, default=[(960, 540)], metavar="WxH")
    p.add_argument("--errors", nargs="+", default=["holes", "dropouts", "mix"], metavar="TYPE")
    p.add_argument("--snaps", nargs="+", type=count_arg(0), default=[0, 7], metavar="PX",
                   help="fill settings to score: the snap radius of each (0: no snap)")
    p.add_argument("--layers", nargs="+", type=float, default=[HoleFill().layers], metavar="K",
                   help="fill settings to score: HoleFill.layers of each (0: one mean over the window; K >= 1: "
                        "the far layer unless the near one weighs K times more), named snapS-farK")
    p.add_argument("--layer-gap", type=float, default=HoleFill().layer_gap, help="HoleFill.layer_gap of the --layers settings")
    p.add_argument("--layer-sigma", type=float, default=HoleFill().layer_sigma,
                   help="HoleFill.layer_sigma of the --layers settings (px; 0: the window's own weights)")
    p.add_argument("--leak-levels", type=float, default=4.0,
                   help="a hole pixel nearer than the truth by more than this many levels is a leak (its share is scored)")
    p.add_argument("--orders", nargs="+", choices=ORDERS, default=["after"],
                   help="where the fill runs: after the model (the release), before it, or before it with "
                        "the hole pixels given the fill's value back")
    p.add_argument("--views", type=count_arg(0), default=0, metavar="N",
                   help="also score N views rendered from each depth (0: off)")
    p.add_argument("--stride", type=count_arg(), default=3, help="the fill window's outer sampling stride")
    p.add_argument("--real-scene", nargs=2, action="append", default=[], metavar=("COLOR", "DISPARITY"))
    p.add_argument("--real-scale", type=float, default=0.5)
    p.add_argument("--real-frames", type=count_arg(), default=2)
    p.add_argument("--real-seed", type=count_arg(0), default=5, help="the first of the --real-frames draws' seeds")
    p.add_argument("--fill", action="append", default=[], type=fill_arg, metavar="NAME:KEY=V[,KEY=V]",
                   help="a further fill setting to score, after the model: HoleFill fields given by name "
                        "(e.g. s16-st1:sigma_space=16,stride=1); repeatable")
    p.add_argument("--threads", type=count_arg(), default=2)
    p.add_argument("--out", default=None, help="JSON of every row")
    args = p.parse_args(argv)
    if not 0 < args.real_scale <= 1:
        p.error(f"--real-scale must be in (0, 1], got {args.real_scale}")
    if min(min(s) for s in args.sizes) < 16:
        p.error("--sizes must be at least 16x16 (the scene generator's smallest)")
    if args.out and Path(args.out).is_dir():
        p.error(f"--out {args.out} is a directory; give a .json file")
    if args.out and (held := next((a for a in Path(args.out).parents if a.exists()), None)) and not held.is_dir():
        p.error(f"--out {args.out}: {held} is a file, not a folder")  # the folders are made at the end of the run

    from igde_stream.bench.common import write_text_atomic
    from igde_stream.data import ERROR_TYPES, SceneConfig, error_type_config, make_sequence, split_seeds
    from igde_stream.data.degrade import depth_peak
    from igde_stream.enhancer import Enhancer, EnhancerError
    from igde_stream.multiview import summarize_view_quality, view_quality
    from igde_stream.metrics import mean_psnr, mse
    from igde_stream.real_frames import disparity_file_sequence, real_scene_problem

    unknown = sorted(set(args.errors) - set(ERROR_TYPES))
    if unknown:
        p.error(f"--errors: unknown {unknown}; known: {', '.join(ERROR_TYPES)}")
    for pair in args.real_scene:
        why = real_scene_problem(*pair, scale=args.real_scale)
        if why:
            p.error(f"--real-scene: {why}")
    try:
        seeds = split_seeds("val", args.first_seed + args.scenes)[args.first_seed:]
        settings = {("" if order == "after" else order + "-") + f"snap{s}" + (f"-far{k:g}" if k else ""):
                    (HoleFill(snap=s, stride=args.stride, layers=k, layer_gap=args.layer_gap, layer_sigma=args.layer_sigma), order)
                    for order in args.orders for k in args.layers for s in args.snaps}
        for name, fill in args.fill:
            if name in settings:
                raise ValueError(f"--fill {name}: the name of another setting")
            settings[name] = (fill, "after")
        enh = Enhancer(args.model, backend="onnxruntime", batch=1, quiet=True, threads=args.threads, hole_fill=False)
    except (ValueError, EnhancerError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    rows: list[dict] = []
    print("errors          data               input |    off | " + " | ".join(f"{k:>6s}" for k in settings)
          + " | holes %  fill s/frame")
    for err in args.errors:
        sources = [("val", size) for size in args.sizes] + [("real", pair) for pair in args.real_scene]
        for kind, arg in sources:
            if kind == "val":
                cfg = SceneConfig(width=arg[0], height=arg[1], frames=1, textures="mixed")
                seqs = [make_sequence(s, cfg, error_type_config(err), 8) for s in seeds]
                frames = [(s.color[0], s.depth[0], s.gt[0], None) for s in seqs]
                label = f"val {arg[0]}x{arg[1]}"
            else:
                seq = disparity_file_sequence(*arg, error_type_config(err), frames=args.real_frames,
                                              scale=args.real_scale, seed=args.real_seed)
                frames = list(zip(seq.color, seq.depth, seq.gt, seq.valid))
                label = f"{seq.name} {seq.gt.shape[2]}x{seq.gt.shape[1]}"
            peak = depth_peak(frames[0][1])
            outs = [enh.enhance(c, d) for c, d, _, _ in frames]
            scores = {"input": mean_psnr([mse(d, g, v) for _, d, g, v in frames], peak),
                      "off": mean_psnr([mse(o, g, v) for o, (_, _, g, v) in zip(outs, frames)], peak)}
            seconds = {}
            depths = {"input": [d for _, d, _, _ in frames], "off": outs}
            leaks = {"off": hole_leak(frames, outs, args.leak_levels)}
            for name, (fill, order) in settings.items():
                timing: list[float] = []  # the fill alone, in every order
                filled = [fill_order_outputs(enh, c, d, o, fill, order, timing) for o, (c, d, _, _) in zip(outs, frames)]
                seconds[name] = sum(timing) / len(frames)
                scores[name] = mean_psnr([mse(f, g, v) for f, (_, _, g, v) in zip(filled, frames)], peak)
                depths[name] = filled
                leaks[name] = hole_leak(frames, filled, args.leak_levels)
            share = float(np.mean([np.mean(d == 0) for _, d, _, _ in frames]))
            row = {"errors": err, "data": label, "kind": kind, "psnr": {k: float(v) for k, v in scores.items()},
                   "hole_share": share, "fill_seconds_per_frame": seconds,
                   "leak_near": {k: v[0] for k, v in leaks.items()}, "leak_far": {k: v[1] for k, v in leaks.items()}}
            if args.views:
                per_frame = [view_quality(c, g, {k: v[i] for k, v in depths.items()}, n_views=args.views, valid=val)
                             for i, (c, _, g, val) in enumerate(frames)]
                summary = summarize_view_quality(per_frame)["depths"]
                row["views_psnr"] = {k: float(summary[k]["mean"]["psnr"]) for k in depths}
            rows.append(row)
            print(f"{err:15s} {label:17s} {scores['input']:6.2f} | {scores['off']:6.2f} | "
                  + " | ".join(f"{scores[k]:6.2f}" for k in settings)
                  + f" | {100 * share:6.2f}  " + " ".join(f"{v:.2f}" for v in seconds.values()), flush=True)
            print(f"{'  leak near/far %':33s} " + " | ".join(f"{100 * a:.1f}/{100 * b:.1f}" for a, b in leaks.values()),
                  flush=True)
            if args.views:
                print(f"{'  views':15s} {'':17s} " + " | ".join(f"{row['views_psnr'][k]:6.2f}" for k in depths), flush=True)
    means = {kind: {k: float(np.mean([r["psnr"][k] for r in rows if r["kind"] == kind]))
                    for k in ["input", "off", *settings]}
             for kind in ("val", "real") if any(r["kind"] == kind for r in rows)}
    if args.views:
        for kind in list(means):
            means[kind + " views"] = {k: float(np.mean([r["views_psnr"][k] for r in rows if r["kind"] == kind]))
                                      for k in ["input", "off", *settings]}
    for kind, m in means.items():
        print(f"mean over {kind} rows: " + "  ".join(f"{k} {v:.3f}" for k, v in m.items()))
    if args.out:
        record = {"model": str(args.model), "rows": rows, "mean": means, "stride": args.stride, "views": args.views,
                  "command": "python tools/tune_hole_fill.py " + " ".join(argv if argv is not None else sys.argv[1:])}
        write_text_atomic(args.out, json.dumps(record, indent=1))  # folders made; never half a file
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    from igde_stream.cli_logging import run_tool

    sys.exit(run_tool(main, "tune_hole_fill.py"))
