"""TensorRT: what runs without TensorRT (names, sidecars, staleness, build plans, FP16 ONNX, the
tool's one-line exit) and, marked, what needs TensorRT and a GPU."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from igde_stream import create_model
from igde_stream.engine import (BuildOptions, EngineError, EngineInfo, build_plan, convert_fp16, engine_name,
                                file_sha256, find_engine, problems, sidecar_path, timing_cache_path)
from igde_stream.export import export_onnx

ROOT = Path(__file__).resolve().parent.parent
HAS_TRT = importlib.util.find_spec("tensorrt") is not None
HAS_FP16_CONVERTER = (importlib.util.find_spec("onnxconverter_common") is not None
                      or importlib.util.find_spec("onnxruntime.transformers") is not None)
needs_trt = pytest.mark.skipif(not (HAS_TRT and torch.cuda.is_available()),
                               reason="needs TensorRT and a CUDA GPU" + ("" if HAS_TRT else " (tensorrt not installed)"))

ENV = dict(trt_version="10.13.0", gpu_name="NVIDIA H100 80GB HBM3")


def _info(**kw) -> EngineInfo:
    base = dict(onnx_path="/x/igde-small.onnx", onnx_sha256="ab" * 32, precision="fp16", min_shape=(1, 64, 64),
                opt_shape=(4, 540, 960), max_shape=(8, 1088, 1920), **ENV)
    base.update(kw)
    return EngineInfo(**base)


def test_engine_name_changes_with_everything_it_depends_on():
    o = BuildOptions()
    name = engine_name("m/igde-small.onnx", "ab" * 32, o, **ENV)
    assert name.startswith("igde-small.abababababab.fp16.") and name.endswith(".trt10.13.0.nvidia-h100-80gb-hbm3.engine")
    variants = [
        engine_name("m/igde-small.onnx", "cd" * 32, o, **ENV),
        engine_name("m/igde-small.onnx", "ab" * 32, replace(o, precision="fp32"), **ENV),
        engine_name("m/igde-small.onnx", "ab" * 32, replace(o, opt_shape=(8, 540, 960)), **ENV),
        engine_name("m/igde-small.onnx", "ab" * 32, o, trt_version="11.0.0", gpu_name=ENV["gpu_name"]),
        engine_name("m/igde-small.onnx", "ab" * 32, o, trt_version=ENV["trt_version"], gpu_name="NVIDIA A100"),
    ]
    assert len({name, *variants}) == 6
    assert timing_cache_path("engines", **ENV).name == "timing.trt10.13.0.nvidia-h100-80gb-hbm3.cache"


def test_build_options_validate_and_widen():
    with pytest.raises(ValueError, match="min <= opt <= max"):
        BuildOptions(min_shape=(1, 64, 64), opt_shape=(4, 32, 960), max_shape=(8, 1088, 1920))
    with pytest.raises(ValueError, match="precision"):
        BuildOptions(precision="int8")
    s = BuildOptions.for_stream(4, 541, 961)
    assert s.covers((1, 541, 961)) and s.covers((4, 541, 961)) and not s.covers((5, 541, 961))
    w = s.widened((8, 720, 1280))
    assert w.covers((8, 720, 1280)) and w.covers((1, 541, 961)) and w.opt_shape == (8, 720, 1280)


def test_build_plan_per_tensorrt_version():
    fp16 = BuildOptions()
    assert build_plan(10, fp16).fp16_flag and not build_plan(10, fp16).strongly_typed
    p11 = build_plan(11, fp16)
    assert not p11.fp16_flag and p11.strongly_typed and p11.fp16_onnx
    strong10 = build_plan(10, replace(fp16, typing="strong"))
    assert strong10.fp16_onnx and not strong10.fp16_flag
    assert build_plan(11, replace(fp16, precision="fp32")) == build_plan(11, replace(fp16, precision="fp32"))
    assert not build_plan(11, replace(fp16, precision="fp32")).fp16_onnx
    with pytest.raises(ValueError, match="no weakly typed"):
        build_plan(11, replace(fp16, typing="weak"))


def test_staleness_is_detected_and_explained():
    info = _info()
    assert problems(info, onnx_sha256="ab" * 32, shape=(4, 540, 960), **ENV) == []
    why = problems(info, trt_version="10.14.1", gpu_name="NVIDIA L4", onnx_sha256="cd" * 32, shape=(9, 540, 960),
                   precision="fp32")
    text = " | ".join(why)
    assert len(why) == 5
    for part in ("TensorRT 10.13.0", "NVIDIA L4", "another ONNX", "outside the engine's profile", "precision fp16"):
        assert part in text


def test_sidecar_roundtrip_and_missing_sidecar(tmp_path):
    engine = tmp_path / "a.engine"
    engine.write_bytes(b"fake")
    with pytest.raises(EngineError, match="no sidecar"):
        EngineInfo.load(engine)
    _info(engine_sha256=file_sha256(engine)).save(engine)
    assert sidecar_path(engine).is_file()
    back = EngineInfo.load(engine)
    assert back == _info(engine_sha256=file_sha256(engine))
    sidecar_path(engine).write_text("{broken")
    with pytest.raises(EngineError, match="unreadable"):
        EngineInfo.load(engine)


def test_find_engine_picks_only_a_matching_one(tmp_path):
    digest = "ab" * 32
    o = BuildOptions()
    good = tmp_path / engine_name("igde-small.onnx", digest, o, **ENV)
    other_gpu = tmp_path / engine_name("igde-small.onnx", digest, o, trt_version=ENV["trt_version"], gpu_name="NVIDIA L4")
    for path, info in ((good, _info()), (other_gpu, _info(gpu_name="NVIDIA L4"))):
        path.write_bytes(b"fake")
        info.save(path)
    assert find_engine(tmp_path, digest, **ENV) == good
    assert find_engine(tmp_path, digest, **ENV, shape=(16, 540, 960)) is None
    assert find_engine(tmp_path, "cd" * 32, **ENV) is None
    assert find_engine(tmp_path / "nowhere", digest, **ENV) is None


@pytest.mark.skipif(not HAS_FP16_CONVERTER, reason="no FP16 ONNX converter (onnxconverter-common) installed")
def test_fp16_onnx_keeps_float32_io_and_accuracy(tmp_path):
    import onnx
    import onnxruntime as ort

    torch.manual_seed(0)
    src = export_onnx(create_model("igde-tiny").eval(), tmp_path / "t.onnx")
    dst = convert_fp16(src, tmp_path / "t.fp16.onnx")
    g = onnx.load(str(dst)).graph
    assert all(v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for v in list(g.input) + list(g.output))
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in g.initializer)
    rng = np.random.default_rng(0)
    feeds = {"color": rng.random((2, 3, 33, 45), dtype=np.float32), "depth": rng.random((2, 1, 33, 45), dtype=np.float32)}
    a = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    b = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    assert b.dtype == np.float32
    psnr = 10 * np.log10(1.0 / float(np.mean((a - b) ** 2)))
    assert psnr >= 50.0, psnr


@pytest.mark.skipif(HAS_TRT, reason="checks the message given when TensorRT is missing")
def test_build_engine_tool_says_one_line_without_tensorrt():
    r = subprocess.run([sys.executable, "tools/build_engine.py"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "TensorRT is not installed" in lines[0], r.stderr


@pytest.mark.skipif(HAS_TRT, reason="checks the error given when TensorRT is missing")
def test_tensorrt_backend_without_tensorrt_is_a_clear_error(tmp_path):
    from igde_stream.enhancer import Enhancer
    from igde_stream.errors import IGDEError

    # EngineError is an IGDEError (one line on the command line), and a ValueError like EnhancerError
    with pytest.raises(IGDEError, match="needs TensorRT"):
        Enhancer(str(tmp_path / "x.engine"), backend="tensorrt", quiet=True)


@pytest.mark.tensorrt
@needs_trt
def test_engine_build_run_and_reuse(tmp_path):
    from igde_stream.backends import create_backend
    from igde_stream.engine import build_engine

    torch.manual_seed(0)
    model = create_model("igde-tiny").eval()
    src = export_onnx(model, tmp_path / "tiny.onnx")
    engines = tmp_path / "engines"
    engine = build_engine(src, engines, BuildOptions.for_stream(2, 48, 64))
    info = json.loads(sidecar_path(engine).read_text())
    assert info["onnx_sha256"] == file_sha256(src) and info["precision"] == "fp16"
    assert build_engine(src, engines, BuildOptions.for_stream(2, 48, 64)) == engine  # reused, not rebuilt
    rng = np.random.default_rng(0)
    c, d = rng.random((2, 3, 48, 64), dtype=np.float32), rng.random((2, 1, 48, 64), dtype=np.float32)
    out = create_backend("tensorrt", model=str(src), engine=str(engine)).run(c, d)
    ref = create_backend("torch", model=model).run(c, d)
    assert float(np.abs(out - ref).max()) < 2e-2
    # a changed ONNX makes the engine stale: refused when rebuilding is not allowed
    src2 = export_onnx(create_model("igde-tiny").eval(), tmp_path / "tiny2.onnx")
    with pytest.raises(EngineError, match="another ONNX"):
        create_backend("tensorrt", model=str(src2), engine=str(engine), rebuild="never")
