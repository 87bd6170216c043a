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
