"""A renderer's background in float depth: one far value (Blender's Z pass writes 1e10 where nothing was
hit) held by a share of a frame's pixels, far beyond the rest of the scene. Far-high, it keeps code
65535 to itself (``floatdepth.FloatMap.from_frame``); near-high, the order that reads values as inverse
depth, it would be the nearest value and leave the scene a few codes: ``near_high_words`` says so."""

from __future__ import annotations

import numpy as np

#: a frame's largest value is a renderer's background when it is held by at least this share of the
#: measured pixels and is at least this many times the largest other value (a range to it would leave
#: the scene under 1/64 of the codes: Blender's 1e10 beside a scene of 2..8 m, one code)
BACKGROUND_SHARE, BACKGROUND_GAP = 0.005, 64.0


def scene_top(seen: np.ndarray) -> float | None:
    """The largest of the measured values ``seen`` (flat, finite) below their largest, where that largest
    is a background (``BACKGROUND_SHARE``, ``BACKGROUND_GAP``); else None."""
    hi = float(seen.max()) if seen.size else 0.0
    below = seen[seen < hi]
    top = float(below.max()) if below.size else 0.0
    if top > 0 and np.count_nonzero(seen == hi) >= BACKGROUND_SHARE * seen.size and hi >= BACKGROUND_GAP * top:
        return top
    return None


def near_high_words(seen: np.ndarray, top: float) -> str:
    """The warning for a first frame read near-high whose largest value is a background above ``top``;
    ``<order>`` stands for the far-high option in the caller's words."""
    hi = float(seen.max())
    return (f"the first float depth frame's largest value, {hi:g}, holds {100 * np.count_nonzero(seen == hi) / seen.size:.1f}"
            f" % of its values, {hi / top:.3g} times the next ({top:g}): a renderer's background (a Z pass's sky), "
            "which near-high reads as the nearest, leaving the scene a few of the codes; a Z pass or distance is <order>")


__all__ = ["BACKGROUND_GAP", "BACKGROUND_SHARE", "near_high_words", "scene_top"]
