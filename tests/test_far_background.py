"""A renderer's background in far-high float depth: +inf, or one far value such as Blender's 1e10.

Before: a Blender Z pass (scene 2..8 m, the sky at 1e10) took the first frame's range 0..1e10, a code
step of 153 km, so the whole scene read as code 1 and came back from a float run as 0.0 m, without a
word; a sky at +inf was a hole that the hole fill gave the wall's 8 m. Now +inf is the farthest code,
and such a background keeps code 65535 to itself and comes back as it was (floatdepth's docstring)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from igde_stream.stream.floatdepth import FloatMap
from igde_stream.stream.reader import VideoReader

from test_float_depth import write_exr


def _scene(k: int, sky: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance in metres, 64 x 96: a wall at 8 m, a box at 2 m moving 4 px a frame, a floor 4 -> 2.9 m,
    the top 10 rows ``sky``; and 8-bit colour with the same edges."""
    yy, xx = np.mgrid[0:64, 0:96]
    z = np.full((64, 96), 8.0, np.float32)
    z[yy > 40] = (4.0 - (yy[yy > 40] - 40) * 0.05).astype(np.float32)
    box = (abs(xx - 30 - 4 * k) < 12) & (abs(yy - 30) < 14)
    z[box] = 2.0
    z[yy < 10] = sky
    rgb = np.full((64, 96, 3), 110, np.uint8)
    rgb[yy > 40] = (30, 140, 30)
    rgb[box] = (230, 90, 60)
    rgb[yy < 10] = (150, 190, 255)
    return z, rgb


def test_map_of_a_frame_with_a_blender_background_by_hand():
    """0..8 m beside 1e10 in 960 of 6144 pixels: the range ends where code 65534 is 8 m (8 x 65534 /
    65533), 1e10 is code 65535 and decodes as 1e10; 2 m is 1 + round(2 / HI x 65534) = 16384."""
    z, _ = _scene(0, 1e10)
    fmap = FloatMap.from_frame(z, "far-high", "x")
    assert (fmap.lo, fmap.hi, fmap.background) == (0.0, 8.0 * 65534 / 65533, 1e10)
    codes, clipped = fmap.encode(z)
    assert clipped == 0
    assert set(np.unique(codes[:10])) == {65535} and codes[30, 30] == 16384 and codes[20, 90] == 65534
    back = fmap.decode(codes)
    assert np.all(back[:10] == np.float32(1e10)) and back[20, 90] == np.float32(8.0)
    assert np.abs(back[10:] - z[10:]).max() <= fmap.step / 2 + 1e-6
    # a later value past HI clips to the scene's farthest code, 65534, never to the background's
    later, n = fmap.encode(np.array([[9.0, 1e10, np.inf, np.nan, 0.0]], np.float32))
    np.testing.assert_array_equal(later, [[65534, 65535, 65535, 0, 0]])
    assert n == 1


def test_positive_infinity_is_far_not_a_hole_negative_and_nan_still_are():
    fmap = FloatMap(0.0, 4.0, "far-high")  # a given range: no background of its own
    codes, clipped = fmap.encode(np.array([[np.inf, -np.inf, np.nan, 2.0]], np.float32))
    np.testing.assert_array_equal(codes, [[65535, 0, 0, 32768]])
    assert clipped == 0  # +inf is beyond any range: no warning to give a range that holds it
    assert fmap.decode(np.array([65535], np.uint16))[0] == 4.0  # as a clipped value: HI
    near = FloatMap(0.0, 4.0)  # near-high (inverse depth): +inf means nothing, still no value
    assert near.encode(np.array([np.inf], np.float32))[0][0] == 0


def test_scene_with_a_far_window_is_no_background():
    """A few far pixels (a window, 0.2 % of the frame) or far ones of many values are scene: the range
    reaches them, as before."""
    z, _ = _scene(0, 8.0)
    z[20, :12] = 900.0  # 12 of 6144 pixels: under BACKGROUND_SHARE
    assert FloatMap.from_frame(z, "far-high", "x").hi == 900.0
    z[:10] = np.linspace(600.0, 900.0, 960, dtype=np.float32).reshape(10, 96)
    assert FloatMap.from_frame(z, "far-high", "x").background is None


@pytest.mark.parametrize("sky, half", [(1e10, False), (np.inf, False), (np.inf, True)])
def test_blender_style_z_sequence_from_1001_keeps_scene_sky_and_numbers(tmp_path, sky, half):
    """The whole command on shot.%04d.exr from 1001, far-high, no --float-range: the output EXRs (read
    back by FFmpeg's decoder) are numbered from 1001, hold the sky as it was in every frame, and the
    scene in its metres: within half a code step (8 m / 65533) at the median and inside the box."""
    (tmp_path / "rgb").mkdir()
    (tmp_path / "z").mkdir()
    import cv2

    for k in range(3):
        z, rgb = _scene(k, sky)
        cv2.imwrite(str(tmp_path / "rgb" / f"shot.{1001 + k:04d}.png"), rgb[..., ::-1])
        write_exr(tmp_path / "z" / f"shot.{1001 + k:04d}.exr", z, half=half)
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "igde_stream", str(tmp_path / "rgb" / "shot.%04d.png"),
                          str(tmp_path / "z" / "shot.%04d.exr"), "-o", str(out / "shot.%04d.exr"),
                          "--depth-order", "far-high", "--threads", "1"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"shot.{n}.exr" for n in (1001, 1002, 1003)]
    assert f"background {np.float32(sky):g}: code 65535" in run.stdout + run.stderr
    step = 8.0 / 65533
    for k in range(3):
        z, _ = _scene(k, sky)
        if half:
            z = np.where(np.isfinite(z), z.astype(np.float16).astype(np.float32), z)
        with VideoReader(str(out / f"shot.{1001 + k:04d}.exr"), "depth") as r:
            got = next(r.frames()).data
        assert np.array_equal(got[:10], z[:10])  # the sky, as it was
        err = np.abs(got[10:] - z[10:])
        assert np.median(err) <= step / 2 + 1e-5 and np.isfinite(got[10:]).all()
        assert got[10:].min() >= 2.0 - step and got[10:].max() <= 8.0 + step  # the scene's metres, not 0
        assert np.abs(got[24:36, 24 + 4 * k:36 + 4 * k] - 2.0).max() <= step / 2 + 1e-5  # inside the box


def test_a_given_range_counts_no_background_as_clipped_nor_advises_a_range_to_it(tmp_path):
    """--float-range 0:8 beside Blender's 1e10 sky: before, every frame was "clipped" and the summary
    advised --float-range=0:1e+10 (the range that reads the scene as one code). Now the background is
    code 65535 and HI in the output, said once, and no frame counts as clipped."""
    import cv2

    (tmp_path / "rgb").mkdir()
    (tmp_path / "z").mkdir()
    for k in range(2):
        z, rgb = _scene(k, 1e10)
        cv2.imwrite(str(tmp_path / "rgb" / f"shot.{1001 + k:04d}.png"), rgb[..., ::-1])
        write_exr(tmp_path / "z" / f"shot.{1001 + k:04d}.exr", z)
    run = subprocess.run([sys.executable, "-m", "igde_stream", str(tmp_path / "rgb" / "shot.%04d.png"),
                          str(tmp_path / "z" / "shot.%04d.exr"), "-o", str(tmp_path / "out" / "shot.%04d.exr"),
                          "--depth-order", "far-high", "--float-range", "0:8", "--threads", "1"],
                         capture_output=True, text=True)
    said = run.stdout + run.stderr
    assert run.returncode == 0, run.stderr
    assert "0 frames clipped" in said and "holds them all" not in said and "clipped to it" not in said
    assert "background 1e+10: code 65535, written as HI" in said
    with VideoReader(str(tmp_path / "out" / "shot.1001.exr"), "depth") as r:
        got = next(r.frames()).data
    assert np.all(got[:10] == 8.0) and abs(float(got[30, 30]) - 2.0) <= 8.0 / 65534 / 2 + 1e-6


def test_views_of_a_blender_z_pass_with_the_scene_range_warn_of_no_clipping(tmp_path):
    """views render with --float-range 0:8 beside a 1e10 sky: the views of the same frames with the sky
    at 8 m (the farthest code either way), byte for byte, and no warning advising a range to cover
    1e10 (which would flatten every view)."""
    import cv2

    for sky in (1e10, 8.0):
        (tmp_path / f"z{sky:g}").mkdir()
    (tmp_path / "rgb").mkdir()
    for k in range(2):
        for sky in (1e10, 8.0):
            write_exr(tmp_path / f"z{sky:g}" / f"shot.{1001 + k:04d}.exr", _scene(k, sky)[0])
        cv2.imwrite(str(tmp_path / "rgb" / f"shot.{1001 + k:04d}.png"), _scene(k, 8.0)[1][..., ::-1])
    said = {}
    for sky in (1e10, 8.0):
        run = subprocess.run([sys.executable, "-m", "igde_stream", "views", "render",
                              str(tmp_path / "rgb" / "shot.%04d.png"), str(tmp_path / f"z{sky:g}" / "shot.%04d.exr"),
                              "-o", str(tmp_path / f"v{sky:g}.mkv"), "--float-range", "0:8", "--depth-order",
                              "far-high"], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        said[sky] = run.stderr
    assert "clipped" not in said[1e10] and "cover them" not in said[1e10]
    frames = {}
    for sky in (1e10, 8.0):
        with VideoReader(str(tmp_path / f"v{sky:g}.mkv"), "color") as r:
            frames[sky] = [f.data for f in r.frames()]
    assert len(frames[8.0]) == 2 and all(np.array_equal(a, b) for a, b in zip(frames[1e10], frames[8.0]))


def test_a_blender_background_read_near_high_is_warned_naming_far_high(tmp_path, caplog, capsys):
    """A Z pass given without --depth-order far-high: read as inverse depth, 1e10 is the nearest value and
    the range 2..1e10 leaves the scene 2..8 m one code (a step of 1.5e5), which passed without a word.
    By hand: 960 of 6144 pixels (15.6 %) hold 1e10, 1.25e9 times the scene's farthest, 8 m. A near-high
    frame without such a value (the scene's inverse depth, 0.125..0.5) is not warned about."""
    import logging

    z, rgb = _scene(0, 1e10)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        near = FloatMap.from_frame(z, "near-high", "z.exr")
    assert (near.lo, near.hi, near.background) == (2.0, 1e10, None)  # the map as ever: only the words are new
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and said[0].startswith("z.exr: the first float depth frame's largest value, 1e+10, holds 15.6 %")
    assert "1.25e+09 times the next (8)" in said[0] and 'a Z pass or distance is depth_order="far-high"' in said[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        FloatMap.from_frame(z, "far-high", "z.exr")
        FloatMap.from_frame(np.float32(1.0) / _scene(0, 8.0)[0], "near-high", "inv.exr")
    assert not caplog.records
    # the commands, from the first frame and with a range given (views render reads one frame for it)
    import cv2

    from igde_stream.cli import main
    from igde_stream.views_cli import main as views_main

    (tmp_path / "rgb").mkdir()
    (tmp_path / "z").mkdir()
    for k in range(2):
        z, rgb = _scene(k, 1e10)
        cv2.imwrite(str(tmp_path / "rgb" / f"{k:04d}.png"), rgb[..., ::-1])
        write_exr(tmp_path / "z" / f"{k:04d}.exr", z)
    np.save(tmp_path / "z.npy", np.stack([_scene(k, 1e10)[0] for k in range(2)]))
    runs = [(main, [str(tmp_path / "rgb"), str(tmp_path / "z"), "-o", str(tmp_path / "a.mkv"), "--backend", "torch"]),
            (main, [str(tmp_path / "rgb"), str(tmp_path / "z.npy"), "-o", str(tmp_path / "b.mkv"), "--backend", "torch",
                    "--float-range", "0:8"]),
            (views_main, ["render", str(tmp_path / "rgb"), str(tmp_path / "z"), "-o", str(tmp_path / "v.mkv"),
                          "--float-range", "0:8"])]
    for run, argv in runs:
        assert run(argv) == 0
        err = capsys.readouterr().err
        assert err.count("the first float depth frame's largest value, 1e+10") == 1, err
        assert "a Z pass or distance is --depth-order far-high" in err


def test_a_numpy_z_pass_with_a_wide_range_is_warned_of_its_scene_range_not_silenced_by_its_sky(tmp_path, caplog):
    """A NumPy clip is read whole for the narrow-range warning; its sky at 1e10 made the values seem to
    fill any range (0..1e10 of 0..100), so a Z pass of 2..8 m given --float-range 0:100 (8 % of it) passed
    without the warning that images of the same frames get. The range named is the scene's, 0..8."""
    import logging

    import cv2

    from igde_stream.stream import enhance_file

    np.save(tmp_path / "z.npy", np.stack([_scene(k, 1e10)[0] for k in range(3)]))
    (tmp_path / "rgb").mkdir()
    for k in range(3):
        cv2.imwrite(str(tmp_path / "rgb" / f"{k:04d}.png"), _scene(k, 1e10)[1][..., ::-1])

    class Same:  # the depth back as it came
        batch, backend_name, depth_order = 2, "same", "far-high"

        def enhance(self, color, depth):
            return depth

    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        enhance_file(tmp_path / "rgb", tmp_path / "z.npy", tmp_path / "o.mkv", enhancer=Same(), float_range=(0.0, 100.0))
    said = [r.getMessage() for r in caplog.records if "spans only" in r.getMessage()]
    assert len(said) == 1 and "spans only 8 % of float_range=(0, 100) (every frame: 0..8)" in said[0], said
    assert "e.g. float_range=(0, 8)" in said[0]
