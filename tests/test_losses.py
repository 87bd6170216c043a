import math

import pytest
import torch

from igde_stream.losses import (
    depth_focal_loss, depth_loss, igde_loss, sobel_edge_mask, sobel_loss,
)


def step_depth(h=32, w=32, col=16):
    d = torch.full((1, 1, h, w), 0.2)
    d[..., col:] = 0.8
    return d


def test_zero_when_equal():
    gt = torch.rand(2, 1, 16, 16)
    assert float(depth_loss(gt, gt)) == 0
    assert float(depth_focal_loss(gt, gt)) == 0
    assert float(sobel_loss(gt, gt, sobel_edge_mask(gt))) == 0
    assert float(igde_loss(gt, gt, torch.rand_like(gt))) == 0


def test_hand_computed_example():
    pred = torch.tensor([0.0, 0.5, 1.0, 0.25]).view(1, 1, 2, 2)
    gt = torch.tensor([0.0, 0.0, 0.5, 0.25]).view(1, 1, 2, 2)
    assert float(depth_loss(pred, gt)) == pytest.approx(0.25)
    # two pixels with error 0.5: -0.25 * 0.5^2 * log(0.5) each, averaged over 4 pixels
    expect = 2 * (-0.25 * 0.25 * math.log(0.5)) / 4
    assert float(depth_focal_loss(pred, gt)) == pytest.approx(expect, rel=1e-5)
    mask = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 2, 2)
    # pixel 2 in mask (0.9 * 0.5), pixel 3 outside (0.1 * 0.5)
    assert float(sobel_loss(pred, gt, mask)) == pytest.approx((0.45 + 0.05) / 4)
    total = igde_loss(pred, gt, gt, mask=mask)
    assert float(total) == pytest.approx(0.25 + expect + 0.125, rel=1e-5)


def test_focal_weight_grows_with_error():
    gt = torch.zeros(1, 1, 1, 1)
    vals = [float(depth_focal_loss(torch.full_like(gt, e), gt)) / e for e in (0.01, 0.1, 0.3, 0.6)]
    assert vals == sorted(vals) and vals[0] < 1e-3 * vals[-1]


def test_focal_loss_finite_at_full_error():
    pred, gt = torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    assert math.isfinite(float(depth_focal_loss(pred, gt)))


def test_edge_mask_marks_band_around_step_only():
    d = step_depth()
    m = sobel_edge_mask(d)[0, 0]
    assert m[:, 14:18].all()  # the step sits between columns 15 and 16
    assert not m[:, :9].any() and not m[:, 24:].any()
    cols = m.any(0).nonzero().flatten()
    assert 4 <= len(cols) <= 10
    assert not sobel_edge_mask(torch.full((1, 1, 16, 16), 0.3)).any()


def test_edge_mask_per_frame():
    d = torch.cat([step_depth(), torch.full((1, 1, 32, 32), 0.5)])
    m = sobel_edge_mask(d)
    assert m[0].any() and not m[1].any()


def test_sobel_loss_weighs_edge_error_nine_times():
    gt = torch.zeros(1, 1, 4, 4)
    mask = torch.zeros_like(gt)
    mask[..., 0, 0] = 1
    inside = gt.clone(); inside[..., 0, 0] = 0.3
    outside = gt.clone(); outside[..., 3, 3] = 0.3
    assert float(sobel_loss(inside, gt, mask)) == pytest.approx(9 * float(sobel_loss(outside, gt, mask)))


def test_losses_differentiable():
    pred = torch.rand(2, 1, 16, 16, requires_grad=True)
    gt, inp = torch.rand(2, 1, 16, 16), step_depth(16, 16, 8).expand(2, 1, 16, 16)
    igde_loss(pred, gt, inp).backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_otsu_threshold_worked_out_by_hand():
    from igde_stream.losses import _otsu_threshold

    # 50 pixels in bin 10, 30 in bin 100, 20 in bin 200. Between-class variance w0 w1 (mu0 - mu1)^2:
    # cut after bin 10: 0.5 * 0.5 * (10 - 140)^2 = 4225; cut after bin 100: 0.8 * 0.2 * (43.75 - 200)^2
    # = 3906.25. So the threshold is bin 10 (the first bin of the best cut): bins 100 and 200 are edges.
    idx = torch.tensor([[10] * 50 + [100] * 30 + [200] * 20])
    assert int(_otsu_threshold(idx)[0]) == 10
    # fewer pixels in bin 10: still the first cut, until bin 100 dominates enough
    idx2 = torch.tensor([[10] * 30 + [100] * 50 + [200] * 20])
    # cut after 10: 0.3 * 0.7 * (10 - 128.57)^2 = 2952.4; after 100: 0.8 * 0.2 * (66.25 - 200)^2 = 2862.2
    assert int(_otsu_threshold(idx2)[0]) == 10
    idx3 = torch.tensor([[10] * 10 + [100] * 70 + [200] * 20])
    # after 10: 0.1 * 0.9 * (10 - 122.2)^2 = 1133.3; after 100: 0.8 * 0.2 * (88.75 - 200)^2 = 1980.3
    assert int(_otsu_threshold(idx3)[0]) == 100


def test_edge_mask_band_is_exactly_six_columns():
    # the Sobel response of a step between columns 15 and 16 is in columns 15 and 16; the 5 x 5
    # dilation widens it by 2 on each side: columns 13..18, and Otsu keeps exactly those
    m = sobel_edge_mask(step_depth())[0, 0]
    cols = m.any(0).nonzero().flatten().tolist()
    assert cols == [13, 14, 15, 16, 17, 18]
    assert m[:, 13:19].all()


def test_otsu_threshold_needs_the_normalised_between_class_variance():
    from igde_stream.losses import _otsu_threshold

    # 25 pixels in bin 10, 55 in bin 100, 20 in bin 200 (mu_T = 97.5). Between-class variance
    # w0 w1 (mu0 - mu1)^2: after bin 10: 0.25 * 0.75 * (10 - 126.67)^2 = 2552.1; after bin 100:
    # 0.8 * 0.2 * (71.875 - 200)^2 = 2626.6, so the threshold is bin 100. The unnormalised
    # (mu_T w0 - mu)^2 alone (21.875^2 = 478.5 vs 20.5^2 = 420.3) would pick bin 10, as would its square.
    idx = torch.tensor([[10] * 25 + [100] * 55 + [200] * 20])
    assert int(_otsu_threshold(idx)[0]) == 100
