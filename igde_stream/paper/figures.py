"""Pictures: Fig. 10-style PNGs (``save_fig10``) and IGDE on real sensor frames (``real_pictures``)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np


def save_fig10(path: str | Path, color: np.ndarray, gt: np.ndarray, degraded: np.ndarray,
               refined: np.ndarray, title: str = "") -> Path:
    """One Fig. 10-style PNG: (a) colour, (b) ground truth, (c) degraded depth, (d) refined depth,
    (e) |error| before, (f) |error| after, the two error maps on one colour scale."""
    from matplotlib.figure import Figure  # no pyplot: an embedding app keeps its backend

    e0 = np.abs(degraded.astype(np.int16) - gt.astype(np.int16))
    e1 = np.abs(refined.astype(np.int16) - gt.astype(np.int16))
    vmax = max(8, int(np.percentile(np.maximum(e0, e1), 99.9)))
    h, w = gt.shape
    fig = Figure(figsize=(12, 12 * h / w * 2 / 3 + 0.8), dpi=90)
    axes = fig.subplots(2, 3)
    panels = [(color, None, "(a) colour"), (gt, "gray", "(b) ground truth"),
              (degraded, "gray", "(c) degraded depth"), (refined, "gray", "(d) refined depth"),
              (e0, "magma", f"(e) error before ({int((e0 > 0).sum())} px)"),
              (e1, "magma", f"(f) error after ({int((e1 > 0).sum())} px)")]
    for ax, (img, cmap, label) in zip(axes.flat, panels):
        kw = {"vmin": 0, "vmax": vmax} if cmap == "magma" else ({"vmin": 0, "vmax": 255} if cmap else {})
        ax.imshow(img, cmap=cmap, interpolation="nearest", **kw)
        ax.set_title(label, fontsize=10)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    return path


def _crop_box(seq_err: np.ndarray, h: int, w: int) -> tuple[int, int]:
    """Top-left corner of the h x w window with the most input error pixels (coarse search)."""
    H, W = seq_err.shape
    integral = np.pad(seq_err.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    best, pos = -1, (0, 0)
    for y in range(0, H - h + 1, max(1, (H - h) // 8 or 1)):
        for x in range(0, W - w + 1, max(1, (W - w) // 8 or 1)):
            s = integral[y + h, x + w] - integral[y, x + w] - integral[y + h, x] + integral[y, x]
            if s > best:
                best, pos = s, (y, x)
    return pos


# (name, colour path, depth path, metres per depth unit) under ../shared/data/real; no clean ground truth
REAL_FRAMES = [
    ("tum_fr1_1", "tum_rgbd/slambook_fr1_1.png", "tum_rgbd/slambook_fr1_1_depth.png", 1 / 5000),
    ("tum_open3d", "tum_rgbd/open3d_TUM_color.png", "tum_rgbd/open3d_TUM_depth.png", 1 / 5000),
    ("hololens_00003", "hololens_dvmvs_seq12/images/00003.png", "hololens_dvmvs_seq12/depth/00003.png", 1 / 1000),
    ("hololens_00008", "hololens_dvmvs_seq12/images/00008.png", "hololens_dvmvs_seq12/depth/00008.png", 1 / 1000),
]


def real_pictures(checkpoint: str | Path, real_root: str | Path, out: str | Path, *, device: str = "cpu",
                  log: Callable[[str], None] = print) -> list[Path]:
    """IGDE on real sensor frames (TUM RGB-D, HoloLens; ``REAL_FRAMES``) for pictures only: depth is
    converted like ICL-NUIM (8-bit inverse depth, ``evaluation.ICL_NEAR_M`` / ``ICL_FAR_M``; missing
    depth 0 stays 0) and ``real_<name>.png`` shows colour, input, output and |output - input|.
    Frames whose files are missing are skipped; none there is a ``FileNotFoundError`` (nothing written)."""
    import cv2

    from ..evaluation import ICL_FAR_M, ICL_NEAR_M, model_method

    real_root, out = Path(real_root), Path(out)
    if not any((real_root / c).is_file() and (real_root / d).is_file() for _, c, d, _ in REAL_FRAMES):
        raise FileNotFoundError(f"{real_root}: none of the TUM / HoloLens frames is there (e.g. "
                                f"{REAL_FRAMES[0][2]}): give the folder of the real data with --real")
    method = model_method(checkpoint, device)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, cpath, dpath, unit in REAL_FRAMES:
        bgr = cv2.imread(str(real_root / cpath), cv2.IMREAD_COLOR)
        z = cv2.imread(str(real_root / dpath), cv2.IMREAD_UNCHANGED)
        if bgr is None or z is None:
            log(f"{real_root / dpath}: missing; skipped")
            continue
        color = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        zm = z.astype(np.float64) * unit
        inv = (1.0 / np.maximum(zm, 1e-3) - 1.0 / ICL_FAR_M) / (1.0 / ICL_NEAR_M - 1.0 / ICL_FAR_M)
        d8 = np.where(z > 0, np.rint(np.clip(inv, 0, 1) * 255), 0).astype(np.uint8)
        pred = method(color[None], d8[None])[0]
        diff = np.abs(pred.astype(np.int16) - d8.astype(np.int16))
        vmax = max(8, int(diff.max()))
        path = out / f"real_{name}.png"
        save_panel_row(path, [(color, None, "colour", None), (d8, "gray", "input depth (8-bit inverse)", 255),
                              (pred, "gray", "IGDE output", 255), (diff, "magma", "|output - input|", vmax)],
                       f"{name} ({cpath}); model {Path(str(checkpoint)).name}; no clean ground truth: pictures only")
        written.append(path)
        log(f"wrote {path}")
    return written


def save_panel_row(path: str | Path, panels: list[tuple[np.ndarray, str | None, str, float | None]],
                   title: str) -> Path:
    """A PNG of images side by side: ``panels`` of (image, colormap or None for RGB, label, vmax;
    vmin 0), all of one size, with ``title`` above."""
    from matplotlib.figure import Figure  # no pyplot: an embedding app keeps its backend

    h, w = panels[0][0].shape[:2]
    fig = Figure(figsize=(16, 16 * h / w / len(panels) + 0.6), dpi=80)
    for ax, (img, cmap, label, vmax) in zip(fig.subplots(1, len(panels)), panels):
        ax.imshow(img, cmap=cmap, interpolation="nearest", **({} if cmap is None else {"vmin": 0, "vmax": vmax}))
        ax.set_title(label, fontsize=10)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)
