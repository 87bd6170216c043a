"""The views' video writers: ``ColorWriter`` (RGB frames of a display layout, ``VIEW_CODECS``) and
``RGBDWriter`` (colour | 8-bit depth, ``display.rgbd_frame``), each under a temporary name renamed by
``commit()`` (once) or removed by ``abort()``; ``RGBDWriter`` also works as a ``with`` block, like
``DepthWriter``. Re-exported by ``igde_stream.stream.views``."""

from __future__ import annotations

import logging
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .. import display
from ..depth_order import NEAR_RATIO, near_limit
from ..errors import OutputError
from .aspect import AspectTag
from .audio import AudioSpec, AudioTrack, carries_audio
from .containers import OutputPts, ffmpeg_size_problem, keep_start, set_time_base, size_problem
from .imageseq import check_one_frame
from .levels import SMALLER_INPUT, level_note
from .st3d import MUXERS as ST3D_MUXERS, add_st3d
from .streams import BT2020_PRIMARIES, HDR_TRANSFERS
from .timecode import move_timecode, set_timecode
from .writer import BITEXACT, ffmpeg_name, mux, remove_stale_parts, temp_path

__all__ = ["SDR", "VIEW_CODECS", "ColorWriter", "RGBDWriter", "colour_tags", "level_note", "SMALLER_INPUT"]

log = logging.getLogger("igde_stream.stream")

VIEW_CODECS = {  # name -> (encoder, pix_fmt, options)
    "ffv1": ("ffv1", "bgr0", {"level": "3", "g": "1", "slicecrc": "1"}),  # FFV1 has no 8-bit gbrp
    "h264": ("libx264", "yuv420p", {"crf": "16", "preset": "medium"}),
    "hevc": ("libx265", "yuv420p", {"crf": "18", "preset": "medium", "x265-params": "log-level=error"}),
}
# YUV outputs are converted with the BT.709 matrix and say so (matrix, primaries, transfer: 1 =
# BT.709; range 1 = limited): a player that meets an untagged HD stream assumes BT.709, and one that
# meets an untagged SD stream BT.601, so an untagged file shows one of the two with wrong colours
BT709, LIMITED = 1, 1
SDR = (BT709, BT709)  # the colour primaries and transfer of views of SDR colour (AVColorPrimaries, AVColorTransfer...)
_NAMES = {"h264": "H.264", "hevc": "HEVC"}
H264_MAX_MACROBLOCKS = 139_264  # a frame's limit at H.264's highest levels (6-6.2), e.g. 8192x4320
H264_MAX_SIDE = 16_384  # x264 refuses a wider or taller frame (avcodec_open2 fails)
HEVC_MIN_WIDTH = 64  # libx265.so.216 (PyAV 18.1 wheels) crashes with glibc heap corruption at widths 34-48


def _check_size(codec: str, w: int, h: int, path: Path) -> None:
    """``OutputError`` for a frame FFmpeg cannot hold at all (over about 268 million pixels, e.g. a
    grid of 8 views of an 8K frame), 4:2:0 cannot (odd sizes) or H.264 cannot (over its largest
    level's frame size: decoders refuse such streams, e.g. an 8192x8192 quilt; or a side over x264's
    16384), or HEVC narrower than ``HEVC_MIN_WIDTH``."""
    if (why := ffmpeg_size_problem(w, h)) is not None:
        raise OutputError(f"{why}; render fewer views, or one file a view (--layout views)", path)
    if (why := size_problem(_NAMES.get(codec, codec), VIEW_CODECS[codec][1], w, h)) is not None:
        raise OutputError(why + (" (views render --codec ffv1; --views-codec ffv1 with --views-out / --rgbd-out)"
                                 if why.endswith("ffv1 codec") else ""), path)
    if codec == "hevc" and w < HEVC_MIN_WIDTH:
        raise OutputError(f"{w}x{h} is narrower than HEVC views take here ({HEVC_MIN_WIDTH} px, one coding block: "
                          "libx265 as PyAV bundles it aborts the process on 4:2:0 frames 34-48 px wide); use the "
                          "h264 or ffv1 codec", path)
    mbs = -(-w // 16) * -(-h // 16)
    if codec == "h264" and (mbs > H264_MAX_MACROBLOCKS or max(w, h) > H264_MAX_SIDE):
        raise OutputError(f"{w}x{h} is beyond H.264 ({mbs:,} macroblocks a frame, its highest level holds "
                          f"{H264_MAX_MACROBLOCKS:,}; x264 codes sides up to {H264_MAX_SIDE}); use the hevc or "
                          "ffv1 codec", path)


def colour_tags(color: Any) -> tuple[int, int]:
    """(colour primaries, transfer) of the views of a colour input (``color``: its ``VideoReader``):
    ``SDR``, or where the colour is HDR (PQ, HLG) its own (primaries it does not say: BT.2020's, which
    PQ and HLG are defined with, BT.2100). The views hold its coded values, converted to
    RGB with its own matrix, so its primaries and transfer still say what they mean: a player that
    reads them shows the views as it shows the colour (docs/formats.md, "HDR colour")."""
    cc = getattr(getattr(color, "stream", None), "codec_context", None)  # NumPy arrays: none
    if cc is None or cc.color_trc not in HDR_TRANSFERS:
        return SDR
    # untagged primaries (FFmpeg's 2, "unspecified"; 0 and 3 are reserved): PQ and HLG are BT.2100's, BT.2020's
    return (BT2020_PRIMARIES if cc.color_primaries in (0, 2, 3) else cc.color_primaries, cc.color_trc)


class ColorWriter:
    """RGB video writer (``VIEW_CODECS``): temporary name, renamed by ``commit()``; ``abort()``
    removes it. Frames keep the input's pts and time base; the first frame fixes the size (a frame of
    another size is an ``OutputError``: the encoder would rescale it). ``stereo_mode`` (a layout's,
    ``display.STEREO_MODES``): the file says how the frames pack a stereo pair, as players read it:
    Matroska's StereoMode, in MP4 / MOV the ``st3d`` box (``st3d.add_st3d``, any codec), and in
    H.264 (any container) the frame-packing arrangement SEI.

    A ``.png`` name without ``%`` is one picture (a quilt, a stereo pair or a grid of one
    photograph's views), whatever ``codec``: PNG, lossless, for an input of one frame; ``frames``
    (the input's count, when known) over 1 is refused at opening, a second frame when written.
    ``sar``: the width : height of the frames' pixels, said in the file (``aspect.AspectTag``);
    ``tags``: the colour primaries and transfer said (``colour_tags``; the matrix is BT.709's);
    ``level_fix``: the advice of ``level_note`` for frames over level 5.x (``Layout.level_fix``), by size
    and by ``rate``. ``audio``: the colour file whose sound a video file (.mkv, .mp4, .mov) carries over
    the frames written (``audio.AudioTrack``)."""

    def __init__(self, path: str | Path, codec: str, rate: Fraction, time_base: Fraction, threads: int = 0,
                 stereo_mode: str | None = None, size: tuple[int, int] | None = None,
                 frames: int | None = None, timecode: str | None = None, sar: Fraction | int = 1,
                 tags: tuple[int, int] = SDR, level_fix: str = SMALLER_INPUT, audio: AudioSpec | None = None) -> None:
        import av

        if codec not in VIEW_CODECS:
            raise OutputError(f"unknown codec {codec!r}; known: {', '.join(sorted(VIEW_CODECS))}", path)
        self.image = "%" not in Path(path).name and Path(path).suffix.lower() == ".png"
        if self.image:
            # views are written as video (or one picture), not as image patterns: advise only what works
            check_one_frame(Path(path), frames, f"a video ({Path(path).with_suffix('.mkv').name}: .mkv or .mp4)")
            if size is not None and (why := ffmpeg_size_problem(*size)) is not None:
                raise OutputError(why, path)
        elif size is not None:  # the layout's frame size, known up front: a size no encoder takes, before any work
            _check_size(codec, *size, Path(path))
        if stereo_mode is not None and stereo_mode not in display.STEREO_MODES:
            raise OutputError(f"unknown stereo mode {stereo_mode!r}; known: {', '.join(display.STEREO_MODES)}", path)
        self._level_said, self.level_fix = False, level_fix
        if size is not None and not self.image and (note := level_note(codec, *size, level_fix, rate)):
            log.warning("%s: %s", path, note)
            self._level_said = True
        self.path = Path(path)
        self.closed = ""  # "finished", "committed" or "aborted" once it is
        remove_stale_parts(self.path)  # a killed run's partial file of this output
        self.tmp = temp_path(self.path)
        self.codec, self.rate, self.time_base, self.threads = codec, rate, time_base, threads
        self.stereo_mode, self.sar, self.tags = stereo_mode, sar, tags  # tags: colour_tags
        self._says_tags = False  # the frames carry ``tags`` (set with the stream; PNG: never)
        try:
            self.container = av.open(ffmpeg_name(self.tmp), "w", format="image2" if self.image else None,
                                     options={"update": "1"} if self.image else BITEXACT)
        except (OSError, ValueError, av.FFmpegError) as exc:
            self.tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write ({getattr(exc, 'strerror', None) or exc}); use .mkv or .mp4",
                              self.path) from None
        if not self.image and VIEW_CODECS[codec][0] not in getattr(self.container, "supported_codecs",
                                                                   (VIEW_CODECS[codec][0],)):
            self.abort()  # e.g. an image pattern (image2), .jpg, .gif: views are written as video or one .png
            raise OutputError(f"cannot hold {codec} video (format {self.container.format.name}); use .mkv or .mp4, "
                              "or one .png for a single frame", self.path)
        if not self.image:
            set_timecode(self.container, timecode, rate, self.path)  # the depth's (or colour's) first frame's
        self.stream = None
        self.audio_spec = audio if audio is not None and not self.image and carries_audio(self.path) else None
        self.audio: AudioTrack | None = None
        self._end: Fraction | None = None  # the last frame's end (output seconds)
        self.size: tuple[int, int] | None = None  # (W, H), fixed by the first frame
        self.expected = None if size is None else tuple(size)
        self.frames = 0

    def starts_at(self, index: int) -> None:
        """The first frame is the input's frame ``index`` (``--start``): the timecode is that frame's."""
        if not self.image and not self.frames:
            move_timecode(self.container, index, self.rate)

    def write(self, img: np.ndarray, pts: int | None) -> None:
        import av

        if self.closed:  # PyAV would fail on the closed file with a bare AssertionError
            raise OutputError(f"cannot write frame {self.frames}: the writer is closed ({self.closed})", self.path)
        h, w = img.shape[:2]
        if self.image and self.frames:
            raise OutputError("one picture, of an input of more than one frame: write a video (.mkv, .mp4)", self.path)
        if self.size is not None and (w, h) != self.size:
            raise OutputError(f"frame {self.frames} is {w}x{h}, the frames before it {self.size[0]}x{self.size[1]} "
                              "(a video keeps one frame size)", self.path)
        if self.expected is not None and (w, h) != self.expected:
            raise OutputError(f"frame {self.frames} is {w}x{h}, not the {self.expected[0]}x{self.expected[1]} "
                              "the writer was opened for", self.path)
        if self.stream is None and self.image:
            if (why := ffmpeg_size_problem(w, h)) is not None:
                raise OutputError(why, self.path)
            self.stream = self.container.add_stream("png", rate=self.rate)
            self.stream.width, self.stream.height, self.stream.pix_fmt = w, h, "rgb24"
            self._tag = AspectTag(self.stream, self.sar, self.path)  # PNG: its pHYs chunk
            self.size, self._out_tb = (w, h), Fraction(self.time_base)
            self.stream.time_base = self._out_tb
            self._pts = lambda pts: pts
        if self.stream is None:
            enc, pix, opts = VIEW_CODECS[self.codec]
            _check_size(self.codec, w, h, self.path)  # before the encoder: FFmpeg's own errors say less
            if not self._level_said and (note := level_note(self.codec, w, h, self.level_fix, self.rate)):
                log.warning("%s: %s", self.path, note)
            self.stream = self.container.add_stream(enc, rate=self.rate)
            self.stream.width, self.stream.height, self.stream.pix_fmt = w, h, pix
            self.size = (w, h)
            self.stream.thread_count = self.threads  # --threads (0: FFmpeg's choice), as the depth writer
            if enc == "ffv1":
                self.stream.thread_type = "SLICE"
            # input pts kept exactly, but in frame slots, without B-frames, where the muxer reads the time base
            # as the frame rate (AVI)
            self._out_tb = set_time_base(self.stream, self.container.format.name, self.rate, self.time_base)
            self._pts = OutputPts(self.container.format.name, self._out_tb, self.time_base, self.rate)
            cc = self.stream.codec_context
            if pix == "yuv420p":
                cc.colorspace, cc.color_range = BT709, LIMITED
            self._says_tags = pix == "yuv420p" or self.tags != SDR  # RGB (FFV1): HDR colour's primaries, transfer
            if self._says_tags:
                cc.color_primaries, cc.color_trc = self.tags
            self.stream.options = self._stereo(opts)
            self._tag = AspectTag(self.stream, self.sar, self.path)  # after the stereo mode, which it reads
            if enc == "libx265" and self.container.format.name.startswith(("mov", "mp4")):
                cc.codec_tag = "hvc1"  # parameter sets in the sample entry: what QuickTime and Apple players take
            if self.audio_spec is not None:  # its streams before the header, which the first packet writes
                self.audio = AudioTrack(self.audio_spec, self.container, self.path)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
        if self.stream.pix_fmt == "yuv420p":
            frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709")
            frame.colorspace, frame.color_range = BT709, LIMITED
        if self._says_tags:
            frame.color_primaries, frame.color_trc = self.tags
        frame = self._tag(frame)
        if pts is None:  # frame k at k / rate, rounded half up as the depth writer places it
            pts = math.floor(self.frames / Fraction(self.rate) / Fraction(self.time_base) + Fraction(1, 2))
        frame.pts, frame.time_base = self._pts(pts), self._out_tb
        if self.frames == 0 and (said := keep_start(self.container, self.stream, frame.pts * self._out_tb, self.rate)):
            log.info("%s: %s", self.path, said)
        if self.audio is not None and self.frames == 0:
            self.audio.begin(frame.pts * self._out_tb)
        try:
            for packet in self.stream.encode(frame):
                mux(self.container, packet)
            self._end = frame.pts * self._out_tb + 1 / Fraction(self.rate)
            if self.audio is not None:  # the sound up to this frame's end, interleaved by the muxer
                self.audio.feed(self._end)
        except av.FFmpegError as exc:
            raise OutputError(f"encoding failed ({exc})", self.path) from None
        self.frames += 1

    def _stereo(self, opts: dict[str, str]) -> dict[str, str]:
        """Say ``stereo_mode``: the Matroska StereoMode (FFmpeg's muxer writes it from the stream's
        ``stereo_mode`` tag) and, for libx264, the frame-packing SEI; the encoder options to use."""
        if self.stereo_mode is None:
            return opts
        if self.container.format.name.startswith("matroska"):
            self.stream.metadata["stereo_mode"] = self.stereo_mode
        packing = display.STEREO_MODES[self.stereo_mode][1]
        if packing is not None and VIEW_CODECS[self.codec][0] == "libx264":
            opts = {**opts, "x264-params": f"frame-packing={packing}"}
        return opts

    def finish(self) -> None:
        """Flush the encoder and close the file, which keeps its temporary name (``tmp``): for a
        caller that renames several outputs together (the one-pass pipeline)."""
        self.closed = self.closed or "finished"
        wrote = self.stream is not None and not self.image
        if self.stream is not None:
            for packet in self.stream.encode(None):
                mux(self.container, packet)
            self.stream = None
        if self.audio is not None:
            audio, self.audio = self.audio, None
            if self._end is not None:
                audio.finish(self._end)
            else:
                audio.close()
        self.container.close()
        if wrote and self.stereo_mode is not None and self.container.format.name.split(",")[0] in ST3D_MUXERS:
            add_st3d(self.tmp, self.stereo_mode, self.path)  # what PyAV cannot have FFmpeg's muxer write

    def commit(self) -> None:
        """Finish, then give the file its name; once (again: nothing), as ``DepthWriter.commit``."""
        if self.closed == "committed":
            return
        if self.closed == "aborted":
            raise OutputError("the writer was aborted: nothing to commit", self.path)
        self.finish()
        if not self.frames:  # the muxer never wrote a header: no file to rename
            self.abort()
            raise OutputError("no frame was written: nothing to commit", self.path)
        self.tmp.replace(self.path)
        self.closed = "committed"

    def abort(self) -> None:
        if self.closed == "committed":  # the file is in place: keep it
            return
        self.closed = "aborted"
        try:
            if self.audio is not None:
                self.audio.close()
            self.container.close()
        except Exception:  # noqa: BLE001 - the file is deleted anyway
            pass
        finally:
            try:
                self.tmp.unlink(missing_ok=True)
            except OSError:  # a name the file system refused was never created
                pass


def _say_rescaled(path: str | Path, depth: np.ndarray, max_depth: float | None, order: str = "near-high") -> bool:
    peak = max_depth or (65535 if depth.dtype == np.uint16 else 1.0)
    how = (f"depth {peak:g} -> 255" if order == "near-high" else
           f"far-high: 255 x min(1, {near_limit(peak):g} / distance), {peak:g} -> {round(255 / NEAR_RATIO)}, 0 stays 0")
    log.info(f"{path}: {depth.dtype} depth rescaled to 8 bits for the RGB-D layout ({how})")
    return True


class RGBDWriter:
    """RGB-D video (``display.rgbd_frame``: colour | 8-bit depth, near white or black) through a
    ``ColorWriter``; what a one-pass enhance -> RGB-D output calls per frame: ``write(color,
    depth_out, pts)``, then ``close()`` (here the same as ``commit()``: the file takes its name, once)
    or ``abort()``; or, like ``DepthWriter``, a ``with`` block that commits when it ends normally and
    aborts when it raises. Says once (log ``igde_stream.stream``) when 16-bit depth is rescaled to 8 bits."""

    def __init__(self, path: str | Path, codec: str, rate: Fraction, time_base: Fraction, *, near: str = "white",
                 max_depth: float | None = None, order: str = "near-high", threads: int = 0,
                 size: tuple[int, int] | None = None, frames: int | None = None, timecode: str | None = None,
                 sar: Fraction | int = 1, audio: AudioSpec | None = None) -> None:
        if near not in display.NEAR:
            raise OutputError(f"depth near must be white or black, got {near!r}", path)
        self.near, self.max_depth, self.order, self._said = near, max_depth, order, False
        # size: the colour / depth frames' (W, H); the file's frames are twice as wide
        self.writer = ColorWriter(path, codec, rate, time_base, threads,
                                  size=None if size is None else (2 * size[0], size[1]), frames=frames,
                                  timecode=timecode, sar=sar, audio=audio)  # colour | depth: both of the input's pixels
        self.path = self.writer.path

    def starts_at(self, index: int) -> None:
        self.writer.starts_at(index)

    def write(self, color: np.ndarray, depth: np.ndarray, pts: int | None) -> None:
        color, depth = np.asarray(color), np.asarray(depth)  # a CPU tensor, lists: as rgbd_frame takes them
        if not self._said and depth.dtype != np.uint8:
            self._said = _say_rescaled(self.path, depth, self.max_depth, self.order)
        self.writer.write(display.rgbd_frame(color, depth, self.near, self.max_depth, self.order), pts)

    @property
    def tmp(self) -> Path:
        return self.writer.tmp

    @property
    def frames(self) -> int:
        return self.writer.frames

    def finish(self) -> None:
        self.writer.finish()

    def commit(self) -> None:
        self.writer.commit()

    close = commit  # the DepthWriter name, so that it drops into the enhance pipeline

    def abort(self) -> None:
        self.writer.abort()

    def __enter__(self) -> "RGBDWriter":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """As ``DepthWriter``: committed when the block ends normally, else aborted (nothing left)."""
        if exc_type is not None:
            return self.abort()
        try:
            self.commit()
        except BaseException:
            self.abort()
            raise
