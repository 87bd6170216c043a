"""engine.sidecar by hand, without TensorRT (fast): where ``EngineInfo.save`` says it wrote the
sidecar."""

from __future__ import annotations

import json

from igde_stream.engine import EngineInfo


def test_save_returns_the_json_beside_the_engine(tmp_path):
    """docs/batch.md: an engine ``X.engine`` has its ``.json`` sidecar beside it, ``X.engine.json``;
    ``save`` (annotated ``-> Path``) returns that path, and the file there holds the fields given."""
    engine = tmp_path / "igde-tiny.abc.fp16.engine"
    info = EngineInfo(onnx_path="m.onnx", onnx_sha256="ab" * 32, precision="fp32", min_shape=(1, 8, 8),
                      opt_shape=(2, 8, 8), max_shape=(2, 8, 8), trt_version="10.9.0", gpu_name="GPU X")
    side = info.save(engine)
    assert side == tmp_path / "igde-tiny.abc.fp16.engine.json"
    d = json.loads(side.read_text())
    assert (d["precision"], d["gpu_name"], d["min_shape"]) == ("fp32", "GPU X", [1, 8, 8])
