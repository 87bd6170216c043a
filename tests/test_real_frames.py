"""Real test frames with a measured, partly unknown ground truth (``igde_stream.real_frames``) and the
masked scoring they need: occlusion filling worked out by hand, the 8-bit conversion, the Middlebury
Motorcycle scene that scikit-image ships, and metrics that ignore the unknown pixels (checked
against scikit-image on the measured pixels alone)."""

import importlib.util
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from igde_stream import metrics as M
from igde_stream.data import DegradeConfig
from igde_stream.data.error_types import error_type_config
from igde_stream.evaluation import evaluate_methods, identity_method, score_frames
from igde_stream.real_frames import (
    disparity_file_sequence, fill_occlusions, middlebury_sequence, stereo_sequence,
)

INF = np.inf


def test_fill_occlusions_by_hand():
    d = np.array([[5, INF, INF, 9, INF],
                  [INF, 3, INF, 7, 7],
                  [10, INF, INF, 4, 4],
                  [INF, INF, 6, INF, INF]])
    want = np.array([[5, 5, 5, 9, 9],      # between 5 and 9: the smaller (farther); after 9: 9
                     [3, 3, 3, 7, 7],      # before the first known value: that value
                     [10, 4, 4, 4, 4],     # between 10 and 4: 4, whichever side it is on
                     [6, 6, 6, 6, 6]])
    assert np.array_equal(fill_occlusions(d), want)
    assert np.array_equal(fill_occlusions(want.astype(float)), want)  # nothing unknown: unchanged
    with pytest.raises(ValueError, match="no finite"):
        fill_occlusions(np.array([[1.0, 2.0], [INF, np.nan]]))


def _pair():
    """A 40 x 60 disparity: background 20 with a box of 50 (unknown band left of the box, as an
    occlusion is), max 60 in one corner pixel; a colour image with the box in another colour."""
    d = np.full((40, 60), 20.0)
    d[10:30, 30:50] = 50.0
    d[10:30, 26:30] = 0.0  # unknown (0 in a disparity PNG)
    d[0, 0] = 60.0
    color = np.zeros((40, 60, 3), np.uint8)
    color[..., 0] = 40
    color[10:30, 30:50] = (200, 180, 20)
    return color, d


def test_stereo_sequence_converts_fills_and_marks_the_measured_pixels():
    color, d = _pair()
    seq = stereo_sequence(color, d, "box", DegradeConfig(p_degrade=0.0), frames=2)
    assert seq.gt.shape == seq.depth.shape == seq.valid.shape == (2, 40, 60) and seq.gt.dtype == np.uint8
    assert not seq.consecutive and seq.peak == 255.0
    known = d > 0
    assert np.array_equal(seq.valid[0], known) and np.array_equal(seq.valid[1], known)
    # 8-bit: round(255 d / 60) on the measured pixels (60 -> 255, 50 -> 212.5 -> 212 (round half to
    # even), 20 -> 85); the unknown band takes the background's 85, not the box's 212
    g = seq.gt[0]
    assert g[0, 0] == 255 and g[15, 35] == 212 and g[35, 5] == 85
    assert np.all(g[10:30, 26:30] == 85)
    assert np.array_equal(seq.depth, seq.gt)  # no degradation drawn
    assert seq.params["unknown_share"] == pytest.approx(80 / 2400)


def test_stereo_sequence_draws_each_frame_and_shrinks():
    color, d = _pair()
    seq = stereo_sequence(color, d, "box", error_type_config("paper"), frames=3, seed=1)
    assert not np.array_equal(seq.depth[0], seq.depth[1])  # independent draws
    assert (seq.depth != seq.gt).any()
    half = stereo_sequence(color, d, "box", DegradeConfig(p_degrade=0.0), frames=1, scale=0.5)
    assert half.gt.shape == (1, 20, 30) and half.valid.shape == (1, 20, 30)
    assert set(np.unique(half.gt[0])) <= set(np.unique(stereo_sequence(color, d, "box", DegradeConfig(p_degrade=0.0), frames=1).gt))
    with pytest.raises(ValueError, match="differ in size"):
        stereo_sequence(color[:, :50], d, "box")
    with pytest.raises(ValueError, match="no known pixel"):
        stereo_sequence(color, np.zeros_like(d), "box")


def test_disparity_file_sequence_reads_16_bit_pngs(tmp_path):
    color, d = _pair()
    cv2.imwrite(str(tmp_path / "view1.png"), cv2.cvtColor(color, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(tmp_path / "disp1.png"), (d * 256).astype(np.uint16))  # 16 bit, another scale
    seq = disparity_file_sequence(tmp_path / "view1.png", tmp_path / "disp1.png", DegradeConfig(p_degrade=0.0),
                                  frames=1)
    ref = stereo_sequence(color, d, "x", DegradeConfig(p_degrade=0.0), frames=1)
    assert np.array_equal(seq.gt, ref.gt) and np.array_equal(seq.valid, ref.valid)
    assert np.array_equal(seq.color, ref.color)
    assert seq.name == f"{tmp_path.name}/view1"
    cv2.imwrite(str(tmp_path / "rgb.png"), cv2.cvtColor(color, cv2.COLOR_RGB2BGR))
    with pytest.raises(ValueError, match="one channel"):
        disparity_file_sequence(tmp_path / "view1.png", tmp_path / "rgb.png")


def test_masked_scores_agree_with_scikit_image_on_the_measured_pixels():
    rng = np.random.default_rng(3)
    gt = rng.integers(0, 256, (48, 64)).astype(np.uint8)
    gt = cv2.GaussianBlur(gt, (5, 5), 0)
    pred = np.clip(gt + rng.normal(0, 6, gt.shape), 0, 255).astype(np.uint8)
    inp = gt.copy()
    inp[:, 20:24] = 0
    valid = np.ones(gt.shape, bool)
    valid[12:36, 30:50] = False
    bad = pred.copy()
    bad[~valid] = 255 - gt[~valid]  # whatever happens on unknown pixels must not count
    s = score_frames([bad], [gt], [inp], valid=[valid])
    ref = peak_signal_noise_ratio(gt[valid], pred[valid], data_range=255)
    assert M.psnr_from_mse(s["mse"][0]) == pytest.approx(ref, abs=1e-9)
    assert s["rmse"][0] == pytest.approx(math.sqrt(np.mean((pred[valid].astype(float) - gt[valid]) ** 2)))
    err = inp != gt
    assert s["mse_f"][0] == pytest.approx(np.mean((pred[err & valid].astype(float) - gt[err & valid]) ** 2))
    assert s["mse_t"][0] == pytest.approx(np.mean((pred[~err & valid].astype(float) - gt[~err & valid]) ** 2))
    # SSIM: the mean of scikit-image's SSIM map over the measured pixels (5-px border left out);
    # the map at a pixel reads its 11 x 11 window, so the comparison uses the unchanged pred
    _, smap = structural_similarity(gt, pred, data_range=255, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, full=True)
    keep = valid.copy()
    keep[:5], keep[-5:], keep[:, :5], keep[:, -5:] = False, False, False, False
    assert M.ssim(pred, gt, 255.0, valid) == pytest.approx(smap[keep].mean(), abs=1e-3)
    assert M.ssim(pred, gt, 255.0, valid) != pytest.approx(M.ssim(pred, gt, 255.0), abs=1e-6)
    assert math.isnan(M.ssim(pred, gt, 255.0, np.zeros(gt.shape, bool)))
    # without a mask: every pixel, as before
    full = score_frames([bad], [gt], [inp])
    assert M.psnr_from_mse(full["mse"][0]) == pytest.approx(peak_signal_noise_ratio(gt, bad, data_range=255))


def test_evaluate_methods_scores_only_the_measured_pixels():
    color, d = _pair()
    seq = stereo_sequence(color, d, "box", error_type_config("paper"), frames=2, seed=2)

    def wreck_unknown(c, dep):  # perfect on measured pixels, 0 on the unknown band
        out = seq.gt[: len(dep)].copy()
        out[:, 10:30, 26:30] = 0
        return out

    rows = evaluate_methods({"in": identity_method, "x": wreck_unknown}, [seq])
    assert rows[1]["psnr"] == math.inf and rows[1]["rmse"] == 0.0
    err = (seq.depth != seq.gt) & seq.valid
    mse = np.mean((seq.depth[seq.valid].astype(float) - seq.gt[seq.valid]) ** 2)
    assert err.any() and rows[0]["psnr"] == pytest.approx(M.psnr_from_mse(mse), abs=1e-9)


def test_middlebury_motorcycle_from_scikit_image():
    from skimage import data as skd

    seq = middlebury_sequence(error_type_config("paper"), frames=2)
    assert seq is not None and seq.gt.shape == (2, 500, 741) and seq.color.shape == (2, 500, 741, 3)
    _, _, disp = skd.stereo_motorcycle()
    known = np.isfinite(disp)
    assert np.array_equal(seq.valid[0], known) and 0.05 < 1 - known.mean() < 0.1
    dk = disp[known].astype(np.float64)
    want = np.rint(255 * dk / dk.max())
    assert np.array_equal(seq.gt[0][known], want.astype(np.uint8))
    assert seq.gt.min() > 0  # no 0: it would read as a hole
    assert (seq.depth != seq.gt).mean() > 0.02


def test_evaluate_tool_refuses_a_bad_real_scene(tmp_path, capsys):
    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("evaluate_tool", root / "tools" / "evaluate.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    (tmp_path / "junk.png").write_bytes(b"not an image")
    for argv, msg in ([["--real-scene", str(tmp_path / "nope.png"), str(tmp_path / "junk.png")], "not a file"],
                      [["--real-scene", str(tmp_path / "junk.png"), str(tmp_path / "junk.png")], "cannot read"],
                      [["--real-scale", "0"], "--real-scale"]):
        with pytest.raises(SystemExit) as e:
            tool.main(argv)
        err = capsys.readouterr().err
        assert e.value.code == 2 and msg in err and len(err.strip().splitlines()[-1]) < 200
    assert not (root / "runs" / "eval" / "eval.part").exists()


def test_real_data_only_evaluation_scores_views_on_measured_pixels(tmp_path):
    """``standard_evaluation(sequences=0)`` (``tools/evaluate.py --sequences 0``) gives the real pairs'
    rows alone, and their view rows count only view pixels that show measured ground truth."""
    from igde_stream.evaluation import standard_evaluation

    color, d = _pair()
    cv2.imwrite(str(tmp_path / "view1.png"), cv2.cvtColor(color, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(tmp_path / "disp1.png"), d.astype(np.uint8))
    rows, meta = standard_evaluation([], sequences=0, frames=1, icl=None, guided=False, progress=False, views=2,
                                     view_stride=1, real_scenes=[(str(tmp_path / "view1.png"),
                                                                  str(tmp_path / "disp1.png"))])
    assert [r["dataset"] for r in rows] == [f"{tmp_path.name}/view1 (60x40)"] and "test_split" in meta
    (view,) = meta["view_quality"]["rows"]
    assert view["measured_only"] is True and view["frames"] == 4  # a real pair: 4 draws of its errors


def test_evaluation_with_nothing_to_score_is_an_error():
    from igde_stream.evaluation import standard_evaluation

    with pytest.raises(ValueError, match="nothing to evaluate: .*ICL-NUIM not asked for"):
        standard_evaluation([], sequences=0, frames=1, icl=None, guided=False, progress=False)


def test_tune_gate_real_frames_pools_that_many_draws_of_the_errors(tmp_path, capsys):
    """``tools/tune_gate.py --real-frames N``: the real pair's row pools N draws of its errors (the
    Degrader seeds 5 .. 5 + N - 1, the first ones as before); its input PSNR is checked against the
    PSNR of the mean MSE over N one-draw sequences, computed here frame by frame."""
    import json

    import torch

    from igde_stream.models import create_model, save_checkpoint

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("tune_gate_tool", root / "tools" / "tune_gate.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    color, d = _pair()
    cv2.imwrite(str(tmp_path / "view1.png"), cv2.cvtColor(color, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(tmp_path / "disp1.png"), d.astype(np.uint8))
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "m.pt", create_model("igde-tiny", head="select"))
    pair = [str(tmp_path / "view1.png"), str(tmp_path / "disp1.png")]
    base = ["--model", str(tmp_path / "m.pt"), "--scenes", "1", "--sizes", "48x32", "--errors", "paper",
            "--thresholds", "0.5", "--band-steps", "0", "--real-scene", *pair, "--real-scale", "1", "--threads", "1"]
    inputs = {}
    for n in (2, 5):
        assert tool.main(base + ["--real-frames", str(n), "--out", str(tmp_path / f"r{n}.json")]) == 0
        (row,) = [r for r in json.loads((tmp_path / f"r{n}.json").read_text())["rows"] if r["kind"] == "real"]
        inputs[n] = row["input"]
        want = []
        for k in range(n):  # draw k alone: a one-frame sequence with seed 5 + k
            one = disparity_file_sequence(*pair, error_type_config("paper"), seed=5 + k, frames=1, scale=1.0)
            want.append(M.mse(one.depth[0], one.gt[0], one.valid[0]))
        assert row["input"] == pytest.approx(10 * math.log10(255 ** 2 / np.mean(want)), abs=1e-9)
    assert inputs[2] != inputs[5]
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        tool.main(base + ["--real-frames", "0"])
    assert e.value.code == 2 and "--real-frames" in capsys.readouterr().err


def test_fill_occlusions_reads_the_last_column():
    d = np.array([[8, INF, INF, INF, 2],
                  [INF, INF, INF, INF, 9],
                  [1, INF, INF, INF, INF]])
    want = np.array([[8, 2, 2, 2, 2],      # the known value on the right is the last column's
                     [9, 9, 9, 9, 9],
                     [1, 1, 1, 1, 1]])
    assert np.array_equal(fill_occlusions(d), want)


def test_stereo_sequence_records_its_size_and_default_draws():
    """params["size"] is [W, H] of what is scored; the default seed is 5 and frame k is the draw of
    seed 5 + k (the published rows depend on these draws)."""
    from igde_stream.data import Degrader

    color, d = _pair()
    cfg = error_type_config("paper")
    seq = stereo_sequence(color, d, "box", cfg, frames=2)
    assert seq.params["size"] == [60, 40] and seq.params["seed"] == 5
    for k in range(2):
        np.testing.assert_array_equal(seq.depth[k], Degrader(cfg, 5 + k, seq.gt[0].shape).apply(seq.gt[0], 0)[0])
    assert stereo_sequence(color, d, "box", frames=1, scale=0.5).params["size"] == [30, 20]


def test_icl_nuim_default_draws_are_seed_5(tmp_path):
    from igde_stream.data import Degrader
    from igde_stream.evaluation import icl_nuim_sequence

    (tmp_path / "depth").mkdir()
    (tmp_path / "color").mkdir()
    z = np.full((24, 32), 20000, np.uint16)
    z[6:18, 10:22] = 5000  # a near box at 1 m in a wall at 4 m
    for t in range(2):
        cv2.imwrite(str(tmp_path / "depth" / f"{t}.png"), z)
        cv2.imwrite(str(tmp_path / "color" / f"{t}.png"), np.zeros((24, 32, 3), np.uint8))
    cfg = error_type_config("paper")
    seq = icl_nuim_sequence(tmp_path, cfg)
    assert seq.params["seed"] == 5
    for t in range(2):
        np.testing.assert_array_equal(seq.depth[t], Degrader(cfg, 5, seq.gt[t].shape).apply(seq.gt[t], t)[0])
    assert (seq.depth != seq.gt).any()


def test_real_scene_problem_passes_a_good_pair_and_names_a_bad_one(tmp_path):
    from igde_stream.real_frames import real_scene_problem

    color, d = _pair()
    cv2.imwrite(str(tmp_path / "view1.png"), cv2.cvtColor(color, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(tmp_path / "disp1.png"), d.astype(np.uint8))
    cv2.imwrite(str(tmp_path / "small.png"), d[:, :50].astype(np.uint8))
    assert real_scene_problem(tmp_path / "view1.png", tmp_path / "disp1.png") is None
    assert real_scene_problem(tmp_path / "view1.png", tmp_path / "disp1.png", scale=0.5) is None
    assert real_scene_problem(tmp_path / "view1.png", tmp_path / "nope.png") == f"{tmp_path / 'nope.png'} is not a file"
    assert "differ in size" in real_scene_problem(tmp_path / "view1.png", tmp_path / "small.png")


def test_default_icl_folder_is_the_workplace_copy_beside_the_checkout():
    from igde_stream.real_frames import DEFAULT_ICL

    assert DEFAULT_ICL == Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "icl_nuim_clean5"


def test_a_scale_that_rounds_a_side_to_nothing_keeps_one_pixel(tmp_path):
    from igde_stream.evaluation import icl_nuim_sequence

    color, d = _pair()
    tiny = stereo_sequence(color[:4, :6], d[:4, :6], "corner", DegradeConfig(p_degrade=0.0), frames=1, scale=0.1)
    assert tiny.gt.shape == (1, 1, 1) and tiny.params["size"] == [1, 1]
    (tmp_path / "depth").mkdir()
    (tmp_path / "color").mkdir()
    cv2.imwrite(str(tmp_path / "depth" / "0.png"), np.full((4, 6), 5000, np.uint16))
    cv2.imwrite(str(tmp_path / "color" / "0.png"), np.zeros((4, 6, 3), np.uint8))
    assert icl_nuim_sequence(tmp_path, DegradeConfig(p_degrade=0.0), scale=0.1).gt.shape == (1, 1, 1)


def test_middlebury_default_is_four_draws(monkeypatch):
    import igde_stream.real_frames as rf

    monkeypatch.setattr(rf, "stereo_sequence", lambda *args, **kwargs: args)
    args = rf.middlebury_sequence()
    assert args is not None and args[2:] == ("middlebury_motorcycle", DegradeConfig(), 5, 4)
