"""Exceptions for user errors: bad input files, bad options, an output that cannot be written.

The CLI prints an ``IGDEError`` as one line, ``igde-stream: error: <file>: <problem>``, and exits
with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
from typing import TypeVar


class IGDEError(Exception):
    """A problem the user can fix; ``path`` names the file concerned (None when it is no file).
    ``cli_problem``: the problem in the commands' words where they differ from the Python API's
    (``--max-depth`` for ``max_depth``), which ``cli_message`` gives, as a log record's ``cli_text``
    (``worded`` makes one from a message with both)."""

    def __init__(self, problem: str, path: str | os.PathLike[str] | None = None, *,
                 cli_problem: str | None = None) -> None:
        self.problem = problem
        self.path = None if path is None else os.fspath(path)
        self.cli_problem = cli_problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


def cli_message(exc: BaseException) -> str:
    """``str(exc)``, in the commands' words where the error has them (``IGDEError.cli_problem``)."""
    problem = getattr(exc, "cli_problem", None)
    if problem is None:
        return str(exc)
    path = getattr(exc, "path", None)
    return f"{path}: {problem}" if path else problem


E = TypeVar("E", bound=IGDEError)


def worded(kind: type[E], said: str, api: tuple[str, ...], cli: tuple[str, ...],
           path: str | os.PathLike[str] | None = None) -> E:
    """A ``kind`` error whose ``said`` names what was given: its ``{}`` filled with the Python API's words
    (``api``: ``packed='rgbdx'``) as the problem, and with the commands' (``cli``: ``--packed rgbdx``) as
    its ``cli_problem``, so that the one check speaks to whoever called it (``cli_message``)."""
    return kind(said.format(*api), path, cli_problem=said.format(*cli))


class InputError(IGDEError):
    """An input file that is missing, unreadable, not a video, or in an unsupported format."""


class CorruptInputError(InputError):
    """An input whose data is damaged or truncated (detected, never silently shortened)."""


class PairingError(IGDEError):
    """Colour and depth frames that do not pair by presentation time."""


class OutputError(IGDEError):
    """An output path that cannot or must not be written."""


class EnhancerError(IGDEError, ValueError):
    """A model, backend, option or frame the Enhancer cannot use (message says which and why)."""


class EnhancerBusyError(EnhancerError, RuntimeError):
    """``Enhancer.enhance`` was called while another thread was inside it (one Enhancer per thread)."""
