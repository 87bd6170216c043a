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
