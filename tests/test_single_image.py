"""One image in, one image out: ``igde-stream photo.png depth.png -o out.png`` (the depth map of one
photograph), written as exactly as a sequence's frame; an input of more frames is refused, before
the model runs where its length is known and at its second frame where it is not, leaving nothing."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest

from conftest import scene
from igde_stream.cli import main
from igde_stream.errors import IGDEError
from igde_stream.stream import enhance_file
from igde_stream.stream.info import VideoInfo
from igde_stream.stream.writer import DepthWriter

cv2 = pytest.importorskip("cv2")


def _one(tmp_path, bits, suffix=".png"):
    colors, depths, _ = scene(1, (48, 32), bits=bits)
    assert cv2.imwrite(str(tmp_path / "c.png"), colors[0][..., ::-1])
    assert cv2.imwrite(str(tmp_path / f"d{suffix}"), depths[0])
    return colors[0], depths[0]


@pytest.mark.parametrize("bits, suffix", [(8, ".png"), (16, ".png"), (16, ".tif"), (8, ".tiff"), (16, ".pgm"), (8, ".pgm")])
def test_one_image_in_one_image_out_holds_the_enhanced_values(tmp_path, enhancer, bits, suffix):
    color, depth = _one(tmp_path, bits)
    summary = enhance_file(tmp_path / "c.png", tmp_path / "d.png", tmp_path / f"out{suffix}", enhancer=enhancer)
    got = cv2.imread(str(tmp_path / f"out{suffix}"), cv2.IMREAD_UNCHANGED)  # read by OpenCV, not by the project
    want = enhancer.enhance(color[None], depth[None])[0]
    assert summary["frames"] == 1 and got.dtype == depth.dtype
    np.testing.assert_array_equal(got, want)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["c.png", "d.png", f"out{suffix}"])


def test_a_float_depth_image_comes_back_as_the_float_patterns_frame(tmp_path, enhancer):
    """A .pfm depth in, a .pfm out, in the input's units: the same file as frame 0 of a .pfm pattern
    (whose float mapping tests/test_float_depth*.py check against NumPy)."""
    _, depth = _one(tmp_path, 16)
    metres = depth.astype(np.float32) / 1000 + 0.5
    assert cv2.imwrite(str(tmp_path / "d.pfm"), metres)
    enhance_file(tmp_path / "c.png", tmp_path / "d.pfm", tmp_path / "out.pfm", enhancer=enhancer)
    enhance_file(tmp_path / "c.png", tmp_path / "d.pfm", tmp_path / "seq" / "%d.pfm", enhancer=enhancer)
    got = cv2.imread(str(tmp_path / "out.pfm"), cv2.IMREAD_UNCHANGED)
    assert got.dtype == np.float32 and got.shape == depth.shape
    assert (tmp_path / "out.pfm").read_bytes() == (tmp_path / "seq" / "0.pfm").read_bytes()


def test_more_frames_than_one_are_refused_before_the_model(tmp_path, monkeypatch, capsys):
    from igde_stream.enhancer import Enhancer

    colors, depths, _ = scene(3, (48, 32), bits=8)
    for k in range(3):
        (tmp_path / "c").mkdir(exist_ok=True)
        (tmp_path / "d").mkdir(exist_ok=True)
        assert cv2.imwrite(str(tmp_path / "c" / f"{k}.png"), colors[k][..., ::-1])
        assert cv2.imwrite(str(tmp_path / "d" / f"{k}.png"), depths[k])

    def ran(*args, **kwargs):
        raise AssertionError("the model ran")

    monkeypatch.setattr(Enhancer, "enhance", ran)
    rc = main([str(tmp_path / "c"), str(tmp_path / "d"), "-o", str(tmp_path / "out.png")])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 2 and err.endswith("out.png: one image, of an input of 3 frames: write a pattern such as "
                                    f"{tmp_path / 'out_%06d.png'} (one image a frame) or a video, "
                                    "or add --max-frames 1 for the first frame's")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "d"]


def test_a_stream_of_unknown_length_is_refused_at_its_second_frame(tmp_path):
    info = VideoInfo(path="-", codec="rawvideo", width=8, height=4, pix_fmt="gray", time_base=Fraction(1, 25),
                     rate=Fraction(25), start_pts=0, frames=None, duration=None)
    w = DepthWriter(tmp_path / "out.png", info)
    w.write(np.zeros((4, 8), np.uint8), 0)
    with pytest.raises(IGDEError, match="one image, of an input of more than one frame: write a pattern"):
        w.write(np.zeros((4, 8), np.uint8), 1)
    w.abort()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["out.jpg", "out.bmp", "out.webp"])
def test_a_depth_image_in_a_lossy_or_8_bit_only_format_is_refused(tmp_path, enhancer, name, capsys):
    _one(tmp_path, 16)
    rc = main([str(tmp_path / "c.png"), str(tmp_path / "d.png"), "-o", str(tmp_path / name), "--model", "igde-tiny"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 2 and ("image outputs of depth are .exr, .jp2, .pfm, .pgm, .png, .ppm, .tif, .tiff (depth kept exactly), "
                        "not .") in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "d.png"]


def _pair(tmp_path, n=1):
    colors, depths, _ = scene(n, (48, 32), bits=8)
    if n == 1:
        assert cv2.imwrite(str(tmp_path / "c.png"), colors[0][..., ::-1])
        assert cv2.imwrite(str(tmp_path / "d.png"), depths[0])
        return tmp_path / "c.png", tmp_path / "d.png", colors[0], depths[0]
    for k in range(n):
        (tmp_path / "c").mkdir(exist_ok=True)
        (tmp_path / "d").mkdir(exist_ok=True)
        assert cv2.imwrite(str(tmp_path / "c" / f"{k}.png"), colors[k][..., ::-1])
        assert cv2.imwrite(str(tmp_path / "d" / f"{k}.png"), depths[k])
    return tmp_path / "c", tmp_path / "d", None, None


@pytest.mark.parametrize("argv, layout, options", [
    (["--quilt", "4x2"], "quilt", {"quilt": "4x2"}),
    (["--quilt", "portrait"], "quilt", {"quilt": "portrait"}),  # a preset by --quilt, as the main command takes it
    (["--layout", "sbs", "--codec", "h264"], "sbs", {}),  # one picture: PNG whatever --codec
    (["--layout", "anaglyph"], "anaglyph", {}),
])
def test_views_render_of_one_photograph_writes_one_png(tmp_path, argv, layout, options, capsys):
    """A quilt, a stereo pair or an anaglyph of one photograph, as one PNG holding the layout's frame
    exactly (the layout run by hand on the same colour and depth, read back by OpenCV)."""
    from igde_stream import display, multiview as mv
    from igde_stream.views_cli import main as views_main

    c, d, color, depth = _pair(tmp_path)
    assert views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.png"), *argv]) == 0
    said = capsys.readouterr()
    assert "wrote 1 frame (" in said.out + said.err and ", png) to " in said.out + said.err
    if "quilt" in options:
        spec = display.QUILT_PRESETS.get(options["quilt"]) or display.parse_quilt(options["quilt"])
        lay = display.make_layout("quilt", mv.ViewConfig(spec.cols * spec.rows), quilt=spec)
    else:
        lay = display.make_layout(layout, mv.ViewConfig(8))
    (name,) = [p.name for p in lay.outputs(tmp_path / "v.png", (48, 32))]
    want = lay.frames(color, depth)[0]
    got = cv2.imread(str(tmp_path / name), cv2.IMREAD_COLOR)[..., ::-1]
    np.testing.assert_array_equal(got, want)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["c.png", "d.png", name])


def test_views_of_a_clip_into_one_png_are_refused_before_rendering(tmp_path, capsys):
    from igde_stream.views_cli import main as views_main

    c, d, _, _ = _pair(tmp_path, 3)
    assert views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.png")]) == 2
    # a video only: views are not written as image patterns (v_%06d.png is refused), so none is advised
    assert capsys.readouterr().err.strip().endswith(
        "v.png: one image, of an input of 3 frames: write a video (v.mkv: .mkv or .mp4), "
        "or add --max-frames 1 for the first frame's")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "d"]


def test_the_one_pass_views_and_rgbd_of_one_photograph_are_pngs(tmp_path, enhancer):
    """--views-out g.png and --rgbd-out r.png beside -o e.png: each the layout of the enhanced depth."""
    from igde_stream import display, multiview as mv

    c, d, color, depth = _pair(tmp_path)
    enhance_file(c, d, tmp_path / "e.png", enhancer=enhancer, views_path=tmp_path / "g.png",
                 rgbd_path=tmp_path / "r.png")
    out = cv2.imread(str(tmp_path / "e.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(out, enhancer.enhance(color[None], depth[None])[0])
    grid = display.make_layout("grid", mv.ViewConfig(8)).frames(color, out)[0]
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "g.png"))[..., ::-1], grid)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "r.png"))[..., ::-1], display.rgbd_frame(color, out))


def test_views_of_the_first_frame_of_a_clip_into_one_png_with_max_frames_1(tmp_path, capsys):
    """--max-frames 1 makes one picture of a clip's first frame: the PNG holds the layout of frame 0
    (the grid run by hand on the first colour and depth images, read back by OpenCV)."""
    from igde_stream import display, multiview as mv
    from igde_stream.views_cli import main as views_main

    c, d, _, _ = _pair(tmp_path, 3)
    assert views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.png"), "--max-frames", "1"]) == 0
    color = cv2.imread(str(c / "0.png"), cv2.IMREAD_COLOR)[..., ::-1]
    depth = cv2.imread(str(d / "0.png"), cv2.IMREAD_UNCHANGED)
    want = display.make_layout("grid", mv.ViewConfig(8)).frames(color, depth)[0]
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "v.png"))[..., ::-1], want)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "d", "v.png"]


@pytest.mark.parametrize("bits", [8, 16])
def test_a_pgm_sequence_holds_the_enhanced_values_with_the_maxval_of_its_bit_depth(tmp_path, enhancer, bits):
    """-o out/%d.pgm (16-bit PGM, as robotics tools store depth): binary P5, maxval 255 or 65535 in the
    header (read here by hand from the spec: 'P5', width, height, maxval, one whitespace, then the
    samples, two bytes big-endian above 255), samples equal to the enhanced frames."""
    colors, depths, _ = scene(2, (24, 16), bits=bits)
    (tmp_path / "c").mkdir()
    (tmp_path / "d").mkdir()
    for k in range(2):
        assert cv2.imwrite(str(tmp_path / "c" / f"{k}.png"), colors[k][..., ::-1])
        assert cv2.imwrite(str(tmp_path / "d" / f"{k}.png"), depths[k])
    enhance_file(tmp_path / "c", tmp_path / "d", tmp_path / "out" / "%d.pgm", enhancer=enhancer)
    want = enhancer.enhance(np.stack(colors), np.stack(depths))
    for k in range(2):
        data = (tmp_path / "out" / f"{k}.pgm").read_bytes()
        head = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)  # one whitespace after maxval, then samples
        assert tuple(int(x) for x in head.groups()) == (24, 16, 255 if bits == 8 else 65535)
        got = np.frombuffer(data[head.end():], ">u2" if bits == 16 else np.uint8).reshape(16, 24)
        np.testing.assert_array_equal(got, want[k])
