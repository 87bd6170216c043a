"""The views of 10 / 12-bit depth (uint16 samples peaking at 1023 / 4095) read it with its format's
peak, as the main command enhances it: ``views render`` (every layout, RGB-D too), ``views quality``
and its ``--enhance``, and the one-pass outputs given a ready-made layout object. Expected values
from the same functions with the peak given explicitly, and from NumPy."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from conftest import read_video, scene, write_video
from igde_stream import display
from igde_stream import multiview as mv
from igde_stream.errors import InputError
from igde_stream.stream import enhance_file
from igde_stream.stream.outputs import ViewsOptions
from igde_stream.stream.views import render_file, view_quality_files
from test_formats import luma_planes, write_high_bit

CFG = mv.ViewConfig(4, baseline=24)


def _clip(tmp_path, bits=10, n=2):
    colors, depths16, gts16 = scene(n, (64, 48), bits=16)
    shift = 16 - bits
    depths = [(d >> shift).astype(np.uint16) for d in depths16]
    gts = [(g >> shift).astype(np.uint16) for g in gts16]
    fmt = f"gray{bits}le"
    return {"color": write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1"),
            "depth": write_high_bit(tmp_path / f"d{bits}.mkv", depths, fmt),
            "gt": write_high_bit(tmp_path / f"g{bits}.mkv", gts, fmt),
            "colors": colors, "depths": depths, "gts": gts, "peak": (1 << bits) - 1}


@pytest.mark.parametrize("layout", ["grid", "rgbd"])
@pytest.mark.parametrize("bits", [10, 12])
def test_render_reads_high_bit_depth_with_its_format_peak(tmp_path, layout, bits):
    clip = _clip(tmp_path, bits)
    render_file(clip["color"], clip["depth"], tmp_path / "auto.mkv", CFG, layout=layout)
    render_file(clip["color"], clip["depth"], tmp_path / "peak.mkv", dataclasses.replace(CFG, max_depth=clip["peak"]),
                layout=layout)
    render_file(clip["color"], clip["depth"], tmp_path / "full.mkv", dataclasses.replace(CFG, max_depth=65535),
                layout=layout)
    auto, peak, full = (read_video(tmp_path / f"{name}.mkv")[0] for name in ("auto", "peak", "full"))
    assert all(np.array_equal(a, b) for a, b in zip(auto, peak)) and len(auto) == 2
    assert not all(np.array_equal(a, b) for a, b in zip(auto, full))  # the uint16 dtype's peak gives other frames
    if layout == "rgbd":  # the depth half by hand: d / peak * 255, rounded
        want = np.rint(clip["depths"][0].astype(np.float32) / np.float32(clip["peak"]) * 255).astype(np.uint8)
        np.testing.assert_array_equal(auto[0][:, 64:, 0], want)


def test_a_layout_object_keeps_its_own_config_and_is_not_changed(tmp_path):
    clip = _clip(tmp_path)
    lay = display.make_layout("grid", CFG)
    render_file(clip["color"], clip["depth"], tmp_path / "obj.mkv", layout=lay)
    render_file(clip["color"], clip["depth"], tmp_path / "name.mkv", CFG, layout="grid")
    assert lay.cfg is CFG  # the caller's object
    for a, b in zip(read_video(tmp_path / "obj.mkv")[0], read_video(tmp_path / "name.mkv")[0]):
        np.testing.assert_array_equal(a, b)


def test_view_quality_reads_high_bit_depth_with_its_format_peak(tmp_path):
    clip = _clip(tmp_path)
    summary, _ = view_quality_files(clip["color"], clip["gt"], {"degraded": clip["depth"]}, CFG)
    explicit, _ = view_quality_files(clip["color"], clip["gt"], {"degraded": clip["depth"]},
                                     dataclasses.replace(CFG, max_depth=1023))
    assert summary["depths"] == explicit["depths"]
    # by hand from the decoded arrays: mv.view_quality at peak 1023 (at 65535 the views barely move)
    frames = [mv.view_quality(c, g, {"degraded": d}, CFG.n_views, CFG.baseline, CFG.zero_parallax, 1023.0)
              for c, g, d in zip(clip["colors"], clip["gts"], clip["depths"])]
    want = mv.summarize_view_quality(frames)["depths"]["degraded"]["mean"]["mse"]
    assert summary["depths"]["degraded"]["mean"]["mse"] == pytest.approx(want, rel=1e-12) and want > 1.0


def test_view_quality_refuses_depths_of_different_bit_depths_without_max_depth(tmp_path):
    clip = _clip(tmp_path)
    (tmp_path / "x").mkdir()
    other = _clip(tmp_path / "x", bits=12)
    with pytest.raises(InputError, match=r"different bit depths \(.*gray10le, .*gray12le\): give --max-depth"):
        view_quality_files(clip["color"], clip["gt"], {"other": other["depth"]}, CFG)
    view_quality_files(clip["color"], clip["gt"], {"other": other["depth"]}, dataclasses.replace(CFG, max_depth=4095))


def test_view_quality_enhances_high_bit_depth_as_the_main_command_does(tmp_path, enhancer):
    clip = _clip(tmp_path, n=1)
    _, fig = view_quality_files(clip["color"], clip["gt"], {"degraded": clip["depth"]}, CFG, enhancer=enhancer,
                                enhance="degraded")
    enhance_file(clip["color"], clip["depth"], tmp_path / "e.mkv", enhancer=enhancer)
    fmt, (main,) = luma_planes(tmp_path / "e.mkv")
    peaked = copy.copy(enhancer)
    peaked.max_depth = 1023.0
    want = peaked.enhance(clip["colors"][0], clip["depths"][0])
    assert fmt == "gray10le" and np.array_equal(main, want) and not np.array_equal(want, clip["depths"][0])
    np.testing.assert_array_equal(fig[3]["enhanced"], want)
    assert enhancer.max_depth is None  # the caller's enhancer is unchanged


def test_one_pass_views_given_a_layout_object_follow_the_enhancers_depth_order(tmp_path, tiny_model):
    """``enhance_file(views=ViewsOptions(layout=<Layout>))`` reads the enhanced depth as the enhancer
    reads its input (far-high, max_depth), as it does for a layout name."""
    from igde_stream import Enhancer

    colors, depths, _ = scene(2, (64, 48), bits=16)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray16le")
    e = Enhancer(model=tiny_model, backend="torch", depth_order="far-high", max_depth=60000, quiet=True)
    for name, layout in (("name", "grid"), ("object", display.make_layout("grid", CFG))):
        enhance_file(c, d, tmp_path / f"o_{name}.mkv", enhancer=e, views_path=tmp_path / f"v_{name}.mkv",
                     views=ViewsOptions(config=CFG, layout=layout))
    by_name, by_object = read_video(tmp_path / "v_name.mkv")[0], read_video(tmp_path / "v_object.mkv")[0]
    assert len(by_name) == 2 and all(np.array_equal(a, b) for a, b in zip(by_name, by_object))
    near = mv.warp_views(colors[0], read_video(tmp_path / "o_name.mkv")[0][0], CFG).views  # read near-high
    assert not np.array_equal(display.make_layout("grid", CFG).pack(near)[0], by_name[0])


def _far(tmp_path, near_mm=800, far_mm=6000):
    """Distance in mm (far-high): a near square at ``near_mm`` on a wall at ``far_mm``, 2 frames."""
    colors, _, _ = scene(2, (64, 48), bits=8)
    d = np.full((48, 64), far_mm, np.uint16)
    d[12:36, 16:40] = near_mm
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    return c, write_video(tmp_path / "d.mkv", [d, d], fmt="gray16le"), colors, d


def test_views_of_distance_nearer_than_the_near_limit_warn_with_the_max_depth_to_use(tmp_path, caplog):
    """Far-high depth without --max-depth: the far limit is 65535, the near limit 65535 / 20 = 3276.75.
    The square at 800 mm (24 x 24 of 64 x 48 pixels: 18.75 %) is nearer and reads as the nearest; the
    wall at 6000 mm is not. The views warn as the main command does, naming the file, and suggest 20 x
    the nearest distance (16000)."""
    import logging

    c, d, _, _ = _far(tmp_path)
    far = dataclasses.replace(CFG, depth_order="far-high")
    with caplog.at_level(logging.WARNING):
        render_file(c, d, tmp_path / "v.mkv", far)
    (line,) = [r.getMessage() for r in caplog.records if "near limit" in r.getMessage()]
    assert line.startswith(f"{d}: 19 % of the measured depth is nearer than the near limit 3276.75")
    assert line.endswith("e.g. 16000")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        render_file(c, d, tmp_path / "v2.mkv", dataclasses.replace(far, max_depth=16000))
        view_quality_files(c, d, {"same": d}, dataclasses.replace(far, max_depth=16000))
    assert not [r for r in caplog.records if "near limit" in r.getMessage()]
    with caplog.at_level(logging.WARNING):
        view_quality_files(c, d, {"same": d}, far)
    assert len([r for r in caplog.records if "near limit" in r.getMessage()]) == 2  # the ground truth and "same"


def test_rgbd_of_distance_says_how_it_was_scaled(tmp_path, caplog):
    """The RGB-D layout of far-high 16-bit depth with max depth 10000: 255 x min(1, 500 / distance),
    so 800 mm -> 159 (159.375 rounded), 6000 mm -> 21 (21.25), and the log line says that rule rather
    than 'depth 10000 -> 255'."""
    import logging

    c, d, _, depth = _far(tmp_path)
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        render_file(c, d, tmp_path / "r.mkv", mv.ViewConfig(max_depth=10000, depth_order="far-high"), layout="rgbd")
    assert any("far-high: 255 x min(1, 500 / distance), 10000 -> 13, 0 stays 0" in r.getMessage()
               for r in caplog.records)
    half = read_video(tmp_path / "r.mkv")[0][0][:, 64:, 0]
    assert half[20, 20] == 159 and half[2, 2] == 21
