"""A ground truth in another depth order or scale than the depth it scores (``gt_mismatch``): checked
on the first frame compared, over the pixels both measured (not 0), and said in one line, since the
report's PSNR of such a pair measures the mix-up, not the enhancement (docs/stream.md, "Report")."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger("igde_stream.stream")

__all__ = ["ORDER_CORRELATION", "SCALE_RATIO", "float_zeros_note", "gt_mismatch"]

#: input and ground truth whose values correlate below this run against each other: one is a distance
#: map, the other disparity / inverse depth (a degraded depth of the same scene correlates above 0.8)
ORDER_CORRELATION = -0.5
#: medians of input and ground truth further apart than this factor: another scale (x 256 beside x 100,
#: metres beside millimetres, disparity of a half-size image)
SCALE_RATIO = 1.5
MIN_PIXELS = 64  # fewer pixels measured in both: nothing is said


def gt_mismatch(inp: np.ndarray, gt: np.ndarray) -> str | None:
    """What looks wrong with ground truth ``gt`` beside the input depth ``inp`` (same-sized arrays of the
    values the report compares), or None."""
    both = (inp != 0) & (gt != 0)
    if np.count_nonzero(both) < MIN_PIXELS:
        return None
    a, b = inp[both].astype(np.float64), gt[both].astype(np.float64)
    if a.std() > 0 and b.std() > 0:
        r = float(np.corrcoef(a, b)[0, 1])
        if r < ORDER_CORRELATION:
            return (f"the ground truth runs against the depth (correlation {r:.2f} over the pixels both measured, "
                    "first frame compared): one looks like a distance map, the other disparity / inverse depth, "
                    "and the PSNR scores that; give the ground truth in the depth's order and units")
    ma, mb = float(np.median(a)), float(np.median(b))
    ratio = mb / ma
    if ratio > SCALE_RATIO or ratio < 1 / SCALE_RATIO:
        return (f"the ground truth's values are about {ratio:.3g} times the depth's (medians {mb:g} and {ma:g} "
                "over the pixels both measured, first frame compared): another scale (disparity x 256 beside "
                "x 100, metres beside millimetres, disparity of another image size), which the PSNR scores; "
                "give the ground truth in the depth's units")
    return None


def float_zeros_note(reader: Any, values: np.ndarray, fmap: Any, ordinal: int = 0) -> bool:
    """Warn (and return True) when the first frame (``ordinal`` 0) of a float ground truth read near-high
    (``reader``: its ``VideoReader``; ``fmap``: the run's ``floatdepth.FloatMap``) holds 0.0: in a near-high
    float map 0 is a value (disparity 0, the farthest; below the range's LO, clipped to it), not "not
    measured", so it is scored, with ``--gt-measured`` too, which leaves out NaN and inf only."""
    if ordinal or getattr(reader, "role", None) != "gt" or fmap.order != "near-high":
        return False
    zeros = int(np.count_nonzero(np.asarray(values) == 0))
    if not zeros:
        return False
    said = (f"{reader.path}: {zeros} ground-truth values are 0.0, which a near-high float map reads as a value "
            f"(disparity 0, the farthest; code {int(fmap.encode(np.zeros(1))[0][0])}), scored, also with {{}}, "
            "which leaves out NaN and inf only; where the ground truth is unknown write NaN or inf "
            "(Middlebury's PFM has inf)")
    log.warning(said.format("gt_measured=True"), extra={"cli_text": said.format("--gt-measured")})
    return True
