"""Large frames in row strips (``igde_stream.strips``): the strips tile the frame, each call stays in
its pixel budget, every registered model reads fewer rows than the margin, and the Enhancer's output
in strips is the whole frame's to the last value."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from igde_stream import Enhancer
from igde_stream.enhancer import EnhancerError
from igde_stream.models import create_model, list_models, pretrained_path
from igde_stream.models.selection import SelectionHead
from igde_stream.strips import CPU_MAX_PIXELS, MIN_CORE, STRIP_MARGIN, run_bounded, strip_rows


def test_strip_rows_by_hand():
    # 100 px wide, 20,000 pixels a call: 200 rows, less 2 x 64 of margins, keeps 72 rows a strip
    got = strip_rows(300, 100, 20_000, 64)
    assert got == [(0, 136, 0, 72), (8, 208, 72, 144), (80, 280, 144, 216), (152, 300, 216, 288), (224, 300, 288, 300)]
    assert all((b - a) * 100 <= 20_000 for a, b, _, _ in got)


@pytest.mark.parametrize("h, w, budget", [(301, 57, 57 * 190), (1000, 33, 33 * 300), (7, 5, 1), (130, 4000, 4000 * 150)])
def test_strips_tile_the_frame_on_even_rows(h, w, budget):
    rows = strip_rows(h, w, budget)
    kept = [r for _, _, top, bottom in rows for r in range(top, bottom)]
    assert kept == list(range(h))
    for a, b, top, bottom in rows:
        assert a == max(0, top - STRIP_MARGIN) and b == min(h, bottom + STRIP_MARGIN)
        assert top % 2 == 0 and a % 2 == 0 and (bottom == h or bottom % 2 == 0)
        assert bottom - top >= min(MIN_CORE, h - top)


def _box(color: np.ndarray, depth: np.ndarray, reach: int = 5) -> np.ndarray:
    """A local stand-in network: each pixel the mean of depth and colour over the rows within ``reach``,
    zero outside the frame it is given (as a convolution's padding)."""
    x = depth[:, 0] + color.mean(1)
    p = np.pad(x, ((0, 0), (reach, reach), (0, 0)))
    return np.stack([p[:, r:r + x.shape[1]] for r in range(2 * reach + 1)]).mean(0)[:, None].astype(np.float32)


def test_run_bounded_keeps_a_local_function_and_the_budget():
    rng = np.random.default_rng(0)
    color = rng.random((3, 3, 250, 40), dtype=np.float32)
    depth = rng.random((3, 1, 250, 40), dtype=np.float32)
    calls = []

    def run(c, d):
        calls.append(d.shape)
        return _box(c, d)

    whole = _box(color, depth)
    for budget, expect_calls in [(None, 1), (3 * 250 * 40, 1), (2 * 250 * 40, 2), (250 * 40 - 1, None)]:
        calls.clear()
        got = run_bounded(run, color, depth, budget)
        np.testing.assert_array_equal(got, whole)
        if expect_calls:
            assert len(calls) == expect_calls
        else:  # strips: each within the budget, more than one a frame
            assert len(calls) > 3 and all(s[0] == 1 and s[2] * s[3] <= budget for s in calls)
    # a reach beyond the margin shows at the strip boundaries: the margin is what makes it exact
    wide = lambda c, d: _box(c, d, reach=STRIP_MARGIN + 3)  # noqa: E731
    assert not np.array_equal(run_bounded(wide, color, depth, 40 * 200), _box(color, depth, STRIP_MARGIN + 3))


def _rows_read(model: torch.nn.Module, h: int = 400, w: int = 24) -> int:
    """How many rows away from a changed row the model's continuous output moves (its logits for a
    selection head, plus the 7 px of candidates and the edge band's 8 rows it reads around a pixel)."""
    torch.manual_seed(1)
    c, d = torch.rand(1, 3, h, w), torch.rand(1, 1, h, w)
    head = getattr(model, "head", None)
    f = model.select_logits if isinstance(head, SelectionHead) else model
    row = h // 2
    c2, d2 = c.clone(), d.clone()
    c2[..., row, :], d2[..., row, :] = torch.rand(3, w), torch.rand(1, w)
    with torch.no_grad():
        moved = torch.nonzero((f(c2, d2) - f(c, d)).abs().amax(dim=(0, 1, 3)) > 0).flatten()
    reach = int(max(row - moved.min(), moved.max() - row))
    return reach + (head.radius + 1 if isinstance(head, SelectionHead) else 0)


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_reads_fewer_rows_than_the_margin(name):
    shipped = pretrained_path(name).is_file()
    model = create_model(name, pretrained=shipped).eval()
    if not shipped:  # wake the zero-initialised layers of a fresh model, so every path carries
        torch.manual_seed(0)
        for p in model.parameters():
            p.data.add_(torch.randn_like(p) * 0.05)
    assert _rows_read(model) < STRIP_MARGIN


def _frame(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[:h, :w]
    gt = np.where((xx - w / 2) ** 2 + (yy - h / 2) ** 2 < (h / 3) ** 2, 200, 60).astype(np.uint8)
    gt[yy > 0.8 * h] = 120
    rng = np.random.default_rng(3)
    color = np.clip(np.stack([gt, 255 - gt, 90 + gt // 3], -1) + rng.normal(0, 4, (h, w, 3)), 0, 255).astype(np.uint8)
    depth = np.roll(gt, 4, 1)  # edges 4 px off: the model moves pixels along every boundary
    depth[(yy % 37 == 0) & (xx % 11 == 0)] = 0  # and a few holes for the fill
    return color, depth


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_the_enhancer_in_strips_gives_the_whole_frames_output(backend):
    color, depth = _frame(420, 96)
    whole = Enhancer("igde-small", backend=backend, quiet=True, max_pixels=None).enhance(color, depth)
    strips = Enhancer("igde-small", backend=backend, quiet=True, max_pixels=96 * 200)
    calls = []
    run = strips.backend.run
    strips.backend.run = lambda c, d: calls.append(d.shape) or run(c, d)
    got = strips.enhance(color, depth)
    assert len(calls) >= 3 and all(s[2] * s[3] <= 96 * 200 for s in calls)
    assert (whole != depth).sum() > 100  # the frame is one the model changes (edges on every strip)
    np.testing.assert_array_equal(got, whole)


def test_max_pixels_defaults_and_refusals():
    e = Enhancer("igde-small", backend="onnxruntime", quiet=True)
    assert e.max_pixels == CPU_MAX_PIXELS == 1920 * 1088
    assert Enhancer("igde-small", backend="onnxruntime", quiet=True, max_pixels=None).max_pixels is None
    assert Enhancer("igde-small", backend="onnxruntime", quiet=True, max_pixels=np.int64(5000)).max_pixels == 5000
    for bad in (-1, 2.5, True, "1e6"):
        with pytest.raises(EnhancerError, match="max_pixels must be None or an integer >= 0"):
            Enhancer("igde-small", backend="onnxruntime", quiet=True, max_pixels=bad)


def test_a_fixed_size_graph_runs_whole_frames_whatever_the_budget(tmp_path):
    """A graph exported for one frame size cannot take strips: it gets the whole frame (before, a frame
    over the budget was cut into strips the graph refused as 'another size')."""
    from test_backend_choices import _identity

    path = _identity(tmp_path / "fixed.onnx", [1, 3, 200, 24], [1, 1, 200, 24])
    enh = Enhancer(model=str(path), backend="onnxruntime", batch=1, quiet=True, max_pixels=24 * 100)
    assert enh.max_pixels is None
    color, depth = _frame(200, 24)
    np.testing.assert_array_equal(enh.enhance(color, depth), depth)


def test_call_sizes_at_the_budgets_edges():
    """A frame of exactly max_pixels is one call, not strips; a budget of one frame (and a bit) gives one
    frame a call; colour and depth always go in together, frame for frame and row for row; a frame one
    pixel wide keeps the documented strip rows (budget / width - 2 x margin kept rows)."""
    rng = np.random.default_rng(2)
    color = rng.random((3, 3, 150, 10), dtype=np.float32)
    depth = rng.random((3, 1, 150, 10), dtype=np.float32)
    calls = []

    def run(c, d):
        assert c.shape[0] == d.shape[0] and c.shape[2:] == d.shape[2:]
        calls.append(d.shape)
        return _box(c, d)

    for budget, shapes in [(1500, [(1, 1, 150, 10)] * 3), (1501, [(1, 1, 150, 10)] * 3),
                           (2999, [(1, 1, 150, 10)] * 3), (3000, [(2, 1, 150, 10), (1, 1, 150, 10)])]:
        calls.clear()
        np.testing.assert_array_equal(run_bounded(run, color, depth, budget), _box(color, depth))
        assert calls == shapes, budget
    calls.clear()
    np.testing.assert_array_equal(run_bounded(run, color, depth, 1499), _box(color, depth))
    assert len(calls) == 3 * 3 and all(s[0] == 1 for s in calls)  # strips keep 64 + 64 + 22 rows (MIN_CORE)
    assert strip_rows(500, 1, 400) == [(0, 336, 0, 272), (208, 500, 272, 500)]  # 400 - 128 = 272 kept rows


def _rows_reached(model: torch.nn.Module, h: int = 400, w: int = 16) -> int:
    """The rows a model reads on either side of a pixel, by structure: one row of NaN in colour and
    depth spreads through every layer that reads it (0 x NaN is NaN, so a weight's value cannot hide
    a path, as it can with a small change), and the NaN rows of the continuous output (a selection
    head's scores, plus its candidates and edge band) are the reach."""
    c, d = torch.full((1, 3, h, w), 0.5), torch.full((1, 1, h, w), 0.5)
    row = h // 2
    c[..., row, :] = d[..., row, :] = float("nan")
    head = getattr(model, "head", None)
    f = model.select_logits if isinstance(head, SelectionHead) else model
    with torch.no_grad():
        hit = torch.nonzero(f(c, d).isnan().any(dim=3).any(dim=1)[0]).flatten()
    reach = int(max(row - hit.min(), hit.max() - row))
    return reach + (head.radius + 1 if isinstance(head, SelectionHead) else 0)


# Deeper models of one's own, one per architecture: each reads further than the default margin
DEEP = {
    "igde": dict(arch="igde-tiny", layers=4, refine_blocks=4, extractor_blocks=2, head="select", radius=9,
                 candidates="star", attend=2, scale=2),
    "decnn": dict(arch="decnn-tiny", depth=70),
    "drecnn": dict(arch="drecnn-tiny", branch_sets=30, fusion_sets=40),
    "dencbpn": dict(arch="dencbpn-tiny", stages=5, den_depth=6),
    "rdn": dict(arch="rdn-depth-tiny", layers=6, refine_blocks=10),
}


def _woken(name: str, **overrides) -> torch.nn.Module:
    model = create_model(name, **overrides).eval()
    torch.manual_seed(0)
    for p in model.parameters():  # the zero-initialised layers carry too
        p.data.add_(torch.randn_like(p) * 0.05)
    return model


@pytest.mark.parametrize("name", list_models())
def test_rows_read_is_what_each_registered_model_reads(name):
    """strips.rows_read, from the config alone, against the rows a model's output is found to read:
    never fewer (strips would cut what it reads), and the same but for DEN + CBPN's strided
    projections (a bound, up to 2 rows over)."""
    import dataclasses

    from igde_stream.strips import rows_read

    model = create_model(name).eval()
    bound, reached = rows_read(dataclasses.asdict(model.config)), _rows_reached(model)
    assert reached <= bound <= reached + (2 if name.startswith("dencbpn") else 0), (reached, bound)


@pytest.mark.parametrize("kind", list(DEEP))
def test_rows_read_is_what_deeper_models_of_ones_own_read(kind):
    import dataclasses

    from igde_stream.strips import STRIP_MARGIN as M, margin_for, rows_read

    over = dict(DEEP[kind])
    model = create_model(over.pop("arch"), **over).eval()
    cfg = dataclasses.asdict(model.config)
    reached = _rows_reached(model, h=700)
    assert M < reached <= rows_read(cfg) <= reached + (2 if kind == "dencbpn" else 0), (reached, rows_read(cfg))
    assert margin_for(cfg) > rows_read(cfg) and margin_for(cfg) % 2 == 0


def test_margin_for_without_a_bound_is_the_default():
    from igde_stream.strips import margin_for, rows_read

    assert margin_for({}) == STRIP_MARGIN and rows_read({"unknown": 1}) is None
    cfg = {"g0": 8, "g": 8, "layers": 2, "extractor_blocks": 1, "refine_blocks": 1, "head": "residual"}
    assert rows_read(cfg) == (3 + 2) + 1 + (3 + 2)  # two RDNs of one block of 2 layers, the 3x3 fusion
    assert rows_read({**cfg, "global_context": 8}) is None  # a frame-wide mean: no row bound
    sel = {**cfg, "head": "select", "radius": 7, "attend": 2, "scale": 2}
    assert rows_read(sel) == 2 * 11 + 1 + 1 + 7 + 7 + 1  # half resolution, full conv, keys, candidates, band
    assert rows_read({**sel, "passes": 3}) == 3 * rows_read(sel)  # each pass reads the last one's output
    assert margin_for({"depth": 62, "width": 4}) == STRIP_MARGIN  # reads 63 rows: the default covers it
    assert margin_for({"depth": 63, "width": 4}) == 66  # reads 64: 64 rows of context would miss none,
    # but the margin is kept strictly past the reach, as the registered models' is


def test_the_enhancer_overlaps_a_deeper_models_strips_as_far_as_it_reads(tmp_path):
    """A DE-CNN of 70 layers made to move the depth 71 rows down (each 3 x 3 conv passes its channel on
    from the row above): with 64-row overlaps the top of each strip read the padding where the
    depth 71 rows up should be; the Enhancer now overlaps them by 72 rows and gives the whole frame's
    output, which is the depth moved down by 71 rows."""
    from igde_stream import strips as strips_mod
    from igde_stream.models import save_checkpoint

    model = create_model("decnn-tiny", depth=70, residual=False).eval()
    with torch.no_grad():
        for conv in [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]:
            conv.weight.zero_()
            conv.bias.zero_()
            conv.weight[0, 3 if conv.in_channels == 4 else 0, 0, 1] = 1.0  # channel 0 <- depth / channel 0, a row up
    save_checkpoint(tmp_path / "deep.pt", model)
    color, depth = _frame(460, 32)
    whole = Enhancer(str(tmp_path / "deep.pt"), backend="torch", quiet=True, max_pixels=None).enhance(color, depth)
    np.testing.assert_array_equal(whole[71:], depth[:-71])  # what the model does, by hand
    cut = Enhancer(str(tmp_path / "deep.pt"), backend="torch", quiet=True, max_pixels=32 * 240)
    assert cut.strip_margin == 72
    np.testing.assert_array_equal(cut.enhance(color, depth), whole)
    cut.strip_margin = strips_mod.STRIP_MARGIN  # as before: the seams show
    assert not np.array_equal(cut.enhance(color, depth), whole)
