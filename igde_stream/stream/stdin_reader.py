"""stdin as PyAV reads it (``StdinReader``): an interrupt while a read waits ends the stream there,
a regular file redirected into it seeks as a file (``sources.open_input`` opens stdin through it)."""

from __future__ import annotations

import errno
import os
import stat
from typing import Any

from ..signals import interrupted_by


class StdinReader:
    """stdin as PyAV reads it: an interrupt (Ctrl-C, SIGTERM) while a read waits for data ends the
    stream there (end of file) instead of going into PyAV's read callback, which would print it as
    ignored and read on; the command then says what stopped it (``signals.interrupted_by``)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.bytes_read = 0

    def total(self) -> int:
        """The stream's length as far as it was read (all of it, once the demuxer met its end)."""
        try:
            st = os.fstat(self.raw.fileno())
            if stat.S_ISREG(st.st_mode):  # redirected from a file, which the demuxer may seek in
                return st.st_size
        except (OSError, ValueError):
            pass
        return self.bytes_read

    def __getattr__(self, name: str) -> Any:  # seek, tell, seekable: stdin redirected from a file seeks
        return getattr(self.raw, name)

    def seek(self, offset: int, whence: int = 0) -> int:
        """A regular file's seek; a target the file system refuses (EINVAL: past its largest size, as
        the damaged index pointer at the end of a cut NUT file gives) lands at the end of the file,
        which reads as end of file like any offset past it. PyAV would keep the OSError and raise it
        after FFmpeg's demuxer had gone on without the index, failing the open."""
        try:
            return self.raw.seek(offset, whence)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            return self.raw.seek(0, os.SEEK_END)

    def read(self, n: int = -1) -> bytes:
        if interrupted_by() is not None:
            return b""
        try:
            data = self.raw.read(n)
        except KeyboardInterrupt:  # Terminated too
            return b""
        self.bytes_read += len(data)
        return data


__all__ = ["StdinReader"]
