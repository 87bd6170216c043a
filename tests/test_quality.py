"""Quality regression of the shipped igde-small: on a small fixed clip it must keep a stated margin
over the degraded input and over the (tuned) joint bilateral and global-smoother filters, on the
synthetic test split, on one ICL-NUIM frame and on a real photograph with measured disparity
(Middlebury Motorcycle, from scikit-image). ONNX Runtime on the CPU; a few seconds."""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream.data import DegradeConfig, error_type_config
from igde_stream.evaluation import DEFAULT_ICL, icl_nuim_sequence
from igde_stream.evaluation import test_sequences as synthetic_sequences
from igde_stream.filters import global_smoother, joint_bilateral
from igde_stream.models import pretrained_path

pytestmark = pytest.mark.skipif(not pretrained_path("igde-small").with_suffix(".onnx").is_file(),
                                reason="no shipped igde-small.onnx")

# margins in dB, about half of what the shipped model measured here when it was committed, so that
# a broken model or pipeline fails while a retrained one of the same quality passes. Measured
# (480x270 synthetic clip of 2 frames / one ICL-NUIM frame, ONNX Runtime; run 7 with the edge band
# and pick temperature 0.3; with the argmax pick 27.99 / 25.53 / 48.59; run 6 gave 27.80 / 25.39 /
# 48.66, run 5 28.11 / 25.41 / 48.13, run 4 with two passes 27.86 / 25.86 / 48.03):
#   paper: input 21.51, model 27.90, joint bilateral 26.32, global smoother 29.36
#   mix:   input 20.10, model 25.58, joint bilateral 24.32, global smoother 26.01
#   icl:   input 41.92, model 49.35, joint bilateral 46.37, global smoother 38.44
# The joint bilateral re-tuned (d 55 / sigma_color 10 / sigma_space 64, holes left out of its
# windows), against the shipped release: paper model 27.70 / joint bilateral 27.09, mix 25.64 /
# 25.34, icl 48.96 / 44.81; its margins are about half of those.
# On these small synthetic frames (1-6 px errors on a 480x270 grid; colour and depth edges
# pixel-exact, flat surfaces) the global smoother leads the model: its margin is negative there and
# only guards against a larger fall.
MARGINS = {
    "paper": {"input": 3.2, "jbf": 0.3, "fgs": -2.5},
    "mix": {"input": 2.9, "jbf": 0.15, "fgs": -1.0},
    "icl": {"input": 3.0, "jbf": 0.8, "fgs": 4.8},
}
# A real photograph with measured disparity (Middlebury 2014 Motorcycle as scikit-image ships it,
# one frame at 741x500, measured pixels only), run 7 with pick temperature 0.3 (with the argmax
# pick: paper 25.80, mix 23.98):
#   paper: input 23.42, model 27.04, joint bilateral 25.49, global smoother 25.34
#   mix:   input 17.02, model 24.76, joint bilateral 20.20, global smoother 23.27
# (the release and the re-tuned joint bilateral: paper model 27.17 / joint bilateral 24.83, mix 26.00 /
# 24.27: holes left out of its windows lift its mix row)
REAL_MARGINS = {
    "paper": {"input": 1.8, "jbf": 0.75, "fgs": 0.8},
    "mix": {"input": 3.8, "jbf": 0.85, "fgs": 0.7},
}


def _psnr(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> float:
    err = (pred.astype(np.float64) - gt) ** 2
    mse = np.mean(err if valid is None else err[valid])
    return float(10 * np.log10(255.0 ** 2 / mse))


@pytest.fixture(scope="module")
def enhancer():
    from igde_stream.enhancer import Enhancer

    return Enhancer("igde-small", backend="onnxruntime", batch=1, quiet=True, threads=2)


def _scores(enhancer, color, depth, gt, valid=None):
    out = enhancer.enhance(color, depth)
    jbf = np.stack([joint_bilateral(c, d) for c, d in zip(color, depth)])
    fgs = np.stack([global_smoother(c, d) for c, d in zip(color, depth)])
    return {k: _psnr(v, gt, valid) for k, v in {"input": depth, "model": out, "jbf": jbf, "fgs": fgs}.items()}


@pytest.mark.parametrize("errors", ["paper", "mix"])
def test_synthetic_clip_gains_over_input_and_filters(enhancer, errors):
    seq = synthetic_sequences(1, 2, (480, 270), degradation=error_type_config(errors))[0]
    s = _scores(enhancer, seq.color, seq.depth, seq.gt)
    assert s["model"] >= s["input"] + MARGINS[errors]["input"], s
    assert s["model"] >= s["jbf"] + MARGINS[errors]["jbf"], s
    assert s["model"] >= s["fgs"] + MARGINS[errors]["fgs"], s


@pytest.mark.skipif(not DEFAULT_ICL.is_dir(), reason="../shared/data/real/icl_nuim_clean5 not present")
def test_icl_nuim_frame_gains_over_input_and_filters(enhancer):
    seq = icl_nuim_sequence(DEFAULT_ICL, DegradeConfig())
    s = _scores(enhancer, seq.color[:1], seq.depth[:1], seq.gt[:1])
    assert s["model"] >= s["input"] + MARGINS["icl"]["input"], s
    assert s["model"] >= s["jbf"] + MARGINS["icl"]["jbf"], s
    assert s["model"] >= s["fgs"] + MARGINS["icl"]["fgs"], s


@pytest.mark.parametrize("errors", ["paper", "mix"])
def test_real_photograph_gains_over_input_and_filters(enhancer, errors):
    from igde_stream.evaluation import middlebury_sequence

    seq = middlebury_sequence(error_type_config(errors), frames=1)
    if seq is None:
        pytest.skip("scikit-image without its stereo_motorcycle data")
    s = _scores(enhancer, seq.color, seq.depth, seq.gt, seq.valid)
    for ref, margin in REAL_MARGINS[errors].items():
        assert s["model"] >= s[ref] + margin, (ref, s)


def test_depth_enlarged_to_the_colour_grid_gains_over_nearest_and_bilinear(enhancer):
    """``--grid color``: depth sampled at every other pixel (a 240x135 sensor under a 480x270 camera),
    enlarged by nearest neighbour (``--enlarge nearest``), then repaired against the full-size colour.
    Measured (run 27): nearest 25.70, bilinear (OpenCV) 27.09, model 30.45, joint bilateral on the
    enlarged depth 29.67, global smoother 31.11 (it leads on these small synthetic frames, as above)."""
    import cv2

    from igde_stream.stream.formats import enlarge_nearest

    seq = synthetic_sequences(1, 2, (480, 270))[0]
    low = [g[1::2, 1::2] for g in seq.gt]
    s = _scores(enhancer, seq.color, np.stack([enlarge_nearest(x, 480, 270) for x in low]), seq.gt)
    bilinear = _psnr(np.stack([cv2.resize(x, (480, 270), interpolation=cv2.INTER_LINEAR) for x in low]), seq.gt)
    assert s["model"] >= s["input"] + 2.4, s
    assert s["model"] >= bilinear + 1.7, (s, bilinear)
    assert s["model"] >= s["jbf"] + 0.4, s
    assert s["model"] >= s["fgs"] - 1.5, s
