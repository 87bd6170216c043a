import pytest
import torch

from igde_stream import create_model, list_models
from igde_stream.models import get_config, load_checkpoint, model_complexity, save_checkpoint, weights_hash


def test_registry_lists_variants():
    assert {"igde-tiny", "igde-small", "igde-base"} <= set(list_models())


def test_unknown_name_and_key_raise():
    with pytest.raises(ValueError, match="unknown model"):
        create_model("igde-huge")
    with pytest.raises(ValueError, match="unknown IGDEConfig keys"):
        create_model("igde-tiny", growth=3)


@pytest.mark.parametrize("taps", [0, 1, 2, 3])
@pytest.mark.parametrize("name", ["igde-tiny", "igde-small", "igde-base"])
def test_forward_odd_size_and_gradients(name, taps):
    torch.manual_seed(0)
    overrides = {"color_taps": taps}
    if name == "igde-base":  # keep the test fast: same blocks, fewer of them and thinner
        overrides.update(g0=16, g=8, refine_blocks=1)
    model = create_model(name, **overrides)
    h, w = (67, 93) if name != "igde-base" else (19, 23)
    color = torch.rand(2, 3, h, w)
    depth = torch.rand(2, 1, h, w)
    out = model(color, depth)
    assert out.shape == (2, 1, h, w)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    # a loss that is not clamped flat everywhere: distance to a random target
    (out - torch.rand_like(out)).pow(2).mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert not missing, missing
    assert len(model.depth_branch.tap_fuse) == taps


def test_checkpoint_roundtrip(tmp_path):
    m = create_model("igde-tiny", color_taps=2)
    save_checkpoint(tmp_path / "m.pt", m, step=7)
    m2 = load_checkpoint(tmp_path / "m.pt")
    assert m2.config == m.config
    assert weights_hash(m2) == weights_hash(m)


def test_bad_checkpoint_is_a_clear_error(tmp_path):
    p = tmp_path / "x.pt"
    p.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not an igde-stream checkpoint"):
        load_checkpoint(p)


def test_complexity_scales_with_pixels():
    a = model_complexity("igde-tiny", 64, 64)
    b = model_complexity("igde-tiny", 128, 64)
    assert b["gflop"] == pytest.approx(2 * a["gflop"])
    assert a["params"] == sum(p.numel() for p in create_model("igde-tiny").parameters())
    # hand count for one conv: the shallow 3x3 conv of the image branch, 3 -> g0 channels
    g0 = get_config("igde-tiny").g0
    assert a["gmac"] * 1e9 > 9 * 3 * g0 * 64 * 64
    # a select model with passes=2 runs the network twice at inference, with the same weights, except
    # the colour-only image branch, which runs once: its convs counted by hand (full resolution here)
    one = create_model("igde-tiny", head="select", radius=2)
    two = create_model("igde-tiny", head="select", radius=2, passes=2).train()
    c1, c2 = model_complexity(one, 64, 64), model_complexity(two, 64, 64)
    image = sum(m.out_channels * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1] * 64 * 64
                for m in two.image_branch.modules() if isinstance(m, torch.nn.Conv2d))
    assert image > 0
    assert c2["gmac"] * 1e9 == pytest.approx(2 * c1["gmac"] * 1e9 - image) and c2["params"] == c1["params"]
    assert two.training  # the probe left the model's mode alone


def test_small_fits_cpu_budget():
    assert model_complexity("igde-small", 540, 960)["gflop"] <= 100


def test_colour_reaches_depth_branch_only_through_taps():
    torch.manual_seed(0)
    d = torch.rand(1, 1, 24, 24)
    c1, c2 = torch.rand(1, 3, 24, 24), torch.rand(1, 3, 24, 24)
    for taps in (0, 3):
        m = create_model("igde-tiny", color_taps=taps).eval()
        with torch.no_grad():
            f1 = m.depth_branch(d, m.image_branch(c1)[1][:taps])[0]
            f2 = m.depth_branch(d, m.image_branch(c2)[1][:taps])[0]
        assert torch.equal(f1, f2) == (taps == 0)


def _rdn_weights(cin, g0, g, layers, blocks, taps=0):
    """Conv weights (= multiply-accumulates per pixel: every conv is stride 1, size preserving) of one
    RDN, from the layer list of the paper's Fig. 6, and its bias count."""
    w = 9 * cin * g0 + 9 * g0 * g0  # sfe1, sfe2
    b = 2 * g0
    for _ in range(blocks):
        w += sum(9 * (g0 + i * g) * g for i in range(layers)) + (g0 + layers * g) * g0
        b += layers * g + g0
    w += blocks * g0 * g0 + 9 * g0 * g0  # global fusion: 1x1 then 3x3
    b += 2 * g0
    w += taps * 2 * g0 * g0  # colour-tap fusions
    b += taps * g0
    return w, b


@pytest.mark.parametrize("name, heads", [("igde-tiny", 1), ("igde-small-residual", 1), ("igde-small-select", 66)])
def test_parameters_and_cost_follow_from_the_layer_list(name, heads):
    from igde_stream.models import get_config

    c = get_config(name)
    parts = [_rdn_weights(3, c.g0, c.g, c.layers, c.extractor_blocks),
             _rdn_weights(1, c.g0, c.g, c.layers, c.extractor_blocks, c.color_taps),
             (9 * 2 * c.g0 * c.g0, c.g0),  # fusion conv
             _rdn_weights(c.g0, c.g0, c.g, c.layers, c.refine_blocks),
             (c.g0 * heads, heads)]  # 1x1 head: 1 channel, or 65 candidate scores + 1 gate
    weights = sum(w for w, _ in parts)
    params = weights + sum(b for _, b in parts)
    got = model_complexity(name, 540, 960)
    assert got["params"] == params
    assert got["gflop"] == pytest.approx(2 * weights * 540 * 960 / 1e9, rel=1e-9)


def test_published_figures():
    # README table: igde-tiny 12,017 parameters / 12.3 GFLOP, the paper-head igde-small 63,969 / 65.8
    tiny, small = model_complexity("igde-tiny", 540, 960), model_complexity("igde-small-residual", 540, 960)
    assert (tiny["params"], round(tiny["gflop"], 1)) == (12017, 12.3)
    assert (small["params"], round(small["gflop"], 1)) == (63969, 65.8)
    # the shipped igde-small: 70,855 parameters; one run 21.3 GFLOP, with its flip average (a second
    # run on the mirrored frame, the head's 1x1 conv counted twice) 42.6; two passes of one run
    # share the image branch: 38.4 GFLOP
    shipped = model_complexity("igde-small", 540, 960)
    assert (shipped["params"], round(shipped["gflop"], 1)) == (70855, 42.6)
    one = model_complexity(create_model("igde-small", flip_average=False), 540, 960)
    assert (one["params"], round(one["gflop"], 1)) == (70855, 21.3)
    two = model_complexity(create_model("igde-small", passes=2, flip_average=False), 540, 960)
    assert (two["params"], round(two["gflop"], 1)) == (70855, 38.4)
