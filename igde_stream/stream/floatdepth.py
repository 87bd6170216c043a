"""Float depth (PFM, OpenEXR, float TIFF, raw ``grayf32le``) brought to the 16-bit codes the model works on.

One linear map, fixed for the whole run (never per frame: per-frame normalisation flickers), takes
the range ``LO..HI`` to the codes ``1..65535``; code 0 is kept for a pixel without a value (NaN, +-inf,
and in a ``far-high`` distance map also values <= 0, the "0 = no measurement" of ``depth_order``)::

    code = 1 + round((v - LO) / (HI - LO) * 65534)      v clipped to LO..HI first
    v    = LO + (code - 1) * (HI - LO) / 65534           code 0 -> NaN

so one code step is ``(HI - LO) / 65534`` and a value comes back within half a step (plus float32
rounding); a value on the grid ``LO + k * step`` comes back as it was. The range is ``--float-range
LO:HI``, or else taken from the first frame's finite values: ``min..max`` for near-high depth
(MiDaS / DPT inverse depth), ``0..max`` of the positive values for far-high distance, so that codes
stay proportional to distance (read as inverse depth); later values outside it clip (``clip_warning``).

In far-high distance ``+inf`` is no hole but beyond every distance (a renderer's sky; ROS REP 117's
"no return within range"): code 65535, the farthest, never filled. A first frame that holds such a
**background** (``+inf``, or a renderer's far value such as Blender's 1e10: one value held by at least
``BACKGROUND_SHARE`` of the measured pixels and ``BACKGROUND_GAP`` times the farthest other one) keeps
code 65535 for it: the range is ``0..HI`` with the scene's farthest value at code 65534, other values
past HI clip to 65534, and code 65535 decodes as the background value, so a float output keeps it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from dataclasses import dataclass, field
from typing import Any, Container

import numpy as np

from ..depth_order import check_order
from ..errors import IGDEError, InputError, worded
from .formats import is_float_format
from .exrdepth import exr_channels, exr_hint  # the hints for OpenEXR channels FFmpeg does not read
from .background import BACKGROUND_GAP, BACKGROUND_SHARE, near_high_words, scene_top
from .fifos import is_fifo
from .gt_checks import float_zeros_note
from .urls import read_once

log = logging.getLogger("igde_stream.stream")
#: how a range is given: the Python API's keyword and the commands' option
API_RANGE, CLI_RANGE = "float_range=(LO, HI)", "--float-range LO:HI"

STEPS = 65534  # code steps from LO (code 1) to HI (code 65535); code 0: no value


def holes(values: np.ndarray, order: str) -> np.ndarray:
    """Where float depth ``values`` hold no depth: NaN, -inf and +inf, or for far-high distance NaN,
    -inf and values <= 0 (+inf is far away there: ``far_away``)."""
    hole = ~np.isfinite(values)
    if check_order(order) == "far-high":
        hole &= ~np.isposinf(values)
        with np.errstate(invalid="ignore"):
            hole |= values <= 0
    return hole


def far_away(values: np.ndarray, order: str) -> np.ndarray:
    """Where far-high distance ``values`` are +inf: beyond every distance, not a hole (none near-high)."""
    return np.isposinf(values) if check_order(order) == "far-high" else np.zeros(np.shape(values), bool)


def measured(values: np.ndarray, order: str) -> np.ndarray:
    """The finite depth values of ``values`` (neither holes nor +inf), flattened."""
    v = np.asarray(values)
    return v[np.isfinite(v) & ~holes(v, order)]


@dataclass(frozen=True)
class FloatMap:
    """The linear map of a run between float depth ``lo..hi`` and the codes 1..65535 (see the module
    docstring); ``order`` says what counts as a hole, ``source`` where the range came from."""

    lo: float
    hi: float
    order: str = "near-high"
    source: str = "--float-range"
    #: far-high: the first frame's background (+inf, Blender's 1e10): code 65535, never counted as clipped
    background: float | None = None
    #: code 65535 is the background's alone and decodes as it (a first-frame range); False: a given range
    #: the background lies beyond, whose 65535 is HI as well
    reserve: bool = True
    #: the files whose clipping was warned about: a ground truth that is the depth's own file is one file
    warned: set = field(default_factory=set, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_order(self.order)
        if not (math.isfinite(self.lo) and math.isfinite(self.hi) and self.lo < self.hi):
            raise IGDEError(f"float range {self.lo:g}:{self.hi:g}: needs finite LO < HI")
        if self.order == "far-high" and self.lo < 0:
            raise IGDEError(f"float range {self.lo:g}:{self.hi:g}: far-high distances are > 0, so LO must be >= 0 "
                            "(0 keeps the codes proportional to distance)")

    @property
    def step(self) -> float:
        """The float value of one code step."""
        return (self.hi - self.lo) / STEPS

    def encode(self, values: np.ndarray) -> tuple[np.ndarray, int]:
        """Float depth (H x W) -> (uint16 codes, how many measured values were outside lo..hi and clipped)."""
        v = np.asarray(values, dtype=np.float64)
        hole = holes(v, self.order)
        away = far_away(v, self.order)  # +inf: the farthest code, not counted as clipped
        if self.background is not None:
            away |= v == self.background
        with np.errstate(invalid="ignore"):
            out = ((v < self.lo) | (v > self.hi)) & ~away
            t = np.clip((v - self.lo) / (self.hi - self.lo), 0.0, 1.0)
        codes = np.where(hole, 0.0, 1.0 + np.rint(np.where(hole | away, 1.0, t) * STEPS))
        if self.background is not None and self.reserve:  # code 65535 is the background's alone
            codes = np.where(away | hole, codes, np.minimum(codes, STEPS))
        return codes.astype(np.uint16), int(np.count_nonzero(out & ~hole))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """uint16 codes -> float32 depth in the input's units; code 0 -> NaN; code 65535 -> the background
        where the map has one."""
        c = np.asarray(codes).astype(np.float64)
        v = self.lo + (c - 1.0) * (self.hi - self.lo) / STEPS
        if self.background is not None and self.reserve:
            v = np.where(c == STEPS + 1, self.background, v)
        return np.where(c == 0, np.nan, v).astype(np.float32)

    def describe(self) -> dict[str, Any]:
        """For the summary and the report: the range, where it came from, the step, the background."""
        return {"lo": self.lo, "hi": self.hi, "from": self.source, "order": self.order, "step": self.step,
                "background": self.background, "background_kept": self.background is not None and self.reserve}

    @classmethod
    def from_frame(cls, values: np.ndarray, order: str, path: str) -> FloatMap:
        """The range of one frame's measured values: min..max (near-high), 0..max (far-high)."""
        v = np.asarray(values, dtype=np.float32)
        seen = measured(v, order)
        if seen.size == 0:
            raise worded(InputError, "the first float depth frame holds no finite value to take a range from: give {}",
                         (API_RANGE,), (CLI_RANGE,), path)
        lo = 0.0 if order == "far-high" else float(seen.min())
        hi = float(seen.max())
        background = math.inf if far_away(v, order).any() else None
        if (top := scene_top(seen)) is not None and order == "far-high":  # a renderer's background
            background, hi = hi, top
        elif top is not None:  # read as inverse depth, a Z pass's sky is the nearest
            _warn(path, near_high_words(seen, top), {"<order>": ('depth_order="far-high"', "--depth-order far-high")})
        if lo == hi:
            raise worded(InputError, f"the first float depth frame is constant ({hi:g}): give {{}}", (API_RANGE,),
                         (CLI_RANGE,), path)
        if background is not None:  # the scene's farthest at code 65534, 65535 left to the background
            return cls(lo, lo + (hi - lo) * STEPS / (STEPS - 1), order, "first frame", background)
        return cls(lo, hi, order, "first frame")


def _warn(path: str, said: str, words: dict[str, tuple[str, str]]) -> None:
    """Log ``path: said`` with each placeholder of ``words`` in ``said`` in the Python API's words, and as
    the record's ``cli_text`` in the commands' (``cli_logging``)."""
    api = cli = said
    for mark, (in_api, in_cli) in words.items():
        api, cli = api.replace(mark, in_api), cli.replace(mark, in_cli)
    log.warning("%s: %s", path, api, extra={"cli_text": f"{path}: {cli}"})


def clip_warning(fmap: FloatMap, path: str, index: int, clipped: int, pixels: int) -> None:
    """Log that frame ``index`` of ``path`` had ``clipped`` of its ``pixels`` outside the range, once a
    file (a ground truth read from the depth's own file clips where the depth does): once for the files
    of an image sequence, whether named by a pattern or by their folder (``_file_key``)."""
    key = _file_key(path)
    if key in fmap.warned:
        return
    fmap.warned.add(key)
    _warn(path, f"frame {index} has {clipped} of {pixels} float depth values outside {fmap.lo:.9g}..{fmap.hi:.9g} "
          f"({fmap.source}), clipped to it; give <range> to cover them (warned once)",
          {"<range>": (API_RANGE, CLI_RANGE)})


def _file_key(path: str) -> frozenset[str] | str:
    """What the once-a-file rule of ``clip_warning`` compares: for a folder or a ``%d`` pattern, the set of
    files it reads, resolved (``depth/d_%04d.exr`` and ``depth/`` holding just those are one input; its
    images, ``imageseq.sequence_files``, else its per-frame .npy files); else the path resolved."""
    from .imageseq import sequence_files

    if os.path.isdir(path) or "%" in os.path.basename(path):
        try:
            files = sequence_files(path)
        except (InputError, OSError):
            try:
                files = [os.path.join(path, n) for n in os.listdir(path) if n.lower().endswith(".npy")
                         and not n.startswith(".")] if os.path.isdir(path) else []
            except OSError:
                files = []
        if files:
            return frozenset(os.path.realpath(f) for f in files)
    return os.path.realpath(path) if os.path.exists(path) else path


def encode_counted(reader: Any, values: np.ndarray, index: int) -> np.ndarray:
    """Float depth frame ``index`` of ``reader`` (a ``VideoReader``) through its ``float_map``: values
    outside the range are clipped, warned about once, their frames counted (``float_clipped``), and the
    range that holds them and the map's kept (``float_covering``), for the summary to name."""
    fmap = reader.float_map
    codes, clipped = fmap.encode(values)
    ordinal = getattr(reader, "float_encoded", 0)  # frames encoded before this one (the reader reads ahead)
    reader.float_encoded = ordinal + 1
    float_zeros_note(reader, values, fmap, ordinal)  # a float ground truth's 0.0 for "unknown"
    if clipped:
        if not reader.float_clipped:
            clip_warning(fmap, reader.path, index, clipped, codes.size)
        seen = measured(np.asarray(values, dtype=np.float64), fmap.order)
        if fmap.background is not None:
            seen = seen[seen != fmap.background]
        span = (float(seen.min()), float(seen.max()))
        lo, hi = reader.float_covering or (fmap.lo, fmap.hi)
        reader.float_covering = (min(lo, span[0]), max(hi, span[1]))
        reader.float_clips = [*getattr(reader, "float_clips", []), (ordinal, index, *span)]
    reader.float_clipped += bool(clipped)
    return codes


def _used(reader: Any, fmap: FloatMap, used: Container[int] | None,
          key: int) -> tuple[int, tuple[float, float] | None]:
    """(frames clipped, the range that holds them and the map's) among the frames of ``reader`` whose
    ordinal (``key`` 0: the frames it encoded, counted) or number (1: ``Frame.index``) is in ``used``
    (None: all it encoded). A run cut short (``--max-frames``, ``--to``) has its readers decode a few
    frames ahead of the last it used, and a ground truth's reader a frame before ``--start``."""
    if used is None or not hasattr(reader, "float_clips"):
        return reader.float_clipped, reader.float_covering
    spans = [(lo, hi) for *keys, lo, hi in reader.float_clips if keys[key] in used]
    if not spans:
        return 0, None
    return len(spans), (min(fmap.lo, *(lo for lo, _ in spans)), max(fmap.hi, *(hi for _, hi in spans)))


def first_frame(reader: Any, source: Any) -> np.ndarray:
    """The first frame of float depth ``reader`` (the run's ``VideoReader``, not yet reading) as float32,
    as stored (a range does not depend on the frame's orientation): the values its opening's probe
    decoded (``firstframe.FirstFrame.values``), handed over once; else a probe's made now
    (``--no-autorotate``); else (raw video, a frame that does not decode) a reader of its own
    (``source``: ``InputOptions``), whose error is the one to give. A NumPy clip's first array is
    read from the file (``arrays.array_frames``). No reader is opened where a probe holds the frame: a
    second reader would say again what the run's reader said on opening (non-square pixels, a display
    matrix)."""
    from .arrays import ArrayReader, array_frames  # they import the reader, which imports this module
    from .firstframe import probe_first_frame
    from .reader import VideoReader

    if isinstance(reader, ArrayReader):
        frames = array_frames(reader.path, reader.channel)
        try:
            return next(frames)
        finally:
            frames.close()
    probe = getattr(reader, "first_frame", None)
    if probe is None and not getattr(reader, "_probed", False):
        probe = probe_first_frame(reader.path, reader.role, reader.source, reader.stream.index, orient=False)
    if probe is not None and probe.values is not None:
        if getattr(reader, "first_frame", None) is probe:  # its values are the run's now: not kept twice
            reader.first_frame = dataclasses.replace(probe, values=None)
        return probe.values
    with VideoReader(reader.path, "depth", source=source) as again:
        return next(again.frames()).data


def clip_range(reader: Any, order: str) -> tuple[float, float] | None:
    """LO..HI that holds every frame of ``reader``'s measured values, as ``FloatMap.from_frame`` takes one
    frame's (0..max far-high, a background left out), where the whole clip is cheap to read: a NumPy clip (memory-mapped
    .npy, an .npz member read from its zip). None for any other input (a decode of every frame: an OpenEXR
    depth channel too, read as arrays are), and for a clip with no measured value or one value only."""
    from .arrays import ArrayReader, array_frames

    if not isinstance(reader, ArrayReader) or reader.info.codec != "npy":
        return None
    lo, hi = math.inf, -math.inf
    for values in array_frames(reader.path):
        seen = measured(values, order)
        if order == "far-high" and (top := scene_top(seen)) is not None:  # a renderer's background: not scene
            seen = seen[seen <= top]
        if seen.size:
            lo, hi = min(lo, float(seen.min())), max(hi, float(seen.max()))
    lo = 0.0 if order == "far-high" and hi > 0 else lo
    return (lo, hi) if lo < hi else None


def prepare(depth: Any, gt: Any, float_range: tuple[float, float] | None, order: str,
            max_depth: float | None, source: Any) -> FloatMap | None:
    """The run's ``FloatMap``, handed to the ``depth`` reader and to a float ``gt`` reader (so the report
    compares like with like), or None for integer depth. ``float_range``: (LO, HI) or None (the first
    frame's range). Refuses a range for integer depth, ``max_depth`` for float depth (the range is its
    knob) and a first-frame range from stdin, a network stream or a named pipe (none can be read twice)."""
    info = depth.info
    if not is_float_format(info.pix_fmt):
        if float_range is not None:
            said = "{} is for float depth (PFM, EXR, grayf32le); this depth is " + info.pix_fmt
            raise InputError(said.format("float_range"), depth.path, cli_problem=said.format("--float-range"))
        return None
    if max_depth is not None:  # the API's words, and the command's (IGDEError.cli_problem)
        said = "{} is for integer depth; float depth (" + info.pix_fmt + ") is mapped by {}"
        raise InputError(said.format("max_depth", "float_range=(LO, HI)"), depth.path,
                         cli_problem=said.format("--max-depth", "--float-range LO:HI"))
    if float_range is not None:
        fmap = FloatMap(float(float_range[0]), float(float_range[1]), order)
        if not read_once(depth.path):
            fmap = with_background(fmap, depth, source, _say_narrow(fmap, depth, source, order))
    elif read_once(depth.path):
        where = "stdin" if depth.path == "-" else "a named pipe" if is_fifo(depth.path) else "a network stream"
        said = (f"float depth from {where} needs {{}} (the first "
                "frame cannot be read twice)")
        raise InputError(said.format("float_range=(LO, HI)"), depth.path, cli_problem=said.format("--float-range LO:HI"))
    else:
        fmap = FloatMap.from_frame(first_frame(depth, source), order, depth.path)
    depth.float_map = fmap
    if gt is not None and is_float_format(gt.info.pix_fmt):
        gt.float_map = fmap
    log.info("%s: float depth (%s, %s) mapped to 16-bit codes: %.9g..%.9g -> 1..65535 (from %s; a step is %.3g; "
             "0: no value)%s", depth.path, info.pix_fmt, order, fmap.lo, fmap.hi, fmap.source, fmap.step,
             "" if fmap.background is None else f"; the background ({fmap.background:g}, the farthest) is code 65535, "
             + ("written back as it was" if fmap.reserve else f"written back as {fmap.hi:.9g} (HI; without {CLI_RANGE} as "
                "it was), not counted as clipped"))
    return fmap


def with_background(fmap: FloatMap, reader: Any, source: Any, seen: FloatMap | None = None) -> FloatMap:
    """A given range ``fmap`` (far-high) with the background of ``reader``'s first frame (``seen``, its own
    map, where read already) where that lies beyond HI: code 65535, written as HI, not counted as clipped
    (``FloatMap.reserve`` False); ``fmap`` as it is otherwise, and for an input that cannot be read twice.
    Near-high, the first frame is read for ``from_frame``'s warning of a background (a Z pass read so)."""
    if read_once(reader.path):
        return fmap
    if seen is None:
        try:
            seen = FloatMap.from_frame(first_frame(reader, source), fmap.order, reader.path)
        except InputError:
            return fmap
    if fmap.order == "far-high" and seen.background is not None and seen.background > fmap.hi:
        return dataclasses.replace(fmap, background=seen.background, reserve=False)
    return fmap


def _say_narrow(fmap: FloatMap, depth: Any, source: Any, order: str) -> FloatMap | None:
    """Warn when the depth's values fill under a quarter of a given range: the network then sees nearly
    flat depth, and a range nearer the values (named, its ends rounded outward) gives it more levels.
    The float form of the integer depth's --max-depth advice, which float depth refuses. A NumPy clip is
    read whole (``clip_range``), so the range named holds every frame; for any other input it is the
    first frame's, said as such, with the summary line that names the range that holds every frame
    read where later frames leave it. Returns the first frame's own map (``FloatMap.from_frame``: its
    background, if any) where it was read (not for a NumPy clip), else None."""
    from ..run_summary import outward

    whole, seen = clip_range(depth, order), None
    if whole is None:
        try:
            seen = FloatMap.from_frame(first_frame(depth, source), order, depth.path)
        except InputError:
            return None
        lo, hi = seen.lo, seen.hi
    else:
        lo, hi = whole
    share = (hi - lo) / (fmap.hi - fmap.lo)
    if share >= 0.25:
        return seen
    a, b = outward(lo, up=False), outward(hi, up=True)
    said = f"float depth spans only {100 * share:.0f} % of <given>"
    if whole is not None:
        said += (f" (every frame: {lo:.9g}..{hi:.9g}): a range nearer the values, e.g. <near>, which holds every "
                 "frame, gives the network more levels")
    else:
        said += (f" in the first frame ({lo:.9g}..{hi:.9g}; later frames are not read ahead): a range nearer the "
                 "values, e.g. <near>, gives the network more levels, but holds the first frame only; later frames "
                 "outside it are clipped, and <summary> names the range that holds every frame")
    # the = form: argparse takes "--float-range -1:5" for an option without its value
    given = (f"float_range=({fmap.lo:.9g}, {fmap.hi:.9g})", f"--float-range={fmap.lo:.9g}:{fmap.hi:.9g}")
    summary = ("float_range['covering'] of the run's summary (and of its report)",
               "the summary's line \"float depth ... N frames clipped (the values read span ...: --float-range=LO:HI "
               "holds them all)\" (report: float_range.covering)")
    _warn(depth.path, said, {"<given>": given, "<near>": (f"float_range=({a}, {b})", f"--float-range={a}:{b}"),
                             "<summary>": summary})
    return seen


def describe_run(fmap: FloatMap | None, depth: Any, gt: Any, used: int | None = None,
                 gt_used: Container[int] | None = None) -> dict[str, Any] | None:
    """The summary's and report's ``float_range``: the map, how many frames of the depth (and of a float
    ground truth) had values clipped to it, and ``covering``, [LO, HI] that holds every value read where
    some were clipped (else None); None for integer depth. ``used``: the frames the run enhanced, so
    that frames its readers decoded ahead of a cut (``--max-frames``) are not counted; ``gt_used``: the
    numbers of the ground-truth frames compared (``PsnrReport.gt_compared``: not those passed over
    between two compared, as from a ground truth at a higher frame rate); None: all."""
    if fmap is None:
        return None
    counts = {id(r): _used(r, fmap, *how) for r, how in ((depth, (None if used is None else range(used), 0)),
                                                          (gt, (gt_used, 1))) if r is not None and r.float_map is fmap}
    clipped = {"gt_clipped_frames": counts[id(gt)][0]} if id(gt) in counts else {}
    spans = [span for _, span in counts.values() if span]
    covering = [min(lo for lo, _ in spans), max(hi for _, hi in spans)] if spans else None
    return {**fmap.describe(), "clipped_frames": counts[id(depth)][0], **clipped, "covering": covering}


__all__ = ["BACKGROUND_GAP", "BACKGROUND_SHARE", "FloatMap", "STEPS", "clip_range", "clip_warning", "describe_run",
           "exr_channels", "exr_hint", "far_away", "first_frame", "holes", "measured", "prepare",
           "with_background"]
