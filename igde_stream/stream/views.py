"""The multiview stage on video files: N views (DIBR, ``igde_stream.multiview``) rendered from a
colour + depth video pair into a multiview video, and view quality of depth videos against views
from a ground-truth depth video.

``render_file(color, depth, out)`` writes the views in a display layout (``igde_stream.display``:
grid, stereo pair side by side / top and bottom / red-cyan anaglyph, one file per view, Looking
Glass quilt, RGB-D, slanted-lenticular panel); ``RGBDWriter`` writes colour + depth as RGB-D video;
``view_quality_files(color, gt, {"name": depth, ...})`` returns the per-view PSNR / band PSNR /
SSIM summary (``multiview.summarize_view_quality``). Frames are paired by presentation time
(within half a frame, ``pair_frames`` rules); output keeps the depth stream's timestamps and is
written under a temporary name, renamed when complete (removed on any error).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from .. import display
from .. import multiview as mv
from ..depth_order import NEAR_RATIO, near_limit
from ..errors import IGDEError, InputError, OutputError, PairingError
from .containers import OutputPts, set_time_base, size_problem
from .packed import check_inputs as check_packed_inputs
from .pairing import pairs, rounding_slack
from .formats import is_float_format
from .reader import VideoReader
from .roles import check_pair
from .sources import InputOptions
from .streams import check_timing
from .writer import BITEXACT, ffmpeg_name, mux, remove_stale_parts, temp_path

__all__ = ["VIEW_CODECS", "ColorWriter", "RGBDWriter", "paired_depths", "render_file", "view_quality_files"]

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
_NAMES = {"h264": "H.264", "hevc": "HEVC"}
H264_MAX_MACROBLOCKS = 139_264  # a frame's limit at H.264's highest levels (6-6.2), e.g. 8192x4320


def _check_yuv_size(codec: str, w: int, h: int, path: Path) -> None:
    """``OutputError`` for a frame 4:2:0 cannot hold (odd sizes) or H.264 cannot (over its largest
    level's frame size: decoders refuse such streams, e.g. an 8192x8192 quilt)."""
    if (why := size_problem(_NAMES.get(codec, codec), "yuv420p", w, h)) is not None:
        raise OutputError(why, path)
    mbs = -(-w // 16) * -(-h // 16)
    if codec == "h264" and mbs > H264_MAX_MACROBLOCKS:
        raise OutputError(f"{w}x{h} is beyond H.264 ({mbs:,} macroblocks a frame, its highest level holds "
                          f"{H264_MAX_MACROBLOCKS:,}); use the hevc or ffv1 codec", path)


def paired_depths(color: VideoReader, depths: list[VideoReader],
                  pair: str = "exact") -> Iterator[tuple[int | None, np.ndarray, list[np.ndarray]]]:
    """(pts of the first depth stream, colour, [depth arrays]) with every stream paired by time:
    colour as ``pair`` says (``pairing.pairs``); the other depth streams must follow the first frame
    for frame, within half a frame (``PairingError`` otherwise)."""
    first = depths[0]
    tol = 0.5 * first.info.frame_duration
    others = [d.frames() for d in depths[1:]]
    durations, slack = (color.info.frame_duration, first.info.frame_duration), rounding_slack(color.info, first.info)
    for c, d in pairs(pair, color.frames(), first.frames(), durations, (color.path, first.path), None, slack):
        arrays = [d.data]
        for reader, it in zip(depths[1:], others):
            o = next(it, None)
            if o is None or abs(o.time - d.time) > tol:
                where = "ends" if o is None else f"has its frame {o.index} at {o.time:.3f} s"
                raise PairingError(f"{where} where {first.path} has frame {d.index} at {d.time:.3f} s", reader.path)
            arrays.append(o.data)
        yield d.pts, c.data, arrays
    for reader, it in zip(depths[1:], others):
        o = next(it, None)
        if o is not None:
            raise PairingError(f"frame {o.index} at {o.time:.3f} s has no partner in {first.path}", reader.path)


class ColorWriter:
    """RGB video writer (``VIEW_CODECS``): temporary name, renamed by ``commit()``; ``abort()``
    removes it. Frames keep the input's pts and time base; the first frame fixes the size (a frame of
    another size is an ``OutputError``: the encoder would rescale it)."""

    def __init__(self, path: str | Path, codec: str, rate: Fraction, time_base: Fraction, threads: int = 0) -> None:
        import av

        if codec not in VIEW_CODECS:
            raise OutputError(f"unknown codec {codec!r}; known: {', '.join(sorted(VIEW_CODECS))}", path)
        self.path = Path(path)
        remove_stale_parts(self.path)  # a killed run's partial file of this output
        self.tmp = temp_path(self.path)
        self.codec, self.rate, self.time_base, self.threads = codec, rate, time_base, threads
        try:
            self.container = av.open(ffmpeg_name(self.tmp), "w", options=BITEXACT)
        except (OSError, ValueError, av.FFmpegError) as exc:
            self.tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write ({getattr(exc, 'strerror', None) or exc}); use .mkv or .mp4",
                              self.path) from None
        if VIEW_CODECS[codec][0] not in getattr(self.container, "supported_codecs", (VIEW_CODECS[codec][0],)):
            self.abort()  # e.g. .png or an image pattern (image2), .gif: views are written as video
            raise OutputError(f"cannot hold {codec} video (format {self.container.format.name}); use .mkv or .mp4",
                              self.path)
        self.stream = None
        self.size: tuple[int, int] | None = None  # (W, H), fixed by the first frame
        self.frames = 0

    def write(self, img: np.ndarray, pts: int | None) -> None:
        import av

        h, w = img.shape[:2]
        if self.size is not None and (w, h) != self.size:
            raise OutputError(f"frame {self.frames} is {w}x{h}, the frames before it {self.size[0]}x{self.size[1]} "
                              "(a video keeps one frame size)", self.path)
        if self.stream is None:
            enc, pix, opts = VIEW_CODECS[self.codec]
            if pix == "yuv420p":
                _check_yuv_size(self.codec, w, h, self.path)
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
                cc.colorspace = cc.color_primaries = cc.color_trc = BT709
                cc.color_range = LIMITED
            self.stream.options = opts
            if enc == "libx265" and self.container.format.name.startswith(("mov", "mp4")):
                cc.codec_tag = "hvc1"  # parameter sets in the sample entry: what QuickTime and Apple players take
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
        if self.stream.pix_fmt == "yuv420p":
            frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709")
            frame.colorspace = frame.color_primaries = frame.color_trc = BT709
            frame.color_range = LIMITED
        if pts is None:  # frame k at k / rate, rounded half up as the depth writer places it
            pts = math.floor(self.frames / Fraction(self.rate) / Fraction(self.time_base) + Fraction(1, 2))
        frame.pts, frame.time_base = self._pts(pts), self._out_tb
        try:
            for packet in self.stream.encode(frame):
                mux(self.container, packet)
        except av.FFmpegError as exc:
            raise OutputError(f"encoding failed ({exc})", self.path) from None
        self.frames += 1

    def finish(self) -> None:
        """Flush the encoder and close the file, which keeps its temporary name (``tmp``): for a
        caller that renames several outputs together (the one-pass pipeline)."""
        if self.stream is not None:
            for packet in self.stream.encode(None):
                mux(self.container, packet)
            self.stream = None
        self.container.close()

    def commit(self) -> None:
        self.finish()
        self.tmp.replace(self.path)

    def abort(self) -> None:
        try:
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


def _warn_range(path: str | Path, depth: np.ndarray, cfg: mv.ViewConfig) -> None:
    """The main command's depth-range warnings (``enhancer.warn_depth_range``) for the views' reading
    of ``depth``: far-high distance nearer than the near limit, flat 16-bit depth, depth above the peak."""
    from ..enhancer import warn_depth_range

    peak = cfg.max_depth or float(np.iinfo(depth.dtype).max)
    warn_depth_range(depth, peak, cfg.depth_order, above="is clipped in the views", where=f"{path}: ")


class RGBDWriter:
    """RGB-D video (``display.rgbd_frame``: colour | 8-bit depth, near white or black) through a
    ``ColorWriter``; what a one-pass enhance -> RGB-D output calls per frame: ``write(color,
    depth_out, pts)``, then ``close()`` (or ``abort()``), like ``DepthWriter``. Says once (log
    ``igde_stream.stream``) when 16-bit depth is rescaled to 8 bits."""

    def __init__(self, path: str | Path, codec: str, rate: Fraction, time_base: Fraction, *, near: str = "white",
                 max_depth: float | None = None, order: str = "near-high", threads: int = 0) -> None:
        if near not in display.NEAR:
            raise OutputError(f"depth near must be white or black, got {near!r}", path)
        self.near, self.max_depth, self.order, self._said = near, max_depth, order, False
        self.writer = ColorWriter(path, codec, rate, time_base, threads)
        self.path = self.writer.path

    def write(self, color: np.ndarray, depth: np.ndarray, pts: int | None) -> None:
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


def _integer_depth(reader: VideoReader) -> VideoReader:
    """``reader`` itself; ``InputError`` for float depth, whose units the views cannot know."""
    if is_float_format(reader.info.pix_fmt):
        raise InputError(f"float depth ({reader.info.pix_fmt}) has no fixed range for the views: run igde-stream "
                         "on it first (its 16-bit output maps the float range, --float-range LO:HI) and render that",
                         reader.path)
    return reader


def _views_config(cfg: mv.ViewConfig, readers: list[VideoReader]) -> mv.ViewConfig:
    """``cfg`` with the depth streams' format peak as its ``max_depth`` where that is not their sample
    type's: 10 / 12-bit depth sits in uint16 but peaks at 1023 / 4095, as the main command reads it.
    ``cfg`` itself when it has a max_depth or every stream is 8 or 16-bit (read by its dtype)."""
    if cfg.max_depth is not None or all(r.info.bits in (8, 16) for r in readers):
        return cfg
    peaks = {r.info.peak: r for r in readers}
    if len(peaks) > 1:
        raise InputError("depth streams of different bit depths (" + ", ".join(
            f"{r.path}: {r.info.pix_fmt}" for r in peaks.values()) + "): give --max-depth")
    log.info("%s: %d-bit depth (%s), read with its peak %d", readers[0].path, readers[0].info.bits,
             readers[0].info.pix_fmt, readers[0].info.peak)
    return dataclasses.replace(cfg, max_depth=readers[0].info.peak)


def render_file(color: str | Path, depth: str | Path, out: str | Path, cfg: mv.ViewConfig = mv.ViewConfig(),
                *, layout: str | display.Layout = "grid", codec: str = "ffv1", max_frames: int = 0,
                render: display.Renderer | None = None, source: InputOptions | None = None,
                overwrite: bool = False, pair: str = "exact", **layout_options: Any) -> tuple[int, list[Path]]:
    """Render ``cfg.n_views`` views of every frame of a colour + depth video pair into ``out`` in a
    display layout (``display.make_layout(layout, cfg, **layout_options)``, or a ``display.Layout``):
    grid, sbs, tab, anaglyph, views (one file per view), quilt (name gets ``_qs{C}x{R}a{aspect}``),
    rgbd, lenticular. ``render``: the renderer (default NumPy; ``multiview_torch.TorchRenderer``
    gives the same views on a torch device). ``source``: ``sources.InputOptions`` of both inputs
    (e.g. ``autorotate=False``; ``packed``: ``color`` = ``depth``, one packed RGB-D video). ``pair``:
    how colour frames pair with depth frames, ``exact`` or ``nearest`` (``pairing.pairs``). Returns
    (frames, files written). Nothing is left behind on error. Output files are refused up front as the main command refuses them (``parts.check_outputs``: one
    of the inputs, an existing file unless ``overwrite``, a missing folder) and renamed into place
    together when complete (``parts.commit``)."""
    from .parts import check_outputs, commit

    try:
        lay = display.make_layout(layout, cfg, **layout_options) if isinstance(layout, str) else layout
    except ValueError as exc:
        raise IGDEError(str(exc)) from None
    check_packed_inputs(source.packed if source else None, color, depth)
    depth_reader = VideoReader(depth, "depth", source=source)
    color_reader = None
    writers: list[ColorWriter] = []
    n = 0
    try:
        _integer_depth(depth_reader)
        if (own := _views_config(lay.cfg, [depth_reader])) is not lay.cfg:
            lay = display.with_config(lay, own)
        size = (depth_reader.info.width, depth_reader.info.height)
        try:
            paths = lay.outputs(out, size)
        except ValueError as exc:
            raise IGDEError(str(exc)) from None
        check_outputs(paths, {r: Path(p) for r, p in (("color", color), ("depth", depth)) if str(p) != "-"},
                      overwrite)
        color_reader = VideoReader(color, "color", size=size, source=source)
        check_pair(color_reader, depth_reader, source.packed if source else None, same_length=False)  # + timing
        rate = depth_reader.info.rate or Fraction(25)
        for p in paths:  # one by one: a writer that fails to open leaves the ones before it to abort
            writers.append(ColorWriter(p, codec, rate, depth_reader.info.time_base))
        said = False
        for pts, c, (d,) in paired_depths(color_reader, [depth_reader], pair):
            if n == 0:
                _warn_range(depth, d, lay.cfg)
            if lay.depth_8bit and not said and d.dtype != np.uint8:
                said = _say_rescaled(depth, d, lay.cfg.max_depth, lay.cfg.depth_order)
            for w, img in zip(writers, lay.frames(c, d, render)):
                w.write(img, pts)
            n += 1
            if max_frames and n >= max_frames:
                break
        for w in writers:
            w.finish()
        commit([(w.tmp, w.path) for w in writers])
    except BaseException:
        for w in writers:
            w.abort()
        raise
    finally:
        depth_reader.close()
        if color_reader is not None:
            color_reader.close()
    return n, [w.path for w in writers]


def view_quality_files(
    color: str | Path, gt: str | Path, depths: Mapping[str, str | Path], cfg: mv.ViewConfig = mv.ViewConfig(),
    *, enhancer: Any = None, enhance: str | None = None, stride: int = 1, band: int = 8, max_frames: int = 0,
    figure_frame: int = 0, source: InputOptions | None = None,
) -> tuple[dict[str, Any], tuple[int, np.ndarray, np.ndarray, dict[str, np.ndarray]] | None]:
    """Views from each depth video (``depths``: name -> path) against views from ``gt``, with the
    same colour, on every ``stride``-th frame. ``enhancer`` (an ``Enhancer``) run on depth
    ``enhance`` adds an ``enhanced`` entry; ``source``: ``sources.InputOptions`` of every input. Returns (``multiview.summarize_view_quality`` summary,
    (frame index, colour, gt, depths) of the first used frame at or after ``figure_frame``, or None)."""
    if stride < 1:
        raise InputError(f"stride must be >= 1, got {stride}")
    if cfg.n_views < 2:  # multiview.view_positions(1) == [0.0]: the centre view is the colour, whatever the depth
        raise IGDEError(f"view quality needs at least 2 views (--views 2 or more), got {cfg.n_views}: one view "
                        "sits at the centre (t = 0) and shows the colour unchanged, whatever the depth")
    if enhance is not None and enhance not in depths:
        raise InputError(f"enhance {enhance!r}: no depth of that name")
    names, paths = list(depths), [str(p) for p in depths.values()]
    readers = [VideoReader(gt, "gt", source=source)]
    frames: list[dict[str, Any]] = []
    fig_frame = None
    try:
        _integer_depth(readers[0])
        for p in paths:
            readers.append(VideoReader(p, "depth", source=source))  # in the list first: closed if refused
            _integer_depth(readers[-1])
        cfg = _views_config(cfg, readers)
        if enhancer is not None and enhance is not None:
            from .peaks import with_format_peak  # peaks imports outputs, which imports this module

            enhancer = with_format_peak(enhancer, readers[1 + names.index(enhance)].info)
            if hasattr(enhancer, "new_stream"):  # its range warnings are about this stream (as enhance_file)
                enhancer.new_stream()
        readers.append(VideoReader(color, "color", size=(readers[0].info.width, readers[0].info.height),
                                   source=source))
        check_timing(readers[0].info, readers[1].info)  # untimed ground truth, depth or colour beside a video
        for r in readers[1:-1]:
            check_pair(readers[-1], r, None, same_length=False)
        for i, (_, c, (g, *deps)) in enumerate(paired_depths(readers[-1], readers[:-1])):
            if max_frames and len(frames) >= max_frames:
                break
            if i % stride:
                continue
            for path, d in zip(paths, deps):
                if d.shape != g.shape:
                    raise InputError(f"depth size {d.shape[1]}x{d.shape[0]} differs from the ground truth's "
                                     f"{g.shape[1]}x{g.shape[0]}", path)
            if not frames:
                for path, d in zip([str(gt), *paths], [g, *deps]):
                    _warn_range(path, d, cfg)
            frame_depths = dict(zip(names, deps))
            if enhancer is not None and enhance is not None:
                frame_depths["enhanced"] = enhancer.enhance(c, frame_depths[enhance])
            frames.append(mv.view_quality(c, g, frame_depths, cfg.n_views, cfg.baseline, cfg.zero_parallax,
                                          cfg.max_depth, band, cfg.depth_order))
            if fig_frame is None and i >= figure_frame:
                fig_frame = (i, c, g, frame_depths)
    finally:
        for r in readers:
            r.close()
    if not frames:
        raise InputError("no frames", gt)
    summary = mv.summarize_view_quality(frames)
    summary.update({"color": str(color), "gt": str(gt), "depth_files": dict(zip(names, paths)),
                    "enhanced_from": enhance, "band_radius": band, "frame_stride": stride})
    return summary, fig_frame
