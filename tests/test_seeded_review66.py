"""Seeded-bug review 66, the selection head: its hard output (the gate threshold, the edge band, the
pick rule, holes, the flip average) against a NumPy reading of docs/models.md, "The selection head",
written here without the code under test. The head is given a 1x1 conv that is the identity, so that
the features a test hands it are its logits (K scores, then the gate logit) as they are."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from igde_stream.models.selection import SelectionHead


def star(radius: int) -> set[tuple[int, int]]:
    """docs/models.md: the 5x5 square plus the 8 compass rays out to ``radius`` px."""
    square = {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}
    rays = {(k * sy, k * sx) for k in range(3, radius + 1) for sy in (-1, 0, 1) for sx in (-1, 0, 1) if sy or sx}
    return square | rays


def identity_head(radius: int = 3, threshold: float = 0.5, band: float = 0.0, t: float = 0.0,
                  holes: bool = False) -> SelectionHead:
    head = SelectionHead(len(star(radius)) + 1, radius, "star", True, threshold, band_step=band,
                         pick_temperature=t, zero_holes=holes)
    k = len(head.offsets) + 1
    with torch.no_grad():
        head.conv.weight.copy_(torch.eye(k).view(k, k, 1, 1))
        head.conv.bias.zero_()
    return head.eval()


def ref_band(d: np.ndarray, radius: int, step: float) -> np.ndarray:
    """Pixels within ``radius`` (a square) of a second difference |d(x-1) - 2 d(x) + d(x+1)| (or in y)
    larger than ``step``; none on the outermost rows and columns."""
    h, w = d.shape
    c = np.zeros((h, w))
    c[:, 1:-1] = np.abs(d[:, :-2] - 2 * d[:, 1:-1] + d[:, 2:])
    c[1:-1, :] = np.maximum(c[1:-1, :], np.abs(d[:-2, :] - 2 * d[1:-1, :] + d[2:, :]))
    big = c > step
    out = np.zeros((h, w), bool)
    for y, x in zip(*np.nonzero(big)):
        out[max(0, y - radius):y + radius + 1, max(0, x - radius):x + radius + 1] = True
    return out


def ref_hard(logits: dict, gate: np.ndarray, depth: np.ndarray, radius: int, threshold: float,
             band: float = 0.0, t: float = 0.0, holes: bool = False) -> np.ndarray:
    """The hard output: the input where sigmoid(gate) <= threshold (a hole of ``holes`` always
    fires) or outside the band, else the candidate of the highest score (t 0) or the one nearest
    the softmax(scores / t)-weighted mean of the candidates (t > 0); with ``holes`` the 0
    candidates are out of both unless all are 0. ``logits``: offset -> H x W scores. Candidates
    read the depth with replicate padding. Ties do not occur in these tests' random scores."""
    h, w = depth.shape
    p = np.pad(depth.astype(np.float64), radius, mode="edge")
    fire = 1.0 / (1.0 + np.exp(-gate.astype(np.float64))) > threshold
    if holes:
        fire |= depth == 0
    if band:
        fire &= ref_band(depth.astype(np.float64), radius, band)
    out = depth.astype(np.float64).copy()
    for y, x in zip(*np.nonzero(fire)):
        offs = list(logits)
        s = np.array([logits[o][y, x] for o in offs], np.float64)
        v = np.array([p[radius + y + dy, radius + x + dx] for dy, dx in offs])
        keep = v != 0 if holes and (v != 0).any() else np.ones(len(v), bool)
        s, v = s[keep], v[keep]
        if t == 0:
            out[y, x] = v[np.argmax(s)]
        else:
            wts = np.exp((s - s.max()) / t)
            mean = (wts * v).sum() / wts.sum()
            out[y, x] = v[np.argmin(np.abs(v - mean))]
    return out


def as_features(head: SelectionHead, logits: dict, gate: np.ndarray) -> torch.Tensor:
    rows = [logits[o] for o in head.offsets] + [gate]
    return torch.from_numpy(np.stack(rows)[None].astype(np.float32))


def random_logits(radius: int, h: int, w: int, seed: int, scale: float = 3.0) -> dict:
    rng = np.random.default_rng(seed)
    return {o: (rng.standard_normal((h, w)) * scale).astype(np.float32) for o in sorted(star(radius))}


def both_forms(head, feats, depth, flipped=()):
    """(dense hard output, gated-pixel hard output) of the head on these features."""
    d = torch.from_numpy(depth.astype(np.float32))[None, None]
    c = torch.zeros(1, 3, *depth.shape)
    with torch.no_grad():
        dense = head.hard(head.logits(feats, c, flipped), d)
        sparse = head.hard_sparse(feats, d, c, flipped=flipped)
    return dense[0, 0].numpy(), sparse[0, 0].numpy()


def test_a_gate_exactly_at_the_threshold_keeps_the_input():
    """docs: "the input where g <= gate_threshold". A gate logit equal (in float32) to the
    threshold's logit keeps the input; the next float32 above it fires."""
    head = identity_head(radius=2, threshold=0.2)
    at = np.float32(math.log(0.2 / 0.8))
    above = np.nextafter(at, np.float32(1))
    depth = np.arange(1, 26, dtype=np.float32).reshape(5, 5) / 32  # exact in float32
    logits = {o: np.zeros((5, 5), np.float32) for o in star(2)}
    logits[(0, 1)][:] = 5.0  # every fired pixel takes its right neighbour
    for g, fires in ((at, False), (above, True)):
        gate = np.full((5, 5), g, np.float32)
        for out in both_forms(head, as_features(head, logits, gate), depth):
            want = np.pad(depth, 2, mode="edge")[2:7, 3:8] if fires else depth
            np.testing.assert_array_equal(out, want)


def test_a_second_difference_exactly_the_step_is_not_in_the_band():
    """docs: "a depth second difference ... larger than band_step". A ramp of steps 0.25 (exact in
    float32): the one second difference that is not 0, at the ramp's foot (col 4), is 0.25; with
    band_step 0.25 nothing is in the band, with a hair less the columns within 2 px of col 4 are."""
    depth = np.tile(np.float32([0, 0, 0, 0, 0, 0.25, 0.5, 0.75, 1.0]), (3, 1))  # a ramp from col 4
    head = identity_head(radius=2, band=0.25)
    assert not head.band(torch.from_numpy(depth)[None, None]).any()
    head.band_step = 0.2499
    got = head.band(torch.from_numpy(depth)[None, None])[0, 0].numpy()
    np.testing.assert_array_equal(got, ref_band(depth, 2, 0.2499))
    assert got.any()


@pytest.mark.parametrize("t", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("holes", [False, True])
def test_hard_output_is_the_documented_rule(t, holes):
    """Random logits (about half the gates open), 16-bit-like depth with steps, a band: both hard
    forms give the NumPy reading of the rule, at every temperature, with and without holes."""
    h, w, r = 12, 15, 3
    rng = np.random.default_rng(7)
    depth = (rng.integers(1, 65536, (h, w)) / 65535).astype(np.float32)
    depth[:, :5] = depth[:, :5] * 0 + np.float32(20000 / 65535)  # a flat area, outside the band in part
    depth[:, :5] += (np.arange(h)[:, None] * np.float32(1 / 65535)).astype(np.float32)  # a gentle slope
    if holes:
        depth[rng.random((h, w)) < 0.25] = 0.0
    logits = random_logits(r, h, w, seed=1)
    gate = rng.normal(0.0, 2.0, (h, w)).astype(np.float32)
    band = 2.5 / 255
    head = identity_head(radius=r, threshold=0.3, band=band, t=t, holes=holes)
    want = ref_hard(logits, gate, depth, r, 0.3, band, t, holes)
    for got in both_forms(head, as_features(head, logits, gate), depth):
        np.testing.assert_array_equal(got, want.astype(np.float32))
    assert 0 < np.mean(want != depth) < 0.9


def mirror_logits(run2: dict, gate2: np.ndarray, sign=(1, -1)) -> tuple[dict, np.ndarray]:
    """A flipped run's contribution: its score of offset (dy, dx) is its row of the offset flipped
    alike, (dy, -dx) for the mirror; the gate row stays."""
    sy, sx = sign
    return {(dy, dx): run2[(sy * dy, sx * dx)] for dy, dx in run2}, gate2


@pytest.mark.parametrize("flip,sign", [("mirror", (1, -1)), ("upside", (-1, 1)), ("both", (-1, -1))])
@pytest.mark.parametrize("t", [0.0, 0.3])
def test_flip_average_is_the_mean_of_both_runs_scores_and_gates(flip, sign, t):
    """docs, "Flip average": each pixel's scores and gate logit are the mean of the two runs, the
    flipped run's score of (dy, dx) being its score of the flipped offset. Both hard forms, against
    the reference on the averaged logits; the gates are chosen so that the first run alone would
    open other pixels than the mean."""
    h, w, r = 10, 13, 3
    rng = np.random.default_rng(3)
    depth = (rng.integers(1, 256, (h, w)) / 255).astype(np.float32)
    run1, run2 = random_logits(r, h, w, seed=11), random_logits(r, h, w, seed=12)
    g1 = rng.normal(0.0, 3.0, (h, w)).astype(np.float32)
    g2 = rng.normal(0.0, 3.0, (h, w)).astype(np.float32)
    m2, _ = mirror_logits(run2, g2, sign)
    mean = {o: (run1[o] + m2[o]) / 2 for o in run1}
    head = identity_head(radius=r, threshold=0.5, t=t)
    want = ref_hard(mean, (g1 + g2) / 2, depth, r, 0.5, t=t)
    alone = ref_hard(run1, g1, depth, r, 0.5, t=t)
    assert np.mean(want != alone) > 0.2
    flipped = [(as_features(head, run2, g2), flip)]
    for got in both_forms(head, as_features(head, run1, g1), depth, flipped):
        np.testing.assert_array_equal(got, want.astype(np.float32))


def test_four_runs_average_over_four():
    """flip_vertical with flip_average (igde-small-hq): the frame, its mirror, upside down and
    turned half round; the scores and gates are the mean of the four runs."""
    h, w, r = 9, 12, 3
    rng = np.random.default_rng(5)
    depth = (rng.integers(1, 256, (h, w)) / 255).astype(np.float32)
    runs = [random_logits(r, h, w, seed=20 + i) for i in range(4)]
    gates = [rng.normal(0.0, 3.0, (h, w)).astype(np.float32) for _ in range(4)]
    signs = [(1, 1), (1, -1), (-1, 1), (-1, -1)]
    turned = [mirror_logits(run, g, sign)[0] for run, g, sign in zip(runs, gates, signs)]
    mean = {o: sum(t[o] for t in turned) / 4 for o in runs[0]}
    head = identity_head(radius=r, threshold=0.5, t=0.3)
    want = ref_hard(mean, sum(gates) / 4, depth, r, 0.5, t=0.3)
    flipped = [(as_features(head, run, g), name) for run, g, name in zip(runs[1:], gates[1:], ("mirror", "upside", "both"))]
    for got in both_forms(head, as_features(head, runs[0], gates[0]), depth, flipped):
        np.testing.assert_array_equal(got, want.astype(np.float32))


def test_a_threshold_given_to_the_hard_output_replaces_the_heads():
    """``hard(..., threshold=)`` (tools/tune_gate.py's sweep) fires at the threshold given."""
    h, w, r = 8, 10, 2
    rng = np.random.default_rng(9)
    depth = (rng.integers(1, 256, (h, w)) / 255).astype(np.float32)
    logits = random_logits(r, h, w, seed=30)
    gate = rng.normal(0.0, 2.0, (h, w)).astype(np.float32)
    head = identity_head(radius=r, threshold=0.5)
    feats = as_features(head, logits, gate)
    d = torch.from_numpy(depth)[None, None]
    for thr in (0.1, 0.9):
        want = ref_hard(logits, gate, depth, r, thr)
        with torch.no_grad():
            dense = head.hard(head.logits(feats, torch.zeros(1, 3, h, w)), d, threshold=thr)
            sparse = head.hard_sparse(feats, d, torch.zeros(1, 3, h, w), threshold=thr)
        for got in (dense, sparse):
            np.testing.assert_array_equal(got[0, 0].numpy(), want.astype(np.float32))
    assert (ref_hard(logits, gate, depth, r, 0.1) != ref_hard(logits, gate, depth, r, 0.9)).any()



@pytest.mark.parametrize("temperature", [1.0, 0.3])
def test_soft_output_at_a_temperature_by_the_formula(temperature):
    """docs: the soft output (training) is g * sum_k softmax(s / T)_k c_k + (1 - g) d, at the
    temperature that training anneals (``soft(..., temperature)``)."""
    h, w, r = 7, 9, 2
    rng = np.random.default_rng(13)
    depth = (rng.integers(1, 256, (h, w)) / 255).astype(np.float32)
    logits = random_logits(r, h, w, seed=40, scale=1.0)
    gate = rng.normal(0.0, 2.0, (h, w)).astype(np.float32)
    head = identity_head(radius=r)
    p = np.pad(depth.astype(np.float64), r, mode="edge")
    offs = sorted(logits)
    s = np.stack([logits[o] for o in offs]).astype(np.float64) / temperature
    c = np.stack([p[r + dy:r + dy + h, r + dx:r + dx + w] for dy, dx in offs])
    wts = np.exp(s - s.max(0))
    mean = (wts * c).sum(0) / wts.sum(0)
    g = 1.0 / (1.0 + np.exp(-gate.astype(np.float64)))
    want = g * mean + (1 - g) * depth
    feats = as_features(head, logits, gate)
    with torch.no_grad():
        got = head.soft(head.logits(feats, torch.zeros(1, 3, h, w)), torch.from_numpy(depth)[None, None],
                        temperature)
    np.testing.assert_allclose(got[0, 0].numpy(), want, rtol=1e-5, atol=1e-6)


# --- the ONNX export of a select head (the TorchScript exporter: about a second) -----------------

@pytest.fixture(scope="module")
def holes_onnx(tmp_path_factory):
    """A small gated select model with zero_holes and 12 growth channels (padded to 16 in the
    graph), its gate opened on some pixels, exported with the TorchScript exporter."""
    from igde_stream.export import export_onnx
    from igde_stream.models import create_model

    torch.manual_seed(0)
    model = create_model("igde-tiny", head="select", radius=2, candidates="star", zero_holes=True, g=12,
                         band_step=2.5, pick_temperature=0.3).eval()
    with torch.no_grad():
        model.head.conv.bias[-1] = 0.0
    path = export_onnx(model, tmp_path_factory.mktemp("holes") / "m.onnx", exporter="torchscript")
    return model, path


def test_export_metadata_is_the_model_as_trained(holes_onnx):
    """The file's config is the model's, every field (zero_holes too: the Enhancer reads it to turn
    the hole fill on), and its weights hash is the model's as trained, not the padded graph's."""
    import dataclasses

    from igde_stream.export import read_metadata
    from igde_stream.models import weights_hash

    model, path = holes_onnx
    meta = read_metadata(path)
    assert meta["config"] == dataclasses.asdict(model.config)
    assert meta["config"]["zero_holes"] is True
    assert meta["weights_hash"] == weights_hash(model)
    assert meta["growth_channels"] == "12 -> 16"
    assert meta["hard_output"] == "dense"  # TorchScript cannot trace the gated form
    assert model.head.sparse is True  # the caller's model keeps its own form (head_form gives it back)


def test_onnx_of_a_zero_holes_model_fills_holes_by_default_and_matches_torch(holes_onnx):
    from igde_stream import Enhancer

    model, path = holes_onnx
    rng = np.random.default_rng(1)
    color = rng.integers(0, 256, (14, 18, 3)).astype(np.uint8)
    depth = rng.integers(1, 65536, (14, 18)).astype(np.uint16)
    depth[rng.random((14, 18)) < 0.2] = 0
    ort = Enhancer(model=path, backend="onnxruntime", quiet=True)
    assert ort.hole_fill is not None
    pt = Enhancer(model=model, backend="torch", quiet=True)
    a, b = ort.enhance(color, depth), pt.enhance(color, depth)
    assert np.mean(a != b) <= 0.01
    assert not (a == 0).any()


def test_export_check_refuses_a_selection_head_differing_on_more_than_ties(tmp_path, monkeypatch):
    """A select head may differ from ONNX Runtime on TIE_SHARE of the pixels (near-ties of its pick),
    no more: the check refuses the file beyond that, and leaves no file."""
    from igde_stream import export
    from igde_stream.models import create_model

    model = create_model("igde-tiny", head="select", radius=2, candidates="star").eval()
    monkeypatch.setattr(export, "max_abs_diff", lambda *a, **k: 0.5)
    monkeypatch.setattr(export, "differing_share", lambda *a, **k: 0.001)
    export.export_onnx(model, tmp_path / "ties.onnx", exporter="torchscript")
    monkeypatch.setattr(export, "differing_share", lambda *a, **k: 0.01)
    with pytest.raises(RuntimeError, match="differs from PyTorch"):
        export.export_onnx(model, tmp_path / "more.onnx", exporter="torchscript")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ties.onnx"]


def test_shipped_weights_and_shipped_onnx_agree_on_a_frame_with_holes():
    """igde_stream/weights/igde-small.pt run by this checkout's PyTorch code and igde-small.onnx (the
    graph exported when the weights shipped) give the same output but for near-ties of the pick: a
    change to the network's wiring or the head's rule in the code shows here."""
    import sys
    from pathlib import Path

    from igde_stream import Enhancer

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import scene

    colors, depths, _ = scene(1, (64, 48), 16)
    depth = depths[0].copy()
    depth[20:24, 30:38] = 0
    a = Enhancer("igde-small", backend="onnxruntime", quiet=True).enhance(colors[0], depth)
    b = Enhancer("igde-small", backend="torch", quiet=True).enhance(colors[0], depth)
    assert np.mean(a != depth) > 0.05  # the model changes the frame
    assert np.mean(a != b) <= 0.002
