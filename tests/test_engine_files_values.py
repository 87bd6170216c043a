"""Values of ``engine/files.py`` (mutation campaign 58c): the GPU's slug (its docstring's example),
an engine's file name written out by hand from what docs/backends.md says it records (the ONNX
sha256, every build option, the profile, TensorRT and the GPU), the files beside it, and a file's
sha256 against ``hashlib`` over the whole file at once (chunks of 1 MiB: the file is larger)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from igde_stream.engine import BuildOptions
from igde_stream.engine.files import (_atomic_write, engine_name, file_sha256, log_path, sidecar_path, slug,
                                      timing_cache_path)


def test_the_gpus_slug_is_lower_case_with_dashes_and_never_empty():
    assert slug("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3"
    assert slug("  NVIDIA GeForce RTX 4090 (laptop) ") == "nvidia-geforce-rtx-4090-laptop"
    assert slug("Tesla T4.1") == "tesla-t4.1"
    assert slug("***") == "unknown"
    assert slug("") == "unknown"


def test_an_engines_name_records_every_option_tensorrt_and_the_gpu():
    digest = "0123456789abcdef" * 4
    options = BuildOptions(min_shape=(1, 64, 64), opt_shape=(4, 540, 960), max_shape=(8, 1088, 1920))
    name = engine_name("models/igde-small.onnx", digest, options, "10.9.0", "NVIDIA H100 80GB HBM3")
    assert name == ("igde-small.0123456789ab.fp16.auto.ws4g.o3.1x64x64-4x540x960-8x1088x1920"
                    ".trt10.9.0.nvidia-h100-80gb-hbm3.engine")
    options = BuildOptions(min_shape=(2, 32, 48), opt_shape=(2, 32, 48), max_shape=(3, 64, 96), precision="fp32",
                           typing="strong", workspace_gib=0.5, optimization_level=5)
    assert engine_name(Path("/x/m.onnx"), digest, options, "11.0", "H200") == (
        "m.0123456789ab.fp32.strong.ws0.5g.o5.2x32x48-2x32x48-3x64x96.trt11.0.h200.engine")


def test_the_files_beside_an_engine():
    engine = Path("engines/m.abc.engine")
    assert sidecar_path(engine) == Path("engines/m.abc.engine.json")
    assert log_path(str(engine)) == Path("engines/m.abc.engine.log")
    assert timing_cache_path("engines", "10.9.0", "NVIDIA H100 80GB HBM3") == Path(
        "engines/timing.trt10.9.0.nvidia-h100-80gb-hbm3.cache")


def test_a_files_sha256_is_that_of_all_its_bytes(tmp_path):
    data = bytes(range(256)) * (10 * 1024 + 3)  # 2.5 MiB and 768 bytes: three chunks, the last short
    p = tmp_path / "big.onnx"
    p.write_bytes(data)
    assert file_sha256(p) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert file_sha256(tmp_path / "empty") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_an_atomic_write_replaces_the_file_and_leaves_no_part(tmp_path):
    p = tmp_path / "e.engine"
    p.write_bytes(b"old")
    _atomic_write(p, memoryview(b"new bytes"))
    assert p.read_bytes() == b"new bytes"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["e.engine"]
