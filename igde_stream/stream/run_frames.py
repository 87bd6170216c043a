"""The stages of one ``enhance_file`` run (``pipeline``): readers, pairing and batches into the model on
the calling thread, the writer; queues bounded in bytes, so memory is the same for 100 frames or a
million. A stage that fails stops the others; the first failure is raised in the caller's thread."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from .outputs import GtMatcher, Outputs, write_stage
from .pairing import end_pairs, pairs, rounding_slack
from .reader import Frame, VideoReader
from .report import PsnrReport
from .roles import is_still
from .span import Span
from .streams import UNTIMED
from .stages import ABANDON_AFTER_S, ByteQueue, Either, _Cancelled, _Crew, _Enhanced, _NoBar, _read
from .urls import read_once

PREFETCH_BATCHES = 3  # each queue holds at most this many batches of its frames (below the cap)


def run_frames(
    color: VideoReader, depth: VideoReader, gt: VideoReader | None, outs: Outputs, enhancer: Any,
    report: PsnrReport | None, queue_bytes: int, progress: bool, pair: str, tally: dict[str, int],
    span: Span = Span(), total: int | None = None,
) -> tuple[int, float]:
    """Run the stages over the frames of ``span`` (``total``: how many are expected, for the bar);
    returns (frames written, seconds spent in inference)."""
    from tqdm import tqdm

    di, batch_size = depth.info, int(getattr(enhancer, "batch", 4) or 4)
    crew = _Crew()
    # Enough to keep every stage busy, no more: memory is the same for 100 frames or a million.
    pixels = di.width * di.height
    depth_bytes = pixels * (di.dtype.itemsize + (4 if getattr(depth, "keep_values", False) else 0))  # + floats kept

    def bound(frame_bytes: int) -> int:
        return min(queue_bytes, PREFETCH_BATCHES * batch_size * frame_bytes)

    color_bytes = 3 * pixels if outs.needs_color else 0  # the colour travels on only when an output needs it
    cq, dq, wq = ByteQueue(bound(3 * pixels), crew.stop), ByteQueue(bound(depth_bytes), crew.stop), \
        ByteQueue(bound(2 * depth_bytes + color_bytes), crew.stop)
    # no tqdm object at all without a bar: even a disabled one starts tqdm's monitor thread, which outlives the call
    bar = tqdm(total=total, unit="frame", leave=False, dynamic_ncols=True) if progress else _NoBar()
    # max_frames paired; ... and written; the depth ended while a live colour runs on (--pair nearest)
    enough, gt_enough, colour_end = threading.Event(), threading.Event(), threading.Event()
    gt_match = None
    if gt is not None and report is not None:
        gq = ByteQueue(bound(depth_bytes), crew.stop)
        gt_match = GtMatcher(iter(gq), 0.5 * di.frame_duration, report, usable=report.gt_problem is None,
                             names=(str(depth.path), str(gt.path)), cut=enough, late=span.start > 0,
                             on_cut=lambda: (gt_enough.set(), gq.close()),
                             by_index=gt.info.kind in UNTIMED and di.kind not in UNTIMED)
        crew.spawn("igde-read-gt", _read, gt, gq, Either(crew.stop, gt_enough))
    crew.spawn("igde-read-colour", _read, color, cq, Either(crew.stop, Either(enough, colour_end)))
    crew.spawn("igde-read-depth", _read, depth, dq, Either(crew.stop, enough))
    crew.spawn("igde-write", write_stage, wq, outs, gt_match, bar.update)

    paired, infer_s = 0, 0.0
    batch: list[tuple[Frame, Frame]] = []

    def flush() -> None:
        nonlocal infer_s
        with outs.device_lock:  # a GPU renderer in the writer thread waits (outputs.py)
            t0 = time.perf_counter()
            out = enhancer.enhance(np.stack([c.data for c, _ in batch]), np.stack([d.data for _, d in batch]))
            infer_s += time.perf_counter() - t0
        for (c, d), o in zip(batch, out):
            wq.put(_Enhanced(d, o, c.data if color_bytes else None), d.nbytes + o.nbytes + color_bytes)
        batch.clear()

    def stop_reading() -> None:  # every frame written is paired: the readers stop; what they hold is dropped
        enough.set()
        cq.close()
        dq.close()

    try:
        try:
            try:
                durations, slack = (color.info.frame_duration, di.frame_duration), rounding_slack(color.info, di)
                heads = span.heads(pair, (color.info, di), cq, dq)
                pairing = pairs(pair, *heads, durations, (color.path, depth.path), tally, slack,
                                is_still(color.info), span.past)  # nearest stops at --to itself
                for c, d in pairing:
                    if span.past(d):  # at or after --to
                        break
                    if not paired:
                        span.begins(d)
                    batch.append((c, d))
                    paired += 1
                    if len(batch) == batch_size:
                        flush()
                    if paired == span.max_frames:
                        end_pairs(pairing)  # the colour frames read for these are counted
                        break
                if span.over(paired):
                    stop_reading()
                elif read_once(color.path):  # its reader stops: a stream that may never end is not waited for
                    colour_end.set()
                    cq.close()
                if batch:
                    flush()
                wq.put_end()
            except _Cancelled:
                pass  # a stage failed: its exception is raised below
            crew.join()
        except BaseException:  # an interrupt, in the loop or in the last wait for the writer
            crew.stop.set()
            # a writer thread still blocked on a pipe nobody reads: its file is not closed under it
            outs.depth.abandoned = "igde-write" in crew.join(ABANDON_AFTER_S)
            raise
    finally:
        bar.close()
    if crew.failure is not None:
        raise crew.failure
    if not paired:
        span.check_reached(depth)
    if outs.depth.frames != paired:  # frames in == frames out
        raise RuntimeError(f"internal error: {paired} frames paired but {outs.depth.frames} written")
    return paired, infer_s
