"""PyTorch backend (CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class TorchBackend:
    name = "torch"

    def __init__(self, model: str | Path = "igde-small", device: str | None = None, **_: object) -> None:
        import torch

        from ..models import create_model, load_checkpoint

        p = Path(str(model))
        self.model = load_checkpoint(p) if p.suffix == ".pt" else create_model(str(model), pretrained=True)
        self.device = torch.device(device or "cpu")
        self.model.to(self.device).eval()

    def run(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.model(torch.from_numpy(color).to(self.device), torch.from_numpy(depth).to(self.device))
        return out.float().cpu().numpy()
