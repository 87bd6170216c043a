"""ONNX export's check (``export._export``): the selection head's share bound (docs/backends.md: "on all
but at most 0.2 % of the pixels") and the check's frames ("another odd shape" than the example's). The
two runtimes' outputs are stand-ins (``_both_outputs``) with a chosen share of differing pixels, so the
expected verdicts follow from the documented bound alone."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import igde_stream.export as export
from igde_stream import create_model


def _outputs_differing_on(share: float, shapes: list):
    """A stand-in ``_both_outputs``: equal outputs but on the first ceil(share x pixels) pixels (by 0.5)."""

    def both(model, onnx_path, shape, seed=0):
        shapes.append(tuple(shape))
        n, h, w = shape
        ref = np.zeros((n, 1, h, w), np.float32)
        got = ref.copy()
        got.reshape(-1)[:math.ceil(share * ref.size)] = 0.5
        return got, ref

    return both


@pytest.fixture(scope="module")
def select():
    torch.manual_seed(0)
    model = create_model("igde-tiny", head="select", radius=2)
    assert model.gathers_input
    return model


@pytest.mark.parametrize("share, ok", [(0.001, True), (0.004, False), (0.05, False)])
def test_a_selection_head_may_differ_on_at_most_0_2_percent_of_the_pixels(tmp_path, monkeypatch, select, share, ok):
    shapes: list = []
    monkeypatch.setattr(export, "_both_outputs", _outputs_differing_on(share, shapes))
    out = tmp_path / "select.onnx"
    if ok:
        assert export.export_onnx(select, out, exporter="torchscript").is_file()
    else:
        with pytest.raises(RuntimeError, match="differs from PyTorch by 5.00e-01"):
            export.export_onnx(select, out, exporter="torchscript")
        assert not out.exists() and not list(tmp_path.iterdir())
    assert len(shapes) == 2  # the largest difference, then the share


def test_the_check_runs_on_another_odd_shape_than_the_example(tmp_path, monkeypatch, select):
    """export_onnx's docstring: the example (N, H, W) only traces; the check runs "on another odd
    shape": a batch of more than one, odd H and W, other than the example's."""
    shapes: list = []
    monkeypatch.setattr(export, "_both_outputs", _outputs_differing_on(0.001, shapes))
    export.export_onnx(select, tmp_path / "select.onnx", exporter="torchscript", example_shape=(2, 40, 56))
    assert len(shapes) == 2
    for n, h, w in shapes:
        assert n > 1 and h % 2 == 1 and w % 2 == 1 and h != w
        assert (h, w) != (40, 56)


@pytest.mark.parametrize("g, multiple, expected", [(12, 16, "12 -> 16"), (12, 0, "12"), (16, 16, "16"),
                                                   (8, 16, "8 -> 16")])
def test_the_metadata_says_the_growth_as_trained_and_as_exported(tmp_path, g, multiple, expected):
    """docs/backends.md: the metadata carries ``growth_channels``, "12 -> 16" when the export padded the
    dense layers; as trained alone when nothing was padded (already a multiple, or multiple 0)."""
    torch.manual_seed(0)
    model = create_model("igde-tiny", g=g)
    path = export.export_onnx(model, tmp_path / "m.onnx", exporter="torchscript", check=False,
                              channel_multiple=multiple)
    assert export.read_metadata(path)["growth_channels"] == expected


def test_the_default_opset_is_18(tmp_path):
    """The module docstring: the graph is exported at opset 18 (docs/backends.md's runtimes are built
    for it)."""
    torch.manual_seed(0)
    path = export.export_onnx(create_model("igde-tiny"), tmp_path / "m.onnx", exporter="torchscript", check=False)
    import onnx

    opsets = {o.domain: o.version for o in onnx.load(str(path)).opset_import}
    assert opsets.get("", opsets.get("ai.onnx")) == 18


def test_a_checkpoint_path_exports_its_own_weights(tmp_path):
    """export_onnx takes a ``.pt`` path: the graph computes the saved model (PyTorch written out on the
    same inputs), and the metadata is that model's."""
    import onnxruntime as ort

    from igde_stream.models import save_checkpoint, weights_hash

    torch.manual_seed(3)
    model = create_model("igde-tiny", g=12).eval()
    save_checkpoint(tmp_path / "m.pt", model)
    path = export.export_onnx(str(tmp_path / "m.pt"), tmp_path / "m.onnx", exporter="torchscript", check=False)
    meta = export.read_metadata(path)
    assert meta["config"]["g"] == 12 and meta["weights_hash"] == weights_hash(model)
    rng = np.random.default_rng(1)
    color = rng.random((1, 3, 17, 23), dtype=np.float32)
    depth = rng.random((1, 1, 17, 23), dtype=np.float32)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        ["depth_out"], {"color": color, "depth": depth})[0]
    with torch.inference_mode():
        ref = model(torch.from_numpy(color), torch.from_numpy(depth)).numpy()
    np.testing.assert_allclose(got, ref, atol=1e-4)


def test_the_output_dims_take_the_depth_inputs_names():
    """_name_output_dims' docstring: the output's dims are named after the depth input's (N, 1, H, W),
    in place of the exporter's expressions such as Min(H, 2*((H+1)//2)); other outputs are left alone."""
    import onnx
    from onnx import TensorProto, helper

    expr_h, expr_w = "Min(H, 2*((H+1)//2))", "Min(W, 2*((W+1)//2))"
    graph = helper.make_graph(
        [helper.make_node("Identity", ["depth"], ["depth_out"]), helper.make_node("Identity", ["color"], ["extra"])],
        "g",
        [helper.make_tensor_value_info("color", TensorProto.FLOAT, ["N", 3, "H", "W"]),
         helper.make_tensor_value_info("depth", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [helper.make_tensor_value_info("depth_out", TensorProto.FLOAT, ["s0", 1, expr_h, expr_w]),
         helper.make_tensor_value_info("extra", TensorProto.FLOAT, ["s0", 3, expr_h, expr_w])])
    proto = helper.make_model(graph)
    export._name_output_dims(proto)
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in proto.graph.output}
    assert dims == {"depth_out": ["N", 1, "H", "W"], "extra": ["s0", 3, expr_h, expr_w]}
    onnx.checker.check_model(proto)


@pytest.mark.parametrize("atol, ok", [(0.5, True), (0.25, False)])
def test_the_export_must_match_within_atol(tmp_path, monkeypatch, atol, ok):
    """export_onnx's docstring: the result must match PyTorch within ``atol``; a largest difference of
    exactly 0.5 is within 0.5, not within 0.25 (a residual head: no share applies)."""
    monkeypatch.setattr(export, "_both_outputs", _outputs_differing_on(0.001, []))
    torch.manual_seed(0)
    model = create_model("igde-tiny")
    assert not getattr(model, "gathers_input", False)
    out = tmp_path / "m.onnx"
    if ok:
        assert export.export_onnx(model, out, exporter="torchscript", atol=atol).is_file()
    else:
        with pytest.raises(RuntimeError, match="differs from PyTorch by 5.00e-01"):
            export.export_onnx(model, out, exporter="torchscript", atol=atol)


def test_the_tool_reads_a_checkpoint_of_any_suffix_as_a_checkpoint(tmp_path, capsys):
    """``tools/export_onnx.py --checkpoint m.pth`` (PyTorch's other usual suffix) exports that file's
    weights; it was taken for a registered model name ("no shipped weights for 'm.pth'"). A file that
    is no checkpoint is said to be one, in one line."""
    import onnxruntime as ort

    from conftest import load_tool
    from igde_stream.models import save_checkpoint

    torch.manual_seed(5)
    model = create_model("igde-tiny").eval()
    save_checkpoint(tmp_path / "m.pth", model)
    tool = load_tool("export_onnx")
    assert tool.main(["--checkpoint", str(tmp_path / "m.pth"), "--exporter", "torchscript"]) == 0
    rng = np.random.default_rng(2)
    color, depth = rng.random((1, 3, 12, 20), dtype=np.float32), rng.random((1, 1, 12, 20), dtype=np.float32)
    got = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]).run(
        ["depth_out"], {"color": color, "depth": depth})[0]
    with torch.inference_mode():
        ref = model(torch.from_numpy(color), torch.from_numpy(depth)).numpy()
    np.testing.assert_allclose(got, ref, atol=1e-4)
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    capsys.readouterr()
    assert tool.main(["--checkpoint", str(tmp_path / "notes.txt"), "-o", str(tmp_path / "n.onnx")]) == 2
    assert capsys.readouterr().err.strip().startswith(f"export_onnx.py: error: {tmp_path / 'notes.txt'}: not an "
                                                      "igde-stream checkpoint (")
    assert not (tmp_path / "n.onnx").exists()
