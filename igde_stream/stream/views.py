"""The multiview stage on video files: N views (DIBR, ``igde_stream.multiview``) rendered from a
colour + depth video pair into a multiview video, and view quality of depth videos against views
from a ground-truth depth video.

``render_file(color, depth, out)`` writes the views in a display layout (``igde_stream.display``:
grid, stereo pair side by side / top and bottom / red-cyan anaglyph, one file per view, Looking
Glass quilt, RGB-D, slanted-lenticular panel); ``RGBDWriter`` writes colour + depth as RGB-D video
(``ColorWriter`` and it live in ``view_writers``, re-exported here);
``view_quality_files(color, gt, {"name": depth, ...})`` returns the per-view PSNR / band PSNR /
SSIM summary (``multiview.summarize_view_quality``). Frames are paired by presentation time
(within half a frame, ``pair_frames`` rules); output keeps the depth stream's timestamps and is
written under a temporary name, renamed when complete (removed on any error).
"""

from __future__ import annotations

import dataclasses
import logging
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from .. import display
from .. import multiview as mv
from ..errors import IGDEError, InputError, PairingError
from .packed import check_inputs as check_packed_inputs
from .pairing import PAIR_MODES, declared_mismatch, end_pairs, pairs, rounding_slack
from .pairing_index import check_index
from .aspect import fit_layout, views_sar
from .fifos import opened as pipes_opened
from .floatdepth import FloatMap, with_background
from .formats import is_float_format
from .info import limit_frames
from .orientation import warn_portrait_landscape
from .reader import VideoReader
from .roles import check_pair, is_still
from .sources import InputOptions
from .streams import check_timing, reading_for
from .firstframe import outputs_timecode
from .audio import audio_spec
from .view_writers import (SDR, VIEW_CODECS, ColorWriter, RGBDWriter, _check_size,  # noqa: F401 (re-exported)
                           _say_rescaled, colour_tags)

__all__ = ["VIEW_CODECS", "ColorWriter", "RGBDWriter", "paired_depths", "render_file", "view_quality_files"]

log = logging.getLogger("igde_stream.stream")


def paired_depths(color: VideoReader, depths: list[VideoReader], pair: str = "exact",
                  span: Any = None) -> Iterator[tuple[int | None, np.ndarray, list[np.ndarray]]]:
    """(pts of the first depth stream, colour, [depth arrays]) with every stream paired by time:
    colour as ``pair`` says (``pairing.pairs``); the other depth streams must follow the first frame
    for frame, within half a frame (``PairingError`` otherwise). ``span`` (a ``span.Span`` whose ``cut``
    the readers took): pairing begins at its start."""
    first = depths[0]
    tol = 0.5 * first.info.frame_duration
    others = [d.frames() for d in depths[1:]]
    durations, slack = (color.info.frame_duration, first.info.frame_duration), rounding_slack(color.info, first.info)
    given, heads = 0, (color.frames(), first.frames())
    heads = span.heads(pair, (color.info, first.info), *heads) if span is not None else heads
    pairing = pairs(pair, *heads, durations, (color.path, first.path), None, slack, is_still(color.info),
                    None if span is None else span.past)  # nearest stops at --to itself
    for c, d in pairing:
        if span is not None and span.past(d):  # at or after --to: the others are not read further either
            return
        if not given and span is not None:
            span.begins(d)
        given += 1
        if span is not None and given == span.max_frames:
            end_pairs(pairing)  # the last pair taken: the colour frames read for them are counted
        arrays = [d.data]
        for reader, it in zip(depths[1:], others):
            o = next(it, None)
            if o is None or abs(o.time - d.time) > tol:
                where = f"ends after {given - 1} frames," if o is None else f"has its frame {o.index} at {o.time:.3f} s"
                error = PairingError(f"{where} where {first.path} has frame {d.index} at {d.time:.3f} s", reader.path)
                error.held = given - 1 if o is None else None  # the frames it holds from the start
                raise error
            arrays.append(o.data)
        yield d.pts, c.data, arrays
    if span is not None and span.over(given):  # the others are not read further either
        return
    for reader, it in zip(depths[1:], others):
        o = next(it, None)
        if o is not None:
            raise PairingError(f"frame {o.index} at {o.time:.3f} s has no partner in {first.path}", reader.path)


def _score_what_is_held(pairs: Iterator[Any], stride: int) -> Iterator[Any]:
    """``pairs`` (of ``paired_depths``); a depth stream that ends first (the output of a run with
    --max-frames beside the whole ground truth), or a ground truth shorter than the colour, is refused
    naming the max_frames that scores what it holds (not ``pair_frames``' --pair, which quality lacks)."""
    try:
        yield from pairs
    except PairingError as exc:
        held, said = getattr(exc, "held", None), f"{exc.problem}: to score the frames it holds, give "
        if not held and getattr(exc, "depth_frames", None):  # the colour runs longer than the ground truth
            held, said = exc.depth_frames, f"{exc.unadvised}; to score the frames the ground truth holds, give "
        if not held and getattr(exc, "unadvised", None) is not None:  # pairing's problem, not its --pair advice
            raise PairingError(exc.unadvised, exc.path) from None
        if not held:
            raise
        n = -(-held // stride)  # every stride-th of them
        raise PairingError(f"{said}max_frames={n}", exc.path, cli_problem=f"{said}--max-frames {n}") from None


def _warn_range(path: str | Path, depth: np.ndarray, cfg: mv.ViewConfig, rgbd: bool = False) -> None:
    """The main command's depth-range warnings (``enhancer.warn_depth_range``) for the views' reading
    of ``depth`` (``rgbd``: the RGB-D layout's, which renders none): far-high distance nearer than the
    near limit, flat 16-bit depth, depth above the peak."""
    from ..enhancer import warn_depth_range

    peak = cfg.max_depth or float(np.iinfo(depth.dtype).max)
    warn_depth_range(depth, peak, cfg.depth_order, where=f"{path}: ", filled=True,
                     above="is written as 255 in the RGB-D depth" if rgbd else "is clipped in the views")


def _depth_codes(reader: VideoReader, fmap: FloatMap | None = None) -> VideoReader:
    """``reader`` itself: integer depth as it is, float depth through ``fmap`` (``--float-range``: the
    16-bit codes igde-stream maps it to); ``InputError`` for float depth without one (no fixed range)."""
    if is_float_format(reader.info.pix_fmt):
        if fmap is None:
            raise InputError(f"float depth ({reader.info.pix_fmt}) has no fixed range for the views: give --float-range "
                             "LO:HI, the range igde-stream mapped it with (its log and report say it)", reader.path)
        reader.float_map = fmap
    return reader


def _float_map(float_range: tuple[float, float] | None, order: str, readers: list[VideoReader],
               source: InputOptions | None = None) -> FloatMap | None:
    """The map of ``float_range`` for the float depth among ``readers`` (None without a range), with the
    first float one's background beyond HI (``floatdepth.with_background``: no clip warning for a
    renderer's sky); ``InputError`` for a range where every depth is integer."""
    if float_range is None:
        return None
    if not any(is_float_format(r.info.pix_fmt) for r in readers):
        raise InputError(f"--float-range is for float depth (PFM, EXR, float .npy); this depth is "
                         f"{readers[-1].info.pix_fmt}", readers[-1].path)
    first = next(r for r in readers if is_float_format(r.info.pix_fmt))
    return with_background(FloatMap(float(float_range[0]), float(float_range[1]), order), first, source)


def _views_config(cfg: mv.ViewConfig, readers: list[VideoReader]) -> mv.ViewConfig:
    """``cfg`` with the depth streams' format peak as its ``max_depth`` where that is not their sample
    type's: 10 / 12-bit depth sits in uint16 but peaks at 1023 / 4095, as the main command reads it.
    ``cfg`` itself when it has a max_depth or every stream is 8 or 16-bit (read by its dtype). A
    max_depth above what a stream's samples hold (255 for 8-bit depth) is refused, as the main command
    refuses it: every value would read as the nearest (far-high) or flat."""
    from .peaks import max_depth_error  # peaks imports outputs, which imports this module

    for r in readers:
        most = float(np.iinfo(r.info.dtype).max)
        if cfg.max_depth is not None and cfg.max_depth > most:
            raise max_depth_error(cfg.max_depth, r.info, most, InputError)
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
                *, layout: str | display.Layout = "grid", codec: str = "ffv1", max_frames: int = 0, start: float = 0.0,
                end: float | None = None, render: display.Renderer | None = None, source: InputOptions | None = None,
                overwrite: bool = False, pair: str = "exact", sync: str = "relative",
                float_range: tuple[float, float] | None = None, audio: bool = True,
                **layout_options: Any) -> tuple[int, list[Path]]:
    """Render ``cfg.n_views`` views of every frame of a colour + depth video pair into ``out`` in a
    display layout (``display.make_layout(layout, cfg, **layout_options)``, or a ``display.Layout``):
    grid, sbs, tab, anaglyph, views (one file per view), quilt (name gets ``_qs{C}x{R}a{aspect}``),
    rgbd, lenticular. ``render``: the renderer (default NumPy; ``multiview_torch.TorchRenderer``
    gives the same views on a torch device). ``source``: ``sources.InputOptions`` of both inputs
    (e.g. ``autorotate=False``; ``packed``: ``color`` = ``depth``, one packed RGB-D video). ``pair``:
    how colour frames pair with depth frames, ``exact``, ``nearest`` or ``index`` (``pairing.pairs``); ``sync``:
    on times counted from each stream's start (``relative``) or on timestamps (``absolute``: the output
    of ``--start`` beside the whole colour clip), as ``enhance_file``'s. ``start``,
    ``end`` (seconds) and ``max_frames`` (0: all): the frames rendered, as ``enhance_file``'s. Returns
    (frames, files written). Nothing is left behind on error. Output files are refused up front as the main command refuses them (``parts.check_outputs``: one
    of the inputs, an existing file unless ``overwrite``, a missing folder) and renamed into place
    together when complete (``parts.commit``)."""
    from .parts import check_outputs, commit, refuse_pattern
    from .span import Span, check_end, check_span, check_start, most_frames
    from .view_memory import warn_layout_memory

    check_span(start, max_frames)
    end = check_end(start, end)
    if pair not in PAIR_MODES:
        raise ValueError(f"pair must be one of {', '.join(PAIR_MODES)}, got {pair!r}")
    check_index(pair, sync)

    try:
        lay = display.make_layout(layout, cfg, **layout_options) if isinstance(layout, str) else layout
    except ValueError as exc:
        raise IGDEError(str(exc)) from None
    check_packed_inputs(source.packed if source else None, color, depth)
    pipes = ExitStack()  # both named pipes opened before either is probed (fifos), closed at the end
    pipes.enter_context(pipes_opened(color, depth))
    depth_reader = color_reader = None
    writers: list[ColorWriter] = []
    n = 0
    try:
        depth_reader = VideoReader(depth, "depth", sync=sync, source=source)
        _depth_codes(depth_reader, _float_map(float_range, lay.cfg.depth_order, [depth_reader], source))
        if (own := _views_config(lay.cfg, [depth_reader])) is not lay.cfg:
            lay = display.with_config(lay, own)
        size = (depth_reader.info.width, depth_reader.info.height)
        refuse_pattern(out)
        try:
            paths = lay.outputs(out, size)
        except ValueError as exc:
            raise IGDEError(str(exc)) from None
        inputs = {r: Path(p) for r, p in (("color", color), ("depth", depth)) if str(p) != "-"}
        check_outputs(paths, inputs, overwrite)
        with reading_for("rgbd" if lay.depth_8bit else "views"):  # no model: the HDR warning says what the files hold
            color_reader = VideoReader(color, "color", size=size, sync=sync, source=source)
        fitted, sar = fit_layout(lay, views_sar(color_reader, depth_reader))  # non-square pixels (aspect)
        if fitted is not lay:  # a quilt's name says the aspect its views show at; a panel fits them so
            lay, old = fitted, paths
            if (paths := lay.outputs(out, size)) != old:
                check_outputs(paths, inputs, overwrite)
        check_pair(color_reader, depth_reader, source.packed if source else None, same_length=False,
                   exact=pair == "exact" and not (start == 0 and max_frames == 1),  # + timing; a photo for frame 0
                   fps_given=bool(source and source.fps), pair=pair)
        if color_reader.size is not None:  # as the main command says it: the views are at the depth's grid
            cw, ch = color_reader.info.width, color_reader.info.height
            log.info("colour %s resized to the depth grid (%dx%d -> %dx%d)%s", color_reader.path, cw, ch, *size,
                     "; for views at the colour's size, enlarge the depth to it first: igde-stream COLOR DEPTH -o "
                     "OUT.mkv --grid color (docs/formats.md)" if cw * ch >= 4 * size[0] * size[1] else "")
        warn_portrait_landscape(color_reader, depth_reader)  # a shape or a letterbox that stretches one over the other
        rate = depth_reader.info.rate or Fraction(25)
        tc = outputs_timecode(depth_reader, color_reader).timecode  # the depth's, else the colour's
        check_start(start, depth_reader.info, sync)
        frames = limit_frames(depth_reader.info, most_frames(max_frames, start, end, depth_reader.info)).expected_frames
        warn_layout_memory(lay, paths, codec, size)
        sound = audio_spec(color_reader, depth_reader, sync) if audio else None  # the video files carry it
        for p, frame_size in zip(paths, lay.frame_sizes(size)):  # one by one: those opened before a failure abort
            writers.append(ColorWriter(p, codec, rate, depth_reader.info.time_base, stereo_mode=lay.stereo_mode,
                                       level_fix=lay.level_fix(), size=frame_size, frames=frames, timecode=tc, sar=sar,
                                       tags=SDR if lay.depth_8bit else colour_tags(color_reader), audio=sound))
        said = False
        span = Span(start, max_frames, lambda index: [w.starts_at(index) for w in writers], end).cut(
            pair, color_reader, [depth_reader])
        if not (source and source.packed) and (pair == "index" or not (start or max_frames or end is not None
                                                                         or sync == "absolute")):
            span.refuse = declared_mismatch(pair, color_reader.info, depth_reader.info,
                                            (color_reader.path, depth_reader.path))  # at the first pair
        for pts, c, (d,) in paired_depths(color_reader, [depth_reader], pair, span):
            if n == 0:
                _warn_range(depth, d, lay.cfg, lay.depth_8bit)
            if lay.depth_8bit and not said and d.dtype != np.uint8:
                said = _say_rescaled(depth, d, lay.cfg.max_depth, lay.cfg.depth_order)
            for w, img in zip(writers, lay.frames(c, d, render)):
                w.write(img, pts)
            n += 1
            if max_frames and n >= max_frames:
                break
        if not n:
            span.check_reached(depth_reader)
        for w in writers:
            w.finish()
        commit([(w.tmp, w.path) for w in writers])
    except BaseException:
        for w in writers:
            w.abort()
        raise
    finally:
        for reader in (depth_reader, color_reader):
            if reader is not None:
                reader.close()
        pipes.close()
    return n, [w.path for w in writers]


def view_quality_files(
    color: str | Path, gt: str | Path, depths: Mapping[str, str | Path], cfg: mv.ViewConfig = mv.ViewConfig(),
    *, enhancer: Any = None, enhance: str | None = None, stride: int = 1, band: int = 8, max_frames: int = 0,
    start: float = 0.0, end: float | None = None, figure_frame: int = 0, source: InputOptions | None = None,
    sync: str = "relative", float_range: tuple[float, float] | None = None, gt_measured: bool = False,
) -> tuple[dict[str, Any], tuple[int, np.ndarray, np.ndarray, dict[str, np.ndarray]] | None]:
    """Views from each depth video (``depths``: name -> path) against views from ``gt``, with the
    same colour, on every ``stride``-th frame from the first at or after ``start`` seconds to before
    ``end`` (as ``enhance_file``'s). ``enhancer`` (an ``Enhancer``) run on depth ``enhance`` adds an ``enhanced``
    entry; ``source``: ``sources.InputOptions`` of every input; ``sync``: as ``render_file``'s. ``gt_measured``:
    score only the view pixels whose reference view shows a ground-truth pixel that is not 0 (measured;
    a float ground truth's NaN / inf read as 0), ``multiview.view_quality(valid=...)``; a frame whose ground
    truth is 0 throughout is left out and counted. Returns (``multiview.summarize_view_quality``
    summary, (frame index, colour, gt, depths) of the first used frame at or after frame ``figure_frame``, or None)."""
    from .span import Span, check_end, check_span, check_start

    start = check_span(start, max_frames)[0]
    end = check_end(start, end)
    if stride < 1:
        raise InputError(f"stride must be >= 1, got {stride}")
    if cfg.n_views < 2:  # multiview.view_positions(1) == [0.0]: the centre view is the colour, whatever the depth
        raise IGDEError(f"view quality needs at least 2 views (--views 2 or more), got {cfg.n_views}: one view "
                        "sits at the centre (t = 0) and shows the colour unchanged, whatever the depth")
    if enhance is not None and enhance not in depths:
        raise InputError(f"enhance {enhance!r}: no depth of that name")
    names, paths = list(depths), [str(p) for p in depths.values()]
    pipes = ExitStack()  # every named pipe opened before any is probed (fifos), closed at the end
    pipes.enter_context(pipes_opened(gt, *paths, color))
    readers: list[VideoReader] = []
    frames: list[dict[str, Any]] = []
    fig_frame, unmeasured = None, []  # unmeasured: frames whose ground truth is 0 throughout (gt_measured)
    try:
        readers.append(VideoReader(gt, "gt", sync=sync, source=source))
        for p in paths:
            readers.append(VideoReader(p, "depth", sync=sync, source=source))  # in the list first: closed if refused
        fmap = _float_map(float_range, cfg.depth_order, readers, source)
        for r in readers:
            _depth_codes(r, fmap)
        cfg = _views_config(cfg, readers)
        if enhancer is not None and enhance is not None:
            from .peaks import with_format_peak  # peaks imports outputs, which imports this module

            enhancer = with_format_peak(enhancer, readers[1 + names.index(enhance)].info)
            if hasattr(enhancer, "new_stream"):  # its range warnings are about this stream (as enhance_file)
                enhancer.new_stream()
        readers.append(VideoReader(color, "color", size=(readers[0].info.width, readers[0].info.height),
                                   sync=sync, source=source))
        check_timing(readers[0].info, readers[1].info)  # untimed ground truth, depth or colour beside a video
        for r in readers[1:-1]:
            check_pair(readers[-1], r, None, same_length=False)
        check_start(start, readers[0].info, sync)
        span = Span(start, end=end).cut("exact", readers[-1], readers[:-1])
        pairs = _score_what_is_held(paired_depths(readers[-1], readers[:-1], span=span), stride)
        for k, (_, c, (g, *deps)) in enumerate(pairs):
            i = span.first + k  # the frame's number in the streams
            if k % stride:
                continue
            for path, d in zip(paths, deps):
                if d.shape != g.shape:
                    raise InputError(f"depth size {d.shape[1]}x{d.shape[0]} differs from the ground truth's "
                                     f"{g.shape[1]}x{g.shape[0]}", path)
            if not frames and not unmeasured:
                for path, d in zip([str(gt), *paths], [g, *deps]):
                    _warn_range(path, d, cfg)
            valid = g != 0 if gt_measured else None
            if valid is not None and not valid.any():
                unmeasured.append(i)
            else:
                frame_depths = dict(zip(names, deps))
                if enhancer is not None and enhance is not None:
                    frame_depths["enhanced"] = enhancer.enhance(c, frame_depths[enhance])
                frames.append(mv.view_quality(c, g, frame_depths, cfg.n_views, cfg.baseline, cfg.zero_parallax,
                                              cfg.max_depth, band, cfg.depth_order, valid))
                if fig_frame is None and i >= figure_frame:
                    fig_frame = (i, c, g, frame_depths)
            if max_frames and len(frames) + len(unmeasured) >= max_frames:  # before the next pair is read
                break
        if not frames and not unmeasured:
            span.check_reached(readers[0])
    finally:
        for r in readers:
            r.close()
        pipes.close()
    if not frames and unmeasured:
        raise InputError(f"no measured ground-truth pixel (every pixel 0) in the {len(unmeasured)} frame(s) used: "
                         "nothing to score with gt_measured", gt,
                         cli_problem=f"no measured ground-truth pixel (every pixel 0) in the {len(unmeasured)} "
                                     "frame(s) used: nothing to score with --gt-measured")
    if not frames:
        raise InputError("no frames", gt)
    summary = mv.summarize_view_quality(frames)
    if gt_measured:
        shares = [s for f in frames for s in f["measured_share"]]
        summary.update(gt_measured_only=True, measured_share=float(np.mean(shares)),
                       frames_without_measured_gt=unmeasured)
    summary.update({"color": str(color), "gt": str(gt), "depth_files": dict(zip(names, paths)),
                    "enhanced_from": enhance, "band_radius": band, "frame_stride": stride,
                    **({"float_range": fmap.describe()} if fmap is not None else {}),
                    **({"start": start, "first_frame": span.first} if start else {}),
                    **({"end": end} if end is not None else {})})
    return summary, fig_frame
