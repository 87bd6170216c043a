"""The enhanced depth video: same size, frame count, timestamps, frame rate and bit depth as the input.

Default codec: FFV1 (lossless; level 3, GOP 1, slice CRCs) in whatever container the output's suffix
names (Matroska for ``.mkv``). The file is written under a temporary name in the output's folder and
renamed to its real name only by ``commit``; ``abort`` removes it, so an interrupted or failed run
leaves no half-written output behind (``with DepthWriter(out, info) as w:`` commits when the block
ends and aborts when it raises). A run that was killed outright (SIGKILL, a crash) cannot clean
up: the next writer of the same output removes such partial files once their process is gone
(``partial_output.PartialOutput``: the commit and abort).

The output's bit depth follows the frames' sample type (uint16 -> the input's format of more than 8
bits when the encoder takes it, else gray16le; uint8 -> the input's 8-bit format): sample values are
never narrowed, widened or rescaled, and frames of another type than the first are refused. Frames
without pts are placed at ``k x frame_duration`` like the reader places them. The one exception:
depth read from limited-range YUV luma (``formats.luma_is_limited``) goes back into the limited range,
tagged as such, where it reads back so (Matroska, or a lossy H.264 / HEVC / VP9 / AV1 stream);
elsewhere (FFV1 in MP4, a NUT pipe, images, raw video) it is written as gray of the same bit depth,
full range. Every other output is tagged full range, but for YUV by a lossy encoder where no range tag
survives (MPEG-4 in MP4): that reads back as limited, so it is written limited.

Three other destinations: ``-`` writes a NUT (or ``format=``, e.g. Matroska) stream to stdout, and a
network URL (``tcp://``, ``udp://``, ``srt://``, ``rtmp://``; ``urls``) the same to a receiver:
neither can be renamed or removed (a failed run leaves a cut stream for the reader to refuse); a
pattern such as ``out/%06d.png`` writes images numbered as the depth's (a NumPy clip: the colour's),
else from 0 (16-bit PNG / TIFF for depth above 8 bits, 8-bit for 8-bit depth) into a temporary folder
that ``commit`` renames to ``out`` (see ``imageseq``). A ``.pfm`` / ``.exr`` pattern writes float depth
(grayf32le): the 16-bit codes mapped back by the run's ``floatdepth.FloatMap`` (float depth in only).
"""

from __future__ import annotations

import logging
import math
import os
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import IGDEError, OutputError
from ..signals import stdout_gone
from .aspect import AspectTag
from .codecs import (CODEC_OPTIONS, codec_is_lossless, describe_codec, full_range_only, muxer_options,
                     output_pix_fmt, pix_fmt_for, range_lost, reads_back_limited)
from .containers import (MAX_DECODE_LEAD, MOV_MODES, OutputPts, container_problem, format_error, keep_start, mp4_rate_note,
                         mux, output_time_base, raw_problem, set_time_base, size_problem, start_shift, subsampled)
from .floatdepth import FloatMap
from .formats import bits_of, depth_frame, float_frame, full_to_luma, gray_like, is_yuv_format, native_samples, output_like
from .imageseq import (FLOAT_CODECS, check_float_output, check_one_frame, check_sequence_output, is_pattern,
                       is_single_image, numbers_of, one_image_error, sequence_codec)
from .info import FALLBACK_RATE, VideoInfo
from .partial_output import PartialOutput
from .parts import ffmpeg_name, remove_stale_parts, temp_path
from .timecode import move_timecode, set_timecode
from .urls import open_output, stream_url, write_error

log = logging.getLogger("igde_stream.stream")

DEFAULT_CODEC = "ffv1"
# FFmpeg's bitexact mode: no random Matroska segment / track UIDs and no encoder version string, so
# the same frames give the same file, byte for byte (``igde-stream batch`` is checked against this)
BITEXACT = {"fflags": "+bitexact"}
#: lossless depth in QuickTime, where FFmpeg writes no FFV1: read back exactly, 8 to 16 bits
MOV_LOSSLESS = "png, tiff or dpx (lossless gray) in .mov"


class DepthWriter(PartialOutput):
    """Encodes depth frames like those of ``like`` (size, time base, rate, pixel format) into ``out``.

    ``pix_fmt`` is the input's until the first frame; from then on it follows that frame's sample
    type (uint16 -> gray16le), and later frames must have the same type and size. An unknown input
    rate is written as ``FALLBACK_RATE`` (25 fps, what the reader assumes), and said so in the log.
    ``float_map``: the run's map of float depth; a ``.pfm`` / ``.exr`` pattern needs it and writes the
    (uint16) frames through its ``decode`` as grayf32le. ``sar``: the pixels' width : height (``aspect``).
    ``numbered_like``: an image sequence (the colour's, beside a NumPy clip, paired frame for frame) whose
    numbers an image pattern takes where the depth's frames carry none.
    """

    def __init__(self, out: str | os.PathLike[str], like: VideoInfo, *, codec: str = DEFAULT_CODEC, threads: int = 0,
                 format: str | None = None, overwrite: bool = True, float_map: FloatMap | None = None, sar: Fraction | int = 1,
                 numbered_like: VideoInfo | None = None):
        #: the path renamed to ``final`` by ``commit`` (a file, or a folder of images); None for stdout
        self.tmp: Path | None = None
        self._closed = self._committed = self.abandoned = False
        try:
            self._set_up(out, like, codec, threads, format, overwrite, float_map, sar, numbered_like)
        except BaseException:  # an error, or Ctrl-C / SIGTERM (a batch worker's SystemExit) while setting up:
            self.abort()       # the partial file made so far goes; the caller has no handle to remove it
            raise

    def _set_up(self, out: str | os.PathLike[str], like: VideoInfo, codec: str, threads: int, format: str | None,
                overwrite: bool, float_map: FloatMap | None, sar: Fraction | int,
                numbered_like: VideoInfo | None) -> None:
        self.to_stdout = os.fspath(out) == "-"
        self.url = stream_url(out)  # a network output (urls.StreamURL: a URL string), or None
        self.sequence = is_pattern(out) and self.url is None
        # one image (depth.png): the depth of one photograph, written as a sequence's frame is
        self.single = not self.sequence and not self.to_stdout and self.url is None and is_single_image(out)
        self.out = self.url or Path(out)
        if self.sequence and self.out.parent.is_symlink():  # the frames go where the link points; it stays
            self.out = Path(os.path.realpath(self.out.parent)) / self.out.name
        if self.sequence or self.single:
            if self.sequence:
                check_sequence_output(self.out, overwrite)
            else:
                check_one_frame(self.out, like.expected_frames)
            if codec not in (DEFAULT_CODEC, sequence_codec(self.out)):
                log.info("%s: an image %s; --codec %s does not apply (the suffix picks the format)", out,
                         "sequence" if self.sequence else "output", codec)
            codec = sequence_codec(self.out)
        self.float_map = float_map if codec in FLOAT_CODECS else None  # float out; else the 16-bit codes
        check_float_output(self.out, codec, like.pix_fmt, float_map)
        self.codec, self.threads = codec, threads  # threads: the encoder's (--threads; 0: FFmpeg's choice)
        self.lossless = codec_is_lossless(codec)
        self._like_fmt = output_like(like.pix_fmt)  # float codes, RGB-saved gray: plain gray out
        self.pix_fmt = "grayf32le" if self.float_map else pix_fmt_for(codec, like.dtype, self._like_fmt)
        self._limited = like.limited  # the input's YUV luma was limited range: the output's is too
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
        self._muxed = False  # a packet went to the muxer
        self._spans: list[int | None] = [None, None, None]  # the first frame's pts, the first and the last dts
        self.final = self.out.parent if self.sequence else self.out
        try:
            if self.to_stdout:
                if sys.stdout.isatty():
                    raise OutputError("stdout is a terminal: pipe -o - into a program (... | ffmpeg -f nut -i - ...) "
                                      "or a file", "-")
                self.container = av.open(sys.stdout.buffer, "w", format=format or "nut", options=BITEXACT)
            elif self.url is not None:
                self.container = open_output(self.url, format, codec, BITEXACT)
            elif self.sequence:
                remove_stale_parts(self.final)
                self.tmp = temp_path(self.final)
                os.mkdir(self.tmp)
                # numbered as the depth's own images where they carry numbers (depth/00003.png -> 00003.png),
                # else as the colour's (plate.1001.png beside a NumPy clip -> 1001), else from 0
                self.first_number = next((n for n in map(numbers_of, (like, numbered_like)) if n is not None), 0)
                self.container = av.open(ffmpeg_name(self.tmp / self.out.name), "w", format="image2",
                                         options={"start_number": str(self.first_number)})
            else:
                remove_stale_parts(self.out)
                self.tmp = temp_path(self.out)
                # Create the file now: a folder we cannot write into fails here, before any work is done.
                with open(self.tmp, "wb"):
                    pass
                self.container = av.open(ffmpeg_name(self.tmp), "w", format="image2" if self.single else format,
                                         options={"update": "1"} if self.single else BITEXACT)
        except ValueError:
            self._remove_tmp()
            raise format_error(format, self.out) from None
        except (av.error.FFmpegError, OSError) as exc:
            self._remove_tmp()
            raise OutputError(f"cannot write: {getattr(exc, 'strerror', None) or exc}", self.out) from None
        muxer = self.container.format.name
        if not self.sequence:  # numbered images keep none
            set_timecode(self.container, like.timecode, self.rate, self.out)
        why = container_problem(muxer, codec, self.out, self.container.supported_codecs, bits_of(self.pix_fmt))
        if self._limited and is_yuv_format(self.pix_fmt) and full_range_only(codec):  # MJPEG: limited refused
            log.info("%s: %s takes only full-range YUV; the depth is written as full-range %s", self.out, codec,
                     self.pix_fmt)
            self._limited = False
        if is_yuv_format(self.pix_fmt) and reads_back_limited(muxer, codec):
            if not self._limited:  # full-range YUV would read back stretched: write the range it reads as
                log.info("%s: %s in %s keeps no range tag and reads back as limited range; the depth is written "
                         "as limited-range %s", self.out, codec, muxer, self.pix_fmt)
            self._limited = True
        elif is_yuv_format(self.pix_fmt) and range_lost(muxer, codec):  # else FFmpeg reads it as limited
            self._to_gray(codec, like, "cannot carry a limited-range tag" if self._limited else "keeps no range tag")
        if why is None and subsampled(self.pix_fmt) and size_problem(codec, self.pix_fmt, like.width, like.height):
            # an odd size 4:2:0 cannot hold: gray says the same values (depth's chroma is neutral)
            self._to_gray(codec, like, f"{self.pix_fmt} cannot hold {like.width}x{like.height} frames")
        why = why or size_problem(codec, self.pix_fmt, like.width, like.height) or raw_problem(
            muxer, codec, self.pix_fmt, self.out)
        if why:  # these would fail at the first frame, after the model's work, or never (FFV1 in a .ts)
            self.abort()
            raise OutputError(why, self.out)
        try:  # AVI and YUV4MPEG read the time base as the frame rate, MPEG-2 codes no other: frame slots there
            self._out_tb = output_time_base(muxer, codec, like.time_base, self.rate, like.width, like.height,
                                            self.pix_fmt, not (self._limited and is_yuv_format(self.pix_fmt)),
                                            CODEC_OPTIONS.get(codec))
        except ValueError as exc:
            self.abort()
            raise OutputError(f"cannot set up the {codec} encoder: {exc}", self.out) from None
        try:
            self.container.options.update(muxer_options(muxer, self.pix_fmt))  # before the header is written
            s = self.container.add_stream(codec, rate=self.rate, options=dict(CODEC_OPTIONS.get(codec, {})))
            s.width, s.height, s.pix_fmt = like.width, like.height, self.pix_fmt
            self._tag = AspectTag(s, sar, self.out)  # non-square pixels: the input grid's sample aspect ratio (aspect)
            self._out_tb = set_time_base(s, muxer, self.rate, self._out_tb)  # AVI: no B-frames; MP4: the frame grid
            self._pts = OutputPts(muxer, self._out_tb, self.time_base, self.rate)
            s.thread_count = threads
            if codec == "ffv1":
                s.thread_type = "SLICE"
            self.stream = s
        except BaseException as exc:
            self.abort()
            if isinstance(exc, (av.error.FFmpegError, ValueError)):
                other = MOV_LOSSLESS if muxer in MOV_MODES else "with one this container takes"
                hint = "" if "not support" not in str(exc) else (
                    f"; use .mkv or .nut, or --codec {other}" if codec == "ffv1"
                    else f"; use --codec ffv1 (the default, in .mkv or .nut), or a container that takes {codec}")
                raise OutputError(f"cannot set up the {codec} encoder: {exc}{hint}", self.out) from None
            raise

    def _to_gray(self, codec: str, like: VideoInfo, why: str) -> None:
        """Write full-range gray instead of the input's YUV format (depth's chroma is neutral: the same values)."""
        self._limited = False
        self._like_fmt = gray_like(self.pix_fmt)
        self.pix_fmt = pix_fmt_for(codec, like.dtype, self._like_fmt)
        log.info("%s: %s; the depth is written as %s (full range)", self.out, why, self.pix_fmt)

    def starts_at(self, index: int) -> None:
        """The first frame written is the input's frame ``index`` (``--start``): an image pattern numbers
        it ``first_number + index``, as the input's images are, and a video's timecode is that frame's.
        Before the first frame only (the muxer reads both when it writes its header, at that frame)."""
        if not index or self.frames:
            return
        if self.sequence:
            self.first_number += index
            self.container.options["start_number"] = str(self.first_number)
        else:
            move_timecode(self.container, index, self.rate)

    def write(self, depth: np.ndarray, pts: int | None, inp: np.ndarray | None = None,
              values: np.ndarray | None = None) -> None:
        """Encode one depth frame (H x W uint8 / uint16) at ``pts`` (input time base; None: frame k
        at ``k x frame_duration``, as the reader places a frame without pts). A float output with the
        input's codes ``inp`` and float ``values`` as read writes the values the model left alone as read."""
        if self._closed:  # committed or aborted: FFmpeg would say "End of file"
            raise OutputError(f"cannot write frame {self.frames}: the writer is closed", self.out)
        if self.single and self.frames:
            raise one_image_error(self.out, "more than one frame")
        self._check(depth := native_samples(depth))  # a big-endian uint16 frame is uint16, a CPU tensor its array
        frame = self._tag(self._frame(depth, inp, values))
        if pts is None:  # rounded half up, like FFmpeg's av_rescale_q
            pts = math.floor(self.frames / self.rate / self.time_base + Fraction(1, 2))
        if self.frames == 0 and (said := self._pts.start_note(pts, self.out.suffix, self.codec)):
            log.warning("%s: %s", self.out, said)
        pts = self._pts(pts)
        if self._last_pts is not None and pts <= self._last_pts:
            slotted = self.out.suffix if self._pts.from_first else f"--codec {self.codec}"
            slots = "" if not self._pts.in_slots else (
                f" (frame slots of {slotted} at {self.rate} fps: a variable-rate input needs .mkv or .mp4 and "
                "a codec such as ffv1 or libx264)")
            raise OutputError(
                f"frame {self.frames}: pts {pts} does not come after {self._last_pts} (time base {self._out_tb}){slots}",
                self.out,
            )
        frame.pts = pts
        frame.time_base = self._out_tb
        self._spans[0] = pts if self._spans[0] is None else self._spans[0]
        if self.frames == 0 and (said := keep_start(self.container, self.stream, pts * self._out_tb, self.rate)):
            log.info("%s: %s", self.out, said)
        try:
            for packet in self.stream.encode(frame):
                self._mux(packet)
        except (av.error.FFmpegError, OSError) as exc:  # a muxer that refuses what add_stream took, a full disk
            raise self._write_error(f"cannot write frame {self.frames}", exc) from None
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
            if dtype not in (np.uint8, np.uint16) or (self.float_map and dtype != np.uint16):
                raise OutputError(f"frame {self.frames} has {dtype} samples; depth must be uint8 or uint16 "
                                  "(uint16 codes for float output)", self.out)
            pix_fmt = self.pix_fmt if self.float_map else pix_fmt_for(self.codec, dtype, self._like_fmt)
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

    def _frame(self, depth: np.ndarray, inp: np.ndarray | None = None,
               values: np.ndarray | None = None) -> av.VideoFrame:
        if self.float_map is not None:
            return float_frame(as_read(self.float_map, depth, inp, values))
        limited = self._limited and is_yuv_format(self.pix_fmt)
        if limited:  # full-range values back into limited-range luma (exact for values read from it)
            depth = full_to_luma(depth, bits_of(self.pix_fmt))
        try:  # self.pix_fmt matches depth.dtype (``_check``): no cast happens here
            frame = depth_frame(depth, self.pix_fmt)
        except ValueError as exc:
            raise IGDEError(str(exc)) from None
        # tagged, so that a reader (this one too) knows the range: 1 MPEG (limited), 2 JPEG (full); gray
        # too, since an encoder may store it as YUV (x264's 4:0:0 decodes as yuv420p)
        frame.color_range = 1 if limited else 2
        if self.frames == 0:
            self.stream.codec_context.color_range = frame.color_range
        return frame

    def close(self) -> None:
        """Flush the encoder and close the container (the file keeps its temporary name)."""
        if self._closed:
            return
        self._closed = True
        try:
            for packet in self.stream.encode(None):
                self._mux(packet)
            if None not in self._spans and self._last_pts is not None and (said := mp4_rate_note(
                    self.container.format.name, self.frames, (self._spans[2] - self._spans[1]) * self._out_tb,
                    (self._last_pts - self._spans[0]) * self._out_tb, self.rate)):
                log.warning("%s: %s", self.out, said)
            self.container.close()
        except (av.error.FFmpegError, OSError) as exc:  # the last packets and the index: a full disk, a closed pipe
            raise self._write_error("cannot finish the file", exc) from None

    def _mux(self, packet: Any) -> None:
        """``mux``; the first packet's decode time says whether the muxer moves the stream later (a
        warning: the output would not start where the input does)."""
        if not self._muxed and (shift := start_shift(self.container.format.name, packet.dts, packet.time_base)):
            log.warning("%s: %s stores no decode time before 0: every frame is written %.3f s later than the "
                        "input's (the encoder's reordering delay); use .mkv, .mp4 or .nut to keep the times",
                        self.out, self.container.format.name, float(shift))
        self._muxed = True
        self._spans[1] = packet.dts if self._spans[1] is None else self._spans[1]
        self._spans[2] = packet.dts
        mux(self.container, packet)

    def _write_error(self, what: str, exc: BaseException) -> OutputError:
        """One line for a failed write: the reader of stdout gone (``... | head``), or the OS's reason."""
        if self.to_stdout and isinstance(exc, BrokenPipeError):
            stdout_gone()
            return OutputError(f"the reader of the pipe closed it after {self.frames} frames had been sent into it",
                               self.out)  # sent, not read: a reader that stopped early left the rest in the pipe
        if self.url is not None and (said := write_error(self.url, self.frames, exc)) is not None:
            return said  # refused (FFmpeg connects at the first frame), timed out, the receiver gone
        reason = getattr(exc, "strerror", None) or exc
        return OutputError(f"{what}: {reason}", self.out)



def as_read(fmap: FloatMap, codes: np.ndarray, inp: np.ndarray | None, values: np.ndarray | None) -> np.ndarray:
    """The float output of enhanced ``codes``: the map's inverse, except where the model left the input's
    code (``inp``) alone on a value inside the range, which is written as read (``values``), bit for bit
    (the inverse puts it within half a code step); holes, clipped values and a background as before."""
    out = fmap.decode(codes)
    if inp is None or values is None or values.shape != codes.shape:
        return out
    v = np.asarray(values, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        keep = (codes == inp) & (inp != 0) & np.isfinite(v) & (v >= fmap.lo) & (v <= fmap.hi)
    if fmap.background is not None:
        keep &= v != fmap.background
    return np.where(keep, v, out)

__all__ = [
    "DEFAULT_CODEC", "DepthWriter", "codec_is_lossless", "describe_codec", "output_pix_fmt", "remove_stale_parts",
    "temp_path", "MAX_DECODE_LEAD", "mux",  # in containers; named here as before
]
