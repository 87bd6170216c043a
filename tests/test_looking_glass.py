"""A Looking Glass ``visual.json`` read as a lenticular calibration: the panel the Interleaver composes
equals, subpixel for subpixel, the view that Looking Glass's published lenticular shader picks, written
out here from the shader's own terms (texture coordinates with v up, the pitch in lenses per inch,
tilt, center, invView, flipSubp), not from van Berkel's form that the code converts to."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from igde_stream import display
from igde_stream.errors import IGDEError, InputError

# a Looking Glass Portrait's published calibration numbers, on a screen cut down to 96 x 128 pixels
# (the DPI kept, so a lens is the same 18.7 subpixels wide as on the 1536 x 2048 device)
PORTRAIT = {"configVersion": "1.0", "serial": "LKG-P00000", "pitch": {"value": 52.59267044067383},
            "slope": {"value": -7.083540916442871}, "center": {"value": 0.8167931437492371},
            "viewCone": {"value": 40.0}, "invView": {"value": 1.0}, "verticalAngle": {"value": 0.0},
            "DPI": {"value": 324.0}, "screenW": {"value": 96.0}, "screenH": {"value": 128.0},
            "flipImageX": {"value": 0.0}, "flipImageY": {"value": 0.0}, "flipSubp": {"value": 0.0}}


def shader_views(cal: dict, n: int) -> np.ndarray:
    """H x W x 3 (R, G, B): the view index each output channel samples, as the shader computes it."""
    v = {k: (x["value"] if isinstance(x, dict) else x) for k, x in cal.items() if k not in ("configVersion", "serial")}
    w, h = int(v["screenW"]), int(v["screenH"])
    pitch = v["pitch"] * w / v["DPI"] * math.cos(math.atan(1.0 / v["slope"]))
    flip = -1.0 if v.get("flipImageX") else 1.0  # Looking Glass Bridge's uniforms under flipImageX:
    tilt = h / (w * v["slope"]) * flip  # tilt and subp negated, center moved by half a lens
    subp = 1.0 / (3 * w) * flip
    center = v["center"] + (0.5 if flip < 0 else 0.0)
    u = (np.arange(w) + 0.5)[None, :] / w
    vv = (np.arange(h)[::-1] + 0.5)[:, None] / h  # row 0 is the top: v = 1 - 0.5 / h
    picks = []
    for i in range(3):
        z = (u + i * subp + vv * tilt) * pitch - center
        z = np.mod(z + np.ceil(np.abs(z)), 1.0)
        if v.get("invView"):
            z = -z
        picks.append(np.mod(np.floor(z * n), n).astype(int))  # the quilt's tiles wrap
    ri, bi = (2, 0) if v.get("flipSubp") else (0, 2)
    return np.stack([picks[ri], picks[1], picks[bi]], axis=-1)


def composed_views(cal: display.LenticularCalibration, panel: tuple[int, int]) -> np.ndarray:
    """The view each subpixel of the Interleaver's panel shows: view i is a flat image of value 5 i."""
    w, h = panel
    views = np.repeat((np.arange(cal.n_views, dtype=np.uint8) * 5)[:, None, None, None], 3, axis=3)
    views = np.ascontiguousarray(np.broadcast_to(views, (cal.n_views, h, w, 3)))
    return display.Interleaver(cal, panel, (w, h)).compose(views).astype(int) // 5


@pytest.mark.parametrize("change", [{}, {"invView": {"value": 0.0}}, {"flipSubp": {"value": 1.0}},
                                    {"flipImageX": {"value": 1.0}},
                                    {"flipImageX": {"value": 1.0}, "flipSubp": {"value": 1.0}}, {"slope": {"value": 5.044347763061523},
                                                                     "center": {"value": -0.4}}])
def test_panel_equals_the_looking_glass_shader(change):
    data = {**PORTRAIT, **change}
    cal, screen = display.looking_glass_calibration(data, 8, "visual.json")
    assert screen == (96, 128)
    got, want = composed_views(cal, screen), shader_views(data, 8)
    # only subpixels on a zone boundary to rounding may differ (floor of an integer by hand)
    assert np.mean(got != want) < 1e-3, np.mean(got != want)
    assert len(np.unique(want)) == 8


def test_a_wrong_reading_of_the_file_is_caught():
    """The same check sees a center of the wrong sign, rows counted from the top and R / B unswapped."""
    cal, screen = display.looking_glass_calibration(PORTRAIT, 8, "visual.json")
    want = shader_views(PORTRAIT, 8)
    for wrong in ({**PORTRAIT, "center": {"value": -0.8167931437492371}}, {**PORTRAIT, "flipSubp": {"value": 1.0}}):
        other, _ = display.looking_glass_calibration(wrong, 8, "visual.json")
        assert np.mean(composed_views(other, screen) != want) > 0.3
    from dataclasses import replace
    top_down = replace(cal, offset=(1.5 + 1.5 * cal.tan_slant - 0.8167931437492371 * cal.pitch) % cal.pitch)
    assert np.mean(composed_views(top_down, screen) != want) > 0.3


def test_lens_width_and_slant_of_a_portrait(tmp_path):
    """On the real 1536 x 2048 screen: X = 3 W / (pitch W / DPI cos(atan(1 / slope))) subpixels per
    lens, by hand 4608 / 246.879 = 18.665; tan a = 1 / slope; mirrored (invView)."""
    p = tmp_path / "visual.json"
    p.write_text(json.dumps({**PORTRAIT, "screenW": {"value": 1536}, "screenH": {"value": 2048}}))
    cal, screen = display.load_calibration(p)
    assert screen == (1536, 2048) and cal.n_views == display.LOOKING_GLASS_VIEWS == 45
    lenses = 52.59267044067383 * 1536 / 324 * math.cos(math.atan(1 / -7.083540916442871))
    assert cal.pitch == pytest.approx(4608 / lenses) and cal.pitch == pytest.approx(18.665, abs=1e-3)
    assert cal.tan_slant == pytest.approx(-0.14117, abs=1e-5) and cal.inverted and cal.subpixel_order == "RGB"
    assert 0 <= cal.offset < cal.pitch


def test_the_project_calibration_is_read_as_before():
    cal, screen = display.load_calibration("docs/lenticular-calibration.json", 5)
    assert screen is None and cal == display.LenticularCalibration.from_json("docs/lenticular-calibration.json")


@pytest.mark.parametrize("change, words", [
    ({"CellPatternMode": {"value": 2}}, "CellPatternMode 2"),
    ({"flipImageY": {"value": 1}}, "flipImageY"),
    ({"slope": {"value": 0}}, "slope must not be 0"),
    ({"DPI": {"value": "324"}}, "DPI must be a number"),
    ({"screenW": {"value": 95.5}}, "whole pixels"),
])
def test_calibrations_it_cannot_describe_are_refused(tmp_path, change, words):
    p = tmp_path / "visual.json"
    p.write_text(json.dumps({**PORTRAIT, **change}))
    with pytest.raises(InputError, match=words):
        display.load_calibration(p)
    short = {k: v for k, v in PORTRAIT.items() if k != "center"}
    p.write_text(json.dumps(short))
    with pytest.raises(InputError, match="missing key"):
        display.load_calibration(p)


def _args(calibration, panel=None, views=None):
    import argparse
    return argparse.Namespace(layout="lenticular", quilt=None, device=None, rows=None, cols=None, squeeze=False,
                              anaglyph=None, depth_near=None, calibration=str(calibration), panel=panel, blend=False,
                              views=views, baseline=None, zero_parallax=None, max_depth=None, depth_order="near-high")


def test_the_views_command_takes_the_screen_and_the_views_from_the_file(tmp_path):
    from igde_stream.views_cli import _layout

    p = tmp_path / "visual.json"
    p.write_text(json.dumps(PORTRAIT))
    name, cfg, layout = _layout(_args(p, views=6))
    assert name == "lenticular" and cfg.n_views == 6 and layout.panel == (96, 128)
    _, cfg, _ = _layout(_args(p))
    assert cfg.n_views == 45
    _, _, layout = _layout(_args(p, panel="96x128"))
    assert layout.panel == (96, 128)
    with pytest.raises(IGDEError, match="for its 96x128 screen"):
        _layout(_args(p, panel="192x256"))
    with pytest.raises(IGDEError, match="needs --panel"):
        _layout(_args("docs/lenticular-calibration.json"))
