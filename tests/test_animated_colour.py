"""Animated pictures as the colour: an animated WebP, which FFmpeg's WebP decoder does not read, is
refused in one line that says so and what to do (before: "video stream without a frame size").
Files are written with Pillow (its animated WebP sets the VP8X animation flag)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.cli import main
from igde_stream.stream.imagehead import animated_webp

Image = pytest.importorskip("PIL.Image")


def _webp(path, frames, **kw):
    ims = [Image.fromarray(f) for f in frames]
    more = {"save_all": True, "append_images": ims[1:], "duration": 40} if len(ims) > 1 else {}
    ims[0].save(path, lossless=True, **more, **kw)
    return path


def test_the_animation_flag_is_read_from_the_header(tmp_path):
    frames = [np.full((8, 8, 3), 40 * i, np.uint8) for i in range(3)]
    assert animated_webp(str(_webp(tmp_path / "a.webp", frames)))
    assert not animated_webp(str(_webp(tmp_path / "s.webp", frames[:1])))
    (tmp_path / "x.webp").write_bytes(b"RIFF\0\0\0\0WEBPVP8X")  # cut short
    assert not animated_webp(str(tmp_path / "x.webp"))


def test_an_animated_webp_colour_is_refused_saying_why(tmp_path, tiny_model, capsys):
    colors, depths, _ = scene(3, (32, 24))
    color = _webp(tmp_path / "clip.webp", colors)
    depth = write_video(tmp_path / "depth.mkv", depths, fmt="gray")
    out = tmp_path / "out.mkv"
    try:
        code = main([str(color), str(depth), "-o", str(out), "--model", str(tiny_model), "--backend", "torch"])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not out.exists()
    assert len(err) == 1 and "an animated WebP, which FFmpeg's WebP decoder does not read" in err[0], err
