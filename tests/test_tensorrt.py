"""TensorRT: what runs without TensorRT (names, sidecars, staleness, build plans, FP16 ONNX, the
tool's one-line exit) and, marked, what needs TensorRT and a GPU."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path
from types import SimpleNamespace

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
        engine_name("m/igde-small.onnx", "ab" * 32, replace(o, typing="strong"), **ENV),
        engine_name("m/igde-small.onnx", "ab" * 32, replace(o, typing="weak"), **ENV),
        engine_name("m/igde-small.onnx", "ab" * 32, replace(o, workspace_gib=8.0), **ENV),
        engine_name("m/igde-small.onnx", "ab" * 32, replace(o, optimization_level=5), **ENV),
    ]
    assert len({name, *variants}) == 10
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


def test_reuse_compares_every_build_setting():
    asked = BuildOptions(typing="weak")
    built = _info(build_options=asdict(replace(asked, typing="strong", workspace_gib=2.0, optimization_level=5)))
    why = problems(built, options=asked, **ENV)
    assert why == ["typing strong, asked for weak", "workspace GiB 2.0, asked for 4.0",
                   "optimization level 5, asked for 3"]
    assert problems(_info(build_options=asdict(asked)), options=asked, **ENV) == []
    assert problems(_info(build_options=asdict(asked)), options=replace(asked, precision="fp32"), **ENV) == \
        ["precision fp16, asked for fp32"]
    assert problems(_info(), options=asked, **ENV)[0] == "typing not recorded, asked for weak"
    assert "profile" in problems(_info(build_options=asdict(asked)), options=replace(asked, opt_shape=(8, 540, 960)),
                                 **ENV)[0]
    assert EngineInfo(**{**asdict(built), "min_shape": (1, 64, 64)}).options.typing == "strong"


def test_a_batch_below_the_profile_minimum_is_not_a_problem():
    info = _info(min_shape=(4, 540, 960), opt_shape=(4, 540, 960), max_shape=(8, 540, 960))
    assert problems(info, shape=(1, 540, 960), **ENV) == []  # padded to 4 by the backend
    assert problems(info, shape=(9, 540, 960), **ENV) != []
    assert problems(info, shape=(1, 720, 960), **ENV) != []


def test_pad_batch_repeats_the_last_frame():
    from igde_stream.backends.tensorrt_backend import pad_batch

    t = torch.arange(2 * 1 * 2 * 3, dtype=torch.float32).reshape(2, 1, 2, 3)
    p = pad_batch(t, 4)
    assert p.shape == (4, 1, 2, 3)
    assert torch.equal(p[:2], t) and torch.equal(p[2], t[1]) and torch.equal(p[3], t[1])
    assert pad_batch(t, 2) is t and pad_batch(t, 1) is t


def test_last_partial_batch_runs_padded_without_a_rebuild():
    """An engine whose profile starts at N = 4 gets a 3-frame last batch: it runs as 4 (last frame
    repeated), 3 outputs come back, and the engine is neither rebuilt nor refused."""
    from igde_stream.backends.tensorrt_backend import TensorRTBackend

    b = object.__new__(TensorRTBackend)  # the engine-free parts of a loaded backend
    b.device = torch.device("cpu")
    b.info = _info(min_shape=(4, 6, 8), opt_shape=(4, 6, 8), max_shape=(8, 6, 8))
    b.engine_path = Path("x.engine")

    def adopt(*args, **kw):
        raise AssertionError("rebuilt or refused for a batch the engine can run padded")

    seen = []

    def execute(color, depth):  # stands in for the engine: output = 2 * depth + red
        seen.append(tuple(depth.shape))
        return 2 * depth + color[:, :1]

    b._adopt, b._execute = adopt, execute
    color = torch.zeros(3, 3, 6, 8)
    color[:, 0] = torch.tensor([0.1, 0.2, 0.3]).view(3, 1, 1)
    depth = torch.tensor([1.0, 2.0, 3.0]).view(3, 1, 1, 1).expand(3, 1, 6, 8)
    out = b.forward(color, depth)
    assert seen == [(4, 1, 6, 8)]
    assert out.shape == (3, 1, 6, 8)
    assert torch.allclose(out[:, 0, 0, 0], torch.tensor([2.1, 4.2, 6.3]))
    b.forward(torch.zeros(5, 3, 6, 8), torch.zeros(5, 1, 6, 8))
    assert seen[-1] == (5, 1, 6, 8)  # inside the profile: not padded


def _write_engine(folder: Path, onnx: Path, precision: str, typing: str = "auto") -> Path:
    """A fake engine for ``onnx`` with a valid sidecar, named as build_engine names it."""
    o = BuildOptions(precision=precision, typing=typing)
    path = folder / engine_name(onnx, file_sha256(onnx), o, **ENV)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"fake " + precision.encode())
    _info(onnx_path=str(onnx), onnx_sha256=file_sha256(onnx), precision=precision, build_options=asdict(o),
          engine_sha256=file_sha256(path)).save(path)
    return path


@pytest.fixture
def fake_trt_backend(monkeypatch, tmp_path):
    """TensorRTBackend importable and constructible without TensorRT: a stand-in module, this
    machine's environment faked, ``_load`` recording the engine instead of deserialising it;
    ``build_engine`` records its calls. Returns (onnx file, loaded engines, builds)."""
    from igde_stream.backends import tensorrt_backend

    monkeypatch.setitem(sys.modules, "tensorrt", SimpleNamespace(__version__=ENV["trt_version"]))
    monkeypatch.setattr(tensorrt_backend, "environment", lambda: dict(ENV))
    loaded, builds = [], []

    def load(self, engine):
        loaded.append(Path(engine))
        self.engine_path, self.info = Path(engine), EngineInfo.load(engine)

    def build(src, engines_dir, options, force=False, verbose=False):
        builds.append((options, force))
        return _write_engine(Path(engines_dir) / f"built{len(builds)}", Path(src), options.precision)

    monkeypatch.setattr(tensorrt_backend.TensorRTBackend, "_load", load)
    monkeypatch.setattr(tensorrt_backend, "build_engine", build)
    monkeypatch.chdir(tmp_path)  # the default engines/ folder
    onnx = tmp_path / "tiny.onnx"
    onnx.write_bytes(b"stands in for an ONNX file")
    return onnx, loaded, builds


def test_cli_precision_reaches_the_tensorrt_reuse_check(fake_trt_backend):
    from igde_stream.cli import _enhancer_options, build_parser
    from igde_stream.enhancer import Enhancer

    onnx, loaded, builds = fake_trt_backend
    fp16 = _write_engine(Path("engines"), onnx, "fp16")
    fp32 = _write_engine(Path("engines"), onnx, "fp32")
    base = ["c.mp4", "d.mkv", "-o", "o.mkv", "--model", str(onnx), "--backend", "tensorrt", "-q"]
    args = build_parser().parse_args(base + ["--precision", "fp32"])
    assert _enhancer_options(args)["precision"] == "fp32"
    e = Enhancer(**_enhancer_options(args))
    assert loaded == [fp32] and builds == [] and e.backend.precision == "fp32"
    e = Enhancer(**_enhancer_options(build_parser().parse_args(base)))  # default: fp16
    assert loaded[-1] == fp16 and builds == [] and e.backend.precision == "fp16"
    with pytest.raises(SystemExit):
        build_parser().parse_args(base + ["--precision", "int8"])


def test_a_given_engine_of_another_precision_is_rebuilt_as_asked(fake_trt_backend):
    from igde_stream.backends import create_backend

    onnx, loaded, builds = fake_trt_backend
    fp32 = _write_engine(Path("given"), onnx, "fp32", typing="strong")
    create_backend("tensorrt", model=str(onnx), engine=str(fp32), precision="fp32", quiet=True)
    assert loaded == [fp32] and builds == []  # asked for fp32: used as it is
    create_backend("tensorrt", model=str(onnx), engine=str(fp32), quiet=True)  # fp16 by default
    (options, force), = builds
    # built as asked (fp16), keeping the engine's other settings; not forced, so a matching engine
    # built on an earlier run is reused instead of being rebuilt every time
    assert options.precision == "fp16" and options.typing == "strong" and force is False
    assert loaded[-1].parent.name == "built1"


def test_a_weak_engine_from_tensorrt_10_is_rebuilt_with_auto_typing_on_11_after_a_release(
        fake_trt_backend, monkeypatch):
    """An engine built weakly typed on TensorRT 10, met on 11 (which has strong typing only): rebuilt
    with typing 'auto' (before: build_plan's ValueError, a traceback), and the loaded engine is released
    first (TensorRT keeps one logger while a runtime lives: the build log stayed empty)."""
    from igde_stream.backends import create_backend, tensorrt_backend

    onnx, loaded, builds = fake_trt_backend
    weak = _write_engine(Path("given"), onnx, "fp16", typing="weak")  # its sidecar says TensorRT 10.13
    monkeypatch.setattr(tensorrt_backend, "environment", lambda: dict(ENV, trt_version="11.4.0"))
    released = []
    real_release = tensorrt_backend.TensorRTBackend._release

    def release(self):
        released.append(len(builds))
        real_release(self)

    monkeypatch.setattr(tensorrt_backend.TensorRTBackend, "_release", release)
    create_backend("tensorrt", model=str(onnx), engine=str(weak), quiet=True)
    (options, _), = builds
    assert options.typing == "auto" and options.precision == "fp16"
    assert released == [0]  # before the build


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
    _info(build_options={"typing": "strong", "colour": "blue"}).save(engine)  # unknown keys are an error
    with pytest.raises(EngineError, match="unknown build options"):
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
def test_fp16_onnx_keeps_float32_io_and_accuracy(tmp_path, tiny):
    import onnx
    import onnxruntime as ort

    src = tiny[2]  # conftest's session export of igde-tiny (seed 0), read only
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


def test_onnx_metadata_is_the_igde_keys_without_their_prefix(tmp_path):
    """A hand-made graph with ``igde.variant``, ``igde.config`` (JSON) and a foreign key: the metadata an
    engine's sidecar records is {variant, config parsed}, the ``igde.`` prefix (5 characters) cut,
    the foreign key left out; a graph without such keys gives {}."""
    import onnx
    from onnx import TensorProto, helper

    from igde_stream.engine import onnx_metadata

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    m = helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y]))
    onnx.save(m, str(tmp_path / "plain.onnx"))
    for k, v in {"igde.variant": "igde-small", "igde.config": '{"g": 12, "head": "select"}', "producer": "p"}.items():
        m.metadata_props.add(key=k, value=v)
    onnx.save(m, str(tmp_path / "m.onnx"))
    assert onnx_metadata(tmp_path / "m.onnx") == {"variant": "igde-small", "config": {"g": 12, "head": "select"}}
    assert onnx_metadata(tmp_path / "plain.onnx") == {}


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
    # a last batch below the profile's minimum N runs padded (last frame repeated), never rebuilt
    pinned = build_engine(src, engines, BuildOptions(min_shape=(2, 48, 64), opt_shape=(2, 48, 64), max_shape=(2, 48, 64)))
    backend = create_backend("tensorrt", model=str(src), engine=str(pinned), rebuild="never")
    one = backend.run(c[:1], d[:1])
    assert one.shape == (1, 1, 48, 64) and backend.engine_path == pinned
    assert float(np.abs(one - ref[:1]).max()) < 2e-2
    # a changed ONNX makes the engine stale: refused when rebuilding is not allowed
    src2 = export_onnx(create_model("igde-tiny").eval(), tmp_path / "tiny2.onnx")
    with pytest.raises(EngineError, match="another ONNX"):
        create_backend("tensorrt", model=str(src2), engine=str(engine), rebuild="never")
