"""Colour frames as the model's guide: H x W x 3 uint8 RGB, converted by swscale with the frame's own
matrix and range tags (``VideoReformatter.reformat``; what ``ffmpeg -pix_fmt rgb24`` shows).

YUV of more than 8 bits (ProRes, DNxHR HQX / 444, 10-bit HEVC and H.264, HDR) goes through swscale's
exact path, ``EXACT``: chroma interpolated to every pixel and rounded exactly. Its default path is
up to 4 levels off the BT.709 arithmetic on flat 10-bit 4:2:2 / 4:2:0 colour (mean 1.7), and the
model, trained on RGB images, guided 0.10 to 0.27 dB better on the exact one (docs/formats.md,
"Post-production"). Unscaled, the exact numbers are written as planar RGB (``gbrp``), the same bytes in
less time than to ``rgb24``. 8-bit YUV keeps the default (SIMD) path: the exact numbers cost 7.6 times
its time there (0.71 -> 5.4 ms a 1080p frame, ``python tools/bench.py rgb``), past the 2x / +3 ms a
switch was allowed, for 1.2 levels of mean error on photographs (0.25 exact).

Float RGB tagged linear light (OpenEXR, as FFmpeg's decoder tags it: a VFX plate) is encoded with the
sRGB curve first (``srgb_encoded``), as a viewer shows it; quantised as stored it came out dark. So is
integer RGB or gray tagged linear (a PNG whose ``gAMA`` is 1.0, which FFmpeg's PNG decoder tags so),
its codes read as 0..1 of its peak.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import av
import numpy as np

log = logging.getLogger("igde_stream.stream")

#: SWS_BILINEAR | SWS_FULL_CHR_H_INT | SWS_ACCURATE_RND (also ``colormaps``' conversion)
EXACT = 0x2 | 0x2000 | 0x40000
_FULL_CHR_H_INT, _ACCURATE_RND = 0x2000, 0x40000
#: SWS_BILINEAR | SWS_ACCURATE_RND to planar RGB (``gbrp``, where swscale always interpolates chroma to
#: every pixel): ``EXACT``'s bytes for an unscaled frame, without its slower packed-RGB writer
_PLANAR = 0x2 | 0x40000
_KERNELS = {"AREA": 0x20, "BICUBIC": 0x4}


def exact_path(fmt: av.VideoFormat) -> bool:
    """Whether colour of pixel format ``fmt`` is converted on swscale's exact path: YUV (with alpha, semi-planar
    too: ProRes 4444's yuva444p12le, a hardware decoder's p010le) of more than 8 bits a component."""
    return not fmt.is_rgb and len(fmt.components) >= 3 and fmt.components[0].bits > 8


#: AVColorSpace of a frame whose matrix is not tagged
UNSPECIFIED = 2


def untagged_hd(frame: av.VideoFrame) -> bool:
    """Whether ``frame`` is YUV with no matrix tag and of HD size (wider than 1279 or taller than 576
    pixels): players show such video with the BT.709 matrix (mpv's rule; FFmpeg's converter would take
    BT.601 at any size), as the views' writer says of its own outputs."""
    fmt = frame.format
    return (frame.colorspace == UNSPECIFIED and not fmt.is_rgb and len(fmt.components) >= 3
            and (frame.width >= 1280 or frame.height > 576))


#: AVColorTransferCharacteristic of linear light: FFmpeg's EXR decoder tags its frames so
LINEAR_TRC = 8
_FLOAT_COLOUR = re.compile(r"^(gbra?p|rgba?|gray)f(16|32)(le|be)$")


def linear_float(frame: av.VideoFrame) -> bool:
    """Whether ``frame`` is RGB or gray tagged linear light: float (OpenEXR colour, or a one-channel ``Y``
    plate: scene-linear values, 1.0 = white), or integer (a PNG whose gAMA is 1.0, palette ones too: its peak
    = 1.0)."""
    fmt = frame.format
    return getattr(frame, "color_trc", None) == LINEAR_TRC and (
        bool(_FLOAT_COLOUR.match(fmt.name)) or fmt.is_rgb or fmt.name == "pal8" or fmt.name.startswith(("gray", "ya")))


def _linear_values(frame: av.VideoFrame) -> np.ndarray:
    """H x W x 3 float of linear ``frame``: float samples as stored; integer ones over their peak, 255 or
    65535, kept at their own width (swscale's integer -> float is not exact, 0 gave 1.8e-4, nor is its
    rgb24 -> rgb48, 255 gave 65271; a byte swap or dropping alpha is)."""
    if _FLOAT_COLOUR.match(frame.format.name):
        if frame.format.name.startswith("gray"):  # swscale's gray float -> RGB float is not exact: the plane itself
            from .formats import float_array

            return np.repeat(float_array(frame)[..., None], 3, axis=-1)
        return frame.reformat(format="gbrpf32le").to_ndarray()  # H x W x 3, R G B
    wide = max(c.bits for c in frame.format.components) > 8
    if frame.format.name.startswith(("gray", "ya")):
        v = frame.reformat(format="gray16le" if wide else "gray").to_ndarray()[..., None]
        return np.repeat(v / (65535.0 if wide else 255.0), 3, axis=-1)
    return frame.reformat(format="rgb48le" if wide else "rgb24").to_ndarray() / (65535.0 if wide else 255.0)


def srgb_encoded(frame: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
    """Linear RGB ``frame`` (``linear_float``) as H x W x 3 uint8 RGB encoded with the sRGB curve (IEC 61966-2-1:
    12.92 v up to 0.0031308, else 1.055 v^(1/2.4) - 0.055), as a viewer shows an EXR plate; values are
    clipped to 0..1 first (highlights white, negatives and NaN black), resized (``size`` = (W, H): area
    averaging when shrinking, bicubic when enlarging) after the curve, as 8-bit colour is resized."""
    import cv2

    v = np.clip(np.nan_to_num(_linear_values(frame), nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    v = np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.power(v, 1 / 2.4) - 0.055).astype(np.float32)
    if size is not None and tuple(size) != (frame.width, frame.height):
        shrink = size[0] * size[1] < frame.width * frame.height
        v = cv2.resize(v, tuple(size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return np.clip(np.rint(v * 255), 0, 255).astype(np.uint8)


def colour_rgb(frame: av.VideoFrame, reformatter: Any, size: tuple[int, int] | None = None) -> np.ndarray:
    """``frame`` as H x W x 3 uint8 RGB (at ``size`` = (W, H): shrunk by area averaging, enlarged
    bicubically); ``reformatter``: a ``VideoReformatter``. Untagged HD colour is read with BT.709, as
    players show it (``untagged_hd``); linear float RGB (EXR) through the sRGB curve (``srgb_encoded``)."""
    if size is not None and tuple(size) == (frame.width, frame.height):
        size = None  # its own size: the unscaled conversion (a scaler's kernel there moved 10-bit colour)
    if linear_float(frame):
        return srgb_encoded(frame, size)
    kernel = "BICUBIC" if size is not None and size[0] * size[1] >= frame.width * frame.height else "AREA"
    args: tuple = () if size is None else size
    matrix = {"src_colorspace": "ITU709"} if untagged_hd(frame) else {}
    if exact_path(frame.format):
        try:
            if size is None:  # gbrp's to_ndarray is H x W x 3, R G B
                return reformatter.reformat(frame, format="gbrp", interpolation=_PLANAR, **matrix).to_ndarray()
            flags = _KERNELS[kernel] | _FULL_CHR_H_INT | _ACCURATE_RND
            return reformatter.reformat(frame, *args, format="rgb24", interpolation=flags, **matrix).to_ndarray()
        except (KeyError, TypeError, ValueError):  # a PyAV that takes named interpolations only
            pass
    if size is None:
        return reformatter.reformat(frame, format="rgb24", **matrix).to_ndarray()
    return reformatter.reformat(frame, *args, "rgb24", interpolation=kernel, **matrix).to_ndarray()


def resize_colour(color: Any, size: tuple[int, int]) -> np.ndarray:
    """RGB colour frames in memory at ``size`` = (W, H) as the command resizes colour to the depth's grid
    (``colour_rgb``: swscale, area averaging when shrinking, bicubic when enlarging; what ``ffmpeg -vf
    scale=W:H:flags=area`` gives), so that ``Enhancer.enhance(resize_colour(color, (w, h)), depth)`` gives
    the command's output for a colour camera of another size (1280x960 beside 640x480 depth).
    ``color``: H x W x 3 or N x H x W x 3 uint8 RGB (OpenCV's BGR: ``frame[..., ::-1]`` first); returns
    uint8 of the same layout at the new size (a copy where the size is already that)."""
    a = np.asarray(color)
    if a.dtype != np.uint8 or a.ndim not in (3, 4) or a.shape[-1] != 3:
        raise ValueError(f"resize_colour takes H x W x 3 or N x H x W x 3 uint8 RGB, got {' x '.join(map(str, a.shape))} "
                         f"{a.dtype}")
    w, h = (int(v) for v in size)
    if w < 1 or h < 1:
        raise ValueError(f"size must be (W, H) of at least 1 x 1, got {tuple(size)!r}")
    if a.ndim == 4:
        return np.stack([resize_colour(f, (w, h)) for f in a]) if len(a) else np.empty((0, h, w, 3), np.uint8)
    if (a.shape[1], a.shape[0]) == (w, h):
        return a.copy()
    kernel = "BICUBIC" if w * h >= a.shape[0] * a.shape[1] else "AREA"
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(a), format="rgb24")
    return frame.reformat(w, h, "rgb24", interpolation=kernel).to_ndarray()


def hidden_share(frame: av.VideoFrame) -> float | None:
    """The share of ``frame``'s pixels that are fully transparent (alpha 0; a palette's alpha for ``pal8``)
    over a colour other than black (a channel above 2 of 255), or None for a pixel format without alpha.
    Black there is what a viewer shows over black, and what premultiplied colour holds."""
    if frame.format.name != "pal8" and not any(c.is_alpha for c in frame.format.components):
        return None
    rgba = frame.reformat(format="rgba").to_ndarray()
    return float(((rgba[..., 3] == 0) & (rgba[..., :3].max(axis=-1) > 2)).mean())


def say_linear(frame: av.VideoFrame, path: str) -> None:
    """Says once, from the first frame, that linear-light colour is read through the sRGB curve."""
    if linear_float(frame):
        log.info("%s: colour in linear light (%s, transfer linear: an OpenEXR plate, a PNG of gamma 1.0) is encoded with the sRGB curve, "
                 "as a viewer shows it, for the model and the views (docs/formats.md, \"Float colour\")",
                 path, frame.format.name)


def warn_transparent(frame: av.VideoFrame, path: str) -> None:
    """Colour is read without its alpha (as ``ffmpeg -pix_fmt rgb24``): where fully transparent pixels hold a
    colour, the model is guided by a picture no viewer shows. Said once, from the first frame."""
    share = hidden_share(frame)
    if share:
        log.warning("%s: %.3g %% of the first colour frame is fully transparent over a colour (%s): colour is read "
                    "without its alpha, as ffmpeg -pix_fmt rgb24 shows it, so the model is guided by colour that a "
                    "viewer does not show; for the picture over black, premultiply it first (ffmpeg -i IN -vf "
                    "premultiply=inplace=1,format=gbrp -c:v ffv1 color.mkv)", path, 100 * share, frame.format.name)


def first_colour_frame(frame: av.VideoFrame, path: str) -> None:
    """What the first colour frame says once: transparent pixels over a colour, linear light."""
    warn_transparent(frame, path)
    say_linear(frame, path)


__all__ = ["EXACT", "colour_rgb", "exact_path", "first_colour_frame", "hidden_share", "linear_float", "resize_colour",
           "say_linear", "srgb_encoded", "untagged_hd", "warn_transparent"]
