"""The views' memory estimate and its warning (``stream.view_memory``): the views of an 8K clip
written one file a view hold tens of GB in their encoders; where the machine has less free, one
warning before the first frame says so, and what would need less. Expected figures are worked out
by hand from the per-pixel costs the benchmark measured (``tools/bench.py viewmem``)."""

from __future__ import annotations

import logging
from fractions import Fraction

import pytest

from conftest import scene, write_video
from igde_stream import display
from igde_stream import multiview as mv
from igde_stream.stream import view_memory as vm
from igde_stream.stream.views import render_file

GB = 2**30


def test_eight_ffv1_files_of_8k_need_over_20_gb():
    w, h = 7680, 4320  # 33,177,600 px
    lay = display.make_layout("views", mv.ViewConfig(8))
    need = vm.views_memory(lay.frame_sizes((w, h)), "ffv1", 8, (w, h))
    # 8 encoders x (82 B x 33.18 Mpx + 4 MiB) + the renderer's 8 views x 33.18 Mpx x 7 B
    by_hand = 8 * (82 * 33_177_600 + 4 * 2**20) + 8 * 33_177_600 * 7
    assert need == by_hand
    assert 22e9 < need < 26e9


def test_one_picture_keeps_no_encoder():
    assert vm.views_memory([(4096, 4096)], "hevc", 45, (820, 455), image=True) == \
        45 * 820 * 455 * 7


def test_h264_and_hevc_hold_more_than_ffv1():  # the measured order, which the docs' advice follows
    size = [(3840, 2160)]
    assert vm.views_memory(size, "ffv1", 8, size[0]) < vm.views_memory(size, "h264", 8, size[0]) \
        < vm.views_memory(size, "hevc", 8, size[0])


@pytest.mark.parametrize("layout, files, views", [("views", 8, 8), ("grid", 1, 8), ("sbs", 1, 2), ("anaglyph", 1, 2)])
def test_a_layout_counts_its_files_and_the_views_it_renders(layout, files, views, monkeypatch):
    seen = {}
    monkeypatch.setattr(vm, "warn_views_memory",
                        lambda sizes, codec, n, size, image: seen.update(files=len(sizes), views=n, image=image))
    lay = display.make_layout(layout, mv.ViewConfig(8))
    vm.warn_layout_memory(lay, lay.outputs("o.mkv", (64, 48)), "ffv1", (64, 48))
    assert seen == {"files": files, "views": views, "image": False}


def test_a_png_name_is_one_picture(monkeypatch):
    seen = {}
    monkeypatch.setattr(vm, "warn_views_memory", lambda sizes, codec, n, size, image: seen.update(image=image))
    lay = display.make_layout("grid", mv.ViewConfig(4))
    vm.warn_layout_memory(lay, ["q.png"], "ffv1", (64, 48))
    assert seen == {"image": True}


def test_warns_once_naming_the_need_and_what_is_free(caplog):
    size = (7680, 4320)
    with caplog.at_level(logging.WARNING, "igde_stream.stream"):
        assert vm.warn_views_memory([size] * 8, "h264", 8, size, available=16 * GB)
    (rec,) = caplog.records
    need = vm.views_memory([size] * 8, "h264", 8, size)
    assert f"about {need / GB:.1f} GB" in rec.getMessage() and "16.0 GB is free" in rec.getMessage()
    assert "8 h264 files of 7680x4320" in rec.getMessage() and "--views-codec ffv1" in rec.getMessage()


def test_quiet_where_it_fits_or_is_small():
    size = (7680, 4320)
    assert not vm.warn_views_memory([size] * 8, "ffv1", 8, size, available=64 * GB)
    assert not vm.warn_views_memory([(64, 48)], "ffv1", 8, (64, 48), available=1)  # under QUIET_BYTES


def test_available_memory_reads_the_system():
    free = vm.available_memory()
    assert free is None or 2**20 < free < 2**50


def _inputs(tmp_path):
    colors, depths, _ = scene(2, (64, 48))
    return (write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(25)),
            write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=Fraction(25)))


def test_views_render_warns_before_the_first_frame_and_still_writes(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(vm, "QUIET_BYTES", 0)
    monkeypatch.setattr(vm, "available_memory", lambda: 1000)
    color, depth = _inputs(tmp_path)
    with caplog.at_level(logging.WARNING, "igde_stream.stream"):
        n, paths = render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(4, 12), layout="views")
    assert n == 2 and all(p.exists() for p in paths)
    (msg,) = [r.getMessage() for r in caplog.records if "memory" in r.getMessage()]
    assert "4 ffv1 files of 64x48" in msg and "4 rendered views" in msg


def test_the_one_pass_views_warn_too(tmp_path, monkeypatch, caplog, enhancer):
    from igde_stream.stream import enhance_file
    from igde_stream.stream.outputs import ViewsOptions

    monkeypatch.setattr(vm, "QUIET_BYTES", 0)
    monkeypatch.setattr(vm, "available_memory", lambda: 1000)
    color, depth = _inputs(tmp_path)
    with caplog.at_level(logging.WARNING, "igde_stream.stream"):
        enhance_file(color, depth, tmp_path / "o.mkv", enhancer=enhancer, views_path=tmp_path / "v.mkv",
                     views=ViewsOptions(config=mv.ViewConfig(4, 12), layout="sbs"))
    (msg,) = [r.getMessage() for r in caplog.records if "memory" in r.getMessage()]
    assert "1 ffv1 file of 128x48" in msg and "2 rendered views" in msg
