"""ONNX Runtime backend: the embedded default on CPU; CUDA execution provider with onnxruntime-gpu.

Needs no PyTorch: the model is an exported ONNX file (``igde_stream.export``), whose metadata
carries the model config and weights hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import check_threads, empty_batch, resolve_model_file, worded

_OPT_LEVELS = ("disable", "basic", "extended", "all")


@dataclass
class OrtOptions:
    """threads: intra-op threads (None: ONNX Runtime's default, one per physical core).
    optimization: graph optimisation level (``disable``, ``basic``, ``extended``, ``all``).
    providers: explicit execution providers (default: CUDA when ``device`` is cuda, else CPU).
    spinning: let idle worker threads spin (ONNX Runtime's default). Off here: in a stream pipeline
    the decoder and encoder threads share the cores, and spinning burns their time (measured on 2
    shared cores: about 15% more CPU per frame and slower frames with spinning on).
    cpu_chunk: frames per ONNX Runtime call on the CPU (a batch is split into such chunks). Batching
    buys no speed on the CPU, while ONNX Runtime's memory arena grows with the batch (960x540
    igde-small: about 2.3 GB of peak memory at batch 1, 5.6 GB at batch 4, measured with the memory
    pattern on, which is off on the CPU now); 0 = whole batches.
    """

    threads: int | None = None
    optimization: str = "all"
    providers: tuple[str, ...] | None = None
    spinning: bool = False
    cpu_chunk: int = 1


class OnnxRuntimeBackend:
    """``run(color, depth)``: N x 3 x H x W and N x 1 x H x W float32 [0, 1] NumPy -> N x 1 x H x W."""

    name = "onnxruntime"

    def __init__(self, model: str | Path = "igde-small", device: str | None = None,
                 options: OrtOptions | None = None, **kw: Any) -> None:
        import onnxruntime as ort

        if options is not None and kw:
            raise ValueError("pass either options= or individual onnxruntime options, not both")
        try:
            options = options or OrtOptions(**kw)
        except TypeError as exc:
            raise ValueError(f"onnxruntime backend: {exc}") from None
        check_threads(options.threads)
        if isinstance(options.cpu_chunk, bool) or not isinstance(options.cpu_chunk, (int, np.integer)) \
                or options.cpu_chunk < 0:
            raise ValueError(f"cpu_chunk must be an integer >= 0 (0: whole batches), got {options.cpu_chunk!r}")
        if options.optimization not in _OPT_LEVELS:
            raise ValueError(f"optimization must be one of {_OPT_LEVELS}, got {options.optimization!r}")
        self.options = options
        self.path = resolve_model_file(model, ".onnx")
        if self.path.suffix == ".pt":
            said = (f"{self.path}: a PyTorch checkpoint; onnxruntime runs .onnx files (export it with the torch extra: "
                    f"python -c \"from igde_stream.export import export_onnx; export_onnx('{self.path}', 'MODEL.onnx')\", "
                    "or tools/export_onnx.py in a checkout), or use ")
            raise worded(said + 'backend="torch"', said + "--backend torch")
        so = ort.SessionOptions()
        if options.threads:
            so.intra_op_num_threads = int(options.threads)
        so.inter_op_num_threads = 1
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if options.spinning else "0")
        so.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[options.optimization]
        providers = list(options.providers or self._default_providers(device, ort.get_available_providers()))
        # the memory pattern plans one frame shape's buffers ahead; on the CPU it cost 1.6 GB of peak
        # memory at 1920x1080 (3.8 against 2.2 GB) for no speed (3.79 against 3.71 CPU s a frame)
        so.enable_mem_pattern = "CUDAExecutionProvider" in providers
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=so, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise ValueError(f"{self.path}: cannot load as an ONNX model ({exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        names = {i.name for i in self.session.get_inputs()}
        outs = [o.name for o in self.session.get_outputs()]
        if names != {"color", "depth"} or "depth_out" not in outs:
            raise ValueError(f"{self.path}: not an igde-stream model (inputs {sorted(names)}, outputs {outs}; "
                             "expected color, depth -> depth_out)")
        wrong = {i.name: i.type for i in self.session.get_inputs() if i.type != "tensor(float)"}
        if wrong:
            raise ValueError(f"{self.path}: inputs of type {wrong}; igde-stream feeds float32 colour and depth "
                             "(an FP16 model keeps float32 inputs and outputs: export it so)")
        #: fixed frame sizes of the graph (an int where the export left no dynamic axis), else None
        shapes = [i.shape for i in self.session.get_inputs()]
        fixed = [(s[2], s[3]) for s in shapes if len(s) == 4 and isinstance(s[2], int) and isinstance(s[3], int)]
        self.fixed_size = fixed[0] if fixed else None  # (H, W)
        meta = self.session.get_modelmeta().custom_metadata_map
        self.metadata: dict[str, Any] = {k[5:]: v for k, v in meta.items() if k.startswith("igde.")}
        if "config" in self.metadata:
            self.metadata["config"] = json.loads(self.metadata["config"])
        self.device = "cuda" if "CUDAExecutionProvider" in self.session.get_providers() else "cpu"

    @staticmethod
    def _default_providers(device: str | None, available: list[str]) -> list[str]:
        if device and device.startswith("cuda"):
            if "CUDAExecutionProvider" not in available:
                said = ("device cuda asked for, but this onnxruntime has no CUDA execution provider (install "
                        "onnxruntime-gpu, or use {})")
                raise worded(said.format('backend="torch" / "tensorrt"'), said.format("--backend torch / tensorrt"))
            index = device.partition(":")[2] or "0"
            return [("CUDAExecutionProvider", {"device_id": int(index)}), "CPUExecutionProvider"]  # type: ignore[list-item]
        if device not in (None, "cpu"):
            raise ValueError(f"unknown device {device!r} for onnxruntime (use cpu or cuda[:N])")
        return ["CPUExecutionProvider"]

    @property
    def description(self) -> str:
        threads = self.options.threads or "default"
        return f"onnxruntime {self.device} ({self.path.name}, threads {threads})"

    def run(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        if len(depth) == 0:
            return empty_batch(depth)
        if self.fixed_size is not None and tuple(depth.shape[2:]) != tuple(self.fixed_size):
            raise ValueError(f"{self.path}: the graph takes frames of {self.fixed_size[1]}x{self.fixed_size[0]} only "
                             f"(fixed shape), these are {depth.shape[3]}x{depth.shape[2]}: export it with dynamic "
                             "height and width (tools/export_onnx.py does)")
        step = self.options.cpu_chunk if self.device == "cpu" and self.options.cpu_chunk > 0 else len(depth)
        try:
            outs = [self.session.run(["depth_out"], {
                "color": np.ascontiguousarray(color[s:s + step], dtype=np.float32),
                "depth": np.ascontiguousarray(depth[s:s + step], dtype=np.float32),
            })[0] for s in range(0, len(depth), max(1, step))]
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own exception types: a graph that cannot run this
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ValueError(f"{self.path}: onnxruntime cannot run the graph on {depth.shape[3]}x{depth.shape[2]} "
                             f"frames ({exc.__class__.__name__}: {first[:200]})") from None
        return outs[0] if len(outs) == 1 else np.concatenate(outs)
