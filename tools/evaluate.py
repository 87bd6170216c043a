#!/usr/bin/env python3
"""Evaluate models against the degraded input and OpenCV's guided filter.

Data: the synthetic test split (never trained on), ../shared/data/real/icl_nuim_clean5 (skipped
if missing), the Middlebury 2014 Motorcycle scene that scikit-image ships (a real photograph with
measured disparity; only its measured pixels are scored), any --real-scene pairs and any --clip
(your own colour, degraded depth and ground truth, scored as they are). Writes eval.md
and eval.json to --out and prints the Markdown table. With --views N (default 8; 0: off) a second
table gives the view quality of every method: N views rendered from its depth vs the views from
the ground-truth depth, on every --view-stride-th frame (igde_stream.multiview).

Examples:
  python tools/evaluate.py                                   # the shipped igde-small
  python tools/evaluate.py --model runs/small/best.pt --model igde-small --out runs/eval
  python tools/evaluate.py --sequences 1 --frames 2 --size 320x192 --no-icl --views 0   # quick look
  python tools/evaluate.py --sequences 0 --no-icl --no-middlebury --clip rgb/ depth/ gt/   # your own frames
  python tools/evaluate.py --suite paper --ckpts runs/paper    # Tables I-III into results/
  python tools/evaluate.py --into-json igde_stream/weights/igde-small.json   # record it with the weights
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from igde_stream.cli import size_arg as _size  # noqa: E402  (after the sys.path line)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", default=[], metavar="NAME|PT",
                   help="registered name (shipped weights) or checkpoint; repeatable (default igde-small; "
                        "'none': the input and the filters only)")
    p.add_argument("--sequences", type=int, default=4,
                   help="synthetic test scenes (default: %(default)s; 0: the real data only)")
    p.add_argument("--frames", type=int, default=12)
    p.add_argument("--size", type=_size, default=(960, 540), metavar="WxH")
    p.add_argument("--icl", default=None, help="ICL-NUIM folder (default ../shared/data/real/icl_nuim_clean5)")
    p.add_argument("--no-icl", action="store_true")
    p.add_argument("--icl-scale", type=float, default=1.0,
                   help="shrink the ICL-NUIM frames by this factor (0-1; e.g. 0.5: 320x240)")
    p.add_argument("--no-middlebury", action="store_true",
                   help="leave out the Middlebury 2014 Motorcycle rows (a real photograph with measured "
                        "disparity, from scikit-image)")
    p.add_argument("--real-scene", nargs=2, action="append", default=[], metavar=("COLOR", "DISPARITY"),
                   help="also score a colour image + disparity PNG (0 = unknown, e.g. a Middlebury "
                        "view1.png + disp1.png); repeatable")
    p.add_argument("--real-scale", type=float, default=1.0,
                   help="shrink the --real-scene pairs by this factor (0-1)")
    p.add_argument("--clip", nargs=3, action="append", default=[], metavar=("COLOR", "DEPTH", "GT"),
                   help="also score your own frames as they are (no errors drawn): folders of images (or "
                        "image files) of colour, degraded depth and ground truth, depth larger = nearer, "
                        "8 or 16 bit; every pixel scored, as igde-stream --gt --report does; repeatable")
    p.add_argument("--clip-measured", action="store_true",
                   help="--clip: leave out the pixels whose ground truth is 0 (unmeasured by a sensor), as the "
                        "Middlebury rows leave out their unknown pixels")
    p.add_argument("--steep-planes", type=int, default=0, metavar="N",
                   help="add 1..N steep planes (1-4 levels/px) to every synthetic test scene (0: none)")
    p.add_argument("--no-guided", action="store_true", help="leave out the guided filter row (with --filters none)")
    p.add_argument("--filters", nargs="+", default=["all"], metavar="NAME",
                   help="classical filter rows (igde_stream.filters, tuned defaults): all (default), photo "
                        "(each filter at the settings tuned on a photograph, named <filter>-photo), none (the "
                        "guided filter alone, as older tables), or names")
    p.add_argument("--errors", nargs="+", default=["paper", "mix"], metavar="TYPE",
                   help="boundary error types, one table block each: paper, mix, inflate-reduce, soft, "
                        "misregistration, holes, lowres; held out of training: blur, noise, codec, dropouts, wide "
                        "(inflate / reduce 7-10 px), clean (no error: any change is harm) (default: paper mix)")
    p.add_argument("--views", type=int, default=8, metavar="N",
                   help="view-quality table with N rendered views (default: %(default)s; 0: leave it out)")
    p.add_argument("--view-stride", type=int, default=4, metavar="K",
                   help="view quality on every K-th frame (default: %(default)s)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, help="CPU threads (torch, or ONNX Runtime with --backend onnxruntime)")
    p.add_argument("--backend", default="torch", choices=["torch", "onnxruntime"],
                   help="runs the networks: torch on --device, or onnxruntime on the cpu (~3x torch there)")
    p.add_argument("--out", default=None, help="default runs/eval (results/ with --suite paper)")
    p.add_argument("--into-json", metavar="JSON",
                   help="also store the result under 'evaluation' in JSON (e.g. the shipped weights' sidecar)")
    p.add_argument("--wide-errors", action="store_true",
                   help="each model once more with igde-stream's --wide-errors (a pass at half size first)")
    p.add_argument("--suite", choices=["paper"], help="paper: Tables I-III of igde_stream.paper")
    p.add_argument("--ckpts", default=["runs/paper"], nargs="+",
                   help="--suite paper: folder(s) of tools/paper_suite.py train, one per seed")
    args = p.parse_args(argv)
    if args.clip_measured and not args.clip:
        p.error("--clip-measured applies to --clip; give one")
    if args.views < 0 or args.view_stride < 1:
        p.error("--views must be >= 0 and --view-stride >= 1")
    if not 0 < args.icl_scale <= 1:
        p.error(f"--icl-scale must be in (0, 1], got {args.icl_scale}")
    if args.steep_planes < 0:
        p.error(f"--steep-planes must be >= 0, got {args.steep_planes}")
    if args.sequences < 0 or (args.sequences == 0 and args.no_icl and args.no_middlebury and not args.real_scene
                              and not args.clip):
        p.error("--sequences must be >= 0, and with 0 some real data must stay (ICL-NUIM, Middlebury, --real-scene "
                "or --clip)")
    if not 0 < args.real_scale <= 1:
        p.error(f"--real-scale must be in (0, 1], got {args.real_scale}")
    if args.suite == "paper":
        from igde_stream.evaluation import DEFAULT_ICL
        from igde_stream.paper import evaluate_suite

        evaluate_suite(args.ckpts, args.out or "results", device=args.device, sequences=args.sequences,
                       frames=args.frames, size=args.size, icl=None if args.no_icl else (args.icl or DEFAULT_ICL),
                       backend=args.backend, threads=args.threads)
        return 0
    args.out = args.out or "runs/eval"

    from igde_stream.evaluation import (
        DEFAULT_ICL, markdown_table, standard_evaluation, views_markdown_table, write_report,
    )

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from igde_stream.data.error_types import ERROR_TYPES
    from igde_stream.filters import FILTERS, PHOTO_FILTERS

    if set(args.errors) - set(ERROR_TYPES):
        p.error(f"unknown --errors {sorted(set(args.errors) - set(ERROR_TYPES))}; known: {', '.join(ERROR_TYPES)}")
    groups = {"all": sorted(FILTERS), "photo": sorted(PHOTO_FILTERS)}
    filters = None if args.filters == ["none"] else [n for a in args.filters for n in groups.get(a, [a])]
    known = {*FILTERS, *PHOTO_FILTERS}
    if filters and set(filters) - known:
        p.error(f"unknown --filters {sorted(set(filters) - known)}; known: all, photo, none, {', '.join(sorted(known))}")
    icl = None if args.no_icl else (args.icl or DEFAULT_ICL)
    from igde_stream.real_frames import real_scene_problem

    for pair in args.real_scene:  # a bad pair stops here, before any model runs
        why = real_scene_problem(*pair, scale=args.real_scale)
        if why:
            p.error(f"--real-scene: {why}")
    from igde_stream.eval_clips import clip_sequence

    clips = []
    for trio in args.clip:  # read once, here: a bad clip stops before any model runs
        try:
            clips.append(clip_sequence(*trio, measured_only=args.clip_measured))
        except ValueError as exc:
            p.error(f"--clip: {exc}")
    try:
        models = [] if args.model == ["none"] else args.model or ["igde-small"]
        rows, meta = standard_evaluation(models, sequences=args.sequences,
                                         frames=args.frames, size=args.size, icl=icl, device=args.device,
                                         guided=not args.no_guided, views=args.views, view_stride=args.view_stride,
                                         backend=args.backend, threads=args.threads, filters=filters,
                                         errors=args.errors, icl_scale=args.icl_scale,
                                         steep_planes=args.steep_planes, middlebury=not args.no_middlebury,
                                         real_scenes=[tuple(x) for x in args.real_scene],
                                         real_scale=args.real_scale, wide_errors=args.wide_errors, clips=clips)
    except ValueError as exc:  # e.g. --sequences 0 and no real data found
        p.error(str(exc))
    meta["command"] = "python tools/evaluate.py " + " ".join(argv if argv is not None else sys.argv[1:])
    paths = write_report(args.out, rows, meta)
    if args.into_json:
        import json

        target = Path(args.into_json)
        record = json.loads(target.read_text()) if target.is_file() else {}
        record["evaluation"] = json.loads(paths["json"].read_text())
        tmp = target.with_name(target.name + ".part")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.replace(target)
        print(f"stored the table in {target}")
    print(markdown_table(rows))
    if meta.get("view_quality"):
        print(views_markdown_table(meta["view_quality"]))
    print(f"wrote {paths['markdown']} and {paths['json']}")
    return 0


if __name__ == "__main__":
    from igde_stream.cli_logging import run_tool

    sys.exit(run_tool(main, "evaluate.py"))
