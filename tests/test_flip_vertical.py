"""IGDEConfig.flip_vertical (the igde-small-hq variant): the select head's scores and gate averaged
over runs on the frame, its left-right mirror, its upside-down copy and the frame turned half round,
checked against four plain runs made by hand."""

from __future__ import annotations

import pytest
import torch

from conftest import random_frames as _inputs, random_select_model as _model
from igde_stream.models import create_model
from igde_stream.models.selection import head_form


def _by_hand(plain, color, depth, flips):
    """The mean of plain runs on the flipped frames, flipped back, each run's channel of offset
    (dy, dx) read at the offset flipped alike (found in the offsets list, not the head's tables)."""
    offsets = plain.head.offsets
    total = 0.0
    for sy, sx in flips:
        dims = tuple(d for d, s in ((-2, sy), (-1, sx)) if s < 0)
        c, d = (color.flip(dims), depth.flip(dims)) if dims else (color, depth)
        out = plain.select_logits(c, d)
        out = out.flip(dims) if dims else out
        rows = [offsets.index((sy * dy, sx * dx)) for dy, dx in offsets] + [len(offsets)]
        total = total + out[:, rows]
    return total / len(flips)


@pytest.mark.parametrize("mirror", [True, False])
def test_logits_are_the_mean_of_the_flipped_runs_by_hand(mirror):
    plain = _model(seed=1)
    model = _model(seed=1, flip_average=mirror, flip_vertical=True)
    color, depth = _inputs()
    flips = [(1, 1), (1, -1), (-1, 1), (-1, -1)] if mirror else [(1, 1), (-1, 1)]
    with torch.no_grad():
        want = _by_hand(plain, color, depth, flips)
        got = model.select_logits(color, depth)
        # the reordering matters: up and down rays swapped give other scores
        unordered = (plain.select_logits(color, depth) + plain.select_logits(color.flip(-2), depth.flip(-2)).flip(-2)) / 2
    assert torch.allclose(got, want, atol=1e-5)
    if not mirror:
        assert not torch.allclose(got, unordered, atol=1e-2)


@pytest.mark.parametrize("pick", [0.0, 0.3])
def test_flipped_inputs_give_the_flipped_output(pick):
    """Even sides, so the half-resolution grid maps onto itself under both flips: the model is then
    exactly equivariant to either flip, which the left-right average alone is not upside down."""
    model = _model(seed=2, flip_average=True, flip_vertical=True, pick_temperature=pick)
    lr = _model(seed=2, flip_average=True, pick_temperature=pick)
    color, depth = _inputs(h=20, w=28, seed=3)
    with torch.no_grad():
        shift = model.select_logits(color, depth)[:, -1].median()  # half the gate open
        for m in (model, lr):
            m.head.conv.bias[-1] -= shift
        out = model(color, depth)
        assert not torch.equal(out, depth)
        for dims in ((-1,), (-2,), (-2, -1)):
            assert torch.equal(model(color.flip(dims), depth.flip(dims)).flip(dims), out)
        assert not torch.equal(lr(color.flip(-2), depth.flip(-2)).flip(-2), lr(color, depth))


def test_gated_pixel_form_equals_the_dense_hard_output():
    model = _model(seed=7, flip_average=True, flip_vertical=True, pick_temperature=0.3, gate_threshold=0.2)
    color, depth = _inputs(h=22, w=30, seed=8)
    with torch.no_grad():
        model.head.conv.bias[-1] -= model.select_logits(color, depth)[:, -1].median()
        with head_form(model, sparse=True):
            sparse = model(color, depth)
        with head_form(model, sparse=False):
            dense = model(color, depth)
    assert not torch.equal(dense, depth)
    assert (sparse != dense).float().mean() <= 0.002  # argmax near-ties only


def test_never_trained_and_fresh_model_returns_its_input():
    """In train mode the vertical runs are off: with ``flip_train`` the logits are the left-right
    pair's mean, by hand from a plain model."""
    plain, model = _model(seed=4), _model(seed=4, flip_average=True, flip_vertical=True)
    color, depth = _inputs()
    with torch.no_grad():
        want = _by_hand(plain, color, depth, [(1, 1), (1, -1)])
    model.train()
    model.flip_train = True
    with torch.no_grad():
        assert torch.allclose(model.select_logits(color, depth), want, atol=1e-5)
    fresh = create_model("igde-small-hq").eval()
    assert fresh.config.flip_vertical and fresh.config.flip_average
    color, depth = _inputs(h=23, w=31)
    with torch.no_grad():
        assert torch.equal(fresh(color, depth), depth)


def test_config_checks():
    with pytest.raises(ValueError, match="flip_vertical needs a soft or select head"):
        create_model("igde-tiny", flip_vertical=True)
    with pytest.raises(ValueError, match="flip_vertical must be True or False"):
        create_model("igde-small", flip_vertical=1)


def test_onnx_export_matches_torch(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    import onnxruntime as ort

    from igde_stream.export import export_onnx

    model = _model(seed=9, flip_average=True, flip_vertical=True, pick_temperature=0.3, gate_threshold=0.2)
    color, depth = _inputs(n=1, h=24, w=34, seed=10)
    with torch.no_grad():
        model.head.conv.bias[-1] -= model.select_logits(color, depth)[:, -1].median()
        want = model(color, depth)
    path = export_onnx(model, tmp_path / "m.onnx", check=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    got = sess.run(None, dict(zip(names, (color.numpy(), depth.numpy()))))[0]
    assert not torch.equal(want, depth)
    assert (torch.from_numpy(got) != want).float().mean() <= 0.002


def test_shipped_hq_is_igde_small_with_the_vertical_flip():
    """igde-small-hq ships igde-small's weights (a re-export with ``--override flip_vertical=True``),
    and its ONNX file carries the same model."""
    import json

    import numpy as np

    from igde_stream.backends import create_backend
    from igde_stream.export import read_metadata
    from igde_stream.models import WEIGHTS_DIR, weights_hash

    small = create_model("igde-small", pretrained=True)
    hq = create_model("igde-small-hq", pretrained=True)
    assert hq.config == small.config.__class__(**{**small.config.__dict__, "flip_vertical": True})
    a, b = small.state_dict(), hq.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    record = json.loads((WEIGHTS_DIR / "igde-small-hq.json").read_text())
    assert record["re_released_from"]["weights_hash"] == weights_hash(small)
    assert read_metadata(WEIGHTS_DIR / "igde-small-hq.onnx")["weights_hash"] == weights_hash(hq)
    rng = np.random.default_rng(1)
    color = rng.random((1, 3, 45, 61), dtype=np.float32)
    depth = np.round(rng.random((1, 1, 45, 61), dtype=np.float32) * 255) / 255
    got = create_backend("onnxruntime", model="igde-small-hq").run(color, depth)
    with torch.no_grad():
        want = hq(torch.from_numpy(color), torch.from_numpy(depth)).numpy()
    assert np.mean(got != want) <= 0.002
