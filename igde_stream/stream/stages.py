"""The threads of the stream pipeline: a FIFO bounded in bytes (:class:`ByteQueue`), the crew that
runs the stages and carries the first failure to the caller (:class:`_Crew`), the reader stage, and
the memory bound of a batch (:func:`check_batch`)."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import IGDEError
from ..signals import ABANDONED
from .info import Frame
from .reader import VideoReader

_END = object()
ABANDON_AFTER_S = 3.0  # after an interrupt, how long the stages get to notice the stop
MAX_BATCH_BYTES = 2 << 30  # a batch's buffers stay under this (or a quarter of the RAM, if less)


@dataclass
class _Enhanced:
    """What the main thread hands the writer thread: one frame's input depth and its enhanced depth."""

    depth: Frame  # the input depth frame (pixels, pts, times)
    out: np.ndarray  # the enhanced depth, same shape and dtype
    color: np.ndarray | None = None  # the colour frame, when an output needs it (views, RGB-D, preview)


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
        self.closed = False  # the consumer reads no more (``close``)

    def put(self, item: Any, nbytes: int) -> None:
        with self._cond:
            while not self.closed and self._items and self.bytes + nbytes > self.max_bytes:
                self._wait()
            self._wait(block=False)
            if self.closed:  # nobody reads it: dropped, and the producer never waits
                return
            self._items.append((item, nbytes))
            self.bytes += nbytes
            self.peak_bytes = max(self.peak_bytes, self.bytes)
            self._cond.notify_all()

    def put_end(self) -> None:
        with self._cond:
            self._items.append((_END, 0))
            self._cond.notify_all()

    def close(self) -> None:
        """The consumer has read all it wants: what the queue holds is dropped and every later ``put``
        returns at once (a producer waiting for room wakes), so a stage stopped early never blocks."""
        with self._cond:
            self.closed = True
            self._items.clear()
            self.bytes = 0
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
    """The stage threads: a shared stop event, the first failure, join-all. Each thread sets its own
    ``done`` event as it ends, and joining waits on those: ``Thread.join`` interrupted by a signal
    marks a thread that is still running as stopped (CPython 3.11's ``_wait_for_tstate_lock``), so
    neither it nor ``is_alive`` can tell afterwards whether a thread is still blocked."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.failure: BaseException | None = None
        self.done: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def spawn(self, name: str, fn: Callable[..., None], *args: Any) -> None:
        done = self.done[name] = threading.Event()

        def run() -> None:
            try:
                fn(*args)
            except _Cancelled:
                pass
            except BaseException as exc:  # noqa: BLE001 - carried to the main thread
                self.fail(exc)
            finally:
                done.set()

        threading.Thread(target=run, name=name, daemon=True).start()

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = exc
        self.stop.set()

    def join(self, timeout: float | None = None) -> list[str]:
        """Wait for every stage thread; with ``timeout`` (seconds, for all together: after an
        interrupt), give up on threads still blocked then (in a read from a pipe that sends nothing,
        a write to one that nobody reads) and return their names; their ``done`` events go to
        ``signals.ABANDONED`` (daemon threads: they end with the process)."""
        end = None if timeout is None else time.monotonic() + timeout
        try:
            for ev in self.done.values():
                ev.wait(None if end is None else max(0.0, end - time.monotonic()))
        except BaseException:  # Ctrl-C while waiting: stop everyone, then wait (bounded) again
            self.stop.set()
            self.join(ABANDON_AFTER_S if timeout is None else timeout)
            raise
        stuck = [name for name, ev in self.done.items() if not ev.is_set()]
        ABANDONED.extend(self.done[name] for name in stuck)
        return stuck


class Either:
    """``is_set`` of either of two events: a reader stops when the run failed or when it has read
    enough (``--max-frames``)."""

    def __init__(self, a: threading.Event, b: threading.Event) -> None:
        self._a, self._b = a, b

    def is_set(self) -> bool:
        return self._a.is_set() or self._b.is_set()


class _NoBar:
    """The progress bar's two calls, doing nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _read(reader: VideoReader, q: ByteQueue, stop: threading.Event | Either) -> None:
    for frame in reader.frames(stop):
        q.put(frame, frame.nbytes)
    q.put_end()


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
