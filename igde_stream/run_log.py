"""The run folder's learning curve (``log.csv``) and ``best.pt`` across a resume: a resumed run
drops the rows logged after its checkpoint (they are trained again), keeps counting time from the
seconds already trained, and keeps a better ``best.pt`` saved after ``last.pt``; and the run's
progress bar (``progress_bar``)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import torch

LOG_COLUMNS = ("step", "time_s", "lr", "l2_share", "loss", "samples_per_s",
               "val_psnr", "val_psnr_t", "val_psnr_f", "val_ssim", "val_rmse")
VAL_KEYS = ("psnr", "psnr_t", "psnr_f", "ssim", "rmse")


def best_of(path: Path) -> float:
    """The validation PSNR a ``best.pt`` was saved with (-inf when it cannot say)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        return float((payload.get("val") or {}).get("psnr", -math.inf))
    except Exception:  # noqa: BLE001 - a damaged best.pt: the next better validation replaces it
        return -math.inf


def cut_log(path: Path, step: int) -> None:
    """Drop the rows of ``log.csv`` past ``step`` (the resumed checkpoint's), keeping the header."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    keep = rows[:1] + [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) <= step]
    if len(keep) != len(rows):
        tmp = path.with_suffix(".csv.part")
        with open(tmp, "w", newline="") as f:
            csv.writer(f).writerows(keep)
        tmp.replace(path)


def log_final(path: Path, step: int, seconds: float, val: dict[str, Any]) -> None:
    """The run's last validation as a row of its own (no loss or learning rate on it)."""
    with open(path, "a", newline="") as f:
        csv.writer(f).writerow([step, f"{seconds:.1f}", "", "", "", "", *(f"{val[k]:.4f}" for k in VAL_KEYS)])




class _PlainBar:
    """Stand-in for tqdm where it is not installed: ``write`` prints, the rest does nothing."""

    def update(self, n: int = 1) -> None: ...
    def set_postfix(self, **kw: Any) -> None: ...
    def close(self) -> None: ...

    def write(self, text: str) -> None:
        print(text, flush=True)


def progress_bar(total: int | None, initial: int, enabled: bool) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return _PlainBar()
    return tqdm(total=total, initial=initial, disable=not enabled, unit="step", dynamic_ncols=True)


__all__ = ["LOG_COLUMNS", "best_of", "cut_log", "log_final", "progress_bar"]
