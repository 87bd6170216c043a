import numpy as np
import pytest

from igde_stream.filters import FILTERS


def _step_scene(dtype, low, high):
    """Colour edge at column 20; depth edge bled 3 px early (at 17): the error the filters should fix."""
    color = np.zeros((40, 40, 3), np.uint8)
    color[:, 20:] = 200
    depth = np.full((40, 40), low, dtype)
    depth[:, 17:] = high
    return color, depth


@pytest.mark.parametrize("name", sorted(FILTERS))
@pytest.mark.parametrize("dtype,low,high", [(np.uint8, 40, 200), (np.uint16, 1000, 50000), (np.float32, 0.1, 0.8)])
def test_shape_dtype_and_range(name, dtype, low, high):
    color, depth = _step_scene(dtype, low, high)
    out = FILTERS[name](color, depth)
    assert out.shape == depth.shape and out.dtype == depth.dtype
    assert out.min() >= low - 1e-6 and out.max() <= high + 1e-6


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_flat_depth_is_unchanged(name):
    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    depth = np.full((30, 30), 77, np.uint8)
    np.testing.assert_array_equal(FILTERS[name](color, depth), depth)


def test_weighted_median_snaps_edge_to_colour_edge():
    color, depth = _step_scene(np.uint16, 1000, 50000)
    out = FILTERS["weighted-median"](color, depth)
    assert set(np.unique(out)) <= {1000, 50000}  # a median only picks existing values
    assert (out[5:35, 17:20] == 1000).all() and (out[5:35, 20:23] == 50000).all()


def test_bad_input_raises():
    color, depth = _step_scene(np.uint8, 0, 1)
    with pytest.raises(ValueError, match="color"):
        FILTERS["guided"](color[..., 0], depth)
    with pytest.raises(ValueError, match="depth"):
        FILTERS["guided"](color, depth[:-1])
    with pytest.raises(ValueError, match="dtype"):
        FILTERS["guided"](color, depth.astype(np.int32))


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_noisy_step_with_a_clean_guide_keeps_the_step_and_loses_the_noise(name):
    # worked out independently: each side is flat, so the filtered side should be its own mean; the
    # noise variance (8^2 = 64) must fall at least 4x away from the edge, and the two pixels either
    # side of the edge must stay within 12 levels of their side's value (no blur across the step)
    rng = np.random.default_rng(0)
    h, w, col = 64, 64, 32
    gt = np.full((h, w), 60.0)
    gt[:, col:] = 180.0
    depth = np.clip(np.rint(gt + rng.normal(0, 8, gt.shape)), 0, 255).astype(np.uint8)
    color = np.zeros((h, w, 3), np.uint8)
    color[:, :col] = (30, 90, 200)
    color[:, col:] = (220, 160, 20)
    out = FILTERS[name](color, depth).astype(np.float64)
    inside = np.r_[4:col - 4, col + 4:w - 4]
    noise_in = np.mean((depth[4:-4, inside] - gt[4:-4, inside]) ** 2)
    noise_out = np.mean((out[4:-4, inside] - gt[4:-4, inside]) ** 2)
    assert noise_in > 50 and noise_out < noise_in / 4, (noise_in, noise_out)
    assert np.abs(out[8:-8, col - 1] - 60).mean() < 12 and np.abs(out[8:-8, col] - 180).mean() < 12


def test_global_smoother_fills_the_edge_band_from_the_confident_side():
    from igde_stream.filters import edge_confidence, global_smoother

    # a reduce error: the near side (200) is eaten 3 px by the far side (40) at rows' columns 16..18
    gt = np.full((40, 40), 40, np.uint8)
    gt[:, 16:] = 200
    depth = gt.copy()
    depth[:, 16:19] = 40
    color = np.zeros((40, 40, 3), np.uint8)
    color[:, 16:] = 255
    conf = edge_confidence(depth, band=4)
    assert conf[0, 10] == 1.0 and conf[0, 18] < 0.1 and conf[0, 30] == 1.0
    out = global_smoother(color, depth)
    err_in = np.abs(depth[:, 16:19].astype(int) - 200).mean()
    err_out = np.abs(out[:, 16:19].astype(int) - 200).mean()
    assert err_in == 160 and err_out < 40
