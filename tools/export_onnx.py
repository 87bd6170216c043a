"""Export an IGDE model to ONNX (inputs color, depth; output depth_out; dynamic N, H, W).

    python tools/export_onnx.py --model igde-small                     # shipped weights -> igde_stream/weights/igde-small.onnx
    python tools/export_onnx.py --checkpoint runs/x/best.pt -o x.onnx  # any checkpoint
    python tools/export_onnx.py --model igde-base --random-init -o base.onnx   # untrained, for benchmarks
    python tools/export_onnx.py --model igde-small --dense-head -o dense.onnx  # no NonZero in the graph
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", default="igde-small", help="registered variant (its shipped weights; default: %(default)s)")
    src.add_argument("--checkpoint", help="a checkpoint written by training (.pt, or any other suffix)")
    p.add_argument("--random-init", action="store_true", help="seeded random weights instead of the shipped ones")
    p.add_argument("-o", "--output", help="ONNX path (default: igde_stream/weights/<model>.onnx; with --checkpoint, "
                   "the checkpoint's path with .onnx; with --random-init, <model>.onnx in the working folder)")
    p.add_argument("--opset", type=int, default=18)
    p.add_argument("--exporter", choices=("auto", "dynamo", "torchscript"), default="auto")
    p.add_argument("--dense-head", action="store_true",
                   help="select head: score every pixel, not only the gated ones (same values; a graph without "
                        "data-dependent shapes, for runtimes that want one)")
    p.add_argument("--channel-multiple", type=int, default=16, metavar="M",
                   help="pad the dense layers' growth channels with zero filters to a multiple of M (the same "
                        "function; fewer layout conversions in ONNX Runtime's CPU convolutions); 0: as trained")
    args = p.parse_args(argv)
    if args.random_init and args.checkpoint:
        p.error("--random-init replaces a model's shipped weights: give it with --model, not --checkpoint")
    if args.channel_multiple < 0:
        p.error(f"--channel-multiple must be >= 0 (0: as trained), got {args.channel_multiple}")

    import torch

    from igde_stream.export import export_onnx, read_metadata
    from igde_stream.models import WEIGHTS_DIR, create_model, load_checkpoint

    try:
        if args.checkpoint:  # read as a checkpoint whatever its suffix (.pth, .ckpt), never as a model name
            model, out = load_checkpoint(args.checkpoint), Path(args.output or Path(args.checkpoint).with_suffix(".onnx"))
        elif args.random_init:
            torch.manual_seed(0)
            model, out = create_model(args.model), Path(args.output or f"{args.model}.onnx")
        else:
            model, out = args.model, Path(args.output or WEIGHTS_DIR / f"{args.model}.onnx")
        export_onnx(model, out, opset=args.opset, exporter=args.exporter, dense_head=args.dense_head,
                    channel_multiple=args.channel_multiple)
    except (ValueError, FileNotFoundError) as exc:  # the user's: a model or file that is not there, a bad option
        print(f"export_onnx.py: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # the export itself failed
        print(f"export_onnx.py: {exc}", file=sys.stderr)
        return 1
    meta = read_metadata(out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {meta.get('variant')} weights {meta.get('weights_hash')}, "
          f"checked against PyTorch with ONNX Runtime")
    return 0


if __name__ == "__main__":
    sys.exit(main())
