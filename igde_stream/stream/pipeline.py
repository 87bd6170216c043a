"""``enhance_file``: colour + depth (+ ground truth) in, enhanced depth video (+ PSNR report) out.

Stages, each on its own thread, joined by queues bounded in bytes (so memory stays flat however long
the stream is):

    colour reader --\\
                     >-- main thread: pair by time, batch, Enhancer --> writer thread: encode, report
    depth reader ---/                                                    ^
    gt reader ----------------------------------------------------------/

Each queue ends with one sentinel from its producer. A stage that fails records its exception and
sets the shared stop event; every other stage notices within 0.1 s, all threads are joined, and the
first exception is raised in the caller's thread. Containers are always closed.

All or nothing: everything that can fail early (paths, report suffixes, matplotlib for a plot, the
batch size) is checked before the first frame; the video, the reports and the plot are written under
temporary names and renamed into place together in one last step, so a failure or Ctrl-C at any
point leaves no output and no temporary file (files being replaced are kept as they were).
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Sequence

from .. import __version__
from ..errors import IGDEError
from ..enhancer import load_enhancer as _make_enhancer
from ..hole_fill import preset_name
from .floatdepth import describe_run, prepare as prepare_float
from .formats import ENLARGE, range_names
from .imageseq import check_one_frame, image_codec, is_pattern, is_single_image
from .outputs import Outputs, ViewsOptions, open_outputs
from .parts import check_outputs as _check_outputs, check_run_outputs, check_side_outputs, commit as _commit
from .orientation import warn_portrait_landscape
from .aspect import depth_sar, output_aspects, views_sar
from .audio import audio_spec
from .view_writers import colour_tags
from .packed import check_inputs as check_packed_inputs
from .pairing import PAIR_MODES, declared_mismatch
from .pairing_index import check_index
from .peaks import enhancer_peak, views_like_enhancer, with_format_peak
from .info import limit_frames, read_within
from .run_frames import run_frames
from .span import Span, check_end, check_span, check_start, most_frames
from .reader import VideoReader
from .report import PsnrReport, gt_problem
from .roles import check_pair
from .fifos import opened as pipes_opened
from .sources import InputOptions, raw_stdin_choice
from .streams import check_timing
from .firstframe import outputs_timecode
from .stages import check_batch
from .urls import StreamURL, check_outputs as check_stream_outputs, output_path
from .writer import (DEFAULT_CODEC, DepthWriter, check_float_output, codec_is_lossless, describe_codec,
                     remove_stale_parts, temp_path)

log = logging.getLogger("igde_stream.stream")

DEFAULT_QUEUE_BYTES = 64 << 20  # cap per queue (10 colour frames at 1080p); at least one item always fits
GRIDS = ("depth", "color")  # enhance_file(grid=): the frame size of the model's input and the output
MAX_THREADS = 1024  # enhance_file(threads=): FFmpeg fails to start a few thousand per codec (cli.MAX_THREADS)

PathLike = str | os.PathLike[str]


def enhance_file(
    color_path: PathLike, depth_path: PathLike, out_path: PathLike,
    *,
    gt_path: PathLike | None = None,
    report_path: PathLike | Sequence[PathLike] | None = None,
    gt_measured: bool = False,
    plot_path: PathLike | None = None,
    codec: str = DEFAULT_CODEC,
    overwrite: bool = False,
    threads: int = 0,
    progress: bool = False,
    enhancer: Any = None,
    queue_bytes: int = DEFAULT_QUEUE_BYTES,
    sync: str = "relative",
    pair: str = "exact",
    inputs: InputOptions | None = None,
    out_format: str | None = None,
    views_path: PathLike | None = None,
    rgbd_path: PathLike | None = None,
    preview_path: PathLike | None = None,
    views: ViewsOptions | None = None,
    grid: str = "depth",
    enlarge: str = "linear",
    float_range: tuple[float, float] | None = None,
    start: float = 0.0,
    end: float | None = None,
    max_frames: int = 0,
    **enhancer_options: Any,
) -> dict[str, Any]:
    """Enhance the depth video ``depth_path`` guided by ``color_path``; write it to ``out_path``.

    ``gt_path``: ground-truth depth video for the per-frame PSNR report, written to ``report_path``
    (``.json`` / ``.csv`` by suffix; one path or several) and plotted to ``plot_path`` (``.png``).
    ``gt_measured``: score only the pixels where the ground truth is not 0 (a stereo ground truth's
    unknown pixels, KITTI's sparse ground truth, a float ground truth's NaN / inf); else every pixel.
    ``codec``: output encoder (FFV1 by default; lossy ones are labelled). ``overwrite``: replace an
    existing output. ``threads``: decoder / encoder threads (0: automatic; at most ``MAX_THREADS``).
    ``progress``: tqdm bar.
    ``sync``: ``relative`` (each stream's start time subtracted before pairing) or ``absolute``
    (pts x time base); see ``VideoReader``. ``pair``: ``exact`` (one colour frame per depth frame,
    within half a frame; any other is an error) or ``nearest`` (each depth frame with the nearest
    colour frame: other frame rates, longer colour; ``pairing.pair_nearest``; the summary and report
    count the colour frames) or ``index`` (colour frame k with depth frame k, whatever their times: depth
    made frame by frame from a variable-rate video; the counts must match; ``pairing_index``; not with
    ``sync="absolute"``, a ``ValueError``). ``inputs``: ``sources.InputOptions`` (frame rate of image sequences and
    raw video, raw size and pixel format, stream indexes, ``autorotate``: frames read as displayed,
    the display matrix applied; see ``orientation``); paths may be image folders, ``%d`` patterns,
    raw ``.yuv``, NumPy ``.npy`` / ``.npz`` (depth; ``arrays``), ``-`` (stdin) or a network URL (``urls``), the
    output a pattern (``out/%06d.png``), ``-`` (stdout) or a URL (``tcp://``, ``udp://``, ``srt://``, ``rtmp://``),
    both streams in ``out_format`` (``nut`` by default, ``matroska``, ``mpegts``, ``flv``); see ``docs/formats.md``.
    ``enhancer``: an ``Enhancer`` built once (for running many files), else ``enhancer_options``
    (``model``, ``backend``, ``device``, ``batch``, ``max_depth``, ``engine``, ...) build one.
    In the same pass (``outputs``): ``views_path``, the views of each enhanced frame in a display
    layout; ``rgbd_path``, colour | enhanced depth (RGB-D layout); both as ``views`` (an
    ``outputs.ViewsOptions``) says; ``preview_path``, a PNG of the worst and a median frame.
    ``grid``: the frame size the model works on and the output has. ``"depth"`` (default): colour of
    another size is resized to the depth's. ``"color"``: depth smaller than the colour (a depth sensor
    or estimator with fewer pixels than the camera) is enlarged to the colour's size (``enlarge``:
    ``"linear"``, bilinear, or ``"nearest"``, every value a measured one and holes kept as holes; see
    ``formats.ENLARGE``) and the model repairs its edges against the full-size colour; the ground
    truth is then compared at the colour's size. ``float_range``: (LO, HI) of float depth (PFM, EXR,
    ``grayf32le``), mapped to the 16-bit codes 1..65535 for the whole run (None: the first frame's
    range; see ``floatdepth``); float ground truth goes through the same map, and a ``.pfm`` / ``.exr``
    output pattern gets float depth back through it. ``start`` (seconds, counted as ``sync`` counts):
    the first frame written is the first depth frame at or after it (the readers seek where the file
    allows, ``seek``; the output keeps the frames' times, and an image pattern their numbers); ``end``
    (seconds, counted as ``start``; None: the clip's end): the depth frames before it are written;
    ``max_frames``: stop after this many frames (0: all); the ground truth is compared over the frames
    written.

    Returns the summary: output, frames, size, codec, backend, timings, what was resized, enlarged and
    turned (``color_rotated`` / ``depth_rotated``: the display matrix applied) and, with ground truth, the
    report summary (mean / min / median / max PSNR, gain over the input, worst and unmatched frames).
    Raises ``IGDEError`` (with the file concerned) for any bad input or output path.
    """
    t_start = time.perf_counter()
    if gt_measured and gt_path is None:
        raise IGDEError("gt_measured needs the ground-truth depth (gt_path)",
                        cli_problem="--gt-measured needs the ground-truth depth (--gt)")
    if grid not in GRIDS:
        raise ValueError(f"grid must be one of {', '.join(GRIDS)}, got {grid!r}")
    if enlarge not in ENLARGE:
        raise ValueError(f"enlarge must be one of {', '.join(ENLARGE)}, got {enlarge!r}")
    if pair not in PAIR_MODES:
        raise ValueError(f"pair must be one of {', '.join(PAIR_MODES)}, got {pair!r}")
    check_index(pair, sync)
    start, max_frames = check_span(start, max_frames)
    end = check_end(start, end)
    if isinstance(threads, bool) or not isinstance(threads, int) or not 0 <= threads <= MAX_THREADS:
        raise ValueError(f"threads must be a whole number in 0..{MAX_THREADS} (0: automatic), got {threads!r}")
    out = output_path(out_path, inputs)  # a Path, or a network URL (urls.StreamURL)
    check_stream_outputs(out, codec, out_format, "out_format", report_path=report_path, plot_path=plot_path,
                         preview_path=preview_path, views_path=views_path, rgbd_path=rgbd_path)
    reports, plot, preview = check_side_outputs(report_path, plot_path, preview_path, gt_path is not None)
    views = views or ViewsOptions()
    views.check()
    options, inputs = raw_stdin_choice(inputs, depth_path, gt_path), {"colour": Path(color_path), "depth": Path(depth_path)}
    check_packed_inputs(options.packed if options else None, color_path, depth_path)
    if gt_path is not None:
        inputs["ground-truth"] = Path(gt_path)
    video_out = [] if str(out_path) == "-" or isinstance(out, StreamURL) or is_pattern(out) else [out]
    files = [*video_out, *reports, *([plot] if plot else []), *([preview] if preview else [])]
    check_run_outputs(out, files, views_path, rgbd_path, inputs, overwrite)
    for f in [*reports, *([plot] if plot else []), *([preview] if preview else [])]:
        remove_stale_parts(f)  # a killed run's partial file of this output
    codec_is_lossless(codec)  # an unknown encoder fails before any decoding
    from ..enhancer import check_enhancer_options

    check_enhancer_options(enhancer_options, enhancer)  # typos, both at once, the values: before any input is opened

    with ExitStack() as stack:
        stack.enter_context(pipes_opened(color_path, depth_path, gt_path))  # before any is probed (fifos)
        if grid == "color":
            color = stack.enter_context(VideoReader(color_path, "color", threads=threads, sync=sync, source=options))
            depth = stack.enter_context(VideoReader(depth_path, "depth", size=(color.info.width, color.info.height),
                                                    threads=threads, sync=sync, source=options, enlarge=enlarge))
        else:
            depth = stack.enter_context(VideoReader(depth_path, "depth", threads=threads, sync=sync, source=options))
            color = stack.enter_context(VideoReader(color_path, "color", size=(depth.info.width, depth.info.height),
                                                    threads=threads, sync=sync, source=options))
        di = depth.info
        # mix-ups; lengths differing after the last frame read do not matter, nor a photograph for frame 0
        first_only = start == 0 and max_frames == 1
        check_pair(color, depth, options.packed if options else None, exact=pair == "exact" and not first_only,
                   fps_given=bool(options and options.fps), pair=pair,
                   same_length=pair == "exact" and not (start == 0 and read_within(
                       most_frames(max_frames, start, end, depth.info), color.info, depth.info)))
        gt = stack.enter_context(VideoReader(gt_path, "gt", threads=threads, sync=sync, source=options)) \
            if gt_path is not None else None
        if gt is not None:
            check_timing(gt.info, di)  # before the model loads
        resized = enlarged = None
        if color.size is not None:
            resized = f"{color.info.width}x{color.info.height} -> {di.width}x{di.height}"
            log.info("colour %s resized to the depth grid (%s)", color.path, resized)
        if depth.size is not None:
            enlarged = "{}x{} -> {}x{}".format(*depth.source_size, di.width, di.height)
            log.info("depth %s enlarged to the colour grid (%s, %s)", depth.path, enlarged, enlarge)
        warn_portrait_landscape(color, depth)
        read_as = {"color_rotated": color.rotated, "depth_rotated": depth.rotated,  # how the inputs were read
                   **range_names(depth=depth.info, gt=gt.info if gt is not None else None), **output_aspects(color, depth)}
        setting = (lambda key: getattr(enhancer, key, None)) if enhancer is not None else enhancer_options.get
        fmap = prepare_float(depth, gt, float_range, setting("depth_order") or "near-high", setting("max_depth"),
                             options)
        image = image_codec(out)  # an image output (a pattern or one image): its encoder by suffix
        if image is not None:  # before the model loads
            check_float_output(out, image, di.pix_fmt, fmap)
        check_start(start, di, sync)
        di = limit_frames(di, most_frames(max_frames, start, end, di))  # what the outputs get: one picture, or more
        if is_single_image(out):
            check_one_frame(out, di.expected_frames)
        batch = getattr(enhancer, "batch", 4) if enhancer is not None else enhancer_options.get("batch")
        check_batch(int(batch or 4), di.width, di.height, di.dtype.itemsize)  # before the model loads
        if enhancer is None:
            enhancer = _make_enhancer({k: v for k, v in enhancer_options.items() if v is not None})
        enhancer = with_format_peak(enhancer, di)
        if hasattr(enhancer, "new_stream"):  # its range warnings are about this stream; float depth has
            enhancer.new_stream(check_range=fmap is None)  # its own, on --float-range (floatdepth)
        peak = enhancer_peak(enhancer, di.dtype)
        views = views_like_enhancer(views, enhancer, peak, di.dtype)
        report = None
        if gt is not None:
            problem = gt_problem(gt.info, di, color.info)
            if problem:
                log.warning("%s: %s; every frame is reported as unmatched", gt.path, problem)
            # rows go to a file beside the report (not /tmp, often RAM), so memory stays flat
            report = stack.enter_context(PsnrReport(di.peak, problem, spool_dir=(reports[0] if reports else out.parent if is_pattern(out) else out).parent,
                                                    measured_only=gt_measured))
        if image is not None:
            codec = image  # PNG / TIFF by suffix (the writer says when --codec was another)
        lossless = codec_is_lossless(codec)
        log.info(
            "%s: %dx%d %s at %s fps -> %s, %s",
            depth.path, di.width, di.height, di.pix_fmt, f"{float(di.rate):.3f}" if di.rate else "?", out,
            describe_codec(codec),
        )
        di = outputs_timecode(depth, color, di)  # the depth's, else the colour's (container; first frame)
        # (Ctrl-C / SIGTERM inside the constructor, after it made its file: the writer removes that file)
        writer = DepthWriter(out, di, codec=codec, threads=threads, format=out_format, overwrite=overwrite,
                             float_map=fmap, sar=depth_sar(color, depth),  # non-square pixels: aspect
                             numbered_like=color.info if pair != "nearest" and di.kind == "array" else None)
        depth.keep_values = writer.float_map is not None  # a float output writes untouched values as read
        # every output, (temporary name, final name); stdout has none
        moves: list[tuple[Path, Path]] = []
        outs: Outputs | None = None
        try:
            moves += [(writer.tmp, writer.final)] if writer.tmp is not None else []
            if not lossless:  # once the writer took the codec: a refused one is said without it
                log.warning("%s is a lossy codec: the output differs from the enhanced frames "
                            "(the report measures them before encoding)", codec)
            outs, said = open_outputs(
                writer, report, di, enhancer, views_path=None if views_path is None else Path(views_path),
                rgbd_path=None if rgbd_path is None else Path(rgbd_path), preview=preview is not None,
                options=views, check=lambda paths: _check_outputs([*files, *paths], inputs, overwrite), sar=views_sar(color, depth),
                tags=colour_tags(color), audio=audio_spec(color, depth, sync) if (views_path or rgbd_path) and (views is None or views.audio) else None)
            tally: dict[str, int] = {}
            span = Span(start, max_frames, outs.starts_at, end).cut(pair, color, [depth], gt)
            if not (options and options.packed) and (pair == "index" or not (start or max_frames or end is not None
                                                                            or sync == "absolute")):
                span.refuse = declared_mismatch(pair, color.info, depth.info, (color.path, depth.path))  # the whole clips
            frames, infer_s = run_frames(color, depth, gt, outs, enhancer, report, queue_bytes, progress, pair, tally,
                                   span, di.expected_frames)
            writer.close()
            if report is not None and not gt_measured and (report.gt_unmeasured or 0) > 0.01:
                holes = (f"{gt.path}: {100 * report.gt_unmeasured:.1f} % of the first ground-truth frame compared is 0 "
                        "(not measured: a stereo or sparse ground truth's unknown pixels) and scored as depth 0; {} "
                        "leaves them out")
                log.warning(holes.format("gt_measured=True"), extra={"cli_text": holes.format("--gt-measured")})
            if report is not None and report.gt_mismatch:
                log.warning("%s: %s", gt.path, report.gt_mismatch)
            # tally: colour frames skipped / reused (nearest); first_number: frame k is image first + k
            read_as.update(pair=pair, timecode=span.timecode(di), first_number=getattr(writer, "first_number", None),
                           **tally, **span.said())
            read_as.update(float_range=describe_run(fmap, depth, gt, frames, None if report is None else report.gt_compared),
                           depth_colormap=depth.colormap_summary())
            moves += outs.finish()
            seconds = time.perf_counter() - t_start
            summary: dict[str, Any] = {
                "output": str(out), "frames": frames, "width": di.width, "height": di.height,
                "pix_fmt": writer.pix_fmt, "codec": codec, "lossless": lossless,
                "backend": getattr(enhancer, "backend_name", None), "batch": getattr(enhancer, "batch", None),
                "hole_fill": getattr(enhancer, "hole_fill", None) is not None,  # and its layers (0: the plain mean)
                "hole_fill_layers": getattr(getattr(enhancer, "hole_fill", None), "layers", None),
                "hole_fill_preset": preset_name(getattr(enhancer, "hole_fill", None)),  # on / fast / far / custom
                "holes_kept": bool(getattr(enhancer, "keep_holes", False)),  # --hole-fill keep: holes stay 0
                "wide_errors": bool(getattr(enhancer, "wide_errors", False)),
                "color_resized": resized, "depth_enlarged": enlarged, **read_as, "seconds": round(seconds, 3),
                "fps": round(frames / seconds, 3), "inference_seconds": round(infer_s, 3), **said,
            }
            title = f"{out.parent.name}/{out.name}" if is_pattern(out) else out.name  # a pattern: with its folder
            if report is not None:
                summary.update(report.summary())
                header = {
                    "tool": "igde-stream", "version": __version__, "color": str(color_path), "depth": str(depth_path),
                    "gt": str(gt_path), "output": str(out), "codec": codec, "lossless": lossless,
                    "measured_on": "enhanced frames before encoding" + ("" if lossless else " (lossy output differs)"),
                    "backend": summary["backend"], "hole_fill": summary["hole_fill"],
                    "hole_fill_layers": summary["hole_fill_layers"], "hole_fill_preset": summary["hole_fill_preset"],
                    "holes_kept": summary["holes_kept"],
                    "wide_errors": summary["wide_errors"],
                    "color_resized": resized,
                    "depth_enlarged": enlarged, **read_as,
                }
                for r in reports:
                    moves.append((temp_path(r), r))
                    report.write(r, header, to=moves[-1][0])
                summary["reports"] = [str(r) for r in reports]
                if plot is not None:
                    moves.append((temp_path(plot), plot))
                    report.plot(plot, title=title, to=moves[-1][0])
                    summary["plot"] = str(plot)
            if preview is not None:
                moves.append((temp_path(preview), preview))
                summary.update(outs.write_preview(preview, moves[-1][0], peak, title,
                                                  getattr(enhancer, "depth_order", "near-high")))
            stack.close()  # inputs and the report's row file closed before the outputs appear
            _commit(moves)  # the one step that puts every output in place
            # fps is the stream's (decode, enhance, encode); this adds the reports, plot and preview
            summary["total_seconds"] = round(time.perf_counter() - t_start, 3)
        except BaseException:
            writer.abort()
            if outs is not None:
                outs.abort()
            for tmp, _ in moves[1:] if writer.tmp is not None else moves:
                tmp.unlink(missing_ok=True)
            raise
    return summary
