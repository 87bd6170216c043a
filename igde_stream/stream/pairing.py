"""Pairing colour and depth frames by time, with the list of unpaired frames when the streams do not
match: :func:`pair_frames` (one colour frame per depth frame, the default) and :func:`pair_nearest`
(each depth frame with the colour frame nearest in time: streams at different frame rates, or colour
that runs longer); :func:`pairs` picks one by mode, or ``pairing_index.pair_index`` (colour frame k with
depth frame k, by place, whatever the times: depth made frame by frame from a variable-rate video)."""

from __future__ import annotations

import dataclasses
import logging
import math
from fractions import Fraction
from typing import Callable, Iterable, Iterator

import numpy as np

from ..errors import PairingError
from .info import Frame, VideoInfo
from .roles import is_still
from .pairing_advice import Steps, rates as _rates
from .pairing_index import declared_counts_differ, pair_index
from .urls import read_once

log = logging.getLogger("igde_stream.stream")

PAIR_MODES = ("exact", "nearest", "index")


class SpanEnd(Exception):
    """Thrown into a pairing generator (``end_pairs``) when its consumer has taken every pair it wants."""


def end_pairs(pairing: Iterator[tuple[Frame, Frame]]) -> None:
    """The consumer of ``pairs`` has taken its last pair (``--max-frames``): ``pair_nearest`` then counts
    the colour frames read for the pairs taken (its tally and log line), as at the end of the streams."""
    try:
        pairing.throw(SpanEnd())  # type: ignore[attr-defined]
    except (SpanEnd, StopIteration):
        pass


def pairs(
    mode: str, colors: Iterable[Frame], depths: Iterable[Frame], durations: tuple[float, float],
    names: tuple[str, str], tally: dict[str, int] | None = None, slack: float = 0.0, still: bool = False,
    past: Callable[[Frame], bool] | None = None,
) -> Iterator[tuple[Frame, Frame]]:
    """``pair_frames`` (``mode`` "exact": within half a depth frame) or ``pair_nearest`` ("nearest":
    within half the longer of the two frame durations, ``durations`` = (colour, depth) seconds, and
    ``slack``: the rounding of their timestamps, ``rounding_slack``; ``still``: the colour is one
    photograph, ``roles.is_still``, which guides every depth frame, at any distance; ``past``: the
    span's end, ``Span.past``, where "nearest" and "index" stop; "exact" leaves that test to the consumer);
    "index": colour frame k with depth frame k (``pairing_index.pair_index``), ``durations`` and ``slack`` unused."""
    if mode == "index":
        return pair_index(colors, depths, names, still, past)
    if mode == "exact":
        return pair_frames(colors, depths, 0.5 * durations[1], names, durations)
    if mode == "nearest":
        return pair_nearest(colors, depths, math.inf if still else 0.5 * max(durations), names, tally, slack, past,
                            durations[1])
    raise ValueError(f"pairing mode must be one of {', '.join(PAIR_MODES)}, got {mode!r}")


def declared_mismatch(mode: str, color: VideoInfo, depth: VideoInfo, names: tuple[str, str]) -> PairingError | None:
    """The ``PairingError`` a whole run's pairing (``mode``) would end in, after the model or the
    renderer had worked through every frame, known from the declared lengths: where both streams
    declare their frame counts (2 or more) at one rate and pair from one start (the caller's to know:
    relative sync, no span), counts that cannot pair (exact: any other count; nearest: depth past the
    colour's end) are paired here on their frame grids, so the error and its advice are the run's own.
    The caller raises it at the first pair (``Span.refuse``), once the first frames were read and
    checked as every frame is (a colour picture given as depth is refused as that). Streams that
    declare no count, run at other rates (a variable rate) or hold a photograph are left to the run.
    "index": counts that differ, at any rates (``pairing_index.declared_counts_differ``), with or without a span."""
    if mode == "index":
        return declared_counts_differ(color, depth, names)
    n_c, n_d = _sure_count(color), _sure_count(depth)
    if not n_c or not n_d or min(n_c, n_d) < 2 or n_c == n_d or (mode == "nearest" and n_d < n_c) \
            or max(n_c, n_d) > 1_000_000 or not color.rate or not depth.rate or is_still(color):
        return None
    from .streams import SAME_RATE

    if abs(color.effective_rate - depth.effective_rate) > SAME_RATE * depth.effective_rate:
        return None
    step, none = float(1 / depth.effective_rate), np.empty(0, np.uint8)
    grid = lambda n: (Frame(k, None, k * step, k * step, none) for k in range(n))  # noqa: E731
    try:
        for _ in pairs(mode, grid(n_c), grid(n_d), (color.frame_duration, depth.frame_duration), names,
                       slack=rounding_slack(color, depth)):
            pass
    except PairingError as error:
        return error
    return None


def _sure_count(info: VideoInfo) -> int | None:
    """The frame count ``info`` declares, where its count and its duration agree within a frame (an MP4
    cut by ``ffmpeg -ss T -c copy`` declares its whole first GOP's samples, 12, and shows 7: its duration's)."""
    n = info.frames  # declared; a count estimated from the duration alone (Matroska) can be a frame off
    if not n:
        return None
    timed = dataclasses.replace(info, frames=None).expected_frames
    return n if timed is not None and abs(timed - n) <= 1 else None


def reach(mode: str, color: VideoInfo, depth: VideoInfo) -> float:
    """How far (seconds) from a depth frame ``pairs`` looks for its colour frame, for streams of
    these ``VideoInfo``: half a depth frame ("exact"), or half the longer frame and the timestamps'
    rounding ("nearest"; any distance for a photograph, ``roles.is_still``)."""
    if mode == "exact":
        return 0.5 * depth.frame_duration
    if is_still(color):
        return math.inf
    return 0.5 * max(color.frame_duration, depth.frame_duration) + rounding_slack(color, depth)


def rounding_slack(*infos: VideoInfo) -> float:
    """Seconds by which the stream times of frames in these streams (``VideoInfo``) may be off: a time
    base that does not hold the frame duration exactly (Matroska's 1/1000 for 30 or 60 fps) rounds
    every pts, and the start time subtracted from it, by up to half a unit each, so one unit per
    stream (at most an eighth of its frame). Exact time bases (1/15360 or 1/90000 at 30 fps) add 0."""
    total = 0.0
    for info in infos:
        tb, rate = Fraction(info.time_base), info.effective_rate
        if (1 / (rate * tb)).denominator != 1:
            total += min(float(tb), 0.125 * info.frame_duration)
    return total


def pair_nearest(
    colors: Iterable[Frame], depths: Iterable[Frame], tolerance: float, names: tuple[str, str],
    tally: dict[str, int] | None = None, slack: float = 0.0, past: Callable[[Frame], bool] | None = None,
    depth_step: float = 0.0,
) -> Iterator[tuple[Frame, Frame]]:
    """Yield (colour, depth) for every depth frame, with the colour frame nearest in time (ties: the
    earlier one), when it lies within ``tolerance`` seconds. ``slack``: how far rounded timestamps may
    be off (``rounding_slack``); it widens the tolerance, and distances closer than it are a tie (a
    30 fps colour and 60 fps depth in Matroska: 17 and 16 ms for true 16.67 and 16.67).

    For colour and depth at different frame rates (a 30 fps camera with a 15 fps depth sensor: every
    other colour frame is skipped; with a 60 fps one, each colour frame guides two depth frames) and
    for colour that starts earlier or ends later than the depth. Colour frames that guide no depth
    frame are skipped; ``tally`` (a dict) receives the counts ``color_frames``, ``color_skipped`` and
    ``color_reused`` (colour frames that guided more than one depth frame). A depth frame with no colour
    frame within ``tolerance`` is an error, as in ``pair_frames``: nothing more is yielded, both
    streams are read to the end, and ``PairingError`` lists every such depth frame.

    A span (``--to``, ``--max-frames``) ends pairing early: at the first depth frame for which ``past``
    is true, or when the consumer calls ``end_pairs``. Then the counts are of the colour frames read
    for the depth frames paired, without the one read ahead (it lies after the last of them), and
    neither stream is read further.

    Where both streams hold as many frames and yet colour frames were skipped or reused, and the
    colour's frames come at irregular times (``depth_step``: the depth's frame duration), a warning
    says that depth made frame by frame from a variable-rate video pairs by number, and how to re-time
    the colour (``Steps.advice``).
    """
    steps = Steps()
    c_iter = steps.watch(colors)
    counts = {"color_frames": 0, "color_skipped": 0, "color_reused": 0}
    live, stopped = any(read_once(name) for name in names), False

    def pull() -> Frame | None:
        f = next(c_iter, None)
        counts["color_frames"] += f is not None
        return f

    def retire(uses: int) -> None:
        counts["color_skipped"] += uses == 0
        counts["color_reused"] += uses > 1

    cur = pull()
    nxt = pull() if cur is not None else None
    uses = 0  # depth frames the current colour frame has guided
    lone_d: list[Frame] = []
    n_d = past_end = 0  # past_end: depth frames without colour after the colour's last frame
    ended = False  # by the span: the colour after it is not read
    try:
        for d in depths:
            if past is not None and past(d):
                ended = True
                break
            if n_d == 0 and cur is not None:
                _warn_start_offset(cur, d, tolerance, names)
            n_d += 1
            while nxt is not None and nearer(nxt.time, cur.time, d.time, slack):
                retire(uses)
                cur, nxt, uses = nxt, pull(), 0
            if cur is not None and abs(cur.time - d.time) <= tolerance + slack + TIE:
                uses += 1
                if not lone_d:
                    yield cur, d
            else:
                lone_d.append(_stub(d))
                past_end += nxt is None and cur is not None and cur.time < d.time  # the colour has ended
                if live:  # a live input may never end: say so now, with what came so far
                    stopped = True
                    break
    except SpanEnd:  # end_pairs: the pair just given was the last one taken
        ended = True
    ended = ended or read_once(names[0])  # live colour: the frames after the depth's end are not waited for
    if ended and nxt is not None:  # read ahead, after the last depth frame paired: not counted
        counts["color_frames"] -= 1
        nxt = None
    if cur is not None:
        retire(uses)
    while nxt is not None:  # the rest guides nothing; read to the end all the same
        retire(0)
        nxt = pull()
    if tally is not None:
        tally.update(counts)
    if counts["color_skipped"] or counts["color_reused"]:
        log.info("%s: %d of %d colour frames skipped (no depth frame nearer), %d guided more than one depth frame",
                 names[0], counts["color_skipped"], counts["color_frames"], counts["color_reused"])
        retime = "" if ended or stopped or counts["color_frames"] != n_d or not depth_step else steps.advice(
            depth_step, names[0])
        if retime:
            log.warning("%s: both streams hold %d frames, yet pairing by time left %s unused and gave %d to more "
                        "than one depth frame%s", names[0], n_d, _frames(counts["color_skipped"], "colour"),
                        counts["color_reused"], retime)
    if lone_d:
        raise PairingError(
            f"no colour frame within {(tolerance + slack) * 1000:.1f} ms of {_frame_list(lone_d)} of the depth stream "
            f"({_frames(counts['color_frames'], 'colour')}, {_frames(n_d, 'depth')}{_so_far(stopped)})"
            f"{_covered(n_d, len(lone_d), past_end)}",
            f"{names[0]}, {names[1]}",
        )


def pair_frames(
    colors: Iterable[Frame], depths: Iterable[Frame], tolerance: float, names: tuple[str, str],
    durations: tuple[float, float] | None = None,
) -> Iterator[tuple[Frame, Frame]]:
    """Yield (colour, depth) pairs whose times differ by at most ``tolerance`` seconds.

    Both inputs are in presentation order. After the first unpaired frame nothing more is yielded:
    both streams are read to the end to list every unpaired frame, then ``PairingError`` names them.
    When the streams' own start times (``pts_time - time`` of their first frames: 0 for readers
    with ``sync="absolute"``) differ by more than ``tolerance``, a warning says so: relative times
    pair frame k with frame k however late one stream starts. ``durations`` (colour, depth frame seconds):
    where they differ, the error names both rates (a stream muxed at the wrong rate, or one for
    ``--pair nearest``).
    """
    steps = Steps()
    c_iter = steps.watch(colors)
    c = next(c_iter, None)
    lone_c: list[Frame] = []
    lone_d: list[Frame] = []
    n_c = n_d = past_end = 0  # past_end: depth frames without colour after the colour's last frame
    live, stopped = any(read_once(name) for name in names), False  # may never end: stop at the first unpaired frame
    for d in depths:
        if live and (lone_c or lone_d):
            stopped = True
            break
        if n_d == 0 and c is not None:
            _warn_start_offset(c, d, tolerance, names)
        n_d += 1
        while c is not None and c.time < d.time - tolerance - TIE:  # TIE: float noise of the times
            lone_c.append(_stub(c))
            n_c += 1
            c = next(c_iter, None)
        if c is not None and abs(c.time - d.time) <= tolerance + TIE:
            if not (lone_c or lone_d):
                yield c, d
            n_c += 1
            c = next(c_iter, None)
        else:
            lone_d.append(_stub(d))
            past_end += c is None and n_c > 0  # the colour has ended
    while c is not None and not stopped:
        lone_c.append(_stub(c))
        n_c += 1
        stopped = read_once(names[0])  # a live colour that runs on: its first extra frame says it
        c = None if stopped else next(c_iter, None)
    if lone_c or lone_d:
        parts = []
        if lone_d:
            parts.append(f"{_frame_list(lone_d)} of the depth stream {_have_no(lone_d)} colour frame")
        if lone_c:
            parts.append(f"{_frame_list(lone_c)} of the colour stream {_have_no(lone_c)} depth frame")
        still = n_c == 1 and n_d > 1  # one colour image beside a depth stream of unknown length (a pipe)
        said = (f"frames do not pair by timestamp (within {tolerance * 1000:.1f} ms): {'; '.join(parts)} "
                f"({_frames(n_c, 'colour')}, {_frames(n_d, 'depth')}{_so_far(stopped)})")
        nearest = ("; --pair nearest gives each depth frame the colour frame nearest in time" if lone_c and n_c > n_d
                   else "; --pair nearest pairs streams of different rates" if _rates(durations)
                   else "" if lone_c else _covered(n_d, len(lone_d), past_end))
        retime = "" if stopped or n_c != n_d or not durations else steps.advice(durations[1], names[0], index=False)
        if retime:  # a variable-rate colour and depth made from it frame by frame: nearest pairs neighbours
            nearest = ""
        said += ("; the colour is one frame: each depth frame needs its own colour frame; for a still scene make a "
                 f"clip of it first (ffmpeg -loop 1 -framerate RATE -i {names[0]} -frames:v {n_d} -c:v ffv1 "
                 "color.mkv)" if still else retime or _rates(durations))
        advised = said.replace(retime, steps.advice(durations[1], names[0])) if retime else said  # + --pair index
        error = PairingError(advised + ("" if still else nearest), f"{names[0]}, {names[1]}")
        # for a caller without --pair (views quality): the problem without the --pair advice, and whether
        # the colour only runs longer, every depth frame paired
        error.unadvised, error.depth_frames = said, (n_d if lone_c and not lone_d and not still else None)
        raise error


def _covered(n_d: int, lone: int, past_end: int) -> str:
    """The advice for ``lone`` depth frames of ``n_d`` without colour where all of them (``past_end``)
    come after the colour's last frame: the ``--max-frames`` that takes those it covers (from the
    start); else nothing."""
    if not lone or lone != past_end or lone >= n_d:
        return ""
    return f"; the colour ends first: --max-frames {n_d - lone} takes the depth frames it covers"


def _so_far(stopped: bool) -> str:
    """What the counts of an error cover where pairing stopped before the streams' ends, beside a live
    input (stdin, a network stream), which is not read to its end."""
    return " read so far: a live input is not read to its end" if stopped else ""


def _frames(n: int, what: str) -> str:
    """"1 colour frame", "48 depth frames"."""
    return f"{n} {what} frame" + ("" if n == 1 else "s")


TIE = 1e-9  # seconds: two distances closer than this are a tie (float noise of pts x time base)


def nearer(a: float, b: float, t: float, slack: float = 0.0) -> bool:
    """Whether time ``a`` is nearer ``t`` than ``b`` is; a tie (within ``TIE``: 30 fps against 20 fps
    in a 1/1000 time base gives equal distances that floats tell apart; or within ``slack``, what
    rounded timestamps cannot tell apart) is not."""
    return abs(a - t) < abs(b - t) - TIE - slack


def _warn_start_offset(c: Frame, d: Frame, tolerance: float, names: tuple[str, str]) -> None:
    c_start, d_start = c.pts_time - c.time, d.pts_time - d.time
    if abs(c_start - d_start) > tolerance + TIE:
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
