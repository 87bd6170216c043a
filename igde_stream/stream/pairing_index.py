"""``--pair index`` (``pairing.pairs("index", ...)``): colour frame k with depth frame k, by their places
in the two streams, whatever their times. Depth that a monocular estimator (Video Depth Anything,
DepthCrafter, ...) made frame by frame from a video is numbered, not timed: it writes depth frame k at
k / its rate, while a phone's colour comes at a variable rate, so pairing by time refuses such a clip or
pairs neighbours (docs/formats.md, "Variable frame rate"). The outputs keep the depth's frames and times.

- Counts: the two streams must hold as many frames. Where both declare their counts (``pairing._sure_count``)
  and they differ, ``declared_counts_differ`` gives the error before the model runs (``Span.refuse``);
  else ``pair_index`` gives it once a stream ends first, naming both counts. One photograph as the
  colour (``roles.is_still``) guides every depth frame instead.
- Span: ``--start`` and ``--to`` are times on the depth's clock; the depth reader passes over (seeks past)
  its frames before the start as with any pairing, and its first frame's number (``Frame.index``, its
  place) is the k whose colour frame comes first: the colour is read from its start and its frames
  before that are passed over by count, never sought by time (``Span.cut``, ``Span.heads``).
- ``--sync absolute`` pairs on timestamps and is refused (``check_index``).
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

from ..errors import PairingError
from .info import Frame, VideoInfo
from .roles import is_still
from .urls import read_once

INDEX_SYNC = ("pairs frames by their places in the streams, not their times: sync absolute (pairing on the "
              "timestamps as they are) does not apply; --start and --to are times on the depth's clock, from its "
              "first frame, as sync relative (the default) counts them")


def check_index(pair: str, sync: str) -> None:
    """``ValueError`` for ``pair="index"`` with ``sync="absolute"`` (``INDEX_SYNC``: the one combination
    that cannot be honoured: frame numbers after a seek count from the depth's first frame)."""
    if pair == "index" and sync == "absolute":
        raise ValueError(f"pair index {INDEX_SYNC}")


def count_error(n_c: int, n_d: int, names: tuple[str, str], so_far: str = "") -> PairingError:
    """The one-line refusal of streams of ``n_c`` colour and ``n_d`` depth frames under ``--pair index``."""
    return PairingError(
        f"the colour has {n_c} frame{'s' * (n_c != 1)} and the depth {n_d}{so_far}: --pair index pairs colour frame "
        "k with depth frame k, so both need as many (depth made frame by frame from this colour has its count)",
        f"{names[0]}, {names[1]}")


def declared_counts_differ(color: VideoInfo, depth: VideoInfo, names: tuple[str, str]) -> PairingError | None:
    """``count_error`` where both streams declare their frame counts, those counts are sure and differ,
    and the colour is no photograph; else None (the counts are checked as the frames are read)."""
    n_c, n_d = _sure_count(color), _sure_count(depth)
    if not n_c or not n_d or n_c == n_d or is_still(color):
        return None
    return count_error(n_c, n_d, names)


def _sure_count(info: VideoInfo) -> int | None:
    """The frame count of an image sequence, raw file or array (the files, the file's size, the array's
    length: exact), or the count a video declares where its duration agrees (``pairing._sure_count``)."""
    from .pairing import _sure_count as declared
    from .streams import UNTIMED

    return info.frames if info.kind in UNTIMED else declared(info)


def pair_index(
    colors: Iterable[Frame], depths: Iterable[Frame], names: tuple[str, str], still: bool = False,
    past: Callable[[Frame], bool] | None = None,
) -> Iterator[tuple[Frame, Frame]]:
    """Yield (colour frame k, depth frame k) for every depth frame, k counted from each stream's start:
    the depth's first frame is its frame ``index`` (its reader may have passed over those before
    ``--start``), and the colour frames before that are passed over, counted from the index of the first
    colour frame read (0 for a reader that reads from the start, as the colour's does under this pairing).
    ``still``: the colour is one photograph (``roles.is_still``), which guides every depth frame.

    Where a stream ends first, nothing more is yielded and ``PairingError`` names both counts, once the
    depth has been read to its end; colour left over after the depth's last frame is counted to its end
    the same way. A live input (stdin, a network stream, a named pipe: ``urls.read_once``), which may
    never end, is not read on for its count: a live depth at its first frame without colour, a live
    colour at its first frame past the depth's last, the counts "read so far". ``past``
    (the span's end, ``Span.past``) ends pairing at the first depth frame for which it is true, as does
    the consumer's ``end_pairs``; neither stream is then read further or counted."""
    from .pairing import SpanEnd

    c_iter = iter(colors)
    live_c, live_d = (read_once(name) for name in names)  # may never end: not read on for a count
    n_c, base = 0, 0  # colour frames read (the passed over too); the place of the first of them
    n_d, first_d = 0, 0  # depth frames read; the place of the first of them
    ahead: Frame | None = None  # the colour frame of the depth's first place, read while passing over
    lone, cut = False, ""  # a depth frame without a colour frame came; how the depth's count ends

    def pull() -> Frame | None:
        nonlocal n_c, base
        c = next(c_iter, None)
        if c is not None:
            base = c.index if n_c == 0 else base
            n_c += 1
        return c

    try:
        for d in depths:
            if past is not None and past(d):
                cut = " before --to"
                break
            if not n_d:
                first_d = d.index
                ahead = pull()
                while not still and ahead is not None and base + n_c - 1 < d.index:  # passed over by count
                    ahead = pull()
                if ahead is not None and not still and base + n_c - 1 > d.index:
                    raise PairingError(f"the colour's first frame is its frame {base + n_c - 1} and the depth's its "
                                       f"frame {d.index}: --pair index needs colour frame {d.index}", names[0])
            n_d += 1
            if still or (ahead is not None and n_d == 1):
                c = ahead
            else:
                c = None if lone else pull()
            if c is None:
                lone = True
                if live_d:
                    raise count_error(base + n_c, first_d + n_d, names, _SO_FAR)
                continue
            yield c, d
    except SpanEnd:  # end_pairs: the pair just given was the last one taken
        return
    if lone:
        raise count_error(base + n_c, first_d + n_d, names, cut)
    if still or not n_d or cut:
        return
    extra = pull()
    if extra is not None and live_c:  # a live colour that runs on: its first extra frame says it
        raise count_error(base + n_c, first_d + n_d, names, _SO_FAR)
    while extra is not None:
        extra = pull()
    if base + n_c != first_d + n_d:
        raise count_error(base + n_c, first_d + n_d, names)


_SO_FAR = " (read so far: a live input is not read to its end)"

__all__ = ["INDEX_SYNC", "check_index", "count_error", "declared_counts_differ", "pair_index"]
