"""Colour guides as people bring them: one photograph beside a depth clip, anamorphic colour beside
square-pixel depth made from its displayed frames, interlaced colour. Each case is what a run did
without a word (or with a misleading one) before: the expected lines and sizes are worked by hand."""

from __future__ import annotations

import logging
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.cli import main
from igde_stream.views_cli import main as views_main

cv2 = pytest.importorskip("cv2")


def _depth_clip(tmp_path, n=3, size=(48, 32)):
    _, depths, _ = scene(n, size)
    return write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=Fraction(30000, 1001))


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_one_colour_image_beside_a_depth_clip_is_refused_up_front_naming_a_still_clip(tmp_path, capsys, suffix):
    """Before: the model loaded, every frame was read, and pairing failed with "the colour runs at 25 fps
    and the depth at 29.97 fps: ... one of them was written at the wrong rate": wrong for a photograph."""
    colors, _, _ = scene(1, (48, 32))
    cv2.imwrite(str(tmp_path / f"photo{suffix}"), colors[0][..., ::-1])
    d = _depth_clip(tmp_path)
    rc = main([str(tmp_path / f"photo{suffix}"), str(d), "-o", str(tmp_path / "out.mkv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and not (tmp_path / "out.mkv").exists()
    assert len([x for x in err if "error" in x]) == 1
    line = [x for x in err if "error" in x][0]
    assert "the colour is one image" in line and "has 3 frames" in line
    assert "-loop 1 -framerate 30000/1001" in line and "-frames:v 3" in line
    assert "backend" not in " ".join(err)  # refused before the model loads
    assert views_main(["render", str(tmp_path / f"photo{suffix}"), str(d), "-o", str(tmp_path / "v.mkv")]) == 2
    assert "the colour is one image" in capsys.readouterr().err and not (tmp_path / "v.mkv").exists()


def test_one_colour_image_beside_one_depth_image_still_runs(tmp_path, enhancer):
    from igde_stream.stream import enhance_file

    colors, depths, _ = scene(1, (48, 32))
    cv2.imwrite(str(tmp_path / "c.png"), colors[0][..., ::-1])
    cv2.imwrite(str(tmp_path / "d.png"), depths[0])
    assert enhance_file(tmp_path / "c.png", tmp_path / "d.png", tmp_path / "o.png", enhancer=enhancer)["frames"] == 1


def _anamorphic_colour(path, size, sar):
    """libx264 colour of ``size`` stored pixels tagged with sample aspect ratio ``sar``."""
    colors, _, _ = scene(3, size)
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=Fraction(30000, 1001))
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        s.codec_context.sample_aspect_ratio = sar
        for i, c in enumerate(colors):
            f = av.VideoFrame.from_ndarray(c, format="rgb24")
            f.pts = i
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    return path


@pytest.mark.parametrize("sar, stretched", [(Fraction(16, 9), False), (Fraction(1), True)])
def test_anamorphic_colour_beside_depth_of_its_displayed_shape_is_not_called_stretched(tmp_path, caplog, enhancer,
                                                                                        sar, stretched):
    """36 x 32 stored colour in 16:9 pixels shows at 64 x 32 (36 * 16 / 9 = 64): a depth estimated on
    the frames a player shows is 64 x 32, and resizing the colour to it is what a player does. Before, the
    run warned that one was stretched to the other's grid (aspect 1.12 against 2.00) and that the
    outputs show at 36x32 (they are 64x32). Square 36 x 32 pixels beside it are still stretched."""
    from igde_stream.stream import enhance_file

    c = _anamorphic_colour(tmp_path / "c.mp4", (36, 32), sar)
    d = _depth_clip(tmp_path, size=(64, 32))
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        enhance_file(c, d, tmp_path / "o.mkv", enhancer=enhancer)
    with av.open(str(tmp_path / "o.mkv")) as f:
        assert (f.streams.video[0].width, f.streams.video[0].height) == (64, 32)
    said = " | ".join(caplog.messages)
    assert ("one is stretched" in said) == stretched
    assert "outputs show at 36x32" not in said
    if not stretched:
        assert "show at one aspect (2.00)" in said
