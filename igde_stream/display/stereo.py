"""Stereo-pair packings of the two extreme views: side by side, top and bottom (each optionally
squeezed to half size, so that the frame keeps the input's size) and red-cyan anaglyphs."""

from __future__ import annotations

import numpy as np

ANAGLYPHS = ("dubois", "color")

# How a file says what its frames hold (``ColorWriter(stereo_mode=...)``): FFmpeg's name of the Matroska
# StereoMode -> (its value in the Matroska spec, the H.264 frame-packing arrangement SEI type or None).
# Left eye first in every one: sbs left | right (1, SEI 3), tab left over right (3, SEI 4); a red-cyan
# anaglyph is Matroska's "anaglyph (cyan/red)" (10), a plain 2D picture to H.264 (no SEI).
STEREO_MODES = {"left_right": (1, 3), "top_bottom": (3, 4), "anaglyph_cyan_red": (10, None)}

# Red-cyan matrices of E. Dubois, "Conversion of a Stereo Pair to Anaglyph with the Least-Squares
# Projection Method" (March 2009), https://www.site.uottawa.ca/~edubois/anaglyph/LeastSquaresHowToPhotoshop.pdf
# (rows: anaglyph R, G, B; columns: the view's R, G, B). The note applies them to linear RGB and clips
# each eye's term to [0, 1] before adding. Not the older set derived from a CRT in his ICASSP 2001
# paper (0.456, 0.500, 0.176, ...), which some players still ship.
DUBOIS_RED_CYAN_LEFT = np.array([[0.437, 0.449, 0.164],
                                 [-0.062, -0.062, -0.024],
                                 [-0.048, -0.050, -0.017]])
DUBOIS_RED_CYAN_RIGHT = np.array([[-0.011, -0.032, -0.007],
                                  [0.377, 0.761, 0.009],
                                  [-0.026, -0.093, 1.234]])


def stereo_positions() -> np.ndarray:
    """Positions of a stereo pair: the two extreme views (left ``-1/2``, right ``+1/2``)."""
    return np.array([-0.5, 0.5])


def _check_pair(left: np.ndarray, right: np.ndarray) -> None:
    if left.shape != right.shape:
        raise ValueError(f"left and right views differ in shape: {left.shape} vs {right.shape}")


def check_squeeze(width: int, height: int, axis: int) -> None:
    """``ValueError`` when two views of ``width`` x ``height`` cannot share one frame of that size along
    ``axis`` (1: side by side, 0: top and bottom): that side must be at least 2 pixels."""
    if (width if axis == 1 else height) < 2:
        raise ValueError(f"cannot squeeze two {width}x{height} views into one frame of that size")


def check_anaglyph(method: str) -> None:
    """``ValueError`` unless ``method`` is one of ``ANAGLYPHS``."""
    if method not in ANAGLYPHS:
        raise ValueError(f"anaglyph must be one of {', '.join(ANAGLYPHS)}, got {method!r}")


def _stack(left: np.ndarray, right: np.ndarray, axis: int, squeeze: bool) -> np.ndarray:
    """Left then right along ``axis`` (1: side by side, 0: top and bottom); ``squeeze``: each view
    first resized along that axis (``cv2.INTER_AREA``) so that the two fill the input's size, the
    left taking the extra pixel when it is odd."""
    _check_pair(left, right)
    if squeeze:
        import cv2

        h, w = left.shape[:2]
        n = left.shape[axis]
        check_squeeze(w, h, axis)
        first = (n + 1) // 2

        def size(k: int) -> tuple[int, int]:  # cv2 sizes are (width, height)
            return (k, h) if axis == 1 else (w, k)

        left = cv2.resize(left, size(first), interpolation=cv2.INTER_AREA)
        right = cv2.resize(right, size(n - first), interpolation=cv2.INTER_AREA)
    return np.concatenate([left, right], axis=axis)


def side_by_side(left: np.ndarray, right: np.ndarray, squeeze: bool = False) -> np.ndarray:
    """Stereo pair H x W x 3 each -> H x 2W x 3, left view on the left; ``squeeze``: each view
    resized to half width so that the frame keeps the input width W (half side-by-side; the left
    view gets the extra column for odd W: (W + 1) // 2 and W // 2)."""
    return _stack(left, right, 1, squeeze)


def top_and_bottom(left: np.ndarray, right: np.ndarray, squeeze: bool = False) -> np.ndarray:
    """Stereo pair H x W x 3 each -> 2H x W x 3, left view on top (over-under); ``squeeze``: each
    view resized to half height so that the frame keeps the input height H (half top-and-bottom, what
    3D TVs take; the left view gets the extra row for odd H: (H + 1) // 2 and H // 2)."""
    return _stack(left, right, 0, squeeze)


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] -> linear light (IEC 61966-2-1): v / 12.92 up to 0.04045,
    else ((v + 0.055) / 1.055) ** 2.4."""
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] -> sRGB-encoded (IEC 61966-2-1): 12.92 x up to 0.0031308, else
    1.055 x ** (1 / 2.4) - 0.055."""
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.maximum(x, 0.0) ** (1 / 2.4) - 0.055)


_LINEAR = srgb_to_linear(np.arange(256) / 255.0)  # uint8 code -> linear light, float64


def anaglyph(left: np.ndarray, right: np.ndarray, method: str = "dubois") -> np.ndarray:
    """Red-cyan anaglyph (red filter on the left eye) of a stereo pair, H x W x 3 uint8 sRGB each ->
    H x W x 3 uint8.

    ``color``: R from the left view, G and B from the right view, copied as they are.
    ``dubois`` (least squares, E. Dubois 2009; in **linear light**, as the note specifies): with
    l, r the views decoded to linear RGB in [0, 1] (``srgb_to_linear``) and L, R the matrices
    ``DUBOIS_RED_CYAN_LEFT`` / ``_RIGHT``,

        a = clip(clip(L l, 0, 1) + clip(R r, 0, 1), 0, 1),    out = round(255 * linear_to_srgb(a))

    (float64; ``np.rint``, half to even). A white left view over a black right one gives pure red
    (255, 0, 0), the reverse pure cyan (0, 255, 255).
    """
    _check_pair(left, right)
    check_anaglyph(method)
    if left.ndim != 3 or left.shape[2] != 3 or left.dtype != np.uint8 or right.dtype != np.uint8:
        raise ValueError(f"need H x W x 3 uint8 views, got {left.shape} {left.dtype}, {right.dtype}")
    if method == "color":
        return np.concatenate([left[..., :1], right[..., 1:]], axis=2)
    terms = [np.clip(_LINEAR[view] @ m.T, 0.0, 1.0) for view, m in
             ((left, DUBOIS_RED_CYAN_LEFT), (right, DUBOIS_RED_CYAN_RIGHT))]
    a = np.clip(terms[0] + terms[1], 0.0, 1.0)
    return np.clip(np.rint(255.0 * linear_to_srgb(a)), 0, 255).astype(np.uint8)
