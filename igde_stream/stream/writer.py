"""The enhanced depth video: same size, frame count, timestamps, frame rate and bit depth as the input.

Default codec: FFV1 (lossless; level 3, GOP 1, slice CRCs) in whatever container the output's suffix
names (Matroska for ``.mkv``). The file is written under a temporary name in the output's folder and
renamed to its real name only by ``commit``; ``abort`` removes it, so an interrupted or failed run
leaves no half-written output behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np

from ..errors import IGDEError, OutputError
from .reader import YUV8_FORMATS, VideoInfo

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


def temp_path(out: Path) -> Path:
    """Hidden name beside ``out`` (same folder, so the final rename is atomic; same suffix for the muxer)."""
    return out.with_name(f".{out.stem}.igde-part-{os.getpid()}{out.suffix}")


class DepthWriter:
    """Encodes depth frames like those of ``like`` (size, time base, rate, pixel format) into ``out``."""

    def __init__(self, out: str | os.PathLike[str], like: VideoInfo, *, codec: str = DEFAULT_CODEC, threads: int = 0):
        self.out = Path(out)
        self.codec = codec
        self.lossless = codec_is_lossless(codec)
        self.pix_fmt = output_pix_fmt(codec, like.pix_fmt or "gray")
        self.time_base = like.time_base
        self.frames = 0
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
            s = self.container.add_stream(codec, rate=like.rate, options=dict(_CODEC_OPTIONS.get(codec, {})))
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
        """Encode one depth frame (H x W uint8 / uint16) at ``pts`` (input time base; None: frame count)."""
        frame = self._frame(depth)
        frame.pts = self.frames if pts is None else pts
        frame.time_base = self.time_base
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def _frame(self, depth: np.ndarray) -> av.VideoFrame:
        fmt = self.pix_fmt
        if fmt == "gray16le":
            return av.VideoFrame.from_ndarray(np.ascontiguousarray(depth, np.uint16), format=fmt)
        if fmt == "gray":
            return av.VideoFrame.from_ndarray(np.ascontiguousarray(depth, np.uint8), format=fmt)
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


__all__ = ["DEFAULT_CODEC", "DepthWriter", "codec_is_lossless", "describe_codec", "output_pix_fmt", "temp_path"]
