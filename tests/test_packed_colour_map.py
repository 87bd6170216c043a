"""A packed RGB-D video whose depth half is a colour-mapped picture (an app's turbo depth beside the
colour) was read as the gray of that picture, without a word: its luma, which does not follow the
depth. The depth half is now checked for colour (the first frame, then one in CHROMA_EVERY) and such
a video is refused in one line with the crop that takes the map out for --depth-colormap. Maps are
drawn with OpenCV's applyColorMap; the crop is run where the ffmpeg command line is installed, and
its map read back is the depth drawn."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.cli import main
from igde_stream.stream.packed import Unpacker

cv2 = pytest.importorskip("cv2")


def _packed(path, packing, n=3, size=(32, 24)):
    colors, depths, _ = scene(n, size)
    maps = [cv2.applyColorMap(d, cv2.COLORMAP_TURBO)[..., ::-1] for d in depths]  # BGR -> RGB
    frames = [np.concatenate([c, m], axis=1 if packing == "rgbd" else 0) for c, m in zip(colors, maps)]
    return write_video(path, frames, fmt="rgb24", codec="ffv1", rate=Fraction(25)), depths


@pytest.mark.parametrize("packing, crop", [("rgbd", "crop=iw/2:ih:iw/2:0"), ("rgbd-tb", "crop=iw:ih/2:0:ih/2")])
def test_a_colour_mapped_depth_half_is_refused_with_the_crop(tmp_path, tiny_model, capsys, packing, crop):
    packed, _ = _packed(tmp_path / "packed.mkv", packing)
    out = tmp_path / "out.mkv"
    try:
        code = main([str(packed), "--packed", packing, "-o", str(out), "--model", str(tiny_model), "--backend", "torch"])
    except SystemExit as e:
        code = e.code
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert code == 2 and not out.exists() and len(errors) == 1, errors
    assert "frame 0: 100 % of the depth half's pixels are far from gray" in errors[0]
    assert f"ffmpeg -i {packed} -vf {crop} -c:v ffv1 depth_map.mkv" in errors[0]


def test_gray_with_a_tinted_seam_passes():
    # 2 of 64 columns next to the seam take the colour's chroma (as 4:2:0 video may): 3 %, under 5 %
    half = np.repeat(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], 3, axis=2).repeat(8, axis=0)
    half[:, :2] = (200, 40, 40)
    Unpacker("rgbd", "depth", "p.mkv").check_gray(half, 0)
    half[:, :4] = (200, 40, 40)  # 6 %
    with pytest.raises(Exception, match="6 % of the depth half"):
        Unpacker("rgbd", "depth", "p.mkv").check_gray(half, 0)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command line")
def test_the_crop_gives_the_map_back_as_the_depth_drawn(tmp_path):
    from igde_stream.stream import VideoReader
    from igde_stream.stream.sources import InputOptions

    packed, depths = _packed(tmp_path / "packed.mkv", "rgbd")
    cut = tmp_path / "depth_map.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(packed), "-vf", "crop=iw/2:ih:iw/2:0", "-c:v", "ffv1",
                    str(cut)], check=True)
    reader = VideoReader(str(cut), "depth", source=InputOptions(depth_colormap="turbo"))
    got = [f.data for f in reader.frames()]
    reader.close()
    assert len(got) == 3 and all(np.array_equal(g, d) for g, d in zip(got, depths))


def test_the_check_costs_about_a_conversion_of_the_frame(tmp_path):
    """The check runs on one frame in CHROMA_EVERY of every packed run. Its spread of the channels of
    the depth half (a strided view of the frame) was reduced with max / min over axis 2, which NumPy
    walks pixel by pixel: 159 ms on a 1920x1080 half, 26 times the frame's conversion to RGB, a run's
    frame costing 5 ms more on average. Channel by channel it is a few conversions; the verdict, by
    hand: a half whose left 10 % of columns are (0, 0, 40) spreads 40 > 32 there: 10 % far from gray."""
    import time

    import av
    from av.video.reformatter import VideoReformatter

    rng = np.random.default_rng(0)
    h, w = 540, 960
    whole = np.zeros((h, 2 * w, 3), np.uint8)
    whole[:, :w] = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    whole[:, w:] = rng.integers(0, 256, (h, w, 1), dtype=np.uint8)  # gray depth
    frame = av.VideoFrame.from_ndarray(whole, format="rgb24").reformat(format="yuv444p")
    reformatter = VideoReformatter()
    unpacker = Unpacker("rgbd", "depth", "p.mkv")

    def best(fn):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    half = reformatter.reformat(frame, format="rgb24").to_ndarray()[:, w:]
    convert = best(lambda: reformatter.reformat(frame, format="rgb24").to_ndarray())
    check = best(lambda: unpacker.check_gray(half, 0))
    assert check < 8 * convert, (check, convert)
    marked = np.repeat(np.arange(100, dtype=np.uint8)[None, :, None], 3, axis=2)  # 100 gray columns
    marked[:, :10] = (0, 0, 40)
    unpacker.check_gray(marked, 0, share=0.1)  # 10 % is not more than 10 %
    with pytest.raises(Exception, match="frame 0: 10 % of the depth half's pixels are far from gray"):
        unpacker.check_gray(marked, 0, share=0.09)
