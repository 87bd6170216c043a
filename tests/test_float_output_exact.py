"""A float map in and out (PFM): the values the model leaves alone come back as read, bit for bit,
not through the 16-bit map's inverse (within half a code step); the values it moves, holes and
clipped values come back through the map as before."""

from __future__ import annotations

import json

import numpy as np
from test_float_depth import read_pfm, write_pfm
from test_formats import write_png_sequence

from igde_stream.stream import enhance_file

STEPS = 65534


class MovesACorner:
    """Sets the top-left 4 x 4 block to the code at (10, 10); leaves every other pixel alone."""

    batch, backend_name, depth_order = 2, "moves-a-corner", "near-high"

    def enhance(self, color, depth):
        out = np.array(depth, copy=True)
        out[..., :4, :4] = out[..., 10:11, 10:11]
        return out


def test_untouched_float_values_come_back_bit_for_bit(tmp_path):
    rng = np.random.default_rng(3)
    h, w = 24, 32
    frames = []
    for k in range(3):
        v = rng.uniform(7.0, 60.0, (h, w)).astype(np.float32)  # off the map's grid almost everywhere
        v[5, 5] = np.nan  # a hole: code 0, which this enhancer leaves, written back as NaN
        frames.append(v)
    (tmp_path / "d").mkdir()
    for k, v in enumerate(frames):
        write_pfm(tmp_path / "d" / f"{k:04d}.pfm", v)
    rgb = write_png_sequence(tmp_path / "rgb", [np.full((h, w, 3), 90, np.uint8)] * 3, "{:04d}.png")
    lo, hi = 7.0, 60.0
    enhance_file(rgb, tmp_path / "d", tmp_path / "out" / "%04d.pfm", enhancer=MovesACorner(), float_range=(lo, hi),
                 gt_path=tmp_path / "d", report_path=tmp_path / "r.json")
    step = (hi - lo) / STEPS
    for k, v in enumerate(frames):
        got = read_pfm(tmp_path / "out" / f"{k:04d}.pfm")
        alone = np.ones((h, w), bool)
        alone[:4, :4] = False
        alone[5, 5] = False
        # by hand: every value left alone is the input's float32, bit for bit
        assert np.array_equal(got[alone].view(np.uint32), v[alone].view(np.uint32)), k
        assert np.isnan(got[5, 5])
        # the moved block: the code of (10, 10) through the inverse map, LO + (code - 1) x step
        code = 1 + np.rint((np.float64(v[10, 10]) - lo) / (hi - lo) * STEPS)
        assert np.allclose(got[:4, :4], np.float32(lo + (code - 1) * step), rtol=0, atol=1e-6), k
    # the report, on the codes, says the corner alone differs from the ground truth (the input itself)
    rows = json.loads((tmp_path / "r.json").read_text())["frames"]
    assert all(r["mse"] > 0 and r["input_psnr"] == "inf" for r in rows)
