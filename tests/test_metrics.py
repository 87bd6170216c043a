import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from igde_stream import metrics as M


def pairs():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (67, 93)).astype(np.uint8)
    yield a, np.clip(a + rng.normal(0, 12, a.shape), 0, 255).astype(np.uint8), 255.0
    yy, xx = np.mgrid[:60, :80]
    s = ((xx > 40) * 200 + yy).astype(np.uint8)
    t = s.copy(); t[:, 38:43] = 90
    yield s, t, 255.0
    b = rng.integers(0, 65536, (40, 50)).astype(np.uint16)
    yield b, np.clip(b + rng.normal(0, 500, b.shape), 0, 65535).astype(np.uint16), 65535.0


@pytest.mark.parametrize("gt,pred,peak", list(pairs()))
def test_against_scikit_image(gt, pred, peak):
    assert M.psnr(pred, gt, peak) == pytest.approx(peak_signal_noise_ratio(gt, pred, data_range=peak), abs=1e-6)
    ref = structural_similarity(gt, pred, data_range=peak, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False)
    assert M.ssim(pred, gt, peak) == pytest.approx(ref, abs=1e-3)
    assert M.rmse(pred, gt) == pytest.approx(math.sqrt(np.mean((pred.astype(float) - gt) ** 2)))


def test_identical_is_inf():
    a = np.arange(100, dtype=np.uint8).reshape(10, 10)
    assert M.psnr(a, a) == math.inf
    assert M.mean_psnr([0.0, 0.0]) == math.inf


def test_psnr_split_exact():
    gt = np.zeros((4, 4), np.uint8)
    inp = gt.copy(); inp[0, :] = 10  # 4 error pixels
    pred = gt.copy(); pred[0, 0] = 5; pred[3, 3] = 1  # one repaired-ish error pixel, one damaged correct pixel
    t, f = M.psnr_split(pred, gt, inp)
    assert t == pytest.approx(10 * math.log10(255**2 / (1 / 12)))
    assert f == pytest.approx(10 * math.log10(255**2 / (25 / 4)))
    assert M.psnr_split(gt, gt, gt)[1] != M.psnr_split(gt, gt, gt)[1]  # no error pixels -> nan


def test_mean_psnr_averages_mse():
    assert M.mean_psnr([1.0, 3.0]) == pytest.approx(M.psnr_from_mse(2.0))


def test_temporal_stability():
    g = [np.full((4, 4), v, np.uint8) for v in (10, 20, 30)]
    assert M.temporal_stability(g, g) == 0
    p = [g[0], g[1] + 4, g[2]]
    assert M.temporal_stability(p, g) == pytest.approx(4.0)


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shape mismatch"):
        M.psnr(np.zeros((2, 2)), np.zeros((2, 3)))


def test_ssim_of_a_map_too_small_for_the_border():
    # maps of at most 2 x 5 px on a side have no inside after the 5-pixel border: the mean is over all
    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, (8, 10)).astype(np.uint8)
    assert M.ssim(a, a) == pytest.approx(1.0)
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255).astype(np.uint8)
    assert 0.0 < M.ssim(b, a) < 1.0


def test_temporal_stability_by_hand():
    g = [np.zeros((2, 2)), np.full((2, 2), 10.0)]
    p = [np.zeros((2, 2)), np.array([[10.0, 10.0], [14.0, 2.0]])]  # |dp - dg| = 0, 0, 4, 8
    assert M.temporal_stability(p, g) == pytest.approx(3.0)
    assert M.temporal_stability(p[:1], g[:1]) != M.temporal_stability(p[:1], g[:1])  # one frame: nan
    with pytest.raises(ValueError):
        M.temporal_stability(p, g[:1])


def test_mean_psnr_skips_nan_frames():
    assert M.mean_psnr([1.0, math.nan, 3.0]) == pytest.approx(10 * math.log10(255**2 / 2.0))
    assert math.isnan(M.mean_psnr([math.nan]))


def test_psnr_torch_per_sample_against_scikit_image():
    import torch

    rng = np.random.default_rng(5)
    gt = rng.random((3, 1, 9, 7)).astype(np.float32)
    pred = np.clip(gt + rng.normal(0, 0.05, gt.shape), 0, 1).astype(np.float32)
    got = M.psnr_torch(torch.from_numpy(pred), torch.from_numpy(gt))  # default peak 1.0
    ref = [peak_signal_noise_ratio(gt[i], pred[i], data_range=1.0) for i in range(3)]
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-4)
    assert torch.isinf(M.psnr_torch(torch.from_numpy(gt), torch.from_numpy(gt))).all()


def test_ssim_on_dark_low_contrast_maps_where_c1_and_the_window_matter():
    # near black, C1 = (0.01 x 255)^2 = 6.5 is of the order of mx^2 + my^2, so a wrong C1 (or C2, or a
    # window other than 11 x 11 Gaussian, sigma 1.5) moves SSIM by far more than the tolerance;
    # scikit-image with the paper's settings is the reference, to 1e-6. The default peak is 255.
    rng = np.random.default_rng(7)
    gt = rng.integers(0, 16, (40, 52)).astype(np.uint8)
    pred = np.clip(gt.astype(int) + 4 + rng.integers(-3, 4, gt.shape), 0, 255).astype(np.uint8)
    ref = structural_similarity(gt, pred, data_range=255, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False)
    assert M.ssim(pred, gt) == pytest.approx(ref, abs=1e-6)
    assert 0.05 < ref < 0.95  # not saturated at 0 or 1
    big = rng.integers(0, 4, (40, 52)).astype(np.uint16) * 300
    big_pred = np.clip(big.astype(int) + rng.integers(-600, 601, big.shape), 0, 65535).astype(np.uint16)
    ref16 = structural_similarity(big, big_pred, data_range=65535, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False)
    assert M.ssim(big_pred, big, 65535.0) == pytest.approx(ref16, abs=1e-6)
