"""``Enhancer``: the pipeline-stage API (model + backend built once, frames in, enhanced depth out).

Importing this module needs NumPy only: PyTorch, ONNX Runtime and TensorRT load inside the backend
that is picked, so the runtime install (ONNX Runtime, no PyTorch) works.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .backends import BACKEND_OPTIONS, Choice, create_backend, select_backend
from .depth_order import ORDERS, denormalize, normalize
from .depth_range import warn_depth_range
from .hole_fill import DEFAULT_FILL, HoleFill, fill_frames
from .signals import say
from .strips import CPU_MAX_PIXELS, margin_for, run_bounded

from .enhancer_inputs import as_array, check_layout, depth_type_hint
from .errors import EnhancerBusyError, EnhancerError, IGDEError

log = logging.getLogger("igde_stream")
_PEAKS = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


class Enhancer:
    """Enhance depth frames with an IGDE model.

    ``model``: a registered name (its shipped ``.pt`` for torch, ``.onnx`` for onnxruntime, an engine
    built from the ``.onnx`` for tensorrt) or a path to a ``.pt`` checkpoint, ``.onnx`` file or
    TensorRT ``.engine``. ``backend``: ``auto`` (TensorRT when an engine (``engine=``, or a
    matching one in ``engines/``) and a GPU are there, else PyTorch CUDA, else ONNX Runtime CPU),
    ``onnxruntime``, ``torch`` or ``tensorrt``. ``device``: ``cpu``, ``cuda`` or ``cuda:N`` (None:
    auto). ``batch``: frames per backend call. ``max_depth``: normalising peak for depth (default:
    255 for uint8, 65535 for uint16); finite, at most the dtype's range; pixels above it pass through
    unchanged. ``depth_order``: ``near-high`` (default; depth grows toward the camera, like
    disparity) or ``far-high`` (distance maps, 0 = no measurement; ``max_depth`` is then the far
    limit): far-high depth is read as inverse depth for the network and turned back
    (``depth_order``), so the output keeps the input's order and unit. The first frames are checked
    once (``warn_depth_range``): depth the network would see nearly flat, clipped or not at all gets
    a warning on the ``igde_stream`` logger naming the ``max_depth`` that fits. ``quiet``: do not
    print the backend choice on stderr (it is always logged on the ``igde_stream`` logger).
    ``hole_fill``: holes (depth 0) get the colour-guided mean of the measured depth around them
    (:mod:`igde_stream.hole_fill`, a joint bilateral window of 55 px, and beyond its reach the measured
    depth spread along the colour over the frame; True: ``hole_fill.DEFAULT_FILL``, or a
    ``HoleFill`` of one's own, ``HoleFill(layers=2)`` the far layer's mean where there are two, far
    as ``depth_order`` says; False: the model's own output there, which gives holes beside measured
    depth a neighbour's value; ``"keep"``: no fill, and every hole stays 0 in the output, for
    reconstruction that fuses measured depth only); None (default): on when the
    model reads depth 0 as a hole (its config's ``zero_holes``, as the shipped models do).
    ``wide_errors``: for outlines 7-14 px off, beyond the model's 7 px reach (a stereo matcher's large
    windows, sensor depth enlarged 2x): the network runs on the frames at half size first and then at
    full size (``_half_size_first``; about 1.15x the time, and worse than one pass on narrow errors:
    docs/models.md, "Wide errors").
    ``max_pixels``: the most pixels one backend call holds; larger frames run in overlapping row
    strips with the same output (:mod:`igde_stream.strips`). 0 (default): 1920 x 1088 on the CPU (ONNX
    Runtime holds about 1 KB a pixel: a 4K frame would take 8 GB), no limit on a GPU; None: no limit.
    A graph of one frame size or a model with ``global_context`` (a frame-wide mean) gets whole frames;
    a deeper model of one's own gets strips that overlap as far as it reads (``strips.margin_for`` its
    config: ``strip_margin``, 64 rows or more).
    ``backend_options`` go to the backend (``threads``, ``precision``, ``cuda_graph``, ``engine``,
    ...; see ``backends.BACKEND_OPTIONS``).

    ``enhance(color, depth)``: colour H x W x 3 uint8 RGB and depth H x W uint8/uint16 (one frame),
    or N x H x W x 3 and N x H x W (a batch); returns depth of the same shape and dtype.

    Threads: one Enhancer per thread. Its backend owns pinned buffers, CUDA graph tensors or a
    TensorRT context that one call at a time may use, so ``enhance`` takes a non-blocking lock and
    raises ``EnhancerBusyError`` when another thread is inside it (instead of corrupting both
    results, or queueing silently). Build one Enhancer per worker thread, or serialise the calls.
    """

    def __init__(
        self,
        model: str | Path = "igde-small",
        backend: str = "auto",
        device: str | None = None,
        batch: int = 4,
        max_depth: float | None = None,
        *,
        depth_order: str = "near-high",
        quiet: bool = False,
        hole_fill: bool | str | HoleFill | None = None,
        max_pixels: int | None = 0,
        wide_errors: bool = False,
        **backend_options: Any,
    ) -> None:
        check_options(batch, max_depth, depth_order, hole_fill, wide_errors)
        self.wide_errors = bool(wide_errors)
        if max_pixels is not None and (isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer))
                                       or max_pixels < 0):
            raise EnhancerError(f"max_pixels must be None or an integer >= 0 (0: auto), got {max_pixels!r}")
        self.batch = int(batch)
        self.max_depth = max_depth
        self.depth_order = depth_order
        self._range_checked = False
        self._busy = threading.Lock()
        chosen = backend  # the backend being set up, for the messages
        try:
            if backend == "auto":
                known = set().union(*BACKEND_OPTIONS.values())
                if set(backend_options) - known:  # options of no backend at all: a typo, not another backend's
                    raise EnhancerError(f"unknown backend option(s) {sorted(set(backend_options) - known)}; the "
                                        f"backends take: {', '.join(sorted(known))}")
                choice = select_backend(model, device, backend_options.get("engine"), backend_options.get("engines_dir"),
                                        backend_options.get("precision"))
                chosen = choice.backend
                opts = {k: v for k, v in backend_options.items() if k in BACKEND_OPTIONS[choice.backend]}
                dropped = sorted(k for k, v in backend_options.items() if k not in opts and v is not None)
                if dropped:  # e.g. precision=fp16 where auto picked ONNX Runtime on the CPU (float32)
                    log.warning("backend auto chose %s: %s not used there", choice.backend,
                                ", ".join(f"{k}={backend_options[k]!r}" for k in dropped))
                opts.update(choice.options)
            else:
                choice = Choice(backend, device or ("cuda" if backend == "tensorrt" else "cpu"), "asked for", {})
                opts = dict(backend_options)
            if not isinstance(model, (str, os.PathLike)) and choice.backend != "torch":
                raise EnhancerError(f"a PyTorch module runs on the torch backend only, not {choice.backend}: "
                                    "export it to ONNX first (igde_stream.export.export_onnx)")
            if choice.backend == "tensorrt":
                opts.setdefault("max_batch", self.batch)
                opts.setdefault("quiet", quiet)
            self.backend = create_backend(choice.backend, model=model, device=choice.device, **opts)
        except IGDEError:
            raise
        except ModuleNotFoundError as exc:  # a backend's module: say which and how to get it
            name = (exc.name or str(exc).rpartition(" ")[2].strip("'\"")).split(".")[0]
            hint = {"torch": "pip install 'igde-stream[torch]'", "tensorrt": "pip install 'igde-stream[tensorrt]'",
                    "onnxruntime": "pip install onnxruntime"}.get(name)
            raise EnhancerError(f"the {chosen} backend needs the Python module {name}, which is "
                                "not installed" + (f" ({hint})" if hint else "")) from exc
        except (ValueError, FileNotFoundError, ImportError, OSError) as exc:
            raise EnhancerError(str(exc).strip() or exc.__class__.__name__) from exc
        self.backend_reason = choice.reason
        on_cpu = str(getattr(self.backend, "device", "cpu")).startswith("cpu")
        self.max_pixels = (CPU_MAX_PIXELS if on_cpu else None) if max_pixels == 0 else max_pixels
        config = model_config(self.backend)
        if getattr(self.backend, "fixed_size", None) is not None or config.get("global_context"):
            self.max_pixels = None  # a graph of one frame size, or a frame-wide mean (global_context): no strips
        self.strip_margin = margin_for(config)  # rows of context around each strip: more for a deeper model
        if hole_fill is None:  # the model's own reading of depth 0: a hole to fill, or a depth
            hole_fill = bool(config.get("zero_holes", False))
        self.keep_holes = hole_fill == "keep"  # no fill, and the model's picks for holes taken back
        hole_fill = False if self.keep_holes else hole_fill
        self.hole_fill: HoleFill | None = DEFAULT_FILL if hole_fill is True else hole_fill or None
        # the fill's threads: the model's CPU threads where given, else the CPUs this process may use (it
        # runs after the model)
        from .batch_jobs import usable_cpus

        self.fill_workers = int(backend_options.get("threads") or min(8, usable_cpus()))
        message = f"backend {self.backend_description} [{backend}: {choice.reason}]"
        log.info(message)
        if not quiet:
            say(f"igde-stream: {message}", err=True)  # a log nobody reads (2>&1 | head -c 100) is no error

    @property
    def backend_name(self) -> str:
        return self.backend.name

    @property
    def backend_description(self) -> str:
        return getattr(self.backend, "description", self.backend.name)

    def peak_for(self, dtype: np.dtype) -> float:
        """The normalising peak for depth of ``dtype``: ``max_depth``, or the dtype's full range.

        A ``max_depth`` above the dtype's range is refused (the output could not hold it)."""
        try:
            full = _PEAKS[np.dtype(dtype)]
        except KeyError:
            raise EnhancerError(f"depth must be uint8 or uint16, got {np.dtype(dtype)}{depth_type_hint(dtype)}") from None
        if self.max_depth is None:
            return full
        if self.max_depth > full:
            raise EnhancerError(f"max_depth {self.max_depth:g} is above the range of {np.dtype(dtype)} depth (0..{full:g})")
        return float(self.max_depth)

    def new_stream(self, check_range: bool = True) -> None:
        """The next ``enhance`` call starts a new stream: its depth range is checked again
        (``warn_depth_range``), unless ``check_range`` is False (float depth, whose range is its
        map's, not ``max_depth``'s). ``enhance_file`` calls it for each file pair."""
        self._range_checked = not check_range

    def enhance(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Colour (N x) H x W x 3 uint8 RGB (not BGR), depth (N x) H x W uint8/uint16 (no channel axis)
        -> depth, same shape and dtype; anything ``np.asarray`` reads as such arrays. Another layout or
        dtype is an ``EnhancerError`` naming what was given (``enhancer_inputs.check_layout``).

        Raises ``EnhancerBusyError`` when another thread is using this Enhancer (see the class)."""
        if not self._busy.acquire(blocking=False):
            raise EnhancerBusyError("one Enhancer per thread; this one is in use by another thread")
        try:
            return self._enhance(color, depth)
        finally:
            self._busy.release()

    def _enhance(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        color, depth = as_array(color, "colour"), as_array(depth, "depth")
        check_layout(color, depth)  # the caller's shapes, in the message too
        given = depth.dtype
        if given.kind == "u" and not given.isnative:  # e.g. np.frombuffer of a big-endian 16-bit PGM
            depth = depth.astype(given.newbyteorder("="))
        single = depth.ndim == 2
        if single:
            color, depth = color[None], depth[None]
        if color.dtype != np.uint8:
            hint = (" (16-bit colour, as cv2.imread(path, cv2.IMREAD_UNCHANGED) gives a 16-bit PNG or TIFF: "
                    "(color >> 8).astype(np.uint8), within one level of the command's conversion)"
                    if color.dtype == np.uint16 else "")
            raise EnhancerError(f"colour must be uint8 RGB, got {color.dtype}{hint}")
        if min(depth.shape[1:]) < 1:  # no backend runs an empty frame (PyTorch's convolutions fail on it)
            raise EnhancerError(f"frames of {depth.shape[2]}x{depth.shape[1]} pixels: a frame needs at least one "
                                "pixel a side")
        if min(depth.shape[1:]) < 2 and getattr(self.backend, "name", "") in ("onnxruntime", "tensorrt"):
            # the exported graphs' H and W are dynamic from 2 up (torch.export's range); PyTorch runs any size
            said = f"frames of {depth.shape[2]}x{depth.shape[1]} pixels: the {self.backend.name} model needs at least 2x2"
            raise EnhancerError(f'{said} (backend="torch" runs smaller frames)',
                                cli_problem=f"{said} (--backend torch runs smaller frames)")
        peak = self.peak_for(depth.dtype)
        order = self.depth_order
        if not self._range_checked and len(depth):  # an empty batch leaves the check to the first frames
            self._range_checked = True
            warn_depth_range(depth, peak, order)
        src = self._half_size_first(color, depth, peak, order) if self.wide_errors else depth
        out = self._run(color, src, peak, order)
        if self.hole_fill is not None:
            # holes (depth 0) get the colour-guided mean of the measured depth around them
            # (igde_stream.hole_fill), which reaches further than the model's candidates; after the
            # max_depth pass-through, whose leak rule would take a fill of exactly the peak for a leak
            fill_frames(color, depth, out, self.hole_fill, peak, order, self.fill_workers)
        if self.keep_holes:
            out[depth == 0] = 0
        out = out if out.dtype == given else out.astype(given)  # the caller's byte order back
        return out[0] if single else out

    def _run(self, color: np.ndarray, depth: np.ndarray, peak: float, order: str) -> np.ndarray:
        """The network on N x H x W x 3 colour and N x H x W depth, ``self.batch`` frames a call; depth
        above ``peak`` passes through."""
        out = np.empty_like(depth)
        for s in range(0, len(depth), self.batch):
            c = np.ascontiguousarray(color[s : s + self.batch].transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255)
            src = depth[s : s + self.batch, None]
            d = np.ascontiguousarray(normalize(src, peak, order))
            try:
                y = run_bounded(self.backend.run, c, d, self.max_pixels, self.strip_margin)
            except ValueError as exc:  # a graph that cannot take these frames (a fixed shape, ...)
                raise EnhancerError(str(exc)) from None
            out[s : s + self.batch] = denormalize(y, peak, order, depth.dtype, src, d)[:, 0]
        if peak < _PEAKS[depth.dtype]:
            # values beyond max_depth are outside the model's range: they pass through unchanged
            above = depth > peak
            out[above] = depth[above]
            if order == "near-high" and above.any():
                # the network read them clipped to the peak; a pixel that took that clipped value from a
                # neighbour would get a depth the input never had: it keeps its input instead (so does one
                # that took an in-range neighbour of exactly the peak: the two cannot be told apart)
                top = np.rint(np.float32(peak)).astype(out.dtype)
                leaked = ~above & (out == top) & (depth != top)
                out[leaked] = depth[leaked]
        return out

    def _half_size_first(self, color: np.ndarray, depth: np.ndarray, peak: float, order: str) -> np.ndarray:
        """``wide_errors``: the network on the frames at half size first (colour averaged over 2 x 2
        pixels, depth every other pixel of every other row; an odd last row or column left out of both),
        where errors twice as wide as its reach fall within it; the pixels whose value that pass changed
        take the new value, repeated over their 2 x 2 pixels at full size (a value of the input still),
        except depth above ``peak``, which passes through unenhanced as in one pass (and, with the hole
        fill on, values picked for holes, left to the fill); the full-size pass then runs on that.
        Frames under 4 pixels a side are left to the full-size pass."""
        import cv2

        h, w = (depth.shape[1] // 2, depth.shape[2] // 2)
        if min(h, w) < 2:
            return depth
        # the 2 x 2 blocks the depth is sampled from: over the whole of an odd frame INTER_AREA would
        # shrink the colour by (2 w + 1) / w, drifting off the depth toward the right and bottom edges
        small_c = np.stack([cv2.resize(c[: 2 * h, : 2 * w], (w, h), interpolation=cv2.INTER_AREA) for c in color])
        small_d = np.ascontiguousarray(depth[:, : 2 * h : 2, : 2 * w : 2])
        moved = self._run(small_c, small_d, peak, order)
        moves = moved != small_d
        if self.hole_fill is not None:  # holes get the fill after the model: a value picked for one at half
            moves &= small_d != 0       # size is no depth for the measured pixels of its 2 x 2 block
        changed = np.repeat(np.repeat(moves, 2, 1), 2, 2)
        changed &= ~(depth[:, : 2 * h, : 2 * w] > peak)  # above max_depth: as it is, for the full pass to pass on
        out = depth.copy()
        out[:, : 2 * h, : 2 * w][changed] = np.repeat(np.repeat(moved, 2, 1), 2, 2)[changed]
        return out


def check_options(batch: Any = 4, max_depth: Any = None, depth_order: Any = "near-high", hole_fill: Any = None,
                  wide_errors: Any = False) -> None:
    """Refuse the ``Enhancer``'s own options (``EnhancerError``, one line) before any model is loaded:
    a bad option is not a model that cannot be loaded."""
    if isinstance(batch, bool) or not isinstance(batch, numbers.Integral) or batch < 1:
        raise EnhancerError(f"batch must be an integer >= 1, got {batch!r}")
    if max_depth is not None and (isinstance(max_depth, bool) or not isinstance(max_depth, numbers.Real)
                                  or not (math.isfinite(max_depth) and max_depth > 0)):
        raise EnhancerError(f"max_depth must be a finite number > 0, got {max_depth!r}")
    if depth_order not in ORDERS:
        raise EnhancerError(f"depth_order must be near-high or far-high, got {depth_order!r}")
    if hole_fill is not None and not isinstance(hole_fill, (bool, HoleFill)) and not (
            isinstance(hole_fill, str) and hole_fill == "keep"):
        raise EnhancerError(f"hole_fill must be None, True, False, 'keep' or a HoleFill, got {hole_fill!r}")
    if not isinstance(wide_errors, (bool, np.bool_)):
        raise EnhancerError(f"wide_errors must be True or False, got {wide_errors!r}")


def check_enhancer_options(options: dict[str, Any], enhancer: Any = None, caller: str = "enhance_file") -> None:
    """``check_options`` on the Enhancer's own options among the keywords of an ``Enhancer(...)`` call
    (None: the default), as ``enhance_file`` and the batch jobs take them. A keyword that is neither
    an Enhancer parameter nor any backend's option is a ``TypeError`` naming it (``gt=`` for
    ``gt_path=`` is a typo, not a backend option that cannot load the model), and so are options
    beside an ``enhancer`` already built. ``model_threads``: the backend's ``threads``, named apart from
    ``enhance_file``'s own ``threads`` (the decoder's and encoder's); ``load_enhancer`` maps it."""
    import inspect

    params = set(inspect.signature(Enhancer.__init__).parameters) - {"self", "backend_options"} | {"model_threads"}
    unknown = sorted(set(options) - params - set().union(*BACKEND_OPTIONS.values()))
    if unknown:
        raise TypeError(f"{caller}() got unexpected keyword argument(s) {unknown}: neither its own nor an "
                        "Enhancer's or a backend's")
    if enhancer is not None and options:
        raise TypeError(f"pass either enhancer= or enhancer options, not both (got {sorted(options)})")
    own = ("batch", "max_depth", "depth_order", "hole_fill", "wide_errors")
    check_options(**{k: v for k, v in options.items() if k in own and v is not None})


def model_config(backend: Any) -> dict[str, Any]:
    """The model config a backend runs (ONNX metadata, a TensorRT engine's sidecar or, before the
    engine is built at the first batch, its ONNX's metadata, a PyTorch model's ``config``), as a
    dict; empty when it carries none."""
    import dataclasses
    import json

    metas = [getattr(backend, "metadata", None), getattr(getattr(backend, "info", None), "model", None)]
    if metas[1] is None and getattr(backend, "onnx", None) is not None:  # TensorRT, no engine yet
        from .engine import onnx_metadata

        try:
            metas[1] = onnx_metadata(backend.onnx)
        except Exception:  # noqa: BLE001 - an ONNX that cannot be read fails the engine build, which says so
            pass
    for meta in metas:
        cfg = meta.get("config") if isinstance(meta, dict) else None
        if isinstance(cfg, str):
            try:
                cfg = json.loads(cfg)
            except ValueError:
                cfg = None
        if isinstance(cfg, dict):
            return cfg
    cfg = getattr(getattr(backend, "model", None), "config", None)
    return dataclasses.asdict(cfg) if dataclasses.is_dataclass(cfg) else {}


def load_enhancer(options: dict[str, Any]) -> Enhancer:
    """An ``Enhancer(**options)``; options it does not know are a ``TypeError`` as themselves, and a model
    that cannot be loaded an ``IGDEError`` naming it."""
    check_enhancer_options(options)  # refused as themselves, not as a model that cannot be loaded
    threads = options.get("model_threads")  # the model's CPU threads (--model-threads): the backend's threads
    options = {k: v for k, v in options.items() if k != "model_threads"}
    if threads is not None:
        options["threads"] = threads
    try:
        return Enhancer(**options)
    except IGDEError as exc:
        if exc.path is not None:
            raise
        cli = None if exc.cli_problem is None else f"cannot load the model: {exc.cli_problem}"
        raise IGDEError(f"cannot load the model: {exc.problem}", str(options.get("model", "igde-small")),
                        cli_problem=cli) from None
    except TypeError:
        raise
    except (OSError, ValueError, RuntimeError, ImportError, KeyError) as exc:
        raise IGDEError(f"cannot load the model: {exc}", str(options.get("model", "igde-small"))) from None
