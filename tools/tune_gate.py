#!/usr/bin/env python3
"""Tune a select model's inference settings, the gate threshold and the edge band, on the validation
split (never on test data).

For every validation frame (one frame of each of ``--scenes`` val-split scenes, per size in
``--sizes`` and per boundary error type in ``--errors``) the network runs once: its gate probability
and picked candidate per pixel (the model's own pick rule). Each (band_step, gate_threshold) pair
then gives the hard output ``chosen where gate > threshold and the pixel is in the edge band, else the input``. A row's score
is the PSNR of the pooled MSE over its frames; a setting's score is the mean over the rows. With
``--icl`` the ICL-NUIM rows (full and half size) are printed too, apart: they are test data, shown to
see what a choice does there, not to make it. ``--real-scene COLOR DISPARITY`` adds a real
validation pair (a photograph with measured disparity that no test table scores, e.g. the Middlebury
2006 Aloe pair that Debian's opencv-doc package ships; docs/training.md): its rows are averaged
apart ("real"), scoring its measured pixels only. ``--pick-temperatures T ...`` sweeps the pick rule
too (``IGDEConfig.pick_temperature``; 0 = the argmax of the scores), one network run per
temperature. ``--oracle`` adds two bounds per row at the first setting: a perfect gate for the
model's picks and a perfect pick for its gate (:func:`oracle`; its perfect pick ignores
``zero_holes``). ``--breakdown`` says where a row's squared error lies at the first setting:
pixels the input had wrong and the output kept, pixels it had right and the output moved, pixels
changed but still wrong, each as a share of the row's squared error, and the part of each from
gross errors (off by 50 8-bit levels or more: the wrong side of an edge; :func:`breakdown`).
``--zero-holes on|off`` scores with ``IGDEConfig.zero_holes`` set either way (holes always replaced
in the band, never picked), whatever the model's own setting.

Examples (the shipped igde-small's gate 0.2, band 2.5 and pick temperature 0.45 are checked so):
  python tools/tune_gate.py --model igde-small --out results/gate_tuning.json
  python tools/tune_gate.py --thresholds 0.2 --band-steps 2.5 --pick-temperatures 0.3 0.45 0.6
  python tools/tune_gate.py --real-scene aloeL.jpg aloeGT.png   # plus a real validation pair
  python tools/tune_gate.py --thresholds 0.2 --band-steps 2.5 --errors soft lowres --oracle
  python tools/tune_gate.py --thresholds 0.2 --band-steps 2.5 --pick-temperatures 0.3 --breakdown
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from igde_stream.cli import size_arg  # noqa: E402
from igde_stream.data.degrade import depth_peak  # noqa: E402
from igde_stream.metrics import mean_psnr, mse, psnr_from_mse  # noqa: E402


def gate_and_choice(model, color: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gate logit, float32 as the model compares it; the picked candidate's depth value, float64) of
    every pixel, H x W each, for an H x W x 3 uint8 colour frame and its depth (uint8 or uint16;
    values in its own units)."""
    import torch

    c = torch.from_numpy(color).permute(2, 0, 1)[None].float() / 255.0
    d = torch.from_numpy(depth.astype(np.float32))[None, None] / depth_peak(depth)
    with torch.no_grad():
        scores, gate = model.head.split(model.select_logits(c, d))
        chosen = model.head.gather(d, model.head.pick(scores, model.head.candidates(d)))
    return gate[0, 0].float().numpy(), np.rint(chosen[0, 0].double().numpy() * depth_peak(depth))


def fires(model, gate: np.ndarray, depth: np.ndarray, threshold: float) -> np.ndarray:
    """H x W bool: gate logit above ``threshold`` (as a logit, float32 as the model compares it), or
    a hole (depth 0) when the head's ``zero_holes`` is on (``SelectionHead.fires``; the band apart)."""
    fire = gate > np.float32(model.head._gate_logit(threshold))
    return fire | (depth == 0) if model.head.zero_holes else fire


def band_mask(model, depth: np.ndarray, band_step: float) -> np.ndarray:
    """The head's edge band (``selection.edge_band`` at its radius) for ``band_step`` 8-bit levels;
    all True at 0."""
    import torch

    from igde_stream.models.selection import edge_band

    if band_step <= 0:
        return np.ones(depth.shape, bool)
    d = torch.from_numpy(depth.astype(np.float32))[None, None] / depth_peak(depth)
    return edge_band(d, model.head.radius, band_step / 255.0)[0, 0].numpy()


def sweep(model, frames, thresholds, band_steps) -> np.ndarray:
    """PSNR (pooled MSE over ``frames``: (colour, depth, gt[, valid]) of one bit depth; ``valid``, when
    given, the pixels to score) of every (band_step, threshold) pair, as a len(band_steps) x
    len(thresholds) array."""
    sse = np.zeros((len(band_steps), len(thresholds)))
    count = 0
    for color, depth, gt, *valid in frames:
        keep = valid[0] if valid and valid[0] is not None else np.ones(gt.shape, bool)
        gate, chosen = gate_and_choice(model, color, depth)
        inp, ref = depth.astype(np.float64), gt.astype(np.float64)
        for b, step in enumerate(band_steps):
            band = band_mask(model, depth, step)
            for t, thr in enumerate(thresholds):
                out = np.where(fires(model, gate, depth, thr) & band, chosen, inp)
                sse[b, t] += np.sum(((out - ref) ** 2)[keep])
        count += int(keep.sum())
    peak = depth_peak(frames[0][1])
    return np.vectorize(lambda v: psnr_from_mse(v, peak))(sse / count)


def oracle(model, frames, threshold: float, band_step: float) -> tuple[float, float]:
    """Where the error is left, at one setting: PSNR (pooled as :func:`sweep`) of the hard output with
    a perfect gate for the model's picks (in the band, the pick where it is strictly nearer the truth
    than the input, else the input) and with a perfect pick for the model's gate (where the gate
    fires in the band, the candidate nearest the truth, ties to the nearer offset, else the input).
    A large gap to the rule's own PSNR says which of the two holds the model back."""
    import torch

    sse, count = np.zeros(2), 0
    for color, depth, gt, *valid in frames:
        keep = valid[0] if valid and valid[0] is not None else np.ones(gt.shape, bool)
        gate, chosen = gate_and_choice(model, color, depth)
        band = band_mask(model, depth, band_step)
        inp, ref = depth.astype(np.float64), gt.astype(np.float64)
        cands = model.head.candidates(torch.from_numpy(inp)[None, None])[0].numpy()
        best = np.take_along_axis(cands, np.abs(cands - ref).argmin(0)[None], 0)[0]
        fire = fires(model, gate, depth, threshold) & band
        helps = band & (np.abs(chosen - ref) < np.abs(inp - ref))
        for i, out in enumerate((np.where(helps, chosen, inp), np.where(fire, best, inp))):
            sse[i] += np.sum(((out - ref) ** 2)[keep])
        count += int(keep.sum())
    peak = depth_peak(frames[0][1])
    gate_psnr, pick_psnr = (psnr_from_mse(v, peak) for v in sse / count)
    return gate_psnr, pick_psnr


GROSS = 50 / 255  # an error of at least this share of the peak: the wrong side of a depth edge
KINDS = ("kept wrong", "moved right", "changed, still wrong")


def breakdown(model, frames, threshold: float, band_step: float) -> dict[str, dict[str, float]]:
    """Where a row's squared error lies, at one setting: for each kind of pixel in :data:`KINDS`
    (input wrong and output = input; input right and output changed; input wrong, output changed
    and still wrong), its share of the scored pixels (``pixels``), its share of the row's squared
    error (``error``) and the share of the row's squared error from its gross pixels, off by
    :data:`GROSS` of the peak or more (``gross``). The output is the model's hard output at
    ``threshold`` / ``band_step`` (as :func:`sweep`); pixels the output has right carry no error and
    are in no kind."""
    counts = {k: np.zeros(3) for k in KINDS}
    total_se, total_px = 0.0, 0
    for color, depth, gt, *valid in frames:
        keep = valid[0] if valid and valid[0] is not None else np.ones(gt.shape, bool)
        gate, chosen = gate_and_choice(model, color, depth)
        inp, ref = depth.astype(np.float64), gt.astype(np.float64)
        out = np.where(fires(model, gate, depth, threshold) & band_mask(model, depth, band_step), chosen, inp)
        se = (out - ref) ** 2
        gross = np.abs(out - ref) >= GROSS * depth_peak(depth)
        wrong, changed = inp != ref, out != inp
        masks = (wrong & ~changed, ~wrong & changed, wrong & changed & (out != ref))
        for kind, m in zip(KINDS, masks):
            m = m & keep
            counts[kind] += (m.sum(), se[m].sum(), se[m & gross].sum())
        total_se += float(se[keep].sum())
        total_px += int(keep.sum())
    return {k: {"pixels": c[0] / total_px, "error": c[1] / total_se if total_se else 0.0,
                "gross": c[2] / total_se if total_se else 0.0} for k, c in counts.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="igde-small", help="registered name (shipped weights) or a select checkpoint")
    p.add_argument("--scenes", type=int, default=4, help="validation scenes (one frame each) per size and error type")
    p.add_argument("--first-seed", type=int, default=500,
                   help="skip this many val seeds (the first ones are training's validation crops)")
    p.add_argument("--sizes", nargs="+", type=size_arg, default=[(960, 540), (480, 270)], metavar="WxH")
    p.add_argument("--errors", nargs="+", default=["paper", "mix", "inflate-reduce", "soft", "misregistration",
                                                     "holes", "lowres"])
    p.add_argument("--thresholds", nargs="+", type=float, default=[0.1, 0.2, 0.3, 0.5, 0.7])
    p.add_argument("--band-steps", nargs="+", type=float, default=[0.0, 1.5, 2.5, 4.5],
                   help="edge band steps in 8-bit levels (0: no band)")
    p.add_argument("--pick-temperatures", nargs="+", type=float, default=None, metavar="T",
                   help="also sweep the pick rule (IGDEConfig.pick_temperature; 0 = argmax): settings "
                        "'T<t> band/threshold' (default: the model's own rule)")
    p.add_argument("--steep-planes", type=int, default=0, metavar="N",
                   help="add 1..N steep planes (1-4 levels/px) to every val scene (0: none)")
    p.add_argument("--icl", action="store_true", help="also print the ICL-NUIM rows (test data, not used to choose)")
    p.add_argument("--real-scene", nargs=2, action="append", default=[], metavar=("COLOR", "DISPARITY"),
                   help="a real validation pair (colour image + disparity PNG, 0 = unknown; never one the "
                        "test tables score): its rows count apart, as 'real'; repeatable")
    p.add_argument("--real-scale", type=float, default=0.5, help="shrink the --real-scene pairs by this factor")
    p.add_argument("--real-frames", type=int, default=2,
                   help="frames per --real-scene pair and error type, each a new draw of the errors on the "
                        "same photograph (more draws: a steadier row; the first ones stay as they were)")
    p.add_argument("--oracle", action="store_true",
                   help="also score each row with a perfect gate and with a perfect pick, at the first "
                        "setting (first temperature, band step and threshold): which of the two holds it back")
    p.add_argument("--breakdown", action="store_true",
                   help="say where each row's squared error lies at the first setting (kept wrong, moved "
                        "right, changed but still wrong; gross parts)")
    p.add_argument("--zero-holes", choices=("model", "on", "off"), default="model",
                   help="score with IGDEConfig.zero_holes on or off (depth 0 a hole: always replaced in the "
                        "band, never picked); default: the model's own setting")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None, help="JSON of every row and setting")
    args = p.parse_args(argv)
    prog = "tune_gate.py"
    if not all(0 < t < 1 for t in args.thresholds):
        p.error("--thresholds must lie in (0, 1)")
    if args.pick_temperatures is not None and not all(0 <= t <= 10 for t in args.pick_temperatures):
        p.error("--pick-temperatures must lie in [0, 10]")
    if not all(0 <= b < 255 for b in args.band_steps):
        p.error("--band-steps must lie in [0, 255)")
    if args.scenes < 1 or args.first_seed < 0 or args.threads < 1 or args.steep_planes < 0 or args.real_frames < 1:
        p.error("--scenes, --threads and --real-frames must be at least 1, --first-seed and --steep-planes at least 0")
    if min(min(s) for s in args.sizes) < 32:
        p.error("--sizes must be at least 32x32")
    if not 0 < args.real_scale <= 1:
        p.error(f"--real-scale must be in (0, 1], got {args.real_scale}")
    if args.out and Path(args.out).is_dir():
        p.error(f"--out {args.out} is a directory; give a .json file")
    if args.out and (held := next((a for a in Path(args.out).parents if a.exists()), None)) and not held.is_dir():
        p.error(f"--out {args.out}: {held} is a file, not a folder")  # the folders are made at the end of the run

    import torch

    from igde_stream.data import (
        ERROR_TYPES, SceneConfig, error_type_config, make_sequence, split_seeds, steep_range,
    )
    from igde_stream.evaluation import DEFAULT_ICL, disparity_file_sequence, icl_nuim_sequence, load_model
    from igde_stream.real_frames import real_scene_problem

    known = list(ERROR_TYPES)
    if set(args.errors) - set(known):
        p.error(f"--errors: unknown {sorted(set(args.errors) - set(known))}; known: {', '.join(known)}")
    torch.set_num_threads(args.threads)
    try:
        model = load_model(args.model)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if not getattr(getattr(model, "head", None), "gate", False):
        print(f"{prog}: error: {args.model} has no gated select head", file=sys.stderr)
        return 2
    if args.zero_holes != "model":
        model.head.zero_holes = args.zero_holes == "on"
        model.config = dataclasses.replace(model.config, zero_holes=model.head.zero_holes)
    if model.config.passes != 1:
        print(f"{prog}: error: {args.model} runs {model.config.passes} passes; the sweep scores one "
              "(export it with --override passes=1)", file=sys.stderr)
        return 2
    for pair in args.real_scene:  # a bad pair stops here, before any row
        why = real_scene_problem(*pair, scale=args.real_scale)
        if why:
            p.error(f"--real-scene: {why}")
    try:
        seeds = split_seeds("val", args.first_seed + args.scenes)[args.first_seed:]
    except ValueError as exc:
        p.error(str(exc))
    rows: list[dict] = []
    temps = [None] if args.pick_temperatures is None else args.pick_temperatures

    def key(temp, b, t):
        return f"{b:g}/{t:g}" if temp is None else f"T{temp:g} {b:g}/{t:g}"

    settings = [key(T, b, t) for T in temps for b in args.band_steps for t in args.thresholds]
    print("setting (" + ("" if temps == [None] else "pick temperature ") + "band_step / threshold): "
          + "  ".join(settings))
    for err in args.errors:
        splits = [(f"val {w}x{h}", "val", (w, h)) for w, h in args.sizes]
        splits += [(None, "real", pair) for pair in args.real_scene]
        if args.icl:
            splits += [("ICL-NUIM 640x480", "icl", 1.0), ("ICL-NUIM 320x240", "icl", 0.5)]
        for label, kind, arg in splits:
            if kind == "real":
                seq = disparity_file_sequence(*arg, error_type_config(err), frames=args.real_frames,
                                              scale=args.real_scale)
                label = f"{seq.name} {seq.gt.shape[2]}x{seq.gt.shape[1]}"
                frames = list(zip(seq.color, seq.depth, seq.gt, seq.valid))
            elif kind == "val":
                cfg = SceneConfig(width=arg[0], height=arg[1], frames=1, textures="mixed",
                                  steep_planes=steep_range(args.steep_planes))
                seqs = [make_sequence(s, cfg, error_type_config(err), 8) for s in seeds]
                frames = [(s.color[0], s.depth[0], s.gt[0], None) for s in seqs]
            else:
                seq = icl_nuim_sequence(DEFAULT_ICL, error_type_config(err), scale=arg)
                if seq is None:
                    continue
                frames = [(c, d, g, None) for c, d, g in zip(seq.color, seq.depth, seq.gt)]
            scores: dict[str, float] = {}
            if args.oracle:
                if temps[0] is not None:
                    model.head.pick_temperature = float(temps[0])
                both = oracle(model, frames, args.thresholds[0], args.band_steps[0])
            if args.breakdown:
                if temps[0] is not None:
                    model.head.pick_temperature = float(temps[0])
                parts = breakdown(model, frames, args.thresholds[0], args.band_steps[0])
            for temp in temps:
                if temp is not None:
                    model.head.pick_temperature = float(temp)
                psnr = sweep(model, frames, args.thresholds, args.band_steps)
                scores.update({key(temp, b, t): float(psnr[i, j]) for i, b in enumerate(args.band_steps)
                               for j, t in enumerate(args.thresholds)})
            inp = mean_psnr([mse(d, g, valid) for _, d, g, valid in frames], depth_peak(frames[0][1]))
            rows.append({"errors": err, "data": label, "kind": kind, "input": float(inp), "psnr": scores})
            line = f"{err:15s} {label:17s} input {inp:6.2f} | " + " ".join(f"{v:6.2f}" for v in scores.values())
            if args.oracle:
                rows[-1]["oracle"] = {"setting": settings[0], "gate": float(both[0]), "pick": float(both[1])}
                line += f" | perfect gate {both[0]:6.2f}, perfect pick {both[1]:6.2f}"
            if args.breakdown:
                rows[-1]["breakdown"] = {"setting": settings[0], **parts}
                line += " | " + ", ".join(f"{k} {100 * v['error']:.0f} % (gross {100 * v['gross']:.0f} %)"
                                          for k, v in parts.items())
            print(line, flush=True)
    summary = {}
    for kind in ("val", "real", "icl"):
        picked = [r for r in rows if r["kind"] == kind]
        if picked:
            summary[kind] = {k: float(np.mean([r["psnr"][k] for r in picked])) for k in picked[0]["psnr"]}
            print(f"mean over {kind} rows:" + " ".join(f" {k} {v:.2f}" for k, v in summary[kind].items()))
    best = max(summary["val"], key=summary["val"].get)
    print(f"best on the val split: {best} ({summary['val'][best]:.2f} dB mean)")
    if args.out:
        record = {"model": str(args.model), "config": dataclasses.asdict(model.config), "rows": rows,
                  "mean": summary, "best_val": best,
                  "command": "python tools/tune_gate.py " + " ".join(argv if argv is not None else sys.argv[1:])}
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        tmp.write_text(json.dumps(record, indent=1))
        tmp.replace(out)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    from igde_stream.cli_logging import run_tool

    sys.exit(run_tool(main, "tune_gate.py"))
