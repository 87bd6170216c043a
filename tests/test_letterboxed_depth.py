"""Depth whose picture sits between black bars (a monocular estimator's letterbox or padding, as a
fixed 518x518 export of a depth network hands back a 16:9 clip's depth) beside the colour it was
made from: the stretch warning names the crop that takes the bars off, and ``views render``, which
said nothing about any shape before, warns as the main command does."""

from __future__ import annotations

import logging
import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.stream.bars import picture_box
from igde_stream.views_cli import main as views_main

W, H, PIC, TOP = 48, 48, 27, 11  # a 48 x 27 picture (aspect 1.78, odd height) in a 48 x 48 frame


def _letterboxed(picture: np.ndarray) -> np.ndarray:
    """``picture`` (PIC x W) in the middle of an H x W frame, black above and below."""
    frame = np.zeros((H, W), picture.dtype)
    frame[TOP:TOP + PIC] = picture
    return frame


def _clips(tmp_path, n=3):
    """16:9 colour (64 x 36) and the letterboxed depth of its picture, both 8-bit gray / H.264 colour."""
    colors, depths, _ = scene(n, (64, 36))
    rows, cols = np.linspace(0, 35, PIC).round().astype(int), np.linspace(0, 63, W).round().astype(int)
    pictures = [np.clip(x[rows][:, cols], 1, 255).astype(np.uint8) for x in depths]  # nearest, no black
    c = write_video(tmp_path / "c.mp4", colors, fmt="rgb24")
    d = write_video(tmp_path / "d.mkv", [_letterboxed(p) for p in pictures], fmt="gray")
    return c, d, pictures


def test_the_picture_box_is_the_part_between_the_black_bars():
    """Hand-made frames: bars above and below, on the right (padding to a size), on all four sides;
    a frame without bars, and one whose side is a single other value (the nearest wall clipped at 255
    by a per-frame normalisation), have none."""
    rng = np.random.default_rng(1)
    pic = rng.integers(20, 256, (PIC, W)).astype(np.uint8)
    assert picture_box(_letterboxed(pic)) == (0, TOP, W, PIC)
    padded = np.zeros((30, 40), np.uint8)
    padded[:, :35] = rng.integers(20, 256, (30, 35))
    assert picture_box(padded) == (0, 0, 35, 30)
    framed = np.zeros((40, 50), np.uint16)
    framed[3:37, 5:45] = rng.integers(5000, 65536, (34, 40))
    assert picture_box(framed) == (5, 3, 40, 34)
    assert picture_box(rng.integers(20, 256, (30, 40)).astype(np.uint8)) is None
    wall = rng.integers(20, 200, (30, 40)).astype(np.uint8)
    wall[:, :4] = 255
    assert picture_box(wall) is None
    one_line = rng.integers(20, 256, (30, 40)).astype(np.uint8)
    one_line[0] = 0  # one black row is no bar
    assert picture_box(one_line) is None
    float_bars = np.full((30, 40), np.nan, np.float32)  # float depth padded with NaN (no value)
    float_bars[4:26] = rng.uniform(0.5, 3.0, (22, 40))
    assert picture_box(float_bars) == (0, 4, 40, 22)


def test_views_render_names_the_crop_of_a_letterboxed_depth(tmp_path, capsys):
    """Before, ``views render`` stretched the colour over the 48 x 48 frame, bars and all, without a
    word; now it warns, naming the picture's box and an ffmpeg crop."""
    c, d, _ = _clips(tmp_path)
    assert views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.mkv"), "--layout", "sbs"]) == 0
    said = capsys.readouterr().err
    assert "one is stretched" in said
    assert f"holds the picture in {W}x{PIC} at x=0, y={TOP} between black bars" in said
    assert f"-vf format=gray,crop={W}:{PIC}:0:{TOP} -c:v ffv1 d_cropped.mkv" in said


def test_the_main_command_names_the_crop_too(tmp_path, caplog, enhancer):
    from igde_stream.stream import enhance_file

    c, d, _ = _clips(tmp_path)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        enhance_file(c, d, tmp_path / "o.mkv", enhancer=enhancer)
    assert f"crop={W}:{PIC}:0:{TOP}" in " | ".join(caplog.messages)


def test_a_stretched_depth_without_bars_keeps_the_sensor_advice(tmp_path, capsys):
    colors, depths, _ = scene(2, (64, 36))
    c = write_video(tmp_path / "c.mp4", colors, fmt="rgb24")
    d = write_video(tmp_path / "d.mkv", [np.clip(x[:, :36], 1, 255).astype(np.uint8) for x in depths], fmt="gray")
    assert views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.mkv")]) == 0
    said = capsys.readouterr().err
    assert "one is stretched" in said and "map the depth to the colour camera" in said
    assert "black bars" not in said


def test_views_render_warns_of_a_portrait_colour_beside_landscape_depth(tmp_path, capsys):
    """A phone's upright colour beside a LiDAR's landscape depth: said as the main command says it."""
    colors, depths, _ = scene(2, (48, 64))
    c = write_video(tmp_path / "c.mp4", colors, fmt="rgb24")
    d = write_video(tmp_path / "d.mkv", [np.ascontiguousarray(x.T) for x in depths], fmt="gray")
    assert views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.mkv")]) == 0
    assert "one portrait and one landscape" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command line")
def test_the_named_crop_gives_the_picture_back_and_pairs_without_a_warning(tmp_path, capsys):
    """The command the warning names, run: the depth comes back as the picture, every value (an odd
    height too: cropping 4:2:0 before the conversion to gray would round it to 26 rows), and beside
    the colour it is no longer stretched."""
    c, d, pictures = _clips(tmp_path)
    views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.mkv")])
    said = capsys.readouterr().err
    command = said.split("crop the bars off first (", 1)[1].split(")", 1)[0]
    subprocess.run(command.split()[:-1] + [str(tmp_path / "d_cropped.mkv")], check=True, capture_output=True)
    import av

    with av.open(str(tmp_path / "d_cropped.mkv")) as f:
        got = [fr.to_ndarray() for fr in f.decode(video=0)]
    assert [g.shape for g in got] == [(PIC, W)] * len(pictures)
    assert all(np.array_equal(g, p) for g, p in zip(got, pictures))
    assert views_main(["render", str(c), str(tmp_path / "d_cropped.mkv"), "-o", str(tmp_path / "v2.mkv")]) == 0
    assert "one is stretched" not in capsys.readouterr().err


def test_views_render_of_small_sensor_depth_says_how_to_get_views_at_the_colours_size(tmp_path, capsys):
    """A LiDAR's 256 x 192 beside 1920 x 1440 colour (here 16 x 12 beside 64 x 48): the views come out at
    the depth's grid; the log says so and names --grid color. Depth of nearly the colour's size: no hint."""
    colors, depths, _ = scene(2, (64, 48))
    c = write_video(tmp_path / "c.mp4", colors, fmt="rgb24")
    small = write_video(tmp_path / "d.mkv", [np.ascontiguousarray(x[::4, ::4]) for x in depths], fmt="gray")
    assert views_main(["render", str(c), str(small), "-o", str(tmp_path / "v.mkv")]) == 0
    err = capsys.readouterr().err
    assert "resized to the depth grid (64x48 -> 16x12); for views at the colour's size" in err
    assert "--grid color" in err
    near = write_video(tmp_path / "n.mkv", [np.ascontiguousarray(x[:36, :48]) for x in depths], fmt="gray")
    assert views_main(["render", str(c), str(near), "-o", str(tmp_path / "w.mkv")]) == 0
    err = capsys.readouterr().err
    assert "resized to the depth grid (64x48 -> 48x36)" in err and "--grid color" not in err


def _combined(tmp_path, depth_part, margin=10, codec=None):
    """Depth Anything V2's run_video.py without --pred-only: colour | white margin | depth, one frame."""
    colors, _, _ = scene(2, (64, 36))
    white = np.full((36, margin, 3), 255, np.uint8)
    frames = [np.ascontiguousarray(np.hstack([c, white, depth_part])) for c in colors]
    c = write_video(tmp_path / "c.mp4", colors, fmt="rgb24")
    d = write_video(tmp_path / "run_video.mkv", frames, fmt="rgb24", codec=codec or "ffv1")
    return c, d


def _ramp():
    return np.tile(np.linspace(10, 250, 64).astype(np.uint8), (36, 1))


@pytest.mark.parametrize("mapped", [False, True])
def test_colour_margin_and_depth_side_by_side_is_refused_naming_the_crop(tmp_path, capsys, mapped):
    """Before, the gray form was read as depth whole (colour, margin and depth: 138 x 36), the colour
    stretched over it, and the colour-mapped form was refused as a colour picture or as no map at all."""
    from igde_stream.stream.colormaps import renderings

    gray = _ramp()
    part = renderings("spectral_r")[0][1][gray] if mapped else np.repeat(gray[..., None], 3, axis=2)
    c, d = _combined(tmp_path, part)
    args = ["render", str(c), str(d), "-o", str(tmp_path / "v.mkv")]
    args += ["--depth-colormap", "spectral_r"] if mapped else []
    assert views_main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a 64x36 picture, a 10 px white margin and a 64x36 picture side by side" in err
    assert f"-vf format={'bgr0' if mapped else 'gray'},crop=64:36:74:0 -c:v ffv1 run_video_depth.mkv" in err
    assert ("--depth-colormap spectral_r" in err) == mapped
    assert not list(tmp_path.glob("v*.mkv")) and not list(tmp_path.glob(".v*"))


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command line")
def test_the_named_command_takes_the_depth_out(tmp_path, capsys):
    c, d = _combined(tmp_path, np.repeat(_ramp()[..., None], 3, axis=2))
    views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.mkv")])
    command = capsys.readouterr().err.split("take the depth out first (", 1)[1].split(")", 1)[0].split()
    subprocess.run(command[:-1] + [str(tmp_path / "depth.mkv")], check=True, capture_output=True)
    import av

    with av.open(str(tmp_path / "depth.mkv")) as f:
        got = [fr.to_ndarray() for fr in f.decode(video=0)]
    assert all(np.array_equal(g, _ramp()) for g in got) and len(got) == 2
    assert views_main(["render", str(c), str(tmp_path / "depth.mkv"), "-o", str(tmp_path / "v.mkv")]) == 0


def test_twice_as_wide_without_a_white_margin_is_not_taken_for_it(tmp_path, capsys):
    """A depth of that width whose middle columns are no white margin: the shapes' warning, no refusal."""
    c, d = _combined(tmp_path, np.repeat(_ramp()[..., None], 3, axis=2), margin=10)
    import av

    with av.open(str(d)) as f:
        frames = [fr.to_ndarray(format="rgb24") for fr in f.decode(video=0)]
    for fr in frames:
        fr[:, 64:74] = 128
    d = write_video(tmp_path / "d2.mkv", [np.ascontiguousarray(fr[..., 0]) for fr in frames], fmt="gray")
    assert views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.mkv")]) == 0
    assert "one is stretched" in capsys.readouterr().err


def test_a_letterboxed_numpy_clip_gets_the_crop_as_a_slice(tmp_path, capsys):
    """A T x H x W float clip (an estimator's .npy) padded with NaN: the crop is a NumPy slice, not an
    ffmpeg command for a file ffmpeg cannot read."""
    colors, depths, _ = scene(2, (64, 36))
    clip = np.full((2, H, W), np.nan, np.float32)
    rows, cols = np.linspace(0, 35, PIC).round().astype(int), np.linspace(0, 63, W).round().astype(int)
    for k, x in enumerate(depths):
        clip[k, TOP:TOP + PIC] = x[rows][:, cols] / 255 + 0.1
    np.save(tmp_path / "clip.npy", clip)
    c = write_video(tmp_path / "c.mp4", colors, fmt="rgb24", rate=Fraction(25))
    assert views_main(["render", str(c), str(tmp_path / "clip.npy"), "-o", str(tmp_path / "v.mkv"),
                       "--float-range", "0:1.2"]) == 0
    err = capsys.readouterr().err
    assert f"a T x H x W clip's [:, {TOP}:{TOP + PIC}, 0:{W}]" in err and "ffmpeg -i" not in err
