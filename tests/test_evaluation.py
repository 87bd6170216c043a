import json
import math

import numpy as np
import pytest

from igde_stream.data import SceneConfig, make_sequence
from igde_stream.evaluation import (
    evaluate_methods, guided_filter_method, icl_nuim_sequence, identity_method, markdown_table,
    model_method, score_frames, summarize, write_report,
)
from igde_stream.models import create_model

KEYS = {"method", "dataset", "frames", "psnr", "psnr_min", "psnr_median", "psnr_max", "psnr_t",
        "psnr_f", "ssim", "rmse", "temporal", "ms_per_frame"}


@pytest.fixture(scope="module")
def seqs():
    cfg = SceneConfig(width=64, height=48, frames=3, textures="procedural")
    return [make_sequence(s, cfg) for s in (2_000_000, 2_000_001)]


def test_rows_have_all_metrics(seqs, tmp_path):
    methods = {"input": identity_method, "guided": guided_filter_method(),
               "tiny": model_method(create_model("igde-tiny").eval())}
    rows = evaluate_methods(methods, seqs, dataset="toy", batch=2)
    assert [r["method"] for r in rows] == ["input", "guided", "tiny"]
    for r in rows:
        assert set(r) == KEYS and r["frames"] == 6
        for k in ("psnr", "psnr_f", "ssim", "rmse", "temporal"):
            assert math.isfinite(r[k]), (r["method"], k)
    inp = rows[0]
    assert inp["psnr_t"] == math.inf and inp["temporal"] >= 0  # the input is right where it is right
    paths = write_report(tmp_path, rows, {"note": "toy"})
    data = json.loads(paths["json"].read_text())
    assert data["rows"][0]["psnr_t"] == "inf"
    assert "| toy | input |" in markdown_table(rows)


def test_psnr_is_averaged_over_mse():
    gt = [np.full((8, 8), 100, np.uint8), np.full((8, 8), 100, np.uint8)]
    inp = [g.copy() for g in gt]
    inp[0][0, 0] = 0
    pred = [gt[0].copy(), gt[1] + 10]
    s = summarize([score_frames(pred, gt, inp, 255.0)])
    assert s["psnr_max"] == math.inf and s["psnr_min"] == pytest.approx(10 * math.log10(255**2 / 100))
    assert s["psnr"] == pytest.approx(10 * math.log10(255**2 / 50))


def test_method_output_checked(seqs):
    with pytest.raises(ValueError, match="returned"):
        evaluate_methods({"bad": lambda c, d: d[:, :-1]}, seqs)


def test_icl_missing_folder_is_none(tmp_path):
    assert icl_nuim_sequence(tmp_path / "nope") is None


def test_onnxruntime_method_matches_torch_method(seqs, tiny):
    model, ckpt, _ = tiny
    color, depth = seqs[0].color, seqs[0].depth
    ref = model_method(model)(color, depth)
    out = model_method(ckpt, backend="onnxruntime", threads=1)(color, depth)
    assert out.shape == depth.shape and out.dtype == depth.dtype
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1  # rounding of a <= 1e-4 difference


def test_onnxruntime_method_of_a_zero_holes_model_matches_torch_at_the_holes(monkeypatch):
    # igde-small reads depth 0 as a hole, so an Enhancer of its own accord fills holes on top of the model
    # (igde_stream.hole_fill); the method scores that pipeline on either backend. The shipped .onnx is
    # the shipped .pt exported (exporting it here takes seconds)
    import igde_stream.export
    from igde_stream.models import WEIGHTS_DIR

    monkeypatch.setattr(igde_stream.export, "export_onnx", lambda model, path: WEIGHTS_DIR / "igde-small.onnx")
    rng = np.random.default_rng(0)
    left = np.arange(48)[None, None] < 24
    color = np.where(left[..., None], [200, 60, 40], [30, 90, 210]) + rng.integers(-12, 13, (1, 40, 48, 3))
    color = np.clip(color, 0, 255).astype(np.uint8)
    depth = (np.where(left, 180, 60) + rng.integers(0, 6, (1, 40, 48))).astype(np.uint8)
    depth[rng.random(depth.shape) < 0.15] = 0
    depth[:, 10:30, 20:28] = 0
    ref = model_method("igde-small")(color, depth)
    out = model_method("igde-small", backend="onnxruntime", threads=1)(color, depth)
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1
    from igde_stream.enhancer import Enhancer
    from igde_stream.hole_fill import fill_holes

    bare = Enhancer("igde-small", backend="onnxruntime", quiet=True, hole_fill=False).enhance(color, depth)
    assert np.abs(ref[0].astype(int) - fill_holes(color[0], depth[0], bare[0]).astype(int)).max() <= 1
    assert (ref[0][depth[0] == 0] != bare[0][depth[0] == 0]).any()


def test_model_method_rejects_unknown_backend_and_gpu_onnxruntime(tiny):
    with pytest.raises(ValueError, match="backend must be"):
        model_method(tiny[0], backend="tensorrt")
    with pytest.raises(ValueError, match="runs on the cpu"):
        model_method(tiny[0], device="cuda", backend="onnxruntime")


def test_icl_nuim_conversion_worked_out_by_hand(tmp_path):
    import cv2

    from igde_stream.data import DegradeConfig
    from igde_stream.evaluation import icl_nuim_sequence

    (tmp_path / "depth").mkdir()
    (tmp_path / "color").mkdir()
    # value / 5000 = metres: 0.6 m (the near plane) -> 255, 5 m (far) -> 0, 1 m -> 255 (1 - 0.2) /
    # (1/0.6 - 0.2) = 139.09 -> 139, 2 m -> 255 (0.5 - 0.2) / 1.4667 = 52.16 -> 52, beyond 5 m -> 0
    z = np.array([[3000, 25000, 5000, 10000, 40000, 3000]], np.uint16).repeat(4, 0)
    cv2.imwrite(str(tmp_path / "depth" / "0.png"), z)
    cv2.imwrite(str(tmp_path / "color" / "0.png"), np.zeros((4, 6, 3), np.uint8))
    seq = icl_nuim_sequence(tmp_path, DegradeConfig(p_degrade=0.0))
    np.testing.assert_array_equal(seq.gt[0, 0], [255, 0, 139, 52, 0, 255])
    np.testing.assert_array_equal(seq.depth, seq.gt)  # no degradation asked for


def test_icl_nuim_scale_keeps_measured_depths_and_averages_colour(tmp_path):
    """scale 0.5: depth is every second sample (nearest: only measured values), colour the mean of
    each 2x2 block, worked out with NumPy; the ICL label follows the frame size."""
    import cv2

    from igde_stream.data import DegradeConfig

    (tmp_path / "depth").mkdir()
    (tmp_path / "color").mkdir()
    rng = np.random.default_rng(3)
    z = rng.integers(3000, 25000, (6, 8)).astype(np.uint16)
    rgb = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "depth" / "0.png"), z)
    cv2.imwrite(str(tmp_path / "color" / "0.png"), rgb[..., ::-1])
    full = icl_nuim_sequence(tmp_path, DegradeConfig(p_degrade=0.0))
    half = icl_nuim_sequence(tmp_path, DegradeConfig(p_degrade=0.0), scale=0.5)
    assert half.gt.shape == (1, 3, 4) and half.params["scale"] == 0.5
    np.testing.assert_array_equal(half.gt[0], full.gt[0, ::2, ::2])
    blocks = rgb.reshape(3, 2, 4, 2, 3).astype(float).mean(axis=(1, 3))
    assert np.abs(half.color[0].astype(float) - blocks).max() <= 0.5 + 1e-9
    with pytest.raises(ValueError, match="scale"):
        icl_nuim_sequence(tmp_path, scale=1.5)
    from igde_stream.evaluation import standard_evaluation

    rows, meta = standard_evaluation([], sequences=1, frames=1, size=(64, 48), icl=tmp_path, guided=False,
                                     progress=False, icl_scale=0.5)
    assert [r["dataset"] for r in rows][-1] == "ICL-NUIM clean (4x3)" and meta["icl_nuim"]["scale"] == 0.5
