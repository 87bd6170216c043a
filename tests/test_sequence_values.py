"""Values of ``data/sequence.py`` (mutation campaign 58c), from its docstrings: a sequence's length
is its frame count; ``make_sequence`` makes 8-bit depth unless asked, and ``peak`` is the largest
value of the depth's type (255 or 65535: NumPy's ``iinfo``)."""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream.data import SceneConfig, make_sequence

TINY = SceneConfig(width=32, height=24, frames=3, textures="procedural")


def test_the_default_is_8_bit_depth_with_peak_255_and_length_the_frame_count():
    seq = make_sequence(5, TINY)
    assert len(seq) == 3 == len(seq.color)
    assert seq.gt.dtype == seq.depth.dtype == np.uint8
    assert seq.peak == 255.0 == np.iinfo(seq.gt.dtype).max
    assert seq.params["bits"] == 8 and seq.name == "synthetic-5"


@pytest.mark.parametrize("bits", [8, 16])
def test_the_peak_is_the_largest_value_of_the_depths_type(bits):
    seq = make_sequence(5, TINY, bits=bits, name="s")
    assert seq.gt.dtype == np.dtype(f"uint{bits}")
    assert seq.peak == float(np.iinfo(seq.gt.dtype).max) == 2.0 ** bits - 1
    assert seq.gt.max() <= seq.peak and seq.name == "s"
