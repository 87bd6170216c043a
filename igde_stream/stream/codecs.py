"""The depth writer's encoders: which are lossless, the pixel format each writes depth in, the options
it is set up with, and where a limited-range tag survives (``writer.DepthWriter`` uses them; the
stream command checks ``--codec`` with them before any decoding).

Errors name the encoder in the Python API's words (``codec 'x264': ...``) and keep the command's
(``--codec x264: ...``) as ``IGDEError.cli_problem``.
"""

from __future__ import annotations

import av
import numpy as np

from ..errors import IGDEError
from .formats import bits_of

CODEC_OPTIONS = {"ffv1": {"level": "3", "slicecrc": "1", "g": "1"}, "exr": {"format": "float", "compression": "zip1"},
                  "jpeg2000": {"pred": "dwt53"},  # the reversible 5/3 wavelet: lossless (the default 9/7 is not)
                  "libx265": {"x265-params": "log-level=error"}}  # x265 prints its banner and stats to stderr itself
# FFmpeg's EXR and JPEG 2000 codecs are marked lossy too (the formats have lossy modes); their encoders, set as
# above, are not (read back exactly by FFmpeg and OpenCV: tests/test_ppm_jp2_depth.py)
_LOSSLESS_AS_SET = ("exr", "jpeg2000")


def codec_is_lossless(name: str) -> bool:
    """True when encoder ``name`` can only be lossless (FFV1, FFVHuff, ...); x264 & co. count as lossy."""
    codec = _encoder(name)
    return name in _LOSSLESS_AS_SET or bool(codec.lossless and not codec.lossy)


def codec_error(name: str, problem: str) -> IGDEError:
    """``problem`` of encoder ``name``: "codec 'NAME': ..." for the Python API, "--codec NAME: ..." on
    the command line (``IGDEError.cli_problem``)."""
    return IGDEError(f"codec {name!r}: {problem}", cli_problem=f"--codec {name}: {problem}")


def _encoder(name: str) -> av.codec.Codec:
    try:
        codec = av.codec.Codec(name, "w")
    except (av.error.FFmpegError, ValueError):
        raise codec_error(name, "no such video encoder in this FFmpeg build") from None
    if codec.type != "video":
        raise codec_error(name, "not a video encoder")
    return codec


#: where depth stays exact, for a refusal to point to (each checked by reading the output back)
LOSSLESS_CHOICES = ("ffv1 (.mkv, .nut, .mp4), png / tiff / dpx (.mov), or 16-bit images (-o out/%06d.png or .tif; "
                    "float depth: .exr)")


def _cannot_hold(codec: av.codec.Codec, what: str) -> IGDEError:
    """The refusal of an encoder that has no format for the depth: what it codes, and where depth stays exact."""
    formats = ", ".join(f.name for f in codec.video_formats or [])
    kind = "" if codec.name in _LOSSLESS_AS_SET or (codec.lossless and not codec.lossy) else ", lossy"
    return codec_error(codec.name, f"this encoder cannot store {what} (it codes {formats}{kind}); depth stays "
                                   f"exact in {LOSSLESS_CHOICES}")


#: encoders whose FFmpeg decoder reads 9 to 15-bit gray back as 16-bit, scaled up (JPEG 2000: 1023 as 65472):
#: depth of those bits goes into 16-bit samples holding the same values, as in a 16-bit PNG
_WIDENED_ON_READ = ("jpeg2000",)


def output_pix_fmt(codec_name: str, depth_pix_fmt: str) -> str:
    """The pixel format the output uses: the input's when the encoder takes it, else an 8-bit fallback."""
    codec = _encoder(codec_name)
    formats = [f.name for f in codec.video_formats or []]
    bits = bits_of(depth_pix_fmt)
    widened = codec_name in _WIDENED_ON_READ and 8 < bits < 16
    if not formats or (depth_pix_fmt in formats and not widened):
        return depth_pix_fmt
    if bits > 8:
        # the same values in another layout: little-endian gray of as many bits, or 16-bit gray
        # else, for a lossless encoder without 16-bit gray (PPM), RGB of three equal channels
        for alt in (*((f"gray{bits}le",) if not widened else ()), "gray16le", "gray16be",
                    *(("rgb48be", "rgb48le") if codec_is_lossless(codec_name) else ())):
            if alt in formats:
                return alt
        raise _cannot_hold(codec, f"{bits}-bit depth ({depth_pix_fmt})")
    # RGB of equal channels before YUV for a lossless encoder: YUV keeps no range tag in most containers
    for alt in ("gray", "gbrp", "yuv444p", "yuv420p", "rgb24") if codec_is_lossless(codec_name) else ("gray", "yuv444p", "yuv420p"):
        if alt in formats:
            return alt
    raise _cannot_hold(codec, f"8-bit depth ({depth_pix_fmt})")


def pix_fmt_for(codec: str, dtype: np.dtype, like_fmt: str | None) -> str:
    """The output pixel format for depth samples of ``dtype``: 16-bit stays 16-bit, 8-bit keeps the
    input's 8-bit format (gray or YUV luma) when it has one."""
    if dtype == np.uint16:
        return output_pix_fmt(codec, like_fmt if like_fmt is not None and bits_of(like_fmt) > 8 else "gray16le")
    if like_fmt is not None and bits_of(like_fmt) == 8:
        return output_pix_fmt(codec, like_fmt)
    return output_pix_fmt(codec, "gray")


#: Where limited-range YUV depth can be written so that it reads back limited: containers that store a
#: stream's colour range (Matroska, WebM, YUV4MPEG's XCOLORRANGE; MP4 / MOV store none for these streams),
#: and lossy encoders, whose untagged output is read as limited anyway (``formats.luma_is_limited``).
RANGE_CONTAINERS = ("matroska", "webm", "yuv4mpegpipe")
RANGE_ENCODERS = ("libx264", "libx265", "h264_nvenc", "hevc_nvenc", "libvpx-vp9", "libaom-av1", "libsvtav1")


def _known(codec: str) -> av.codec.Codec | None:
    try:
        return av.codec.Codec(codec, "w")
    except (av.error.FFmpegError, ValueError):
        return None


def _own_name(codec: str) -> str:
    """The encoder's own name: FFmpeg's ``h264`` / ``hevc`` are libx264 / libx265 here."""
    known = _known(codec)
    return known.name if known else codec


def coded_as(codec: str) -> str:
    """The coding format encoder ``codec`` writes ("mpeg2video" for mpeg2_qsv, "vp9" for libvpx-vp9), or
    its own name where FFmpeg knows none: its decoder says the range, its muxers what holds it."""
    known = _known(codec)
    return known.canonical_name if known else codec


def keeps_range(container: str, codec: str) -> bool:
    """Whether an output in ``container`` (a muxer name, e.g. "matroska" or "nut") by encoder ``codec``
    keeps the colour range tag."""
    return _own_name(codec) in RANGE_ENCODERS or any(name in RANGE_CONTAINERS for name in container.split(","))


#: Coding formats whose YUV is full range by definition (JPEG; mjpeg_qsv's too): their decoders give yuvj
#: formats, tag or not.
FULL_RANGE_ENCODERS = ("mjpeg",)
#: Coding formats whose decoder tags every frame limited range (mpeg2_qsv's output too), over any container's
#: tag (FFmpeg's MPEG-1 / MPEG-2 video: full-range depth in Matroska read back stretched, 240 as 255)
LIMITED_ENCODERS = ("mpeg1video", "mpeg2video")


def reads_back_limited(container: str, codec: str) -> bool:
    """Whether YUV written by encoder ``codec`` in ``container`` reads back as limited range whatever
    it was tagged: the encoder is lossy, no range tag survives (``keeps_range``), and untagged lossy
    YUV is read as limited (``formats.luma_is_limited``; e.g. MPEG-4 in MP4). Always for MPEG-1 / MPEG-2
    video, whose decoder says limited whatever the container's tag. Never for JPEG."""
    if coded_as(codec) in LIMITED_ENCODERS:
        return True
    return (not codec_is_lossless(codec) and not keeps_range(container, codec)
            and coded_as(codec) not in FULL_RANGE_ENCODERS)


def full_range_only(codec: str) -> bool:
    """Whether encoder ``codec`` takes only full-range YUV (JPEG: FFmpeg's MJPEG refuses limited range)."""
    return coded_as(codec) in FULL_RANGE_ENCODERS


def range_lost(container: str, codec: str) -> bool:
    """Whether full-range YUV by ``codec`` in ``container`` reads back in FFmpeg as limited (stretched): no
    range tag survives (``keeps_range``) and the format has no range of its own (JPEG's is full)."""
    return not keeps_range(container, codec) and coded_as(codec) not in FULL_RANGE_ENCODERS


def describe_codec(name: str) -> str:
    """``"ffv1 (lossless)"`` or ``"libx264 (LOSSY)"`` for logs and reports."""
    return f"{name} ({'lossless' if codec_is_lossless(name) else 'LOSSY'})"


def muxer_options(muxer: str, pix_fmt: str) -> dict[str, str]:
    """Options the muxer needs for ``pix_fmt``: YUV4MPEG calls every format above 8 bits (``mono16``,
    ``420p10``, ...) unofficial and refuses it at the header ("Invalid argument") unless told
    ``-strict -1``; FFmpeg reads them back as written."""
    if muxer == "yuv4mpegpipe" and bits_of(pix_fmt) > 8:
        return {"strict": "unofficial"}
    return {}
