"""The few human-readable lines that ``igde-stream`` prints after a run (``format_summary`` of
``enhance_file``'s summary)."""

from __future__ import annotations

import math
import os
from typing import Any

__all__ = ["format_summary", "frames_text", "outward"]


def _image(s: dict[str, Any], index: int) -> str:
    """"NAME, " of frame ``index``'s output image where the output is an image sequence (numbered from
    ``first_number``, as the depth's images are), else ""."""
    if s.get("first_number") is None:
        return ""
    from .stream.imageseq import frame_name

    return f"{frame_name(os.path.basename(str(s['output'])), s['first_number'] + index)}, "


def frames_text(n: int) -> str:
    """"1 frame", "0 frames", "48 frames"."""
    return f"{n} frame{'' if n == 1 else 's'}"


def outward(x: float, up: bool) -> str:
    """``x`` in 9 significant digits rounded away from the range it bounds (down for LO, up for HI), so that
    the --float-range the text names holds ``x``: rounded to nearest, 0.100000001 is above float32's 0.1."""
    from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

    near = f"{x:.9g}"
    d = Decimal(x)
    if not d.is_finite() or (float(near) >= x if up else float(near) <= x):
        return near
    step = Decimal(1).scaleb(d.adjusted() - 8)
    return f"{float(d.quantize(step, rounding=ROUND_CEILING if up else ROUND_FLOOR)):.9g}"


def format_summary(s: dict[str, Any]) -> str:
    """Human summary of ``enhance_file``'s result (a few lines)."""
    lines = [
        f"wrote {'stdout' if str(s['output']) == '-' else s['output']}: "
        f"{frames_text(s['frames'])}, "
        f"{s['width']}x{s['height']} {s['pix_fmt']}, "
        f"{s['codec']} ({'lossless' if s['lossless'] else 'LOSSY'}), {s['fps']:.2f} frames/s on {s['backend']}"
        + _total(s)
    ]
    if "mean_psnr" in s:
        lines.append(
            f"PSNR{' (measured ground-truth pixels)' if s.get('gt_measured_only') else ''} {_db(s['mean_psnr'])} (input {_db(s['mean_psnr_input'])}, gain {_db(s['mean_gain_db'], sign=True)}); "
            f"min {_db(s['min_psnr'])}, median {_db(s['median_psnr'])}, max {_db(s['max_psnr'])}; "
            f"{frames_text(s['matched_frames'])} compared, "
            f"{s['unmatched_frames']} unmatched"
        )
        if s.get("gt_problem"):
            lines.append(f"ground truth not comparable: {s['gt_problem']}")
        worst = ", ".join(f"{w['index']} ({_image(s, w['index'])}{_db(w['psnr'])})" for w in s["worst_frames"][:3])
        if worst:
            lines.append(f"worst frames: {worst}")
    if s.get("float_range"):
        f = s["float_range"]
        cover = f.get("covering")
        back = f.get("background")
        lines.append(f"float depth {f['lo']:.9g}..{f['hi']:.9g} ({f['from']}) read as codes 1..65535 (a step "
                     f"{f['step']:.3g}" + ("" if back is None else f"; background {float(back):g}: code 65535"
                                           + ("" if f.get("background_kept", True) else ", written as HI"))
                     + f"); {f['clipped_frames']} frames clipped" + (
                         f" (the values read span {cover[0]:.9g}..{cover[1]:.9g}: --float-range="
                         f"{outward(cover[0], up=False)}:{outward(cover[1], up=True)} holds them all)"
                         if cover else ""))
    if s.get("depth_colormap"):
        c = s["depth_colormap"]
        lines.append(f"depth read through the {c['name']} colour map ({c['table']} table) as 8-bit depth: pixels "
                     f"{c['mean_distance']:.2f} from the map on average, {100 * c['far_share']:.1f} % over "
                     f"{c['far']:g}")
    for path in [*s.get("reports", []), *([s["plot"]] if s.get("plot") else [])]:
        lines.append(f"wrote {path}")
    if s.get("views_outputs"):
        lines.append(f"wrote {', '.join(s['views_outputs'])} (views, renderer {s['renderer']})")
    if s.get("rgbd_output"):
        lines.append(f"wrote {s['rgbd_output']} (RGB-D)")
    if s.get("preview"):
        picked = ", ".join(f"{k} {v}" + (f" ({_image(s, v)[:-2]})" if _image(s, v) else "")
                           for k, v in s["preview_frames"].items())
        lines.append(f"wrote {s['preview']} (frames by {s['preview_ranked_by']}: {picked})")
    return "\n".join(lines)


def _db(v: float, sign: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:+.2f} dB" if sign else f"{v:.2f} dB"


def _total(s: dict[str, Any]) -> str:
    """The wall time with the reports, plot and preview, where writing them took a noticeable share."""
    total, stream = s.get("total_seconds"), s.get("seconds")
    if total is None or stream is None or total - stream < max(0.5, 0.05 * stream):
        return ""
    return f" ({stream:.1f} s; {total:.1f} s with the reports)"
