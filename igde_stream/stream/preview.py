"""``--preview PATH.png``: one picture of what the enhancement did, for the worst frame and a median frame.

Which frames: with ground truth, frames are ranked by PSNR of the enhanced depth (lowest = worst;
ties: the earlier frame counts as worse, as in the report's worst frames); without it, by the mean
absolute change ``mean |enhanced - input|`` (largest = "worst", the frame the model changed most),
and the picture says so. The median frame is the frame at rank ``(n - 1) // 2`` of that order.

Memory stays flat however long the stream is (``PreviewCollector``): per frame only its score and
index are kept (and the score again in the two heaps of the running median: about 50 bytes a frame),
the worst frame is kept exactly (running worst), and a few other frames (``keep``, bounded by
``KEEP_BYTES``) are kept as median candidates: when the buffer is full, the candidate whose score is
farthest from the running median is dropped. The median shown is the kept frame whose score is
nearest the final median: exactly the median frame whenever it survived (always on clips of up to
``keep`` frames; in practice on any clip whose running median settles), else the nearest kept one,
and the caption gives its rank. Re-reading frames after the stream was not chosen, because an input
may be a pipe (``-``) that cannot be read twice.

Each row: colour (with the zoomed patch boxed), input depth, enhanced depth, ground truth (when
given), error maps (|input - gt| and |enhanced - gt|, or |enhanced - input| without gt), and a
zoom on the worst boundary patch (the patch of the largest error, or change, within the depth edge
band ``multiview.edge_band`` of the reference depth). Depth in the turbo colour map (far = blue,
near = red, in either depth order; holes, depth 0, black) with a colour bar in depth
units; errors in magma with theirs. Drawn on a matplotlib
``Figure`` with the Agg canvas (no pyplot, no global backend change); matplotlib is optional and
``check_preview_path`` refuses the option up front when it is missing.
"""

from __future__ import annotations

import heapq
import math
import os
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import metrics
from .. import multiview as mv
from ..errors import OutputError

KEEP_BYTES = 64 << 20  # median candidates kept in memory (frame sets), at most this many bytes
KEEP_MIN, KEEP_MAX = 3, 16


@dataclass
class PreviewFrame:
    """One frame's arrays (colour H x W x 3 uint8, depths H x W uint8 / uint16) and its score."""

    index: int
    pts_time: float
    color: np.ndarray
    inp: np.ndarray
    out: np.ndarray
    gt: np.ndarray | None
    score: float  # PSNR (dB) with gt, mean |enhanced - input| without

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.color, self.inp, self.out, self.gt) if a is not None)


def check_preview_path(path: Path) -> None:
    """Refuse, before any work is done, a preview that could not be written (not .png, no matplotlib)."""
    if path.suffix.lower() != ".png":
        raise OutputError("preview must end in .png", path)
    _figure(path)


def _figure(path: Path) -> tuple[Any, Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise OutputError("preview_path needs matplotlib (pip install matplotlib)", path,
                          cli_problem="--preview needs matplotlib (pip install matplotlib)") from None
    return Figure, FigureCanvasAgg


class PreviewCollector:
    """Scores every frame and keeps the few needed for the preview (see the module docstring).

    ``by_psnr``: rank by PSNR against the ground truth (frames without one are skipped), else by
    the mean change. ``add`` is called from the writer stage, one frame at a time, in order."""

    def __init__(self, by_psnr: bool, keep: int | None = None, frame_bytes: int | None = None) -> None:
        self.by_psnr = by_psnr
        if keep is None:
            keep = KEEP_MAX if not frame_bytes else int(np.clip(KEEP_BYTES // frame_bytes, KEEP_MIN, KEEP_MAX))
        self.keep = max(1, keep)
        self.bad, self.index = array("d"), array("q")  # every scored frame: badness (larger = worse), index
        self.worst: PreviewFrame | None = None
        self._worst_key: tuple[float, int] | None = None
        self._kept: dict[int, tuple[float, PreviewFrame]] = {}
        self._low: list[float] = []  # max-heap (negated) of the lower half of the badness values
        self._high: list[float] = []  # min-heap of the upper half

    def badness(self, score: float) -> float:
        return -score if self.by_psnr else score

    def add(self, index: int, pts_time: float, color: np.ndarray, inp: np.ndarray, out: np.ndarray,
            gt: np.ndarray | None, psnr: float | None) -> None:
        if self.by_psnr:
            if gt is None or psnr is None:
                return
            score = float(psnr)
        else:
            score = float(np.abs(out.astype(np.float64) - inp).mean())
        bad = self.badness(score)
        self.bad.append(bad)
        self.index.append(index)
        self._push_median(bad)

        def frame() -> PreviewFrame:  # copies: the batch arrays they come from are reused
            return PreviewFrame(index, pts_time, np.array(color), np.array(inp), np.array(out),
                                None if gt is None else np.array(gt), score)

        key = (bad, -index)  # worse first; on ties the earlier frame
        kept = None
        if self._worst_key is None or key > self._worst_key:
            self._worst_key, self.worst = key, (kept := frame())
        self._kept[index] = (bad, kept or frame())
        if len(self._kept) > self.keep:
            med = self._median()
            drop = max(self._kept, key=lambda i: (abs(self._kept[i][0] - med), i))
            del self._kept[drop]

    def _push_median(self, v: float) -> None:
        if not self._low or v <= -self._low[0]:
            heapq.heappush(self._low, -v)
        else:
            heapq.heappush(self._high, v)
        if len(self._low) > len(self._high) + 1:
            heapq.heappush(self._high, -heapq.heappop(self._low))
        elif len(self._high) > len(self._low):
            heapq.heappush(self._low, -heapq.heappop(self._high))

    def _median(self) -> float:
        return -self._low[0]  # the lower median of the badness values so far

    def picks(self) -> list[tuple[str, PreviewFrame]]:
        """[("worst", frame), ("median", frame)] (one entry when they are the same frame; none
        without scored frames). The median label carries its rank when it is not the exact one."""
        if self.worst is None:
            return []
        bad, index = np.frombuffer(self.bad), np.frombuffer(self.index, dtype=np.int64)
        order = np.lexsort((index, -bad))  # worst first, the earlier frame first on ties
        n = len(order)
        target_idx, target_bad = int(index[order[(n - 1) // 2]]), float(bad[order[(n - 1) // 2]])

        def rank(i: int) -> int:
            return int(np.flatnonzero(index[order] == i)[0]) + 1

        if target_idx in self._kept:
            med = self._kept[target_idx][1]
            label = f"median (rank {rank(target_idx)} of {n})"
        else:
            i = min(self._kept, key=lambda i: (abs(self._kept[i][0] - target_bad), i))
            med = self._kept[i][1]
            label = f"near-median (rank {rank(i)} of {n};\nmedian frame {target_idx} not kept)"  # 2 lines: fits a row
        out = [(f"worst (rank 1 of {n})", self.worst)]
        if med.index != self.worst.index:
            out.append((label, med))
        return out


def worst_patch(err: np.ndarray, band: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left (y, x) of the ``size`` x ``size`` patch with the largest summed ``err`` inside
    ``band`` (a boolean mask); the whole frame's error when the band is empty."""
    import cv2

    h, w = err.shape
    size = min(size, h, w)
    e = err.astype(np.float32) * band if band.any() else err.astype(np.float32)
    score = cv2.boxFilter(e, -1, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)
    cy, cx = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(np.clip(cy - size // 2, 0, h - size)), int(np.clip(cx - size // 2, 0, w - size))


def row_label(label: str, index: int, pts_time: float, name: str | None) -> str:
    """A preview row's label: its rank, the frame index and, for an image output, the image's name."""
    return f"{label}\nframe {index}{f', {name}' if name else ''} ({pts_time:.3f} s)"


def write_preview(path: str | os.PathLike[str], picks: list[tuple[str, PreviewFrame]], peak: float, by_psnr: bool,
                  *, title: str = "", to: str | os.PathLike[str] | None = None, patch: int | None = None,
                  order: str = "near-high", psnr_peak: float | None = None,
                  names: Callable[[int], str] | None = None) -> Path:
    """Draw the preview of ``picks`` (``PreviewCollector.picks``) to ``to`` (or ``path``); returns ``path``.
    ``order``: the depth order (far-high: distance, drawn with the colour map reversed, far = blue).
    ``peak`` scales the depth colours; ``psnr_peak`` (default ``peak``) is the report's PSNR peak, the
    format's, which the input's PSNR in the captions uses as the frames' scores do. ``names``: the
    output image of a frame index, for an image-sequence output (numbered as the depth's images)."""
    import matplotlib
    from matplotlib.patches import Rectangle

    path = Path(path)
    Figure, Canvas = _figure(path)
    if not picks:
        fig = Figure(figsize=(6, 1.2), dpi=100)
        fig.text(0.5, 0.5, "no frame to show: no output frame matched the ground truth", ha="center", va="center")
        Canvas(fig).print_png(str(to or path))
        return path
    has_gt = picks[0][1].gt is not None
    heads = ["colour", "input depth", "enhanced depth"] + (["ground truth"] if has_gt else [])
    heads += ["|input - gt|", "|enhanced - gt|"] if has_gt else ["|enhanced - input|"]
    heads += ["zoom: input", "zoom: enhanced"] + (["zoom: ground truth"] if has_gt else [])
    cols, rows = len(heads), len(picks)
    fig = Figure(figsize=(2.6 * cols, 2.3 * rows + 0.7), dpi=100)
    axes = fig.subplots(rows, cols, squeeze=False)
    for r, (label, f) in enumerate(picks):
        h, w = f.inp.shape
        ref = f.gt if has_gt else f.out
        err_in = None if not has_gt else np.abs(f.inp.astype(np.float32) - f.gt)
        err_out = np.abs(f.out.astype(np.float32) - (f.gt if has_gt else f.inp))
        size = patch or max(16, min(h, w) // 3)
        y0, x0 = worst_patch(err_out, mv.edge_band(mv.normalize_depth(ref, peak, order)), size)
        size = min(size, h, w)
        sl = (slice(y0, y0 + size), slice(x0, x0 + size))
        emax = max(1.0, float(np.percentile(np.concatenate([e.ravel() for e in (err_in, err_out) if e is not None]),
                                            99.9)))
        # holes (0) in the "bad" colour, black: far-high's reversed map would draw them as the nearest depth
        cmap = matplotlib.colormaps["turbo" if order == "near-high" else "turbo_r"].with_extremes(bad="black")
        depth_kw = {"cmap": cmap, "vmin": 0, "vmax": peak, "interpolation": "nearest"}
        err_kw = {"cmap": "magma", "vmin": 0, "vmax": emax, "interpolation": "nearest"}
        panels: list[tuple[np.ndarray, dict[str, Any] | None]] = [(f.color, None), (f.inp, depth_kw), (f.out, depth_kw)]
        if has_gt:
            panels.append((f.gt, depth_kw))
        panels += [(e, err_kw) for e in (err_in, err_out) if e is not None]
        panels += [(a[sl], depth_kw) for a in (f.inp, f.out, *((f.gt,) if has_gt else ()))]
        n_err = 1 + has_gt
        bars = {2 + has_gt, 2 + has_gt + n_err, len(panels) - 1}  # the last panel of each kind
        for c, (img, kw) in enumerate(panels):
            ax = axes[r, c]
            shown = np.ma.masked_equal(img, 0) if kw is depth_kw else img
            im = ax.imshow(shown, **(kw or {"interpolation": "nearest"}))
            ax.set_xticks([])
            ax.set_yticks([])
            if c in bars:
                cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
                cb.ax.tick_params(labelsize=7)
                what = "|error|" if has_gt else "|change|"
                near_or_far = "near" if order == "near-high" else "far"
                cb.set_label(f"depth ({near_or_far} = high)" if kw is depth_kw else f"{what} (depth units)", fontsize=7)
        axes[r, 0].add_patch(Rectangle((x0 - 0.5, y0 - 0.5), size, size, fill=False, ec="white", lw=1.2))
        axes[r, 0].set_ylabel(row_label(label, f.index, f.pts_time, names(f.index) if names else None), fontsize=8)
        info = (f"PSNR {_db(f.score)} (input {_db(metrics.psnr(f.inp, f.gt, psnr_peak or peak))})" if has_gt
                else f"mean change {f.score:.3g}")
        for c, head in enumerate(heads):
            axes[r, c].set_title(head if c else f"{head}: {info}", fontsize=8)
        axes[r, 3 + has_gt + n_err].set_title(f"zoom: input (y={y0}, x={x0}, {size} px)", fontsize=8)
    how = ("frames ranked by PSNR of the enhanced depth against the ground truth" if by_psnr else
           "no ground truth: frames ranked by the mean |enhanced - input| change (the most changed is shown "
           "as 'worst')")
    fig.suptitle(f"{title}  {how}; zoom = worst boundary patch".strip(), fontsize=9)
    # fixed margins: tight_layout would draw the whole figure once more just to measure it
    fig.subplots_adjust(left=0.035, right=0.965, bottom=0.02, top=1 - 0.75 / (2.3 * rows + 0.7), wspace=0.3,
                        hspace=0.3)
    target = Path(to) if to is not None else path
    try:
        Canvas(fig).print_png(str(target))
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", path) from None
    return path


def _db(v: float) -> str:
    return "inf dB" if math.isinf(v) else f"{v:.2f} dB"
