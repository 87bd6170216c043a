"""The enhanced depth video: same size, frame count, timestamps, frame rate and bit depth as the input.

Default codec: FFV1 (lossless; level 3, GOP 1, slice CRCs) in whatever container the output's suffix
names (Matroska for ``.mkv``). The file is written under a temporary name in the output's folder and
renamed to its real name only by ``commit``; ``abort`` removes it, so an interrupted or failed run
leaves no half-written output behind. A run that was killed outright (SIGKILL, a crash) cannot clean
up: the next writer of the same output removes such partial files once their process is gone.

The output's bit depth follows the frames' sample type (uint16 -> gray16le, uint8 -> the input's
8-bit format): nothing is ever narrowed or widened, and frames of another type than the first are
refused. Frames without pts are placed at ``k x frame_duration`` like the reader places them.
"""

from __future__ import annotations

import logging
import math
import os
import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import IGDEError, OutputError
from .reader import FALLBACK_RATE, YUV8_FORMATS, VideoInfo

log = logging.getLogger("igde_stream.stream")

DEFAULT_CODEC = "ffv1"
_CODEC_OPTIONS = {"ffv1": {"level": "3", "slicecrc": "1", "g": "1"}}


def codec_is_lossless(name: str) -> bool:
    """True when encoder ``name`` can only be lossless (FFV1, FFVHuff, ...); x264 & co. count as lossy."""
    codec = _encoder(name)
    return bool(codec.lossless and not codec.lossy)


def _encoder(name: str) -> av.codec.Codec:
    try:
        codec = av.codec.Codec(name, "w")
    except (av.error.FFmpegError, ValueError):
        raise IGDEError(f"--codec {name}: no such video encoder in this FFmpeg build") from None
    if codec.type != "video":
        raise IGDEError(f"--codec {name}: not a video encoder")
    return codec


def output_pix_fmt(codec_name: str, depth_pix_fmt: str) -> str:
    """The pixel format the output uses: the input's when the encoder takes it, else an 8-bit fallback."""
    codec = _encoder(codec_name)
    formats = [f.name for f in codec.video_formats or []]
    if not formats or depth_pix_fmt in formats:
        return depth_pix_fmt
    if depth_pix_fmt == "gray16le":
        raise IGDEError(f"--codec {codec_name}: this encoder cannot store 16-bit depth (gray16le); use ffv1")
    for alt in ("gray", "yuv444p", "yuv420p"):
        if alt in formats:
            return alt
    raise IGDEError(f"--codec {codec_name}: this encoder takes no 8-bit gray or YUV format; use ffv1")


def temp_path(out: Path, pid: int | None = None) -> Path:
    """Hidden name beside ``out`` (same folder, so the final rename is atomic; same suffix for the muxer)."""
    return out.with_name(f".{out.stem}.igde-part-{os.getpid() if pid is None else pid}{out.suffix}")


def _process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # PermissionError: it exists, under another user; or no valid pid
        return False
    return False


def remove_stale_parts(out: str | os.PathLike[str]) -> list[Path]:
    """Remove the partial files of ``out`` (``temp_path`` names) left by processes that are gone.

    Only this output's partial files are considered, and only those whose process no longer exists
    (``os.kill(pid, 0)`` says so); a live process's file, this process's own, or a file we cannot
    remove is left alone. Returns the files removed (each one logged).
    """
    out = Path(out)
    pattern = re.compile(rf"\.{re.escape(out.stem)}\.igde-part-([0-9]+){re.escape(out.suffix)}")
    removed = []
    try:
        names = os.listdir(out.parent)
    except OSError:
        return removed
    for name in names:
        m = pattern.fullmatch(name)
        if m is None:
            continue
        pid = int(m.group(1))
        if pid <= 0 or pid == os.getpid() or not _process_is_gone(pid):
            continue
        path = out.parent / name
        try:
            if not path.is_file() or path.is_symlink():
                continue
            path.unlink()
        except OSError:
            continue
        log.info("removed stale partial file %s (process %d is gone)", path, pid)
        removed.append(path)
    return removed


def _pix_fmt_for(codec: str, dtype: np.dtype, like_fmt: str | None) -> str:
    """The output pixel format for depth samples of ``dtype``: 16-bit stays 16-bit, 8-bit keeps the
    input's 8-bit format (gray or YUV luma) when it has one."""
    if dtype == np.uint16:
        return output_pix_fmt(codec, "gray16le")
    if like_fmt is not None and like_fmt != "gray16le":
        return output_pix_fmt(codec, like_fmt)
    return output_pix_fmt(codec, "gray")


class DepthWriter:
    """Encodes depth frames like those of ``like`` (size, time base, rate, pixel format) into ``out``.

    ``pix_fmt`` is the input's until the first frame; from then on it follows that frame's sample
    type (uint16 -> gray16le), and later frames must have the same type and size. An unknown input
    rate is written as ``FALLBACK_RATE`` (25 fps, what the reader assumes), and said so in the log.
    """

    def __init__(self, out: str | os.PathLike[str], like: VideoInfo, *, codec: str = DEFAULT_CODEC, threads: int = 0):
        self.out = Path(out)
        self.codec = codec
        self.lossless = codec_is_lossless(codec)
        self._like_fmt = like.pix_fmt
        self.pix_fmt = _pix_fmt_for(codec, like.dtype, like.pix_fmt)
        self.time_base = like.time_base
        self.size = (like.width, like.height)
        self.rate = like.effective_rate
        if like.rate is None:
            log.info(
                "%s: the input gives no frame rate; writing at %s fps (1/%s s per frame), as the reader assumes",
                self.out, FALLBACK_RATE, FALLBACK_RATE,
            )
        self.frames = 0
        self.dtype: np.dtype | None = None  # the frames' sample type, fixed by the first frame
        self._last_pts: int | None = None
        remove_stale_parts(self.out)
        self.tmp = temp_path(self.out)
        self._closed = False
        try:
            # Create the file now: a folder we cannot write into fails here, before any work is done.
            with open(self.tmp, "wb"):
                pass
            self.container = av.open(str(self.tmp), "w")
        except ValueError:
            self._remove_tmp()
            raise OutputError(f"no container format for the suffix {self.out.suffix!r} (use .mkv)", self.out) from None
        except (av.error.FFmpegError, OSError) as exc:
            self._remove_tmp()
            raise OutputError(f"cannot write: {getattr(exc, 'strerror', None) or exc}", self.out) from None
        try:
            s = self.container.add_stream(codec, rate=self.rate, options=dict(_CODEC_OPTIONS.get(codec, {})))
            s.width, s.height, s.pix_fmt = like.width, like.height, self.pix_fmt
            s.time_base = like.time_base
            s.codec_context.time_base = like.time_base
            s.thread_count = threads
            if codec == "ffv1":
                s.thread_type = "SLICE"
            self.stream = s
        except BaseException as exc:
            self.abort()
            if isinstance(exc, (av.error.FFmpegError, ValueError)):
                raise OutputError(f"cannot set up the {codec} encoder: {exc}", self.out) from None
            raise

    def write(self, depth: np.ndarray, pts: int | None) -> None:
        """Encode one depth frame (H x W uint8 / uint16) at ``pts`` (input time base; None: frame k
        at ``k x frame_duration``, as the reader places a frame without pts)."""
        self._check(depth)
        frame = self._frame(depth)
        if pts is None:  # rounded half up, like FFmpeg's av_rescale_q
            pts = math.floor(self.frames / self.rate / self.time_base + Fraction(1, 2))
        if self._last_pts is not None and pts <= self._last_pts:
            raise OutputError(
                f"frame {self.frames}: pts {pts} does not come after {self._last_pts} (time base {self.time_base})",
                self.out,
            )
        frame.pts = pts
        frame.time_base = self.time_base
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self._last_pts = pts
        self.frames += 1

    def _check(self, depth: np.ndarray) -> None:
        """Refuse what would be cast or cut: another sample type than the first frame's, a type that is
        not uint8 / uint16, another frame size. The first frame fixes the output's pixel format."""
        w, h = self.size
        if depth.ndim != 2 or depth.shape != (h, w):
            raise OutputError(f"frame {self.frames} is {'x'.join(map(str, depth.shape))}, expected {h}x{w} (H x W)",
                              self.out)
        dtype = depth.dtype
        if self.dtype is None:
            if dtype not in (np.uint8, np.uint16):
                raise OutputError(f"frame {self.frames} has {dtype} samples; depth must be uint8 or uint16", self.out)
            pix_fmt = _pix_fmt_for(self.codec, dtype, self._like_fmt)
            if pix_fmt != self.pix_fmt:
                self.stream.pix_fmt = pix_fmt  # the encoder opens with the first frame: still possible
                self.pix_fmt = pix_fmt
            self.dtype = dtype
        elif dtype != self.dtype:
            raise OutputError(
                f"frame {self.frames} has {dtype} samples but the frames before it were {self.dtype} "
                f"(written as {self.pix_fmt}); the writer never converts depth",
                self.out,
            )

    def _frame(self, depth: np.ndarray) -> av.VideoFrame:
        fmt = self.pix_fmt  # matches depth.dtype (``_check``): no cast happens here
        if fmt in ("gray16le", "gray"):
            return av.VideoFrame.from_ndarray(np.ascontiguousarray(depth), format=fmt)
        if fmt not in YUV8_FORMATS:
            raise IGDEError(f"cannot write depth as {fmt}")
        # Depth in the luma plane, neutral chroma.
        h, w = depth.shape
        frame = av.VideoFrame(w, h, fmt)
        for i, plane in enumerate(frame.planes):
            buf = np.full((plane.height, plane.line_size), 128, np.uint8)
            if i == 0:
                buf[:, :w] = depth
            plane.update(buf.tobytes()[: plane.buffer_size])
        return frame

    def close(self) -> None:
        """Flush the encoder and close the container (the file keeps its temporary name)."""
        if self._closed:
            return
        self._closed = True
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()

    def commit(self) -> Path:
        """Close, then give the file its real name (replacing an existing one)."""
        self.close()
        os.replace(self.tmp, self.out)
        return self.out

    def abort(self) -> None:
        """Close without flushing and remove the temporary file; safe to call at any point."""
        if not self._closed:
            self._closed = True
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - the file is deleted anyway
                pass
        self._remove_tmp()

    def _remove_tmp(self) -> None:
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass


def describe_codec(name: str) -> str:
    """``"ffv1 (lossless)"`` or ``"libx264 (LOSSY)"`` for logs and reports."""
    return f"{name} ({'lossless' if codec_is_lossless(name) else 'LOSSY'})"


__all__ = [
    "DEFAULT_CODEC", "DepthWriter", "codec_is_lossless", "describe_codec", "output_pix_fmt", "remove_stale_parts",
    "temp_path",
]
