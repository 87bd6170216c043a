"""Build a TensorRT FP16 engine from the exported ONNX (needs TensorRT and an NVIDIA GPU).

    python tools/build_engine.py                                   # shipped igde-small.onnx, opt 4 x 540 x 960
    python tools/build_engine.py --onnx x.onnx --opt 8x1080x1920 --max 8x1088x1920
    python tools/build_engine.py --like-video in_depth.mkv --batch 8   # opt = 8 x that depth's displayed size

The engine, its JSON sidecar (ONNX hash, profile, precision, typing, workspace, optimisation level,
TensorRT version, GPU), the build log and the timing cache go to --engines (default engines/). A
matching engine is reused unless --force; one without a valid sidecar is rebuilt. TensorRT 10
builds with the FP16 flag; TensorRT 11 from an FP16-converted ONNX (float32 I/O kept), strongly typed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing


def _shape(text: str) -> tuple[int, int, int]:
    try:
        n, h, w = (int(v) for v in text.lower().split("x"))
        if min(n, h, w) < 1:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use NxHxW of positive integers, e.g. 4x540x960") from None
    return n, h, w


def _video_size(path: str) -> tuple[int, int]:
    """(H, W) of the frames the model will see from this video: as a player shows them (the display
    matrix applied, as the stream reads them), not as stored."""
    from igde_stream.stream import VideoReader

    with VideoReader(path, "color") as r:
        return r.info.height, r.info.width


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--onnx", help="ONNX file (default: the shipped model's, see --model)")
    p.add_argument("--model", default="igde-small", help="registered variant whose shipped ONNX to use (default: %(default)s)")
    p.add_argument("--engines", default="engines", help="output folder (default: %(default)s)")
    p.add_argument("--precision", choices=("fp16", "fp32"), default="fp16")
    p.add_argument("--min", type=_shape, default=None, help="profile minimum NxHxW (default: 1x64x64)")
    p.add_argument("--opt", type=_shape, default=None, help="profile optimum NxHxW (default: BATCHx540x960 or the video's size)")
    p.add_argument("--max", type=_shape, default=None, help="profile maximum NxHxW (default: 8x1088x1920, grown to cover opt)")
    p.add_argument("--batch", type=int, default=4, help="batch for the default opt shape (default: %(default)s)")
    p.add_argument("--like-video", help="take opt H x W from this video as displayed; give the depth video (the model "
                   "runs on the depth's grid, or on the colour's with --grid color)")
    p.add_argument("--typing", choices=("auto", "weak", "strong"), default="auto")
    p.add_argument("--workspace-gib", type=float, default=4.0)
    p.add_argument("--optimization-level", type=int, choices=range(6), default=3, metavar="0-5",
                   help="TensorRT builder optimisation level (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="rebuild even if a matching engine exists")
    p.add_argument("--verbose", action="store_true", help="verbose TensorRT log (in the .log file)")
    args = p.parse_args(argv)
    if args.batch < 1:
        p.error(f"--batch must be >= 1, got {args.batch}")

    from igde_stream.engine import BuildOptions, EngineBuildError, EngineError, build_engine
    from igde_stream.errors import IGDEError

    # the options first: a mistake in them is the user's, said without TensorRT or a GPU
    try:
        from igde_stream.backends import resolve_model_file

        onnx = Path(args.onnx) if args.onnx else resolve_model_file(args.model, ".onnx")
        if not onnx.is_file():
            raise FileNotFoundError(f"{onnx}: no such ONNX file")
        h, w = _video_size(args.like_video) if args.like_video else (540, 960)
        opt = args.opt or (args.batch, h, w)
        lo = args.min or tuple(min(a, b) for a, b in zip((1, 64, 64), opt))
        hi = args.max or tuple(max(a, b) for a, b in zip((8, 1088, 1920), opt))
        options = BuildOptions(min_shape=lo, opt_shape=opt, max_shape=hi, precision=args.precision,
                               typing=args.typing, workspace_gib=args.workspace_gib,
                               optimization_level=args.optimization_level)
    except (IGDEError, ValueError, FileNotFoundError) as exc:
        print(f"build_engine: error: {exc}", file=sys.stderr)
        return 2
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        print("build_engine: TensorRT is not installed (pip install 'igde-stream[tensorrt]' on a machine with an NVIDIA GPU)",
              file=sys.stderr)
        return 2
    from igde_stream.backends import cuda_gpu

    if cuda_gpu() is None:
        print("build_engine: no CUDA GPU visible (TensorRT engines are built on the GPU that runs them)", file=sys.stderr)
        return 2
    try:
        engine = build_engine(onnx, args.engines, options, force=args.force, verbose=args.verbose)
    except (EngineError, EngineBuildError, IGDEError, ValueError, FileNotFoundError) as exc:
        print(f"build_engine: {exc}", file=sys.stderr)
        return 1
    print(f"engine: {engine}\nsidecar: {engine}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
