"""Display matrices (a phone's rotation, mirrors, EXIF orientation): frames are read as players show them.

Rotated videos are MP4 / MOV files whose track header (``tkhd``) matrix is written here in the layout
of ISO/IEC 14496-12, as phones write it, so the tests need neither an ``ffmpeg`` binary nor a PyAV that
writes display matrices (they pass with PyAV 12 to 18). What a matrix should do comes from its
documented meaning, applied here pixel by pixel (libavutil/display.h: the stored pixel at column p,
row q is shown at ``(a p + c q, b p + d q)``), from FFmpeg's angle convention (counter-clockwise, as
numpy's ``rot90``: ffprobe's -90, what a phone held upright records, is a quarter turn clockwise) and
from PIL's EXIF orientation handling (``ImageOps.exif_transpose``).
"""

from __future__ import annotations

import io
import json
import logging
import math
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.cli import main
from igde_stream.errors import InputError
from igde_stream.stream import VideoReader, enhance_file
from igde_stream.stream.sources import InputOptions
from igde_stream.stream.orientation import frame_side_data

ONE = 1 << 16  # 1.0 in 16.16 fixed point


def matrix(a: float, b: float, c: float, d: float, x: int = 0, y: int = 0) -> tuple[int, ...]:
    """A display matrix ``a b 0 / c d 0 / x y 1`` as the nine int32 a container stores."""
    return (round(a * ONE), round(b * ONE), 0, round(c * ONE), round(d * ONE), 0, x * ONE, y * ONE, 1 << 30)


CLOCKWISE = matrix(0, 1, -1, 0)  # ffprobe: "rotation of -90.00 degrees"
MATRICES = {
    "clockwise (-90)": CLOCKWISE,
    "phone upright (-90, translated)": matrix(0, 1, -1, 0, x=48),  # phones add the frame height as x
    "counter-clockwise (90)": matrix(0, -1, 1, 0),
    "half turn (180)": matrix(-1, 0, 0, -1),
    "mirror left-right": matrix(-1, 0, 0, 1),
    "mirror top-bottom": matrix(1, 0, 0, -1),
    "transpose": matrix(0, 1, 1, 0),
    "anti-transpose": matrix(0, -1, -1, 0),
}


def tag(path, m: tuple[int, ...]):
    """Write display matrix ``m`` into the track header of the one-track MP4 ``path`` (ISO/IEC
    14496-12 ``tkhd``: version and flags, times, track id, duration, then 16 bytes, then the matrix)."""
    data = bytearray(path.read_bytes())
    assert data.count(b"tkhd") == 1
    box = data.index(b"tkhd") + 4
    at = box + 4 + (32 if data[box] == 1 else 20) + 16
    assert struct.unpack(">9i", data[at:at + 36]) == matrix(1, 0, 0, 1)  # the muxer wrote the identity
    data[at:at + 36] = struct.pack(">9i", *m)
    path.write_bytes(bytes(data))
    return path


def tagged(path, frames: list[np.ndarray], m: tuple[int, ...]):
    """``frames`` (colour: H.264 in MP4; depth: gray PNG in MOV, lossless) with display matrix ``m``:
    (the file, its frames as decoded and stored, the matrix ignored)."""
    color = frames[0].ndim == 3
    path = tag(write_video(path.with_suffix(".mp4" if color else ".mov"), frames, fmt="rgb24" if color else "gray",
                           codec="libx264" if color else "png"), m)
    return path, frames_of(path, "color" if color else "depth", source=InputOptions(autorotate=False))[0]


def shown(stored: np.ndarray, m: tuple[int, ...]) -> np.ndarray:
    """``stored`` as displayed, by display.h's formula: pixel (p, q) moves to (a p + c q, b p + d q),
    the result shifted to start at 0 (the translation only moves it)."""
    a, b, c, d = (m[k] / ONE for k in (0, 1, 3, 4))
    q, p = np.mgrid[: stored.shape[0], : stored.shape[1]]
    p2, q2 = np.rint(a * p + c * q).astype(int), np.rint(b * p + d * q).astype(int)
    p2, q2 = p2 - p2.min(), q2 - q2.min()
    out = np.zeros((q2.max() + 1, p2.max() + 1, *stored.shape[2:]), stored.dtype)
    out[q2, p2] = stored[q, p]
    return out


def pattern(h: int = 48, w: int = 64, color: bool = False, n: int = 2) -> list[np.ndarray]:
    """Frames that no turn or mirror maps onto another: a ramp along the rows plus a marked corner."""
    q, p = np.mgrid[:h, :w]
    frames = []
    for i in range(n):
        g = (3 * p + q + 20 * i) % 200
        g[:8, :12] = 250
        frames.append(np.stack([g, 255 - g, (g * 7) % 256], -1).astype(np.uint8) if color else g.astype(np.uint8))
    return frames


def frames_of(path, role: str, **kw) -> tuple[list[np.ndarray], VideoReader]:
    with VideoReader(path, role, **kw) as r:
        return [f.data for f in r.frames()], r


def read_matrices(path) -> list:
    import av

    with av.open(str(path)) as c:
        f = next(c.decode(video=0))
        return [sd for sd in frame_side_data(f) if getattr(sd.type, "name", None) == "DISPLAYMATRIX"]


def test_ffmpeg_reads_minus_90_as_a_quarter_turn_clockwise(tmp_path):
    import av

    stored = pattern(n=1)[0]
    np.testing.assert_array_equal(shown(stored, CLOCKWISE), np.rot90(stored, -1))  # the formula's direction
    path, _ = tagged(tmp_path / "d", [stored], CLOCKWISE)
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
    if hasattr(frame, "rotation"):  # PyAV >= 14.1: av_display_rotation_get, counter-clockwise
        assert frame.rotation == -90


@pytest.mark.parametrize("degrees", [90, -90, 180, -180, 270, -270])
def test_turns_by_degrees_as_ffmpeg_counts_them(tmp_path, degrees):
    # av_display_rotation_set's matrix: ffmpeg -display_rotation D turns the picture D degrees
    # counter-clockwise, as numpy's rot90 does for k = D / 90
    t = math.radians(degrees)
    path, stored = tagged(tmp_path / "d", pattern(), matrix(math.cos(t), -math.sin(t), math.sin(t), math.cos(t)))
    got, _ = frames_of(path, "depth")
    for g, s in zip(got, stored):
        np.testing.assert_array_equal(g, np.rot90(s, degrees // 90))


@pytest.mark.parametrize("name", MATRICES)
@pytest.mark.parametrize("role", ["color", "depth"])
def test_reader_shows_frames_as_the_display_matrix_says(tmp_path, name, role):
    written = pattern(color=role == "color")
    path, stored = tagged(tmp_path / "v", written, MATRICES[name])
    if role == "depth":  # lossless: read as stored, the frames are the ones written
        np.testing.assert_array_equal(np.stack(stored), np.stack(written))
    got, reader = frames_of(path, role)
    want = [shown(s, MATRICES[name]) for s in stored]
    assert (reader.info.width, reader.info.height) == (want[0].shape[1], want[0].shape[0])
    assert reader.stored_size == (64, 48)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("rotated", ["color", "depth", "both"])
def test_phone_video_pairs_with_depth_made_from_the_displayed_frames(tmp_path, enhancer, rotated):
    # displayed: 48 wide, 64 high (portrait); a phone stores it landscape, turned back counter-clockwise
    colors, depths, gts = scene(4, (48, 64))
    files, inputs = {}, {"color": colors, "depth": depths}  # what the model should be given
    for role, frames, fmt in (("color", colors, "rgb24"), ("depth", depths, "gray")):
        if role == rotated or rotated == "both":
            files[role], stored = tagged(tmp_path / role, [np.rot90(f, 1) for f in frames], CLOCKWISE)
            inputs[role] = [np.rot90(f, -1) for f in stored]  # as decoded, turned clockwise
        else:
            files[role] = write_video(tmp_path / f"{role}.mkv", frames, fmt=fmt, codec="ffv1")
    gt = write_video(tmp_path / "gt.mkv", gts, fmt="gray")
    out, rgbd, report = tmp_path / "out.mkv", tmp_path / "rgbd.mkv", tmp_path / "report.json"
    summary = enhance_file(files["color"], files["depth"], out, enhancer=enhancer, rgbd_path=rgbd, gt_path=gt,
                           report_path=report)
    said = "turned 90° clockwise: 64x48 -> 48x64"
    for role in ("color", "depth"):
        assert summary[f"{role}_rotated"] == (said if rotated in (role, "both") else None)
        assert json.loads(report.read_text())[f"{role}_rotated"] == summary[f"{role}_rotated"]
    assert summary["color_resized"] is None and (summary["width"], summary["height"]) == (48, 64)
    assert summary["matched_frames"] == 4
    want = enhancer.enhance(np.stack(inputs["color"]), np.stack(inputs["depth"]))
    got, _ = frames_of(out, "depth")
    np.testing.assert_array_equal(np.stack(got), want)
    for path in (out, rgbd):  # written upright, without a display matrix
        assert not read_matrices(path)
    views, _ = frames_of(rgbd, "color")
    np.testing.assert_array_equal(np.stack(views)[:, :, :48], np.stack(inputs["color"]))  # colour | depth, upright


def test_colour_is_resized_after_its_turn(tmp_path):
    # stored 128x96, shown 96x128, shrunk to the 48x64 depth grid: about a 2 x 2 average
    blocks = np.random.default_rng(0).integers(0, 256, (8, 6, 3)).astype(np.uint8)
    big = np.kron(blocks, np.ones((16, 16, 1), np.uint8))  # 16 px blocks: H.264's chroma keeps them
    c, stored = tagged(tmp_path / "c", [np.rot90(big, 1)] * 2, CLOCKWISE)
    got, _ = frames_of(c, "color", size=(48, 64))
    assert got[0].shape == (64, 48, 3)
    want = np.rot90(stored[0], -1).reshape(64, 2, 48, 2, 3).mean(axis=(1, 3))
    assert np.abs(got[0] - want).mean() < 5  # swscale resizes the 4:2:0 chroma itself; turned wrong: ~85


def test_no_autorotate_reads_as_stored_and_warns_of_the_stretch(tmp_path, enhancer, caplog):
    colors, depths, _ = scene(3, (48, 64))
    c, _ = tagged(tmp_path / "c", [np.rot90(f, 1) for f in colors], CLOCKWISE)
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        summary = enhance_file(c, d, tmp_path / "out.mkv", enhancer=enhancer, inputs=InputOptions(autorotate=False))
    assert summary["color_rotated"] is None and summary["color_resized"] == "64x48 -> 48x64"  # the old stretch
    assert "one portrait and one landscape" in caplog.text and "--no-autorotate" in caplog.text


def test_cli_no_autorotate_reaches_every_reader(monkeypatch, tmp_path, tiny_model):
    from igde_stream.stream import pipeline

    seen = []
    real = pipeline.VideoReader

    def recording(*args, **kw):
        seen.append(kw["source"].autorotate)
        return real(*args, **kw)

    colors, depths, gts = scene(2, (48, 64))
    c, d, gt = (write_video(tmp_path / f"{n}.mkv", f, fmt=fmt) for n, f, fmt in
                (("c", colors, "rgb24"), ("d", depths, "gray"), ("gt", gts, "gray")))
    monkeypatch.setattr(pipeline, "VideoReader", recording)
    base = [str(c), str(d), "-o", str(tmp_path / "o.mkv"), "--gt", str(gt), "--model", str(tiny_model),
            "--backend", "torch", "-q", "-y"]
    assert main(base) == 0 and main([*base, "--no-autorotate"]) == 0
    assert seen == [True] * 3 + [False] * 3


def test_matrix_that_is_no_quarter_turn_is_refused_in_one_line(tmp_path, enhancer, tiny_model, capsys):
    colors, depths, _ = scene(2)
    t = math.radians(30)
    c, _ = tagged(tmp_path / "c", colors, matrix(math.cos(t), -math.sin(t), math.sin(t), math.cos(t)))
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    out = tmp_path / "out.mkv"
    with pytest.raises(InputError, match=r"rotation 30\.0°\) is not a quarter turn or a mirror") as info:
        enhance_file(c, d, out, enhancer=enhancer)
    assert "\n" not in str(info.value) and info.value.path == str(c) and "--no-autorotate" in str(info.value)
    args = [str(c), str(d), "-o", str(out), "--model", str(tiny_model), "--backend", "torch", "-q"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"igde-stream: error: {c}: display matrix")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if "igde-part" in p.name]
    assert main([*args, "--no-autorotate"]) == 0 and out.exists()  # read as stored


def test_display_matrix_on_stdin_is_refused_not_ignored(tmp_path, monkeypatch):
    path, _ = tagged(tmp_path / "d", pattern(), CLOCKWISE)
    stdin = io.TextIOWrapper(io.BytesIO(path.read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    with pytest.raises(InputError, match="not known when the input was opened.*--no-autorotate"):
        frames_of("-", "depth")
    stdin.buffer.seek(0)
    got, _ = frames_of("-", "depth", source=InputOptions(autorotate=False))
    np.testing.assert_array_equal(got[0], pattern()[0])


def exif_images(folder, orientations, suffix=".jpg", depth=False) -> list[np.ndarray]:
    from PIL import Image

    folder.mkdir()
    stored = pattern(color=not depth, n=len(orientations))
    for i, (img, o) in enumerate(zip(stored, orientations)):
        exif = Image.Exif()
        exif[0x0112] = o  # EXIF Orientation
        pic = Image.fromarray(img.astype(np.uint16) * 257 if depth else img)
        jpeg = {"quality": 98, "subsampling": 0} if suffix == ".jpg" else {}  # 4:4:4: decoders agree closely
        pic.save(folder / f"{i:04d}{suffix}", exif=exif, **jpeg)
    return stored


def test_jpeg_exif_orientation_is_applied_as_pil_does(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image, ImageOps

    exif_images(tmp_path / "rgb", [6, 6])  # 6: shown turned 90 degrees clockwise
    got, reader = frames_of(tmp_path / "rgb", "color")
    assert reader.rotated == "turned 90° clockwise: 64x48 -> 48x64"
    for g, name in zip(got, sorted((tmp_path / "rgb").iterdir())):
        want = np.asarray(ImageOps.exif_transpose(Image.open(name)).convert("RGB"), np.int16)
        assert g.shape == want.shape and np.abs(g - want).max() <= 4  # two JPEG decoders (a wrong turn: ~70)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_jpeg_exif_orientation_is_applied_as_pil_does(tmp_path, orientation):
    """All eight, mirrors included (PyAV 18 cannot list the side data of such a frame; the file's tag
    then decides, not the angle alone, which reads a mirror as a turn)."""
    pytest.importorskip("PIL")
    from PIL import Image, ImageOps

    exif_images(tmp_path / "rgb", [orientation, orientation])
    got, _ = frames_of(tmp_path / "rgb", "color")
    for g, name in zip(got, sorted((tmp_path / "rgb").iterdir())):
        want = np.asarray(ImageOps.exif_transpose(Image.open(name)).convert("RGB"), np.int16)
        assert g.shape == want.shape and np.abs(g - want).max() <= 4, orientation


def test_orientation_that_changes_within_a_sequence_is_refused(tmp_path):
    pytest.importorskip("PIL")
    exif_images(tmp_path / "rgb", [6, 8, 6])
    with pytest.raises(InputError, match="orientation changes at frame 1: turned 90° clockwise before, turned 90° "
                                         "counter-clockwise from there"):
        frames_of(tmp_path / "rgb", "color")


def test_png_exif_orientation_is_read_where_ffmpeg_reads_it(tmp_path):
    # FFmpeg 8.1 reads PNG's eXIf chunk (libavcodec 62.28, the PyAV 17.1 wheels); 8.0 (62.11, PyAV 17.0
    # and 16.1 wheels) and older show PNGs as stored
    pytest.importorskip("PIL")
    import av

    stored = exif_images(tmp_path / "depth", [6], suffix=".png", depth=True)
    got, _ = frames_of(tmp_path / "depth", "depth")
    want = np.rot90(stored[0], -1) if tuple(av.library_versions["libavcodec"][:2]) >= (62, 28) else stored[0]
    np.testing.assert_array_equal(got[0], want.astype(np.uint16) * 257)


def test_views_render_reads_rotated_colour_as_displayed(tmp_path):
    """``igde-stream views render`` pairs a phone clip with portrait depth as displayed (the views are
    those of the upright frames), and ``--no-autorotate`` reads the clip as stored."""
    from igde_stream import display
    from igde_stream.views_cli import main as views_main

    colors, depths, _ = scene(2, (48, 64))
    c, stored = tagged(tmp_path / "c", [np.rot90(f, 1) for f in colors], CLOCKWISE)
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", codec="ffv1")
    out = tmp_path / "rgbd.mkv"
    assert views_main(["render", str(c), str(d), "-o", str(out), "--layout", "rgbd", "--quiet"]) == 0
    got, _ = frames_of(out, "color")
    upright = np.rot90(stored[0], -1)
    want = display.rgbd_frame(upright, depths[0])
    assert got[0].shape == want.shape == (64, 96, 3)
    np.testing.assert_array_equal(got[0], want)  # FFV1 (bgr0): the frame itself
    flat = tmp_path / "stored.mkv"
    assert views_main(["render", str(c), str(d), "-o", str(flat), "--layout", "rgbd", "--quiet",
                       "--no-autorotate"]) == 0
    got_flat, _ = frames_of(flat, "color")
    assert np.abs(got_flat[0][:, :48].astype(int) - upright).mean() > 20  # the sideways clip, stretched


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_tag_table_turns_as_pil_does(tmp_path, orientation):
    """The file's own EXIF tag (``exif_orientation``: the reading where PyAV cannot list a frame's side
    data) gives PIL's ``ImageOps.exif_transpose`` exactly, on a lossless PNG, for each of the eight."""
    pytest.importorskip("PIL")
    from PIL import Image, ImageOps

    from igde_stream.stream.orientation import exif_orientation

    stored = exif_images(tmp_path / "rgb", [orientation], suffix=".png")[0]
    name = tmp_path / "rgb" / "0000.png"
    want = np.asarray(ImageOps.exif_transpose(Image.open(name)).convert("RGB"))
    got = exif_orientation(str(name)).apply(stored)
    np.testing.assert_array_equal(got, want)


def test_a_display_matrix_reads_the_same_at_any_scale():
    """A matrix's scale (and the 16.16 unit) does not change which of the eight it is."""
    from igde_stream.stream.orientation import Orientation

    one = 1 << 16
    for a, b, c, d in [(1, 0, 0, 1), (-1, 0, 0, 1), (1, 0, 0, -1), (-1, 0, 0, -1),
                       (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, -1, 0), (0, -1, -1, 0)]:
        unit = Orientation.from_matrix((a * one, b * one, 0, c * one, d * one, 0, 0, 0, 1 << 30), "x")
        for scale in (0.5, 2.0):
            m = tuple(round(v * one * scale) for v in (a, b, 0, c, d, 0)) + (0, 0, 1 << 30)
            assert Orientation.from_matrix(m, "x") == unit, (a, b, c, d, scale)


def test_a_square_frame_is_neither_portrait_nor_landscape(caplog):
    from types import SimpleNamespace

    from igde_stream.stream.orientation import warn_portrait_landscape

    def reader(w, h):
        return SimpleNamespace(info=SimpleNamespace(width=w, height=h), source_size=(w, h), path=f"{w}x{h}",
                               rotated=None, autorotate=True)

    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        warn_portrait_landscape(reader(64, 64), reader(96, 54))
        warn_portrait_landscape(reader(96, 54), reader(64, 64))
        # square against 16:9 is no portrait / landscape mix-up, but a stretch all the same
        assert [("portrait" in r.getMessage(), "stretched" in r.getMessage()) for r in caplog.records] == \
            [(False, True)] * 2
        caplog.clear()
        warn_portrait_landscape(reader(54, 96), reader(96, 54))
    assert len(caplog.records) == 1 and "one portrait and one landscape" in caplog.records[0].getMessage()


def test_engine_profile_size_is_the_video_as_displayed(tmp_path):
    """``tools/build_engine.py --like-video``: the engine's opt shape is the size of the frames the
    model sees, which the stream reads turned by the display matrix (a phone's portrait clip stored
    landscape gives H 64, W 48 here, not 48 x 64)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_engine", Path(__file__).resolve().parent.parent / "tools"
                                                  / "build_engine.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    path, _ = tagged(tmp_path / "phone", pattern(color=True), CLOCKWISE)
    assert tool._video_size(str(path)) == (64, 48)
    plain, _ = tagged(tmp_path / "plain", pattern(color=True), matrix(1, 0, 0, 1))
    assert tool._video_size(str(plain)) == (48, 64)
