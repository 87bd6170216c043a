"""How the commands end: exit codes, SIGTERM raised as ``Terminated`` in the main thread, a record of
the signal that stopped a run (PyAV swallows an exception raised inside its read callback, e.g. while
it waits on stdin, and the run then ends in a decoding error that is really the interrupt), and
output to a pipe whose reader has gone.

Exit codes: 0 done, 2 a bad input, option or output (one line), 130 Ctrl-C, 143 SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

EXIT_OK, EXIT_USER_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 2, 130, 143
#: seconds after a first SIGTERM during which another is ignored, so that it cannot cut the cleanup
#: short; one after that raises again (the first may have been swallowed while a thread waited on a pipe)
SECOND_SIGTERM_AFTER = 2.0

_received: dict[str, float] = {}  # "int" / "term" -> when the run got it
#: the ``done`` events of stage threads given up on after an interrupt, blocked on a pipe
#: (``stream.stages``): while one is unset the command ends with ``os._exit``, since the
#: interpreter's own exit could wait on the thread
ABANDONED: list[threading.Event] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread. A KeyboardInterrupt, so every cleanup Ctrl-C runs runs too."""


def interrupted_by() -> str | None:
    """``"term"`` or ``"int"`` when a signal arrived inside ``signals_raise``, else None."""
    return "term" if "term" in _received else "int" if "int" in _received else None


@contextmanager
def signals_raise() -> Iterator[None]:
    """While inside, SIGTERM raises ``Terminated`` and SIGINT ``KeyboardInterrupt`` in the main thread,
    and each is recorded (``interrupted_by``). A SIGTERM within ``SECOND_SIGTERM_AFTER`` seconds of
    the first is ignored. Outside the main thread, or afterwards, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    ABANDONED.clear()

    def terminate(signum: int, frame: Any) -> None:
        now = time.monotonic()
        if now - _received.get("term", -SECOND_SIGTERM_AFTER) < SECOND_SIGTERM_AFTER:
            return
        _received["term"] = now
        raise Terminated

    def interrupt(signum: int, frame: Any) -> None:
        _received["int"] = time.monotonic()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate), signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])


def stdout_gone(stream: Any = None) -> None:
    """After a ``BrokenPipeError`` on stdout (or ``stream``, e.g. stderr): point it at /dev/null, so
    that the interpreter's own flush at exit does not fail a second time with a traceback."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), (stream or sys.stdout).fileno())
    except (OSError, ValueError):
        pass


def say(text: str, *, err: bool = False) -> bool:
    """Print ``text`` to stdout (or stderr); False, quietly, when the reader of the pipe has gone
    (``... | head``, ``... | true``): the outputs are written by then, so that is no error."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:  # closed at the start (2>&-): print would fall back to stdout, the output's
        return False
    try:
        print(text, file=stream, flush=True)
        return True
    except BrokenPipeError:
        stdout_gone(stream)  # only the stream that broke: stdout may be the output (-o -)
        return False


def stopped(prog: str, sig: str, kept: str = "no output written") -> int:
    """Say in one line that a signal (``"term"`` / ``"int"``) stopped the command and what is left
    (``kept``); the exit code for it."""
    say(f"{prog}: {'terminated (SIGTERM)' if sig == 'term' else 'interrupted'}; {kept}", err=True)
    code = EXIT_TERMINATED if sig == "term" else EXIT_INTERRUPTED
    if not all(done.is_set() for done in ABANDONED):  # one blocked in a pipe would hold up the exit
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    return code


__all__ = ["ABANDONED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_TERMINATED", "EXIT_USER_ERROR", "SECOND_SIGTERM_AFTER",
           "Terminated", "interrupted_by", "say", "signals_raise", "stdout_gone", "stopped"]
