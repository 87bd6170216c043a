"""The gated selection head: candidate sets, identity start, hard outputs are input values, 16-bit
exactness with a float16 network, the losses' targets, and ONNX Runtime parity."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from igde_stream.losses import candidate_set_ce, nearest_candidate, pick_improves, selection_loss
from igde_stream.models import create_model
from igde_stream.models.igde import IGDEConfig, SelectionHead, candidate_offsets


def _tiny_select(**kw):
    return create_model("igde-tiny", head="select", radius=kw.pop("radius", 3), candidates=kw.pop("candidates", "star"), **kw)


def _randomise(model, seed=0, scale=0.5):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale)
    return model


def _inputs(n=2, h=23, w=31, bits=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    peak = 2 ** bits - 1
    color = torch.rand(n, 3, h, w, generator=g)
    depth = torch.randint(0, peak + 1, (n, 1, h, w), generator=g).float() / peak
    return color, depth


def _same_model(a, b) -> bool:
    """Same config, the same weights and the same head settings. The random weights are equal bit for
    bit; the gate bias that ``_open_gate_on_half`` shifts comes from a forward pass whose float sums
    depend on the thread count (logits near -1.2e5 move by about 0.2 from 1 thread to 2): equal to a
    relative 1e-5 there, while the two middle logits it falls between lie about 25 apart."""
    sa, sb = a.state_dict(), b.state_dict()
    return (a.config == b.config and sa.keys() == sb.keys()
            and all(torch.allclose(sa[k], sb[k], rtol=1e-5, atol=0) for k in sa)
            and vars(a.head).keys() == vars(b.head).keys()
            and all(v == vars(b.head)[k] for k, v in vars(a.head).items() if not k.startswith("_")))


def _open_gate_on_half(model, color, depth):
    """Shift the gate bias so that the threshold (logit 0) falls midway between the two middle gate
    logits: half the pixels open, and none sits so near the threshold that summation order decides."""
    with torch.no_grad():
        g = model.select_logits(color, depth)[:, -1].flatten().sort().values
        k = g.numel() // 2
        model.head.conv.bias[-1] -= (g[k - 1] + g[k]) / 2


def test_candidate_sets_by_hand():
    win = candidate_offsets(2, "window")
    assert len(win) == 25 and len(set(win)) == 25 and win[0] == (0, 0)
    star = candidate_offsets(5, "star")
    # 5x5 square (25) plus 8 rays at distances 3, 4, 5 (24)
    assert len(star) == 49 and len(set(star)) == 49 and star[0] == (0, 0)
    assert (5, 5) in star and (-3, 0) in star and (0, 4) in star and (3, 1) not in star and (2, 1) in star
    dist = [dy * dy + dx * dx for dy, dx in star]
    assert dist == sorted(dist)  # nearest first: argmax ties go to the nearer candidate


def test_fresh_model_returns_its_input_exactly():
    for bits, h, w in ((8, 23, 31), (16, 24, 30)):
        model = create_model("igde-small").eval()
        color, depth = _inputs(bits=bits, h=h, w=w)
        with torch.no_grad():
            assert torch.equal(model(color, depth), depth)


@pytest.mark.parametrize("extra", [{}, {"attend": 2, "scale": 2}, {"attend": 2, "scale": 2, "pick_temperature": 5.0},
                                   {"attend": 2, "scale": 2, "flip_average": True}])
def test_hard_output_values_are_input_values_at_candidate_offsets(extra):
    model = _randomise(_tiny_select(**extra), seed=1).eval()
    color, depth = _inputs(h=19, w=27)
    with torch.no_grad():
        out = model(color, depth)
        cands = model.head.candidates(depth)
    assert not torch.equal(out, depth)  # the randomised head does change pixels
    assert bool(((cands == out).any(1)).all())
    # and where the gate keeps the input, the value is the centre's
    logits = model.select_logits(color, depth)
    keep = logits[:, -1:] <= 0  # threshold 0.5 -> logit 0
    assert torch.equal(out[keep], depth[keep])


def test_gather_matches_the_candidate_stack():
    head = SelectionHead(4, 4, "window", True, 0.5)
    _, depth = _inputs(h=11, w=9)
    idx = torch.randint(0, len(head.offsets), (2, 1, 11, 9))
    assert torch.equal(head.gather(depth, idx), torch.gather(head.candidates(depth), 1, idx))
    # by hand: offset (dy, dx) of pixel (y, x) reads depth[y + dy, x + dx], clamped at the border
    k = head.offsets.index((-1, 2))
    idx = torch.full((2, 1, 11, 9), k)
    got = head.gather(depth, idx)
    assert got[0, 0, 5, 3] == depth[0, 0, 4, 5] and got[1, 0, 0, 8] == depth[1, 0, 0, 8]


@pytest.mark.parametrize("extra", [{}, {"attend": 2, "scale": 2}, {"attend": 3, "radius": 4, "candidates": "window"},
                                   {"attend": 2, "scale": 2, "pick_temperature": 5.0},
                                   {"attend": 2, "scale": 2, "pick_temperature": 5.0, "flip_average": True}])
def test_gated_pixel_form_equals_the_dense_hard_output(extra):
    """hard_sparse (the inference default: scores of the gated pixels only) gives the dense hard
    output of the whole score stack: with the gate on some pixels, on none and on all of them, in a
    batch (the flat indices cross frames) and at the border (replicate padding)."""
    model = _randomise(_tiny_select(**extra), seed=7).eval()
    color, depth = _inputs(n=3, h=17, w=26, bits=16, seed=8)
    with torch.no_grad():
        _open_gate_on_half(model, color, depth)
        logits = model.select_logits(color, depth)
        gate = logits[:, -1:]
        bias = float(model.head.conv.bias[-1])
        if model.head.pick_temperature:  # spread the softmax over the random scores' own scale
            model.head.pick_temperature = float(logits[:, :-1].std())
        for gate_bias, fires in ((bias, "some"), (-1e30, "none"), (1e30, "all")):
            model.head.conv.bias[-1] = gate_bias
            model.head.sparse = True
            sparse = model(color, depth)
            model.head.sparse = False
            dense = model(color, depth)
            model.head.conv.bias[-1] = bias
            # the two forms sum the 1x1 conv in another order: a near-tie of two scores may fall
            # either way, nothing more (a wrong offset or padding changes far more pixels)
            assert (sparse != dense).float().mean() <= 0.002, fires
            if fires == "none":
                assert torch.equal(sparse, depth)
            if fires == "some":
                on = gate > 0
                assert 0.3 < on.float().mean() < 0.7 and not torch.equal(sparse[on], depth[on])
        # by hand, gated pixels: the input at the offset of the best score, or with a pick
        # temperature the candidate value nearest the softmax-weighted mean
        model.head.sparse = True
        out = model(color, depth)
        t = model.head.pick_temperature
        if t:  # the rule matters here: the argmax would choose otherwise on many gated pixels
            model.head.pick_temperature = 0.0
            argmax_out = model(color, depth)
            model.head.pick_temperature = t
            assert (argmax_out != out)[gate > 0].float().mean() > 0.1
        checked = 0
        for n, y, x in torch.nonzero(gate[:, 0] > 0)[::7].tolist():
            values = [float(depth[n, 0, min(max(y + dy, 0), 16), min(max(x + dx, 0), 25)])
                      for dy, dx in model.head.offsets]
            scores = logits[n, :-1, y, x].double()
            if t:
                w = torch.softmax(scores / t, 0).numpy()
                dist = np.abs(np.array(values) - float(np.dot(w, values)))
                if np.sort(dist)[1] - dist.min() < 1e-5:  # a near-tie: summation order may decide
                    continue
                want = values[int(np.argmin(dist))]
            else:
                top = scores.sort(descending=True).values
                if top[0] - top[1] < 1e-4:
                    continue
                want = values[int(scores.argmax())]
            assert float(out[n, 0, y, x]) == want, (n, y, x)
            checked += 1
        assert checked >= 10


@pytest.mark.parametrize("extra", [{}, {"attend": 2, "scale": 2}, {"attend": 2, "scale": 2, "pick_temperature": 5.0},
                                   {"attend": 2, "scale": 2, "flip_average": True}])
def test_16_bit_values_stay_exact_through_a_float16_network(extra):
    # weights small enough for float16's range (at x 0.5 the activations pass 65504, the gate turns
    # NaN, nothing fires and the output is the input: exact, but trivially), the gate open and, with
    # attend, the colour term off, so that most pixels change
    model = _randomise(_tiny_select(**extra), seed=2, scale=0.15).eval()
    color, depth = _inputs(bits=16, h=17, w=21)
    with torch.no_grad():
        model.head.conv.bias[-1] = 2.0
        if model.head.attend:
            model.head.color_scale.fill_(-10.0)
        full = model(color, depth)
        half = model.half()(color.half(), depth)  # network in float16, depth given as float32
    assert half.dtype == torch.float32
    levels = half * 65535
    assert torch.equal(levels, levels.round())  # no level lost to float16's 11-bit mantissa
    cands = model.head.candidates(depth)
    assert bool(((cands == half).any(1)).all())
    assert (half != depth).float().mean() > 0.5  # the float16 network did choose
    assert (half != full).float().mean() < 0.02  # and chose as the float32 one, but for near-ties


def test_soft_output_is_the_weighted_candidate_mean_blended_by_the_gate():
    head = SelectionHead(2, 1, "window", True, 0.5)
    depth = torch.arange(9, dtype=torch.float32).view(1, 1, 3, 3) / 10
    logits = torch.zeros(1, 10, 3, 3)
    logits[:, head.offsets.index((0, 1))] = 50.0  # all weight on the right neighbour
    logits[:, -1] = 0.0  # gate 1/2
    soft = head.soft(logits, depth)
    right = torch.tensor([[1, 2, 2], [4, 5, 5], [7, 8, 8]], dtype=torch.float32) / 10
    assert torch.allclose(soft[0, 0], 0.5 * right + 0.5 * depth[0, 0], atol=1e-6)
    hard = head.hard(logits, depth, threshold=0.4)
    assert torch.equal(hard[0, 0], right)
    assert torch.equal(head.hard(logits, depth, threshold=0.6), depth)


def _softmax_mean_by_hand(logits: np.ndarray, depth: np.ndarray, offsets) -> np.ndarray:
    """Per pixel: the softmax of its K logits times the depth at each offset (rows and columns
    clamped at the border), summed; plain NumPy loops."""
    k, h, w = logits.shape
    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            e = np.exp(logits[:, y, x] - logits[:, y, x].max())
            vals = [depth[min(max(y + dy, 0), h - 1), min(max(x + dx, 0), w - 1)] for dy, dx in offsets]
            out[y, x] = float(np.dot(e / e.sum(), vals))
    return out


def test_ungated_soft_head_outputs_the_softmax_mean_of_its_candidates():
    """The paper table's "soft" head (no gate): at inference too its output is the softmax-weighted
    mean of the candidate depths, on the head alone and through a whole model."""
    g = torch.Generator().manual_seed(5)
    head = SelectionHead(2, 2, "window", False, 0.5).eval()
    depth = torch.rand(1, 1, 4, 5, generator=g)
    logits = torch.randn(1, len(head.offsets), 4, 5, generator=g) * 3
    expected = _softmax_mean_by_hand(logits[0].double().numpy(), depth[0, 0].double().numpy(), head.offsets)
    np.testing.assert_allclose(head.soft(logits, depth)[0, 0].numpy(), expected, atol=1e-6)

    model = _randomise(create_model("igde-tiny", head="soft", radius=2, candidates="window"), seed=6, scale=0.3).eval()
    color, depth = _inputs(n=1, h=9, w=11, seed=7)
    with torch.no_grad():
        out = model(color, depth)
        logits = model.select_logits(color, depth)
    assert logits.shape[1] == len(model.head.offsets)  # scores only, no gate channel
    expected = _softmax_mean_by_hand(logits[0].double().numpy(), depth[0, 0].double().numpy(), model.head.offsets)
    assert np.abs(expected - depth[0, 0].numpy()).max() > 0.05  # the mean does move depth here
    np.testing.assert_allclose(out[0, 0].numpy(), expected, atol=1e-5)


def test_nearest_candidate_ties_go_to_the_nearer_offset():
    head = SelectionHead(2, 2, "window", True, 0.5)
    depth = torch.zeros(1, 1, 5, 5)
    depth[0, 0, 2, 3] = 0.5  # right neighbour of the centre
    depth[0, 0, 2, 4] = 0.5  # two to the right: same value, farther
    gt = torch.full((1, 1, 5, 5), 0.5)
    idx = nearest_candidate(head.candidates(depth), gt)
    assert head.offsets[int(idx[0, 0, 2, 2])] == (0, 1)


def test_candidate_set_ce_by_hand():
    # four pixels of K = 3 candidates (centre first); expected values worked out by hand:
    #   a wrong, good {1, 2}, p = (1/4, 1/2, 1/4)  -> ln(4/3)
    #   b right, good {0, 1}, p = 1/3 each          -> ln(3/2)
    #   c flat (all good): left out, whatever its scores
    #   d wrong, good {2},    p = 1/3 each          -> ln 3
    # balanced: mean(wrong) = (ln(4/3) + ln 3) / 2 = ln 2, mean(right) = ln(3/2), loss = ln(3) / 2
    cands = torch.tensor([[0.2, 0.5, 0.5], [0.3, 0.3, 0.7], [0.4, 0.4, 0.4], [0.1, 0.6, 0.9]]).T
    cands = cands.reshape(1, 3, 1, 4)
    gt = torch.tensor([0.5, 0.3, 0.4, 0.9]).view(1, 1, 1, 4)
    scores = torch.zeros(1, 3, 1, 4)
    scores[0, 1, 0, 0] = math.log(2.0)
    scores[0, :, 0, 2] = torch.tensor([50.0, -50.0, 3.0])
    got = candidate_set_ce(cands, scores, cands[:, :1], gt)
    assert math.isclose(float(got), math.log(3.0) / 2, rel_tol=1e-6)
    # temperature divides the scores: at T = 1/2 pixel a has p = (1/6, 4/6, 1/6) -> ln(6/5)
    got = candidate_set_ce(cands, scores, cands[:, :1], gt, temperature=0.5)
    assert math.isclose(float(got), (((math.log(6 / 5) + math.log(3.0)) / 2) + math.log(1.5)) / 2, rel_tol=1e-6)


def test_selection_loss_terms_change_the_loss():
    head = SelectionHead(2, 1, "window", True, 0.5)
    depth = torch.rand(1, 1, 6, 6)
    gt = depth.clone()
    gt[0, 0, 2:4, 2:4] = 0.9
    logits = torch.randn(1, 10, 6, 6)
    mse = lambda p: (p - gt).pow(2).mean()  # noqa: E731
    base = selection_loss(head, logits, depth, gt, mse)
    assert torch.isclose(base, mse(head.soft(logits, depth)))
    assert selection_loss(head, logits, depth, gt, mse, gate_weight=1.0) > base
    assert selection_loss(head, logits, depth, gt, mse, ce_weight=1.0) > base
    hard = selection_loss(head, logits, depth, gt, mse, hard_share=1.0)
    assert torch.isclose(hard, mse(head.hard(logits, depth)))


def test_gate_target_improves_is_whether_the_pick_lowers_the_error():
    # one row, radius 1: candidate 0 is the centre, 2 the left neighbour, 3 the right (nearest first)
    head = SelectionHead(2, 1, "window", True, 0.5)
    assert head.offsets[2:4] == [(0, -1), (0, 1)]
    depth = torch.tensor([0.2, 0.2, 0.8, 0.8, 0.5, 0.5]).view(1, 1, 1, 6)
    gt = torch.tensor([0.2, 0.8, 0.8, 0.8, 0.9, 0.9]).view(1, 1, 1, 6)
    scores = torch.zeros(1, 9, 1, 6)
    # pixel 1 (wrong) picks its right neighbour 0.8 = gt; pixel 2 (right) picks its left 0.2;
    # pixel 4 (wrong) picks its right 0.5, no better; pixel 5 (wrong) picks its left 0.5 (no better)
    # pixel 0 and 3 keep the centre
    for x, k in ((0, 0), (1, 3), (2, 2), (3, 0), (4, 3), (5, 2)):
        scores[0, k, 0, x] = 5.0
    want = torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0, 0.0]).view(1, 1, 1, 6)
    assert torch.equal(pick_improves(head, scores, depth, gt).float(), want)
    scores[0, :, 0, 4] = 0.0
    scores[0, 2, 0, 4] = 5.0  # now pixel 4 picks its left neighbour 0.8: nearer 0.9 than 0.5
    want[0, 0, 0, 4] = 1.0
    assert torch.equal(pick_improves(head, scores, depth, gt).float(), want)
    gate = torch.tensor([-1.0, 2.0, 0.5, -3.0, 1.0, 0.0]).view(1, 1, 1, 6)
    logits = torch.cat([scores, gate], 1)
    mse = lambda p: (p - gt).pow(2).mean()  # noqa: E731
    base = selection_loss(head, logits, depth, gt, mse)
    # BCE by hand: -log sigmoid(g) for a target 1, -log(1 - sigmoid(g)) for a target 0
    sig = [1 / (1 + math.exp(-g)) for g in gate.flatten().tolist()]
    bce = {t: sum(-math.log(s if y else 1 - s) for s, y in zip(sig, ys)) / 6
           for t, ys in (("improves", want.flatten().tolist()), ("wrong", [0, 1, 0, 0, 1, 1]))}
    for target, value in bce.items():
        got = selection_loss(head, logits, depth, gt, mse, gate_weight=2.0, gate_target=target) - base
        assert math.isclose(float(got), 2.0 * value, rel_tol=1e-5), target
    with pytest.raises(ValueError, match="gate_target"):
        selection_loss(head, logits, depth, gt, mse, gate_weight=1.0, gate_target="always")


def _two_colour_logits(gate: bool):
    """An attend-2 head over a 5x5 window (radius 2) with its learned terms at zero, and its logits on a 6x6
    image whose right half (columns 3-5) is white, the left black."""
    head = SelectionHead(4, 2, "window", gate, 0.5, attend=2)
    with torch.no_grad():
        head.conv.weight.zero_()
        head.qk.weight.zero_()
        head.qk.bias.zero_()
    color = torch.zeros(1, 3, 6, 6)
    color[..., 3:] = 1.0
    return head, head.logits(torch.zeros(1, 4, 6, 6), color)


def test_attention_scores_prefer_candidates_of_the_same_colour():
    # with the learned terms at zero, the colour term alone scores a candidate by minus 10 softplus(0)
    # times its mean |RGB difference|: on a two-colour image the argmax is a same-colour pixel
    head, logits = _two_colour_logits(gate=False)
    beta = 10 * torch.nn.functional.softplus(torch.tensor(0.0))
    k = head.offsets.index((0, 1))  # pixel (2, 2) looks at (2, 3): other colour
    assert torch.isclose(logits[0, k, 2, 2], -beta) and logits[0, 0, 2, 2] == 0
    assert torch.isclose(logits[0, k, 2, 3], torch.tensor(0.0))


def test_config_checks():
    with pytest.raises(ValueError, match="head"):
        IGDEConfig(head="argmax")
    with pytest.raises(ValueError, match="candidates"):
        IGDEConfig(head="select", candidates="ring")
    with pytest.raises(ValueError, match="gate_threshold"):
        IGDEConfig(head="select", gate_threshold=1.0)
    with pytest.raises(ValueError, match="scale 2 needs"):
        IGDEConfig(scale=2)
    with pytest.raises(ValueError, match="scale must be 1 or 2"):
        IGDEConfig(head="select", scale=3)
    with pytest.raises(ValueError, match="passes > 1 needs the select head"):
        IGDEConfig(head="soft", passes=2)
    with pytest.raises(ValueError, match="passes must be in"):
        IGDEConfig(head="select", passes=0)


def test_second_pass_reads_the_first_pass_output():
    """passes=2 is the one-pass model applied to its own output, by hand: same weights, and every
    value still an input value; training mode runs one pass."""
    one = _randomise(_tiny_select(attend=2, scale=2), seed=6).eval()
    two = create_model("igde-tiny", head="select", radius=3, candidates="star", attend=2, scale=2, passes=2).eval()
    two.load_state_dict(one.state_dict())
    color, depth = _inputs(h=21, w=25)
    image_runs = []
    two.image_branch.register_forward_hook(lambda *a: image_runs.append(1))
    with torch.no_grad():
        first = one(color, depth)
        by_hand = one(color, first)
        got = two(color, depth)
        assert not torch.equal(by_hand, first)  # the second pass does change pixels here
        assert torch.equal(got, by_hand)
        assert len(image_runs) == 1  # the colour-only image branch is shared by both passes
        assert bool(torch.isin(got, depth).all())  # gathered twice, still input values
        two.train()
        soft = two(color, depth)
        one.train()
        assert torch.equal(soft, one(color, depth))


@pytest.mark.parametrize("extra", [{}, {"attend": 2, "scale": 2}, {"attend": 2, "scale": 2, "pick_temperature": 5.0},
                                   {"attend": 2, "scale": 2, "flip_average": True}])
def test_onnx_runtime_matches_pytorch_up_to_argmax_ties(tmp_path, extra, request):
    pytest.importorskip("onnxruntime")
    from igde_stream.export import export_onnx
    import onnxruntime as ort

    model = _randomise(_tiny_select(**extra), seed=3).eval()
    color, depth = _inputs(n=3, h=29, w=45, bits=16, seed=4)
    _open_gate_on_half(model, color, depth)  # the exported gated-pixel form then scores those
    if model.head.pick_temperature:  # spread the softmax over the random scores' own scale
        with torch.no_grad():
            model.head.pick_temperature = float(model.select_logits(color, depth)[:, :-1].std())
    if extra == {"attend": 2, "scale": 2}:  # conftest's select_onnx is this model: its session export, read only
        shared = request.getfixturevalue("select_onnx")
        assert _same_model(model, shared["model"])
        path = shared["gated"]
    else:
        path = export_onnx(model, tmp_path / "sel.onnx", check=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"color": color.numpy(), "depth": depth.numpy()})[0]
    with torch.no_grad():
        ref = model(color, depth).numpy()
    differ = np.mean(got != ref)
    assert differ <= 0.002, f"{differ:.4f} of the pixels differ"
    assert 0.3 < np.mean(ref != depth.numpy()) < 0.55  # changed where the gate fired


def test_onnx_runtime_with_no_gated_pixel_returns_the_input(tmp_path):
    """The exported gated-pixel form with an empty gate (NonZero gives no index): the input, exactly."""
    pytest.importorskip("onnxruntime")
    from igde_stream.export import export_onnx
    import onnxruntime as ort

    model = _randomise(_tiny_select(attend=2, scale=2, passes=2), seed=9).eval()
    with torch.no_grad():
        model.head.conv.bias[-1] = -1e30
    path = export_onnx(model, tmp_path / "closed.onnx", check=False)
    color, depth = _inputs(n=2, h=21, w=30, bits=16, seed=10)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"color": color.numpy(), "depth": depth.numpy()})[0]
    assert np.array_equal(got, depth.numpy())


@pytest.mark.parametrize("passes,pick", [(1, 0.0), (2, 0.0), (1, 0.3)])
def test_fp16_onnx_keeps_16_bit_depth_exact(tmp_path, passes, pick):
    """The TensorRT FP16 path's ONNX conversion (engine.convert_fp16) leaves the gather in float32:
    run the converted file on ONNX Runtime's CPU and check every output is an input 16-bit level
    (also when a second pass gathers from the first pass's output, as the shipped model does)."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from igde_stream.engine import convert_fp16
    from igde_stream.export import export_onnx

    model = _randomise(_tiny_select(passes=passes, pick_temperature=pick), seed=5)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.3)
        model.head.conv.bias[-1] = 2.0  # the gate fires on most pixels
    path = export_onnx(model.eval(), tmp_path / "sel.onnx", check=False)
    half = convert_fp16(path, tmp_path / "sel16.onnx")
    color, depth = _inputs(n=2, h=24, w=32, bits=16, seed=6)
    sess = ort.InferenceSession(str(half), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"color": color.numpy(), "depth": depth.numpy()})[0]
    levels = out * 65535
    assert np.array_equal(levels, np.rint(levels))
    assert np.isin(np.rint(levels), np.rint(depth.numpy() * 65535)).all()
    assert (out != depth.numpy()).mean() > 0.2  # the network did choose other candidates


def test_fresh_head_starts_closed_whatever_the_seed():
    # the identity start must not depend on the random init: score biases 0, gate bias -4
    # (g = sigmoid(-4) = 0.018), and conv weights at 0.1 x PyTorch's default init, which draws from
    # U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (fan_in = 16 channels x 1 x 1): |w| <= 0.025, and with
    # 16 x 26 weights the largest is close to that bound (0.0125 would be a 0.05 scale)
    for seed in range(3):
        torch.manual_seed(seed)
        head = SelectionHead(16, 2, "window", True, 0.5)
        bias = head.conv.bias.detach()
        assert bias[-1] == -4.0 and (bias[:-1] == 0).all() and len(bias) == 26
        w = head.conv.weight.detach().abs().max()
        assert 0.0125 < w <= 0.1 / math.sqrt(16)
        model = create_model("igde-tiny", head="select", radius=2, candidates="window").eval()
        color, depth = _inputs(h=12, w=14, seed=seed)
        with torch.no_grad():
            assert torch.equal(model(color, depth), depth)
            model.train()
            assert (model(color, depth) - depth).abs().max() < 0.02 * 1.0  # the soft output, within 2 %


def test_attention_colour_term_also_scores_the_gated_head():
    # as test_attention_scores_prefer_candidates_of_the_same_colour, with a gate: the K scores get
    # minus beta x the colour distance, and the gate logit (last channel) is untouched (its bias, -4)
    head, logits = _two_colour_logits(gate=True)
    assert logits.shape[1] == len(head.offsets) + 1
    beta = 10 * torch.nn.functional.softplus(torch.tensor(0.0))
    k = head.offsets.index((0, 1))  # pixel (2, 2) looks at (2, 3): other colour
    assert torch.isclose(logits[0, k, 2, 2], -beta) and logits[0, 0, 2, 2] == 0
    assert (logits[0, -1] == -4.0).all()


def test_dense_head_export_has_no_data_dependent_shapes_and_the_same_values(select_onnx):
    """export_onnx(dense_head=True) scores every pixel (no NonZero, for runtimes that want static
    shapes); the default graph scores the gated ones; both give the same output, and the module given
    comes back with its own setting. The two exports are conftest's select_onnx (made once for the
    session, also read by the models benchmark's test and the argmax-ties test)."""
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    from igde_stream.export import read_metadata

    model = _randomise(_tiny_select(attend=2, scale=2), seed=3).eval()
    color, depth = _inputs(n=3, h=29, w=45, bits=16, seed=4)
    _open_gate_on_half(model, color, depth)
    assert _same_model(model, select_onnx["model"])
    assert select_onnx["sparse_after"] == (True, True)  # after the gated export, after the dense one
    outs, ops = {}, {}
    for dense in (False, True):
        path = select_onnx["dense" if dense else "gated"]
        ops[dense] = {n.op_type for n in onnx.load(str(path)).graph.node}
        assert read_metadata(path)["hard_output"] == ("dense" if dense else "gated pixels")
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outs[dense] = sess.run(None, {"color": color.numpy(), "depth": depth.numpy()})[0]
    assert "NonZero" in ops[False] and "NonZero" not in ops[True]
    assert np.mean(outs[False] != outs[True]) <= 0.002
    assert np.mean(outs[True] != depth.numpy()) > 0.3


def test_pick_by_hand():
    """pick_temperature 0: the highest score; T > 0: the candidate nearest the softmax(scores / T)
    mean of the values. Two sides of an edge scored alike pick the value between them; a confident
    score picks as the argmax does; equal distances go to the lower index (the nearer offset)."""
    def pick(t, scores, values):
        head = SelectionHead(4, 1, "window", True, 0.5, pick_temperature=t)
        s = torch.tensor(scores, dtype=torch.float32).view(1, -1, 1, 1)
        v = torch.tensor(values, dtype=torch.float32).view(1, -1, 1, 1)
        return int(head.pick(s, v)[0, 0, 0, 0])

    split = ([2.0, 2.0, -10.0], [10.0, 20.0, 15.0])
    assert pick(0.0, *split) == 0  # argmax: the first of the tie
    assert pick(1.0, *split) == 2  # mean 15: the intermediate value
    assert pick(0.3, [5.0, 0.0, 0.0], [10.0, 20.0, 15.0]) == 0  # confident: the argmax's choice
    assert pick(1.0, [0.0, 0.0], [10.0, 20.0]) == 0  # |10 - 15| = |20 - 15|: the nearer offset
    # weights 0.8 / 0.2 (log 4 apart at T = 1): mean 12 -> the value 13 is nearest, not 10
    assert pick(1.0, [math.log(4.0), 0.0, -30.0], [10.0, 20.0, 13.0]) == 2
    with pytest.raises(ValueError, match="pick_temperature"):
        IGDEConfig(head="select", pick_temperature=-1.0)
    with pytest.raises(ValueError, match="select head"):
        IGDEConfig(head="residual", pick_temperature=0.3)


def test_full_resolution_layers_add_to_the_features():
    """A full_convs layer adds ReLU(conv([features, colour, depth])) to the features: with weights
    set, the features are the model without the layer plus that term, computed here by hand."""
    torch.manual_seed(0)
    grown = _randomise(_tiny_select(scale=2, full_convs=1), seed=3).eval()
    plain = _tiny_select(scale=2).eval()
    plain.load_state_dict({k: v for k, v in grown.state_dict().items() if not k.startswith("full_res.")})
    color, depth = _inputs(n=1, h=18, w=22)
    with torch.no_grad():
        f0 = plain.features(color, depth)
        conv = grown.full_res[0]
        expected = f0 + torch.relu(torch.nn.functional.conv2d(torch.cat([f0, color, depth], 1), conv.weight,
                                                              conv.bias, padding=1))
        got = grown.features(color, depth)
    assert not torch.allclose(got, f0)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="full_convs"):
        IGDEConfig(full_convs=5)


@pytest.mark.parametrize("extra", [{"attend": 2, "scale": 2}, {"attend": 2, "scale": 2, "flip_average": True},
                                   {"attend": 3, "scale": 2, "flip_average": True, "flip_vertical": True},
                                   {"attend": 2, "scale": 2, "head": "soft", "flip_average": True}])
def test_stacked_attend_terms_equal_the_per_candidate_ones(extra):
    """The GPU's dense form (``stacked``: every candidate's and every flipped run's attend terms from
    one stack) gives the logits of the per-candidate form, whose colour term is checked by hand in
    test_attention_scores_prefer_candidates_of_the_same_colour: with one, two and four runs, so that a
    colour term counted once instead of once per run, or a run's keys paired with another's queries,
    shows; and the same hard output."""
    soft = extra.get("head") == "soft"  # the ungated head
    model = create_model("igde-tiny", radius=3, candidates="star", **extra) if soft else _tiny_select(**extra)
    model = _randomise(model, seed=11, scale=0.3).eval()
    with torch.no_grad():
        model.head.color_scale.fill_(0.5)  # a colour term of the learned terms' size
    color, depth = _inputs(n=2, h=19, w=24, seed=12)
    head = model.head
    with torch.no_grad():
        f, flipped, _ = model._head_features(color, depth)
        assert len(flipped) == int(extra.get("flip_average", False)) * (3 if extra.get("flip_vertical") else 1)
        head.stacked = False
        loop = head.logits(f, color, flipped)
        head.stacked = True
        stacked = head.logits(f, color, flipped)
        scale = float(loop.abs().max())
        assert scale > 1.0  # the terms are not negligible
        assert float((stacked - loop).abs().max()) <= 1e-6 * scale  # float32 summation order, no more
        if head.gate:
            head.sparse = False
            out = model(color, depth)
            head.stacked = False
            assert (out != model(color, depth)).float().mean() <= 0.002


def test_global_context_scales_and_shifts_the_features_by_the_frames_mean():
    """global_context: the refinement features f (before the upsampling) become (1 + a) f + b, with
    (a, b) = conv(ReLU(conv(mean of f over the frame))); computed here by hand from the model without
    it. Zero-initialised it is the identity; it reaches across the whole frame (a change in one
    corner moves the features in the other, which the convolutions alone do not reach)."""
    grown = _randomise(_tiny_select(scale=2, global_context=4), seed=5, scale=0.3).eval()
    plain = _tiny_select(scale=2).eval()
    plain.load_state_dict({k: v for k, v in grown.state_dict().items() if not k.startswith("context.")})
    color, depth = _inputs(n=1, h=20, w=24)
    s = 2
    with torch.no_grad():
        c = torch.nn.functional.pixel_unshuffle(color, s)
        d = torch.nn.functional.pixel_unshuffle(depth, s)
        img, low = plain.image_branch(c)
        dep, _ = plain.depth_branch(d, low[: plain.config.color_taps])
        f = plain.refine(plain.act(plain.fusion(torch.cat([img, dep], 1))))[0]
        conv1, conv2 = grown.context[0], grown.context[2]
        m = f.mean(dim=(2, 3), keepdim=True)
        ab = torch.nn.functional.conv2d(torch.relu(torch.nn.functional.conv2d(m, conv1.weight, conv1.bias)),
                                        conv2.weight, conv2.bias)
        g0 = plain.config.g0
        f = f * (1 + ab[:, :g0]) + ab[:, g0:]
        f = torch.nn.functional.pixel_shuffle(plain.act(plain.up(f)), s)
        want = plain.act(plain.full(torch.cat([f, color, depth], 1)))
        got = grown.features(color, depth)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        assert not torch.allclose(got, plain.features(color, depth), atol=1e-3)
        big_c, big_d = _inputs(n=1, h=48, w=64, seed=4)
        far = big_d.clone()
        far[..., :4, :4] = 1.0 - far[..., :4, :4]  # the top-left corner only
        for model, reaches in ((plain, False), (grown, True)):  # the bottom-right: beyond the convs' reach
            moved = (model.features(big_c, far) - model.features(big_c, big_d)).abs()[..., 40:, 56:]
            assert (float(moved.max()) > 1e-4) == reaches
        fresh = _randomise(_tiny_select(scale=2), seed=5, scale=0.3).eval()
        zero = _tiny_select(scale=2, global_context=4).eval()
        zero.load_state_dict({**fresh.state_dict(), **{k: v for k, v in zero.state_dict().items()
                                                       if k.startswith("context.")}})
        assert torch.equal(zero(color, depth), fresh(color, depth))
    with pytest.raises(ValueError, match="global_context"):
        IGDEConfig(global_context=65)
