"""The select head's edge band (``IGDEConfig.band_step``): only pixels near a depth second difference
larger than ``band_step`` 8-bit levels may change; slanted surfaces and their quantisation staircase
are left alone, however steep."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from igde_stream.models import create_model
from igde_stream.models.igde import IGDEConfig, SelectionHead
from igde_stream.models.selection import head_form


def _scene(n=2, h=26, w=40, bits=16):
    """A slanted surface quantised to 8-bit levels (steps of one level every 3 px in x, every 5 px in
    y) with a box 40 levels nearer, as N x 1 x H x W depth in [0, 1] at ``bits`` bits; the box's
    corners move with the frame index. Also returns the box masks."""
    peak = 2 ** bits - 1
    ys, xs = np.mgrid[0:h, 0:w]
    depth = np.zeros((n, 1, h, w))
    boxes = np.zeros((n, h, w), bool)
    for i in range(n):
        levels = 60 + xs // 3 + ys // 5
        box = (ys >= 7 + i) & (ys < 17 + i) & (xs >= 12 + 2 * i) & (xs < 25 + 2 * i)
        levels = levels + 40 * box
        boxes[i] = box
        depth[i, 0] = np.rint(levels / 255 * peak) / peak
    color = torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(0))
    return color, torch.from_numpy(depth).float(), boxes


def _band_by_hand(box: np.ndarray, r: int) -> np.ndarray:
    """Pixels within the (2r+1)^2 square of a pixel whose row or column triple (left, self, right or
    up, self, down; both neighbours inside the frame) crosses the box's outline: there the second
    difference holds the box's 40-level jump, elsewhere at most the staircase's one level."""
    h, w = box.shape
    edge = np.zeros_like(box)
    for y in range(h):
        for x in range(w):
            if 0 < x < w - 1 and len({box[y, x - 1], box[y, x], box[y, x + 1]}) > 1:
                edge[y, x] = True
            if 0 < y < h - 1 and len({box[y - 1, x], box[y, x], box[y + 1, x]}) > 1:
                edge[y, x] = True
    out = np.zeros_like(box)
    for y, x in zip(*np.nonzero(edge)):
        out[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1] = True
    return out


def _select(band_step=2.5, seed=1, **kw):
    model = create_model("igde-tiny", head="select", radius=3, candidates="star", band_step=band_step, **kw)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        model.head.conv.bias[-1] = 1e4  # the gate fires on every pixel
    return model.eval()


@pytest.mark.parametrize("bits", [8, 16])
def test_band_marks_the_depth_step_and_not_the_staircase(bits):
    head = SelectionHead(4, 3, "window", True, 0.5, band_step=2.5 / 255)
    _, depth, boxes = _scene(bits=bits)
    band = head.band(depth)[:, 0].numpy()
    for i in range(len(boxes)):
        np.testing.assert_array_equal(band[i], _band_by_hand(boxes[i], 3))
    # steps of 1 and 2 levels are staircase, 3 levels an edge (threshold 2.5 levels); a step between
    # columns 4 and 5 marks both, the band then reaches 3 px further (columns 1-8)
    flat = torch.full((1, 1, 9, 9), 100 / 255)
    flat[..., 5:] += 2 / 255
    assert not bool(head.band(flat).any())
    flat[..., 5:] += 1 / 255
    assert bool(head.band(flat)[..., 1:9].all()) and not bool(head.band(flat)[..., :1].any())
    assert SelectionHead(4, 3, "window", True, 0.5).band(depth) is None  # band_step 0: off


@pytest.mark.parametrize("slope", [0.7, 3.0, 9.0])
def test_band_leaves_out_slanted_planes_however_steep(slope):
    """A plane (8-bit levels, any tilt) has second differences of at most one level, also at the
    frame's border; a first-difference rule would put every pixel of a steep plane in the band."""
    head = SelectionHead(4, 3, "window", True, 0.5, band_step=2.5 / 255)
    ys, xs = np.mgrid[0:20, 0:30]
    levels = np.rint(10 + slope * xs + 0.4 * slope * ys)
    depth = torch.from_numpy(levels / 255).float()[None, None]
    assert not bool(head.band(depth).any())
    levels[:, 17:] += 30  # a step on the plane: the band is the 7 px wide strip around it
    band = head.band(torch.from_numpy(levels / 255).float()[None, None])[0, 0].numpy()
    np.testing.assert_array_equal(band, np.broadcast_to((xs[0] >= 13) & (xs[0] <= 20), band.shape))


@pytest.mark.parametrize("sparse", [True, False])
def test_off_band_pixels_keep_the_input_and_band_pixels_are_as_without_it(sparse):
    model = _select(attend=2, scale=2)
    free = _select(band_step=0.0, attend=2, scale=2)
    color, depth, boxes = _scene()
    band = torch.from_numpy(np.stack([_band_by_hand(b, 3) for b in boxes]))[:, None]
    with torch.no_grad(), head_form(model, sparse), head_form(free, sparse):
        out = model(color, depth)
        ref = free(color, depth)
    assert torch.equal(out[~band], depth[~band])
    assert torch.equal(out[band], ref[band])
    assert bool((ref[~band] != depth[~band]).float().mean() > 0.3)  # without the band they change
    assert bool((out[band] != depth[band]).any())


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("h,w", [(1, 30), (30, 1), (1, 1)])
def test_frames_one_pixel_high_or_wide_keep_their_shape_through_the_band(h, w, sparse):
    """A frame 1 pixel high (wide) has no second difference across its rows (columns); its zero
    padding made a band 2 pixels high (wide), and the gated pixels of the second row then indexed
    past the frame (IndexError in the sparse form, an output of another shape in the dense one),
    where the torch backend is to run frames of any size (docs/stream.md, "Frame size")."""
    color = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    depth = torch.rand(1, 1, h, w, generator=torch.Generator().manual_seed(1))
    assert SelectionHead(4, 3, "window", True, 0.5, band_step=2.5 / 255).band(depth).shape == depth.shape
    model = _select(attend=2, scale=2)  # the gate fires on every pixel of the band
    with torch.no_grad(), head_form(model, sparse):
        assert model(color, depth).shape == depth.shape


def test_band_step_config_checks():
    with pytest.raises(ValueError, match="band_step needs the select head"):
        IGDEConfig(band_step=2.5)
    with pytest.raises(ValueError, match="band_step must be in"):
        IGDEConfig(head="select", band_step=-1.0)
    assert create_model("igde-small").config.band_step > 0  # the shipped default uses it


@pytest.mark.parametrize("dense_head", [False, True])
def test_onnx_runtime_keeps_the_band(tmp_path, dense_head):
    """Both exported forms: the gated one (NonZero) and the dense one a TensorRT build uses."""
    ort = pytest.importorskip("onnxruntime")
    from igde_stream.export import export_onnx

    model = _select() if dense_head else _select(attend=2, scale=2)  # (the attend export is slow)
    color, depth, boxes = _scene(n=3, h=30, w=44)
    path = export_onnx(model, tmp_path / "band.onnx", check=False, dense_head=dense_head)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"color": color.numpy(), "depth": depth.numpy()})[0]
    with torch.no_grad():
        ref = model(color, depth).numpy()
    band = np.stack([_band_by_hand(b, 3) for b in boxes])[:, None]
    np.testing.assert_array_equal(got[~band], depth.numpy()[~band])
    assert np.mean(got != ref) <= 0.002  # argmax near-ties only


def test_fp16_onnx_keeps_the_band_and_16_bit_levels(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from igde_stream.engine import convert_fp16
    from igde_stream.export import export_onnx

    model = _select()
    color, depth, boxes = _scene(n=2, h=28, w=40)
    path = export_onnx(model, tmp_path / "band.onnx", check=False)
    half = convert_fp16(path, tmp_path / "band16.onnx")
    out = ort.InferenceSession(str(half), providers=["CPUExecutionProvider"]).run(
        None, {"color": color.numpy(), "depth": depth.numpy()})[0]
    band = np.stack([_band_by_hand(b, 3) for b in boxes])[:, None]
    np.testing.assert_array_equal(out[~band], depth.numpy()[~band])
    levels = out * 65535
    assert np.array_equal(levels, np.rint(levels))
    assert (out[band] != depth.numpy()[band]).mean() > 0.2


def _tune_gate():
    from conftest import load_tool

    return load_tool("tune_gate", "tune_gate")


def test_tune_gate_sweep_equals_the_model_run_with_each_setting():
    """tools/tune_gate.py scores every (band_step, threshold) from one network run per frame; each
    score must be the PSNR of the model itself run with that setting (dense form: same summation)."""
    tool = _tune_gate()
    model = _select(attend=2, scale=2)
    color, depth, _ = _scene(n=2, h=26, w=40, bits=8)
    with torch.no_grad():
        model.head.conv.bias[-1] = 0.0
        g = model.select_logits(color, depth)[:, -1].flatten()
        model.head.conv.weight[-1] *= 2.0 / float(g.std())  # gate logits spread over about -2..2
        g = model.select_logits(color, depth)[:, -1].flatten().sort().values
        model.head.conv.bias[-1] -= g[g.numel() // 2]  # about half the pixels above 0.5
    frames = []
    for i in range(2):
        img = (color[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        d8 = np.rint(depth[i, 0].numpy() * 255).astype(np.uint8)
        gt = np.clip(d8.astype(int) + np.where(np.arange(40) % 7 == 0, 3, 0), 0, 255).astype(np.uint8)
        frames.append((img, d8, gt))
    thresholds, steps = [0.3, 0.5, 0.7], [0.0, 2.5]
    got = tool.sweep(model, frames, thresholds, steps)
    for b, step in enumerate(steps):
        for t, thr in enumerate(thresholds):
            m = _select(band_step=step, attend=2, scale=2, gate_threshold=thr)
            m.load_state_dict(model.state_dict())
            sse, n = 0.0, 0
            for img, d8, gt in frames:
                c = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
                with torch.no_grad(), head_form(m, sparse=False):
                    out = np.rint(m(c, torch.from_numpy(d8)[None, None].float() / 255)[0, 0].numpy() * 255)
                sse += np.sum((out - gt.astype(np.float64)) ** 2)
                n += gt.size
            assert abs(got[b, t] - 10 * np.log10(255 ** 2 / (sse / n))) < 1e-9, (step, thr)
    assert len({round(float(v), 6) for v in got.flatten()}) > 3  # the settings do differ


def test_tune_gate_refuses_a_model_without_a_gate(tmp_path, capsys):
    from igde_stream.models import save_checkpoint

    tool = _tune_gate()
    save_checkpoint(tmp_path / "res.pt", create_model("igde-tiny"))
    assert tool.main(["--model", str(tmp_path / "res.pt"), "--scenes", "1", "--sizes", "64x48"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no gated select head" in err[0]


def test_tune_gate_refuses_an_out_under_a_file_up_front(tmp_path, capsys):
    """``--out somefile.txt/x.json``: one line before the sweep (it was a traceback at its end)."""
    tool = _tune_gate()
    (tmp_path / "f.txt").write_text("a file")
    with pytest.raises(SystemExit) as exc:
        tool.main(["--model", str(tmp_path / "none.pt"), "--out", str(tmp_path / "f.txt" / "x.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and err[-1].endswith("f.txt is a file, not a folder")


def test_shipped_model_leaves_a_tilted_plane_alone():
    """The shipped igde-small carries the registry's band (a re-export without it would fail here),
    and a textured plane tilted by 1.5 / 4 levels per pixel, with no depth edge, comes back exactly."""
    from igde_stream.models import get_config, pretrained_path

    if not pretrained_path("igde-small").is_file():
        pytest.skip("shipped igde-small.pt not present")
    model = create_model("igde-small", pretrained=True)
    assert model.config.band_step == get_config("igde-small").band_step > 0
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:96, 0:128]
    color = torch.from_numpy(rng.random((1, 3, 96, 128))).float()
    for slope in (1.5, 4.0):
        depth = torch.from_numpy(np.rint(20 + slope * xs * 0.8 + slope * ys * 0.6) / 255).float()[None, None]
        with torch.no_grad():
            assert torch.equal(model(color, depth), depth)


def test_tune_gate_sweeps_the_pick_rule(tmp_path):
    """--pick-temperatures scores each rule: its T0 column is the argmax model's own sweep, its T0.7
    column that of the same weights saved with pick_temperature 0.7, and the two differ."""
    import json

    from igde_stream.models import save_checkpoint

    tool = _tune_gate()
    model = _select(band_step=0.0)
    color, depth, _ = _scene(n=1, h=26, w=40, bits=8)
    with torch.no_grad():  # scores of about unit spread, so that a temperature of 0.7 matters
        spread = float(model.select_logits(color, depth)[:, :-1].std())
        model.head.conv.weight[:-1] /= spread
        model.head.conv.bias[:-1] /= spread
    save_checkpoint(tmp_path / "t0.pt", model)
    t7 = _select(band_step=0.0, pick_temperature=0.7)
    t7.load_state_dict(model.state_dict())
    save_checkpoint(tmp_path / "t7.pt", t7)
    common = ["--scenes", "2", "--sizes", "96x64", "--errors", "paper", "--thresholds", "0.5",
              "--band-steps", "0", "--threads", "1"]

    def run(name, *extra):
        out = tmp_path / f"{name}-{len(extra)}.json"
        assert tool.main(["--model", str(tmp_path / f"{name}.pt"), *common, *extra, "--out", str(out)]) == 0
        return json.loads(out.read_text())["rows"][0]["psnr"]

    both = run("t0", "--pick-temperatures", "0", "0.7")
    assert set(both) == {"T0 0/0.5", "T0.7 0/0.5"}
    plain, warm = run("t0")["0/0.5"], run("t7")["0/0.5"]
    assert both["T0 0/0.5"] == plain and both["T0.7 0/0.5"] == warm
    assert abs(warm - plain) > 0.01


def test_tune_gate_oracle_bounds_by_hand(monkeypatch):
    """oracle(): a perfect gate keeps the model's pick only where it is nearer the truth; a perfect
    pick puts the candidate nearest the truth where the gate fires. One 1 x 4 frame, radius 1, gate
    and picks stubbed, PSNRs from squared errors counted by hand."""
    from types import SimpleNamespace

    from igde_stream.models.selection import SelectionHead

    tool = _tune_gate()
    head = SelectionHead(2, 1, "window", True, 0.5)
    model = SimpleNamespace(head=head)
    depth = np.array([[10, 10, 50, 50]], np.uint8)
    gt = np.array([[10, 50, 50, 40]], np.uint8)
    # gate fires (logit > 0 = threshold 0.5) at pixels 1 and 3; the model picks 10, 10, 50, 10
    gate = np.array([[-5.0, 5.0, -5.0, 5.0]], np.float32)
    chosen = np.array([[10.0, 10.0, 50.0, 10.0]])
    monkeypatch.setattr(tool, "gate_and_choice", lambda m, c, d: (gate, chosen))
    color = np.zeros((1, 4, 3), np.uint8)
    got_gate, got_pick = tool.oracle(model, [(color, depth, gt, None)], 0.5, 0.0)
    # perfect gate: no pick is nearer the truth (pixel 1: 10 vs 10; pixel 3: |10-40| > |50-40|) -> the input,
    # errors 0, 40, 0, 10; perfect pick: pixel 1 takes its right neighbour 50 (error 0), pixel 3 its left 50
    # (the only values in reach: 50, 50; error 10); the others keep the input (0, 0)
    want_gate = 10 * np.log10(255 ** 2 / ((40 ** 2 + 10 ** 2) / 4))
    want_pick = 10 * np.log10(255 ** 2 / (10 ** 2 / 4))
    assert abs(got_gate - want_gate) < 1e-9 and abs(got_pick - want_pick) < 1e-9
    chosen[0, 3] = 45.0  # now the pick at pixel 3 helps (5 < 10): the perfect gate takes it
    got_gate, _ = tool.oracle(model, [(color, depth, gt, None)], 0.5, 0.0)
    assert abs(got_gate - 10 * np.log10(255 ** 2 / ((40 ** 2 + 5 ** 2) / 4))) < 1e-9


def test_tune_gate_breakdown_by_hand(monkeypatch):
    """breakdown(): each pixel of one 1 x 5 frame falls in one kind by hand (kept wrong, moved right,
    changed but still wrong, or right in the output), shares of pixels and of squared error counted
    by hand, the gross part (>= 50 levels) apart; a pixel outside the gate keeps its input."""
    from types import SimpleNamespace

    from igde_stream.models.selection import SelectionHead

    tool = _tune_gate()
    model = SimpleNamespace(head=SelectionHead(2, 1, "window", True, 0.5))
    depth = np.array([[10, 10, 50, 50, 200]], np.uint8)
    gt = np.array([[10, 50, 50, 100, 120]], np.uint8)
    # the gate fires at pixels 1, 2 and 3; pixel 4 is wrong by 80 and kept (gate shut)
    gate = np.array([[-5.0, 5.0, 5.0, 5.0, -5.0]], np.float32)
    chosen = np.array([[10.0, 50.0, 10.0, 60.0, 120.0]])
    monkeypatch.setattr(tool, "gate_and_choice", lambda m, c, d: (gate, chosen))
    color = np.zeros((1, 5, 3), np.uint8)
    got = tool.breakdown(model, [(color, depth, gt, None)], 0.5, 0.0)
    # output 10, 50, 10, 60, 200: pixel 1 fixed (no error), pixel 2 right and moved by 40 (not gross),
    # pixel 3 changed but off by 40, pixel 4 kept and off by 80 (gross)
    total = 40 ** 2 + 40 ** 2 + 80 ** 2
    want = {"kept wrong": (1 / 5, 80 ** 2 / total, 80 ** 2 / total),
            "moved right": (1 / 5, 40 ** 2 / total, 0.0),
            "changed, still wrong": (1 / 5, 40 ** 2 / total, 0.0)}
    assert set(got) == set(want)
    for kind, (px, err, gross) in want.items():
        assert got[kind] == pytest.approx({"pixels": px, "error": err, "gross": gross}, abs=1e-12), kind
    chosen[0, 3] = 160.0  # now off by 60: gross
    got = tool.breakdown(model, [(color, depth, gt, None)], 0.5, 0.0)
    total = 40 ** 2 + 60 ** 2 + 80 ** 2
    assert got["changed, still wrong"]["gross"] == pytest.approx(60 ** 2 / total, abs=1e-12)
