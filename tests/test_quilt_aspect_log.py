"""A quilt whose tiles are the views (--quilt CxR) keeps anamorphic views as they are stored (720 x 576
tiles, 2880 x 1152 for 4 x 2) and says their displayed aspect in its name (a1.78); the log said they
were "fitted as a player shows them", as for a preset quilt or a lenticular panel, which resample
them. Expected: the frame size and name worked out by hand, the log line naming what was done."""

from __future__ import annotations

import logging
from fractions import Fraction

from igde_stream import display, multiview as mv
from igde_stream.stream.aspect import fit_layout

PAL_WIDE = Fraction(64, 45)  # 720 x 576 shown as 1024 x 576


def _said(caplog):
    return [r.getMessage() for r in caplog.records if "layout" in r.getMessage()]


def test_a_quilt_of_the_views_says_they_are_kept_not_fitted(caplog):
    layout = display.make_layout("quilt", mv.ViewConfig(8), quilt=display.QuiltSpec(4, 2))
    with caplog.at_level(logging.INFO, logger="igde_stream"):
        fitted, sar = fit_layout(layout, PAL_WIDE)
    assert sar == 1
    assert fitted.frame_sizes((720, 576)) == [(2880, 1152)]  # tiles = the views, unresampled
    assert fitted.outputs("q.mkv", (720, 576))[0].name == "q_qs4x2a1.78.mkv"
    said = _said(caplog)
    assert len(said) == 1 and "fitted" not in said[0], said
    assert "64:45" in said[0] and "as stored" in said[0] and "name" in said[0], said


def test_a_preset_quilt_and_a_panel_still_say_fitted(caplog):
    for layout in (display.make_layout("quilt", mv.ViewConfig(48), quilt=display.QUILT_PRESETS["portrait"]),):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="igde_stream"):
            fit_layout(layout, PAL_WIDE)
        said = _said(caplog)
        assert len(said) == 1 and "fitted as a player shows them" in said[0], said
