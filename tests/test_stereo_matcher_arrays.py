"""A stereo matcher's own output saved as NumPy: OpenCV SGBM's disparity is int16, 16 x the
disparity, -16 where it found no match. Refused in one line whose advice keeps the invalid pixels
holes: ``astype(np.uint16)`` alone (the advice before) wraps -16 to 65520, the nearest depth there is."""

from __future__ import annotations

import numpy as np


def test_sgbm_int16_disparity_is_refused_with_advice_that_keeps_its_invalid_pixels_holes(tmp_path, capsys):
    import cv2

    from igde_stream.cli import main

    rng = np.random.default_rng(1)
    left = rng.integers(0, 256, (48, 96, 3), np.uint8)
    right = np.roll(left, -4, axis=1)  # the scene 4 px to the left in the right view
    sgbm = cv2.StereoSGBM_create(minDisparity=0, numDisparities=16, blockSize=5).compute(left, right)
    assert sgbm.dtype == np.int16 and (sgbm == -16).any() and np.median(sgbm[sgbm >= 0]) == 64  # 4 px x 16
    cv2.imwrite(str(tmp_path / "left.png"), left)
    np.save(tmp_path / "disp.npy", sgbm)
    assert main([str(tmp_path / "left.png"), str(tmp_path / "disp.npy"), "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds int16 values (<i2)" in err[0]
    assert err[0].endswith("np.where(a < 0, 0, a).astype(np.uint16) (astype alone makes -16 65520, the nearest depth)")
    a = sgbm  # the advice, as written, gives holes where SGBM found no match, and the rest unchanged
    fixed = eval(err[0].split(": ")[-1].split(" (astype")[0].split("a hole: ")[-1])
    assert fixed.dtype == np.uint16 and np.array_equal(fixed == 0, sgbm <= 0) and np.array_equal(fixed[sgbm > 0], sgbm[sgbm > 0])
    assert not (tmp_path / "o.png").exists()
