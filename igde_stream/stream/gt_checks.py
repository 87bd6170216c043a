"""A ground truth in another depth order or scale than the depth it scores (``gt_mismatch``): checked
on the first frame compared, over the pixels both measured (not 0), and said in one line, since the
report's PSNR of such a pair measures the mix-up, not the enhancement (docs/stream.md, "Report")."""

from __future__ import annotations

import numpy as np

__all__ = ["ORDER_CORRELATION", "SCALE_RATIO", "gt_mismatch"]

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
