"""IGDEConfig.zero_holes: input depth 0 is a hole, always replaced in the band and never picked while
the window holds a measured value; checked by hand, on a model in both hard forms, and on ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from igde_stream.models import create_model
from igde_stream.models.igde import IGDEConfig, SelectionHead


def _pick(zero_holes, t, scores, values):
    head = SelectionHead(4, 1, "window", True, 0.5, pick_temperature=t, zero_holes=zero_holes)
    s = torch.tensor(scores, dtype=torch.float32).view(1, -1, 1, 1)
    v = torch.tensor(values, dtype=torch.float32).view(1, -1, 1, 1)
    return int(head.pick(s, v)[0, 0, 0, 0])


def test_pick_skips_holes_by_hand():
    # argmax: the hole scores highest, the next best measured value is taken instead
    assert _pick(False, 0.0, [5.0, 1.0, 3.0], [0.0, 0.4, 0.6]) == 0
    assert _pick(True, 0.0, [5.0, 1.0, 3.0], [0.0, 0.4, 0.6]) == 2
    # temperature 1, scores 0 / 0 / -30: without the rule the mean of {0, 0.5} is 0.25, nearest the
    # third value 0.3; the hole left out, the mean is 0.5 itself (the second candidate)
    assert _pick(False, 1.0, [0.0, 0.0, -30.0], [0.0, 0.5, 0.3]) == 2
    assert _pick(True, 1.0, [0.0, 0.0, -30.0], [0.0, 0.5, 0.3]) == 1
    # a hole nearest the mean is never taken: weights 0.2 / 0.8 give the mean 0.02, nearest the hole
    assert _pick(False, 1.0, [0.0, float(np.log(4.0)), -30.0], [0.1, 0.0, 0.9]) == 1
    assert _pick(True, 1.0, [0.0, float(np.log(4.0)), -30.0], [0.1, 0.0, 0.9]) == 0
    # float16 scores and values: the hole scored highest is still skipped, by both rules
    for t in (0.0, 1.0):
        head = SelectionHead(4, 1, "window", True, 0.5, pick_temperature=t, zero_holes=True)
        s = torch.tensor([9.0, 3.0, -2.0], dtype=torch.float16).view(1, -1, 1, 1)
        v = torch.tensor([0.0, 0.25, 0.75], dtype=torch.float16).view(1, -1, 1, 1)
        assert int(head.pick(s, v)[0, 0, 0, 0]) == 1


def test_fires_on_holes_in_the_band_only():
    head = SelectionHead(4, 1, "window", True, 0.5, band_step=2.5 / 255, zero_holes=True)
    depth = torch.full((1, 1, 5, 9), 100 / 255)
    depth[..., 2, 1] = 0.0  # a hole beside measured depth: in the band
    depth[..., :, 6:] = 0.0  # a wide hole: second differences at columns 5 and 6, band 4..7
    shut = torch.full_like(depth, -10.0)
    fire = head.fires(shut, depth)[0, 0]
    assert fire[2, 1] and fire[:, 6:8].all() and not fire[:, 8].any()
    assert int(fire.sum()) == 1 + 5 + 5  # the holes in the band, no measured pixel
    head.zero_holes = False
    assert not head.fires(shut, depth).any()


def _holey(seed, n=2, h=20, w=27):
    g = torch.Generator().manual_seed(seed)
    color = torch.rand(n, 3, h, w, generator=g)
    depth = torch.randint(1, 65536, (n, 1, h, w), generator=g).float() / 65535
    depth[torch.rand(n, 1, h, w, generator=g) < 0.3] = 0.0
    return color, depth


@pytest.mark.parametrize("pick", [0.0, 0.5])
def test_model_output_has_no_hole_where_the_window_measured_one(pick):
    """A random tiny model with its gate shut: with zero_holes every hole with a measured candidate
    gets a measured input value of its window, every other pixel stays; both hard forms agree."""
    from igde_stream.models.selection import candidate_offsets

    model = create_model("igde-tiny", head="select", radius=2, pick_temperature=pick, zero_holes=True)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        model.head.conv.bias[-1] = -1e30
    model.eval()
    color, depth = _holey(2)
    with torch.no_grad():
        sparse = model(color, depth)
        model.head.sparse = False
        dense = model(color, depth)
        model.head.zero_holes = False
        plain = model(color, depth)
    assert torch.equal(plain, depth)  # gate shut, no rule: nothing changes
    assert torch.equal(sparse, dense)
    d = depth.numpy()[:, 0]
    out = sparse.numpy()[:, 0]
    n, h, w = d.shape
    pad = np.pad(d, ((0, 0), (2, 2), (2, 2)), mode="edge")
    offs = candidate_offsets(2)
    window = np.stack([pad[:, 2 + dy:2 + dy + h, 2 + dx:2 + dx + w] for dy, dx in offs])  # K x N x H x W
    measured = (window > 0).any(0)
    hole = d == 0
    assert hole.sum() > 100
    assert np.array_equal(out[~hole], d[~hole])
    filled = hole & measured
    assert (out[filled] > 0).all() and (out[hole & ~measured] == 0).all()
    # each filled value is one of its own window's values
    k, ys, xs = np.nonzero(filled)
    for i in range(0, len(k), 5):
        assert out[k[i], ys[i], xs[i]] in window[:, k[i], ys[i], xs[i]]


def test_onnx_runtime_fills_the_holes_as_pytorch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from igde_stream.export import export_onnx

    model = create_model("igde-tiny", head="select", radius=3, candidates="star", zero_holes=True,
                         pick_temperature=0.3)
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    model.eval()
    color, depth = _holey(5, n=2, h=25, w=33)
    path = export_onnx(model, tmp_path / "holes.onnx", check=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"color": color.numpy(), "depth": depth.numpy()})[0]
    with torch.no_grad():
        ref = model(color, depth).numpy()
    assert np.mean(got != ref) <= 0.002
    hole = depth.numpy() == 0
    for out in (ref, got):  # the holes filled, and no measured pixel (many of them fire) took a hole
        assert (out[hole] > 0).mean() > 0.9 and (out[~hole] > 0).all()
    assert (ref[~hole] != depth.numpy()[~hole]).mean() > 0.1


def test_config_checks():
    with pytest.raises(ValueError, match="select head"):
        IGDEConfig(head="soft", zero_holes=True)
    with pytest.raises(ValueError, match="True or False"):
        IGDEConfig(head="select", zero_holes=1)


def test_soft_output_follows_the_rule_by_hand():
    """Training's soft output with zero_holes: equal scores over a 3x3 window whose centre and one
    corner are holes: the centre (gate shut) gives the mean of its 7 measured neighbours; a measured
    pixel's softmax leaves its window's holes out too, and its gate blends as before."""
    head = SelectionHead(4, 1, "window", True, 0.5, zero_holes=True)
    depth = torch.tensor([[0.0, 0.2, 0.3], [0.4, 0.0, 0.6], [0.7, 0.8, 0.9]]).view(1, 1, 3, 3)
    logits = torch.zeros(1, 10, 3, 3)
    logits[:, -1] = -30.0  # gate shut: g = 0 except where the rule forces it
    out = head.soft(logits, depth)[0, 0]
    assert abs(float(out[1, 1]) - (0.2 + 0.3 + 0.4 + 0.6 + 0.7 + 0.8 + 0.9) / 7) < 1e-6
    assert float(out[0, 0]) > 0  # the corner hole: its replicate-padded window holds 0.2, 0.4
    logits[:, -1] = 30.0  # gate open: a measured pixel takes its window's measured mean
    out = head.soft(logits, depth)[0, 0]
    # (2, 2): window rows 1-2 and a replicate-padded row 3 / column 3: values of
    # [[0, .6, .6], [.8, .9, .9], [.8, .9, .9]], the hole out: mean of the other 8
    assert abs(float(out[2, 2]) - (0.6 * 2 + 0.8 * 2 + 0.9 * 4) / 8) < 1e-6
    head.zero_holes = False
    assert abs(float(head.soft(logits, depth)[0, 0, 2, 2]) - (0.6 * 2 + 0.8 * 2 + 0.9 * 4) / 9) < 1e-6


def test_fp16_onnx_fills_holes_with_exact_16_bit_values(tmp_path):
    """The TensorRT path's float16 conversion of a zero_holes model (dense form, as the engine
    builds it): every output an input 16-bit level, the holes with a measured window filled."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    import onnxruntime as ort

    from igde_stream.engine import convert_fp16
    from igde_stream.export import export_onnx
    from igde_stream.models.selection import head_form

    model = create_model("igde-tiny", head="select", radius=2, zero_holes=True, pick_temperature=0.3)
    g = torch.Generator().manual_seed(6)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.15)
    model.eval()
    with head_form(model, sparse=False):
        path = export_onnx(model, tmp_path / "holes.onnx", check=False)
    half = convert_fp16(path, tmp_path / "holes16.onnx")
    color, depth = _holey(7, n=2, h=24, w=32)
    out = ort.InferenceSession(str(half), providers=["CPUExecutionProvider"]).run(
        None, {"color": color.numpy(), "depth": depth.numpy()})[0]
    levels = out * 65535
    assert np.array_equal(levels, np.rint(levels))
    assert np.isin(np.rint(levels), np.rint(depth.numpy() * 65535)).all()
    assert (out[depth.numpy() == 0] > 0).mean() > 0.99
