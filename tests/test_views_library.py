"""The views stage's library calls at their edges: the view writer's size rule, the RGB-D log line,
a depth stream without a frame rate, and view_quality_files' defaults, stride, max_frames and
figure frame against the array form (multiview.view_quality_sequence) on the decoded frames."""

from __future__ import annotations

import dataclasses
import json
import logging
from fractions import Fraction

import numpy as np
import pytest
from conftest import read_video, write_video
from scenes import square_scene, textured

from igde_stream import multiview as mv
from igde_stream.errors import IGDEError
from igde_stream.stream import views

T, H, W = 5, 24, 40


@pytest.fixture
def moving(tmp_path):
    """Five frames, lossless colour and depth: a square that moves 2 px right per frame, its
    degraded depth bleeding 3 px further right; every frame differs, so a wrong stride shows."""
    color = np.stack([textured(H, W, seed=i) for i in range(T)])
    gt = np.stack([(square_scene(H, W, box=(6, 18, 8 + 2 * i, 20 + 2 * i)) * 255).astype(np.uint8)
                   for i in range(T)])
    bad = gt.copy()
    for i in range(T):
        bad[i, 6:18, 20 + 2 * i:23 + 2 * i] = gt[i, 10, 10 + 2 * i]
    write_video(tmp_path / "c.mkv", color, fmt="rgb24", codec="ffv1", rate=Fraction(25))
    write_video(tmp_path / "gt.mkv", gt, fmt="gray", rate=Fraction(25))
    write_video(tmp_path / "d.mkv", bad, fmt="gray", rate=Fraction(25))
    return tmp_path, color, gt, bad


def _expected(color, gt, bad, cfg, stride=1, band=8, frames=None):
    """The array form on the same frames: what the file form must give."""
    sl = slice(None, None) if frames is None else slice(0, frames)
    return mv.view_quality_sequence(color[sl], gt[sl], {"degraded": bad[sl]}, cfg.n_views, cfg.baseline,
                                    cfg.zero_parallax, cfg.max_depth, band, stride, cfg.depth_order)


def _same_table(got, want):
    assert got["frames"] == want["frames"]
    for a, b in zip(got["depths"]["degraded"]["per_view"], want["depths"]["degraded"]["per_view"]):
        assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_view_quality_files_equals_the_array_form(moving, stride):
    tmp, color, gt, bad = moving
    decoded = np.stack(read_video(tmp / "c.mkv")[0])
    np.testing.assert_array_equal(decoded, color)  # lossless, so the two forms see the same frames
    cfg = mv.ViewConfig(4, 12)
    got, _ = views.view_quality_files(tmp / "c.mkv", tmp / "gt.mkv", {"degraded": tmp / "d.mkv"}, cfg,
                                      stride=stride)
    assert got["frames"] == len(range(0, T, stride)) and got["frame_stride"] == stride
    _same_table(got, _expected(color, gt, bad, cfg, stride))


def test_view_quality_files_defaults_every_frame_and_an_8_px_band(moving):
    tmp, color, gt, bad = moving
    cfg = mv.ViewConfig(4, 12)
    got, fig = views.view_quality_files(tmp / "c.mkv", tmp / "gt.mkv", {"degraded": tmp / "d.mkv"}, cfg)
    assert got["frames"] == T and got["frame_stride"] == 1 and got["band_radius"] == 8
    _same_table(got, _expected(color, gt, bad, cfg))
    # the band matters on these frames: a 2 px band gives other band figures
    narrow, _ = views.view_quality_files(tmp / "c.mkv", tmp / "gt.mkv", {"degraded": tmp / "d.mkv"}, cfg, band=2)
    _same_table(narrow, _expected(color, gt, bad, cfg, band=2))
    assert narrow["depths"]["degraded"]["mean"] != got["depths"]["degraded"]["mean"]
    assert fig[0] == 0
    np.testing.assert_array_equal(fig[1], color[0])
    np.testing.assert_array_equal(fig[3]["degraded"], bad[0])


def test_max_frames_counts_the_frames_used(moving):
    tmp, color, gt, bad = moving
    cfg = mv.ViewConfig(4, 12)
    got, _ = views.view_quality_files(tmp / "c.mkv", tmp / "gt.mkv", {"degraded": tmp / "d.mkv"}, cfg,
                                      max_frames=2)
    assert got["frames"] == 2
    _same_table(got, _expected(color, gt, bad, cfg, frames=2))
    got, _ = views.view_quality_files(tmp / "c.mkv", tmp / "gt.mkv", {"degraded": tmp / "d.mkv"}, cfg,
                                      max_frames=2, stride=2)
    assert got["frames"] == 2  # frames 0 and 2
    _same_table(got, _expected(color, gt, bad, cfg, stride=2, frames=3))


@pytest.mark.parametrize("stride, figure_frame, want", [(1, 0, 0), (1, 3, 3), (2, 1, 2), (2, 3, 4), (3, 4, None)])
def test_figure_frame_is_the_first_used_frame_at_or_after_it(moving, stride, figure_frame, want):
    tmp, color, gt, bad = moving
    _, fig = views.view_quality_files(tmp / "c.mkv", tmp / "gt.mkv", {"degraded": tmp / "d.mkv"},
                                      mv.ViewConfig(2, 12), stride=stride, figure_frame=figure_frame)
    if want is None:  # frames 0 and 3 are used; none at or after 4
        assert fig is None
        return
    i, c, g, deps = fig
    assert i == want
    np.testing.assert_array_equal(c, color[want])
    np.testing.assert_array_equal(g, gt[want])
    np.testing.assert_array_equal(deps["degraded"], bad[want])


def test_two_views_are_enough(moving):
    tmp, color, gt, bad = moving
    cfg = mv.ViewConfig(2, 12)
    got, _ = views.view_quality_files(tmp / "c.mkv", tmp / "gt.mkv", {"degraded": tmp / "d.mkv"}, cfg)
    assert len(got["depths"]["degraded"]["per_view"]) == 2
    _same_table(got, _expected(color, gt, bad, cfg))
    with pytest.raises(IGDEError, match="at least 2 views"):
        views.view_quality_files(tmp / "c.mkv", tmp / "gt.mkv", {"degraded": tmp / "d.mkv"}, mv.ViewConfig(1))


@pytest.mark.parametrize("size, ok", [((10, 6), True), ((12, 8), True), ((11, 6), False), ((10, 7), False)])
def test_h264_views_need_even_sizes_not_multiples_of_four(tmp_path, size, ok):
    w, h = size
    writer = views.ColorWriter(tmp_path / "v.mp4", "h264", Fraction(25), Fraction(1, 25))
    img = np.full((h, w, 3), 128, np.uint8)
    if not ok:
        with pytest.raises(IGDEError, match=f"needs even sizes, got {w}x{h}"):
            writer.write(img, 0)
        writer.abort()
        assert not list(tmp_path.iterdir())
        return
    writer.write(img, 0)
    writer.commit()
    frames, _, facts = read_video(tmp_path / "v.mp4")
    assert (facts["width"], facts["height"]) == (w, h) and facts["pix_fmt"] == "yuv420p"
    assert len(frames) == 1 and np.abs(frames[0].astype(int) - 128).max() <= 2


@pytest.mark.parametrize("dtype, max_depth, peak", [
    (np.uint16, None, "65535"), (np.uint16, 4000.0, "4000"), (np.float32, None, "1"), (np.float32, 10.0, "10"),
])
def test_rescale_line_names_the_peak(caplog, dtype, max_depth, peak):
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        assert views._say_rescaled("d.mkv", np.zeros((2, 2), dtype), max_depth) is True
    assert caplog.messages == [f"d.mkv: {np.dtype(dtype).name} depth rescaled to 8 bits for the RGB-D layout "
                               f"(depth {peak} -> 255)"]


@pytest.mark.parametrize("dtype, lines", [(np.uint8, 0), (np.uint16, 1)])
def test_rgbd_writer_says_the_rescale_once(tmp_path, caplog, dtype, lines):
    c = textured(8, 12)
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        w = views.RGBDWriter(tmp_path / "x.mkv", "ffv1", Fraction(25), Fraction(1, 25))
        for k in range(3):
            w.write(c, np.full((8, 12), 100 * k, dtype), k)
        w.close()
    assert sum("rescaled to 8 bits" in m for m in caplog.messages) == lines
    assert len(read_video(tmp_path / "x.mkv")[0]) == 3


@pytest.mark.parametrize("codec", ["ffv1", "h264"])
def test_a_frame_of_another_size_is_refused_not_rescaled(tmp_path, codec):
    """The RGB-D (and views) writer fixes the frame size at the first frame, like the depth writer:
    a later frame of another size was rescaled by the encoder to the first one's, without a word."""
    w = views.RGBDWriter(tmp_path / "x.mkv", codec, Fraction(25), Fraction(1, 25))
    w.write(textured(8, 12), np.full((8, 12), 100, np.uint8), 0)
    with pytest.raises(IGDEError, match=r"frame 1 is 16x4, the frames before it 24x8 \(a video keeps one frame size\)"):
        w.write(textured(4, 8), np.full((4, 8), 100, np.uint8), 1)
    w.write(textured(8, 12, seed=1), np.full((8, 12), 200, np.uint8), 1)  # the writer goes on
    w.close()
    assert len(read_video(tmp_path / "x.mkv")[0]) == 2


def test_depth_without_a_frame_rate_renders_at_25_fps(moving, monkeypatch):
    tmp, *_ = moving

    class NoRate(views.VideoReader):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if self.role == "depth":
                self.info = dataclasses.replace(self.info, rate=None)

    monkeypatch.setattr(views, "VideoReader", NoRate)
    n, paths = views.render_file(tmp / "c.mkv", tmp / "d.mkv", tmp / "o.mkv", mv.ViewConfig(2, 12), max_frames=2)
    frames, _, facts = read_video(paths[0])
    assert n == 2 and len(frames) == 2 and facts["rate"] == 25


def test_a_refused_float_depth_video_is_closed_like_the_others(moving, monkeypatch):
    """Float depth among the depths is refused; its reader, opened before the check, was left open
    (not yet in the list that the cleanup closes)."""
    from test_float_depth import write_pfm

    tmp, color, gt, bad = moving
    (tmp / "f").mkdir()
    for i in range(T):
        write_pfm(tmp / "f" / f"{i:06d}.pfm", gt[i].astype(np.float32) / 255)
    opened = []

    class Tracked(views.VideoReader):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(views, "VideoReader", Tracked)
    with pytest.raises(IGDEError, match="float depth"):
        views.view_quality_files(tmp / "c.mkv", tmp / "gt.mkv", {"degraded": tmp / "d.mkv", "f": tmp / "f"},
                                 mv.ViewConfig(3))
    assert len(opened) == 3 and all(r._closed for r in opened)


def test_render_file_without_the_layouts_options_is_one_line(tmp_path):
    """``render_file(..., layout="quilt")`` without ``quilt=``: an IGDEError naming it, before any
    input is opened (the inputs here do not exist)."""
    with pytest.raises(IGDEError, match="the quilt layout needs quilt$"):
        views.render_file(tmp_path / "c.mkv", tmp_path / "d.mkv", tmp_path / "v.mkv", layout="quilt")
    with pytest.raises(IGDEError, match="layout must be one of"):
        views.render_file(tmp_path / "c.mkv", tmp_path / "d.mkv", tmp_path / "v.mkv", layout="mosaic")


def test_view_quality_files_checks_the_range_of_each_stream_with_a_reused_enhancer(tmp_path, monkeypatch, caplog):
    """One Enhancer for several runs, as ``enhance_file`` takes it: each run's depth gets the
    Enhancer's range check (``new_stream``), not the first run's only."""
    import igde_stream.enhancer as enh

    class Same:
        name = "recorder"

        def run(self, color, depth):
            return depth

    monkeypatch.setattr(enh, "create_backend", lambda *a, **k: Same())
    enhancer = enh.Enhancer("igde-small", backend="torch", quiet=True)
    flat = np.stack([(square_scene(H, W, box=(6, 18, 8, 20)) * 20 + 10).astype(np.uint8) for _ in range(2)])
    write_video(tmp_path / "c.mkv", np.stack([textured(H, W, seed=i) for i in range(2)]), fmt="rgb24", codec="ffv1")
    write_video(tmp_path / "d.mkv", flat, fmt="gray")
    said = []
    for _ in range(2):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="igde_stream"):
            views.view_quality_files(tmp_path / "c.mkv", tmp_path / "d.mkv", {"d": tmp_path / "d.mkv"},
                                     mv.ViewConfig(n_views=2), enhancer=enhancer, enhance="d")
        said.append([r.getMessage() for r in caplog.records if r.getMessage().startswith("depth values span")])
    assert len(said[0]) == 1 and said[1] == said[0]  # the Enhancer's own warning (the views' start with the path)


@pytest.mark.parametrize("start, first, fig_at", [(0.08, 2, 4), (0.05, 2, 4), (0.15, 4, 4), (0.1, 3, 3)])
def test_a_start_measures_the_frames_from_the_first_at_or_after_it(moving, start, first, fig_at):
    """25 fps: frame k at k x 40 ms; from 0.05 s the first frame is 2 (0.08 s), from 0.08 s frame 2
    itself, from 0.15 s frame 4, from 0.1 s frame 3. Stride 2 counts from that frame (2, 4 used; 3); --figure-frame 3 is a
    frame number of the streams: the first used at or after it is 4."""
    tmp, color, gt, bad = moving
    cfg = mv.ViewConfig(4, 12)
    got, fig = views.view_quality_files(tmp / "c.mkv", tmp / "gt.mkv", {"degraded": tmp / "d.mkv"}, cfg,
                                        start=start, stride=2, figure_frame=3)
    sl = slice(first, None)
    _same_table(got, _expected(color[sl], gt[sl], bad[sl], cfg, stride=2))
    assert got["start"] == start and got["first_frame"] == first
    assert fig[0] == fig_at
    np.testing.assert_array_equal(fig[3]["degraded"], bad[fig_at])


def test_a_start_after_the_last_frame_is_refused(moving, tmp_path):
    tmp, *_ = moving
    with pytest.raises(IGDEError, match=r"no depth frame at or after --start 0\.5 s"):
        views.view_quality_files(tmp / "c.mkv", tmp / "gt.mkv", {"degraded": tmp / "d.mkv"}, mv.ViewConfig(4, 12),
                                 start=0.5)


def test_views_quality_takes_start_on_the_command_line(moving, capsys):
    from igde_stream.views_cli import main

    tmp, color, gt, bad = moving
    report = tmp / "q.json"
    assert main(["quality", str(tmp / "c.mkv"), "--gt", str(tmp / "gt.mkv"), "--depth", f"degraded={tmp / 'd.mkv'}",
                 "--views", "4", "--baseline", "12", "--start", "00:00.08", "--report", str(report), "-q"]) == 0
    got = json.loads(report.read_text())
    assert got["first_frame"] == 2 and got["frames"] == 3
    _same_table(got, _expected(color[2:], gt[2:], bad[2:], mv.ViewConfig(4, 12)))
