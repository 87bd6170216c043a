"""Values of ``cli_logging.py`` (mutation campaign 58c), from its docstrings and docs: every line is
``PROG: <message>`` (the record's ``cli_text`` where it has one) on whatever ``sys.stderr`` is when
the record comes; the stream logs INFO, the rest of the package WARNING; ``-q``: errors only; a
second ``setup_logging`` in one process replaces its handler (no line twice)."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from igde_stream.cli_logging import setup_logging

NAMES = ("igde_stream", "igde_stream.stream", "igde_stream.cli", "igde_stream.models")


@pytest.fixture
def loggers():
    """Puts the package's loggers back as they were (handlers, level, propagation)."""
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level, logging.getLogger(n).propagate)
             for n in NAMES}
    logging.getLogger("igde_stream.models").setLevel(logging.INFO)  # an embedder's level: INFO passes the logger
    yield
    for n, (handlers, level, propagate) in saved.items():
        lg = logging.getLogger(n)
        lg.handlers[:], lg.propagate = handlers, propagate
        lg.setLevel(level)


def _said(monkeypatch, log):
    """What ``log()`` writes on a stderr put in place after ``setup_logging``."""
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    log()
    return err.getvalue()


def test_lines_are_prog_colon_message_on_the_stderr_of_the_moment(loggers, monkeypatch):
    setup_logging(quiet=False, prog="tool")

    def log():
        logging.getLogger("igde_stream.stream").info("read %d frames", 3)
        logging.getLogger("igde_stream.cli").warning("said", extra={"cli_text": "in the command's words"})
        logging.getLogger("igde_stream.models").info("not at INFO")
        logging.getLogger("igde_stream.models").warning("depth range")

    assert _said(monkeypatch, log) == ("tool: read 3 frames\ntool: in the command's words\n"
                                       "tool: depth range\n")


def test_quiet_is_errors_only(loggers, monkeypatch):
    setup_logging(quiet=True)

    def log():
        logging.getLogger("igde_stream.stream").warning("a warning")
        logging.getLogger("igde_stream.models").warning("a warning")
        logging.getLogger("igde_stream.models").error("an error")

    assert _said(monkeypatch, log) == "igde-stream: an error\n"


def test_a_second_setup_replaces_the_first(loggers, monkeypatch):
    setup_logging(quiet=False, prog="first")
    setup_logging(quiet=False, prog="second")
    assert _said(monkeypatch, lambda: logging.getLogger("igde_stream.models").warning("once")) == "second: once\n"
