"""FP16 accuracy of a model without a GPU: the network in float16 on the CPU against float32.

    python tools/fp16_cpu.py --model igde-small --model runs/prev27-igde-small.pt --frames 40 --out benchmarks/fp16_cpu

The FP16 step of ``tools/gpu_checks.py`` (per-frame PSNR of the FP16 output against FP32 on the
synthetic test split at 960x540, target >= 50 dB on every frame) for machines without CUDA: the
weights and activations are cast to float16 as ``TorchBackend`` does on CUDA (a selection head
still gathers its output from the float32 depth), and PyTorch's CPU kernels run them. Those kernels
are not cuDNN's (other summation orders and accumulators), so this is an estimate of the CUDA
figure, not that figure: give a model whose CUDA FP16 figure is known beside the one you ask about.
Writes OUT/gpu_checks.json and OUT/gpu_checks.md (the layout of ``tools/gpu_checks.py``), rewritten
after each model. Slow: about 20 s a frame at 960x540 on one core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from igde_stream.backends.torch_backend import TorchBackend, load_torch_model  # noqa: E402
from igde_stream.bench.gpu import psnr_row, run_frames, test_frames  # noqa: E402
from igde_stream.bench.gpu_report import Report  # noqa: E402
from igde_stream.bench.infer import to_inputs  # noqa: E402
from igde_stream.models import weights_hash  # noqa: E402
from igde_stream.models.selection import chooses_input  # noqa: E402


def half_outputs(model: torch.nn.Module, color: np.ndarray, depth: np.ndarray, sparse: bool) -> np.ndarray:
    """``model`` cast to float16 on the CPU, run one frame at a time as ``TorchBackend`` runs FP16."""
    m = load_torch_model(model).eval().half()
    if hasattr(getattr(m, "head", None), "sparse"):
        m.head.sparse = sparse
    gathers = getattr(m, "gathers_input", False)
    outs = []
    with torch.inference_mode():
        for i in range(len(color)):
            c, d = (torch.from_numpy(x) for x in to_inputs(color[i:i + 1], depth[i:i + 1]))
            outs.append(m(c.half(), d.float() if gathers else d.half()).float().numpy())
    return np.concatenate(outs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="registered name or .pt (repeatable; default igde-small)")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--size", default="960x540", help="WxH (default 960x540, as tools/gpu_checks.py)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True, help="folder for gpu_checks.json / .md")
    a = ap.parse_args(argv)
    w, h = (int(v) for v in a.size.lower().split("x"))
    if a.frames < 1 or w < 2 or h < 2 or a.threads < 1:
        ap.error("--frames, --threads must be >= 1 and --size at least 2x2")
    torch.set_num_threads(a.threads)
    color, depth, source = test_frames(a.frames, h, w)
    meta = dict(device_name=f"CPU float16 ({platform.processor() or platform.machine()})",
                date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                command="python tools/fp16_cpu.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
                torch=torch.__version__, cuda="none", cudnn="none", frames=source,
                notes=["float16 on the CPU (PyTorch's CPU kernels, not cuDNN): an estimate of the CUDA FP16 figure"])
    rep = Report(a.out, meta)
    for name in a.model or ["igde-small"]:
        ref_backend = TorchBackend(model=name, device="cpu", precision="fp32", threads=a.threads)
        model = ref_backend.model
        meta["notes"].append(f"{name}: weights {weights_hash(model)}")
        ref = run_frames(ref_backend, color, depth, 1)
        sparse = bool(getattr(ref_backend.options, "sparse", False))
        mode = "fp16 cpu" + (" sparse" if sparse else "")
        psnr_row(rep, name, mode, half_outputs(model, color, depth, sparse), ref, chooses_input(model))
    rep.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
