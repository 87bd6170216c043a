"""The depth-range warnings of a stream's first frames (``warn_depth_range``): depth that the network
would read nearly flat, clipped at the peak, or (far-high) nearer than its near limit, each with the
``max_depth`` that fits."""

from __future__ import annotations

import logging

import numpy as np

from .depth_order import NEAR_RATIO, near_limit

log = logging.getLogger("igde_stream")
_PEAKS = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def warn_depth_range(depth: np.ndarray, peak: float, order: str = "near-high",
                     above: str = "passes through unenhanced", where: str = "", filled: bool = False) -> list[str]:
    """Warnings (logged, and returned) about how the network will read ``depth`` with ``peak``:
    - more than 1 % of the measured pixels (> 0) above ``peak``: they pass through unenhanced;
    - near-high: the measured values span under a quarter of ``0..peak`` (0.5-99.5 percentile) and the
      largest is under half of ``peak``: the network sees nearly flat depth that a smaller ``peak``
      would spread (16-bit depth under the default peak 65535 is the usual case); depth that reaches
      toward ``peak`` gets no advice, as no ``max_depth`` would do better;
    - far-high: more than 1 % nearer than the near limit ``peak / NEAR_RATIO``: all read as the nearest;
      where its median is within 4 levels (8-bit scale) of 0 and most of it lies within ``_HOLE_REACH`` px
      of holes (0), it is a lossy codec's ringing round them, and the advice is lossless depth.
    Flat 16-bit depth with holes is also pointed to far-high, as a sensor's distance map; ``filled``:
    without holes too (the views of an enhanced depth, whose holes the run filled).
    Each names the ``max_depth`` that would fit; ``above`` says what becomes of depth above ``peak``
    (in the views: it is clipped); ``where`` starts each message (e.g. the file's name). The returned
    text (and the log message) says ``max_depth``; the log record's ``cli_text`` is the same text with
    ``--max-depth``, for the command."""
    measured = depth[depth > 0]
    if measured.size < 16:
        return []
    templates = []
    beyond = float(np.mean(measured > peak))
    if beyond > 0.01:
        templates.append(f"{100 * beyond:.0f} % of the measured depth is above {{opt}} {peak:g} and {above}: "
                         f"raise {{opt}}, e.g. to {int(measured.max())}")
    # with depth above the peak, the one advice is to raise it: the checks below would say the opposite
    valid = measured[measured <= peak] if not templates else measured[:0]
    if valid.size >= 16 and order == "near-high":
        lo, hi = np.percentile(valid, [0.5, 99.5])
        largest = int(valid.max())
        if hi - lo < 0.25 * peak and largest < 0.5 * peak:
            hint = ""
            if depth.dtype == np.uint16 and measured.size < depth.size:  # 16-bit with holes: a sensor's distance?
                hint = ("; a distance map (larger = farther, 0 = no measurement, as Kinect-type sensors give) "
                        "wants {order} and {opt} the farthest distance that matters")
            elif depth.dtype == np.uint16 and filled:  # an enhanced distance map has its holes filled
                hint = ("; a distance map (larger = farther: a sensor's millimetres, or igde-stream's output of "
                        "them, whose holes it filled) wants {order} and {opt} as that run had, else its views "
                        "come out with near and far swapped")
            templates.append(f"depth values span only {100 * (hi - lo) / peak:.0f} % of 0..{peak:g} (measured "
                             f"{int(valid.min())}..{largest}): set {{opt}} near the largest depth, e.g. "
                             f"{largest}, for full quality{hint}")
    elif valid.size >= 16:
        near = float(near_limit(peak))
        clipped = float(np.mean(valid < near))
        nearer = (depth > 0) & (depth < near)
        codes = depth[nearer] if clipped > 0.01 else depth[:0]
        # a lossy codec's version of the zeros of holes: codes within 4 levels (8-bit scale) of 0, by holes
        ringing = codes.size and np.median(codes) <= 4 * peak / 255
        beside = _share_beside_holes(depth == 0, nearer) if ringing else 0.0
        said = (f"{100 * clipped:.0f} % of the measured depth is nearer than the near limit {near:g} "
                f"({{opt}} / {NEAR_RATIO:g}) and reads as the nearest")
        if beside >= 0.5:
            templates.append(f"{said}; {100 * beside:.0f} % of it lies within {_HOLE_REACH} px of holes (0), at "
                             f"{int(codes.min())}..{int(codes.max())}: what a lossy codec (H.264, HEVC) makes of a "
                             "distance map's holes, read as the nearest surfaces: store the depth losslessly "
                             "(FFV1 .mkv, 16-bit PNG), where holes stay 0")
        elif clipped > 0.01:
            fit = min(int(np.percentile(valid, 0.5) * NEAR_RATIO), int(_PEAKS[depth.dtype]))
            templates.append(f"{said}: set {{opt}} to about {NEAR_RATIO:g} x the nearest distance, e.g. {fit}")
    said = [where + t.format(opt="max_depth", order="depth_order='far-high'") for t in templates]
    for template, message in zip(templates, said):
        cli_text = where + template.format(opt="--max-depth", order="--depth-order far-high")
        log.warning(message, extra={"cli_text": cli_text})
    return said


_HOLE_REACH = 2  # px: how far from a hole a lossy codec's ringing reaches (H.264 crf 18: 86 % within 2 px)


def _share_beside_holes(holes: np.ndarray, mask: np.ndarray) -> float:
    """The share of ``mask``'s pixels within ``_HOLE_REACH`` px (a square) of a pixel of ``holes``, per
    frame of H x W or N x H x W arrays."""
    import cv2

    square = np.ones((2 * _HOLE_REACH + 1,) * 2, np.uint8)
    frames = holes.reshape(-1, *holes.shape[-2:]).astype(np.uint8)
    near = np.stack([cv2.dilate(f, square) for f in frames]).reshape(holes.shape).astype(bool)
    return float(np.count_nonzero(near & mask)) / max(1, int(np.count_nonzero(mask)))


__all__ = ["warn_depth_range"]
