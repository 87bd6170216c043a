"""Per-frame PSNR report (DESIGN section 7): rows, summary, JSON / CSV by suffix, PNG plot.

One row per output frame: index, output and ground-truth pts times, MSE and PSNR of the output,
MSE and PSNR of the input depth (so the gain shows), PSNRt / PSNRf (pixels the input had right /
wrong, input != gt), and the peak. PSNR is ``10 log10(peak^2 / MSE)`` as FFmpeg's ``psnr`` filter
computes it on gray frames; identical frames give inf, written ``"inf"`` (JSON null and an empty CSV
cell mean "not measured"). Averages are over MSE, then converted (``metrics.mean_psnr``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import statistics
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .. import metrics
from ..errors import OutputError

REPORT_SUFFIXES = (".json", ".csv")


@dataclass(slots=True)  # one per frame is kept until the report is written (~0.4 KB each)
class FrameRow:
    index: int
    pts_time: float
    gt_pts_time: float | None = None
    mse: float | None = None
    psnr: float | None = None
    input_mse: float | None = None
    input_psnr: float | None = None
    psnr_t: float | None = None
    psnr_f: float | None = None
    peak: float | None = None


class PsnrReport:
    """Collects rows while frames are written; ``gt_problem`` says why no frame could be matched."""

    def __init__(self, peak: float, gt_problem: str | None = None) -> None:
        self.peak = float(peak)
        self.gt_problem = gt_problem
        self.rows: list[FrameRow] = []
        self.unmatched_gt: list[tuple[int, float]] = []  # gt frames with no output frame

    def add(
        self, index: int, pts_time: float, out: np.ndarray, inp: np.ndarray,
        gt: np.ndarray | None = None, gt_pts_time: float | None = None,
    ) -> FrameRow:
        """Row for output frame ``index``; ``gt`` None: the frame had no ground truth (unmatched)."""
        row = FrameRow(index=index, pts_time=round(pts_time, 6))
        if gt is not None:
            err = metrics.error_mask(inp, gt)
            row.gt_pts_time = None if gt_pts_time is None else round(gt_pts_time, 6)
            row.mse = metrics.mse(out, gt)
            row.psnr = metrics.psnr_from_mse(row.mse, self.peak)
            row.input_mse = metrics.mse(inp, gt)
            row.input_psnr = metrics.psnr_from_mse(row.input_mse, self.peak)
            row.psnr_t = metrics.psnr(out, gt, self.peak, ~err)
            row.psnr_f = metrics.psnr(out, gt, self.peak, err)
            row.peak = self.peak
        self.rows.append(row)
        return row

    def add_unmatched_gt(self, index: int, time: float) -> None:
        self.unmatched_gt.append((index, round(time, 6)))

    def summary(self, worst: int = 5) -> dict[str, Any]:
        matched = [r for r in self.rows if r.mse is not None]
        lone_out = [r.index for r in self.rows if r.mse is None]
        psnrs = [r.psnr for r in matched]
        out_psnr = metrics.mean_psnr([r.mse for r in matched], self.peak)
        in_psnr = metrics.mean_psnr([r.input_mse for r in matched], self.peak)
        gain = out_psnr - in_psnr if not (math.isinf(out_psnr) and math.isinf(in_psnr)) else math.nan
        order = sorted(matched, key=lambda r: r.psnr)[:worst]
        s: dict[str, Any] = {
            "frames": len(self.rows),
            "matched_frames": len(matched),
            "unmatched_frames": len(lone_out) + len(self.unmatched_gt),
            "output_frames_without_gt": lone_out[:20],
            "gt_frames_without_output": [i for i, _ in self.unmatched_gt[:20]],
            "peak": self.peak,
            "mean_psnr": out_psnr,
            "mean_psnr_input": in_psnr,
            "mean_gain_db": gain,
            "mean_psnr_t": metrics.mean_psnr([_mse_of(r.psnr_t, self.peak) for r in matched], self.peak),
            "mean_psnr_f": metrics.mean_psnr([_mse_of(r.psnr_f, self.peak) for r in matched], self.peak),
            "min_psnr": min(psnrs) if psnrs else math.nan,
            "median_psnr": statistics.median(psnrs) if psnrs else math.nan,
            "max_psnr": max(psnrs) if psnrs else math.nan,
            "worst_frames": [
                {"index": r.index, "pts_time": r.pts_time, "psnr": r.psnr, "input_psnr": r.input_psnr} for r in order
            ],
        }
        if self.gt_problem:
            s["gt_problem"] = self.gt_problem
        return s

    def write(self, path: str | os.PathLike[str], header: dict[str, Any] | None = None) -> Path:
        """Write JSON or CSV (by suffix) through a temporary file; ``header`` goes into the JSON."""
        path = Path(path)
        check_report_path(path)
        if path.suffix.lower() == ".json":
            doc = {**(header or {}), "summary": self.summary(), "frames": [asdict(r) for r in self.rows]}
            text = json.dumps(_jsonable(doc), indent=1, allow_nan=False) + "\n"
        else:
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow([f.name for f in fields(FrameRow)])
            for r in self.rows:
                w.writerow([_csv_cell(getattr(r, f.name)) for f in fields(FrameRow)])
            text = buf.getvalue()
        _atomic_write(path, text.encode())
        return path

    def plot(self, path: str | os.PathLike[str], title: str = "") -> Path:
        """PNG of PSNR per frame, output vs input (needs matplotlib); inf (identical) frames not drawn."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise OutputError("--plot needs matplotlib (pip install matplotlib)", path) from None
        path = Path(path)
        matched = [r for r in self.rows if r.mse is not None]
        x = [r.index for r in matched]
        fig, ax = plt.subplots(figsize=(9, 3.6), dpi=110)
        ax.plot(x, [_finite(r.input_psnr) for r in matched], ".-", lw=1, ms=3, color="0.55", label="input depth")
        ax.plot(x, [_finite(r.psnr) for r in matched], ".-", lw=1.2, ms=3, color="C0", label="enhanced")
        lone = [r.index for r in self.rows if r.mse is None]
        if lone:
            for i in lone:
                ax.axvline(i, color="C3", alpha=0.15, lw=1)
            ax.plot([], [], color="C3", alpha=0.4, label=f"no ground truth ({len(lone)})")
        s = self.summary()
        ax.set_xlabel("frame")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(
            f"{title}  mean {_fmt(s['mean_psnr'])} dB (input {_fmt(s['mean_psnr_input'])} dB)".strip(), fontsize=10
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        _atomic_write(path, buf.getvalue())
        return path


def check_report_path(path: Path) -> None:
    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise OutputError("report must end in .json or .csv", path)


def _mse_of(psnr: float | None, peak: float) -> float:
    # Back from a masked PSNR to its MSE for averaging (nan: that pixel set was empty).
    if psnr is None or math.isnan(psnr):
        return math.nan
    return 0.0 if math.isinf(psnr) else peak * peak / 10 ** (psnr / 10)


def _finite(v: float | None) -> float:
    return math.nan if v is None or math.isinf(v) else v


def _fmt(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.2f}"


def _csv_cell(v: Any) -> Any:
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(round(v, 6))
    return "" if v is None else v


def _jsonable(v: Any) -> Any:
    if isinstance(v, float):
        if math.isnan(v):
            return None
        return ("inf" if v > 0 else "-inf") if math.isinf(v) else v
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.igde-part-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write: {exc.strerror or exc}", path) from None
