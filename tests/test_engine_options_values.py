"""engine.options' bounds by hand (fast, no TensorRT): the workspace must be above 0 GiB, every
profile dimension at least 1."""

from __future__ import annotations

import pytest

from igde_stream.engine import BuildOptions


@pytest.mark.parametrize("gib", [0, 0.0, -1.0])
def test_a_workspace_of_0_or_less_is_refused(gib):
    """workspace_gib is the builder's scratch memory: 0 GiB (or less) is none at all."""
    with pytest.raises(ValueError, match="workspace_gib must be > 0"):
        BuildOptions(workspace_gib=gib)


@pytest.mark.parametrize("gib", [0.25, 0.5, 1.0])
def test_a_workspace_below_1_gib_is_taken(gib):
    """Any amount above 0 is a workspace; a fraction of a GiB too (not only whole GiB)."""
    assert BuildOptions(workspace_gib=gib).workspace_gib == gib


@pytest.mark.parametrize("field", ["min_shape", "opt_shape", "max_shape"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_a_profile_dimension_of_0_is_refused_as_such(field, axis):
    """N, H and W are "three positive ints": a 0 anywhere in the profile (0 frames, or a frame 0
    pixels high or wide) is refused for what it is, not only as a min > opt ordering; the smallest
    profile, 1 x 1 x 1, is taken."""
    ones = {"min_shape": (1, 1, 1), "opt_shape": (1, 1, 1), "max_shape": (1, 1, 1)}
    assert BuildOptions(**ones).max_shape == (1, 1, 1)
    shape = [1, 1, 1]
    shape[axis] = 0
    with pytest.raises(ValueError, match=f"^{field} must be three positive ints"):
        BuildOptions(**{**ones, field: tuple(shape)})


@pytest.mark.parametrize("level, taken", [(0, True), (3, True), (5, True), (6, False), (-1, False), (7, False)])
def test_the_optimization_level_is_0_to_5(level, taken):
    """TensorRT's builder_optimization_level is 0..5 (the docstring; TensorRT's own range)."""
    if taken:
        assert BuildOptions(optimization_level=level).optimization_level == level
    else:
        with pytest.raises(ValueError, match="optimization_level must be 0..5"):
            BuildOptions(optimization_level=level)
