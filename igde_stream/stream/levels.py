"""Which H.264 / HEVC level the views' frames need, and a line where it is over level 5.x, which
many TVs, phones and headsets decode at most. A level bounds the frame (its size, and its sides) and
the rate at which frames of that size come: H.264 the macroblocks a second (MaxMBPS), HEVC the luma
samples a second (MaxLumaSr). The figures are the standards' (ITU-T H.264 Table A-1; H.265 Annex A,
MaxLumaPs and MaxLumaSr, Main tier); x264 and x265 pick their level by the same limits, which
``tests/test_views_codec_levels.py`` reads back from their streams."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

__all__ = ["H264_LEVELS", "HEVC_LEVELS", "SMALLER_INPUT", "level_note"]

SMALLER_INPUT = "a smaller input"  # what makes a frame of the input's size (or twice it) smaller
LOWER_RATE = "a lower frame rate"  # what else keeps the macroblock / sample rate under level 5.2's


class Level(NamedTuple):
    name: str
    frame: int  # H.264 MaxFS (macroblocks); HEVC MaxLumaPs (luma samples)
    rate: int  # H.264 MaxMBPS (macroblocks a second); HEVC MaxLumaSr (luma samples a second)


# level 5.2 (the highest a "5.x" decoder takes), then the levels above it
H264_LEVELS = (Level("5.2", 36_864, 2_073_600), Level("6", 139_264, 4_177_920),
               Level("6.1", 139_264, 8_355_840), Level("6.2", 139_264, 16_711_680))
HEVC_LEVELS = (Level("5.2", 8_912_896, 1_069_547_520), Level("6", 35_651_584, 1_069_547_520),
               Level("6.1", 35_651_584, 2_139_095_040), Level("6.2", 35_651_584, 4_278_190_080))
HEVC_MIN_CU = 8  # x265's smallest coding unit: the coded picture's sides are multiples of it (H.265 7.4.3.2.1)


def _fits(level: Level, size: int, side: int, per_second: Fraction | None) -> bool:
    """Within ``level``: the frame, its longest side (side^2 <= 8 x the frame limit, in macroblocks for
    H.264, samples for HEVC) and, where the frame rate is known, the rate."""
    return (size <= level.frame and side <= math.isqrt(8 * level.frame)
            and (per_second is None or per_second <= level.rate))


def level_note(codec: str, w: int, h: int, fix: str = SMALLER_INPUT, rate: Fraction | float | None = None) -> str:
    """A line for H.264 / HEVC frames of ``w`` x ``h`` at ``rate`` frames a second (None: the frame
    alone is checked) over what level 5.2 holds, which x264 / x265 then code at level 6 or above (a
    full side-by-side pair of 3840x2160 views, 7680x2160: level 6; 4096x2304 at 60 fps: H.264 level 6): a
    decoder of a lower level, as TVs, phones and headsets have, may refuse it; "" else. ``fix``: what
    makes the layout's frame smaller (``Layout.level_fix``); "" where nothing does (a display's own
    size: a quilt preset, a lenticular panel); a lower frame rate is named too where the rate is over."""
    if codec == "h264":
        units_s, levels, std = "macroblocks", H264_LEVELS, "H.264"
        cw, ch = -(-w // 16), -(-h // 16)  # in macroblocks
        size, side = cw * ch, max(cw, ch)
    elif codec == "hevc":  # the level bounds the coded picture: sides padded to a multiple of x265's 8-px CU
        units_s, levels, std = "luma samples", HEVC_LEVELS, "HEVC"
        cw, ch = -(-w // HEVC_MIN_CU) * HEVC_MIN_CU, -(-h // HEVC_MIN_CU) * HEVC_MIN_CU
        size, side = cw * ch, max(cw, ch)
    else:
        return ""
    per_second = None if rate is None else size * Fraction(rate)
    top, over = levels[0], []
    if _fits(top, size, side, per_second):
        return ""
    longest = math.isqrt(8 * top.frame)  # sqrt(8 x the frame limit): 543 macroblocks, 8444 samples
    if codec == "h264" and size > top.frame:
        over.append(f"{size:,} macroblocks, over the {top.frame:,} of H.264 level {top.name}")
    elif codec == "h264" and side > longest:
        over.append(f"{side} macroblocks {'wide' if cw >= ch else 'tall'}, over the {longest} of H.264 level "
                    f"{top.name}")
    elif codec == "hevc" and (size > top.frame or side > longest):
        padded = f" coded as {cw}x{ch}" if (cw, ch) != (w, h) else ""
        over.append(f"{size:,} pixels{padded}, over the {top.frame:,} (sides up to {longest}) of HEVC level 5.x")
    if per_second is not None and per_second > top.rate:
        over.append(f"{int(per_second):,} {units_s} a second at {float(rate):g} fps, over the {top.rate:,} of "
                    f"{std} level {top.name}")
        fix = f"{fix}, or {LOWER_RATE}" if fix else LOWER_RATE
    need = next((lv.name for lv in levels[1:] if _fits(lv, size, side, per_second)), None)
    coded = (f"are coded at level {need}" if need else
             f"are coded at level {levels[-1].name}, {std}'s highest, and are over even its limits")
    return (f"{w}x{h} frames ({'; '.join(over)}) {coded}, which decoders of level 5.x and under (many TVs, "
            f"phones and headsets) may refuse" + (f"; for those: {fix}" if fix else ""))
