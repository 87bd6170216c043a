"""``engine.build_engine`` and ``tools/build_engine.py`` run against a fake ``tensorrt`` module (the
real one needs an NVIDIA GPU): sidecar-first writes, stale engines without a sidecar, every build
setting in the name and the reuse check, unique temporary names, the timing cache's refusal, and
the network creation flags of TensorRT 10 and 11. The real build is in test_tensorrt.py (marked)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from igde_stream.engine import builder as engine_mod  # build_engine looks up environment / onnx_metadata here
from igde_stream.engine import (BuildOptions, EngineInfo, build_engine, engine_name, find_engine, network_flags,
                                problems, sidecar_path, timing_cache_path)

ROOT = Path(__file__).resolve().parent.parent
GPU = "NVIDIA Fake GPU"
SMALL = BuildOptions(min_shape=(1, 64, 64), opt_shape=(2, 64, 64), max_shape=(2, 64, 64), precision="fp32")


def fake_trt(version: str = "10.9.0", accept_cache: bool = True) -> SimpleNamespace:
    """The parts of the TensorRT Python API that ``engine._build`` calls. Each build returns
    ``b"ENGINE-<k>"`` (k counts builds); ``calls`` records network flags and timing-cache calls.
    TensorRT 11's NetworkDefinitionCreationFlag here has no STRONGLY_TYPED (it may be removed)."""
    calls: dict = {"network_flags": [], "builds": 0, "set_timing_cache": 0, "flags": [], "parse_errors": []}

    class ILogger:
        Severity = SimpleNamespace(VERBOSE="VERBOSE", INFO="INFO", WARNING="WARNING", ERROR="ERROR")

        def __init__(self) -> None:
            pass

    class Cache:
        def __init__(self, blob: bytes) -> None:
            self.blob = blob

        def serialize(self) -> bytes:
            return self.blob + b"+timings"

    class Config:
        builder_optimization_level = 3

        def __init__(self) -> None:
            self.cache = None

        def set_memory_pool_limit(self, pool, size) -> None:
            pass

        def set_flag(self, flag) -> None:
            calls["flags"].append(("set", flag))

        def clear_flag(self, flag) -> None:
            calls["flags"].append(("clear", flag))

        def add_optimization_profile(self, profile) -> None:
            pass

        def create_timing_cache(self, blob) -> Cache:
            return Cache(bytes(blob))

        def set_timing_cache(self, cache, ignore_mismatch) -> bool:
            calls["set_timing_cache"] += 1
            if accept_cache:
                self.cache = cache
            return accept_cache

        def get_timing_cache(self):
            return self.cache

    class Profile:
        def set_shape(self, *args) -> None:
            pass

    class Builder:
        def __init__(self, logger) -> None:
            pass

        def create_network(self, flags: int = 0):
            calls["network_flags"].append(flags)
            return SimpleNamespace(num_layers=0)

        def create_builder_config(self) -> Config:
            return Config()

        def create_optimization_profile(self) -> Profile:
            return Profile()

        def build_serialized_network(self, network, config) -> bytes:
            calls["builds"] += 1
            return b"ENGINE-%d" % calls["builds"]

    class OnnxParser:
        def __init__(self, network, logger) -> None:
            pass

        def parse_from_file(self, path: str) -> bool:
            return not calls["parse_errors"]

        @property
        def num_errors(self) -> int:
            return len(calls["parse_errors"])

        def get_error(self, i: int) -> str:
            return calls["parse_errors"][i]

    flags = SimpleNamespace(STRONGLY_TYPED=1) if int(version.split(".")[0]) < 11 else SimpleNamespace()
    return SimpleNamespace(
        __version__=version, ILogger=ILogger, Builder=Builder, OnnxParser=OnnxParser,
        MemoryPoolType=SimpleNamespace(WORKSPACE="WORKSPACE"), LayerType=SimpleNamespace(), float32="float32",
        BuilderFlag=SimpleNamespace(FP16="FP16", OBEY_PRECISION_CONSTRAINTS="OBEY_PRECISION_CONSTRAINTS", TF32="TF32"),
        NetworkDefinitionCreationFlag=flags, calls=calls,
    )


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """Install a fake TensorRT ``version``; returns (trt, onnx file, engines folder)."""

    def install(version: str = "10.9.0", accept_cache: bool = True):
        trt = fake_trt(version, accept_cache)
        monkeypatch.setitem(sys.modules, "tensorrt", trt)
        monkeypatch.setattr(engine_mod, "environment", lambda: {"trt_version": version, "gpu_name": GPU})
        monkeypatch.setattr(engine_mod, "onnx_metadata", lambda path: {"variant": "igde-tiny"})
        onnx = tmp_path / "m.onnx"
        onnx.write_bytes(b"stands in for an ONNX file")
        return trt, onnx, tmp_path / "engines"

    return install


def _name(onnx: Path, options: BuildOptions, version: str = "10.9.0") -> str:
    digest = hashlib.sha256(onnx.read_bytes()).hexdigest()
    return engine_name(onnx, digest, options, trt_version=version, gpu_name=GPU)


# ---------------------------------------------------------------- issue 13: sidecar first, orphans stale

def test_a_failed_sidecar_write_leaves_no_engine_behind(fake, monkeypatch):
    trt, onnx, engines = fake()

    def disk_full(self, engine_path):
        raise OSError("no space left on device")

    monkeypatch.setattr(EngineInfo, "save", disk_full)
    with pytest.raises(OSError, match="no space"):
        build_engine(onnx, engines, SMALL)
    assert not (engines / _name(onnx, SMALL)).exists()  # never an engine without its sidecar
    assert not list(engines.glob("*.part"))


def test_an_engine_without_a_valid_sidecar_is_rebuilt(fake):
    trt, onnx, engines = fake()
    engines.mkdir()
    orphan = engines / _name(onnx, SMALL)
    orphan.write_bytes(b"left by a crashed build")
    assert build_engine(onnx, engines, SMALL) == orphan
    assert trt.calls["builds"] == 1 and orphan.read_bytes() == b"ENGINE-1"
    side = json.loads(sidecar_path(orphan).read_text())
    assert side["engine_sha256"] == hashlib.sha256(b"ENGINE-1").hexdigest()
    sidecar_path(orphan).write_text("{broken")  # unreadable sidecar: stale too
    build_engine(onnx, engines, SMALL)
    assert trt.calls["builds"] == 2 and orphan.read_bytes() == b"ENGINE-2"
    assert build_engine(onnx, engines, SMALL) == orphan and trt.calls["builds"] == 2  # valid now: reused


def test_build_engine_tool_rebuilds_an_orphan_without_force(fake, monkeypatch, capsys):
    trt, onnx, engines = fake()
    import igde_stream.backends

    monkeypatch.setattr(igde_stream.backends, "cuda_gpu", lambda: GPU)
    spec = importlib.util.spec_from_file_location("build_engine_tool", ROOT / "tools" / "build_engine.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    engines.mkdir()
    orphan = engines / _name(onnx, SMALL)
    orphan.write_bytes(b"left by a crashed build")
    argv = ["--onnx", str(onnx), "--engines", str(engines), "--precision", "fp32",
            "--min", "1x64x64", "--opt", "2x64x64", "--max", "2x64x64"]
    assert tool.main(argv) == 0, capsys.readouterr().err
    assert orphan.read_bytes() == b"ENGINE-1" and sidecar_path(orphan).is_file()


# ---------------------------------------------------------------- issue 14: every build setting counts

def test_typing_workspace_and_level_each_get_their_own_engine(fake):
    trt, onnx, engines = fake()
    strong = replace(SMALL, typing="strong")
    weak = replace(SMALL, typing="weak")
    a = build_engine(onnx, engines, strong)
    b = build_engine(onnx, engines, weak)
    c = build_engine(onnx, engines, replace(weak, workspace_gib=1.5))
    d = build_engine(onnx, engines, replace(weak, optimization_level=5))
    assert len({a, b, c, d}) == 4 and trt.calls["builds"] == 4
    # each sidecar records what its engine was built with (weak on TensorRT 10 is not strongly typed)
    sa, sb = json.loads(sidecar_path(a).read_text()), json.loads(sidecar_path(b).read_text())
    assert sa["strongly_typed"] is True and sa["build_options"]["typing"] == "strong"
    assert sb["strongly_typed"] is False and sb["build_options"]["typing"] == "weak"
    assert json.loads(sidecar_path(c).read_text())["build_options"]["workspace_gib"] == 1.5
    assert json.loads(sidecar_path(d).read_text())["build_options"]["optimization_level"] == 5
    assert build_engine(onnx, engines, strong) == a and trt.calls["builds"] == 4  # the same ask: reused
    # the reuse check reads the sidecar too: a strong engine is not taken for a weak request
    why = problems(EngineInfo.load(a), trt_version="10.9.0", gpu_name=GPU, options=weak)
    assert why == ["typing strong, asked for weak"]
    digest = hashlib.sha256(onnx.read_bytes()).hexdigest()
    assert find_engine(engines, digest, "10.9.0", GPU, options=weak) == b
    assert find_engine(engines, digest, "10.9.0", GPU, options=strong) == a


# ---------------------------------------------------------------- issue 16: timing cache

def test_temporary_names_are_unique_per_write(fake, monkeypatch):
    trt, onnx, engines = fake()
    moves = []
    real_replace = os.replace

    def recording_replace(src, dst):
        moves.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", recording_replace)
    build_engine(onnx, engines, SMALL)
    build_engine(onnx, engines, SMALL, force=True)
    cache = timing_cache_path(engines, "10.9.0", GPU)
    temps = [src for src, dst in moves if dst == cache]
    assert len(temps) == 2 and temps[0] != temps[1]
    for t in temps:  # beside the cache, named after this process
        assert t.parent == cache.parent and f".{os.getpid()}." in t.name and not t.exists()
    engine_temps = [src for src, dst in moves if dst.suffix == ".engine"]
    assert len(engine_temps) == 2 and engine_temps[0] != engine_temps[1]
    assert cache.read_bytes() == b"+timings+timings"  # the second build started from the first's cache


def test_a_refused_timing_cache_warns_and_builds_without_it(fake, caplog):
    trt, onnx, engines = fake(accept_cache=False)
    engines.mkdir()
    cache = timing_cache_path(engines, "10.9.0", GPU)
    cache.write_bytes(b"from another TensorRT build")
    with caplog.at_level(logging.WARNING, logger="igde_stream.engine"):
        engine = build_engine(onnx, engines, SMALL)
    assert trt.calls["set_timing_cache"] == 1 and engine.read_bytes() == b"ENGINE-1"
    assert any("timing cache" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    assert "timing cache" in Path(f"{engine}.log").read_text()
    assert cache.read_bytes() == b"from another TensorRT build"  # not replaced by a cache never attached


# ---------------------------------------------------------------- issue 17: STRONGLY_TYPED on 10 vs 11

def test_network_flags_for_tensorrt_10_and_11():
    trt10, trt11 = fake_trt("10.9.0"), fake_trt("11.0.0")
    assert network_flags(trt10, strongly_typed=True) == 2  # 1 << STRONGLY_TYPED (= 1 on TensorRT 10)
    assert network_flags(trt10, strongly_typed=False) == 0
    assert network_flags(trt11, strongly_typed=True) == 0  # strongly typed by default; flag not touched
    assert network_flags(trt11, strongly_typed=False) == 0


@pytest.mark.parametrize("version, typing, flags", [("10.9.0", "strong", 2), ("10.9.0", "weak", 0),
                                                    ("11.0.0", "auto", 0), ("11.0.0", "strong", 0)])
def test_build_creates_the_network_with_the_right_flags(fake, version, typing, flags):
    trt, onnx, engines = fake(version)
    engine = build_engine(onnx, engines, replace(SMALL, typing=typing))  # fp32: no FP16 ONNX to convert
    assert trt.calls["network_flags"] == [flags]
    assert json.loads(sidecar_path(engine).read_text())["strongly_typed"] is (typing == "strong" or version[:2] == "11")


def test_weak_fp16_builds_pin_the_gather_path_and_float_comparisons_to_fp32():
    """``_keep_fp32`` on a fake network (TensorRT 10's attribute names): the float32 layers of the
    gather path (shuffle, gather, scatter, ...) get FP32 precision and outputs; an elementwise layer
    comparing float32 inputs (ONNX Equal: the hole test ``depth == 0``) gets FP32 precision, its bool
    output untouched; convolutions, float elementwise arithmetic and a comparison of ints are left."""
    from igde_stream.engine.builder import _keep_fp32

    kinds = ("PADDING", "SLICE", "SHUFFLE", "GATHER", "SCATTER", "SELECT", "ELEMENTWISE", "CONVOLUTION")
    trt = SimpleNamespace(LayerType=SimpleNamespace(**{k: k for k in kinds}), float32="float32", bool="bool",
                          int32="int32")

    class Layer:
        def __init__(self, kind, ins, outs):
            self.type, self._in, self._out = kind, ins, outs
            self.num_inputs, self.num_outputs = len(ins), len(outs)
            self.precision, self.out_types = None, {}

        def get_input(self, j):
            return SimpleNamespace(dtype=self._in[j])

        def get_output(self, j):
            return SimpleNamespace(dtype=self._out[j])

        def set_output_type(self, j, t):
            self.out_types[j] = t

    layers = [
        Layer("GATHER", ["float32", "int32"], ["float32"]),
        Layer("SHUFFLE", ["float32"], ["float32"]),
        Layer("SHUFFLE", ["int32"], ["int32"]),  # an index reshape: not a float value path
        Layer("ELEMENTWISE", ["float32", "float32"], ["bool"]),  # Equal(depth, 0)
        Layer("ELEMENTWISE", ["int32", "int32"], ["bool"]),
        Layer("ELEMENTWISE", ["float32", "float32"], ["float32"]),  # an Add in the network body
        Layer("CONVOLUTION", ["float32"], ["float32"]),
    ]
    network = SimpleNamespace(num_layers=len(layers), get_layer=lambda i: layers[i])
    assert _keep_fp32(trt, network) == 3
    assert [x.precision for x in layers] == ["float32", "float32", None, "float32", None, None, None]
    assert [x.out_types for x in layers] == [{0: "float32"}, {0: "float32"}, {}, {}, {}, {}, {}]


def test_fp32_builds_clear_tf32_and_fp16_builds_set_the_fp16_flag(fake):
    """TensorRT runs FP32 convolutions in TF32 (a 10-bit mantissa) unless the flag is cleared: an fp32
    engine clears it; a TensorRT 10 weakly typed fp16 build sets FP16 and leaves TF32 alone."""
    trt, onnx, engines = fake()
    build_engine(onnx, engines, SMALL)
    assert trt.calls["flags"] == [("clear", "TF32")]
    trt.calls["flags"].clear()
    build_engine(onnx, engines, replace(SMALL, precision="fp16", typing="weak"))
    assert ("set", "FP16") in trt.calls["flags"] and ("clear", "TF32") not in trt.calls["flags"]


def test_a_parser_failure_is_a_build_error_whose_log_names_the_parsers_errors(fake):
    from igde_stream.engine import EngineBuildError

    trt, onnx, engines = fake()
    trt.calls["parse_errors"] = ["node Conv_3: unsupported attribute", "node Gather_9: bad index"]
    with pytest.raises(EngineBuildError, match="TensorRT failed to build an engine") as info:
        build_engine(onnx, engines, SMALL)
    text = Path(info.value.log_path).read_text()
    assert "ONNX parser: node Conv_3: unsupported attribute; node Gather_9: bad index" in text
    assert trt.calls["builds"] == 0 and not list(engines.glob("*.engine"))
