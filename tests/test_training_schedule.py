"""The training loop's small functions by hand: the cosine learning rate, the budget's progress in
steps and minutes, the mixed-precision choice, the validation's 8-bit scaling and the gate
threshold calibration's pick and tie-break."""

from __future__ import annotations

import dataclasses
import math
import types

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from igde_stream import training as T


@pytest.mark.parametrize("progress, factor", [(0.0, 1.0), (0.25, (1 + math.sqrt(0.5)) / 2), (0.5, 0.5),
                                              (0.75, (1 - math.sqrt(0.5)) / 2), (1.0, 0.0)])
def test_cosine_learning_rate(progress, factor):
    cfg = types.SimpleNamespace(lr=2e-4, lr_schedule="cosine")
    assert T._lr(cfg, progress) == pytest.approx(2e-4 * factor, abs=1e-15)
    assert T._lr(types.SimpleNamespace(lr=2e-4, lr_schedule="constant"), progress) == 2e-4


def test_progress_is_the_further_of_steps_and_minutes(monkeypatch):
    monkeypatch.setattr(T.time, "perf_counter", lambda: 1000.0 + 45.0)  # 45 s after the start
    cfg = lambda steps, minutes: types.SimpleNamespace(steps=steps, minutes=minutes)  # noqa: E731
    assert T._progress(cfg(100, None), 20, 1000.0) == pytest.approx(0.2)
    assert T._progress(cfg(None, 1.5), 20, 1000.0) == pytest.approx(0.5)  # 45 s of 90
    assert T._progress(cfg(100, 1.5), 20, 1000.0) == pytest.approx(0.5)
    assert T._progress(cfg(100, 1.5), 80, 1000.0) == pytest.approx(0.8)
    assert T._progress(cfg(100, 0.5), 20, 1000.0) == 1.0  # past the time budget: capped


@pytest.mark.parametrize("amp, device, want", [
    ("none", "cuda", None), ("auto", "cpu", None), ("auto", "cuda", torch.bfloat16),
    ("fp16", "cpu", torch.float16), ("bf16", "cuda", torch.bfloat16),
])
def test_mixed_precision_choice(amp, device, want):
    assert T._amp_dtype(types.SimpleNamespace(amp=amp), torch.device(device)) is want


class _Half(torch.nn.Module):
    """Half the red channel plus half the depth, both in [0, 1]."""

    def forward(self, color, depth):
        return 0.5 * color[:, :1] + 0.5 * depth


class _DepthOnly(torch.nn.Module):
    def forward(self, color, depth):
        return depth


def test_validation_scores_the_8_bit_rounded_output():
    """Depth of the red channel's parity, so the model's output (r + d) / 2 is a whole level."""
    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (6, 3, 16, 16)).astype(np.uint8)
    dep = (2 * rng.integers(0, 128, (6, 1, 16, 16)) + color[:, :1] % 2).astype(np.uint8)
    gt = rng.integers(0, 256, (6, 1, 16, 16)).astype(np.uint8)
    batch = tuple(torch.from_numpy(a) for a in (color, dep, gt))
    row = T.validate(_Half(), batch, torch.device("cpu"))  # six frames in chunks of four
    pred = (color[:, 0].astype(np.int64) + dep[:, 0]) // 2
    mse = ((pred - gt[:, 0]) ** 2).mean(axis=(1, 2))
    assert row["psnr"] == pytest.approx(10 * np.log10(255.0 ** 2 / mse.mean()), abs=1e-9)
    assert row["rmse"] == pytest.approx(np.sqrt(mse).mean(), rel=1e-9)
    assert set(row) == {"psnr", "psnr_t", "psnr_f", "ssim", "rmse"}
    ssim = [structural_similarity(gt[k, 0], pred[k].astype(np.uint8), data_range=255, gaussian_weights=True,
                                  sigma=1.5, use_sample_covariance=False) for k in range(6)]
    assert row["ssim"] == pytest.approx(np.mean(ssim), abs=1e-6)
    # a model that returns its depth scores as the input does: the depth is read as level / 255
    same = T.validate(_DepthOnly(), batch, torch.device("cpu"))
    mse_in = ((dep[:, 0].astype(np.int64) - gt[:, 0]) ** 2).mean(axis=(1, 2))
    assert same["psnr"] == pytest.approx(10 * np.log10(255.0 ** 2 / mse_in.mean()), abs=1e-9)


def test_gate_calibration_picks_the_best_and_breaks_ties_towards_half(monkeypatch):
    @dataclasses.dataclass
    class Config:
        gate_threshold: float = 0.5

    model = types.SimpleNamespace(head=types.SimpleNamespace(gate_threshold=0.5), config=Config())
    scores = {0.2: 30.0, 0.3: 31.5, 0.4: 31.0, 0.5: 30.5, 0.6: 30.0, 0.7: 29.0, 0.8: 28.0}
    monkeypatch.setattr(T, "validate", lambda m, *a: {"psnr": scores[m.head.gate_threshold]})
    assert T.calibrate_gate(model, None, torch.device("cpu")) == 0.3
    assert model.head.gate_threshold == 0.3 and model.config.gate_threshold == 0.3
    flat = dict.fromkeys(scores, 30.0)
    monkeypatch.setattr(T, "validate", lambda m, *a: {"psnr": flat[m.head.gate_threshold]})
    assert T.calibrate_gate(model, None, torch.device("cpu")) == 0.5  # all level: the middle one
    lopsided = {**flat, 0.4: 31.0, 0.6: 31.0}
    monkeypatch.setattr(T, "validate", lambda m, *a: {"psnr": lopsided[m.head.gate_threshold]})
    assert T.calibrate_gate(model, None, torch.device("cpu")) in (0.4, 0.6)  # equally near 0.5
