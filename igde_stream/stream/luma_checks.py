"""Checks of YUV depth luma against the range it is read in: full-range depth in a stream read as
limited (``check_limited_luma``), and limited-range luma in an untagged stream read as stored
(``check_stored_luma``). Each warns once, naming the ``--depth-range`` that reads it right
(docs/formats.md, "Depth formats and bit depth")."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from .formats import AS_STORED_CODECS, limited_span

__all__ = ["RINGING_SHARE", "check_limited_luma", "check_stored_luma"]


def check_limited_luma(luma: np.ndarray, bits: int, index: int, path: str, codec: str | None = None) -> bool:
    """Warn (and return True) when a frame's raw ``luma`` (``bits`` bits), read as limited range, holds
    values outside it: full-range depth without a tag, clipped there (``--depth-range full`` reads it
    as stored). A lossy ``codec`` (H.264, HEVC, ...: any not in ``AS_STORED_CODECS``) rings, leaving thin
    fringes outside the range beside holes (16) and hard edges; there only patches of at least 3 x 3
    pixels beyond 4 levels (8-bit scale) outside, over 0.5 % of the frame (``RINGING_SHARE``), count."""
    lo, hi = limited_span(bits)
    low, high = int(luma.min()), int(luma.max())
    if low >= lo and high <= hi:
        return False
    slack = 4 << (bits - 8)
    if codec is not None and codec not in AS_STORED_CODECS and \
            _flat_outside_share(luma, lo - slack, hi + slack) <= RINGING_SHARE:
        return False
    logging.getLogger("igde_stream.stream").warning(
        "%s: YUV depth read as limited range (%d..%d, stretched to full as FFmpeg does), but frame %d holds "
        "%d..%d (clipped); for full-range depth give --depth-range full", path, lo, hi, index, low, high)
    return True


#: Lossy limited-range depth: the share of a frame in flat patches outside the range above which it is
#: taken for full-range depth. Measured on H.264 (crf 12-45) of 8-bit distance and disparity maps with
#: holes: at most 0.05 %; the same maps stored full range: 10-41 %.
RINGING_SHARE = 0.005


def _flat_outside_share(luma: np.ndarray, lo: int, hi: int) -> float:
    """The share of ``luma``'s pixels below ``lo`` or above ``hi`` whose 8 neighbours are too (the
    border rows and columns count as inside): patches, not the one- or two-pixel fringes of ringing."""
    out = (luma < lo) | (luma > hi)
    h, w = out.shape
    if h < 3 or w < 3:
        return float(out.mean())
    core = cv2.erode(out.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return float(np.count_nonzero(core)) / out.size


def check_stored_luma(luma: np.ndarray, bits: int, path: str) -> bool:
    """Warn (and return True) when the first frame's raw ``luma`` (``bits`` bits) of YUV depth read as
    stored by a guess (:func:`luma_is_guessed`) lies within the limited range, give or take 4 levels (8-bit
    scale) of a lossy codec's ringing (JPEG 2000): what ``ffmpeg -pix_fmt yuv420p`` makes of gray maps, in a
    container that keeps no range tag (NUT, AVI, MOV), and FFmpeg reads stretched (``--depth-range
    limited`` does too)."""
    lo, hi = limited_span(bits)
    low, high, slack = int(luma.min()), int(luma.max()), 4 << (bits - 8)
    if low < lo - slack or high > hi + slack:
        return False
    logging.getLogger("igde_stream.stream").warning(
        "%s: untagged YUV depth of a lossless or raw codec is read as stored (full range), but its first frame "
        "holds %d..%d, within the limited range %d..%d that ffmpeg -pix_fmt yuv420p makes of gray maps (FFmpeg "
        "reads such a stream stretched); if it was made so, give --depth-range limited", path, low, high, lo, hi)
    return True
