"""Pairing colour and depth frames by time (:func:`pair_frames`), with the list of unpaired frames
when the streams do not match."""

from __future__ import annotations

import logging
from typing import Iterable, Iterator

import numpy as np

from ..errors import PairingError
from .reader import Frame

log = logging.getLogger("igde_stream.stream")



def pair_frames(
    colors: Iterable[Frame], depths: Iterable[Frame], tolerance: float, names: tuple[str, str]
) -> Iterator[tuple[Frame, Frame]]:
    """Yield (colour, depth) pairs whose times differ by at most ``tolerance`` seconds.

    Both inputs are in presentation order. After the first unpaired frame nothing more is yielded:
    both streams are read to the end to list every unpaired frame, then ``PairingError`` names them.
    When the streams' own start times (``pts_time - time`` of their first frames: 0 for readers
    with ``sync="absolute"``) differ by more than ``tolerance``, a warning says so: relative times
    pair frame k with frame k however late one stream starts.
    """
    c_iter = iter(colors)
    c = next(c_iter, None)
    lone_c: list[Frame] = []
    lone_d: list[Frame] = []
    n_c = n_d = 0
    for d in depths:
        if n_d == 0 and c is not None:
            _warn_start_offset(c, d, tolerance, names)
        n_d += 1
        while c is not None and c.time < d.time - tolerance:
            lone_c.append(_stub(c))
            n_c += 1
            c = next(c_iter, None)
        if c is not None and abs(c.time - d.time) <= tolerance:
            if not (lone_c or lone_d):
                yield c, d
            n_c += 1
            c = next(c_iter, None)
        else:
            lone_d.append(_stub(d))
    while c is not None:
        lone_c.append(_stub(c))
        n_c += 1
        c = next(c_iter, None)
    if lone_c or lone_d:
        parts = []
        if lone_d:
            parts.append(f"{_frame_list(lone_d)} of the depth stream {_have_no(lone_d)} colour frame")
        if lone_c:
            parts.append(f"{_frame_list(lone_c)} of the colour stream {_have_no(lone_c)} depth frame")
        raise PairingError(
            f"frames do not pair by timestamp (within {tolerance * 1000:.1f} ms): {'; '.join(parts)} "
            f"({n_c} colour frames, {n_d} depth frames)",
            f"{names[0]}, {names[1]}",
        )


def _warn_start_offset(c: Frame, d: Frame, tolerance: float, names: tuple[str, str]) -> None:
    c_start, d_start = c.pts_time - c.time, d.pts_time - d.time
    if abs(c_start - d_start) > tolerance:
        log.warning(
            "colour %s starts at %.3f s and depth %s at %.3f s (%.1f ms apart, more than half a frame); "
            "frames are paired counting from each stream's own start (sync relative); "
            "--sync absolute pairs them on their timestamps as they are",
            names[0], c_start, names[1], d_start, abs(c_start - d_start) * 1000,
        )


def _stub(f: Frame) -> Frame:
    # Unpaired frames are only listed; drop their pixels so a long mismatch does not pile up memory.
    return Frame(f.index, f.pts, f.time, f.pts_time, np.empty(0, np.uint8))


def _have_no(frames: list[Frame]) -> str:
    return "has no" if len(frames) == 1 else "have no"


def _frame_list(frames: list[Frame], limit: int = 6) -> str:
    shown = ", ".join(f"{f.index} ({f.time:.3f} s)" for f in frames[:limit])
    more = f" and {len(frames) - limit} more" if len(frames) > limit else ""
    return f"frame{'s' if len(frames) > 1 else ''} {shown}{more}"
