#!/usr/bin/env python3
"""Train an IGDE (or any registered) model on synthetic Scene-Flow-like crops; or ship a checkpoint.

Examples:
  python tools/train.py --model igde-tiny --steps 20 --crop 64x64 --batch 2 --workers 0 --out runs/smoke
  python tools/train.py --model igde-small --device cuda --minutes 5 --workers 12 --batch 16 \\
      --crop 256x256 --out runs/small
  python tools/train.py --model igde-small --override color_taps=0 --loss-weights 1,1,0 --steps 2000
  python tools/train.py --out runs/small --resume --steps 4000          # continue to 4000 steps
  python tools/train.py --export runs/small/best.pt --to igde_stream/weights/igde-small.pt
  python tools/train.py --average runs/a-last.pt runs/b-last.pt --to runs/ab.pt   # mean of two seeds' weights
"""

from __future__ import annotations

import argparse
import ast
import math
import shlex
import sys
from typing import Any
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _size(text: str) -> tuple[int, int]:
    from igde_stream.cli import pair_arg

    return pair_arg(text, "HxW", "256x256")


def _override(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def _weights(text: str) -> tuple[float, float, float]:
    parts = text.split(",")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected a,b,c like 1,1,1, got {text!r}")
    return tuple(float(x) for x in parts)  # type: ignore[return-value]


def _scale_range(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        lo, hi = (float(x) for x in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO,HI like 0.35,1, got {text!r}") from None
    return lo, hi


def main(argv: list[str] | None = None) -> int:
    from igde_stream.data.error_types import MIX_MAX_WIDTH

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="igde-small", help="registered model name or a .pt to fine-tune")
    p.add_argument("--override", type=_override, action="append", default=[], metavar="KEY=VALUE",
                   help="model config override, repeatable (e.g. color_taps=0); on a .pt, settings that keep "
                        "its weights, or full_convs / g grown from its own function (e.g. g=16)")
    p.add_argument("--loss-weights", type=_weights, default=(1.0, 1.0, 1.0), metavar="A,B,C",
                   help="weights of L_depth, L_focal, L_sobel (default 1,1,1)")
    p.add_argument("--steps", type=int, help="total optimizer steps")
    p.add_argument("--minutes", type=float, help="wall-clock budget of this invocation")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=_size, default=(256, 256), metavar="HxW")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--lr-schedule", choices=("constant", "cosine"), default="constant")
    p.add_argument("--l2-weight", type=float, default=10.0,
                   help="scale of the MSE warm-up loss; 0 = the paper's loss (5) only")
    p.add_argument("--l2-warmup", type=float, default=1.0,
                   help="fraction of the budget over which the loss goes from MSE to loss (5)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--amp", choices=("auto", "bf16", "fp16", "none"), default="auto")
    p.add_argument("--head-init-scale", type=float, default=0.1,
                   help="scale of a fresh residual model's last-conv init (1 = as built)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    p.add_argument("--threads", type=int, help="torch CPU threads of the main process")
    p.add_argument("--out", default="runs/train")
    p.add_argument("--resume", nargs="?", const="auto", metavar="CKPT",
                   help="continue from CKPT (default <out>/last.pt): step count, optimizer, log")
    p.add_argument("--val-every", type=int, default=200)
    p.add_argument("--val-samples", type=int, default=8)
    p.add_argument("--ckpt-every", type=int, default=500)
    p.add_argument("--textures", choices=("procedural", "photo", "mixed"), default="mixed")
    p.add_argument("--frames-per-scene", type=int, default=2, help="frames rendered per generated scene")
    p.add_argument("--crops-per-frame", type=int, default=8, help="crops cut from each rendered frame")
    p.add_argument("--cache-scenes", type=int, default=0,
                   help="render this many train scenes once into a crop cache and sample it (0: render on the fly)")
    p.add_argument("--cache-dir", default="runs/cache")
    p.add_argument("--scene-scale", type=_scale_range, default=(1.0, 1.0), metavar="LO,HI",
                   help="crop cache: render each scene at 960x540 times a factor drawn log-uniformly "
                        "from LO..HI (default 1,1: one scale)")
    p.add_argument("--mix", action=argparse.BooleanOptionalAction, default=True,
                   help="mix the real-world boundary error types per scene (default; validation on the mix "
                        "preset); --no-mix: the paper's inflate / reduce alone")
    p.add_argument("--color-blur", type=float, default=0.0, help="max sigma of a random colour-frame blur")
    p.add_argument("--color-codec", type=float, default=0.0,
                   help="crop cache: share of colour frames given sensor noise and a JPEG round trip (0-1)")
    p.add_argument("--color-antialias", type=float, default=0.0, metavar="P",
                   help="crop cache: share of scenes rendered at twice the size, colour area-averaged and "
                        "depth sampled down (anti-aliased colour edges; depth edges up to a pixel off them)")
    p.add_argument("--color-warp", type=float, default=0.0, metavar="PX",
                   help="crop cache: resample each colour frame along a smooth random displacement field of "
                        "at most PX pixels (drawn per frame from 0..PX); colour edges wander off the depth edges")
    p.add_argument("--color-warp-share", type=float, default=1.0, metavar="P",
                   help="with --color-warp: share of the frames warped (drawn per frame); the rest keep exact colour")
    p.add_argument("--depth-blur", type=float, default=0.0, metavar="P",
                   help="crop cache: share of frames whose degraded depth is blurred (Gaussian, sigma 0.5-2 px; "
                        "a monocular estimator's smooth map)")
    p.add_argument("--color-rim", type=float, default=0.0, metavar="P",
                   help="crop cache: share of frames given a 1-4 px darkened / brightened band inside the nearer "
                        "object's outlines and, on half of them, sharpening halos (real photographs' edge detail)")
    p.add_argument("--photo-scenes", type=float, default=0.0, metavar="P",
                   help="crop cache: share of scenes that are photographs with depth planes on their segments "
                        "(depth edges on real outlines; scikit-image's sample photographs plus --photo-dir)")
    p.add_argument("--photo-dir", default="", metavar="DIR",
                   help="with --photo-scenes: a folder of further photographs (png, jpg, ...) for the photo scenes")
    p.add_argument("--photo-errors", type=lambda t: tuple(x for x in t.split(",") if x), default=(), metavar="T,T",
                   help="with --photo-scenes and --mix: the boundary error types of the photo scenes' mix "
                        "(e.g. soft,lowres; default: all)")
    p.add_argument("--mix-max-width", type=int, default=MIX_MAX_WIDTH, metavar="W",
                   help="crop cache with --mix: the widest inflate / reduce error the mix draws, 2..16 px "
                        "(default: %(default)s); wider than the candidate radius needs --override radius=R")
    p.add_argument("--mix-clean", type=float, default=0.0, metavar="P",
                   help="crop cache with --mix: the share of scenes left without any boundary error, in [0, 1) "
                        "(default: %(default)s), so the gate also sees right edges to leave alone")
    p.add_argument("--mix-clean-aligned", action="store_true",
                   help="with --mix-clean: those scenes keep their colour aligned with the depth (no --color-warp)")
    p.add_argument("--steep-planes", type=int, default=0, metavar="N",
                   help="add 1..N steep planes (1-4 levels/px, depth-tested) to every training scene (0: none)")
    p.add_argument("--limbs", type=int, default=0, metavar="N",
                   help="grow 0..N thin parts (1-6 px, any angle) out of each solid layer of the training scenes")
    p.add_argument("--temperature-start", type=float, default=1.0,
                   help="soft/select heads: first softmax temperature (a fine-tune starts where its model ended)")
    p.add_argument("--temperature-end", type=float, default=1.0, help="soft/select heads: final softmax temperature")
    p.add_argument("--hard-start", type=float, default=1.0,
                   help="select head: budget fraction after which the straight-through hard output enters the loss")
    p.add_argument("--hard-share", type=float, default=0.5, help="its share of the output loss")
    p.add_argument("--gate-weight", type=float, default=0.1, help="select head: weight of the gate BCE")
    p.add_argument("--refine-share", type=float, default=0.0,
                   help="select head: share of each batch that starts from the model's own output (trains passes > 1)")
    p.add_argument("--gate-target", default="wrong", metavar="{wrong,improves}",
                   help="select head: the gate BCE's target: the input pixel is wrong (default), or the "
                        "head's own pick would lower its error")
    p.add_argument("--ce-weight", type=float, default=0.0, help="soft/select heads: weight of the candidate CE")
    p.add_argument("--flip-train", action="store_true",
                   help="select head with flip_average: train the scores averaged with the mirrored run's, as "
                        "they ship (twice the step time)")
    p.add_argument("--distill", metavar="MODEL",
                   help="select head: also learn the scores and gate of this teacher (a shipped name, e.g. "
                        "igde-small-hq, or a .pt) on the same crops")
    p.add_argument("--distill-weight", type=float, default=1.0, help="weight of the distillation loss")
    p.add_argument("--supervised-weight", type=float, default=1.0,
                   help="weight of the losses against the truth (0 with --distill: distillation alone)")
    p.add_argument("--profile-data", type=int, metavar="N",
                   help="only time the crop generator on N samples (one process) and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--export", metavar="CKPT", help="ship CKPT's weights (no optimizer) instead of training; needs --to")
    p.add_argument("--to", metavar="PT", help="with --export / --average: destination .pt (a .json is written beside)")
    p.add_argument("--average", nargs=2, metavar=("FIRST", "SECOND"),
                   help="ship the weight average (1 - share) * FIRST + share * SECOND of two models of one "
                        "architecture (checkpoints or shipped .pt) instead of training; needs --to")
    p.add_argument("--share", type=float, default=0.5, help="with --average: SECOND's share (default: %(default)s)")
    args = p.parse_args(argv)
    command = "python tools/train.py " + shlex.join(sys.argv[1:] if argv is None else argv)

    if args.export:
        from igde_stream.shipping import export_weights

        if not args.to:  # no guessed destination: one under igde_stream/weights/ could replace shipped weights
            p.error("--export needs --to (the destination .pt)")
        try:  # a missing or unreadable checkpoint, a bad record or override: one line, exit 2
            meta = export_weights(args.export, args.to, overrides=dict(args.override),
                                  extra={"export_command": command})
        except (FileNotFoundError, ValueError, TypeError) as e:
            p.error(str(e))
        _wrote(args.to, meta)
        return 0
    if args.average:
        from igde_stream.shipping import average_weights

        if not args.to:
            p.error("--average needs --to (the destination .pt)")
        try:  # a missing checkpoint, two architectures, a share out of range: one line, exit 2
            meta = average_weights(*args.average, args.to, share=args.share, overrides=dict(args.override),
                                   extra={"command": command})
        except (FileNotFoundError, ValueError, TypeError) as e:
            p.error(str(e))
        _wrote(args.to, meta)
        return 0
    if args.steps is None and args.minutes is None:
        p.error("give --steps and/or --minutes")

    from igde_stream.training import TrainConfig, TrainSetupError, train

    fields = dict(
        model=args.model, overrides=dict(args.override), loss_weights=args.loss_weights,
        steps=args.steps, minutes=args.minutes, batch=args.batch, crop=args.crop, lr=args.lr,
        lr_schedule=args.lr_schedule, l2_weight=args.l2_weight, l2_warmup=args.l2_warmup, device=args.device, amp=args.amp, seed=args.seed,
        workers=args.workers, threads=args.threads, out=args.out, resume=args.resume,
        val_every=args.val_every, val_samples=args.val_samples, ckpt_every=args.ckpt_every,
        textures=args.textures, progress=not args.quiet, head_init_scale=args.head_init_scale,
        frames_per_scene=args.frames_per_scene, crops_per_frame=args.crops_per_frame,
        cache_scenes=args.cache_scenes, cache_dir=args.cache_dir, mix=args.mix, color_blur=args.color_blur,
        color_codec=args.color_codec, color_antialias=args.color_antialias, color_warp=args.color_warp,
        color_warp_share=args.color_warp_share, depth_blur=args.depth_blur, color_rim=args.color_rim, scene_scale=args.scene_scale,
        photo_share=args.photo_scenes, photo_dir=args.photo_dir, photo_errors=args.photo_errors,
        mix_max_width=args.mix_max_width, mix_clean=args.mix_clean,
        mix_clean_aligned=args.mix_clean_aligned,
        temperature_start=args.temperature_start, temperature_end=args.temperature_end, hard_start=args.hard_start, hard_share=args.hard_share,
        gate_weight=args.gate_weight, gate_target=args.gate_target, ce_weight=args.ce_weight, flip_train=args.flip_train, refine_share=args.refine_share,
        steep_planes=args.steep_planes, limbs=args.limbs, distill=args.distill,
        distill_weight=args.distill_weight, supervised_weight=args.supervised_weight, command=command,
    )
    try:  # a setting out of range is one line and exit 2
        if args.resume:  # the run's own settings, with what this command changes explicitly
            cfg = _resumed(p, fields, argv if argv is not None else sys.argv[1:])
        else:
            cfg = TrainConfig(**fields)
    except ValueError as e:
        p.error(str(e))
    if args.profile_data:
        from igde_stream.data.dataset import profile_data

        ms = profile_data(cfg.crop_config(), cfg.seed, args.profile_data)
        print(f"crop generator: {ms:.1f} ms of CPU per sample (one process, crop {cfg.crop[0]}x{cfg.crop[1]}); "
              f"{args.workers} workers give about {1000 * max(args.workers, 1) / ms:.0f} samples/s")
        return 0
    from igde_stream.signals import Terminated, signals_raise, stopped

    try:
        with signals_raise():  # SIGTERM as Ctrl-C: both save last.pt before the run ends
            train(cfg, invocation=command)
    except TrainSetupError as e:  # nothing written yet: one line and exit 2
        p.error(str(e))
    except KeyboardInterrupt as e:
        step = getattr(e, "saved_step", None)  # set where train() saved last.pt on the way out
        kept = (f"{cfg.out}/last.pt holds step {step}: continue with "
                f"{_resume_options(cfg, getattr(e, 'saved_seconds', 0.0))}" if step is not None
                else "stopped outside the training steps; no checkpoint was written on the way out")
        return stopped("train.py", "term" if isinstance(e, Terminated) else "int", kept)
    return 0


def _resume_options(cfg: Any, trained_s: float) -> str:
    """The options that continue a cut-off run to the end of its budget: a resume gives its own
    ``--steps`` / ``--minutes`` (``--minutes`` counts the invocation, so what is left of it)."""
    budget = [] if cfg.steps is None else ["--steps", str(cfg.steps)]
    if cfg.minutes is not None:
        budget += ["--minutes", f"{max(math.ceil((cfg.minutes - trained_s / 60) * 10) / 10, 0.1):g}"]
    return shlex.join(["--out", str(cfg.out), "--resume", *budget])


#: argparse destinations whose TrainConfig field has another name
_FIELD_OF = {"override": "overrides", "photo_scenes": "photo_share", "quiet": "progress"}


def _resumed(p: argparse.ArgumentParser, fields: dict[str, Any], argv: list[str]) -> Any:
    """The TrainConfig for ``--resume``: the checkpoint's training settings, with the run's own
    options (``--out``, ``--steps``, ``--minutes``, ``--workers``, ...) and those this command line
    gives (abbreviated too: found by parsing it again with every default suppressed)."""
    from pathlib import Path

    import torch

    from igde_stream.train_config import resumed_config

    for action in p._actions:
        action.default = argparse.SUPPRESS
    given = {_FIELD_OF.get(k, k) for k in vars(p.parse_args(argv))}
    path = Path(fields["out"]) / "last.pt" if fields["resume"] == "auto" else Path(fields["resume"])
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True).get("train_config")
    except FileNotFoundError:
        p.error(f"{path}: no such checkpoint to resume")
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a file that is no checkpoint
        p.error(f"{path}: not an igde-stream checkpoint ({exc.__class__.__name__})")
    cfg, changed = resumed_config(fields, given, saved)
    for line in changed:
        print(f"resume changes {line}", file=sys.stderr)
    return cfg


def _wrote(dest: str, meta: dict) -> None:
    """One line for shipped weights: the files, the run's step (or the seeds averaged) and the hash."""
    made = f"step {meta['steps']}" if meta.get("steps") is not None else f"seeds {meta.get('seeds')}"
    print(f"wrote {dest} and {Path(dest).with_suffix('.json')} ({made}, hash {meta['weights_hash']})")


if __name__ == "__main__":
    sys.exit(main())
