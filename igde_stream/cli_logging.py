"""The log of every ``igde-stream`` command on stderr: ``PROG: <message>`` lines, the stream's progress
(INFO) and the package's warnings; ``-q``: errors only (``setup_logging``)."""

from __future__ import annotations

import logging
import sys
from typing import Any, Callable

__all__ = ["run_tool", "setup_logging"]


class _CliFormatter(logging.Formatter):
    """``PROG: <message>``, in the command's words where the record has them (``cli_text``)."""

    def __init__(self, prog: str = "igde-stream") -> None:
        super().__init__()
        self.prog = prog

    def format(self, record: logging.LogRecord) -> str:
        return f"{self.prog}: {getattr(record, 'cli_text', None) or record.getMessage()}"


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """On whatever ``sys.stderr`` is when a record comes (not the one of the first run in a process)."""
    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_logging(quiet: bool, prog: str = "igde-stream") -> None:
    """Log and warnings of the stream (INFO) and the rest of the package (WARNING: the Enhancer's depth
    range, ...) on stderr as ``PROG: ...``; ``quiet``: none of them (errors are printed by ``main``)."""
    handler = _Stderr()
    handler.setFormatter(_CliFormatter(prog))
    handler.setLevel(logging.ERROR if quiet else logging.NOTSET)
    for name in ("igde_stream.stream", "igde_stream.cli"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.setLevel(logging.WARNING if quiet else logging.INFO)
        lg.propagate = False
    package = _Stderr()  # the logger level stays as it is (an embedder's, a test's)
    package.setFormatter(_CliFormatter(prog))
    package.setLevel(logging.ERROR if quiet else logging.WARNING)
    lg = logging.getLogger("igde_stream")
    lg.handlers[:] = [h for h in lg.handlers if not isinstance(h.formatter, _CliFormatter)] + [package]
    # FFmpeg's own messages: the reader turns the ones that matter into errors.
    logging.getLogger("libav").addHandler(logging.NullHandler())
    logging.getLogger("libav").propagate = False


def run_tool(main: Callable[[], int], prog: str) -> int:
    """A script's ``main()`` with the user's mistakes as one line on stderr and exit 2, as the
    commands give them: ``IGDEError`` (bad input, output, model or option) and ``FileNotFoundError``
    (a model or data file that is not there). Anything else is a bug and keeps its traceback."""
    from .errors import IGDEError, cli_message

    try:
        return main()
    except (IGDEError, FileNotFoundError) as exc:
        print(f"{prog}: error: {cli_message(exc)}", file=sys.stderr)
        return 2
