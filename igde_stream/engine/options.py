"""Engine build options and errors: ``BuildOptions`` (optimisation profile, precision, typing,
workspace, optimisation level), what a TensorRT major version needs for them (``build_plan``) and
the errors an engine raises."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IGDEError

Shape = tuple[int, int, int]  # N, H, W


class EngineError(IGDEError, ValueError):
    """An engine that cannot be used as it is (missing, stale, for another GPU or TensorRT); an
    IGDEError, so the command line reports it in one line, also when it is raised mid-stream."""


class EngineBuildError(IGDEError, RuntimeError):
    """TensorRT could not build the engine; ``log_path`` holds the builder's log."""

    def __init__(self, message: str, log_path: Path | None = None) -> None:
        super().__init__(message + (f" (build log: {log_path})" if log_path else ""))
        self.log_path = log_path


@dataclass(frozen=True)
class BuildOptions:
    """How to build an engine.

    min_shape / opt_shape / max_shape: (N, H, W) of the optimisation profile (colour and depth share
    it); opt is what TensorRT tunes for, so make it the stream's batch and size. precision: ``fp16``
    (default) or ``fp32``; inputs and outputs stay float32 either way. typing: ``auto`` (weak + FP16
    flag on TensorRT 10, strongly typed FP16 ONNX on 11+), ``weak`` or ``strong``. workspace_gib:
    builder scratch memory. optimization_level: TensorRT's builder_optimization_level (0-5).
    """

    min_shape: Shape = (1, 64, 64)
    opt_shape: Shape = (4, 540, 960)
    max_shape: Shape = (8, 1088, 1920)
    precision: str = "fp16"
    typing: str = "auto"
    workspace_gib: float = 4.0
    optimization_level: int = 3

    def __post_init__(self) -> None:
        if self.precision not in ("fp16", "fp32"):
            raise ValueError(f"precision must be fp16 or fp32, got {self.precision!r}")
        if self.typing not in ("auto", "weak", "strong"):
            raise ValueError(f"typing must be auto, weak or strong, got {self.typing!r}")
        if not self.workspace_gib > 0:
            raise ValueError(f"workspace_gib must be > 0, got {self.workspace_gib}")
        if self.optimization_level not in range(6):
            raise ValueError(f"optimization_level must be 0..5, got {self.optimization_level}")
        for name in ("min_shape", "opt_shape", "max_shape"):
            s = getattr(self, name)
            if len(s) != 3 or any(int(v) < 1 for v in s):
                raise ValueError(f"{name} must be three positive ints (N, H, W), got {s}")
        if not all(a <= b <= c for a, b, c in zip(self.min_shape, self.opt_shape, self.max_shape)):
            raise ValueError(f"need min <= opt <= max in every dimension, got min {self.min_shape}, "
                             f"opt {self.opt_shape}, max {self.max_shape}")

    @classmethod
    def for_stream(cls, batch: int, height: int, width: int, **kw: Any) -> "BuildOptions":
        """A profile for one stream: batch 1..``batch`` at exactly ``height`` x ``width``, opt = full batch."""
        return cls(min_shape=(1, height, width), opt_shape=(batch, height, width),
                   max_shape=(batch, height, width), **kw)

    def covers(self, shape: Shape) -> bool:
        return all(a <= v <= c for a, v, c in zip(self.min_shape, shape, self.max_shape))

    def accepts(self, shape: Shape) -> bool:
        """Whether a batch of ``shape`` can run: an N below the profile's minimum is padded up to it
        (the backend repeats the last frame and drops the extra outputs)."""
        return self.covers((max(shape[0], self.min_shape[0]), shape[1], shape[2]))

    def widened(self, shape: Shape) -> "BuildOptions":
        """The same options with a profile that also covers ``shape`` (opt becomes ``shape``)."""
        lo = tuple(min(a, v) for a, v in zip(self.min_shape, shape))
        hi = tuple(max(c, v) for c, v in zip(self.max_shape, shape))
        return BuildOptions(min_shape=lo, opt_shape=tuple(shape), max_shape=hi, precision=self.precision,  # type: ignore[arg-type]
                            typing=self.typing, workspace_gib=self.workspace_gib,
                            optimization_level=self.optimization_level)


@dataclass(frozen=True)
class BuildPlan:
    """What a TensorRT major version needs for a precision: the FP16 flag, strong typing, FP16 ONNX."""

    fp16_flag: bool
    strongly_typed: bool
    fp16_onnx: bool


def build_plan(trt_major: int, options: BuildOptions) -> BuildPlan:
    """TensorRT 10 weak: FP16 flag on an FP32 graph. Strong typing (forced on 11+): FP16 graph, no flag."""
    strong = options.typing == "strong" or (options.typing == "auto" and trt_major >= 11)
    if trt_major >= 11 and options.typing == "weak":
        raise ValueError("TensorRT 11 has no weakly typed networks (and no FP16 builder flag); use typing='auto' or 'strong'")
    fp16 = options.precision == "fp16"
    return BuildPlan(fp16_flag=fp16 and not strong, strongly_typed=strong, fp16_onnx=fp16 and strong)
