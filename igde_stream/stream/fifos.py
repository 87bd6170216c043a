"""Named pipes (``mkfifo``) and a shell's process substitutions (``<(cmd)``, a ``/dev/fd/N`` that is a
pipe) as inputs: read once, as stdin and network streams are (``urls.read_once``: never seeked, no
second opening for the orientation probe, a float range or a frame count; live pairing).

- **Opening without waiting** (``opened``, ``open_pipe``): a reader's ``open`` of a FIFO blocks until a
  writer opens it, and a writer's until a reader does. One ``ffmpeg`` writing colour and depth to two
  FIFOs opens its outputs in its own order, blocked in the first until it has a reader, while a
  reader waiting in the other would never return: every pipe input of a run is opened with
  ``O_NONBLOCK`` before any is probed (``opened``, entered by ``enhance_file`` and the views
  commands), so the writer finds all its readers whatever the order.
- **Waiting for data** (``PipeReader``): a read waits (``poll``) for a writer and its data; a pipe
  opened before its writer reads no end of stream until a writer has come and gone. An interrupt
  (Ctrl-C, SIGTERM) while it waits ends the stream there, as on stdin (``signals.interrupted_by``).
  A pipe with no writer waits for one without end (a writer may start after the run): after
  ``NOTE_S`` seconds with nothing from it, one warning says the run is waiting for its writer.
- **One writer, two pipes**: FFmpeg's probe of one input reads its first frames (about 20 of FFV1
  in NUT) while the other pipe is not read, and the writer blocks once that pipe's buffer is full
  (64 KiB): at 1280x720 the probe then waits for ever. While a pipe is probed, the run's other
  pipes are read into memory (``_Drain``), each up to ``DRAIN_MAX`` bytes, and their readers get
  those bytes first; each pipe's buffer is also raised to the system's most
  (``/proc/sys/fs/pipe-max-size``, 1 MiB by default). A probe that needs more of the other stream
  than that still waits for ever (the command's Ctrl-C ends it).
- Colour and depth from one pipe share its opening (``sources.SharedInput``, demuxed once); the
  ground truth, or a second reader of a pipe another input reads, is refused in one line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import stat
import threading
import time
from typing import Any, Iterator

from ..errors import InputError
from ..signals import interrupted_by

WAIT_S = 0.1  # a read's poll: how soon an interrupt is seen while a pipe sends nothing
NOTE_S = 10.0  # a pipe that has sent nothing for this long is said to be waited for (once)
log = logging.getLogger("igde_stream.stream")
DRAIN_MAX = 64 << 20  # bytes of one pipe held in memory while another is probed
F_SETPIPE_SZ = 1031  # Linux fcntl (fcntl.F_SETPIPE_SZ from Python 3.10 on Linux only)
_lock = threading.Lock()
_waiting: dict[tuple[int, int, int], int] = {}  # (st_dev, st_ino, thread) -> a descriptor opened early
_opened: dict[tuple[int, int, int], tuple[Any, set[str]]] = {}  # ... -> (SharedInput, roles)
_pending: dict[int, bytearray] = {}  # a descriptor -> what _Drain read from it for its reader


def is_fifo(path: Any) -> bool:
    """Whether ``path`` names a pipe: a FIFO, or ``/dev/fd/N`` / ``/proc/self/fd/N`` of one (``<(cmd)``)."""
    if not isinstance(path, (str, os.PathLike)) or os.fspath(path) in ("", "-"):
        return False
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _key(path: Any) -> tuple[int, int, int]:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, threading.get_ident())


def _open_fd(path: Any) -> int:
    """``path`` opened for reading without waiting for a writer; blocking reads from then on. Where the
    system has no ``O_NONBLOCK`` or ``poll`` (Windows, whose named pipes ``os.stat`` calls FIFOs): one
    line, as for any input that cannot be read."""
    if not hasattr(os, "O_NONBLOCK") or not hasattr(select, "poll"):
        raise InputError("is a named pipe, which is read on POSIX systems only (O_NONBLOCK and poll): give the "
                         "stream on stdin (-) or as a file", os.fspath(path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", os.fspath(path)) from None
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        _widen(fd, fcntl)
    except ImportError:  # no fcntl (Windows has no FIFOs anyway)
        pass
    return fd


def _widen(fd: int, fcntl: Any) -> None:
    """The pipe's buffer raised to the system's most (Linux; best effort)."""
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            most = int(f.read())
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", F_SETPIPE_SZ), most)
    except (OSError, ValueError):
        pass


@contextlib.contextmanager
def opened(*paths: Any) -> Iterator[None]:
    """Open every pipe among ``paths`` now, without waiting for its writer (``open_pipe`` then takes
    the descriptor); those no reader took are closed at the end."""
    keys = []
    try:
        for p in paths:
            if p is not None and is_fifo(p):
                key = _key(p)
                with _lock:
                    if key in _waiting or key in _opened:
                        continue
                fd = _open_fd(p)
                with _lock:
                    _waiting[key] = fd
                keys.append(key)
        yield
    finally:
        with _lock:
            left = [_waiting.pop(k) for k in keys if k in _waiting]
        for fd in left:
            os.close(fd)


class PipeReader:
    """A pipe as PyAV reads it (a file object with ``read`` only: FFmpeg then never seeks in it)."""

    def __init__(self, fd: int, path: str = "") -> None:
        self.fd, self.path = fd, path
        self.noted = False  # the note that nothing has come yet, said
        self.bytes_read = 0
        self.probed = self.live = False  # opened (av.open returned); read from then on (_Drain leaves it)
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)

    def total(self) -> int:
        """The stream's length as far as it was read."""
        return self.bytes_read

    def read(self, n: int = -1) -> bytes:
        n = n if n > 0 else 1 << 16
        with _lock:
            self.live = self.live or self.probed
            held = _pending.get(self.fd)
            if held:  # read while another pipe was probed
                data = bytes(held[:n])
                del held[:n]
                self.bytes_read += len(data)
                return data
        try:
            since = time.monotonic()
            while not self._poll.poll(WAIT_S * 1000):  # no writer yet, or one that sends nothing
                if interrupted_by() is not None:
                    return b""
                if not self.bytes_read and not self.noted and time.monotonic() - since >= NOTE_S:
                    self.noted = True
                    log.warning("%s: nothing has come from this named pipe in %g s: waiting for its writer "
                                "(Ctrl-C stops)", self.path or "a named pipe", NOTE_S)
            if interrupted_by() is not None:
                return b""
            data = os.read(self.fd, n)
        except KeyboardInterrupt:  # Terminated too
            return b""
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror) from None
        self.bytes_read += len(data)
        return data

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            with _lock:
                _pending.pop(fd, None)
            try:
                self._poll.unregister(fd)
            except (KeyError, ValueError):
                pass
            os.close(fd)


class _Drain:
    """While pipe ``fd`` is probed (``with``), a thread reads the other pipes the process has open
    (opened early, or opened and not read yet) into ``_pending``, up to ``DRAIN_MAX`` bytes each."""

    def __init__(self, fd: int) -> None:
        self.fd, self.stop = fd, threading.Event()
        self.thread = threading.Thread(target=self._run, name="pipe-drain", daemon=True)

    def __enter__(self) -> _Drain:
        if self._others():
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()

    def _others(self) -> list[int]:
        with _lock:
            return [fd for fd in self._fds_now() if fd != self.fd and len(_pending.get(fd, b"")) < DRAIN_MAX]

    @staticmethod
    def _fds_now() -> set[int]:
        """Pipes opened early, and opened ones that no reader reads yet (under ``_lock``)."""
        return {*_waiting.values(), *(s.pipe.fd for s, _ in _opened.values()
                                      if s.pipe is not None and s.pipe.fd >= 0 and not s.pipe.live)}

    def _run(self) -> None:
        ended: set[int] = set()
        while not self.stop.is_set():
            fds = [fd for fd in self._others() if fd not in ended]
            if not fds:
                self.stop.wait(WAIT_S)
                continue
            poll = select.poll()
            for fd in fds:
                poll.register(fd, select.POLLIN)
            for fd, _ in poll.poll(WAIT_S * 1000):
                with _lock:  # a reader closed meanwhile takes its descriptor out of _others
                    if fd not in self._fds_now():
                        continue
                    try:
                        data = os.read(fd, min(1 << 16, DRAIN_MAX - len(_pending.get(fd, b""))))
                    except OSError:
                        data = b""
                    if data:
                        _pending.setdefault(fd, bytearray()).extend(data)
                    else:  # the writer closed: its reader reads the end itself
                        ended.add(fd)


def _release(shared: Any) -> None:
    with _lock:
        for key, (s, _) in list(_opened.items()):
            if s is shared:
                del _opened[key]


def join_opened(opened: dict[Any, tuple[Any, set[str]]], key: Any, role: str, path: str,
                words: tuple[str, str, str]) -> Any:
    """A read-once input already opened by another reader of this thread (``opened[key]``: its
    ``SharedInput`` and the roles reading it), joined by ``role``; None where there is none. Colour and
    depth may share it; the ground truth, or a second reader of one role, cannot (``words``: what the
    input is, e.g. ("a network stream", "stream", "URL"), for the message). Call with the lock held."""
    if key not in opened:
        return None
    shared, roles = opened[key]
    if role == "gt" or "gt" in roles or role in roles:
        what, same, source = words
        raise InputError(f"{what} is read once: the ground truth (or a second reader of the same {same}) cannot "
                         f"come from the {source} another input reads", path)
    roles.add(role)
    return shared.add_user()


def open_pipe(path: str, role: str, opener: Any) -> tuple[Any, bool]:
    """The ``sources.SharedInput`` of pipe input ``path`` for ``role``, and whether it is new: colour
    and depth of one thread share it. ``opener(reader)``: the opened container of a ``PipeReader``."""
    from .sources import SharedInput

    key = _key(path)
    with _lock:
        if (joined := join_opened(_opened, key, role, path, ("a named pipe", "pipe", "pipe"))) is not None:
            return joined, False
        fd = _waiting.pop(key, None)
    reader = PipeReader(fd if fd is not None else _open_fd(path), path)
    try:
        with _Drain(reader.fd):
            container = opener(reader)
        reader.probed = True
    except BaseException:
        reader.close()
        raise
    shared = SharedInput(container, path, release=_release)
    shared.pipe, shared.total_bytes = reader, reader.total
    with _lock:
        _opened[key] = (shared, {role})
    return shared, True


__all__ = ["PipeReader", "is_fifo", "join_opened", "open_pipe", "opened"]
