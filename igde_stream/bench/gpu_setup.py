"""What the GPU checks (``bench.gpu``) run: the backend settings compared (``MODES``), the TF32
switch of the FP32 reference, the models (shipped weights, else a seeded random init) and the
frames (device-resident structured frames for timing, the synthetic test split for accuracy)."""

from __future__ import annotations

import numpy as np
import torch

from igde_stream.backends.torch_backend import TorchBackend
from igde_stream.bench.infer import structured_frames, to_inputs
from igde_stream.models import create_model, pretrained_path

MODES = {  # label -> TorchBackend options; a selection head is dense unless "sparse"
    "fp32": dict(precision="fp32", channels_last=False, cuda_graph=False, sparse=False),
    "fp16+cl": dict(precision="fp16", channels_last=True, cuda_graph=False, sparse=False),
    "fp16+cl+graph": dict(precision="fp16", channels_last=True, cuda_graph=True),
    "fp16+cl+sparse": dict(precision="fp16", channels_last=True, cuda_graph=False, sparse=True),
}


_TF32_DEFAULTS = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)


def set_tf32(on: bool) -> None:
    """Off: true FP32 convolutions (the reference). On: back to PyTorch's defaults (cuDNN may use TF32)."""
    cudnn, matmul = _TF32_DEFAULTS if on else (False, False)
    torch.backends.cudnn.allow_tf32 = cudnn
    torch.backends.cuda.matmul.allow_tf32 = matmul


def load(name: str, notes: list[str]) -> torch.nn.Module:
    if pretrained_path(name).is_file():
        return create_model(name, pretrained=True).eval()
    torch.manual_seed(0)
    notes.append(f"{name}: no shipped weights, seeded random init (seed 0)")
    return create_model(name).eval()


def test_frames(n: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Colour N x H x W x 3 and degraded depth N x H x W uint8: the synthetic test split when
    ``igde_stream.data`` is there (scenes of 8 frames), else structured random frames."""
    try:
        from igde_stream.data import SceneConfig, make_sequence, split_seeds

        per = min(8, n)
        seqs = [make_sequence(seed, SceneConfig(width=w, height=h, frames=per)) for seed in split_seeds("test", -(-n // per))]
        color = np.concatenate([s.color for s in seqs])[:n]
        depth = np.concatenate([s.depth for s in seqs])[:n]
        return color, depth, f"igde_stream.data test split ({len(seqs)} scenes x {per} frames, degraded depth)"
    except Exception as exc:  # module missing or its API moved: say so and fall back
        print(f"igde_stream.data unavailable ({exc!r}); using structured random frames", flush=True)
    color, depth = structured_frames(n, h, w, seed=123)
    return color, depth, "structured random frames (igde_stream.bench.infer.structured_frames, seed 123)"


def device_frames(n: int, h: int, w: int, device: str, seed: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Structured frames (edges, textures: ``structured_frames``) as model inputs on ``device``: a
    selection head's sparse form costs with the share of pixels its gate fires on, which uniform
    noise (an edge at every pixel) would put at its worst case."""
    c, d = to_inputs(*structured_frames(n, h, w, seed=seed))
    return torch.from_numpy(c).to(device), torch.from_numpy(d).to(device)


def run_frames(backend: TorchBackend, color: np.ndarray, depth: np.ndarray, batch: int) -> np.ndarray:
    """``backend``'s output on uint8 frames (colour N x H x W x 3, depth N x H x W), ``batch`` at a time."""
    return np.concatenate([backend.run(*to_inputs(color[i:i + batch], depth[i:i + batch]))
                           for i in range(0, len(color), batch)])
