"""Colour guides as people bring them: one photograph beside a depth clip, anamorphic colour beside
square-pixel depth made from its displayed frames, interlaced colour. Each case is what a run did
without a word (or with a misleading one) before: the expected lines and sizes are worked by hand."""

from __future__ import annotations

import logging
import shutil
import subprocess
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
    assert "-loop 1 -framerate 30000/1001" in line and "-frames:v 3" in line and "--pair nearest" in line
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


def _tagged_colour(path, field_order: int):
    """FFV1 colour in Matroska whose FieldOrder element says ``field_order`` (AVFieldOrder: 1 progressive,
    2 top field first, 3 bottom field first), as ffprobe reports it."""
    colors, _, _ = scene(3, (48, 32))
    with av.open(str(path), "w") as out:
        s = out.add_stream("ffv1", rate=Fraction(30000, 1001))
        s.width, s.height, s.pix_fmt = 48, 32, "yuv444p"
        s.codec_context.field_order = field_order
        for i, c in enumerate(colors):
            f = av.VideoFrame.from_ndarray(c, format="rgb24").reformat(format="yuv444p")
            f.pts = i
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    return path


@pytest.mark.parametrize("order, said", [(2, "top field first"), (3, "bottom field first"), (1, None)])
def test_interlaced_colour_is_said_once_naming_its_field_order(tmp_path, caplog, order, said):
    """Before: interlaced colour (1080i) was read woven, its moving edges combed, without a word."""
    from igde_stream.stream import VideoReader

    path = _tagged_colour(tmp_path / "c.mkv", order)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with VideoReader(path, "color") as r:
            frames = [f.data for f in r.frames()]
    assert len(frames) == 3
    lines = [m for m in caplog.messages if "interlaced" in m]
    assert len(lines) == (0 if said is None else 1)
    if said:
        assert f"interlaced colour ({said})" in lines[0] and "yadif" in lines[0]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command line to code interlaced H.264")
def test_interlaced_h264_colour_keeps_each_fields_chroma(tmp_path, caplog):
    """1080i as cameras write it: 4:2:0 H.264 coded with interlaced tools (+ilme+ildct), top field first,
    where chroma rows alternate between the fields. Top-field rows are red (BT.601 limited Y 81, U 90,
    V 240), bottom-field rows blue (Y 41, U 240, V 110), coded losslessly from those planes: each row
    must come back its own field's colour (by hand: (255, 0, 0) and (0, 0, 255) within 2). A
    progressive chroma upsampling mixes the fields (ffmpeg 5.1's default -pix_fmt rgb24 gives
    rows 1 and 2 as (207, 0, 0) and (46, 45, 255)); FFmpeg 8.1's swscale takes each field apart."""
    from igde_stream.stream import VideoReader

    w, h = 64, 48
    y = np.where(np.arange(h)[:, None] % 2 == 0, 81, 41).astype(np.uint8).repeat(w, 1)
    top = np.arange(h // 2)[:, None] % 2 == 0  # chroma rows 0, 2, ...: the top field's
    u = np.where(top, 90, 240).astype(np.uint8).repeat(w // 2, 1)
    v = np.where(top, 240, 110).astype(np.uint8).repeat(w // 2, 1)
    (tmp_path / "f.yuv").write_bytes(np.concatenate([y.ravel(), u.ravel(), v.ravel()]).tobytes() * 2)
    c = tmp_path / "c.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}", "-r", "25",
                    "-i", str(tmp_path / "f.yuv"), "-vf", "setfield=tff", "-flags", "+ilme+ildct", "-field_order", "tt",
                    "-c:v", "libx264", "-qp", "0", "-colorspace", "bt470bg", "-color_range", "tv", str(c)], check=True)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with VideoReader(c, "color") as r:
            got = np.stack([f.data for f in r.frames()]).astype(int)
    assert [m for m in caplog.messages if "interlaced colour (top field first)" in m]
    assert got.shape == (2, h, w, 3)
    assert np.abs(got[:, 0::2] - [255, 0, 0]).max() <= 2 and np.abs(got[:, 1::2] - [0, 0, 255]).max() <= 2


def _rgba_pngs(folder, under: str):
    """Three 64 x 48 RGBA PNGs: random colour, the left half fully transparent over ``under``: "random"
    (what a cut-out tool may leave there) or "black"; "opaque": alpha 255 everywhere."""
    folder.mkdir()
    rng = np.random.default_rng(1)
    frames = []
    for k in range(3):
        rgb = rng.integers(3, 256, (48, 64, 3), dtype=np.uint8)
        alpha = np.full((48, 64), 255, np.uint8)
        if under != "opaque":
            alpha[:, :32] = 0
        if under == "black":
            rgb[:, :32] = 0
        frames.append(rgb)
        cv2.imwrite(str(folder / f"{k:04d}.png"), np.dstack([rgb[..., ::-1], alpha]))  # OpenCV writes BGRA
    return frames


@pytest.mark.parametrize("under, warns", [("random", True), ("black", False), ("opaque", False)])
def test_colour_hidden_under_transparent_pixels_is_said_and_read_as_stored(tmp_path, caplog, under, warns):
    """Alpha is dropped (as ffmpeg -pix_fmt rgb24 does): the model gets the stored RGB, under transparent
    pixels too. Before, colour that no viewer shows guided the model without a word; black there (a
    premultiplied or cut-out picture) and opaque RGBA say nothing."""
    from igde_stream.stream import VideoReader

    want = _rgba_pngs(tmp_path / "c", under)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with VideoReader(tmp_path / "c", "color") as r:
            got = [f.data for f in r.frames()]
    np.testing.assert_array_equal(np.stack(got), np.stack(want))
    lines = [m for m in caplog.messages if "transparent" in m]
    assert len(lines) == (1 if warns else 0)
    if warns:
        assert "50 % of the first colour frame is fully transparent over a colour (rgba)" in lines[0]


def test_palette_colour_with_a_transparent_entry_is_said(tmp_path, caplog):
    """pal8 PNG (a palette with tRNS alpha): entry 1 is red and fully transparent, and covers the top half."""
    from PIL import Image

    from igde_stream.stream import VideoReader

    idx = np.zeros((48, 64), np.uint8)
    idx[:24] = 1
    img = Image.fromarray(idx, "P")
    img.putpalette([0, 0, 255, 255, 0, 0] + [0] * 762)
    img.save(tmp_path / "c.png", transparency=bytes([255, 0] + [255] * 254))
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with VideoReader(tmp_path / "c.png", "color") as r:
            got = next(r.frames()).data
    assert got[0, 0].tolist() == [255, 0, 0] and got[-1, 0].tolist() == [0, 0, 255]  # the palette's colours
    assert [m for m in caplog.messages if "50 % of the first colour frame is fully transparent over a colour (pal8)" in m]


@pytest.mark.parametrize("start", [0.0, 0.3])
def test_one_colour_image_guides_every_depth_frame_under_pair_nearest(tmp_path, enhancer, start):
    """Before: "no colour frame within 21.0 ms" of every depth frame after the first. Expected: the run of
    a clip of the photograph repeated (exact pairing), frame for frame; with --start too (the photograph,
    at 0 s, is not cut as colour more than a frame before the start)."""
    from igde_stream.stream import enhance_file

    colors, depths, _ = scene(4, (48, 32))
    cv2.imwrite(str(tmp_path / "photo.png"), colors[0][..., ::-1])
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=Fraction(2))  # 0, 0.5, 1, 1.5 s: far from 0
    clip = write_video(tmp_path / "c.mkv", [colors[0]] * 4, fmt="rgb24", codec="ffv1", rate=Fraction(2))
    got = enhance_file(tmp_path / "photo.png", d, tmp_path / "o.mkv", enhancer=enhancer, pair="nearest", start=start)
    ref = enhance_file(clip, d, tmp_path / "r.mkv", enhancer=enhancer, start=start)
    assert got["frames"] == ref["frames"] == (4 if start == 0 else 3)
    with av.open(str(tmp_path / "o.mkv")) as a, av.open(str(tmp_path / "r.mkv")) as b:
        pairs = list(zip(a.decode(video=0), b.decode(video=0)))
    assert len(pairs) == got["frames"]
    assert all(x.pts == y.pts and np.array_equal(x.to_ndarray(), y.to_ndarray()) for x, y in pairs)
    assert views_main(["render", str(tmp_path / "photo.png"), str(d), "-o", str(tmp_path / "v.mkv"), "--pair",
                       "nearest", "--views", "2", "-q"]) == 0
    with av.open(str(tmp_path / "v.mkv")) as v:
        assert len(list(v.decode(video=0))) == 4


def test_a_video_of_one_frame_is_not_a_photograph_under_pair_nearest(tmp_path, enhancer):
    from igde_stream.errors import PairingError
    from igde_stream.stream import enhance_file

    colors, depths, _ = scene(4, (48, 32))
    one = write_video(tmp_path / "c.mkv", colors[:1], fmt="rgb24", codec="ffv1", rate=Fraction(30000, 1001))
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=Fraction(30000, 1001))
    with pytest.raises(PairingError, match="no colour frame within"):  # a clip that ends: still its own times
        enhance_file(one, d, tmp_path / "o.mkv", enhancer=enhancer, pair="nearest")
