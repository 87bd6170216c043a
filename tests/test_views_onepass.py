"""One pass: ``igde-stream C D -o OUT --views-out V --rgbd-out R`` writes what enhance-then-render writes.

The reference is the two-step route a user has today: enhance to OUT, then ``igde-stream views
render C OUT -o V`` (and ``--layout rgbd``). With lossless codecs (FFV1) the one-pass files must
hold the same frames, bit for bit, at the same timestamps.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import read_video
from igde_stream import cli, display, views_cli
from igde_stream import multiview as mv
from igde_stream.errors import IGDEError
from igde_stream.stream import VideoReader, enhance_file
from igde_stream.stream.outputs import ViewsOptions


def _frames_and_pts(path):
    frames, pts, _ = read_video(path)
    return frames, pts


def _same_video(a, b):
    fa, pa = _frames_and_pts(a)
    fb, pb = _frames_and_pts(b)
    assert len(fa) == len(fb) > 0 and pa == pb
    for x, y in zip(fa, fb):
        np.testing.assert_array_equal(x, y)


def _model_args(tiny_model):
    return ["--model", str(tiny_model), "--backend", "torch", "-q"]


@pytest.mark.parametrize("layout_args, renderer", [
    ([], "numpy"),  # grid 2 x 4, the default
    (["--quilt", "4x2"], "torch"),  # quilt, rendered by the torch renderer on the CPU
])
def test_views_and_rgbd_in_one_pass_equal_enhance_then_render(make_clip, tiny_model, layout_args, renderer):
    clip = make_clip(n=6)
    d = clip["out"].parent
    views, rgbd = d / "views.mkv", d / "rgbd.mkv"
    rc = cli.main([str(clip["color"]), str(clip["depth"]), "-o", str(clip["out"]), "--views-out", str(views),
                   "--views", "8", "--baseline", "20", "--rgbd-out", str(rgbd), "--renderer", renderer,
                   *layout_args, *_model_args(tiny_model)])
    assert rc == 0
    ref_views, ref_rgbd = d / "ref_views.mkv", d / "ref_rgbd.mkv"
    assert views_cli.main(["render", str(clip["color"]), str(clip["out"]), "-o", str(ref_views), "--views", "8",
                           "--baseline", "20", *layout_args, "--quiet"]) == 0
    assert views_cli.main(["render", str(clip["color"]), str(clip["out"]), "-o", str(ref_rgbd), "--layout", "rgbd",
                           "--quiet"]) == 0
    if layout_args:  # the quilt's name carries its layout, in both routes
        views, ref_views = d / "views_qs4x2a1.33.mkv", d / "ref_views_qs4x2a1.33.mkv"
    _same_video(views, ref_views)
    _same_video(rgbd, ref_rgbd)
    # RGB-D round trip: the right half is the enhanced depth, the left half the colour as decoded
    out_frames, _ = _frames_and_pts(clip["out"])
    with VideoReader(clip["color"], "color") as r:
        colors = [f.data for f in r.frames()]
    rgbd_frames, _ = _frames_and_pts(rgbd)
    assert len(rgbd_frames) == len(out_frames) == len(colors) == 6
    for frame, dep, col in zip(rgbd_frames, out_frames, colors):
        c, dd = display.unpack_rgbd(frame)
        np.testing.assert_array_equal(dd, dep)
        np.testing.assert_array_equal(c, col)


def test_library_call_with_an_enhancer_and_the_views_on_the_enhanced_depth(make_clip, enhancer):
    clip = make_clip(n=5, bits=16)
    d = clip["out"].parent
    cfg = mv.ViewConfig(4, 16.0, 0.4)
    s = enhance_file(clip["color"], clip["depth"], clip["out"], enhancer=enhancer, views_path=d / "v.mkv",
                     rgbd_path=d / "r.mkv", views=ViewsOptions(config=cfg, layout="views", depth_near="black"))
    assert s["renderer"] == "numpy (cpu)" and s["rgbd_output"] == str(d / "r.mkv")
    assert s["views_outputs"] == [str(d / f"v_v{k}.mkv") for k in range(4)]
    out16, _ = _frames_and_pts(clip["out"])
    with VideoReader(clip["color"], "color") as r:
        colors = [f.data for f in r.frames()]
    per_view = [_frames_and_pts(d / f"v_v{k}.mkv")[0] for k in range(4)]
    for t, (c, dep) in enumerate(zip(colors, out16)):
        expect = mv.warp_views(c, dep, cfg).views  # 16-bit enhanced depth, rendered directly
        for k in range(4):
            np.testing.assert_array_equal(per_view[k][t], expect[k])
        _, d8 = display.unpack_rgbd(_frames_and_pts(d / "r.mkv")[0][t], near="black")
        np.testing.assert_array_equal(d8, ((dep.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8))


@pytest.mark.parametrize("threads", [1, 3])
def test_threads_reach_the_views_and_rgbd_encoders(make_clip, enhancer, monkeypatch, threads):
    """threads= (--threads: decoder / encoder threads) sets the views' and the RGB-D encoders' thread
    count too, with FFV1 slice threads as the depth's encoder (before: FFmpeg's own count, whatever
    --threads said)."""
    from igde_stream.stream import views as views_mod

    seen = []
    real_write = views_mod.ColorWriter.write

    def write(self, img, pts):
        real_write(self, img, pts)
        seen.append((self.path.name, self.stream.thread_count, self.stream.thread_type))

    monkeypatch.setattr(views_mod.ColorWriter, "write", write)
    clip = make_clip(n=2)
    d = clip["out"].parent
    enhance_file(clip["color"], clip["depth"], clip["out"], enhancer=enhancer, views_path=d / "v.mkv",
                 rgbd_path=d / "r.mkv", threads=threads, views=ViewsOptions(config=mv.ViewConfig(2), layout="grid"))
    assert {name for name, _, _ in seen} == {"v.mkv", "r.mkv"}
    assert all(count == threads and str(kind).upper().endswith("SLICE") for _, count, kind in seen), seen


def _listing(path):
    return sorted(p.name for p in path.iterdir())


@pytest.mark.parametrize("extra, message", [
    (["--layout", "quilt"], "needs --views-out"),
    (["--depth-near", "black"], "needs --rgbd-out"),
    (["--views-out", "EXISTS"], "already exists"),
    (["--views-out", "v.mkv", "--quilt", "9x9x"], "--quilt"),
    (["--views-out", "v.mkv", "--squeeze"], "not an option of --layout grid"),
    (["--rgbd-out", "SAME"], "same path"),
])
def test_bad_options_one_line_exit_2_nothing_written(make_clip, tiny_model, capsys, extra, message):
    clip = make_clip(n=2)
    d = clip["out"].parent
    (d / "exists.mkv").write_bytes(b"keep")
    extra = [str(d / "exists.mkv") if e == "EXISTS" else str(clip["out"]) if e == "SAME"
             else str(d / e) if e.endswith(".mkv") else e for e in extra]
    before = _listing(d)
    rc = cli.main([str(clip["color"]), str(clip["depth"]), "-o", str(clip["out"]), *extra, *_model_args(tiny_model)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and "error" in err and message in err, err
    assert _listing(d) == before
    assert (d / "exists.mkv").read_bytes() == b"keep"


def test_a_failure_mid_stream_leaves_no_output(make_clip, enhancer, monkeypatch):
    from igde_stream.stream import views as sv

    clip = make_clip(n=6)
    d = clip["out"].parent
    before = _listing(d)
    real = sv.ColorWriter.write

    def failing(self, img, pts):
        if self.frames == 3:
            raise IGDEError("disk full (simulated)", self.path)
        real(self, img, pts)

    monkeypatch.setattr(sv.ColorWriter, "write", failing)
    with pytest.raises(IGDEError, match="simulated"):
        enhance_file(clip["color"], clip["depth"], clip["out"], enhancer=enhancer, gt_path=clip["gt"],
                     report_path=d / "r.json", views_path=d / "v.mkv", rgbd_path=d / "rgbd.mkv")
    assert _listing(d) == before  # no depth, report, views or RGB-D file, and no temporary one


def test_renderer_choice():
    from igde_stream.stream.outputs import pick_renderer

    class Fake:
        def __init__(self, device):
            self.backend = type("B", (), {"device": device})()

    assert pick_renderer("auto", Fake("cpu"))[1] == "numpy (cpu)"
    assert pick_renderer("torch", Fake("cpu"))[1] == "torch (cpu)"
    assert pick_renderer("numpy", Fake("cuda:0"))[1] == "numpy (cpu)"
    import torch

    if not torch.cuda.is_available():  # auto on a CUDA model without a visible GPU falls back, saying so
        assert "no CUDA" in pick_renderer("auto", Fake("cuda:0"))[1]
    with pytest.raises(IGDEError, match="rgbd-out"):
        ViewsOptions(layout="rgbd").check()


def test_views_options_without_the_layouts_options_are_one_line():
    """``ViewsOptions(layout="quilt")`` without ``layout_options``: an IGDEError naming what is
    missing, from ``check`` (before any work) and ``make_layout``; not the constructor's TypeError."""
    for layout, missing in (("quilt", "quilt"), ("lenticular", "calibration and panel")):
        for call in (ViewsOptions(layout=layout).check, ViewsOptions(layout=layout).make_layout):
            with pytest.raises(IGDEError, match=f"the {layout} layout needs {missing}$"):
                call()
    with pytest.raises(IGDEError, match="not an option of the grid layout"):
        ViewsOptions(layout="grid", layout_options={"squeeze": True}).check()


def test_views_render_with_the_torch_renderer_writes_the_same_file_frames(make_clip):
    clip = make_clip(n=3)
    d = clip["out"].parent
    for renderer in ("numpy", "torch"):
        assert views_cli.main(["render", str(clip["color"]), str(clip["gt"]), "-o", str(d / f"{renderer}.mkv"),
                               "--layout", "sbs", "--renderer", renderer, "--quiet"]) == 0
    _same_video(d / "numpy.mkv", d / "torch.mkv")
