"""Evaluation output: Markdown tables of the metric and view-quality rows, and the ``eval.md`` /
``eval.json`` report (inf as "inf", nan as null)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence as Seq

import numpy as np

__all__ = ["json_ready", "markdown_table", "views_markdown_table", "write_report"]


def _fmt(v: Any, digits: int = 2) -> str:
    """A table cell: a float (NumPy's too) at ``digits`` decimals, NaN as "-", +-inf as "inf" / "-inf"."""
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return "-"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.{digits}f}"
    return str(v)


def markdown_table(rows: Seq[dict[str, Any]]) -> str:
    """Rows of ``evaluate_methods`` as a Markdown table."""
    head = ("| dataset | method | frames | PSNR | PSNRt | PSNRf | SSIM | RMSE | temporal | "
            "PSNR min / median / max | ms/frame |\n|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['method']} | {r['frames']} | {_fmt(r['psnr'])} | {_fmt(r['psnr_t'])} | "
            f"{_fmt(r['psnr_f'])} | {_fmt(r['ssim'], 4)} | {_fmt(r['rmse'], 3)} | {_fmt(r['temporal'], 3)} | "
            f"{_fmt(r['psnr_min'])} / {_fmt(r['psnr_median'])} / {_fmt(r['psnr_max'])} | "
            f"{_fmt(r['ms_per_frame'], 0)} |"
        )
    return "\n".join(lines) + "\n"


def views_markdown_table(view_quality: Mapping[str, Any]) -> str:
    """``meta["view_quality"]`` of ``standard_evaluation`` (rows of ``evaluate_views``) as a note and
    a Markdown table."""
    vq = view_quality
    lines = [f"View quality: {vq['n_views']} views rendered (DIBR, baseline {vq['baseline']:g} px, zero "
             f"parallax {vq['zero_parallax']:g}) from each method's depth vs the same views from the "
             f"ground-truth depth, frame stride {vq['stride']}; PSNR over all pixels and channels from "
             f"the mean MSE, band PSNR within {vq['band_radius']} px of depth edges, SSIM mean over R, G, B; "
             "mean over views (PSNRs from the mean MSE over the views, not a mean of their dB). Where the "
             "ground truth has unmeasured pixels (real photographs), every "
             "figure counts only the view pixels whose reference shows a measured pixel; 'all pixels' "
             "counts every pixel.", "",
             "| dataset | method | frames | views | view PSNR | band PSNR | view SSIM | view PSNR, all pixels |",
             "|---|---|---|---|---|---|---|---|"]
    for r in vq["rows"]:
        every = _fmt(r["psnr_all"]) if r.get("measured_only") else "(same)"
        lines.append(f"| {r['dataset']} | {r['method']} | {r['frames']} | {r['views']} | {_fmt(r['psnr'])} | "
                     f"{_fmt(r['psnr_band'])} | {_fmt(r['ssim'], 4)} | {every} |")
    return "\n".join(lines) + "\n"


def json_ready(v: Any) -> Any:
    """``v`` with nan as None, inf as "inf" / "-inf" and numpy scalars as Python ones, for ``json.dumps``
    (also the paper tables', the stream report's and the GPU checks' JSON)."""
    if isinstance(v, np.generic):  # a float32 NaN or inf too: its item() is a Python float
        v = v.item()
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
    if isinstance(v, dict):
        return {k: json_ready(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_ready(x) for x in v]
    return v


def write_report(out_dir: str | Path, rows: Seq[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Path]:
    """Write ``eval.md`` and ``eval.json`` (inf as "inf", nan as null) to ``out_dir``; a
    ``meta["view_quality"]`` (``standard_evaluation(views=N)``) adds its table to ``eval.md``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js = out_dir / "eval.md", out_dir / "eval.json"
    text = markdown_table(rows)
    if meta.get("view_quality"):
        text += "\n## View quality\n\n" + views_markdown_table(meta["view_quality"])
    md.write_text(text)
    js.write_text(json.dumps(json_ready({"meta": meta, "rows": list(rows)}), indent=2) + "\n")
    return {"markdown": md, "json": js}
