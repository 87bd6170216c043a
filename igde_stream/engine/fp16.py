"""ONNX side of engine builds: the FP16 conversion for strongly typed builds (``convert_fp16``, with
float32 inputs and outputs and the depth gather path kept in float32) and the ``igde.*`` metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .options import EngineError

# ONNX ops left in float32 by the FP16 conversion: the selection head's gather of input depth values
# (dense hard output: Pad, Reshape, GatherElements, Where; gated-pixel form: Pad, Transpose, Reshape,
# Gather, GatherND, ScatterElements), and Equal: the zero_holes test ``depth == 0`` on the input's
# own values (16-bit levels 1-3 are float16 subnormals, which a backend may flush to 0)
FP32_OPS = ("Pad", "Reshape", "GatherElements", "Where", "Transpose", "Gather", "GatherND",
            "ScatterElements", "Equal")


def convert_fp16(src: str | Path, dst: str | Path) -> Path:
    """FP16 copy of an ONNX graph with float32 inputs and outputs kept (casts inserted at the edges).

    Uses onnxconverter-common's ``float16`` converter (the ``tensorrt`` extra installs it); falls back
    to the copy of the same converter that ships inside onnxruntime. Values above the FP16 range are
    clamped by the converter; inputs here are in [0, 1].
    """
    import onnx

    try:
        from onnxconverter_common.float16 import convert_float_to_float16
    except ImportError:
        try:
            from onnxruntime.transformers.float16 import convert_float_to_float16
        except ImportError:
            raise EngineError("FP16 ONNX conversion needs onnxconverter-common (pip install 'igde-stream[tensorrt]')") from None
    model = onnx.load(str(src))
    # the selection head gathers its output from the input depth: keep that path (FP32_OPS) in
    # float32 so 16-bit depth values pass exactly; the layers go to FP16
    fp16 = _skip_fp16_round_trips(convert_float_to_float16(model, keep_io_types=True, op_block_list=list(FP32_OPS)))
    dst = Path(dst)
    onnx.save(fp16, str(dst))
    return dst


def _skip_fp16_round_trips(model: Any) -> Any:
    """The converter sends every float32 value that a kept op (FP32_OPS) or a graph input hands on
    through a Cast to float16 and back, which rounds it. Point each such Cast-to-float32 at the
    original float32 value instead (a Cast from float32 to float32 is the identity)."""
    from onnx import TensorProto

    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    float_inputs = {i.name for i in g.input if i.type.tensor_type.elem_type == TensorProto.FLOAT}

    def cast_to(node: Any) -> int | None:
        return next((a.i for a in node.attribute if a.name == "to"), None) if node.op_type == "Cast" else None

    for node in g.node:
        inner = producer.get(node.input[0]) if cast_to(node) == TensorProto.FLOAT else None
        if inner is None or cast_to(inner) != TensorProto.FLOAT16:
            continue
        src = inner.input[0]
        origin = producer.get(src)
        if src in float_inputs or (origin is not None and origin.op_type in FP32_OPS):
            node.input[0] = src
    return model


def onnx_metadata(path: str | Path) -> dict[str, Any]:
    """The ``igde.*`` metadata of an ONNX file (empty if it has none)."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    meta: dict[str, Any] = {p.key[5:]: p.value for p in proto.metadata_props if p.key.startswith("igde.")}
    if "config" in meta:
        meta["config"] = json.loads(meta["config"])
    return meta
