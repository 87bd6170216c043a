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
