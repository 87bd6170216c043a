"""``engine.build_engine``'s values against the fake TensorRT of test_engine_build.py, recording what
the builder is handed: the workspace in bytes, the optimisation profile of each input (colour 3
channels, depth 1), the FP16 ONNX copy a strongly typed FP16 build parses, the build time in the
sidecar, and a rebuild when the sidecar is readable but says another engine. Expected values by hand
from docs/backends.md and the TensorRT API (sizes in bytes, profiles as N x C x H x W)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_engine_build import GPU, SMALL, fake_trt

from igde_stream.engine import BuildOptions, build_engine, sidecar_path
from igde_stream.engine import builder as engine_mod


@pytest.fixture
def recording(monkeypatch, tmp_path):
    """A fake TensorRT 10.9 whose config, profile and parser record their arguments; returns
    (trt, records, onnx file, engines folder)."""
    trt = fake_trt("10.9.0")
    rec: dict = {"pool": [], "shapes": [], "parsed": []}
    make_config, make_profile = trt.Builder.create_builder_config, trt.Builder.create_optimization_profile

    def config(self):
        c = make_config(self)
        c.set_memory_pool_limit = lambda pool, size: rec["pool"].append((pool, size))
        return c

    def profile(self):
        p = make_profile(self)
        p.set_shape = lambda name, lo, opt, hi: rec["shapes"].append((name, lo, opt, hi))
        return p

    trt.Builder.create_builder_config = config
    trt.Builder.create_optimization_profile = profile
    trt.OnnxParser.parse_from_file = lambda self, path: rec["parsed"].append(path) is None
    monkeypatch.setitem(__import__("sys").modules, "tensorrt", trt)
    monkeypatch.setattr(engine_mod, "environment", lambda: {"trt_version": "10.9.0", "gpu_name": GPU})
    monkeypatch.setattr(engine_mod, "onnx_metadata", lambda path: {"variant": "igde-tiny"})
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"stands in for an ONNX file")
    return trt, rec, onnx, tmp_path / "engines"


@pytest.mark.parametrize("gib, size", [(1.0, 1073741824), (1.5, 1610612736), (0.25, 268435456)])
def test_the_workspace_is_given_to_tensorrt_in_bytes(recording, gib, size):
    """set_memory_pool_limit takes bytes: 1 GiB = 2^30 = 1073741824 B, 1.5 GiB = 1610612736 B."""
    trt, rec, onnx, engines = recording
    build_engine(onnx, engines, replace(SMALL, workspace_gib=gib))
    assert rec["pool"] == [("WORKSPACE", size)]


def test_the_profile_gives_colour_3_channels_and_depth_1(recording):
    """Each input's min / opt / max is N x C x H x W with C = 3 for colour and 1 for depth, N, H, W
    from the build options' shapes."""
    trt, rec, onnx, engines = recording
    opts = BuildOptions(min_shape=(1, 32, 48), opt_shape=(2, 64, 96), max_shape=(4, 128, 192), precision="fp32")
    build_engine(onnx, engines, opts)
    assert rec["shapes"] == [("color", (1, 3, 32, 48), (2, 3, 64, 96), (4, 3, 128, 192)),
                             ("depth", (1, 1, 32, 48), (2, 1, 64, 96), (4, 1, 128, 192))]


def test_a_strongly_typed_fp16_build_parses_its_fp16_copy_beside_the_engines(recording, monkeypatch):
    """TensorRT 10 with typing strong builds from an FP16 copy of the ONNX (docs/backends.md), written
    as ``<stem>.<first 12 hex digits of the ONNX sha256>.fp16.onnx`` in the engines folder; that file
    is what the parser reads, and the sidecar says fp16_onnx."""
    trt, rec, onnx, engines = recording
    converted = []

    def convert(src, dst):
        converted.append((Path(src), Path(dst)))
        Path(dst).write_bytes(b"fp16 copy")
        return Path(dst)

    monkeypatch.setattr(engine_mod, "convert_fp16", convert)
    engine = build_engine(onnx, engines, replace(SMALL, precision="fp16", typing="strong"))
    digest = hashlib.sha256(b"stands in for an ONNX file").hexdigest()
    copy = engines / f"m.{digest[:12]}.fp16.onnx"
    assert len(converted) == 1 and converted[0][0] == onnx and converted[0][1].parent == engines
    assert copy.read_bytes() == b"fp16 copy" and rec["parsed"] == [str(copy)]
    side = json.loads(sidecar_path(engine).read_text())
    assert side["fp16_onnx"] is True and side["strongly_typed"] is True
    assert f"# FP16 ONNX (fp32 I/O kept): {copy}" in Path(f"{engine}.log").read_text()


def test_the_sidecar_records_the_build_time_as_the_log_does(recording, monkeypatch):
    """The build took 12.34 s by the clock: the sidecar's build_seconds is 12.3, the figure of the
    log's "built in 12.3 s" (seconds since the build started, to 0.1 s)."""
    trt, rec, onnx, engines = recording
    ticks = iter([100.0, 112.34, 112.34])
    monkeypatch.setattr(engine_mod, "time", SimpleNamespace(monotonic=lambda: next(ticks)))
    engine = build_engine(onnx, engines, SMALL)
    assert json.loads(sidecar_path(engine).read_text())["build_seconds"] == 12.3
    assert "# built in 12.3 s" in Path(f"{engine}.log").read_text()


def test_an_engine_whose_readable_sidecar_does_not_match_it_is_rebuilt(recording):
    """A valid sidecar whose engine_sha256 is not the engine file's (the engine replaced after its
    build) is stale: rebuilt, the reason in the build log; the rebuilt engine is then reused."""
    trt, rec, onnx, engines = recording
    engine = build_engine(onnx, engines, SMALL)
    assert trt.calls["builds"] == 1 and build_engine(onnx, engines, SMALL) == engine and trt.calls["builds"] == 1
    engine.write_bytes(b"another engine")
    assert build_engine(onnx, engines, SMALL) == engine
    assert trt.calls["builds"] == 2 and engine.read_bytes() == b"ENGINE-2"
    assert "# rebuilding the engine already there: " in Path(f"{engine}.log").read_text()
    assert build_engine(onnx, engines, SMALL) == engine and trt.calls["builds"] == 2


def test_environment_is_tensorrts_version_and_the_gpus_name(monkeypatch):
    """What an engine is built for: TensorRT's ``__version__`` and the CUDA GPU PyTorch sees (every
    build test replaces ``environment`` itself); no GPU is one line."""
    import igde_stream.backends
    from igde_stream.engine import EngineError

    monkeypatch.setitem(__import__("sys").modules, "tensorrt", SimpleNamespace(__version__="10.9.0"))
    monkeypatch.setattr(igde_stream.backends, "cuda_gpu", lambda: GPU)
    assert engine_mod.environment() == {"trt_version": "10.9.0", "gpu_name": GPU}
    monkeypatch.setattr(igde_stream.backends, "cuda_gpu", lambda: None)
    with pytest.raises(EngineError, match="^TensorRT needs a CUDA GPU, and none is visible to PyTorch$"):
        engine_mod.environment()
