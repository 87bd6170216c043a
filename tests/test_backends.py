"""Backend registry, model resolution, the auto choice, and the torch-free runtime path."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from igde_stream.backends import BACKEND_OPTIONS, BACKENDS, create_backend, resolve_model_file, select_backend
from igde_stream.backends.torch_backend import TorchBackend, TorchOptions
from igde_stream.models import create_model

ROOT = Path(__file__).resolve().parent.parent


def _inputs(n=2, h=23, w=41, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 3, h, w), dtype=np.float32), rng.random((n, 1, h, w), dtype=np.float32)


def test_registry_names():
    assert set(BACKENDS) == {"torch", "onnxruntime", "tensorrt"}


def test_unknown_backend_and_option_are_errors(tiny):
    with pytest.raises(ValueError, match="unknown backend"):
        create_backend("openvino")
    with pytest.raises(ValueError, match="does not take option"):
        create_backend("onnxruntime", model=str(tiny[2]), cuda_graph=True)


def test_missing_model_files_name_what_was_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        resolve_model_file(tmp_path / "x.onnx", ".onnx")
    with pytest.raises(FileNotFoundError, match="no shipped igde-nope.onnx"):
        resolve_model_file("igde-nope", ".onnx")


def test_onnxruntime_rejects_a_foreign_graph(tmp_path):
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    g = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    onnx.save(onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 17)]), tmp_path / "f.onnx")
    with pytest.raises(ValueError, match="not an igde-stream model"):
        create_backend("onnxruntime", model=str(tmp_path / "f.onnx"))
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(ValueError, match="cannot load"):
        create_backend("onnxruntime", model=str(tmp_path / "junk.onnx"))


def test_onnxruntime_given_a_checkpoint_says_how_to_run_it(tiny):
    with pytest.raises(ValueError, match=r"a PyTorch checkpoint; onnxruntime runs \.onnx files.*from igde_stream\.export import export_onnx; export_onnx\('"):
        create_backend("onnxruntime", model=str(tiny[1]))


def test_onnxruntime_reads_metadata_and_threads(tiny):
    b = create_backend("onnxruntime", model=str(tiny[2]), threads=1, optimization="basic")
    assert b.metadata["variant"] == "igde-tiny" and b.metadata["config"]["g0"] == 8
    out = b.run(*_inputs())
    assert out.shape == (2, 1, 23, 41)


def test_torch_backend_takes_a_module_without_touching_it(tiny):
    model = tiny[0]
    before = next(model.parameters()).clone()
    b = TorchBackend(model, "cpu", channels_last=True)
    c, d = _inputs(3, 19, 27)
    with torch.inference_mode():
        ref = model(torch.from_numpy(c), torch.from_numpy(d)).numpy()
    assert np.abs(b.run(c, d) - ref).max() < 1e-5
    assert torch.equal(next(model.parameters()), before)


def test_torch_fp16_and_graphs_need_cuda(tiny):
    with pytest.raises(ValueError, match="needs a CUDA device"):
        TorchBackend(tiny[0], "cpu", precision="fp16")
    with pytest.raises(ValueError, match="cuda_graph needs a CUDA device"):
        TorchBackend(tiny[0], "cpu", cuda_graph=True)
    with pytest.raises(ValueError, match="unexpected keyword"):
        TorchBackend(tiny[0], "cpu", fp16=True)


def test_sparse_option_sets_the_hard_output_form_and_refuses_a_graph():
    torch.manual_seed(3)
    model = create_model("igde-tiny", head="select", attend=2, scale=2).eval()
    with torch.no_grad():  # scores that choose other pixels, a gate that fires on most
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.15)
        model.head.conv.bias[-1] = 2.0
        model.head.color_scale.fill_(-10.0)
    rng = np.random.default_rng(4)
    c = rng.random((2, 3, 21, 27), dtype=np.float32)
    d = rng.integers(0, 256, (2, 1, 21, 27)).astype(np.float32) / 255
    sparse, dense = TorchBackend(model, "cpu"), TorchBackend(model, "cpu", sparse=False)
    assert (sparse.model.head.sparse, dense.model.head.sparse) == (True, False)  # the CPU default: gated pixels
    assert model.head.sparse is True  # the caller's model keeps its own setting
    assert "gated pixels" in sparse.description and "dense head" in dense.description
    a, b = sparse.run(c, d), dense.run(c, d)
    assert (a != d).mean() > 0.05 and (a != b).mean() < 0.01  # the same choices, but for near-ties
    assert TorchOptions(cuda_graph=True).resolved(cuda=True).sparse is False  # a graph needs the dense form
    assert TorchOptions(compile=True).resolved(cuda=True).sparse is False  # so does compile
    on_gpu = TorchOptions().resolved(cuda=True)  # the gated pixels are the CUDA default too, without a graph
    assert (on_gpu.sparse, on_gpu.cuda_graph, on_gpu.precision) == (True, False, "fp16")
    assert TorchOptions(cuda_graph=False, sparse=False).resolved(cuda=True).sparse is False
    other = TorchOptions().resolved(cuda=True, gated=False)  # a model without the sparse form keeps its graph
    assert (other.sparse, other.cuda_graph) == (False, True)
    assert TorchOptions(sparse=True).resolved(cuda=True, gated=False).sparse is False
    with pytest.raises(ValueError, match="cannot go with cuda_graph"):
        TorchOptions(cuda_graph=True, sparse=True).resolved(cuda=True)
    with pytest.raises(ValueError, match="cannot go with compile"):
        TorchOptions(compile=True, sparse=True).resolved(cuda=True)
    with pytest.raises(ValueError, match="compile needs a CUDA device"):
        TorchBackend(model, "cpu", compile=True)
    # the option reaches the backend through the common entry points too
    via = create_backend("torch", model, "cpu", sparse=False)
    assert via.model.head.sparse is False
    assert BACKEND_OPTIONS["torch"] - {"options"} == {f.name for f in dataclasses.fields(TorchOptions)}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the choices made without a GPU")
def test_auto_without_gpu(tiny):
    _, pt, onnx_path = tiny
    assert select_backend(str(onnx_path)).backend == "onnxruntime"
    c = select_backend(str(pt))
    assert (c.backend, c.device) == ("torch", "cpu") and "checkpoint" in c.reason
    assert select_backend(str(onnx_path), device="cpu").reason == "device cpu"
    assert select_backend(tiny[0]).backend == "torch"
    with pytest.raises(ValueError, match="no CUDA GPU"):
        select_backend(str(onnx_path), device="cuda")
    with pytest.raises(ValueError, match="unknown device"):
        select_backend(str(onnx_path), device="tpu")
    with pytest.raises(FileNotFoundError, match="no shipped"):
        select_backend("igde-nope")


def test_runtime_path_needs_no_torch(tiny):
    """With torch unimportable, Enhancer still imports, picks ONNX Runtime and runs."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "from igde_stream.enhancer import Enhancer\n"
        f"e = Enhancer({str(tiny[2])!r}, quiet=True)\n"
        "out = e.enhance(np.zeros((9, 13, 3), np.uint8), np.full((9, 13), 100, np.uint8))\n"
        "assert 'torch' not in sys.modules or sys.modules['torch'] is None\n"
        "print(e.backend_name, out.shape, out.dtype)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["onnxruntime", "(9,", "13)", "uint8"]


def test_model_registry_without_torch_says_what_to_install_and_what_runs():
    """The runtime install (no PyTorch): ``igde_stream.list_models()`` and ``create_model()`` are a
    ``ModuleNotFoundError`` (still an ImportError, name 'torch') that names the extra to install and the
    shipped models the Enhancer runs on ONNX Runtime (the .onnx files in igde_stream/weights), not
    Python's bare "import of torch halted"; and the shipped model named there runs."""
    shipped = sorted(p.stem for p in (ROOT / "igde_stream" / "weights").glob("*.onnx"))
    assert "igde-small" in shipped
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np, igde_stream\n"
        "for call in (igde_stream.list_models, lambda: igde_stream.create_model('igde-small')):\n"
        "    try:\n"
        "        call()\n"
        "    except ModuleNotFoundError as exc:\n"
        "        assert exc.name == 'torch', exc.name\n"
        "        print(exc)\n"
        "e = igde_stream.Enhancer('igde-small', quiet=True)\n"
        "print(e.backend_name, e.enhance(np.zeros((9, 13, 3), np.uint8), np.full((9, 13), 100, np.uint8)).shape)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for what, line in zip(("list_models", "create_model"), lines):
        assert line == (f"igde_stream.{what}() builds PyTorch networks and needs PyTorch, which is not installed (pip "
                        "install 'igde-stream[torch]'); without it the Enhancer runs the shipped models on ONNX Runtime: "
                        f"Enhancer(model=NAME) with NAME one of {', '.join(shipped)}, or an .onnx file")
    assert lines[2] == "onnxruntime (9, 13)"


def test_models_benchmark_times_gated_and_dense_heads_on_degraded_depth(tmp_path, select_onnx, monkeypatch):
    """bench models: a select model's gated and dense forms change the same pixels of the degraded
    frame (the gated form is a cheaper way to the same output), ratios against the first entry."""
    import json
    import shutil

    import igde_stream.export
    from igde_stream.bench import models as bench_models
    from igde_stream.export import export_onnx
    from igde_stream.models import load_checkpoint, weights_hash

    # an untrained gate that opens on part of the frame: conftest's select_onnx, whose checkpoint's
    # two forms the bench asks for are the session's exports of it (read only; each takes tens of seconds)
    model, ckpt = select_onnx["model"], select_onnx["checkpoint"]
    # any .onnx file is timed as it is: one from the TorchScript exporter (a few seconds; the bench's
    # own exports of the checkpoint take the default exporter)
    graph = export_onnx(model, tmp_path / "sel.onnx", check=False, exporter="torchscript")
    asked = []

    def shared_export(ref, path, **kw):
        asked.append((str(ref), kw))
        assert str(ref) == str(ckpt) and weights_hash(load_checkpoint(ref)) == weights_hash(model)
        assert kw == {"check": False, "dense_head": kw["dense_head"], "channel_multiple": 16}
        return Path(shutil.copyfile(select_onnx["dense" if kw["dense_head"] else "gated"], path))

    monkeypatch.setattr(igde_stream.export, "export_onnx", shared_export)
    out = tmp_path / "m.json"
    rc = bench_models.main(["--models", str(ckpt), str(graph), "--filters", "guided", "--size", "64x48",
                            "--rounds", "2", "--threads", "1", "--also-dense", "--json", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    rows = {r["entry"]: r for r in res["rows"]}
    gated, dense = rows[f"model:{ckpt}"], rows[f"model:{ckpt} (dense head)"]
    assert res["errors"] == "mix" and 0.01 < res["input_wrong_share"] < 0.5
    # the mix leaves holes: the fill an Enhancer runs after a zero_holes model is timed beside the rest
    assert (res["hole_share"] > 0) == ("hole fill (after the model)" in rows)
    assert 0.0 < gated["changed_share"] == dense["changed_share"]
    # an .onnx file runs as it is: the same graph, the same pixels changed
    assert rows[f"onnx:{graph}"]["changed_share"] == gated["changed_share"]
    assert [kw["dense_head"] for _, kw in asked] == [False, True]  # the checkpoint's gated form, then its dense one
    # a model file that is not there, or not a graph: the user's, exit 2 as in every command
    assert bench_models.main(["--models", str(tmp_path / "none.onnx"), "--filters", "--size", "64x48"]) == 2
    (tmp_path / "bad.onnx").write_bytes(b"not a graph")
    assert bench_models.main(["--models", str(tmp_path / "bad.onnx"), "--filters", "--size", "64x48"]) == 2
    assert gated["ratio"] == 1.0 and rows["filter:guided"]["ratio"] == pytest.approx(
        rows["filter:guided"]["ms_per_frame"] / gated["ms_per_frame"])


def test_infer_benchmark_runs_and_saves_rows(tmp_path, capsys):
    import json

    from igde_stream.bench import infer

    out = tmp_path / "r.json"
    rc = infer.main(["--backends", "torch,onnxruntime", "--model", "igde-tiny", "--sizes", "40x24,24x16",
                     "--batch", "1,2", "--iters", "1", "--warmup", "0", "--threads", "1", "--json", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    rows = res["rows"]
    # one row per setup x size x batch, in that order
    assert [(r["setup"], r["width"], r["height"], r["batch"]) for r in rows] == [
        (s, w, h, n) for s in ("torch:fp32", "onnxruntime:fp32") for w, h in ((40, 24), (24, 16)) for n in (1, 2)]
    assert res["baseline"] == "torch:fp32"
    for r in rows:
        assert r["iters"] >= 1 and r["peak_mem_mb"] > 0
        t = r["ms_per_batch_median"]  # the measured time; everything else is derived from it
        assert math.isfinite(t) and t > 0
        assert r["ms_per_frame"] == pytest.approx(t / r["batch"], rel=1e-9)
        assert r["fps"] == pytest.approx(1000.0 * r["batch"] / t, rel=1e-9)
    # ratio: frames/s against the baseline's row of the same size and batch, i.e. baseline time / own time
    base = {(r["width"], r["height"], r["batch"]): r["ms_per_batch_median"] for r in rows if r["setup"] == "torch:fp32"}
    for r in rows:
        expected = base[(r["width"], r["height"], r["batch"])] / r["ms_per_batch_median"]
        assert r["ratio"] == pytest.approx(expected, abs=1.5e-3), r  # stored rounded to 3 decimals
    assert res["weights"] == "shipped" or res["weights"].startswith("random init")
    table = capsys.readouterr().out
    for r in rows:
        assert (f"| {r['setup']} | {r['width']}x{r['height']} | {r['batch']} | {r['ms_per_frame']:.1f} | "
                f"{r['fps']:.2f} | {r['ratio']:.2f} |") in table


# ------------------------------------------------------------------ auto with a (pretended) GPU
# cuda_gpu, the tensorrt check and onnxruntime's CUDA provider are monkeypatched, so every branch of
# select_backend is reached on a CPU-only machine; engine discovery runs the real find_engine.

FAKE_GPU = "NVIDIA Fake 80GB"
FAKE_TRT = "10.99.0"


@pytest.fixture
def pretend(monkeypatch):
    """``pretend(gpu=..., trt=..., ort_cuda=..., torch=...)`` sets what select_backend sees."""
    import igde_stream.backends as B
    import igde_stream.engine as E

    real_has = B._has

    def setup(gpu=FAKE_GPU, trt=False, ort_cuda=False, torch=True):
        have = {"tensorrt": trt, "torch": torch}
        monkeypatch.setattr(B, "cuda_gpu", lambda: gpu)
        monkeypatch.setattr(B, "_has", lambda m: have[m] if m in have else real_has(m))
        monkeypatch.setattr(B, "_ort_has_cuda", lambda: ort_cuda)
        monkeypatch.setattr(E, "environment", lambda: {"trt_version": FAKE_TRT, "gpu_name": gpu})

    return setup


def _fake_engine(engines_dir, onnx_path, gpu_name=FAKE_GPU, trt_version=FAKE_TRT):
    from igde_stream.engine import BuildOptions, EngineInfo, engine_name, file_sha256

    o = BuildOptions()
    digest = file_sha256(onnx_path)
    path = Path(engines_dir) / engine_name(onnx_path, digest, o, trt_version, gpu_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a real engine")
    EngineInfo(onnx_path=str(onnx_path), onnx_sha256=digest, precision=o.precision, min_shape=o.min_shape,
               opt_shape=o.opt_shape, max_shape=o.max_shape, trt_version=trt_version, gpu_name=gpu_name).save(path)
    return path


def test_auto_with_a_gpu_and_no_tensorrt(tiny, pretend, tmp_path):
    model, pt, onnx_path = tiny
    pretend(trt=False, ort_cuda=False)
    c = select_backend(str(pt))
    assert (c.backend, c.device, c.options) == ("torch", "cuda", {}) and FAKE_GPU in c.reason
    assert select_backend("igde-small").backend == "torch"  # a name with shipped .pt and .onnx: PyTorch CUDA
    assert select_backend(str(pt), device="cuda:1").device == "cuda:1"  # the asked-for GPU is kept
    assert (select_backend(model).backend, select_backend(model).device) == ("torch", "cuda")
    c = select_backend(str(onnx_path), device="cpu")  # cpu asked for: no GPU branch at all
    assert (c.backend, c.device, c.reason) == ("onnxruntime", "cpu", "device cpu")
    # an ONNX file alone and onnxruntime without CUDA: the CPU is all that can run it
    c = select_backend(str(onnx_path))
    assert (c.backend, c.device) == ("onnxruntime", "cpu")
    assert "no CUDA GPU" not in c.reason and "CUDA-enabled ONNX Runtime" in c.reason  # the GPU is there
    pretend(trt=False, ort_cuda=True)
    c = select_backend(str(onnx_path))
    assert (c.backend, c.device) == ("onnxruntime", "cuda") and FAKE_GPU in c.reason
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"x")
    with pytest.raises(ValueError, match="tensorrt package is not installed"):
        select_backend(str(engine))
    with pytest.raises(ValueError, match="tensorrt package is not installed"):
        select_backend(str(onnx_path), engine=str(engine))


def test_auto_with_a_gpu_and_tensorrt(tiny, pretend, tmp_path):
    _, pt, onnx_path = tiny
    engines = tmp_path / "engines"
    pretend(trt=True, ort_cuda=True)
    # an engine given (file or argument) runs on TensorRT
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"x")
    assert (select_backend(str(engine)).backend, select_backend(str(engine)).device) == ("tensorrt", "cuda")
    c = select_backend(str(onnx_path), device="cuda:1", engine=str(engine))
    assert (c.backend, c.device) == ("tensorrt", "cuda:1")
    # no engine built yet: PyTorch for a checkpoint, onnxruntime CUDA for an ONNX file
    assert select_backend(str(onnx_path), engines_dir=engines).backend == "onnxruntime"
    assert select_backend(str(pt), engines_dir=engines).backend == "torch"
    # an engine built for another GPU or TensorRT version does not match
    _fake_engine(engines, onnx_path, gpu_name="NVIDIA Other")
    _fake_engine(engines, onnx_path, trt_version="8.6.1")
    assert select_backend(str(onnx_path), engines_dir=engines).backend == "onnxruntime"
    # a matching engine for this ONNX file is found and handed over as the engine option
    found = _fake_engine(engines, onnx_path)
    c = select_backend(str(onnx_path), engines_dir=engines)
    assert (c.backend, c.device, c.options) == ("tensorrt", "cuda", {"engine": str(found)})
    assert str(found) in c.reason and FAKE_GPU in c.reason
    # on the CPU, or for a .pt (no ONNX file to match), the engine is not used
    assert select_backend(str(onnx_path), device="cpu", engines_dir=engines).backend == "onnxruntime"
    assert select_backend(str(pt), engines_dir=engines).backend == "torch"


def test_auto_without_a_gpu_pretended(tiny, pretend, tmp_path):
    model, pt, onnx_path = tiny
    pretend(gpu=None, trt=True, ort_cuda=True)
    c = select_backend(str(onnx_path))
    assert (c.backend, c.device, c.reason) == ("onnxruntime", "cpu", "no CUDA GPU")
    c = select_backend(str(pt))
    assert (c.backend, c.device) == ("torch", "cpu") and "checkpoint" in c.reason
    assert select_backend(model).device == "cpu"
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"x")
    with pytest.raises(ValueError, match="no CUDA GPU to run it"):
        select_backend(str(engine))
    with pytest.raises(ValueError, match="no CUDA GPU is visible"):
        select_backend(str(onnx_path), device="cuda")
    # without PyTorch nothing sees the GPU, but onnxruntime's CUDA provider may: asked-for cuda goes there
    pretend(gpu=None, torch=False, ort_cuda=True)
    c = select_backend(str(onnx_path), device="cuda")
    assert (c.backend, c.device) == ("onnxruntime", "cuda")
    pretend(gpu=None, torch=False, ort_cuda=False)
    with pytest.raises(ValueError, match=r"no CUDA GPU is visible \(PyTorch is not installed\)"):
        select_backend(str(onnx_path), device="cuda")
    with pytest.raises(ValueError, match="needs PyTorch installed"):
        select_backend(str(pt))


def test_onnxruntime_cpu_chunks_match_whole_batches(tiny):
    rng = np.random.default_rng(3)
    color = rng.random((5, 3, 21, 27), dtype=np.float32)
    depth = rng.random((5, 1, 21, 27), dtype=np.float32)
    whole = create_backend("onnxruntime", model=str(tiny[2]), cpu_chunk=0).run(color, depth)
    for chunk in (1, 2):
        out = create_backend("onnxruntime", model=str(tiny[2]), cpu_chunk=chunk).run(color, depth)
        assert out.shape == (5, 1, 21, 27)
        np.testing.assert_allclose(out, whole, atol=1e-6)


def test_stacked_option_defaults_to_the_compiled_form():
    """The stacked attend terms (more memory, the same speed in a graph) are the default of the
    compiled dense form only; the option reaches the backend's copy of the model."""
    assert TorchOptions(compile=True).resolved(cuda=True).stacked is True
    assert TorchOptions(sparse=False).resolved(cuda=True).stacked is False
    assert TorchOptions(cuda_graph=True).resolved(cuda=True).stacked is False
    assert TorchOptions().resolved(cuda=False).stacked is False
    assert TorchOptions(compile=True, stacked=False).resolved(cuda=True).stacked is False
    model = create_model("igde-tiny", head="select", attend=2, scale=2).eval()
    b = create_backend("torch", model, "cpu", sparse=False, stacked=True)
    assert b.model.head.stacked is True and model.head.stacked is False
    assert "dense head, stacked" in b.description


def test_a_checkpoint_whose_weights_do_not_fit_its_config_is_one_clear_line(tmp_path, capsys, make_clip):
    """A checkpoint with the config of one model and the weights of another (igde-tiny's config,
    igde-small-residual's weights): load_state_dict's own error is a page of key names, a RuntimeError
    that the Enhancer let through as it was and the CLI printed as 50-odd lines."""
    from igde_stream.cli import main
    from igde_stream.enhancer import Enhancer, EnhancerError
    from igde_stream.models import load_checkpoint

    torch.manual_seed(0)
    other = create_model("igde-small-residual")
    path = tmp_path / "mixed.pt"
    torch.save({"arch": "igde", "variant": "igde-tiny", "config": dataclasses.asdict(create_model("igde-tiny").config),
                "state_dict": other.state_dict()}, path)
    with pytest.raises(ValueError, match=r"mixed\.pt: its weights do not fit its config \(\d+ unexpected, \d+ of "
                                         r"another shape, e\.g\. .*\): a checkpoint of another model or architecture"):
        load_checkpoint(path)
    with pytest.raises(EnhancerError) as info:
        Enhancer(str(path), backend="torch", quiet=True)
    assert "\n" not in str(info.value)
    clip = make_clip(n=2)
    assert main([str(clip["color"]), str(clip["depth"]), "-o", str(clip["out"]), "--model", str(path), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
@pytest.mark.parametrize("threads", [-1, 2.5, "2", True])
def test_threads_must_be_a_count(tiny, backend, threads):
    """threads=-1 was a RuntimeError from torch.set_num_threads on the torch backend and went to ONNX
    Runtime unchecked; 2.5 ran on 2 threads while the description said 2.5."""
    model = str(tiny[1] if backend == "torch" else tiny[2])
    with pytest.raises(ValueError, match=r"threads must be an integer >= 0"):
        create_backend(backend, model=model, threads=threads)
    assert create_backend(backend, model=model, threads=np.int64(1)).run(*_inputs()).shape == (2, 1, 23, 41)


@pytest.mark.parametrize("chunk", [-1, 2.5, None])
def test_onnxruntime_cpu_chunk_must_be_a_count(tiny, chunk):
    with pytest.raises(ValueError, match=r"cpu_chunk must be an integer >= 0"):
        create_backend("onnxruntime", model=str(tiny[2]), cpu_chunk=chunk)


def test_torch_backend_refuses_a_device_it_does_not_run_on(tiny):
    with pytest.raises(ValueError, match="unknown device 'mps' for the torch backend"):
        create_backend("torch", model=str(tiny[1]), device="mps")
