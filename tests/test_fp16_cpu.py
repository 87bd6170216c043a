"""``tools/fp16_cpu.py``: the FP16 accuracy estimate without a GPU really runs the network in float16,
keeps a selection head's output among the input values, and scores it as the GPU check does."""

from __future__ import annotations

import importlib.util
import json
import pathlib

import numpy as np
import torch

from igde_stream.bench.infer import to_inputs
from igde_stream.models import create_model, save_checkpoint

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("fp16_cpu", ROOT / "tools" / "fp16_cpu.py")
fp16_cpu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fp16_cpu)


def _frames(n: int = 2, h: int = 24, w: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    color = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    depth = np.where(np.arange(w)[None, None, :] < w // 2, 200, 40).astype(np.uint8).repeat(h, 1).repeat(n, 0)
    return color, depth


def test_a_residual_network_in_float16_differs_from_float32_by_half_precision():
    """The cast is real: a random residual network's output moves by float16's rounding (not 0, and
    well under a level of 8-bit depth), and it equals the same network run by hand in float16."""
    torch.manual_seed(0)
    model = create_model("igde-tiny").eval()
    color, depth = _frames()
    out16 = fp16_cpu.half_outputs(model, color, depth, sparse=False)
    c, d = (torch.from_numpy(x) for x in to_inputs(color, depth))
    with torch.inference_mode():
        ref32 = model(c, d).numpy()
        by_hand = create_model("igde-tiny")
        by_hand.load_state_dict(model.state_dict())
        ref16 = by_hand.eval().half()(c.half(), d.half()).float().numpy()
    diff = np.abs(out16 - ref32).max()
    assert 1e-5 < diff < 0.5 / 255
    np.testing.assert_array_equal(out16, ref16)


def test_the_shipped_head_in_float16_returns_input_values_and_the_report_scores_it(tmp_path):
    """igde-small's float16 output holds only input values; the JSON row's PSNR is the mean squared
    error written out here over the float32 reference, and the model's weights hash is named."""
    color, depth = _frames(2, 40, 48)
    out = tmp_path / "r"
    assert fp16_cpu.main(["--model", "igde-small", "--frames", "2", "--size", "48x40", "--out", str(out)]) == 0
    rep = json.loads((out / "gpu_checks.json").read_text())
    (row,) = rep["psnr"]
    assert row["model"] == "igde-small" and row["frames"] == 2 and row["size"] == "48x40"
    assert any("igde-small: weights " in n for n in rep["meta"]["notes"])
    # the same frames, both precisions, scored by hand
    from igde_stream.bench.gpu import test_frames
    from igde_stream.backends.torch_backend import TorchBackend

    color, depth, _ = test_frames(2, 40, 48)
    ref = TorchBackend(model="igde-small", device="cpu", precision="fp32").run(*to_inputs(color, depth))
    half = fp16_cpu.half_outputs(create_model("igde-small", pretrained=True), color, depth, sparse=True)
    for i in range(2):
        assert np.isin(np.rint(half[i] * 255), depth[i]).all()
        mse = float(np.mean((half[i].astype(np.float64) - ref[i]) ** 2))
        expect = float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)
        assert row["per_frame_db"][i] == expect or abs(row["per_frame_db"][i] - expect) < 1e-6


def test_a_checkpoint_path_is_read(tmp_path):
    torch.manual_seed(1)
    path = tmp_path / "m.pt"
    save_checkpoint(path, create_model("igde-tiny").eval())
    out = tmp_path / "r"
    assert fp16_cpu.main(["--model", str(path), "--frames", "1", "--size", "32x24", "--out", str(out)]) == 0
    (row,) = json.loads((out / "gpu_checks.json").read_text())["psnr"]
    assert row["model"] == str(path) and 40 < row["min_db"] < 200
