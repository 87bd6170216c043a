"""FFmpeg's log messages, which PyAV discards by default: readers need its errors to tell damaged
input from a clean end."""

from __future__ import annotations

import threading

import av.logging

_logs_enabled = threading.Lock()


def enable_error_logs() -> None:
    """Let FFmpeg's error messages reach PyAV (it discards all of them by default). Readers capture the
    messages of their own thread; others go to the ``libav`` Python logger. Only done when nobody chose a
    level, so an embedding application's choice wins."""
    with _logs_enabled:
        if av.logging.get_level() is None:
            av.logging.set_level(av.logging.ERROR)
            av.logging.set_skip_repeated(False)  # else "repeated N times" lines arrive late, anywhere


__all__ = ["enable_error_logs"]
