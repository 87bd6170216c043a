"""tools/eval_stereo.py's pieces: the matcher gives a known shift back, the score is PSNR over a mask."""

import numpy as np

from conftest import load_tool


def test_the_matchers_find_a_known_shift():
    tool = load_tool("eval_stereo")
    rng = np.random.default_rng(3)
    texture = (rng.random((60, 200, 3)) * 255).astype(np.uint8)
    right = texture[:, 6:146]  # the right view sees the scene 6 px to the left: disparity 6 everywhere
    left = texture[:, :140]
    for kind, block, mode in tool.MATCHERS.values():
        d = tool.match(np.ascontiguousarray(left), np.ascontiguousarray(right), kind, block, mode, 32)
        inner = d[block:-block, 40:-block]  # past the left band the right view does not reach
        assert np.median(inner) == 6.0, (kind, block)


def test_psnr_counts_the_mask_only():
    tool = load_tool("eval_stereo")
    gt = np.full((2, 2), 100, np.uint8)
    a = gt.copy()
    a[0, 0] = 110  # one pixel 10 off
    mask = np.array([[True, True], [False, False]])
    assert abs(tool.psnr(a, gt, mask) - 10 * np.log10(255 ** 2 / 50.0)) < 1e-9  # mean of 100 and 0
    a[1, 1] = 0  # outside the mask: no effect
    assert abs(tool.psnr(a, gt, mask) - 10 * np.log10(255 ** 2 / 50.0)) < 1e-9
