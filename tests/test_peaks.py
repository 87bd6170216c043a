"""``stream.peaks``: the peak that normalises a stream's depth (the full scale of 8 / 16-bit samples,
2**8 - 1 and 2**16 - 1, or the format's for 10 / 12-bit depth in uint16), which enhancer objects get a
copy with that peak and which are passed through as they are, and when the views and RGB-D options
change to read the depth as the enhancer does."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pytest

from igde_stream.errors import IGDEError
from igde_stream.stream.outputs import ViewsOptions
from igde_stream.stream.peaks import enhancer_peak, views_like_enhancer, with_format_peak


class Plain:
    """An enhancer object with neither ``peak_for`` nor ``max_depth``."""


def _info(bits):
    pix_fmt = {8: "gray", 10: "gray10le", 12: "gray12le", 16: "gray16le"}[bits]
    return SimpleNamespace(bits=bits, peak=float(2 ** bits - 1), pix_fmt=pix_fmt, path="d.mkv")


def test_an_enhancer_without_a_peak_of_its_own_gets_the_full_scale_of_its_samples():
    assert enhancer_peak(Plain(), np.dtype(np.uint8)) == 2.0 ** 8 - 1
    assert enhancer_peak(Plain(), np.dtype(np.uint16)) == 2.0 ** 16 - 1
    assert enhancer_peak(SimpleNamespace(max_depth=None), np.dtype(np.uint16)) == 2.0 ** 16 - 1
    assert enhancer_peak(SimpleNamespace(max_depth=4000), np.dtype(np.uint16)) == 4000.0
    assert enhancer_peak(SimpleNamespace(peak_for=lambda dt: 99), np.dtype(np.uint8)) == 99.0


@pytest.mark.parametrize("bits", [8, 16])
def test_8_and_16_bit_depth_pass_the_enhancer_through_unchanged(bits, caplog):
    """Their samples' full scale is the format's peak: the very object comes back (not a copy: an
    enhancer's state stays one), its max_depth unset, and no line says it was normalised."""
    for enhancer in (Plain(), SimpleNamespace(max_depth=None)):
        with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
            assert with_format_peak(enhancer, _info(bits)) is enhancer
        assert getattr(enhancer, "max_depth", None) is None
    assert "normalised" not in caplog.text


@pytest.mark.parametrize("bits", [10, 12])
def test_10_and_12_bit_depth_give_a_copy_normalised_by_the_format_peak(bits, caplog):
    enhancer = SimpleNamespace(max_depth=None)
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        got = with_format_peak(enhancer, _info(bits))
    assert got is not enhancer and got.max_depth == 2 ** bits - 1 and enhancer.max_depth is None
    assert f"{bits}-bit depth" in caplog.text
    own = SimpleNamespace(max_depth=500.0)  # a max_depth of its own is kept
    assert with_format_peak(own, _info(bits)) is own and own.max_depth == 500.0


def test_a_max_depth_up_to_the_format_peak_is_taken_and_above_it_refused():
    for bits in (8, 10, 16):
        peak = 2 ** bits - 1
        at = SimpleNamespace(max_depth=float(peak))
        assert with_format_peak(at, _info(bits)) is at  # exactly the largest value: fits
        with pytest.raises(IGDEError, match=f"max_depth {peak + 1} is above"):
            with_format_peak(SimpleNamespace(max_depth=float(peak + 1)), _info(bits))


@pytest.mark.parametrize("dtype, peak", [(np.uint8, 255.0), (np.uint16, 65535.0)])
def test_views_of_full_scale_depth_keep_their_options(dtype, peak):
    """8 / 16-bit depth read at its full scale by a near-high enhancer: nothing for the views to
    change, the caller's options come back as they were (the same object)."""
    views = ViewsOptions()
    assert views_like_enhancer(views, SimpleNamespace(), peak, np.dtype(dtype)) is views
    assert views.config.max_depth is None


def test_views_read_10_bit_depth_and_far_high_order_as_the_enhancer():
    views = ViewsOptions()
    got = views_like_enhancer(views, SimpleNamespace(), 1023.0, np.dtype(np.uint16))
    assert got is not views and got.config.max_depth == 1023.0 and views.config.max_depth is None
    got = views_like_enhancer(views, SimpleNamespace(depth_order="far-high"), 255.0, np.dtype(np.uint8))
    assert got.config.depth_order == "far-high" and got.config.max_depth is None
    own = ViewsOptions(config=type(views.config)(max_depth=900.0))  # the views' own max_depth stays
    assert views_like_enhancer(own, SimpleNamespace(), 1023.0, np.dtype(np.uint16)) is own
