"""The evaluation's numbers at their edges, each against a figure made another way: SSIM at the
default 8-bit peak against scikit-image, the frame pairs of the temporal measure, the time per frame
from a clock that counts, the methods' peak scaling with a model whose output is known, the filter
rows as the filters themselves, and the defaults that make the published test split and its meta."""

import math
import types

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from igde_stream import evaluation as E
from igde_stream.data import SceneConfig, make_sequence, split_seeds
from igde_stream.filters import FILTERS, guided


@pytest.fixture(scope="module")
def seqs():
    cfg = SceneConfig(width=64, height=48, frames=3, textures="procedural")
    return [make_sequence(s, cfg) for s in (2_000_000, 2_000_001)]


def test_score_frames_defaults_to_the_8_bit_peak_and_counts_pairs():
    rng = np.random.default_rng(5)
    gt = [rng.integers(40, 200, (32, 40)).astype(np.uint8) for _ in range(3)]
    pred = [np.clip(g.astype(int) + rng.integers(-30, 31, g.shape), 0, 255).astype(np.uint8) for g in gt]
    s = E.score_frames(pred, gt, gt)
    for k in range(3):
        ref = structural_similarity(gt[k], pred[k], data_range=255, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False)
        assert s["ssim"][k] == pytest.approx(ref, abs=1e-6) and 0.05 < ref < 0.95
    assert s["pairs"] == 2
    one = E.score_frames(pred[:1], gt[:1], gt[:1])
    assert one["pairs"] == 0 and math.isnan(one["temporal"])
    apart = E.score_frames(pred, gt, gt, consecutive=False)
    assert apart["pairs"] == 0 and math.isnan(apart["temporal"])
    # a one-frame sequence adds nothing to the pooled temporal figure
    pooled = E.summarize([s, one])
    assert pooled["temporal"] == pytest.approx(s["temporal"]) and pooled["frames"] == 4


def test_ms_per_frame_from_a_counting_clock(seqs, monkeypatch):
    """Each perf_counter call reads one second later, so each method call takes 1 s: 2 sequences of
    3 frames in batches of 2 are 4 calls over 6 frames, 1000 x 4 / 6 ms per frame."""
    ticks = iter(range(1000))
    monkeypatch.setattr(E, "time", types.SimpleNamespace(perf_counter=lambda: float(next(ticks))))
    rows = E.evaluate_methods({"a": E.identity_method, "b": E.identity_method}, seqs, batch=2)
    assert [r["ms_per_frame"] for r in rows] == [pytest.approx(4000 / 6)] * 2
    rows = E.evaluate_methods({"a": E.identity_method}, seqs, batch=4)
    assert rows[0]["ms_per_frame"] == pytest.approx(2000 / 6)


def test_evaluate_views_default_stride_is_every_fourth_frame():
    cfg = SceneConfig(width=64, height=48, frames=6, textures="procedural")
    six = [make_sequence(s, cfg) for s in (2_000_000, 2_000_001)]
    rows = E.evaluate_views({"input": E.identity_method}, six, n_views=2)
    assert rows[0]["frames"] == 4  # frames 0 and 4 of each
    assert E.evaluate_views({"input": E.identity_method}, []) == []


@pytest.mark.parametrize("bits", [8, 16])
def test_guided_filter_row_is_the_guided_filter_with_eps_squared(bits):
    cfg = SceneConfig(width=64, height=48, frames=2, textures="procedural")
    seq = make_sequence(2_000_003, cfg, bits=bits)
    out = E.guided_filter_method()(seq.color, seq.depth)
    assert out.dtype == seq.depth.dtype and (out != seq.depth).any()
    for c, d, o in zip(seq.color, seq.depth, out):
        np.testing.assert_array_equal(o, guided(c, d, 8, 0.01))
    other = E.guided_filter_method(4, 0.3)(seq.color, seq.depth)
    np.testing.assert_array_equal(other[1], guided(seq.color[1], seq.depth[1], 4, 0.09))
    assert (other != out).any()


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filter_rows_are_the_filters_frame_by_frame(seqs, name):
    seq = seqs[0]
    out = E.filter_method(name)(seq.color[:2], seq.depth[:2])
    assert out.shape == seq.depth[:2].shape and out.dtype == seq.depth.dtype
    for k in range(2):
        np.testing.assert_array_equal(out[k], FILTERS[name](seq.color[k], seq.depth[k]))


@pytest.mark.parametrize("dtype, peak", [(np.uint8, 255.0), (np.uint16, 65535.0)])
def test_model_method_scales_colour_by_255_and_depth_by_its_dtype_peak(dtype, peak):
    """A model whose output is known: half the red channel plus half the depth, both in [0, 1]."""
    import torch

    class Half(torch.nn.Module):
        def forward(self, color, depth):
            return 0.5 * color[:, :1] + 0.5 * depth

    rng = np.random.default_rng(2)
    color = rng.integers(0, 256, (2, 6, 5, 3)).astype(np.uint8)
    depth = rng.integers(0, int(peak) + 1, (2, 6, 5)).astype(dtype)
    out = E.model_method(Half())(color, depth)
    want = np.rint((0.5 * color[..., 0].astype(np.float64) / 255 + 0.5 * depth / peak) * peak)
    assert out.dtype == dtype
    assert np.abs(out.astype(np.int64) - want.astype(np.int64)).max() <= 1  # float32 against float64


def test_test_split_defaults_are_the_published_ones(monkeypatch):
    """tools/evaluate.py's table: 4 sequences x 12 frames at 960x540 from the test seeds, 8 bit."""
    calls = []
    monkeypatch.setattr(E, "make_sequence", lambda seed, cfg, deg, bits, name: calls.append((seed, cfg, bits, name)))
    E.test_sequences()
    assert [c[0] for c in calls] == split_seeds("test", 4) and [c[3] for c in calls] == [
        f"test-{s}" for s in split_seeds("test", 4)]
    cfg = calls[0][1]
    assert (cfg.width, cfg.height, cfg.frames, calls[0][2]) == (960, 540, 12, 8)
    assert cfg.steep_planes == SceneConfig().steep_planes


def test_standard_evaluation_defaults_and_meta(monkeypatch, tmp_path):
    """The library call's defaults (what tools/evaluate.py documents) and what its meta records;
    the scenes are swapped for two small ones so that it runs in a moment."""
    cfg = SceneConfig(width=64, height=48, frames=4, textures="procedural")
    small = [make_sequence(s, cfg) for s in (2_000_000, 2_000_001)]
    asked, icl_scales = [], []
    monkeypatch.setattr(E, "test_sequences", lambda *a, **k: asked.append((a, k)) or small)
    monkeypatch.setattr(E, "icl_nuim_sequence", lambda folder, dcfg, scale: icl_scales.append(scale))
    rows, meta = E.standard_evaluation([], guided=False, progress=False, views=2)
    assert asked[0][0] == (4, 12, (960, 540))
    assert meta["test_split"]["sequences"] == 4 and meta["test_split"]["frames"] == 12
    assert meta["test_split"]["size"] == [960, 540] and icl_scales == [1.0]
    assert meta["view_quality"]["stride"] == 4 and meta["view_quality"]["rows"][0]["frames"] == 2
    assert meta["errors"] == ["paper"] and "p_degrade" in meta["degradation"]  # one error type: flat
    _, meta2 = E.standard_evaluation([], guided=False, progress=False, errors=("paper", "soft"))
    assert sorted(meta2["degradation"]) == ["paper", "soft"] and "p_degrade" in meta2["degradation"]["soft"]


def test_standard_evaluation_checks_its_view_options_and_records_real_scenes(tmp_path):
    import cv2

    for views, stride in ((-1, 4), (2, 0)):
        with pytest.raises(ValueError, match="views must be >= 0 and view_stride >= 1"):
            E.standard_evaluation([], sequences=0, icl=None, guided=False, progress=False, views=views,
                                  view_stride=stride)
    d = np.full((24, 32), 20, np.uint8)
    d[6:18, 10:22] = 50
    cv2.imwrite(str(tmp_path / "view1.png"), np.zeros((24, 32, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "disp1.png"), d)
    _, meta = E.standard_evaluation([], sequences=0, icl=None, guided=False, progress=False,
                                    real_scenes=[(str(tmp_path / "view1.png"), str(tmp_path / "disp1.png"))])
    (rec,) = meta["real_scenes"].values()
    assert rec["size"] == [32, 24] and rec["seed"] == 5 and "degradation" not in rec  # meta["degradation"] has it


def test_a_frame_with_no_pixel_to_score_is_skipped_by_every_summary_figure():
    """Frame 1's mask is empty (a ground truth with no measured pixel): the summary is frame 0's alone,
    as the module says (frames with an empty pixel set are skipped); before, min / median / max PSNR,
    SSIM and RMSE were NaN while the PSNR skipped it. Expected figures from scikit-image and by hand."""
    from skimage.metrics import peak_signal_noise_ratio

    rng = np.random.default_rng(0)
    gt = rng.integers(0, 250, (2, 32, 32)).astype(np.uint8)
    pred, inp = gt + 5, gt + 3
    valid = [np.ones((32, 32), bool), np.zeros((32, 32), bool)]
    s = E.summarize([E.score_frames(list(pred), list(gt), list(inp), 255, True, valid)])
    want = peak_signal_noise_ratio(gt[0], pred[0], data_range=255)
    assert s["frames"] == 1
    for k in ("psnr", "psnr_min", "psnr_median", "psnr_max"):
        assert s[k] == pytest.approx(want, abs=1e-9), k
    assert s["rmse"] == pytest.approx(5.0) and s["ssim"] == pytest.approx(
        structural_similarity(gt[0], pred[0], data_range=255, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False), abs=1e-6)
