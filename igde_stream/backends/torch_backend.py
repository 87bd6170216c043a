"""PyTorch backend: CPU (float32) or CUDA (FP16, channels_last, pinned buffers, CUDA graphs).

On CUDA the defaults are the fast path: half precision weights and activations in channels_last
layout, host frames staged through pinned buffers with non-blocking copies, and, for a gated
selection head, the gated-pixel form (its shapes depend on the data, so it runs without a graph);
for other models, and for the dense form (``sparse=False``, ``compile=True``), one CUDA graph
captured per input shape (N, H, W) and replayed afterwards; a smaller batch of a size already
captured (a stream's last, partial batch) runs padded with its last frame in that graph, as on
TensorRT, rather than capturing (and, compiled, compiling) again. The graph takes and returns float32
(the cast to half happens inside it), so the interface stays float32 in [0, 1] like every backend.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..models import create_model, load_checkpoint
from . import check_not_other_file, check_threads, empty_batch
from ..models.selection import chooses_input

_PRECISIONS = ("fp32", "fp16")


@dataclass
class TorchOptions:
    """Knobs of the PyTorch backend; ``None`` means the device's (and model's) default.

    precision: ``fp32`` or ``fp16`` (default fp16 on CUDA, fp32 on CPU; fp16 needs CUDA).
    channels_last: NHWC memory layout (default on CUDA). cuda_graph: capture one graph per input
    shape and replay it. max_graphs: graphs kept (least recently used dropped). threads: CPU
    intra-op threads (default: PyTorch's).

    A gated selection head (``igde-small``) has two forms of its hard output. ``sparse`` (the
    default, CPU and CUDA): only the pixels its gate fires on are scored
    (``SelectionHead.hard_sparse``); measured fastest on an H200 without compiling (345-349 frames/s
    at 960x540, batch 8, FP16, against 108 for the dense form in a CUDA graph), but its shapes depend on
    the data, so no CUDA graph can hold it. Dense (``sparse=False``): every pixel is scored, graph
    friendly; ``stacked`` then builds its attend terms from one stack of shifted maps
    (``SelectionHead._logits_stacked``) rather than candidate by candidate: tens of kernels instead
    of over a thousand, but two to three times the memory (17.8 against 6.4 GB at 960x540, batch 8,
    FP32) for the same speed in a graph, so it is the default only with ``compile``.
    ``compile``: ``torch.compile`` the dense, stacked forward pass (CUDA only; the first call at each
    input shape compiles, about a minute for igde-small) and replay it in a CUDA graph: 445 frames/s
    at 960x540, batch 8, on an H200 (12.4 GB). Asking for ``cuda_graph`` or ``compile`` makes the
    dense form the default; with ``sparse=True`` either is an error. For other models ``sparse`` and
    ``stacked`` do nothing, and the graph is on by default on CUDA.
    """

    precision: str | None = None
    channels_last: bool | None = None
    cuda_graph: bool | None = None
    max_graphs: int = 4
    threads: int | None = None
    sparse: bool | None = None
    stacked: bool | None = None
    compile: bool = False

    def resolved(self, cuda: bool, gated: bool = True) -> "TorchOptions":
        """The options with every default filled in, for a CUDA device or the CPU and a model with a
        gated selection head (``gated``: the sparse form exists) or without."""
        precision = self.precision or ("fp16" if cuda else "fp32")
        if precision not in _PRECISIONS:
            raise ValueError(f"precision must be one of {_PRECISIONS}, got {precision!r}")
        if precision == "fp16" and not cuda:
            raise ValueError("precision 'fp16' needs a CUDA device for the PyTorch backend; use fp32 on CPU")
        if self.compile and not cuda:
            raise ValueError("compile needs a CUDA device (on the CPU the gated-pixel form is faster)")
        dense_asked = bool(self.cuda_graph) or self.compile
        sparse = (gated and not dense_asked) if self.sparse is None else bool(self.sparse and gated)
        if sparse and dense_asked:
            what = "compile" if self.compile else "cuda_graph"
            raise ValueError(f"sparse (gated pixels only) has data-dependent shapes: it cannot go with {what}; "
                             "set sparse=False")
        graph = (cuda and not sparse) if self.cuda_graph is None else self.cuda_graph
        if graph and not cuda:
            raise ValueError("cuda_graph needs a CUDA device")
        return TorchOptions(
            precision=precision,
            channels_last=cuda if self.channels_last is None else self.channels_last,
            cuda_graph=graph,
            max_graphs=self.max_graphs,
            threads=self.threads,
            sparse=sparse,
            stacked=self.compile if self.stacked is None else self.stacked,
            compile=self.compile,
        )


def load_torch_model(model: str | Path | torch.nn.Module) -> torch.nn.Module:
    """A registered name (its shipped weights), a ``.pt`` checkpoint path, or a copy of a module.

    A module is copied because the backend casts and moves its weights (FP16 rounding must not
    leak back into the caller's FP32 model).
    """
    if isinstance(model, torch.nn.Module):
        return copy.deepcopy(model)
    p = Path(str(model))
    if p.suffix == ".pt":
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such checkpoint")
        return load_checkpoint(p)
    if p.suffix in (".onnx", ".engine", ".plan"):
        raise ValueError(f"{p}: the torch backend needs a registered model name or a .pt checkpoint")
    check_not_other_file(p)
    return create_model(str(model), pretrained=True)


def pad_batch(t: torch.Tensor, n: int) -> torch.Tensor:
    """``t`` (N x ...) with its last item repeated up to ``n`` items; ``t`` itself when N >= n."""
    extra = n - t.shape[0]
    return t if extra <= 0 else torch.cat([t, t[-1:].expand(extra, *t.shape[1:])])


def fitting_batch(n: int, h: int, w: int, shapes: Any) -> int:
    """The batch size to run ``n`` frames of ``h`` x ``w`` at: the smallest N >= ``n`` among ``shapes``
    ((N, H, W) already captured or compiled at this H x W), else ``n`` itself. A stream's last,
    partial batch then runs padded in the graph (and compiled code) of its full batches instead of
    capturing (and compiling, about a minute) again for a few frames."""
    return min((k[0] for k in shapes if k[1:] == (h, w) and k[0] >= n), default=n)


def resolve_device(device: str | None) -> torch.device:
    """``device`` as a ``torch.device`` with its index: a bare ``cuda`` is the GPU current now, kept
    (as the TensorRT backend does), not whichever is current at each later call."""
    dev = torch.device(device or "cpu")
    if dev.type == "cuda" and dev.index is None and torch.cuda.is_available():
        dev = torch.device("cuda", torch.cuda.current_device())
    return dev


class _Graph:
    """One captured forward pass for a fixed input shape; static float32 input/output tensors."""

    def __init__(self, fn: Any, shape: tuple[int, int, int], device: torch.device) -> None:
        n, h, w = shape
        self.color = torch.zeros(n, 3, h, w, device=device)
        self.depth = torch.zeros(n, 1, h, w, device=device)
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):  # warm-up outside capture (cuDNN autotuning, allocator)
            for _ in range(2):
                fn(self.color, self.depth)
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        # captured on a stream of this graph's device: torch.cuda.graph's own default capture stream
        # is made once per process, on the device current at the first capture (cuda:0), and entering
        # it makes that device current: a later graph on cuda:1 captured nothing and replayed stale output
        with torch.cuda.graph(self.graph, stream=side):
            self.out = fn(self.color, self.depth)

    def __call__(self, color: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        self.color.copy_(color, non_blocking=True)
        self.depth.copy_(depth, non_blocking=True)
        self.graph.replay()
        return self.out


class TorchBackend:
    """``run(color, depth)``: N x 3 x H x W and N x 1 x H x W float32 [0, 1] NumPy -> N x 1 x H x W."""

    name = "torch"

    def __init__(
        self,
        model: str | Path | torch.nn.Module = "igde-small",
        device: str | None = None,
        options: TorchOptions | None = None,
        **kw: Any,
    ) -> None:
        if options is not None and kw:
            raise ValueError("pass either options= or individual torch options, not both")
        try:
            options = options or TorchOptions(**kw)
        except TypeError as exc:
            raise ValueError(f"torch backend: {exc}") from None
        try:
            self.device = torch.device(device or "cpu")
        except (RuntimeError, TypeError):
            raise ValueError(f"unknown device {device!r} for the torch backend (use cpu, cuda or cuda:N)") from None
        if self.device.type not in ("cpu", "cuda"):  # e.g. mps: .to() failed with a RuntimeError
            raise ValueError(f"unknown device {device!r} for the torch backend (use cpu, cuda or cuda:N)")
        check_threads(options.threads)
        cuda = self.device.type == "cuda"
        if cuda and not torch.cuda.is_available():
            raise ValueError(f"device {device!r} asked for, but PyTorch sees no CUDA GPU")
        self.device = resolve_device(str(self.device))  # cuda -> cuda:N, fixed from here on
        options.resolved(cuda)  # option errors before the model loads
        self.model = load_torch_model(model).eval()
        head = getattr(self.model, "head", None)
        self.options = options.resolved(cuda, chooses_input(self.model))
        if self.options.threads:
            torch.set_num_threads(int(self.options.threads))
        if cuda:
            torch.backends.cudnn.benchmark = True  # fixed stream shapes: let cuDNN pick its fastest kernels
        self.dtype = torch.float16 if self.options.precision == "fp16" else torch.float32
        self.memory_format = torch.channels_last if self.options.channels_last else torch.contiguous_format
        self.model.to(self.device, dtype=self.dtype, memory_format=self.memory_format)
        for p in self.model.parameters():
            p.requires_grad_(False)
        if hasattr(head, "sparse"):  # the model is this backend's own copy
            head.sparse = self.options.sparse
            head.stacked = self.options.stacked
        # compiled once per input shape (static shapes: a new stream size compiles again)
        self._compiled = torch.compile(self._run_model, dynamic=False) if self.options.compile else None
        self._graphs: OrderedDict[tuple[int, int, int], _Graph] = OrderedDict()
        self._compiled_shapes: set[tuple[int, int, int]] = set()  # (N, H, W) compiled without a graph
        self._staging = HostStaging()

    @property
    def description(self) -> str:
        o = self.options
        extras = ([o.precision] + (["channels_last"] if o.channels_last else []) + (["compiled"] if o.compile else [])
                  + (["cuda_graph"] if o.cuda_graph else []))
        if hasattr(getattr(self.model, "head", None), "sparse"):
            extras.append("gated pixels" if o.sparse else "dense head" + (", stacked" if o.stacked else ""))
        return f"torch {self.device} ({', '.join(extras)})"

    def _forward(self, color: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        return (self._compiled or self._run_model)(color, depth)

    def _run_model(self, color: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        c = color.to(self.dtype).contiguous(memory_format=self.memory_format)
        # a selection head gathers its output from the depth it is given: keep that in float32 so that
        # 16-bit values survive an fp16 network exactly (the model casts its own copy for the layers)
        gathers = getattr(self.model, "gathers_input", False)
        d = depth.float() if gathers else depth.to(self.dtype).contiguous(memory_format=self.memory_format)
        return self.model(c, d).float().contiguous()

    def forward(self, color: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """Device tensors in (float32, on ``self.device``), device tensor out; graph replay when on.

        The returned tensor may be a graph's static output: read it before the next call.
        """
        # capture and replay on this backend's device (cuda:N), not on the current one
        device_ctx = torch.cuda.device(self.device) if self.device.type == "cuda" else nullcontext()
        n, h, w = depth.shape[0], depth.shape[2], depth.shape[3]
        with torch.inference_mode(), device_ctx:
            if not self.options.cuda_graph:
                if self._compiled is None:
                    return self._forward(color, depth)
                run_n = fitting_batch(n, h, w, self._compiled_shapes)  # no recompile for a last batch
                self._compiled_shapes.add((run_n, h, w))
                return self._forward(pad_batch(color, run_n), pad_batch(depth, run_n))[:n]
            # a smaller batch (a stream's last) runs padded in a graph captured at a larger N
            key = (fitting_batch(n, h, w, self._graphs), h, w)
            graph = self._graphs.get(key)
            if graph is None:
                while len(self._graphs) >= max(1, self.options.max_graphs):
                    self._graphs.popitem(last=False)
                graph = self._graphs[key] = _Graph(self._forward, key, self.device)
            self._graphs.move_to_end(key)
            if key[0] == n:
                return graph(color, depth)
            return graph(pad_batch(color, key[0]), pad_batch(depth, key[0]))[:n]

    def run(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        if len(depth) == 0:
            return empty_batch(depth)
        if self.device.type != "cuda":
            with torch.inference_mode():
                out = self.forward(torch.from_numpy(np.ascontiguousarray(color, np.float32)),
                                   torch.from_numpy(np.ascontiguousarray(depth, np.float32)))
            return out.numpy().copy()
        c = self._staging.to_device("color", color, self.device)
        d = self._staging.to_device("depth", depth, self.device)
        return self._staging.to_host(self.forward(c, d))


class HostStaging:
    """Pinned host buffers, reused per shape, for non-blocking copies to and from one CUDA device."""

    def __init__(self, max_buffers: int = 8) -> None:
        self.max_buffers = max_buffers
        self._bufs: dict[tuple[str, tuple[int, ...]], torch.Tensor] = {}

    def _buffer(self, tag: str, shape: tuple[int, ...]) -> torch.Tensor:
        key = (tag, tuple(shape))
        buf = self._bufs.get(key)
        if buf is None:
            if len(self._bufs) >= self.max_buffers:
                self._bufs.clear()
            buf = self._bufs[key] = torch.empty(shape, dtype=torch.float32, pin_memory=True)
        return buf

    def to_device(self, tag: str, array: np.ndarray, device: torch.device) -> torch.Tensor:
        """Copy ``array`` into its pinned buffer and start a non-blocking copy to ``device``."""
        buf = self._buffer(tag, array.shape)
        buf.numpy()[...] = array
        return buf.to(device, non_blocking=True)

    def to_host(self, tensor: torch.Tensor) -> np.ndarray:
        """Non-blocking copy into a pinned buffer, wait for the stream, return a NumPy copy."""
        host = self._buffer("out", tuple(tensor.shape))
        host.copy_(tensor, non_blocking=True)
        torch.cuda.current_stream(tensor.device).synchronize()
        return host.numpy().copy()
