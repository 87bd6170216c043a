"""An output written under a hidden partial name and put in place only by ``commit``.

``DepthWriter`` writes its file (or its folder of images) under ``parts.temp_path`` in the output's
folder; ``commit`` renames it to its real name (the rename is atomic: same folder), ``abort`` removes
it, so an interrupted or failed run leaves no half-written output behind, and ``with`` commits when
the block ends and aborts when it raises. Destinations that cannot be renamed (stdout, a network
URL) have no partial name (``tmp`` is None): there ``commit`` only closes.
"""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, TypeVar

from ..errors import OutputError
from .parts import commit as commit_moves

_Output = TypeVar("_Output", bound="PartialOutput")


class PartialOutput(ABC):
    """The commit / abort half of a writer. The writer sets ``out`` (its name in messages), ``final``
    (the real name), ``tmp`` (the partial name, or None), ``sequence`` (a folder of images),
    ``container`` (the open PyAV container) and ``frames`` (how many were written), and gives ``close``
    (flush and close the container, once)."""

    out: Any
    final: Path
    tmp: Path | None
    sequence: bool
    container: Any
    frames: int
    _closed: bool
    _committed: bool
    abandoned: bool  # the writer's thread was left blocked on a pipe: ``abort`` leaves the container open

    @abstractmethod
    def close(self) -> None:
        """Flush the encoder and close the container (the output keeps its partial name)."""

    def __enter__(self: _Output) -> _Output:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """``with DepthWriter(...) as w:`` commits the output when the block ends normally and aborts it
        (nothing left under either name) when it raises, or when the commit itself fails."""
        if exc_type is None:
            try:
                self.commit()
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()

    def commit(self) -> Path:
        """Close, then give the file (or the folder of images) its real name, replacing an existing one;
        once (a second call gives the same path and changes nothing). Without a frame written there is
        nothing to commit: ``OutputError``, and the temporary file is removed."""
        if self.tmp is not None and not self._committed and self.frames == 0:
            # FFmpeg wrote no header: a 0-byte file no reader opens, or an empty folder of images
            self.abort()
            raise OutputError("no frame was written: nothing to commit", self.out)
        self.close()
        if self.tmp is not None and not self._committed:
            if self.sequence:  # the earlier folder stays until this is in place; its .DS_Store ... move in
                commit_moves([(self.tmp, self.final)])
            else:
                os.replace(self.tmp, self.final)
            self._committed = True  # only once in place: a failed rename leaves the temporary file to abort
        return self.final

    def abort(self) -> None:
        """Close without flushing and remove the temporary file; safe to call at any point. A writer
        ``abandoned`` by its thread (blocked writing to a pipe nobody reads) is not closed: closing
        writes to the same pipe, and the thread may still be inside the muxer. After ``commit``: nothing."""
        if self._committed:
            return
        if not self._closed and not self.abandoned:
            self._closed = True
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - the file is deleted anyway
                pass
        self._remove_tmp()

    def _remove_tmp(self) -> None:
        if self.tmp is None:
            return
        try:
            if self.tmp.is_dir() and not self.tmp.is_symlink():
                shutil.rmtree(self.tmp)
            else:
                os.unlink(self.tmp)
        except FileNotFoundError:
            pass
