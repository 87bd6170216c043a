"""``Layout.frame_sizes``: each output file's frame size, known before any view is rendered, so that
a size no encoder takes is refused before the work (a grid of 8 views of a 7680 x 4320 frame used to
be refused at the first frame, after that frame's rendering and, in one pass, the model's batch)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from igde_stream import display, multiview as mv
from igde_stream.errors import IGDEError
from igde_stream.stream import views

CAL = dict(n_views=8, pitch=4.5, tan_slant=1 / 3, offset=0.1)
LAYOUTS = [
    ("grid", {}), ("grid", {"rows": 1}), ("sbs", {}), ("sbs", {"squeeze": True}), ("tab", {}),
    ("tab", {"squeeze": True}), ("anaglyph", {}), ("views", {}), ("quilt", {"quilt": display.QuiltSpec(4, 2)}),
    ("quilt", {"quilt": display.QUILT_PRESETS["portrait"]}), ("rgbd", {}),
    ("lenticular", {"calibration": display.LenticularCalibration(**CAL), "panel": (80, 60)}),
]


@pytest.mark.parametrize("name, options", LAYOUTS)
@pytest.mark.parametrize("size", [(40, 30), (33, 17)])
def test_frame_sizes_are_the_rendered_frames_sizes(name, options, size):
    """What frames() gives, frame by frame and file by file, against what frame_sizes() said first."""
    if name == "quilt" and options["quilt"].size is not None and size == (33, 17):
        pytest.skip("one preset size is enough")
    w, h = size
    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (h, w, 3), np.uint8)
    depth = rng.integers(0, 256, (h, w), np.uint8)
    lay = display.make_layout(name, mv.ViewConfig(8), **options)
    lay.outputs("o.mkv", size)
    frames = lay.frames(color, depth)
    assert lay.frame_sizes(size) == [(f.shape[1], f.shape[0]) for f in frames]


def test_frame_sizes_by_hand():
    cfg = mv.ViewConfig(8)
    assert display.make_layout("grid", cfg).frame_sizes((7680, 4320)) == [(30720, 8640)]  # 2 x 4
    assert display.make_layout("sbs", cfg).frame_sizes((1920, 1080)) == [(3840, 1080)]
    assert display.make_layout("tab", cfg, squeeze=True).frame_sizes((1920, 1080)) == [(1920, 1080)]
    assert display.make_layout("views", mv.ViewConfig(3)).frame_sizes((64, 48)) == [(64, 48)] * 3
    assert display.make_layout("quilt", mv.ViewConfig(48), quilt=display.QUILT_PRESETS["portrait"]).frame_sizes(
        (1920, 1080)) == [(3360, 3360)]


def _black_pair(folder, w: int, h: int) -> None:
    """c.mkv and d.mkv: one black frame of w x h each, colour and gray depth, FFV1 (coded in a moment)."""
    for name, fmt in (("c.mkv", "rgb24"), ("d.mkv", "gray")):
        with av.open(str(folder / name), "w") as out:
            s = out.add_stream("ffv1", rate=25)
            s.width, s.height, s.pix_fmt = w, h, "bgr0" if fmt == "rgb24" else "gray"
            f = av.VideoFrame.from_ndarray(np.zeros((h, w, 3) if fmt == "rgb24" else (h, w), np.uint8), format=fmt)
            for p in [*s.encode(f), *s.encode(None)]:
                out.mux(p)


def _no_render(*args, **kwargs):
    raise AssertionError("rendered before the size was checked")


@pytest.mark.parametrize("codec", ["ffv1", "h264"])
def test_views_render_refuses_a_grid_beyond_ffmpeg_before_rendering(tmp_path, codec, monkeypatch):
    """`igde-stream views render` of an 8K clip as a grid of 8: one line, before the first frame is
    rendered, nothing left. The clip is one black frame of 7680 x 4320."""
    _black_pair(tmp_path, 7680, 4320)
    monkeypatch.setattr(views.display.Grid, "frames", _no_render)
    with pytest.raises(IGDEError, match=r"30720x8640 is beyond"):
        views.render_file(tmp_path / "c.mkv", tmp_path / "d.mkv", tmp_path / "v.mkv", codec=codec)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mkv", "d.mkv"]


def test_the_one_pass_views_output_refuses_its_size_before_the_model(tmp_path, monkeypatch, capsys):
    """--views-out with a grid no encoder holds: refused in one line before any frame is enhanced,
    no output at all (the depth output included). A 4400 x 40 clip as 8 views in one row is a
    35200 x 40 grid, over x264's largest side (16384)."""
    from igde_stream import cli
    from igde_stream.enhancer import Enhancer

    _black_pair(tmp_path, 4400, 40)
    monkeypatch.setattr(Enhancer, "enhance", _no_render)
    rc = cli.main([str(tmp_path / "c.mkv"), str(tmp_path / "d.mkv"), "-o", str(tmp_path / "o.mkv"), "--views-out",
                   str(tmp_path / "v.mp4"), "--views", "8", "--rows", "1", "--views-codec", "h264"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].endswith("v.mp4: 35200x40 is beyond H.264 (6,600 macroblocks a frame, its highest "
                                        "level holds 139,264; x264 codes sides up to 16384); use the hevc or ffv1 codec")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mkv", "d.mkv"]


def test_a_writer_opened_for_one_size_refuses_frames_of_another(tmp_path):
    w = views.ColorWriter(tmp_path / "v.mkv", "ffv1", Fraction(25), Fraction(1, 25), size=(32, 16))
    with pytest.raises(IGDEError, match="frame 0 is 16x16, not the 32x16 the writer was opened for"):
        w.write(np.zeros((16, 16, 3), np.uint8), 0)
    w.abort()
    assert not list(tmp_path.iterdir())
    with pytest.raises(IGDEError, match="30720x8640 is beyond"):  # refused at opening: no file made
        views.ColorWriter(tmp_path / "g.mkv", "ffv1", Fraction(25), Fraction(1, 25), size=(30720, 8640))
    assert not list(tmp_path.iterdir())
