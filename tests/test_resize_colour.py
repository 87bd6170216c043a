"""A colour camera of another size than the depth (1280x960 beside 640x480, as a Kinect's or a
RealSense's streams come), frame by frame in Python as a ROS node has them: ``rgb.resize_colour``
resizes the colour as the command does, so the Enhancer gives the command's output. Before, the
Enhancer's refusal pointed to VideoReader only, and resizing with OpenCV's INTER_AREA (one level
off swscale's here and there) changed 5.2 % of the output of an ICL-NUIM frame (640x480 depth beside its
colour at 1280x960)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from conftest import scene


def _ffmpeg_scaled(png, w, h, flags):
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(png), "-vf", f"scale={w}:{h}:flags={flags}",
                          "-pix_fmt", "rgb24", "-f", "rawvideo", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(h, w, 3)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command line")
@pytest.mark.parametrize("size, flags", [((32, 24), "area"), ((96, 72), "bicubic")], ids=["shrink", "enlarge"])
def test_resize_colour_is_ffmpegs_scale(tmp_path, size, flags):
    import cv2

    from igde_stream.stream.rgb import resize_colour

    colors, _, _ = scene(1, size=(64, 48))
    cv2.imwrite(str(tmp_path / "c.png"), colors[0][..., ::-1])
    want = _ffmpeg_scaled(tmp_path / "c.png", *size, flags)
    got = resize_colour(colors[0], size)
    assert got.dtype == np.uint8 and got.shape == (size[1], size[0], 3)
    assert np.array_equal(got, want)
    assert np.array_equal(resize_colour(np.stack([colors[0]] * 2), size)[1], want)  # a batch alike


def test_the_enhancer_on_resized_colour_gives_the_commands_output(tmp_path):
    import cv2

    from igde_stream import Enhancer
    from igde_stream.cli import main
    from igde_stream.stream.rgb import resize_colour

    colors, depths, _ = scene(2, size=(64, 48), bits=16)
    big = [cv2.resize(c, (128, 96), interpolation=cv2.INTER_CUBIC) for c in colors]  # a colour camera at 2x
    for name, frames in (("c", big), ("d", depths)):
        (tmp_path / name).mkdir()
        for k, f in enumerate(frames):
            cv2.imwrite(str(tmp_path / name / f"{k:06d}.png"), f[..., ::-1] if f.ndim == 3 else f)
    assert main([str(tmp_path / "c"), str(tmp_path / "d"), "-o", str(tmp_path / "o" / "%06d.png"), "-q",
                 "--backend", "onnxruntime"]) == 0
    enh = Enhancer("igde-small", backend="onnxruntime", quiet=True)
    for k in range(2):
        command = cv2.imread(str(tmp_path / "o" / f"{k:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(enh.enhance(resize_colour(big[k], (64, 48)), depths[k]), command)


def test_the_enhancers_size_refusal_names_it_and_bad_frames_are_refused():
    from igde_stream import Enhancer
    from igde_stream.stream.rgb import resize_colour

    enh = Enhancer("igde-small", backend="onnxruntime", quiet=True)
    with pytest.raises(ValueError, match=r"resize_colour\(color, \(64, 48\)\) resizes the colour as the command does"):
        enh.enhance(np.zeros((96, 128, 3), np.uint8), np.zeros((48, 64), np.uint16))
    with pytest.raises(ValueError, match="H x W x 3 or N x H x W x 3 uint8 RGB, got 48 x 64 uint16"):
        resize_colour(np.zeros((48, 64), np.uint16), (32, 24))
