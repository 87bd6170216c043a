"""Depth pixel formats: which ones are read, their bit depth and peak, and the frame <-> array conversions.

Depth arrives as gray (8, 10, 12 or 16 bits, either byte order for 16) or in the luma plane of a YUV
format (8, 10, 12 or 16 bits; the chroma planes are ignored on input and written neutral on output).
Samples of more than 8 bits come out as native-endian ``uint16`` holding the values as stored: a
10-bit sample stays 0..1023 (it is not stretched to 0..65535), so its normalising peak is 1023
(``peak_of``), and the writer stores the same values in the same format. Limited-range ("TV") YUV
luma, 16..235 at 8 bits, is read stretched to the full range as FFmpeg converts it to gray
(``luma_is_limited``); the writer puts it back so that it reads back the same (``writer``).

Gray depth saved as RGB (three equal channels: ``RGB_FORMATS``) is read as its one channel.
Float depth (PFM, OpenEXR, 3-channel float TIFF, raw ``grayf32le``: ``FLOAT_FORMATS``) comes out of
``depth_array`` as float32 as stored; ``floatdepth.FloatMap`` brings it to 16-bit codes, so for the
rest of the pipeline it is 16-bit depth (``bits_of`` 16, ``peak_of`` 65535).
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

import av
import numpy as np

#: 8-bit YUV formats whose luma plane may carry depth.
YUV8_FORMATS = frozenset({
    "yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p", "yuvj440p",
    "yuv411p", "yuvj411p", "yuv410p", "nv12", "nv21", "nv16", "nv24",
})
#: Planar YUV formats of more than 8 bits (little-endian) whose luma plane may carry depth.
YUV_HIGH_FORMATS = frozenset({
    f"yuv{sub}p{bits}le" for sub in ("420", "422", "444") for bits in (10, 12, 16)
})
#: Gray formats: one plane, the depth itself.
GRAY_FORMATS = ("gray", "gray10le", "gray12le", "gray16le", "gray16be")
#: Float formats FFmpeg's decoders give depth maps in: PFM ``Pf`` and EXR ``Y`` (grayf32; half-float EXR:
#: grayf16 from FFmpeg 8), PFM ``PF`` and RGB EXR (gbrpf32 / gbrpf16), float TIFF (rgbf32: FFmpeg reads no
#: 1-channel float TIFF). Three channels must be equal.
FLOAT_FORMATS = ("grayf32le", "grayf32be", "grayf16le", "grayf16be", "gbrpf32le", "gbrpf32be", "gbrpf16le",
                 "gbrpf16be", "rgbf32le", "rgbf32be")
#: Packed RGB formats that gray depth saved as colour arrives in (PNG, TIFF and BMP written with three
#: equal channels, as many depth estimators and image tools save a gray map): read as one channel; the
#: channels must be equal (a colour-mapped depth picture is refused: ``--depth-colormap`` reads one,
#: ``colormaps``). Alpha is ignored.
#: Also planar RGB (FFV1 and libx264rgb store RGB as gbrp*, 10 to 16-bit kept as stored), packed RGB with
#: a padding byte (FFV1's bgr0) and gray with alpha (PNG's ya8 / ya16).
RGB_FORMATS = ("rgb24", "bgr24", "rgba", "bgra", "argb", "abgr", "rgb0", "bgr0", "0rgb", "0bgr", "rgb48le",
               "rgb48be", "bgr48le", "bgr48be", "rgba64le", "rgba64be", "bgra64le", "bgra64be", "gbrp", "gbrp10le",
               "gbrp12le", "gbrp16le", "gbrp16be", "gbrap", "gbrap16le", "gbrap16be", "ya8", "ya16le", "ya16be")
#: Pixel formats accepted for depth (and ground truth).
DEPTH_FORMATS = (*GRAY_FORMATS, *sorted(YUV8_FORMATS), *sorted(YUV_HIGH_FORMATS), *FLOAT_FORMATS, *RGB_FORMATS)
_GRAY_ALPHA = {"ya8": np.dtype(np.uint8), "ya16le": np.dtype("<u2"), "ya16be": np.dtype(">u2")}
#: The same samples in the other byte order (an exact swap by swscale; see ``float_array``).
_SWAPPED = {"grayf32le": "grayf32be", "grayf32be": "grayf32le", "gbrpf32le": "gbrpf32be", "gbrpf32be": "gbrpf32le"}


def is_depth_format(pix_fmt: str | None) -> bool:
    return pix_fmt in DEPTH_FORMATS


def is_float_format(pix_fmt: str | None) -> bool:
    return pix_fmt in FLOAT_FORMATS


def output_like(pix_fmt: str | None) -> str | None:
    """The input format a depth output may keep (gray or YUV luma); for gray saved as RGB (or with
    alpha) the plain gray of its bit depth (``gbrp10le`` -> ``gray10le``: 10-bit values stay 10-bit
    depth, not gray16le holding 0..1023); None for float (16-bit codes)."""
    if pix_fmt in FLOAT_FORMATS:
        return None
    return gray_like(pix_fmt) if pix_fmt in RGB_FORMATS else pix_fmt


def bits_of(pix_fmt: str | None) -> int:
    """Significant bits of a depth sample in ``pix_fmt`` (8 when unknown; 16 for float depth, read as
    16-bit codes)."""
    if not pix_fmt:
        return 8
    if pix_fmt in FLOAT_FORMATS:
        return 16
    try:
        return int(av.VideoFormat(pix_fmt).components[0].bits)
    except (ValueError, IndexError):
        return 8


def dtype_of(pix_fmt: str | None) -> np.dtype:
    """Sample type of depth in ``pix_fmt``: uint16 above 8 bits, else uint8."""
    return np.dtype(np.uint16) if bits_of(pix_fmt) > 8 else np.dtype(np.uint8)


def peak_of(pix_fmt: str | None) -> float:
    """The largest value a depth sample of ``pix_fmt`` holds: 2**bits - 1 (255, 1023, 4095, 65535)."""
    return float((1 << bits_of(pix_fmt)) - 1)


def depth_formats_text() -> str:
    """The accepted depth formats in words, for error messages."""
    return ("gray, gray16le or 8-bit YUV with depth in the luma plane; also gray10le, gray12le, gray16be, "
            "the luma of 10/12/16-bit YUV such as yuv420p10le, yuv420p16le, 32-bit float (grayf32le: PFM, EXR), "
            "and gray saved as 8-16-bit RGB with three equal channels or as gray with alpha")


def alpha_hint(pix_fmt: str | None, path: str, container: Any = None) -> str:
    """For a refused depth or colour-and-depth input in pixel format ``pix_fmt``: where it has an alpha
    channel beside colour (RGBA PNG, ProRes 4444 ``yuva444p12le``; not gray with alpha, which is read as
    gray), how to give depth kept in that alpha channel, as some apps export it; where ``container`` holds
    16-bit raw video that lost its FourCC (an Azure Kinect track copied by ffmpeg), ``raw16.hint``; else ""."""
    from .raw16 import hint
    if container is not None and (said := hint(container, path)):
        return said
    try:
        components = av.VideoFormat(pix_fmt).components if pix_fmt else ()
    except (ValueError, TypeError):
        return ""
    if pix_fmt in _GRAY_ALPHA or not any(c.is_alpha for c in components) or len(components) < 4:
        return ""
    src = f"-i {path}"
    if os.path.isdir(path):  # a folder: FFmpeg reads its images through a glob
        names = sorted(n for n in os.listdir(path) if not n.startswith(".") and os.path.splitext(n)[1])
        if names:
            src = f"-pattern_type glob -i '{os.path.join(path, '*' + os.path.splitext(names[0])[1])}'"
    return (f"; if the depth is in its alpha channel, extract it (ffmpeg {src} -vf alphaextract -c:v ffv1 "
            f"depth.mkv) and give {path} as the colour, depth.mkv as the depth")

#: How the luma of YUV depth is read (``InputOptions.depth_range``; see :func:`luma_is_limited`).
DEPTH_RANGES = ("auto", "full", "limited")


def is_yuv_format(pix_fmt: str | None) -> bool:
    return pix_fmt in YUV8_FORMATS or pix_fmt in YUV_HIGH_FORMATS


#: Codecs whose untagged YUV is read as stored (full range): lossless, raw and image codecs keep what was
#: written into them. Untagged lossy video (H.264, HEVC, VP9, AV1, MPEG-4, ...) is limited range, as FFmpeg
#: reads it and as ``ffmpeg -pix_fmt yuv420p`` makes it from gray maps.
AS_STORED_CODECS = frozenset({
    "ffv1", "rawvideo", "png", "apng", "tiff", "bmp", "pgm", "pgmyuv", "ppm", "pam", "huffyuv", "ffvhuff",
    "utvideo", "magicyuv", "qoi", "sgi", "targa", "jpeg2000", "libopenjpeg",
})


def luma_is_limited(pix_fmt: str | None, color_range: int, codec: str, choice: str = "auto") -> bool:
    """Whether the luma of a YUV depth stream is limited ("TV", MPEG) range, 16..235 at 8 bits (scaled by
    2^(bits - 8) above), to be read stretched to the full 0..2^bits - 1 as FFmpeg converts it to gray.
    Never for gray, RGB or float formats. ``choice`` "full" / "limited" decides; "auto" follows the
    stream's tag (``color_range``: 1 MPEG limited, 2 JPEG full; ``yuvj*`` formats are full); an
    untagged stream is limited when its ``codec`` is lossy video, read as stored when it is lossless,
    raw or an image codec (``AS_STORED_CODECS``)."""
    if choice not in DEPTH_RANGES:
        raise ValueError(f"depth_range must be one of {', '.join(DEPTH_RANGES)}, got {choice!r}")
    if not is_yuv_format(pix_fmt):
        return False
    if choice != "auto":
        return choice == "limited"
    if pix_fmt.startswith("yuvj") or color_range == 2:
        return False
    return color_range == 1 or codec not in AS_STORED_CODECS


def luma_is_guessed(pix_fmt: str | None, color_range: int, codec: str, choice: str = "auto") -> bool:
    """Whether YUV depth luma is read as stored only by :func:`luma_is_limited`'s guess for an untagged
    stream of a lossless, raw or image ``codec``, which FFmpeg makes the other way (limited, stretched)."""
    return (choice == "auto" and is_yuv_format(pix_fmt) and not pix_fmt.startswith("yuvj")
            and color_range not in (1, 2) and codec in AS_STORED_CODECS)


def limited_span(bits: int) -> tuple[int, int]:
    """The lowest and highest limited-range luma of ``bits`` bits: (16, 235) x 2^(bits - 8)."""
    s = 1 << (bits - 8)
    return 16 * s, 235 * s


@functools.lru_cache(maxsize=8)
def _range_lut(bits: int, to_full: bool) -> np.ndarray:
    lo, hi = limited_span(bits)
    peak = (1 << bits) - 1
    x = np.arange(peak + 1, dtype=np.float64)
    v = (x - lo) * (peak / (hi - lo)) if to_full else x * ((hi - lo) / peak) + lo
    return np.clip(np.rint(v), 0, peak).astype(np.uint8 if bits == 8 else np.uint16)


def luma_to_full(luma: np.ndarray, bits: int) -> np.ndarray:
    """Limited-range luma (uint8 / uint16 of ``bits`` bits) stretched to the full range, rounded, values
    outside the limited range clipped: swscale's limited-to-gray conversion (the same values at 8 bits)."""
    return _range_lut(bits, True)[luma]


def full_to_luma(values: np.ndarray, bits: int) -> np.ndarray:
    """The inverse of :func:`luma_to_full`: full-range values back into limited-range luma, rounded.
    Exact on every value :func:`luma_to_full` gives (the full range has more levels than the limited)."""
    return _range_lut(bits, False)[values]


def range_names(**infos: Any) -> dict[str, str | None]:
    """``{"<name>_range": "limited" | "full" | None}`` of readers' ``VideoInfo`` (None: no such input,
    or depth that is not YUV), for a run's summary and report."""
    return {f"{name}_range": None if info is None or not is_yuv_format(info.pix_fmt)
            else "limited" if info.limited else "full" for name, info in infos.items()}


def gray_like(pix_fmt: str) -> str:
    """The gray format of ``pix_fmt``'s bit depth (gray, gray10le, gray12le, gray16le)."""
    bits = bits_of(pix_fmt)
    return "gray" if bits == 8 else f"gray{bits}le"


def depth_array(frame: av.VideoFrame, limited: bool = False, chroma: bool = True) -> np.ndarray:
    """The depth samples of a decoded frame (a depth format): H x W uint8, or native uint16 above 8 bits;
    float32 for ``FLOAT_FORMATS`` (``float_array``). ``limited``: YUV luma in the limited range, returned
    stretched to the full range (:func:`luma_is_limited`, :func:`luma_to_full`). ``chroma``: check
    that a YUV frame's chroma is no colour picture (``check_neutral_chroma``; a reader checks one
    frame in ``CHROMA_EVERY``)."""
    if limited:
        return luma_to_full(depth_array(frame, chroma=chroma), bits_of(frame.format.name))
    fmt = frame.format.name
    if fmt in FLOAT_FORMATS:
        return float_array(frame)
    if fmt in GRAY_FORMATS:
        return np.array(frame.to_ndarray(), copy=True)  # gray16be comes out byte-swapped to native
    if fmt in RGB_FORMATS:
        return gray_of_rgb(frame)
    if chroma:
        check_neutral_chroma(frame)
    plane = frame.planes[0]
    if fmt in YUV_HIGH_FORMATS:
        luma = np.frombuffer(plane, "<u2").reshape(plane.height, plane.line_size // 2)
        return luma[:, : plane.width].astype(np.uint16)
    luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return luma[:, : plane.width].copy()


CHROMA_EVERY = 30  # frames: the first and then one a second or so (the check costs ~7 ms a 1080p frame)


def check_neutral_chroma(frame: av.VideoFrame, share: float = 0.05) -> None:
    """``ValueError`` when more than ``share`` of a YUV depth frame's chroma samples lie over 16
    levels (8-bit scale) from neutral and more than 1 % from the plane's median: a colour picture,
    such as a colour-mapped (turbo, inferno) depth visualisation, whose luma does not follow the
    depth. Depth stored as luma has neutral chroma, give or take what a lossy codec adds, or a
    constant one (chroma planes left at 0 by some tools)."""
    planes = frame.planes[1:3]
    if not planes:
        return
    bits = bits_of(frame.format.name)
    dt, neutral = (np.dtype("<u2"), 1 << (bits - 1)) if bits > 8 else (np.dtype(np.uint8), 128)
    far = 16 << (bits - 8)
    per_sample = 2 if len(frame.planes) == 2 else 1  # semi-planar (NV12, P010): U and V interleaved
    off = varies = total = 0
    for p in planes:
        c = np.frombuffer(p, dt).reshape(p.height, p.line_size // dt.itemsize)[:, : p.width * per_sample]
        c = c.astype(np.int32)
        off += int(np.count_nonzero(np.abs(c - neutral) > far))
        varies += int(np.count_nonzero(np.abs(c - int(np.median(c))) > far))
        total += c.size
    # a constant chroma plane (0 where a tool left it empty) carries no picture: only chroma that is
    # off neutral and changes across the frame is a colour picture
    if total and off > share * total and varies > 0.01 * total:
        raise ValueError(f"{frame.format.name}: {100 * off / total:.0f} % of the chroma is far from neutral, so "
                         "this is a colour picture, not a depth map; a colour-mapped depth (a depth estimator's "
                         "inferno, Spectral_r or turbo visualisation) is read with --depth-colormap NAME; else give "
                         "gray depth, or its luma alone")


def gray_of_rgb(frame: av.VideoFrame) -> np.ndarray:
    """The one channel of gray depth saved as RGB or gray with alpha (``RGB_FORMATS``): H x W uint8, or
    native uint16 above 8 bits (values as stored: 10-bit planar RGB stays 0..1023); ``ValueError`` when
    the colour channels differ."""
    fmt = frame.format.name
    if fmt in _GRAY_ALPHA:  # [Y, A] pairs (PyAV has no ndarray form of them)
        dt, plane = _GRAY_ALPHA[fmt], frame.planes[0]
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : 2 * dt.itemsize * frame.width]
        return rows.copy().view(dt).reshape(frame.height, frame.width, 2)[..., 0].astype(dt.newbyteorder("="))
    if fmt in ("rgb0", "bgr0", "0rgb", "0bgr"):  # a padding byte: swscale's exact shuffle to rgb24
        frame = frame.reformat(format="rgb24")
    a = frame.to_ndarray()  # H x W x 3 (or 4), native byte order
    if fmt in ("argb", "abgr"):
        a = a[..., 1:]
    if not (np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 0], a[..., 2])):
        raise ValueError(f"{fmt}: the three colour channels differ, so this is a colour picture, not "
                         "a depth map; a colour-mapped depth (inferno, Spectral_r, turbo ...) is read with "
                         "--depth-colormap NAME; else give gray depth, or three equal channels")
    return np.ascontiguousarray(a[..., 0])


def float_array(frame: av.VideoFrame) -> np.ndarray:
    """H x W native float32 of a ``FLOAT_FORMATS`` frame (half floats widened, exactly), NaN and inf kept; read from the planes, not
    ``to_ndarray`` (PyAV 12.0 has no grayf32 there; 18.1 has). PFM rows come bottom-up (a negative line size,
    which PyAV before 18 exposes from the wrong end): such a frame is first byte-swapped by swscale
    into positive rows. Three channels must be equal (``ValueError`` otherwise)."""
    fmt = frame.format.name
    if any(p.line_size < 0 for p in frame.planes):
        if fmt not in _SWAPPED:
            raise ValueError(f"{fmt} with bottom-up rows is not supported")
        frame, fmt = frame.reformat(format=_SWAPPED[fmt]), _SWAPPED[fmt]
    dtype = np.dtype((">" if fmt.endswith("be") else "<") + ("f2" if "f16" in fmt else "f4"))
    step = 3 if fmt.startswith("rgbf") else 1  # rgbf32: packed R G B; gbrpf32: one plane per channel
    channels = []
    for p in frame.planes:
        rows = np.frombuffer(p, dtype).reshape(p.height, p.line_size // dtype.itemsize)
        channels += [rows[:, c: p.width * step: step] for c in range(step)]
    if any(not np.array_equal(channels[0], c, equal_nan=True) for c in channels[1:]):
        names = "GBR" if fmt.startswith("gbr") else "RGB"  # the channels' order in ``channels``
        only = [names[i] for i, c in enumerate(channels) if np.any(c)]  # NaN counts as a value
        hint = "" if len(only) != 1 else (
            f" ({' and '.join(sorted(set('RGB') - set(only)))} all 0, values in {only[0]} only, as a SceneFlow "
            f"PFM keeps its disparity): save {only[0]} alone as a 1-channel PFM (Pf) or EXR, which is read")
        raise ValueError(f"{fmt}: the three channels differ; float depth needs one channel (or three equal ones)"
                         + hint)
    return channels[0].astype(np.float32)


def float_frame(values: np.ndarray) -> av.VideoFrame:
    """A grayf32le frame holding ``values`` (H x W, cast to float32)."""
    h, w = values.shape
    frame = av.VideoFrame(w, h, "grayf32le")
    plane = frame.planes[0]
    buf = np.zeros((h, plane.line_size // 4), "<f4")
    buf[:, :w] = values
    plane.update(buf.tobytes())
    return frame


def native_samples(depth: Any) -> np.ndarray:
    """``depth`` as a NumPy array (a CPU tensor, a list: as the Enhancer takes them) of the machine's byte
    order: big-endian uint16 (``np.frombuffer`` of a 16-bit PGM, which the Enhancer gives back as it
    came) is the same samples, not another type."""
    depth = np.asarray(depth)
    return depth.astype(depth.dtype.newbyteorder("=")) if depth.dtype.kind == "u" and not depth.dtype.isnative else depth


def depth_frame(depth: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    """A frame of ``pix_fmt`` holding ``depth`` (H x W, uint8 for 8-bit formats, uint16 above) as it is,
    in the luma plane with neutral chroma for YUV, in every channel for RGB (gbrp, rgb24, rgb48)."""
    if pix_fmt in GRAY_FORMATS:
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(depth), format=pix_fmt)
    if pix_fmt in ("rgb24", "rgb48be", "rgb48le"):  # packed RGB of three equal channels (PPM has no gray)
        return av.VideoFrame.from_ndarray(np.repeat(depth[..., None], 3, axis=2), format=pix_fmt)
    rgb = pix_fmt == "gbrp"  # gray as RGB of three equal channels (an encoder with RGB, no gray: Ut Video)
    if pix_fmt not in YUV8_FORMATS and pix_fmt not in YUV_HIGH_FORMATS and not rgb:
        raise ValueError(f"cannot write depth as {pix_fmt}")
    h, w = depth.shape
    frame = av.VideoFrame(w, h, pix_fmt)
    high = pix_fmt in YUV_HIGH_FORMATS
    sample = np.dtype("<u2") if high else np.dtype(np.uint8)
    neutral = 1 << (bits_of(pix_fmt) - 1)
    for i, plane in enumerate(frame.planes):
        buf = np.full((plane.height, plane.line_size // sample.itemsize), neutral, sample)
        if i == 0 or rgb:
            buf[:, :w] = depth
        plane.update(buf.tobytes()[: plane.buffer_size])
    return frame


def frame_bytes(pix_fmt: str, width: int, height: int) -> int:
    """Bytes of one unpadded raw frame of ``pix_fmt`` (what FFmpeg's rawvideo demuxer reads per frame)."""
    fmt = av.VideoFormat(pix_fmt)
    frame = av.VideoFrame(width, height, pix_fmt)
    total = 0
    for i, plane in enumerate(frame.planes):
        comps = [c for c in fmt.components if c.plane == i]
        total += plane.width * plane.height * len(comps) * ((comps[0].bits + 7) // 8)
    return total


def enlarge_nearest(depth: np.ndarray, width: int, height: int) -> np.ndarray:
    """``depth`` (H x W) on a ``width`` x ``height`` grid by nearest neighbour: output pixel (y, x)
    takes the input pixel whose area holds its centre, ``floor((y + 0.5) H / height)`` (the same in x),
    so an integer factor k repeats each value k times and every output value is an input value."""
    h, w = depth.shape
    rows = np.minimum(((np.arange(height) + 0.5) * h / height).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * w / width).astype(np.int64), w - 1)
    return depth[rows[:, None], cols[None, :]]


def enlarge_linear(depth: np.ndarray, width: int, height: int) -> np.ndarray:
    """``depth`` (H x W, uint8 / uint16) on a ``width`` x ``height`` grid by bilinear interpolation
    (OpenCV, pixel centres aligned as in :func:`enlarge_nearest`), rounded back to its dtype: slopes
    come out smooth instead of in steps, and an edge becomes a ramp as wide as the factor, which the
    model repairs. Holes (0) blend with their neighbours: use nearest for depth with holes."""
    import cv2

    up = cv2.resize(depth.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    if depth.dtype.kind == "f":  # float depth as stored (a reader without a float map)
        return up
    return np.clip(np.rint(up), 0, np.iinfo(depth.dtype).max).astype(depth.dtype)


def warn_holes_enlarged(path: str) -> bool:
    """Warn (and return True) that linear enlargement blends the holes of ``path``'s depth."""
    logging.getLogger("igde_stream.stream").warning(
        "%s: the depth has holes (0), which --enlarge linear blends with the measured depth around them into "
        "values nobody measured; --enlarge nearest keeps holes as holes", path)
    return True


ENLARGE = {"linear": enlarge_linear, "nearest": enlarge_nearest}  # how depth smaller than the colour is enlarged
