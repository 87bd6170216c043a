"""What a pairing error advises beside the frames that do not pair: the two frame rates where they
differ (``rates``), and for a colour of irregular steps beside as many depth frames, that depth made
frame by frame from a variable-rate video belongs with the colour frame of its number (``Steps``)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Iterable, Iterator

from .info import Frame
from .streams import retime_command


class Steps:
    """The shortest and longest step between consecutive colour frames (seconds) of a stream as it
    is read (``watch``), to tell a variable frame rate (a phone's) from rounded timestamps."""

    def __init__(self) -> None:
        self.low, self.high, self.unit, self._last = math.inf, 0.0, 0.0, None

    def watch(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for f in frames:
            if self._last is not None:
                step = f.time - self._last
                self.low, self.high = min(self.low, step), max(self.high, step)
            if f.pts and not self.unit:  # the time base: a step rounded to it may be one unit off
                self.unit = abs(f.pts_time / f.pts)
            self._last = f.time
            yield f

    def advice(self, depth_step: float, name: str, index: bool = True) -> str:
        """For streams of as many frames that do not pair by time: where the colour's steps differ by
        more than a tenth of a depth frame (``depth_step`` seconds) beyond two units of its time base
        (timestamps rounded to it: a 30 fps GIF's 30 and 40 ms delays, Matroska's 33 and 34 ms), why and
        how to pair them: ``--pair index`` (``index``: where the caller takes ``--pair``), or re-time the
        colour onto the depth's frames; else ""."""
        # a tenth: a phone dropping from 30 to 24 fps in low light steps 33.3 then 41.7 ms, a quarter frame
        if self.low is math.inf or depth_step <= 0 or self.high - self.low <= 0.1 * depth_step + 2 * self.unit:
            return ""
        rate = Fraction(1 / depth_step).limit_denominator(1001)
        return (f"; the colour's frames come at irregular times (steps of {self.low * 1000:.1f} to "
                f"{self.high * 1000:.1f} ms: a variable frame rate, as phones record) and the two hold as many "
                "frames: depth made frame by frame from that video belongs with the colour frame of its number, "
                "not of its time (--pair nearest pairs some with a neighbour)"
                + ("; --pair index pairs them so, as they are; or" if index else ";")
                + f" re-time the colour onto the depth's frames first: {retime_command(name, rate)} "
                "(docs/formats.md, \"Variable frame rate\")")


def rates(durations: tuple[float, float] | None) -> str:
    """"; the colour runs at A fps and the depth at B fps ..." where the two frame durations differ by
    more than 0.05 % of the longer, else "": 30000/1001 beside 30 fps (NTSC beside its nominal rate, the
    commonest mislabel) differ by 1/1001 of it, 0.0999 %, which a threshold of 0.1 % let through."""
    if not durations or min(durations) <= 0 or abs(durations[0] - durations[1]) <= 5e-4 * max(durations):
        return ""
    a, b = (f"{1 / d:.2f}".rstrip("0").rstrip(".") for d in durations)
    return (f"; the colour runs at {a} fps and the depth at {b} fps: if they are one capture, one of them was "
            "written at the wrong rate (re-time it)")
