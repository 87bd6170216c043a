"""Tests added by seeded-bug review 63 (results/mutation.md, "Seeded-bug review 63"): each catches a bug
planted by hand in --start / --max-frames, the colour inputs or the layered hole fill that the earlier
tests let through. Expected values are worked out by hand (frame times, timecodes, counts) or with NumPy."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.errors import IGDEError
from igde_stream.stream import enhance_file

cv2 = pytest.importorskip("cv2")


# ---- --start / --max-frames ------------------------------------------------------------------------

def _late_pair(tmp_path, n=6, start=10.0):
    """25 fps FFV1 colour and 16-bit depth in Matroska whose first frames are at ``start`` s: the depth
    lasts n / 25 s (6 frames: 0.240 s) from 10.000 s; Matroska's duration is then the end time, 10.24."""
    colors, depths, _ = scene(n, (32, 32), bits=16)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(25), start=start)
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray16le", rate=Fraction(25), start=start)
    return c, d


@pytest.fixture
def no_model(monkeypatch):
    import igde_stream.stream.pipeline as pipeline

    def refuse(*a, **k):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(pipeline, "_make_enhancer", refuse)


def test_a_start_beyond_a_late_clips_length_is_refused_before_the_model(tmp_path, no_model):
    """A clip from 10 s lasting 0.24 s: --start 5 (relative: from its own start) is beyond it, though 5 s
    is within Matroska's end time (10.24 s); --sync absolute counts from 0, the end is 10.24 s."""
    c, d = _late_pair(tmp_path)
    with pytest.raises(IGDEError, match=r"no depth frame at or after --start 5 s: the depth lasts 0\.240 s$"):
        enhance_file(c, d, tmp_path / "o.mkv", start=5.0)
    with pytest.raises(IGDEError, match=r"--start 11 s: the depth lasts 0\.240 s from 10\.000 s$"):
        enhance_file(c, d, tmp_path / "o.mkv", start=11.0, sync="absolute")
    assert not (tmp_path / "o.mkv").exists()


def test_an_absolute_start_within_a_late_clip_is_taken(tmp_path, enhancer):
    """--sync absolute --start 10.1: frame 3 (10.12 s) is the first at or after it; 10.1 s is not beyond
    the clip (10.00 to 10.24 s) although it is beyond its length, 0.24 s."""
    c, d = _late_pair(tmp_path)
    s = enhance_file(c, d, tmp_path / "o.mkv", enhancer=enhancer, start=10.1, sync="absolute", max_frames=2)
    assert s["frames"] == 2 and s["start"] == 10.1 and s["max_frames"] == 2


def test_the_summary_names_the_start_and_the_timecode_of_frame_1(tmp_path, enhancer):
    """25 fps depth at 10:00:00:20: --start 0.04 s is frame 1, timecode 10:00:00:21 (by hand); the summary
    says the start it was given."""
    from test_timecode import _clip

    colors, depths, _ = scene(4, (32, 32), bits=16)
    color = _clip(tmp_path / "c.mkv", colors, "bgr0", "ffv1", rate=Fraction(25))
    depth = _clip(tmp_path / "d.mkv", depths, "gray16le", "ffv1", rate=Fraction(25), container_tc="10:00:00:20")
    s = enhance_file(color, depth, tmp_path / "o.mkv", enhancer=enhancer, start=0.04)
    assert s["frames"] == 3 and s["start"] == 0.04 and s["timecode"] == "10:00:00:21"
    assert "max_frames" not in s


def test_a_closed_queue_holds_nothing_and_takes_nothing():
    """``ByteQueue.close``: what it holds is dropped (its bytes too), and a later put is not kept."""
    import threading

    from igde_stream.stream.stages import ByteQueue

    q = ByteQueue(100, threading.Event())
    q.put("a", 40)
    q.put("b", 40)
    q.close()
    assert q.bytes == 0 and not q._items
    q.put("c", 40)
    assert q.bytes == 0 and not q._items


def test_ground_truth_without_a_depth_frame_after_the_start_is_counted(tmp_path, enhancer):
    """25 fps depth (and colour) of 12 frames with frame 8 (0.32 s) missing; the ground truth has all 12.
    From --start 0.2 (frame 5) the ground truth's frame 8 has no output frame: it is counted unmatched, as
    in the whole run; its frames 0-4 (before the start) and 11 (after the cut at 5 frames) are not."""
    times = [k / 25 for k in range(12) if k != 8]
    colors, depths, gts = scene(12, (32, 32), bits=16)
    keep = [k for k in range(12) if k != 8]
    c = write_video(tmp_path / "c.mkv", [colors[k] for k in keep], fmt="rgb24", codec="ffv1", rate=Fraction(25),
                    times=times)
    d = write_video(tmp_path / "d.mkv", [depths[k] for k in keep], fmt="gray16le", rate=Fraction(25), times=times)
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray16le", rate=Fraction(25))
    enhance_file(c, d, tmp_path / "o.mkv", enhancer=enhancer, gt_path=g, report_path=tmp_path / "r.json",
                 start=0.2, max_frames=5)
    summary = json.loads((tmp_path / "r.json").read_text())["summary"]
    assert summary["matched_frames"] == 5 and summary["unmatched_frames"] == 1
    assert summary["gt_frames_without_output"] == [8]


def test_ground_truth_beyond_the_depths_end_is_counted_in_a_whole_run(tmp_path, enhancer):
    """Ground truth of 8 frames beside depth of 6: frames 6 and 7 have no output frame (no --max-frames)."""
    colors, depths, gts = scene(8, (32, 32), bits=16)
    c = write_video(tmp_path / "c.mkv", colors[:6], fmt="rgb24", codec="ffv1", rate=Fraction(25))
    d = write_video(tmp_path / "d.mkv", depths[:6], fmt="gray16le", rate=Fraction(25))
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray16le", rate=Fraction(25))
    enhance_file(c, d, tmp_path / "o.mkv", enhancer=enhancer, gt_path=g, report_path=tmp_path / "r.json")
    summary = json.loads((tmp_path / "r.json").read_text())["summary"]
    assert summary["unmatched_frames"] == 2 and summary["gt_frames_without_output"] == [6, 7]


def test_sequences_of_other_lengths_are_refused_with_a_start(tmp_path, no_model):
    """Colour images 0-9 beside depth images 0-11 pair by index: with --start the run does not begin at
    frame 0, so the lengths are checked before the model loads even with --max-frames (from 0.32 s at
    25 fps, frame 8: frames 8-10 would need colour frame 10, which does not exist)."""
    from igde_stream.errors import PairingError

    colors, depths, _ = scene(12, (32, 32), bits=16)
    (tmp_path / "c").mkdir()
    (tmp_path / "d").mkdir()
    for k in range(12):
        if k < 10:
            assert cv2.imwrite(str(tmp_path / "c" / f"{k:03d}.png"), colors[k][..., ::-1])
        assert cv2.imwrite(str(tmp_path / "d" / f"{k:03d}.png"), depths[k])
    with pytest.raises(PairingError, match="the colour sequence has 10 frames and the depth sequence 12"):
        enhance_file(tmp_path / "c", tmp_path / "d", tmp_path / "o.mkv", start=0.32, max_frames=3)


def test_more_frames_than_a_one_frame_clip_has_still_make_one_image(tmp_path, enhancer):
    """--max-frames 3 of a clip of one frame: one frame, so one image output is fine (the count the
    outputs are told is the smaller of the two)."""
    colors, depths, _ = scene(1, (32, 32), bits=16)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(25))
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray16le", rate=Fraction(25))
    s = enhance_file(c, d, tmp_path / "o.png", enhancer=enhancer, max_frames=3)
    assert s["frames"] == 1 and cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_UNCHANGED).shape == (32, 32)


# ---- colour inputs --------------------------------------------------------------------------------

def _depth_reader_clip(tmp_path, n=3, size=(48, 32)):
    _, depths, _ = scene(n, size)
    return write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=Fraction(30000, 1001))


def test_a_still_is_an_image_file_of_any_case_not_an_animation_or_a_pattern(tmp_path):
    """``check_still_colour``: PHOTO.JPG (upper case) is one image; an animated GIF and an image pattern
    (a clip) beside a 3-frame depth clip are not stills."""
    from PIL import Image

    from igde_stream.errors import InputError
    from igde_stream.stream.reader import VideoReader
    from igde_stream.stream.roles import check_still_colour

    colors, _, _ = scene(3, (48, 32))
    d = _depth_reader_clip(tmp_path)
    assert cv2.imwrite(str(tmp_path / "PHOTO.JPG"), colors[0][..., ::-1])
    Image.fromarray(colors[0]).save(tmp_path / "a.gif", save_all=True,
                                    append_images=[Image.fromarray(c) for c in colors[1:]], duration=33, loop=0)
    (tmp_path / "seq").mkdir()
    for k, c in enumerate(colors):
        assert cv2.imwrite(str(tmp_path / "seq" / f"{k:03d}.png"), c[..., ::-1])
    with VideoReader(d, "depth") as depth:
        with VideoReader(tmp_path / "PHOTO.JPG", "color") as color:
            with pytest.raises(InputError, match="the colour is one image"):
                check_still_colour(color, depth)
        for other in (tmp_path / "a.gif", tmp_path / "seq" / "%03d.png"):
            with VideoReader(other, "color") as color:
                check_still_colour(color, depth)  # not refused


def _anamorphic(path, size, sar):
    from test_colour_guides import _anamorphic_colour

    return _anamorphic_colour(path, size, sar)


def _aspect_lines(caplog, c, d):
    import logging

    from igde_stream.stream.orientation import warn_portrait_landscape
    from igde_stream.stream.reader import VideoReader

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        with VideoReader(c, "color") as color, VideoReader(d, "depth") as depth:
            warn_portrait_landscape(color, depth)
    return [m for m in caplog.messages if "one is stretched" in m or "show at one aspect" in m]


def test_anamorphic_colour_of_another_shown_shape_is_said_stretched_as_a_player_shows_it(tmp_path, caplog):
    """36 x 32 in 16:9 pixels shows at 64 x 32 (aspect 2.00) beside 48 x 32 square-pixel depth (1.50): one is
    stretched, said with the shown aspects and "as a player shows them"."""
    c = _anamorphic(tmp_path / "c.mp4", (36, 32), Fraction(16, 9))
    d = _depth_reader_clip(tmp_path, size=(48, 32))
    (line,) = _aspect_lines(caplog, c, d)
    assert "one is stretched" in line and "(aspect 2.00)" in line and "(aspect 1.50) as a player shows them" in line


def test_narrow_pixels_are_read_too(tmp_path, caplog):
    """64 x 32 in 9:16 pixels shows at 36 x 32 (aspect 64 x 9 / 16 / 32 = 1.125): beside 36 x 32 depth it is
    one picture (no stretch warning), resized as a player shows it."""
    c = _anamorphic(tmp_path / "c.mp4", (64, 32), Fraction(9, 16))
    d = _depth_reader_clip(tmp_path, size=(36, 32))
    (line,) = _aspect_lines(caplog, c, d)
    assert "one is stretched" not in line and "show at one aspect (1.12)" in line


def test_one_stored_shape_pairs_as_stored_whatever_the_pixels(tmp_path, caplog):
    """64 x 32 colour in 16:9 pixels beside 64 x 32 square depth (made from the stored frames): pixels
    pair as stored, nothing said of aspects."""
    c = _anamorphic(tmp_path / "c.mp4", (64, 32), Fraction(16, 9))
    d = _depth_reader_clip(tmp_path, size=(64, 32))
    assert _aspect_lines(caplog, c, d) == []


@pytest.mark.skipif(__import__("shutil").which("ffmpeg") is None, reason="needs the ffmpeg command line to tag a rotation")
def test_a_quarter_turn_turns_the_pixels_aspect_too(tmp_path, caplog):
    """36 x 32 in 16:9 pixels (shows 64 x 32) turned a quarter: shown 32 x 64 (aspect 0.50), stored as read
    32 x 36 in 9:16 pixels (32 x 9 / 16 / 36 = 0.5); beside 32 x 64 depth, one picture."""
    import subprocess

    c = _anamorphic(tmp_path / "c0.mp4", (36, 32), Fraction(16, 9))
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(c), "-c", "copy", "-metadata:s:v:0", "rotate=90",
                    str(tmp_path / "c.mp4")], check=True)
    d = _depth_reader_clip(tmp_path, size=(32, 64))
    (line,) = _aspect_lines(caplog, tmp_path / "c.mp4", d)
    assert "one is stretched" not in line and "show at one aspect (0.50)" in line


def test_interlaced_depth_is_not_called_interlaced_colour(tmp_path, caplog):
    """A depth stream tagged top field first: the warning is the colour's (its fields guide the model)."""
    import logging

    import av

    from igde_stream.stream.reader import VideoReader

    _, depths, _ = scene(2, (48, 32))
    with av.open(str(tmp_path / "d.mkv"), "w") as out:
        s = out.add_stream("ffv1", rate=Fraction(25))
        s.width, s.height, s.pix_fmt = 48, 32, "gray"
        s.codec_context.field_order = 2
        for i, x in enumerate(depths):
            f = av.VideoFrame.from_ndarray(x, format="gray")
            f.pts = i
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with VideoReader(tmp_path / "d.mkv", "depth") as r:
            assert len(list(r.frames())) == 2
    assert not [m for m in caplog.messages if "interlaced colour" in m]


def _rgba_png(path, under, alpha_left):
    rgb = np.full((48, 64, 3), 200, np.uint8)
    rgb[:, :32] = under
    alpha = np.full((48, 64), 255, np.uint8)
    alpha[:, :32] = alpha_left
    assert cv2.imwrite(str(path), np.dstack([rgb[..., ::-1], alpha]))
    return path


@pytest.mark.parametrize("under, alpha_left, share", [
    ((255, 0, 0), 0, "50 %"),  # pure red under alpha 0: a colour (its largest channel is 255)
    ((2, 1, 2), 0, None),  # black within 2 levels: what a viewer shows over black
    ((3, 0, 0), 0, "50 %"),  # 3 levels is a colour
    ((255, 0, 0), 128, None),  # half transparent: the colour shows
    ((255, 0, 0), 1, None),
])
def test_only_fully_transparent_pixels_over_a_colour_are_counted(tmp_path, caplog, under, alpha_left, share):
    import logging

    from igde_stream.stream.reader import VideoReader

    p = _rgba_png(tmp_path / "c.png", under, alpha_left)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with VideoReader(p, "color") as r:
            next(r.frames())
    lines = [m for m in caplog.messages if "fully transparent over" in m]
    if share is None:
        assert lines == []
    else:
        (line,) = lines
        assert f"{share} of the first colour frame is fully transparent" in line


def test_two_gray_streams_of_one_bit_depth_say_nothing_of_bit_depth(caplog):
    """Two 16-bit gray streams: no bit depth tells them apart; the depth is the first, without the
    bit-depth warning (which would name one stream as both)."""
    import logging
    from types import SimpleNamespace as NS

    from igde_stream.stream.streams import choose_stream

    def s(fmt):
        return NS(codec_context=NS(pix_fmt=fmt, color_trc=1, color_primaries=1), disposition=0)

    a, b = s("gray16le"), s("gray16le")
    c = NS(streams=NS(video=[a, b]))
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert choose_stream(c, "depth", None, "x.mkv") is a
    assert not [m for m in caplog.messages if "bit depth alone" in m]


@pytest.mark.parametrize("tc, frames, rate, want", [
    # minute 0 keeps all its 1800 labels: frame 1798 is 00:00:59;28, the last two before minute 1's skip
    ("00:00:00;00", 1798, Fraction(30000, 1001), "00:00:59;28"),
    ("00:00:00;00", 1799, Fraction(30000, 1001), "00:00:59;29"),
    # 17982 frames a ten minutes: frame 17982 + 1798 is 00:10:59;28 (minute 10 keeps 00 and 01)
    ("00:00:00;00", 17982 + 1798, Fraction(30000, 1001), "00:10:59;28"),
    # 100 fps: frames 00..99, two digits (FFmpeg's av_timecode_make_string: three above 100 fps)
    ("00:00:00:00", 105, Fraction(100), "00:00:01:05"),
    ("00:00:00:000", 125, Fraction(120), "00:00:01:005"),
])
def test_timecodes_at_a_minutes_last_frames_and_high_rates(tc, frames, rate, want):
    from igde_stream.stream.timecode import advance

    assert advance(tc, frames, rate) == want


def test_anamorphic_colour_stored_portrait_shown_landscape_is_not_portrait_against_landscape(tmp_path, caplog):
    """36 x 40 stored in 16:9 pixels shows at 64 x 40 (aspect 1.60, landscape) beside 64 x 40 depth: the
    stored frames are portrait and the depth landscape, but a player shows one picture: no portrait /
    landscape warning, and the two show at one aspect."""
    c = _anamorphic(tmp_path / "c.mp4", (36, 40), Fraction(16, 9))
    d = _depth_reader_clip(tmp_path, size=(64, 40))
    (line,) = _aspect_lines(caplog, c, d)
    assert "show at one aspect (1.60)" in line and "one portrait and one landscape" not in " ".join(caplog.messages)


def test_one_colour_image_beside_a_one_frame_depth_clip_runs(tmp_path, enhancer):
    """A photograph beside a depth clip of one frame: one colour frame for one depth frame."""
    colors, depths, _ = scene(1, (48, 32))
    assert cv2.imwrite(str(tmp_path / "c.png"), colors[0][..., ::-1])
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=Fraction(25))
    assert enhance_file(tmp_path / "c.png", d, tmp_path / "o.mkv", enhancer=enhancer)["frames"] == 1


def test_views_render_counts_its_start_from_the_depths_own_start(tmp_path):
    """``render_file(start=5)`` of a clip from 10 s lasting 0.24 s: beyond it (times from the depth's own
    start), said before any frame is decoded with the depth's length."""
    from igde_stream.stream.views import render_file

    c, d = _late_pair(tmp_path)
    with pytest.raises(IGDEError, match=r"no depth frame at or after --start 5 s: the depth lasts 0\.240 s$"):
        render_file(c, d, tmp_path / "v.mkv", start=5.0)
    assert not (tmp_path / "v.mkv").exists()


# ---- the layered hole fill ------------------------------------------------------------------------

FLAT = dict(sigma_space=1e6, stride=1, snap=0, layer_sigma=0)  # every measured pixel of one colour weighs 1


def test_two_noisy_layers_are_told_apart_by_their_standard_deviations():
    """Near 200 +- 2 (rows alternate 202 / 198) on columns 0-9, far 184 +- 2 (186 / 182) on 10-20, one colour,
    hole at (10, 10), radius 7. By NumPy over the disc: near 67 px, mean 200.09, sd 2.00; far 81 px, mean
    184.02, sd 2.00: 16.07 apart > 2 x (2.00 + 2.00 + 1) = 10: two layers, the far one (184). Read with
    variances for deviations (2 x (4 + 4 + 1) = 18) they would be one, the plain mean 191.3 -> 191."""
    from igde_stream.hole_fill import HoleFill, fill_holes

    color = np.full((21, 21, 3), 120, np.uint8)
    rows = np.arange(21)[:, None] % 2 == 0
    depth = np.where(np.arange(21)[None] < 10, np.where(rows, 202, 198), np.where(rows, 186, 182)).astype(np.uint8)
    depth[10, 10] = 0
    assert fill_holes(color, depth, settings=HoleFill(diameter=15, layers=2, **FLAT))[10, 10] == 184
    assert fill_holes(color, depth, settings=HoleFill(diameter=15, layers=0, **FLAT))[10, 10] == 191


def test_snap_takes_the_value_nearest_the_layers_fill():
    """Hole at column 9, near 200 on columns 0-9, far 50 on 10-20, radius 7: near 81 px (67 + 15 - 1), far 67.
    The plain mean (81 x 200 + 67 x 50) / 148 = 132.1 snaps to 200; the layered fill (81 <= 2 x 67: the far
    layer) is 50 and snaps to 50."""
    from igde_stream.hole_fill import HoleFill, fill_holes

    color = np.full((21, 21, 3), 120, np.uint8)
    depth = np.where(np.arange(21)[None] < 10, 200, 50).astype(np.uint8).repeat(21, 0)
    depth[10, 9] = 0
    snap = {**FLAT, "snap": 3}
    assert fill_holes(color, depth, settings=HoleFill(diameter=15, layers=0, **snap))[10, 9] == 200
    assert fill_holes(color, depth, settings=HoleFill(diameter=15, layers=2, **snap))[10, 9] == 50


@pytest.mark.parametrize("kw", [dict(layer_gap=True), dict(layer_sigma=True), dict(layer_gap="2")])
def test_layer_gap_and_sigma_are_numbers_not_flags(kw):
    from igde_stream.hole_fill import HoleFill

    with pytest.raises(ValueError, match="hole fill layer_"):
        HoleFill(**kw)


@pytest.mark.parametrize("tc, frames, want", [
    # FFmpeg reads "1:00:00:00" as non-drop and "1:00:00;00" as drop-frame (ffmpeg -timecode ... then
    # ffprobe: 01:00:00:00 and 01:00:00;00); 1800 frames on: one minute, and minute 61 of a drop-frame
    # count starts at ;02
    ("1:00:00:00", 30, "01:00:01:00"),
    ("1:00:00:00", 1800, "01:01:00:00"),
    ("1:00:00;00", 1800, "01:01:00;02"),
])
def test_a_timecode_with_one_digit_hours_keeps_its_kind(tc, frames, want):
    from igde_stream.stream.timecode import advance

    assert advance(tc, frames, Fraction(30000, 1001)) == want
