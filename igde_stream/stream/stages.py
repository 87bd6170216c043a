"""The threads of the stream pipeline: a FIFO bounded in bytes (:class:`ByteQueue`), the crew that
runs the stages and carries the first failure to the caller (:class:`_Crew`), and the reader stage."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Iterator

from .reader import VideoReader

_END = object()


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


def _read(reader: VideoReader, q: ByteQueue, stop: threading.Event) -> None:
    for frame in reader.frames(stop):
        q.put(frame, frame.data.nbytes)
    q.put_end()
