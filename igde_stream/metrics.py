"""Quality metrics (paper section 4.2) on NumPy arrays; one formula per function.

Inputs are arrays of equal shape (any numeric dtype; computed in float64). ``peak`` is the largest
possible value: 255 for 8-bit depth, 65535 for 16-bit, or the stated maximum depth. Identical inputs
give PSNR = inf, returned as ``math.inf``; averaging over frames goes through ``mean_psnr`` (mean MSE,
then convert), never through an average of PSNR values.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import cv2
import numpy as np

ERROR_THRESHOLD = 0  # a pixel is an "error" pixel when |input - gt| > this (in depth units)


def mse(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean of (pred - gt)^2, over ``mask`` pixels when given (nan for an empty mask)."""
    _check(pred, gt)
    diff = pred.astype(np.float64) - gt.astype(np.float64)
    if mask is not None:
        diff = diff[np.broadcast_to(mask.astype(bool), diff.shape)]
        if diff.size == 0:
            return math.nan
    return float(np.mean(diff * diff))


def psnr_from_mse(value: float, peak: float = 255.0) -> float:
    """PSNR = 10 log10(peak^2 / MSE); inf for MSE = 0, nan for nan."""
    if math.isnan(value):
        return math.nan
    if value == 0:
        return math.inf
    return 10.0 * math.log10(peak * peak / value)


def psnr(pred: np.ndarray, gt: np.ndarray, peak: float = 255.0, mask: np.ndarray | None = None) -> float:
    """(12) PSNR = 10 log10(peak^2 / MSE), MSE over all pixels or over ``mask``."""
    return psnr_from_mse(mse(pred, gt, mask), peak)


def error_mask(inp: np.ndarray, gt: np.ndarray, threshold: float = ERROR_THRESHOLD) -> np.ndarray:
    """Boolean map of "error" pixels: where the degraded input differs from the ground truth."""
    _check(inp, gt)
    return np.abs(inp.astype(np.float64) - gt.astype(np.float64)) > threshold


def psnr_split(
    pred: np.ndarray, gt: np.ndarray, inp: np.ndarray, peak: float = 255.0,
    threshold: float = ERROR_THRESHOLD,
) -> tuple[float, float]:
    """(PSNRt, PSNRf): PSNR over pixels the input had right, and over the input's error pixels.

    PSNRt shows damage done to correct pixels; PSNRf shows repair. nan when a set is empty.
    """
    err = error_mask(inp, gt, threshold)
    return psnr(pred, gt, peak, ~err), psnr(pred, gt, peak, err)


def rmse(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """(16) RMSE = sqrt(mean (pred - gt)^2), in depth units; over ``mask`` pixels when given."""
    return math.sqrt(mse(pred, gt, mask))


def ssim(pred: np.ndarray, gt: np.ndarray, peak: float = 255.0, mask: np.ndarray | None = None) -> float:
    """(14)-(15) mean SSIM of two 2-D maps (over the ``mask`` pixels of the SSIM map when given;
    the windows still read every pixel).

    Gaussian window 11 x 11, sigma 1.5 (symmetric borders), C1 = (0.01 peak)^2, C2 = (0.03 peak)^2,
    C3 = C2 / 2 (which folds the contrast and structure terms into the usual two-factor form); the
    mean is taken away from a 5-pixel border, as scikit-image does.
    """
    _check(pred, gt)
    if pred.ndim != 2:
        raise ValueError(f"ssim expects 2-D maps, got shape {pred.shape}")
    x = pred.astype(np.float64)
    y = gt.astype(np.float64)
    c1 = (0.01 * peak) ** 2
    c2 = (0.03 * peak) ** 2

    def blur(a: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(a, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    pad = 5
    if min(s.shape) > 2 * pad:
        s = s[pad:-pad, pad:-pad]
        mask = None if mask is None else np.asarray(mask, bool)[pad:-pad, pad:-pad]
    if mask is None:
        return float(s.mean())
    keep = np.broadcast_to(np.asarray(mask, bool), s.shape)
    return float(s[keep].mean()) if keep.any() else math.nan


def temporal_stability(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray]) -> float:
    """Mean |(p_t - p_{t-1}) - (g_t - g_{t-1})| over consecutive frames (lower is better).

    Flicker the ground truth does not have. nan for fewer than two frames.
    """
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predictions but {len(gts)} ground-truth frames")
    if len(preds) < 2:
        return math.nan
    total = 0.0
    for t in range(1, len(preds)):
        dp = preds[t].astype(np.float64) - preds[t - 1].astype(np.float64)
        dg = gts[t].astype(np.float64) - gts[t - 1].astype(np.float64)
        total += float(np.mean(np.abs(dp - dg)))
    return total / (len(preds) - 1)


def mean_psnr(mses: Iterable[float], peak: float = 255.0) -> float:
    """PSNR of the mean MSE over frames (the design's way to average PSNR; nan frames skipped)."""
    vals = [m for m in mses if not math.isnan(m)]
    return psnr_from_mse(float(np.mean(vals)), peak) if vals else math.nan


def psnr_torch(pred, gt, peak: float = 1.0):
    """Batch PSNR for training-time validation: torch tensors N x ..., returns N values (inf if equal)."""
    import torch

    m = (pred.float() - gt.float()).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(peak**2 / m)


def _check(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
