"""The output side of ``enhance_file``: the writer stage and the outputs it feeds in one pass.

Besides the enhanced depth video (and the PSNR report), one run can write, from the same frames and
with no intermediate file:

- ``--views-out``: N views (DIBR, ``igde_stream.multiview``) of every enhanced frame in a display
  layout (grid, sbs, tab, anaglyph, views, quilt, lenticular; ``igde_stream.display``), through the
  same ``ColorWriter`` as ``igde-stream views render``, so the file is the one that command writes
  from the enhanced depth video, frame for frame (with a lossless depth codec: bit for bit);
- ``--rgbd-out``: the RGB-D layout, colour | enhanced depth as 8-bit gray (``RGBDWriter``);
- ``--preview``: the picture of the worst and a median frame (``preview.PreviewCollector``).

Every video output is written under a temporary name; ``Outputs.finish`` closes them and returns
their (temporary, final) pairs, which the pipeline renames together with the depth video and the
reports in one step (``parts.commit``, all or nothing; ``parts.check_outputs`` refuses output paths up front);
``Outputs.abort`` removes them.

Renderer (``pick_renderer``): ``numpy`` (``multiview.warp_views``), ``torch``
(``multiview_torch.TorchRenderer``, bit-identical views) on the model's device, or ``auto``: torch
when the model runs on a CUDA device (and PyTorch sees it), NumPy otherwise. A renderer on a CUDA
device renders under ``Outputs.device_lock``, which the pipeline also holds around each inference
call: the writer thread's rendering never overlaps the model's work on that device (a CUDA graph
being captured there would fail on another thread's calls); packing and encoding still overlap.
"""

from __future__ import annotations

import logging
import threading
from contextlib import nullcontext
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .. import display
from .. import multiview as mv
from ..errors import IGDEError
from .aspect import fit_layout
from .preview import PreviewCollector, write_preview
from .imageseq import frame_name
from .info import Frame, VideoInfo
from .pairing import TIE, nearer
from .report import PsnrReport
from .urls import read_once
from .view_memory import warn_layout_memory
from .view_writers import SDR
from .audio import AudioSpec
from .views import VIEW_CODECS, ColorWriter, RGBDWriter

log = logging.getLogger("igde_stream.stream")

RENDERERS = ("auto", "numpy", "torch")


@dataclass
class ViewsOptions:
    """How ``views_path`` / ``rgbd_path`` outputs are made: views geometry (``config``), the display
    ``layout`` (a name of ``display.LAYOUTS`` except rgbd, with ``layout_options``, or a
    ``display.Layout``), the ``codec`` (``views.VIEW_CODECS``), the ``renderer`` (``RENDERERS``) and
    the RGB-D output's ``depth_near`` (white or black); ``audio``: whether their video files carry the
    colour file's sound (``audio.AudioTrack``)."""

    config: mv.ViewConfig = field(default_factory=mv.ViewConfig)
    layout: str | display.Layout = "grid"
    layout_options: dict[str, Any] = field(default_factory=dict)
    codec: str = "ffv1"
    renderer: str = "auto"
    depth_near: str = "white"
    audio: bool = True

    def check(self) -> None:
        """Refuse bad options before any work is done (``IGDEError``, one line)."""
        if self.codec not in VIEW_CODECS:
            raise IGDEError(f"views codec {self.codec!r}: use one of {', '.join(sorted(VIEW_CODECS))}")
        if self.renderer not in RENDERERS:
            raise IGDEError(f"renderer {self.renderer!r}: use one of {', '.join(RENDERERS)}")
        if self.depth_near not in display.NEAR:
            raise IGDEError(f"depth near {self.depth_near!r}: use white or black")
        if self.layout == "rgbd":
            raise IGDEError("the RGB-D layout is its own output: use rgbd_path (--rgbd-out)")
        self.make_layout()  # a layout's missing or unknown options, its views that do not fit

    def make_layout(self) -> display.Layout:
        if not isinstance(self.layout, str):
            return self.layout
        try:
            return display.make_layout(self.layout, self.config, **self.layout_options)
        except ValueError as exc:
            raise IGDEError(str(exc)) from None


def pick_renderer(name: str, enhancer: Any) -> tuple[display.Renderer, str]:
    """(renderer, description) for ``RENDERERS`` name ``name`` on the enhancer's device (the backend's
    ``device``; with no enhancer, torch takes the first CUDA GPU, or the CPU without one)."""
    device = getattr(getattr(enhancer, "backend", None), "device", None)
    on_cuda = str(device).startswith("cuda")
    if name == "numpy" or (name == "auto" and not on_cuda):
        return display.numpy_renderer, "numpy (cpu)"
    try:
        import torch

        from ..multiview_torch import TorchRenderer
    except ImportError:
        if name == "auto":
            return display.numpy_renderer, "numpy (cpu; PyTorch is not installed)"
        raise IGDEError('renderer="torch" needs PyTorch (pip install torch)',
                        cli_problem="--renderer torch needs PyTorch (pip install torch)") from None
    if device is None and torch.cuda.is_available():
        device, on_cuda = "cuda", True
    if on_cuda and not torch.cuda.is_available():
        if name == "auto":
            return display.numpy_renderer, "numpy (cpu; PyTorch sees no CUDA device)"
        on_cuda = False
    target = torch.device(device if on_cuda else "cpu")
    return TorchRenderer(target), f"torch ({target})"


class _Locked:
    """A renderer that holds ``lock`` while it renders."""

    def __init__(self, render: display.Renderer, lock: Any) -> None:
        self.render, self.lock = render, lock

    def __call__(self, *args: Any) -> np.ndarray:
        with self.lock:
            return self.render(*args)


def _on_cuda(render: Any) -> bool:
    return str(getattr(render, "device", "cpu")).startswith("cuda")


class ViewsSink:
    """Renders the views of each enhanced frame and writes them in a layout (one or more files)."""

    def __init__(self, path: Path, layout: display.Layout, codec: str, info: VideoInfo,
                 render: display.Renderer, threads: int = 0, sar: Fraction | int = 1,
                 tags: tuple[int, int] = SDR, audio: AudioSpec | None = None) -> None:
        self.layout, self.sar = fit_layout(layout, sar)  # a quilt or a panel image: square, views fitted
        self.tags, self.audio = tags, audio
        self.render = render
        self.lock: Any = threading.Lock() if _on_cuda(render) else nullcontext()
        try:
            self.paths = self.layout.outputs(path, (info.width, info.height))
        except ValueError as exc:
            raise IGDEError(str(exc)) from None
        self.codec, self.info, self.threads = codec, info, threads
        self.writers: list[ColorWriter] = []

    def open(self) -> None:
        sizes = self.layout.frame_sizes((self.info.width, self.info.height))
        warn_layout_memory(self.layout, self.paths, self.codec, (self.info.width, self.info.height))
        for p, size in zip(self.paths, sizes):
            self.writers.append(ColorWriter(p, self.codec, self.info.effective_rate, self.info.time_base, self.threads,
                                            stereo_mode=self.layout.stereo_mode, size=size,
                                            level_fix=self.layout.level_fix(),
                                            frames=self.info.expected_frames, timecode=self.info.timecode,
                                            sar=self.sar, tags=self.tags, audio=self.audio))

    def write(self, color: np.ndarray, depth: np.ndarray, pts: int | None) -> None:
        render = _Locked(self.render, self.lock) if _on_cuda(self.render) else self.render
        for w, img in zip(self.writers, self.layout.frames(color, depth, render)):
            w.write(img, pts)


class Outputs:
    """Every output of one run, fed frame by frame by ``write_stage``: the depth writer (the
    pipeline's), the report, and the optional views, RGB-D and preview outputs."""

    def __init__(self, depth: Any, report: PsnrReport | None = None, *, views: ViewsSink | None = None,
                 rgbd: RGBDWriter | None = None, preview: PreviewCollector | None = None) -> None:
        self.depth, self.report, self.views, self.rgbd, self.preview = depth, report, views, rgbd, preview

    @property
    def device_lock(self) -> Any:
        """Held around each inference call (see the module docstring); a no-op without a GPU renderer."""
        return self.views.lock if self.views is not None else nullcontext()

    @property
    def needs_color(self) -> bool:
        """Whether the colour frame must travel with the enhanced depth to the writer stage."""
        return any(x is not None for x in (self.views, self.rgbd, self.preview))

    def _videos(self) -> Iterator[Any]:
        yield from (self.views.writers if self.views is not None else [])
        if self.rgbd is not None:
            yield self.rgbd

    def starts_at(self, index: int) -> None:
        """The first frame written is the input's frame ``index`` (``--start``), before it is written:
        image numbers and timecodes from that frame's (``DepthWriter.starts_at``)."""
        for w in (self.depth, *self._videos()):
            w.starts_at(index)

    def write(self, index: int, pts: int | None, pts_time: float, color: np.ndarray | None, inp: np.ndarray,
              out: np.ndarray, gt: Frame | None, values: np.ndarray | None = None) -> None:
        if values is None:  # (a writer of the plain signature: every run without a float output)
            self.depth.write(out, pts)
        else:  # a float output: the values the model left alone written as read
            self.depth.write(out, pts, inp=inp, values=values)
        if pts is None:  # the pts the depth writer gave the frame, so that every output has the same
            pts = getattr(self.depth, "_last_pts", None)
        row = None
        if self.report is not None:
            row = self.report.add(index, pts_time, out, inp, None if gt is None else gt.data,
                                  None if gt is None else gt.pts_time)
        if color is None:
            return
        if self.views is not None:
            self.views.write(color, out, pts)
        if self.rgbd is not None:
            self.rgbd.write(color, out, pts)
        if self.preview is not None:
            self.preview.add(index, pts_time, color, inp, out, None if gt is None else gt.data,
                             None if row is None else row.psnr)

    def finish(self) -> list[tuple[Path, Path]]:
        """Close every extra video (temporary names kept); their (temporary, final) pairs."""
        moves = []
        for w in self._videos():
            w.finish()
            moves.append((w.tmp, w.path))
        return moves

    def write_preview(self, path: Path, tmp: Path, peak: float, title: str, order: str = "near-high") -> dict[str, Any]:
        picks = self.preview.picks()
        first, pattern = getattr(self.depth, "first_number", None), Path(getattr(self.depth, "out", "")).name
        names = None if first is None else (lambda i: frame_name(pattern, first + i))  # image outputs' names
        write_preview(path, picks, peak, self.preview.by_psnr, title=title, to=tmp, order=order,
                      psnr_peak=None if self.report is None else self.report.peak, names=names)
        return {"preview": str(path), "preview_ranked_by": "psnr" if self.preview.by_psnr else "mean change",
                "preview_frames": {label.split(" ")[0]: f.index for label, f in picks}}

    def abort(self) -> None:
        for w in self._videos():
            w.abort()


def open_outputs(depth_writer: Any, report: PsnrReport | None, info: VideoInfo, enhancer: Any, *,
                 views_path: Path | None, rgbd_path: Path | None, preview: bool, options: ViewsOptions,
                 check: Callable[[list[Path]], None], sar: Fraction | int = 1,
                 tags: tuple[int, int] = SDR, audio: AudioSpec | None = None) -> tuple[Outputs, dict[str, Any]]:
    """The ``Outputs`` of a run and what the summary says about them. ``check(paths)`` refuses output
    paths (exists, same as an input, ...) before anything is created; the views' paths are only
    known here (a quilt's name carries its aspect; ``views`` makes one file per view). ``sar``: the
    views' and RGB-D output's pixel aspect (``aspect.views_sar``; a quilt and a panel image: square).
    ``tags``: the views' colour primaries and transfer (``view_writers.colour_tags``; RGB-D: ``SDR``);
    ``audio``: the colour's sound, which the views and RGB-D videos carry (``audio.audio_spec``)."""
    said: dict[str, Any] = {}
    sink = None
    threads = getattr(depth_writer, "threads", 0)  # --threads: every encoder's, as the depth's
    if views_path is not None:
        render, said["renderer"] = pick_renderer(options.renderer, enhancer)
        sink = ViewsSink(views_path, options.make_layout(), options.codec, info, render, threads, sar, tags, audio)
        said["views_outputs"] = [str(p) for p in sink.paths]
        n = options.config.n_views  # a stereo layout renders the two extreme views of n alone
        what = (f"stereo pair of the extreme views (of {n})" if isinstance(sink.layout, display.StereoPair)
                else f"{n} view{'s' if n != 1 else ''}")
        name = next((k for k, c in display.LAYOUT_CLASSES.items() if type(sink.layout) is c),
                    type(sink.layout).__name__.lower())  # the --layout name: sbs, not sidebyside
        log.info("views: %s, %s layout, renderer %s -> %s", what, name, said["renderer"],
                 ", ".join(said["views_outputs"]))
    check([*(sink.paths if sink else []), *([rgbd_path] if rgbd_path else [])])
    outs = Outputs(depth_writer, report)
    try:
        if sink is not None:
            outs.views = sink
            sink.open()
        if rgbd_path is not None:
            outs.rgbd = RGBDWriter(rgbd_path, options.codec, info.effective_rate, info.time_base,
                                   near=options.depth_near, max_depth=options.config.max_depth,
                                   order=options.config.depth_order, threads=threads, size=(info.width, info.height),
                                   frames=info.expected_frames, timecode=info.timecode, sar=sar, audio=audio)
            said["rgbd_output"] = str(rgbd_path)
    except BaseException:
        outs.abort()
        raise
    if preview:
        by_psnr = report is not None and report.gt_problem is None
        frame_bytes = info.width * info.height * (3 + 3 * info.dtype.itemsize)
        outs.preview = PreviewCollector(by_psnr, frame_bytes=frame_bytes)
    return outs, said


class GtMatcher:
    """Pairs output frames (in order) with ground-truth frames by time: the ground-truth frame nearest
    the output frame's time (ties: the earlier), within ``tolerance``; the rest count as unmatched.
    The first match warns (log ``igde_stream.stream``) when the ground truth starts more than the
    tolerance away from the depth, as colour and depth do: times count from each stream's start.
    ``by_index``: a ground truth with no times of its own (an image sequence, raw frames, an array:
    frame k at k / fps) beside a depth video: its frame k meets the output frame numbered k (the report's
    ``index``), which at a constant rate is the frame of that time, and at a variable one the frame
    the sequence was made for (by time, frames at irregular times met their neighbours' ground truth)."""

    def __init__(self, frames: Iterator[Frame], tolerance: float, report: PsnrReport, usable: bool,
                 names: tuple[str, str] = ("", ""), cut: Any = None, on_cut: Callable[[], Any] | None = None,
                 late: bool = False, by_index: bool = False) -> None:
        self.frames, self.tolerance, self.report, self.usable = frames, tolerance, report, usable
        self.by_index = by_index
        self.late = late  # the output starts after the depth's start (--start): earlier ground truth is not counted
        # cut (an Event): set when the run stopped before the depth's end (--max-frames); the ground
        # truth after the last output frame is then not counted as unmatched, and on_cut stops its reader
        self.cut, self.on_cut = cut, on_cut
        self.names = names  # (depth, ground truth) as the log names them
        self.ahead: deque[Frame] = deque()  # read but not yet matched or passed over
        self.done = False
        self.checked = False

    def _peek(self, k: int = 0) -> Frame | None:
        while len(self.ahead) <= k and not self.done:
            f = next(self.frames, None)
            self.done = f is None
            if f is not None:
                self.ahead.append(f)
        return self.ahead[k] if len(self.ahead) > k else None

    def _pass_over(self) -> None:
        g = self.ahead.popleft()
        self.report.add_unmatched_gt(g.index, g.pts_time)

    def match(self, t: float, start: float | None = None, index: int | None = None) -> Frame | None:
        """The ground-truth frame for the output frame at ``t`` (seconds, as pairing counts them), or
        None; ``start``: the depth stream's start time, for the start-offset warning; ``index``: the
        output frame's number, which ``by_index`` pairs on."""
        if not self.usable:
            return None
        if self.by_index and index is not None:
            return self._match_index(index)
        if not self.checked and start is not None and (g := self._peek()) is not None:
            self.checked = True
            if abs((g.pts_time - g.time) - start) > self.tolerance + TIE:
                log.warning("ground truth %s starts at %.3f s and depth %s at %.3f s (more than half a frame "
                            "apart); frames are compared counting from each stream's own start (sync relative); "
                            "--sync absolute compares them on their timestamps as they are",
                            self.names[1], g.pts_time - g.time, self.names[0], start)
        # exactly half a frame away (the tolerance) is in reach, whatever the float noise of the times
        while (g := self._peek()) is not None and g.time < t - self.tolerance - TIE:
            if self.late:  # before the first frame written: not a frame the output lacks
                self.ahead.popleft()
            else:
                self._pass_over()
        self.late = False
        if g is None or g.time - t > self.tolerance + TIE:
            return None
        while (nxt := self._peek(1)) is not None and nearer(nxt.time, g.time, t):
            self._pass_over()
            g = nxt
        self.report.gt_compared.add(g.index)  # not those read before --start, passed over or ahead of a cut
        return self.ahead.popleft()

    def _match_index(self, index: int) -> Frame | None:
        """The ground-truth frame numbered ``index``, or None; those before it are passed over."""
        while (g := self._peek()) is not None and g.index < index:
            if self.late:  # before the first frame written: not a frame the output lacks
                self.ahead.popleft()
            else:
                self._pass_over()
        self.late = False
        if g is None or g.index != index:
            return None
        self.report.gt_compared.add(g.index)
        return self.ahead.popleft()

    def finish(self) -> None:
        # a live ground truth (stdin, a network stream) may never end: after the last output frame it
        # is read no further, as after a cut, and what it would still send is not counted
        if (self.cut is not None and self.cut.is_set()) or read_once(self.names[1]):
            if self.on_cut is not None:
                self.on_cut()
            return
        while self._peek() is not None:
            self._pass_over()


def write_stage(q: Any, outputs: Outputs, gt: Any, tick: Callable[[int], Any]) -> None:
    """The writer thread: each enhanced frame (``stages._Enhanced``) to every output, matched with
    its ground-truth frame (``gt``: a ``GtMatcher`` or None)."""
    for item in q:
        d = item.depth
        g = gt.match(d.time, d.pts_time - d.time, d.index) if gt is not None else None
        outputs.write(d.index, d.pts, d.pts_time, item.color, d.data, item.out, g, getattr(d, "values", None))
        tick(1)
    outputs.depth.close()
    if gt is not None:
        gt.finish()
