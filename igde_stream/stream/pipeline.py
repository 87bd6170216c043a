"""``enhance_file``: colour + depth (+ ground truth) in, enhanced depth video (+ PSNR report) out.

Stages, each on its own thread, joined by queues bounded in bytes (so memory stays flat however long
the stream is):

    colour reader --\\
                     >-- main thread: pair by time, batch, Enhancer --> writer thread: encode, report
    depth reader ---/                                                    ^
    gt reader ----------------------------------------------------------/

Each queue ends with one sentinel from its producer. A stage that fails records its exception and
sets the shared stop event; every other stage notices within 0.1 s, all threads are joined, and the
first exception is raised in the caller's thread. Containers are always closed.

All or nothing: everything that can fail early (paths, report suffixes, matplotlib for a plot, the
batch size) is checked before the first frame; the video, the reports and the plot are written under
temporary names and renamed into place together in one last step, so a failure or Ctrl-C at any
point leaves no output and no temporary file (files being replaced are kept as they were).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..errors import IGDEError, OutputError
from .reader import Frame, VideoInfo, VideoReader, pair_frames
from .report import PsnrReport, check_plot_path, check_report_path
from .writer import DEFAULT_CODEC, DepthWriter, codec_is_lossless, describe_codec, temp_path

log = logging.getLogger("igde_stream.stream")

DEFAULT_QUEUE_BYTES = 64 << 20  # cap per queue (10 colour frames at 1080p); at least one item always fits
PREFETCH_BATCHES = 3  # each queue holds at most this many batches of its frames (below the cap)
MAX_BATCH_BYTES = 2 << 30  # a batch's buffers stay under this (or a quarter of the RAM, if less)
_PEAKS = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
_END = object()

PathLike = str | os.PathLike[str]


class _Cancelled(Exception):
    """Raised inside a stage when another stage failed (or the caller was interrupted)."""


class ByteQueue:
    """FIFO bounded by the bytes it holds (not the item count); ``put_end`` adds the sentinel."""

    def __init__(self, max_bytes: int, stop: threading.Event) -> None:
        self.max_bytes = max_bytes
        self.stop = stop
        self.bytes = 0
        self.peak_bytes = 0
        self._items: deque[tuple[Any, int]] = deque()
        self._cond = threading.Condition()

    def put(self, item: Any, nbytes: int) -> None:
        with self._cond:
            while self._items and self.bytes + nbytes > self.max_bytes:
                self._wait()
            self._wait(block=False)
            self._items.append((item, nbytes))
            self.bytes += nbytes
            self.peak_bytes = max(self.peak_bytes, self.bytes)
            self._cond.notify_all()

    def put_end(self) -> None:
        with self._cond:
            self._items.append((_END, 0))
            self._cond.notify_all()

    def get(self) -> Any:
        with self._cond:
            while not self._items:
                self._wait()
            self._wait(block=False)
            item, nbytes = self._items.popleft()
            self.bytes -= nbytes
            self._cond.notify_all()
            return item

    def _wait(self, block: bool = True) -> None:
        if self.stop.is_set():
            raise _Cancelled
        if block:
            self._cond.wait(0.1)

    def __iter__(self) -> Iterator[Any]:
        """Items up to the sentinel."""
        while (item := self.get()) is not _END:
            yield item


class _Crew:
    """The stage threads: a shared stop event, the first failure, join-all."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.failure: BaseException | None = None
        self.threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def spawn(self, name: str, fn: Callable[..., None], *args: Any) -> None:
        def run() -> None:
            try:
                fn(*args)
            except _Cancelled:
                pass
            except BaseException as exc:  # noqa: BLE001 - carried to the main thread
                self.fail(exc)

        t = threading.Thread(target=run, name=name, daemon=True)
        self.threads.append(t)
        t.start()

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = exc
        self.stop.set()

    def join(self) -> None:
        try:
            for t in self.threads:
                t.join()
        except BaseException:  # Ctrl-C while waiting: stop everyone, then really wait
            self.stop.set()
            for t in self.threads:
                t.join()
            raise


@dataclass
class _Enhanced:
    depth: Frame  # the input depth frame (pixels, pts, times)
    out: np.ndarray  # the enhanced depth, same shape and dtype


class _GtMatcher:
    """Pairs output frames (in order) with ground-truth frames by time; the rest count as unmatched."""

    def __init__(self, frames: Iterator[Frame], tolerance: float, report: PsnrReport, usable: bool) -> None:
        self.frames, self.tolerance, self.report, self.usable = frames, tolerance, report, usable
        self.pending: Frame | None = None
        self.done = False

    def _peek(self) -> Frame | None:
        if self.pending is None and not self.done:
            self.pending = next(self.frames, None)
            self.done = self.pending is None
        return self.pending

    def match(self, t: float) -> Frame | None:
        if not self.usable:
            return None
        while (g := self._peek()) is not None and g.time < t - self.tolerance:
            self.report.add_unmatched_gt(g.index, g.pts_time)
            self.pending = None
        if g is not None and abs(g.time - t) <= self.tolerance:
            self.pending = None
            return g
        return None

    def finish(self) -> None:
        while (g := self._peek()) is not None:
            self.report.add_unmatched_gt(g.index, g.pts_time)
            self.pending = None


def _read(reader: VideoReader, q: ByteQueue, stop: threading.Event) -> None:
    for frame in reader.frames(stop):
        q.put(frame, frame.data.nbytes)
    q.put_end()


def _write(
    q: ByteQueue, writer: DepthWriter, report: PsnrReport | None, gt: _GtMatcher | None, tick: Callable[[int], Any]
) -> None:
    for item in q:
        writer.write(item.out, item.depth.pts)
        if report is not None and gt is not None:
            g = gt.match(item.depth.time)
            report.add(
                item.depth.index, item.depth.pts_time, item.out, item.depth.data,
                None if g is None else g.data, None if g is None else g.pts_time,
            )
        tick(1)
    writer.close()
    if gt is not None:
        gt.finish()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _check_outputs(outputs: Sequence[Path], inputs: dict[str, Path], overwrite: bool) -> None:
    for i, out in enumerate(outputs):
        for role, p in inputs.items():
            if _same_file(out, p):
                raise OutputError(f"output is the same file as the {role} input", out)
        for other in outputs[:i]:
            if _same_file(out, other):
                raise OutputError("the same path is given for two outputs", out)
        if out.is_dir():
            raise OutputError("is a folder", out)
        if out.exists() and not overwrite:
            raise OutputError("already exists (use -y / --overwrite to replace it)", out)
        parent = out.parent
        if not parent.exists():
            raise OutputError(f"folder {str(parent)!r} does not exist", out)
        if not parent.is_dir():
            raise OutputError(f"{str(parent)!r} is not a folder", out)
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"folder {str(parent)!r} is not writable", out)


def batch_buffer_bytes(batch: int, width: int, height: int, depth_itemsize: int) -> int:
    """Bytes a batch of ``batch`` frames of ``width`` x ``height`` holds at once, per pixel: the paired
    colour (3) and depth frames, their stacked copies for the enhancer, the output depth, and the
    float32 working buffers (colour x 3, depth, network output)."""
    per_pixel = 2 * (3 + depth_itemsize) + depth_itemsize + 4 * (3 + 1 + 1)
    return batch * width * height * per_pixel


def batch_limit_bytes() -> int:
    """The most a batch's buffers may take: ``MAX_BATCH_BYTES`` (2 GiB), or a quarter of the
    physical memory where that is less."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return MAX_BATCH_BYTES
    return min(MAX_BATCH_BYTES, ram // 4) if ram > 0 else MAX_BATCH_BYTES


def check_batch(batch: int, width: int, height: int, depth_itemsize: int) -> None:
    """Refuse a batch whose buffers exceed ``batch_limit_bytes()`` (one frame is always allowed)."""
    need, limit = batch_buffer_bytes(batch, width, height, depth_itemsize), batch_limit_bytes()
    if batch > 1 and need > limit:
        fits = max(1, limit // batch_buffer_bytes(1, width, height, depth_itemsize))
        raise IGDEError(
            f"--batch {batch}: {batch} frames of {width}x{height} need {need / 2**30:.1f} GiB of buffers, "
            f"above the limit of {limit / 2**30:.1f} GiB; use --batch {fits} or less"
        )


def _commit(moves: Sequence[tuple[Path, Path]]) -> None:
    """Rename each (temporary, final) pair into place, all or nothing: on any failure (Ctrl-C included)
    the outputs already renamed are removed, files that were being replaced come back, and every
    temporary is removed."""
    pid = os.getpid()
    kept: list[tuple[Path, Path]] = []  # (backup, final) of files being replaced
    placed: list[Path] = []
    final: Path | None = None
    try:
        for _, final in moves:
            if os.path.lexists(final):
                backup = final.with_name(f".{final.name}.igde-old-{pid}")
                os.replace(final, backup)
                kept.append((backup, final))
        for tmp, final in moves:
            os.replace(tmp, final)
            placed.append(final)
    except BaseException as exc:
        for final in placed:
            final.unlink(missing_ok=True)
        for backup, final in kept:
            try:
                os.replace(backup, final)
            except OSError:
                log.error("could not put %s back; it is kept as %s", final, backup)
        for tmp, _ in moves:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write: {exc.strerror or exc}", final) from None
        raise
    for backup, _ in kept:
        backup.unlink(missing_ok=True)


def _make_enhancer(options: dict[str, Any]) -> Any:
    from ..enhancer import Enhancer

    try:
        return Enhancer(**options)
    except IGDEError as exc:
        if exc.path is not None:
            raise
        raise IGDEError(f"cannot load the model: {exc.problem}", str(options.get("model", "igde-small"))) from None
    except TypeError:
        raise
    except (OSError, ValueError, RuntimeError, ImportError, KeyError) as exc:
        raise IGDEError(f"cannot load the model: {exc}", str(options.get("model", "igde-small"))) from None


def _peak(enhancer: Any, dtype: np.dtype) -> float:
    """The enhancer's peak for ``dtype``; its own check refuses a max-depth the dtype cannot hold,
    before any output is written."""
    if hasattr(enhancer, "peak_for"):
        return float(enhancer.peak_for(dtype))
    max_depth = getattr(enhancer, "max_depth", None)
    return float(max_depth) if max_depth else _PEAKS[np.dtype(dtype)]


def _gt_problem(gt: VideoInfo, depth: VideoInfo) -> str | None:
    if (gt.width, gt.height) != (depth.width, depth.height):
        return f"ground truth is {gt.width}x{gt.height} but depth is {depth.width}x{depth.height}"
    if gt.dtype != depth.dtype:
        return f"ground truth is {gt.pix_fmt} but depth is {depth.pix_fmt} (different bit depth)"
    return None


def enhance_file(
    color_path: PathLike,
    depth_path: PathLike,
    out_path: PathLike,
    *,
    gt_path: PathLike | None = None,
    report_path: PathLike | Sequence[PathLike] | None = None,
    plot_path: PathLike | None = None,
    codec: str = DEFAULT_CODEC,
    overwrite: bool = False,
    threads: int = 0,
    progress: bool = False,
    enhancer: Any = None,
    queue_bytes: int = DEFAULT_QUEUE_BYTES,
    sync: str = "relative",
    **enhancer_options: Any,
) -> dict[str, Any]:
    """Enhance the depth video ``depth_path`` guided by ``color_path``; write it to ``out_path``.

    ``gt_path``: ground-truth depth video for the per-frame PSNR report, written to ``report_path``
    (``.json`` / ``.csv`` by suffix; one path or several) and plotted to ``plot_path`` (``.png``).
    ``codec``: output encoder (FFV1 by default; lossy ones are labelled). ``overwrite``: replace an
    existing output. ``threads``: decoder / encoder threads (0: automatic). ``progress``: tqdm bar.
    ``sync``: ``relative`` (each stream's start time subtracted before pairing) or ``absolute``
    (pts x time base); see ``VideoReader``.
    ``enhancer``: an ``Enhancer`` built once (for running many files), else ``enhancer_options``
    (``model``, ``backend``, ``device``, ``batch``, ``max_depth``, ``engine``, ...) build one.

    Returns the summary: output, frames, size, codec, backend, timings and, with ground truth, the
    report summary (mean / min / median / max PSNR, gain over the input, worst and unmatched frames).
    Raises ``IGDEError`` (with the file concerned) for any bad input or output path.
    """
    t_start = time.perf_counter()
    out = Path(out_path)
    if report_path is None:
        reports = []
    elif isinstance(report_path, (str, os.PathLike)):
        reports = [Path(report_path)]
    else:
        reports = [Path(p) for p in report_path]
    plot = Path(plot_path) if plot_path is not None else None
    if (reports or plot) and gt_path is None:
        raise IGDEError("a report or plot needs the ground-truth depth (--gt)")
    for r in reports:
        check_report_path(r)
    if plot is not None:
        check_plot_path(plot)  # .png, and matplotlib importable: not found out after the whole stream
    inputs = {"colour": Path(color_path), "depth": Path(depth_path)}
    if gt_path is not None:
        inputs["ground-truth"] = Path(gt_path)
    _check_outputs([out, *reports, *([plot] if plot else [])], inputs, overwrite)
    codec_is_lossless(codec)  # an unknown encoder fails before any decoding
    if enhancer is not None and enhancer_options:
        raise TypeError(f"pass either enhancer= or enhancer options, not both (got {sorted(enhancer_options)})")

    with ExitStack() as stack:
        depth = stack.enter_context(VideoReader(depth_path, "depth", threads=threads, sync=sync))
        di = depth.info
        color = stack.enter_context(VideoReader(color_path, "color", size=(di.width, di.height), threads=threads, sync=sync))
        gt = stack.enter_context(VideoReader(gt_path, "gt", threads=threads, sync=sync)) if gt_path is not None else None
        resized = None
        if color.size is not None:
            resized = f"{color.info.width}x{color.info.height} -> {di.width}x{di.height}"
            log.info("colour %s resized to the depth grid (%s)", color.path, resized)
        batch = getattr(enhancer, "batch", 4) if enhancer is not None else enhancer_options.get("batch")
        check_batch(int(batch or 4), di.width, di.height, di.dtype.itemsize)  # before the model loads
        if enhancer is None:
            enhancer = _make_enhancer({k: v for k, v in enhancer_options.items() if v is not None})
        peak = _peak(enhancer, di.dtype)
        report = None
        if gt is not None:
            problem = _gt_problem(gt.info, di)
            if problem:
                log.warning("%s: %s; every frame is reported as unmatched", gt.path, problem)
            # rows go to a file beside the report (not /tmp, often RAM), so memory stays flat
            report = stack.enter_context(PsnrReport(peak, problem, spool_dir=(reports[0] if reports else out).parent))
        lossless = codec_is_lossless(codec)
        log.info(
            "%s: %dx%d %s at %s fps -> %s, %s",
            depth.path, di.width, di.height, di.pix_fmt, f"{float(di.rate):.3f}" if di.rate else "?", out,
            describe_codec(codec),
        )
        if not lossless:
            log.warning(
                "%s is a lossy codec: the output differs from the enhanced frames "
                "(the report measures them before encoding)",
                codec,
            )
        writer = DepthWriter(out, di, codec=codec, threads=threads)
        moves: list[tuple[Path, Path]] = [(writer.tmp, out)]  # every output, (temporary name, final name)
        try:
            frames, infer_s = _run(color, depth, gt, writer, enhancer, report, queue_bytes, progress)
            writer.close()
            seconds = time.perf_counter() - t_start
            summary: dict[str, Any] = {
                "output": str(out), "frames": frames, "width": di.width, "height": di.height,
                "pix_fmt": writer.pix_fmt, "codec": codec, "lossless": lossless,
                "backend": getattr(enhancer, "backend_name", None), "batch": getattr(enhancer, "batch", None),
                "color_resized": resized, "seconds": round(seconds, 3), "fps": round(frames / seconds, 3),
                "inference_seconds": round(infer_s, 3),
            }
            if report is not None:
                summary.update(report.summary())
                header = {
                    "tool": "igde-stream", "version": _version(), "color": str(color_path), "depth": str(depth_path),
                    "gt": str(gt_path), "output": str(out), "codec": codec, "lossless": lossless,
                    "measured_on": "enhanced frames before encoding" + ("" if lossless else " (lossy output differs)"),
                    "backend": summary["backend"],
                }
                for r in reports:
                    moves.append((temp_path(r), r))
                    report.write(r, header, to=moves[-1][0])
                summary["reports"] = [str(r) for r in reports]
                if plot is not None:
                    moves.append((temp_path(plot), plot))
                    report.plot(plot, title=out.name, to=moves[-1][0])
                    summary["plot"] = str(plot)
            stack.close()  # inputs and the report's row file closed before the outputs appear
            _commit(moves)  # the one step that puts every output in place
        except BaseException:
            writer.abort()
            for tmp, _ in moves[1:]:
                tmp.unlink(missing_ok=True)
            raise
    return summary


def _run(
    color: VideoReader, depth: VideoReader, gt: VideoReader | None, writer: DepthWriter, enhancer: Any,
    report: PsnrReport | None, queue_bytes: int, progress: bool,
) -> tuple[int, float]:
    """Run the stages; returns (frames written, seconds spent in inference)."""
    from tqdm import tqdm

    di = depth.info
    tolerance = 0.5 * di.frame_duration
    batch_size = int(getattr(enhancer, "batch", 4) or 4)
    crew = _Crew()
    # Enough to keep every stage busy, no more: memory is the same for 100 frames or a million.
    pixels = di.width * di.height
    depth_bytes = pixels * di.dtype.itemsize

    def bound(frame_bytes: int) -> int:
        return min(queue_bytes, PREFETCH_BATCHES * batch_size * frame_bytes)

    cq, dq, wq = ByteQueue(bound(3 * pixels), crew.stop), ByteQueue(bound(depth_bytes), crew.stop), \
        ByteQueue(bound(2 * depth_bytes), crew.stop)
    bar = tqdm(total=di.expected_frames, unit="frame", disable=not progress, leave=False, dynamic_ncols=True)
    gt_match = None
    if gt is not None and report is not None:
        gq = ByteQueue(bound(depth_bytes), crew.stop)
        gt_match = _GtMatcher(iter(gq), tolerance, report, usable=report.gt_problem is None)
        crew.spawn("igde-read-gt", _read, gt, gq, crew.stop)
    crew.spawn("igde-read-colour", _read, color, cq, crew.stop)
    crew.spawn("igde-read-depth", _read, depth, dq, crew.stop)
    crew.spawn("igde-write", _write, wq, writer, report, gt_match, bar.update)

    paired, infer_s = 0, 0.0
    batch: list[tuple[Frame, Frame]] = []

    def flush() -> None:
        nonlocal infer_s
        t0 = time.perf_counter()
        out = enhancer.enhance(np.stack([c.data for c, _ in batch]), np.stack([d.data for _, d in batch]))
        infer_s += time.perf_counter() - t0
        for (_, d), o in zip(batch, out):
            wq.put(_Enhanced(d, o), d.data.nbytes + o.nbytes)
        batch.clear()

    try:
        try:
            for c, d in pair_frames(iter(cq), iter(dq), tolerance, (color.path, depth.path)):
                batch.append((c, d))
                paired += 1
                if len(batch) == batch_size:
                    flush()
            if batch:
                flush()
            wq.put_end()
        except _Cancelled:
            pass  # a stage failed: its exception is raised below
        except BaseException:
            crew.stop.set()
            crew.join()
            raise
        crew.join()
    finally:
        bar.close()
    if crew.failure is not None:
        raise crew.failure
    if writer.frames != paired:  # frames in == frames out
        raise RuntimeError(f"internal error: {paired} frames paired but {writer.frames} written")
    return paired, infer_s


def _version() -> str:
    from .. import __version__

    return __version__
