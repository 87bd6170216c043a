"""Growth channels padded for CPU runtimes (models.layout.pad_growth_channels, the export's default):
the same function, aligned channel counts, fewer layout conversions in ONNX Runtime."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest
import torch

from igde_stream import create_model
from igde_stream.export import export_onnx, read_metadata
from igde_stream.models import WEIGHTS_DIR, get_config, weights_hash
from igde_stream.models.igde import IGDE, ResidualDenseBlock
from igde_stream.models.layout import pad_growth_channels


def _model(**over) -> IGDE:
    """igde-small's architecture (g0 16, g 12, select head, half-resolution backbone, flip average)
    with seeded random weights, biases made non-zero so that a misplaced bias shows; a low gate
    threshold, so that the hard output changes pixels."""
    torch.manual_seed(3)
    m = IGDE(dataclasses.replace(get_config("igde-small"), gate_threshold=1e-4, **over)).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return m


def _inputs(seed=0, n=2, h=37, w=50):
    g = torch.Generator().manual_seed(seed)
    color = torch.rand(n, 3, h, w, generator=g)
    depth = torch.round(torch.rand(n, 1, h, w, generator=g) * 8) / 8  # steps: the head changes pixels
    return color, depth


def _blocks(m):
    return [b for b in m.modules() if isinstance(b, ResidualDenseBlock)]


@pytest.mark.parametrize("g,multiple,want", [(12, 16, 16), (12, 8, 16), (5, 8, 8), (20, 16, 32)])
def test_padding_keeps_the_function_and_aligns_every_dense_layer(g, multiple, want):
    m = _model(g=g)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    p = pad_growth_channels(m, multiple)
    c, d = _inputs()
    with torch.no_grad():
        f0, f1 = m.features(c, d), p.features(c, d)
        scores0, scores1 = m.select_logits(c, d), p.select_logits(c, d)
        out0, out1 = m(c, d), p(c, d)
    assert float((f0 - f1).abs().max()) <= 1e-5 and float((scores0 - scores1).abs().max()) <= 1e-4
    assert torch.equal(out0, out1) and bool((out0 != d).any())  # the hard output, pixel for pixel
    for b in _blocks(p):
        g0 = b.convs[0].in_channels
        assert [conv.out_channels for conv in b.convs] == [want] * len(b.convs)
        assert [conv.in_channels for conv in b.convs] == [g0 + i * want for i in range(len(b.convs))]
        assert b.fuse.in_channels == g0 + len(b.convs) * want and b.fuse.out_channels == g0
    # the original is untouched
    assert all(torch.equal(v, before[k]) for k, v in m.state_dict().items())
    assert all(conv.out_channels == g for b in _blocks(m) for conv in b.convs)


def test_padding_by_hand_on_one_block():
    """A block of g0 2, g 1, two layers, padded to 4: conv 1 reads [x0, x1, y1] at input channels
    [0, 1, 2] of [x0, x1, y1, 0, 0, 0]; the fusion reads [x0, x1, y1, y2] at [0, 1, 2, 6]; the added
    filters are zero."""
    torch.manual_seed(0)
    block = ResidualDenseBlock(2, 1, 2)
    padded = pad_growth_channels(block, 4)
    w1, w1p = block.convs[1].weight, padded.convs[1].weight
    assert w1p.shape == (4, 6, 3, 3)
    assert torch.equal(w1p[0, [0, 1, 2]], w1[0]) and not w1p[0, 3:].any() and not w1p[1:].any()
    assert torch.equal(padded.fuse.weight[:, [0, 1, 2, 6]], block.fuse.weight)
    assert not padded.fuse.weight[:, [3, 4, 5, 7, 8, 9]].any()
    assert padded.convs[0].bias[0] == block.convs[0].bias[0] and not padded.convs[0].bias[1:].any()
    x = torch.rand(1, 2, 9, 11)
    with torch.no_grad():
        assert float((block(x) - padded(x)).abs().max()) <= 1e-6


def test_aligned_or_off_is_a_plain_copy():
    """Growth already aligned, or multiple 0 / 1: a copy with the trained channel counts."""
    for g, multiple in ((16, 16), (12, 0), (12, 1)):
        m = _model(g=g)
        p = pad_growth_channels(m, multiple)
        assert p is not m and p.image_branch is not m.image_branch
        assert all(torch.equal(v, m.state_dict()[k]) for k, v in p.state_dict().items())


def _conv_out_channels(path) -> set[int]:
    g = onnx.load(str(path)).graph
    inits = {t.name: t.dims for t in g.initializer}
    return {int(inits[n.input[1]][0]) for n in g.node if n.op_type == "Conv" and n.input[1] in inits}


def _reorders(path, tmp_path) -> int:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.optimized_model_filepath = str(tmp_path / f"opt-{path.stem}.onnx")
    ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return sum(n.op_type in ("ReorderInput", "ReorderOutput") for n in onnx.load(so.optimized_model_filepath).graph.node)


def test_export_pads_by_default_with_the_trained_models_metadata(tmp_path):
    m = _model(flip_average=False)  # the mirrored run adds nothing to the layout, and doubles the export's time
    padded = export_onnx(m, tmp_path / "padded.onnx")
    plain = export_onnx(m, tmp_path / "plain.onnx", channel_multiple=0)
    assert 12 not in _conv_out_channels(padded) and 16 in _conv_out_channels(padded)
    assert 12 in _conv_out_channels(plain)
    meta, meta_plain = read_metadata(padded), read_metadata(plain)
    assert meta["growth_channels"] == "12 -> 16" and meta_plain["growth_channels"] == "12"
    assert meta["config"]["g"] == 12 and meta["weights_hash"] == meta_plain["weights_hash"] == weights_hash(m)
    # the runtime's layout conversions between dense layers are gone (none at all where the CPU
    # has no blocked convolutions)
    a, b = _reorders(padded, tmp_path), _reorders(plain, tmp_path)
    assert a <= b and (b == 0 or a < b)


@pytest.mark.parametrize("name", ["igde-small", "igde-small-hq"])
def test_shipped_onnx_is_padded(name):
    path = WEIGHTS_DIR / f"{name}.onnx"
    if not path.is_file():
        pytest.skip(f"{name}.onnx not shipped")
    meta = read_metadata(path)
    assert meta["growth_channels"] == "12 -> 16"
    assert meta["weights_hash"] == weights_hash(create_model(name, pretrained=True))
    assert np.all(np.array(sorted(_conv_out_channels(path))) != 12)


def test_growing_keeps_the_function_and_lets_both_sides_learn():
    """g 12 -> 16 for training: the config says 16; the outputs are unchanged; the new filters are
    random at the spread of their layer's trained ones, the weights reading them zero; one backward
    pass reaches both (the point of the random side: zero filters read by zero weights never move)."""
    from igde_stream.models.layout import grow_growth_channels

    m = _model()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    w = grow_growth_channels(m, 16, seed=1)
    assert w.config.g == 16 and m.config.g == 12
    assert all(torch.equal(v, before[k]) for k, v in m.state_dict().items())
    c, d = _inputs(1)
    with torch.no_grad():
        assert float((m.features(c, d) - w.features(c, d)).abs().max()) <= 1e-5
        assert torch.equal(m(c, d), w(c, d))
    block, old = _blocks(w)[0], _blocks(m)[0]
    for conv, conv0 in zip(block.convs, old.convs):
        new_rows = conv.weight.detach()[12:]
        assert new_rows.abs().min() > 0 and not conv.bias[12:].any()
        assert 0.8 < float(new_rows.std()) / float(conv0.weight.detach().std()) < 1.25
    g0 = old.convs[0].in_channels
    assert not block.fuse.weight[:, [g0 + j * 16 + k for j in range(3) for k in range(12, 16)]].any()
    w.train()
    w.features(c, d).square().mean().backward()
    assert block.convs[0].weight.grad[12:].abs().sum() == 0  # nothing reads them yet ...
    assert block.fuse.weight.grad[:, g0 + 12:g0 + 16].abs().sum() > 0  # ... but their readers learn
    with pytest.raises(ValueError, match="only grow"):
        grow_growth_channels(m, 12)


def test_train_override_g_grows_a_checkpoint_and_refuses_to_shrink():
    """Training may grow a checkpoint's g (never shrink it); an export for shipping may not."""
    from igde_stream.training import _with_settings

    m = _model()
    grown = _with_settings(m, {"g": 16, "gate_threshold": 0.3}, "ckpt.pt", grow=True)
    assert grown.config.g == 16 and grown.config.gate_threshold == 0.3
    with pytest.raises(ValueError, match="drop trained channels"):
        _with_settings(m, {"g": 8}, "ckpt.pt", grow=True)
    with pytest.raises(ValueError, match="change the weights"):  # shipping a checkpoint never grows it
        _with_settings(m, {"g": 16}, "ckpt.pt")


def test_training_from_a_checkpoint_grows_it(tmp_path):
    """tools/train.py --model M.pt --override g=16: the model trained is M grown, M's function."""
    from igde_stream.models import save_checkpoint
    from igde_stream.train_config import TrainConfig
    from igde_stream.training import _build

    m = _model()
    save_checkpoint(tmp_path / "m.pt", m)
    model, payload = _build(TrainConfig(model=str(tmp_path / "m.pt"), overrides={"g": 16}, steps=1))
    assert payload is None and model.config.g == 16
    c, d = _inputs(2)
    with torch.no_grad():
        assert torch.equal(model.eval()(c, d), m(c, d))


def test_growing_the_radius_keeps_every_old_score_and_extends_the_rays():
    """radius 7 -> 10 (star: 65 -> 89 candidates): every old offset's score and the gate logit are
    unchanged; a new offset k (sy, sx), k = 8..10, scores as the ray's offset 7 (sy, sx) less 2 (the
    bias shift) when the attend terms of the two pixels agree, checked on its 1x1 conv row by hand;
    the band follows the radius; shrinking, or growing for an export, is refused."""
    from igde_stream.models.layout import grow_radius
    from igde_stream.training import _with_settings

    m = _model()
    g = grow_radius(m, 10)
    assert (g.config.radius, m.config.radius) == (10, 7)
    assert len(g.head.offsets) == 89 and len(m.head.offsets) == 65
    c, d = _inputs(2)
    with torch.no_grad():
        a, b = m.select_logits(c, d), g.select_logits(c, d)
    rows = [g.head.offsets.index(o) for o in m.head.offsets]
    torch.testing.assert_close(b[:, rows], a[:, :-1], atol=1e-5, rtol=0)
    torch.testing.assert_close(b[:, -1], a[:, -1], atol=1e-5, rtol=0)
    wm, bm, wg, bg = m.head.conv.weight, m.head.conv.bias, g.head.conv.weight, g.head.conv.bias
    for k in (8, 9, 10):
        for sy, sx in ((0, 1), (-1, 0), (1, -1), (-1, -1)):
            new, old = g.head.offsets.index((k * sy, k * sx)), m.head.offsets.index((7 * sy, 7 * sx))
            assert torch.equal(wg[new], wm[old]) and abs(float(bg[new] - bm[old]) + 2.0) < 1e-6
    assert (g.head.band_step, g.head.radius) == (m.head.band_step, 10)
    with pytest.raises(ValueError, match="only grow"):
        grow_radius(m, 7)
    with pytest.raises(ValueError, match="soft or select head"):
        grow_radius(IGDE(get_config("igde-small", head="residual")), 10)
    grown = _with_settings(m, {"radius": 10, "gate_threshold": 0.3}, "ckpt.pt", grow=True)
    assert grown.config.radius == 10 and grown.config.gate_threshold == 0.3
    with pytest.raises(ValueError, match="change the weights"):
        _with_settings(m, {"radius": 10}, "ckpt.pt")
