"""Per-frame PSNR report (DESIGN section 7): rows, summary, JSON / CSV by suffix, PNG plot.

One row per output frame: index, output and ground-truth pts times, MSE and PSNR of the output,
MSE and PSNR of the input depth (so the gain shows), PSNRt / PSNRf (pixels the input had right /
wrong, input != gt), and the peak. PSNR is ``10 log10(peak^2 / MSE)`` as FFmpeg's ``psnr`` filter
computes it on gray frames; identical frames give inf, written ``"inf"`` (JSON null and an empty CSV
cell mean "not measured"). Averages are over MSE, then converted (``metrics.mean_psnr``).

Memory stays flat however long the stream is: rows go to a temporary spool file as they come (one
JSON line each, floats written exactly), and the summary, the JSON / CSV report and the plot are
assembled from it at the end.
"""

from __future__ import annotations

import csv
import heapq
import json
import math
import os
import tempfile
import threading
from array import array
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from itertools import islice
from pathlib import Path
from typing import IO, Any, Iterator, overload

import numpy as np

from .. import metrics
from ..eval_report import json_ready
from ..errors import OutputError
from .formats import is_float_format
from .frame_set import FrameSet
from .gt_checks import gt_mismatch

REPORT_SUFFIXES = (".json", ".csv")
LISTED = 20  # unmatched frames listed by index in the summary (all are counted)


@dataclass(slots=True)
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


_NAMES = tuple(f.name for f in fields(FrameRow))


class PsnrReport:
    """Collects rows while frames are written; ``gt_problem`` says why no frame could be matched.

    Rows are spooled to an unnamed temporary file in ``spool_dir`` (default: the system's temporary
    folder; the pipeline puts it beside the report), so the report holds no per-frame data in memory.
    ``rows`` reads them back (a sequence); ``close`` (or ``with``) drops the spool.
    """

    def __init__(self, peak: float, gt_problem: str | None = None, *, spool_dir: str | os.PathLike[str] | None = None,
                 measured_only: bool = False):
        self.peak = float(peak)
        self.gt_problem = gt_problem
        self.measured_only = measured_only  # score only the pixels where the ground truth is not 0
        self.gt_unmeasured: float | None = None  # the first compared ground-truth frame's share of 0
        self.gt_mismatch: str | None = None  # its order or scale against the input's (gt_checks)
        self.unmatched_gt: list[tuple[int, float]] = []  # the first LISTED gt frames with no output frame
        self.unmatched_gt_count = 0
        self.gt_compared = FrameSet()  # the numbers of the ground-truth frames compared
        self._count = 0
        self._lock = threading.Lock()
        self._spool_dir = spool_dir
        try:
            self._spool: IO[bytes] = tempfile.TemporaryFile("w+b", dir=spool_dir, prefix=".igde-part-rows-")
        except OSError as exc:
            raise OutputError(f"cannot write the report's row file: {exc.strerror or exc}", spool_dir) from None

    def add(
        self, index: int, pts_time: float, out: np.ndarray, inp: np.ndarray,
        gt: np.ndarray | None = None, gt_pts_time: float | None = None,
    ) -> FrameRow:
        """Row for output frame ``index``; ``gt`` None: the frame had no ground truth (unmatched)."""
        row = FrameRow(index=index, pts_time=round(pts_time, 6))
        if gt is not None:
            err = metrics.error_mask(inp, gt)
            if self.gt_unmeasured is None:
                self.gt_unmeasured = float(np.mean(gt == 0))
                self.gt_mismatch = gt_mismatch(inp, gt)
            keep = gt != 0 if self.measured_only else None  # --gt-measured: 0 = not measured, left out
            row.gt_pts_time = None if gt_pts_time is None else round(gt_pts_time, 6)
            row.mse = metrics.mse(out, gt, keep)
            row.psnr = metrics.psnr_from_mse(row.mse, self.peak)
            row.input_mse = metrics.mse(inp, gt, keep)
            row.input_psnr = metrics.psnr_from_mse(row.input_mse, self.peak)
            row.psnr_t = metrics.psnr(out, gt, self.peak, ~err if keep is None else ~err & keep)
            row.psnr_f = metrics.psnr(out, gt, self.peak, err if keep is None else err & keep)
            row.peak = self.peak
        # one JSON line; floats as repr, inf / nan as Infinity / NaN: read back exactly
        line = (json.dumps([getattr(row, n) for n in _NAMES]) + "\n").encode()
        with self._lock:
            try:
                self._spool.write(line)
            except OSError as exc:
                problem = f"cannot write the report's row file: {exc.strerror or exc}"
                raise OutputError(problem, self._spool_dir) from None
            self._count += 1
        return row

    def add_unmatched_gt(self, index: int, time: float) -> None:
        self.unmatched_gt_count += 1
        if len(self.unmatched_gt) < LISTED:
            self.unmatched_gt.append((index, round(time, 6)))

    @property
    def rows(self) -> Sequence[FrameRow]:
        """The rows so far, read back from the spool (a sequence; each access reads the file)."""
        return _Rows(self)

    def iter_rows(self) -> Iterator[FrameRow]:
        """The rows in order, read from the spool a chunk at a time."""
        pos = 0
        while True:
            with self._lock:
                self._spool.flush()
                self._spool.seek(pos)
                lines = self._spool.readlines(1 << 16)
                pos = self._spool.tell()
                self._spool.seek(0, os.SEEK_END)
            if not lines:
                return
            for line in lines:
                yield FrameRow(*json.loads(line))

    def close(self) -> None:
        """Drop the spool (the rows are gone after this; a flush that fails, e.g. on a full disk, whose
        error the run has already reported, does not matter then)."""
        try:
            self._spool.close()
        except OSError:
            pass

    def __enter__(self) -> PsnrReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def summary(self, worst: int = 5) -> dict[str, Any]:
        frames, lone_out, lone_count = 0, [], 0
        mse, in_mse, mse_t, mse_f, psnrs = (array("d") for _ in range(5))
        heap: list[tuple[float, int, FrameRow]] = []  # the ``worst`` lowest (psnr, order), as a max-heap
        for r in self.iter_rows():
            frames += 1
            if r.mse is None:
                lone_count += 1
                if len(lone_out) < LISTED:
                    lone_out.append(r.index)
                continue
            mse.append(r.mse)
            in_mse.append(r.input_mse)
            mse_t.append(_mse_of(r.psnr_t, self.peak))
            mse_f.append(_mse_of(r.psnr_f, self.peak))
            if math.isnan(r.psnr):  # --gt-measured: a ground-truth frame with no measured pixel
                continue
            psnrs.append(r.psnr)
            item = (-r.psnr, -len(psnrs), r)  # ties: the earlier frame counts as worse (a stable sort)
            if len(heap) < worst:
                heapq.heappush(heap, item)
            elif heap and item[:2] > heap[0][:2]:
                heapq.heapreplace(heap, item)
        order = [r for _, _, r in sorted(heap, key=lambda t: t[:2], reverse=True)]
        out_psnr = metrics.mean_psnr(np.frombuffer(mse), self.peak)
        in_psnr = metrics.mean_psnr(np.frombuffer(in_mse), self.peak)
        gain = out_psnr - in_psnr if not (math.isinf(out_psnr) and math.isinf(in_psnr)) else math.nan
        ranked = np.sort(np.frombuffer(psnrs))
        s: dict[str, Any] = {
            "frames": frames,
            "matched_frames": len(psnrs),
            "unmatched_frames": lone_count + self.unmatched_gt_count,
            "output_frames_without_gt": lone_out,
            "gt_frames_without_output": [i for i, _ in self.unmatched_gt[:LISTED]],
            "peak": self.peak,
            "gt_measured_only": self.measured_only,
            "mean_psnr": out_psnr,
            "mean_psnr_input": in_psnr,
            "mean_gain_db": gain,
            "mean_psnr_t": metrics.mean_psnr(np.frombuffer(mse_t), self.peak),
            "mean_psnr_f": metrics.mean_psnr(np.frombuffer(mse_f), self.peak),
            "min_psnr": float(ranked[0]) if len(ranked) else math.nan,
            "median_psnr": _median(ranked),
            "max_psnr": float(ranked[-1]) if len(ranked) else math.nan,
            "worst_frames": [
                {"index": r.index, "pts_time": r.pts_time, "psnr": r.psnr, "input_psnr": r.input_psnr} for r in order
            ],
        }
        if self.gt_problem:
            s["gt_problem"] = self.gt_problem
        return s

    def write(
        self, path: str | os.PathLike[str], header: dict[str, Any] | None = None, *,
        to: str | os.PathLike[str] | None = None,
    ) -> Path:
        """Write JSON or CSV (by the suffix of ``path``); ``header`` goes into the JSON.

        The file is written under a temporary name beside ``path`` and renamed when complete; with
        ``to``, it is written to ``to`` and left there (the caller renames it, e.g. to commit several
        outputs together). Returns ``path``.
        """
        path = Path(path)
        check_report_path(path)
        kind = path.suffix.lower()
        with _writing(path, to, "w", encoding="utf-8", newline="") as f:
            if kind == ".json":
                self._write_json(f, header)
            else:
                self._write_csv(f)
        return path

    def _write_json(self, f: IO[str], header: dict[str, Any] | None) -> None:
        # Streamed, byte for byte what json.dumps(doc, indent=1) gives for the whole document.
        doc = {k: v for k, v in (header or {}).items() if k != "frames"}
        doc["summary"] = self.summary()
        head = json.dumps(json_ready(doc), indent=1, allow_nan=False)
        f.write(head[: -len("\n}")] + ',\n "frames": [')
        n = 0
        for r in self.iter_rows():
            text = json.dumps(json_ready({n: getattr(r, n) for n in _NAMES}), indent=1, allow_nan=False)
            f.write(("," if n else "") + "\n" + "\n".join("  " + line for line in text.split("\n")))
            n += 1
        f.write("\n ]\n}\n" if n else "]\n}\n")

    def _write_csv(self, f: IO[str]) -> None:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(_NAMES)
        for r in self.iter_rows():
            w.writerow([_csv_cell(getattr(r, n)) for n in _NAMES])

    def plot(self, path: str | os.PathLike[str], title: str = "", *, to: str | os.PathLike[str] | None = None) -> Path:
        """PNG of PSNR per frame, output vs input (needs matplotlib); inf (identical) frames not drawn.

        Drawn on a ``matplotlib.figure.Figure`` (no pyplot, no ``matplotlib.use``): an embedding
        application keeps its backend. ``to``: as for ``write``. Returns ``path``.
        """
        path = Path(path)
        figure = _figure_class(path)
        from matplotlib.ticker import MaxNLocator  # after _figure_class, which says when matplotlib is missing

        x, out_db, in_db, lone = array("q"), array("d"), array("d"), array("q")
        for r in self.iter_rows():
            if r.mse is None:
                lone.append(r.index)
            else:
                x.append(r.index)
                out_db.append(_finite(r.psnr))
                in_db.append(_finite(r.input_psnr))
        fig = figure(figsize=(9, 3.6), dpi=110)
        ax = fig.subplots()
        xs = np.asarray(x)
        ax.plot(xs, np.asarray(in_db), ".-", lw=1, ms=3, color="0.55", label="input depth")
        ax.plot(xs, np.asarray(out_db), ".-", lw=1.2, ms=3, color="C0", label="enhanced")
        if lone:
            for i in lone:
                ax.axvline(i, color="C3", alpha=0.15, lw=1)
            ax.plot([], [], color="C3", alpha=0.4, label=f"no ground truth ({len(lone)})")
        s = self.summary()
        ax.set_xlabel("frame")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # frame numbers, not 0.25, 0.5 on a short run
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(
            f"{title}  mean {_fmt(s['mean_psnr'])} dB (input {_fmt(s['mean_psnr_input'])} dB)".strip(), fontsize=10
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        fig.tight_layout()
        with _writing(path, to, "wb") as f:
            fig.savefig(f, format="png")
        return path


class _Rows(Sequence[FrameRow]):
    """A read-only view of a report's rows, read from its spool on each access."""

    def __init__(self, report: PsnrReport) -> None:
        self._report = report

    def __len__(self) -> int:
        return self._report._count

    def __iter__(self) -> Iterator[FrameRow]:
        return self._report.iter_rows()

    @overload
    def __getitem__(self, i: int) -> FrameRow: ...
    @overload
    def __getitem__(self, i: slice) -> list[FrameRow]: ...
    def __getitem__(self, i: int | slice) -> FrameRow | list[FrameRow]:
        if isinstance(i, slice):
            return list(self)[i]
        return next(islice(self, range(len(self))[i], None))  # IndexError as for a list


def check_report_path(path: Path) -> None:
    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise OutputError("report must end in .json or .csv", path)


def check_plot_path(path: Path) -> None:
    """Refuse, before any work is done, a plot that could not be written (not .png, no matplotlib)."""
    if path.suffix.lower() != ".png":
        raise OutputError("plot must end in .png", path)
    _figure_class(path)


def _figure_class(path: Path) -> Any:
    try:
        import matplotlib  # noqa: F401 - a missing (or blocked) matplotlib fails here
        from matplotlib.figure import Figure
    except ImportError:
        raise OutputError("plot_path needs matplotlib (pip install matplotlib)", path,
                          cli_problem="--plot needs matplotlib (pip install matplotlib)") from None
    return Figure


@contextmanager
def _writing(path: Path, to: str | os.PathLike[str] | None, mode: str, **kw: Any) -> Iterator[IO[Any]]:
    """Open ``to`` (or a temporary name beside ``path``, renamed to ``path`` when complete) for
    writing; on any failure the partial file is removed and an ``OSError`` becomes an ``OutputError``."""
    target = path.with_name(f".{path.name}.igde-part-{os.getpid()}") if to is None else Path(to)
    try:
        with open(target, mode, **kw) as f:
            yield f
        if to is None:
            os.replace(target, path)
    except BaseException as exc:
        target.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write: {exc.strerror or exc}", path) from None
        raise


def _median(ranked: np.ndarray) -> float:
    # statistics.median on sorted values: the middle one, or the mean of the two middle ones.
    n = len(ranked)
    if n == 0:
        return math.nan
    if n % 2:
        return float(ranked[n // 2])
    return (float(ranked[n // 2 - 1]) + float(ranked[n // 2])) / 2


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
        return f"{v:.10g}"  # significant digits: an MSE of 5e-07 is not 0
    return "" if v is None else v


def gt_problem(gt: Any, depth: Any, color: Any = None) -> str | None:
    """Why ground truth ``gt`` cannot be compared with ``depth`` (their ``VideoInfo``s): size, bit depth,
    float against integer; None when it can. A ground truth of the size of the colour (``VideoInfo``), which
    the depth is smaller than, is pointed to ``--grid color``."""
    if (gt.width, gt.height) != (depth.width, depth.height):
        grid = color is not None and (gt.width, gt.height) == (color.width, color.height) and \
            gt.width >= depth.width and gt.height >= depth.height
        return f"ground truth is {gt.width}x{gt.height} but depth is {depth.width}x{depth.height}" + (
            " (--grid color enlarges the depth to the colour's size, the ground truth's, and compares there)"
            if grid else "")
    if (gt.dtype, gt.bits, is_float_format(gt.pix_fmt)) != (depth.dtype, depth.bits, is_float_format(depth.pix_fmt)):
        kind = "float and integer depth" if is_float_format(gt.pix_fmt) != is_float_format(depth.pix_fmt) \
            else "different bit depth"
        return f"ground truth is {gt.pix_fmt} but depth is {depth.pix_fmt} ({kind})"
    return None
