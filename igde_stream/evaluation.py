"""Evaluation: methods on degraded sequences -> PSNR, PSNRt, PSNRf, SSIM, RMSE, temporal stability.

A *method* is any callable ``method(color, depth) -> depth_out`` taking a batch of colour frames
N x H x W x 3 uint8 RGB and degraded depth N x H x W uint8 / uint16 and returning depth of the same
shape and dtype (``igde_stream.Enhancer.enhance`` is one). ``evaluate_methods`` runs a dict of
named methods over a list of :class:`~igde_stream.data.Sequence` and returns one row per method.

Aggregation (DESIGN section 6): PSNR, PSNRt and PSNRf come from the MSE averaged over all frames
(frames with an empty pixel set are skipped), then converted; min / median / max of the per-frame
PSNR are given too; SSIM and RMSE are per-frame means; temporal stability is averaged over the
consecutive frame pairs of every sequence (not computed for non-consecutive frames). An error pixel
is one where the degraded input differs from the ground truth (threshold 0).

View quality (``evaluate_views``, issue 7): N views rendered (``igde_stream.multiview``) from each
method's output depth against N views from the ground-truth depth with the same colour, on every
``stride``-th frame; PSNR / band PSNR / SSIM, mean over views.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Mapping, Sequence as Seq

import cv2
import numpy as np

from . import metrics as M
from .data import DegradeConfig, SceneConfig, Sequence, make_sequence, split_seeds, steep_range
from .eval_methods import (  # noqa: F401  (re-exported: the methods lived here)
    Method, filter_method, guided_filter_method, identity_method, load_model, model_method,
)
from .eval_clips import clip_sequence  # noqa: F401  (re-exported: the loader of the user's own clips)
from .eval_report import markdown_table, views_markdown_table, write_report
from .real_frames import (  # noqa: F401  (re-exported: the loaders of the real test frames)
    DEFAULT_ICL, ICL_FAR_M, ICL_NEAR_M, disparity_file_sequence, icl_nuim_sequence, middlebury_sequence,
    stereo_sequence,
)

__all__ = [
    "Method", "METRIC_KEYS", "score_frames", "evaluate_methods", "identity_method",
    "guided_filter_method", "model_method", "load_model", "test_sequences", "icl_nuim_sequence",
    "markdown_table", "write_report", "ICL_NEAR_M", "ICL_FAR_M", "DEFAULT_ICL", "standard_evaluation",
    "evaluate_views", "views_markdown_table", "filter_method", "middlebury_sequence",
    "stereo_sequence", "disparity_file_sequence", "clip_sequence",
]

METRIC_KEYS = ("psnr", "psnr_t", "psnr_f", "ssim", "rmse", "temporal")


def score_frames(
    pred: Seq[np.ndarray], gt: Seq[np.ndarray], inp: Seq[np.ndarray], peak: float = 255.0,
    consecutive: bool = True, valid: Seq[np.ndarray] | None = None,
) -> dict[str, Any]:
    """Metrics of one sequence of H x W frames (prediction, ground truth, degraded input).

    Returns per-frame lists (``mse``, ``mse_t``, ``mse_f``, ``ssim``, ``rmse``) and ``temporal``
    (mean |(p_t - p_t-1) - (g_t - g_t-1)|, nan unless ``consecutive`` and >= 2 frames).
    ``valid`` (per frame, H x W bool): only these pixels are scored (a ground truth with unknown
    pixels); the temporal measure reads every pixel.
    """
    out: dict[str, Any] = {k: [] for k in ("mse", "mse_t", "mse_f", "ssim", "rmse")}
    for k, (p, g, i) in enumerate(zip(pred, gt, inp)):
        ok = None if valid is None else np.asarray(valid[k], bool)
        err = M.error_mask(i, g)
        out["mse"].append(M.mse(p, g, ok))
        out["mse_t"].append(M.mse(p, g, ~err if ok is None else ~err & ok))
        out["mse_f"].append(M.mse(p, g, err if ok is None else err & ok))
        out["ssim"].append(M.ssim(p, g, peak, ok))
        out["rmse"].append(M.rmse(p, g, ok))
    out["temporal"] = M.temporal_stability(list(pred), list(gt)) if consecutive else math.nan
    out["pairs"] = max(0, len(gt) - 1) if consecutive else 0
    return out


def summarize(scores: Seq[dict[str, Any]], peak: float = 255.0) -> dict[str, Any]:
    """Combine ``score_frames`` results of several sequences into one row of numbers."""
    cat = {k: [v for s in scores for v in s[k]] for k in ("mse", "mse_t", "mse_f", "ssim", "rmse")}
    scored = [not math.isnan(m) for m in cat["mse"]]  # a frame with no pixel to score is skipped
    for k in ("ssim", "rmse"):
        cat[k] = [v for v, ok in zip(cat[k], scored) if ok]
    per_frame = [M.psnr_from_mse(m, peak) for m, ok in zip(cat["mse"], scored) if ok]
    pairs = sum(s["pairs"] for s in scores)
    temporal = (sum(s["temporal"] * s["pairs"] for s in scores if s["pairs"]) / pairs) if pairs else math.nan
    return {
        "frames": len(per_frame),
        "psnr": M.mean_psnr(cat["mse"], peak),
        "psnr_min": float(np.min(per_frame)) if per_frame else math.nan,
        "psnr_median": float(np.median(per_frame)) if per_frame else math.nan,
        "psnr_max": float(np.max(per_frame)) if per_frame else math.nan,
        "psnr_t": M.mean_psnr(cat["mse_t"], peak),
        "psnr_f": M.mean_psnr(cat["mse_f"], peak),
        "ssim": float(np.mean(cat["ssim"])) if cat["ssim"] else math.nan,
        "rmse": float(np.mean(cat["rmse"])) if cat["rmse"] else math.nan,
        "temporal": temporal,
    }


def evaluate_methods(
    methods: Mapping[str, Method], sequences: Seq[Sequence], *, dataset: str = "", batch: int = 4,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Run every method on every sequence; one row per method: ``{"method", "dataset", "frames",
    "psnr", "psnr_min", "psnr_median", "psnr_max", "psnr_t", "psnr_f", "ssim", "rmse", "temporal",
    "ms_per_frame"}``. All sequences must share one peak."""
    peaks = {s.peak for s in sequences}
    if len(peaks) > 1:
        raise ValueError(f"sequences mix peaks {sorted(peaks)}; evaluate them separately")
    peak = peaks.pop() if peaks else 255.0
    rows = []
    for name, method in methods.items():
        scores, seconds, n = [], 0.0, 0
        for seq in sequences:
            preds = []
            for s in range(0, len(seq), batch):
                t0 = time.perf_counter()
                out = method(seq.color[s:s + batch], seq.depth[s:s + batch])
                seconds += time.perf_counter() - t0
                if out.shape != seq.depth[s:s + batch].shape or out.dtype != seq.depth.dtype:
                    raise ValueError(f"method {name!r} returned {out.shape} {out.dtype}, expected "
                                     f"{seq.depth[s:s + batch].shape} {seq.depth.dtype}")
                preds.extend(out)
            n += len(seq)
            scores.append(score_frames(preds, seq.gt, seq.depth, peak, seq.consecutive, seq.valid))
            if progress:
                print(f"  {name}: {seq.name} done", flush=True)
        rows.append({"method": name, "dataset": dataset, **summarize(scores, peak),
                     "ms_per_frame": 1000.0 * seconds / max(n, 1)})
    return rows


def evaluate_views(
    methods: Mapping[str, Method], sequences: Seq[Sequence], *, dataset: str = "", n_views: int = 8,
    stride: int = 4, batch: int = 4, progress: bool = False,
) -> list[dict[str, Any]]:
    """View quality of every method: each method is run again on every ``stride``-th frame of every
    sequence, and ``multiview.view_quality_sequence`` compares ``n_views`` views rendered from its
    output with the views from the ground truth (default geometry: baseline 32 px, zero parallax
    0.5). One row per method: ``{"method", "dataset", "frames", "views", "psnr", "psnr_band", "ssim",
    "psnr_all", "measured_only", "per_view_psnr"}``; PSNR from the mean MSE over the frames of all
    sequences (per view, then over views), SSIM the mean, band PSNR within 8 px of the reference
    views' depth edges. Sequences with unmeasured ground-truth pixels (``Sequence.valid``, the real
    photographs) are scored on the view pixels whose reference shows a measured pixel, as their
    depth is (``measured_only``; ``psnr_all`` is the figure over every pixel)."""
    from . import multiview as mv

    if not sequences:
        return []
    colors, gts, valids, outs = [], [], [], {name: [] for name in methods}
    for seq in sequences:
        idx = list(range(0, len(seq), stride))
        colors.append(seq.color[idx])
        gts.append(seq.gt[idx])
        valids.append(np.ones(seq.gt[idx].shape, bool) if seq.valid is None else seq.valid[idx])
        for name, method in methods.items():
            for s in range(0, len(idx), batch):
                sel = idx[s:s + batch]
                outs[name].append(method(seq.color[sel], seq.depth[sel]))
    color, gt = np.concatenate(colors), np.concatenate(gts)
    valid = None if all(seq.valid is None for seq in sequences) else np.concatenate(valids)
    summary = mv.view_quality_sequence(color, gt, {k: np.concatenate(v) for k, v in outs.items()}, n_views,
                                       valid=valid)
    if progress:
        print(f"  view quality: {dataset or 'sequences'} done ({len(gt)} frames x {n_views} views)", flush=True)
    rows = []
    for name in methods:
        d = summary["depths"][name]
        rows.append({"method": name, "dataset": dataset, "frames": len(gt), "views": n_views,
                     "psnr": d["mean"]["psnr"], "psnr_band": d["mean"]["psnr_band"], "ssim": d["mean"]["ssim"],
                     "psnr_all": d["mean"]["psnr_all"], "measured_only": valid is not None,
                     "per_view_psnr": [r["psnr"] for r in d["per_view"]]})
    return rows


# ------------------------------------------------------------------------------------------ data


def test_sequences(sequences: int = 4, frames: int = 12, size: tuple[int, int] = (960, 540),
                   textures: str = "mixed", bits: int = 8,
                   degradation: DegradeConfig = DegradeConfig(), steep_planes: int = 0) -> list[Sequence]:
    """The synthetic test split (seeds never used for training): ``sequences`` x ``frames`` at
    ``size`` (W, H); ``steep_planes`` N > 0 adds 1..N steep planes to each scene
    (``SceneConfig.steep_planes``)."""
    w, h = size
    cfg = SceneConfig(width=w, height=h, frames=frames, textures=textures,
                      steep_planes=steep_range(steep_planes))
    return [make_sequence(s, cfg, degradation, bits, name=f"test-{s}") for s in split_seeds("test", sequences)]


def standard_evaluation(
    models: Seq[Any], *, sequences: int = 4, frames: int = 12, size: tuple[int, int] = (960, 540),
    icl: str | Path | None = DEFAULT_ICL, device: str = "cpu", guided: bool = True,
    extra_methods: Mapping[str, Method] | None = None, progress: bool = True, views: int = 0,
    view_stride: int = 4, backend: str = "torch", threads: int | None = None,
    filters: Seq[str] | None = None, errors: Seq[str] = ("paper",), icl_scale: float = 1.0,
    steep_planes: int = 0, middlebury: bool = False, real_scenes: Seq[tuple[str, str]] = (),
    real_scale: float = 1.0, wide_errors: bool = False, clips: Seq[Sequence] = (),
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The project's evaluation: degraded input, the classical filters, ``extra_methods`` and ``models``
    (registered names = shipped weights, or checkpoint paths) on the synthetic test split and on
    ICL-NUIM (skipped with a message when the folder is missing), once per boundary error type in
    ``errors`` (``igde_stream.data.error_types.error_type_config``: ``paper``, ``mix`` or one type).
    Returns (rows, meta).

    ``filters``: names of :data:`igde_stream.filters.FILTERS` to add as rows (``filter:<name>``);
    None adds OpenCV's guided filter alone (``guided``; the older table). ``views`` > 0 adds
    ``meta["view_quality"]``: ``evaluate_views`` of every method with that many views on every
    ``view_stride``-th frame of every data set (the methods run again on those frames; the main rows
    are unchanged). ``backend`` / ``threads``: see :func:`model_method`. ``icl_scale``: ICL-NUIM
    frames shrunk by this factor (:func:`icl_nuim_sequence`). ``steep_planes``: see
    :func:`test_sequences` (the synthetic rows are then named "steep planes"). ``middlebury``: rows
    for the Middlebury 2014 Motorcycle scene (:func:`middlebury_sequence`; skipped with a message
    without scikit-image); ``real_scenes``: (colour file, disparity PNG) pairs, a block of rows each
    (:func:`disparity_file_sequence`, shrunk by ``real_scale``). Both score measured pixels only.
    ``clips``: sequences of the user's own frames (:func:`igde_stream.eval_clips.clip_sequence`), a
    block of rows each, scored as they are, once whatever ``errors`` says.
    ``wide_errors``: each model once more, as ``NAME --wide-errors`` (the Enhancer's ``wide_errors``)."""
    from .data.error_types import error_type_config

    if views < 0 or view_stride < 1:
        raise ValueError(f"views must be >= 0 and view_stride >= 1, got {views} and {view_stride}")
    if not (sequences or middlebury or real_scenes or clips or (icl and (Path(icl) / "depth").is_dir())):
        # said before the models are built (exported to ONNX, loaded), not after
        raise ValueError(f"nothing to evaluate: no synthetic scenes (sequences 0), ICL-NUIM "
                         f"{'not asked for' if not icl else f'not found at {icl}'}, and no other real data")
    configs = {err: error_type_config(err) for err in errors}
    methods: dict[str, Method] = {"degraded input": identity_method}
    if filters is None:
        if guided and not hasattr(cv2, "ximgproc"):
            print("guided filter skipped: this OpenCV has no ximgproc (install opencv-contrib-python-headless)")
        elif guided:
            methods["guided filter (OpenCV)"] = guided_filter_method()
    else:
        for name in filters:
            methods[f"filter:{name}"] = filter_method(name)
    methods.update(extra_methods or {})
    for m in models:
        path = Path(str(m))  # a file: its folder and name ("runs/best.pt"), or its name alone in the working folder
        label = str(m) if not path.suffix else "/".join(x for x in (path.parent.name, path.name) if x)
        methods[label] = model_method(m, device, backend=backend, threads=threads)
        if wide_errors:
            methods[f"{label} --wide-errors"] = model_method(m, device, backend=backend, threads=threads, wide_errors=True)
    meta: dict[str, Any] = {"backend": f"{device} ({backend})", "test_split": {"sequences": sequences, "frames": frames, "size": list(size),
                                           "seeds": split_seeds("test", sequences),
                                           "steep_planes": steep_planes},
                            "degradation": {k: v.to_dict() for k, v in configs.items()} if len(configs) > 1
                            else next(iter(configs.values())).to_dict(),
                            "errors": list(errors), "error_threshold": M.ERROR_THRESHOLD}
    if views:
        from .multiview import ViewConfig

        cfg = ViewConfig(views)
        meta["view_quality"] = {"n_views": views, "stride": view_stride, "baseline": cfg.baseline,
                                "zero_parallax": cfg.zero_parallax, "band_radius": 8,
                                "reference": "views rendered from the ground-truth depth", "rows": []}
    rows: list[dict[str, Any]] = []
    suffix = (lambda err: "") if list(errors) == ["paper"] else (lambda err: f", {err}")
    for err, dcfg in configs.items():
        if sequences:  # --sequences 0: the real data only
            if progress:
                print(f"synthetic test split ({err}): {sequences} x {frames} frames at {size[0]}x{size[1]}", flush=True)
            test = test_sequences(sequences, frames, size, degradation=dcfg, steep_planes=steep_planes)
            meta["test_split"].setdefault("error_pixel_fraction", {})[err] = float(np.mean([s.error_mask.mean() for s in test]))
            steep = ", steep planes" if steep_planes else ""
            dataset = f"synthetic test ({size[0]}x{size[1]}{steep}{suffix(err)})"
            rows += evaluate_methods(methods, test, dataset=dataset, progress=progress)
            if views:
                meta["view_quality"]["rows"] += evaluate_views(methods, test, dataset=dataset, n_views=views,
                                                               stride=view_stride, progress=progress)
        real: list[tuple[str, Sequence]] = []
        seq = icl_nuim_sequence(icl, dcfg, scale=icl_scale) if icl else None
        if seq is None:
            msg = f"ICL-NUIM skipped: {icl} not found" if icl else "ICL-NUIM skipped"
            print(msg, flush=True)
            meta["icl_nuim"] = msg
        else:
            meta["icl_nuim"] = {k: v for k, v in seq.params.items() if k != "degradation"}
            real.append((f"ICL-NUIM clean ({seq.gt.shape[2]}x{seq.gt.shape[1]}{suffix(err)})", seq))
        if middlebury:
            seq = middlebury_sequence(dcfg)
            if seq is None:
                print("Middlebury Motorcycle skipped: needs scikit-image with its stereo_motorcycle data", flush=True)
                meta["middlebury"] = "skipped: no scikit-image"
            else:
                meta["middlebury"] = {k: v for k, v in seq.params.items() if k != "degradation"}
                real.append((f"Middlebury Motorcycle ({seq.gt.shape[2]}x{seq.gt.shape[1]}{suffix(err)})", seq))
        for color_path, disp_path in real_scenes:
            seq = disparity_file_sequence(color_path, disp_path, dcfg, scale=real_scale)
            meta.setdefault("real_scenes", {})[seq.name] = {k: v for k, v in seq.params.items() if k != "degradation"}
            real.append((f"{seq.name} ({seq.gt.shape[2]}x{seq.gt.shape[1]}{suffix(err)})", seq))
        real += [(f"clip {seq.name} ({seq.gt.shape[2]}x{seq.gt.shape[1]})", seq) for seq in clips if err == errors[0]]
        for dataset, seq in real:
            if progress:
                print(f"{dataset}: {len(seq)} frames", flush=True)
            rows += evaluate_methods(methods, [seq], dataset=dataset, progress=progress)
            if views:
                meta["view_quality"]["rows"] += evaluate_views(methods, [seq], dataset=dataset, n_views=views,
                                                               stride=view_stride, progress=progress)
    if clips:
        meta["clips"] = {seq.name: seq.params for seq in clips}
    if not rows:
        raise ValueError("nothing was evaluated: no synthetic scenes (sequences 0) and no real data was found")
    return rows, meta
