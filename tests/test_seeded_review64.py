"""Tests added by seeded-bug review 64 (results/mutation.md, "Seeded-bug review 64"): each catches a bug
planted by hand in the seeking reads of ``--start`` (``stream/seek.py``, the reader's cut, ``Span``,
``pairing.reach``, ``views quality --start``) that the earlier tests let through, or a defect the review
found. Expected frames come from the frame times worked out by hand, from NumPy (raw video and image
files written here) or from PyAV decoding the whole file."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from conftest import encode_frames, scene
from igde_stream.stream.reader import VideoReader

cv2 = pytest.importorskip("cv2")
RATE = Fraction(25)


def _frames(path, cut, role="depth", **kwargs):
    """(index, time, pixels) of every frame a reader of ``path`` gives from ``cut`` s, and its ``passed``."""
    with VideoReader(str(path), role, **kwargs) as r:
        r.skip_before = cut
        got = [(f.index, round(f.time, 6), f.data) for f in r.frames()]
        return got, r.passed


def _sequence(folder, frames, first=0, name="d"):
    folder.mkdir(exist_ok=True)
    for i, a in enumerate(frames):
        cv2.imwrite(str(folder / f"{name}{i + first:03d}.png"), a)
    return str(folder / f"{name}%03d.png")


# ---- defects -----------------------------------------------------------------------------------------

def test_a_start_past_an_image_sequence_s_last_file_reads_it_from_the_start(tmp_path):
    """10 files numbered from 5 (d005..d014), 25 fps: frame k at k x 40 ms, the last (9) at 0.36 s. A cut at
    0.5 s aims the seek at 0.46 s, frame 11.5, past the last file, which FFmpeg's image2 demuxer refuses
    (EINVAL): the reader reads from the first file instead and passes over all ten."""
    depths = scene(10, bits=16)[1]
    pattern = _sequence(tmp_path / "d", depths, first=5)
    got, passed = _frames(pattern, 0.5)
    assert got == [] and passed == (9, 0.36)
    got, _ = _frames(pattern, 0.3)  # within it: frames 8 (0.32 s) and 9, the files d013 and d014
    assert [(i, t) for i, t, _ in got] == [(8, 0.32), (9, 0.36)]
    for (_, _, a), b in zip(got, depths[8:]):
        np.testing.assert_array_equal(a, b)


def test_views_render_from_a_start_past_a_shorter_colour_sequence_says_so_in_one_line(tmp_path, capsys):
    """Colour: 6 files (to 0.20 s), depth: 10 (to 0.36 s). From 0.32 s the depth's frames 8 and 9 (0.32 and
    0.36 s) have no colour frame, as a whole run says of frames 6 to 9: one line and exit 2, not a
    traceback from the colour reader's seek past its last file."""
    from igde_stream.views_cli import main as views_main

    colors, depths, _ = scene(10)
    color = _sequence(tmp_path / "c", [c[:, :, ::-1] for c in colors[:6]], name="c")
    depth = _sequence(tmp_path / "d", depths)
    assert views_main(["render", color, depth, "-o", str(tmp_path / "v.mkv"), "--start", "0.32", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "frames 8 (0.320 s), 9 (0.360 s) of the depth stream have no colour frame" in err[0]
    assert not (tmp_path / "v.mkv").exists()


# ---- seek.py -----------------------------------------------------------------------------------------

def test_raw_video_seeks_to_the_frame_before_the_start(tmp_path, decoded):
    """20 raw gray16le frames, 25 fps: from 0.6 s, frames 15..19, the file's bytes; the seek aims at
    0.56 s (frame 14), so 6 frames are decoded, not 20."""
    from igde_stream.stream.sources import InputOptions

    depths = np.stack(scene(20, bits=16)[1]).astype("<u2")
    path = tmp_path / "d.yuv"
    depths.tofile(path)
    got, _ = _frames(path, 0.6, source=InputOptions(size=(64, 48), pix_fmt="gray16le"))
    assert [(i, t) for i, t, _ in got] == [(k, round(k * 0.04, 6)) for k in range(15, 20)]
    for (_, _, a), b in zip(got, depths[15:]):
        np.testing.assert_array_equal(a, b)
    assert decoded[str(path)] <= 7


class _Container:
    def __init__(self):
        self.seeks = []

    def seek(self, offset, **kwargs):
        self.seeks.append(offset)


def _info(start_pts, rate=RATE):
    from igde_stream.stream.info import VideoInfo

    return VideoInfo(path="x.mkv", codec="ffv1", width=4, height=4, pix_fmt="gray", time_base=Fraction(1, 1000),
                     rate=Fraction(rate), start_pts=start_pts, frames=None, duration=None)


@pytest.mark.parametrize("start_pts, pts, holds, number", [
    (200, 1040, False, None),  # 1.04 s as pts 0 counts: past the cut at 1 s (0.84 s from the stream's start)
    (200, 960, True, 19),      # 0.96 s: (960 - 200) / 40 = frame 19
    (220, 980, True, 19),      # a stream from 0.22 s: its grid is 220 + 40 k, so 980 is frame 19 (not 24.5)
    (220, 1000, False, None),  # 19.5 on that grid: off it
    (200, None, False, None),  # no timestamp: the seek's place is unknown
])
def test_an_absolute_seek_measures_the_cut_from_pts_0_and_the_grid_from_the_stream_s_start(start_pts, pts, holds,
                                                                                             number):
    """``--sync absolute``, 25 fps, 1 ms time base, cut at 1 s: the seek aims at pts 960 (a frame early,
    from pts 0). The frame found holds when on the stream's own grid (from its first pts) and at or
    before 1 s counted from pts 0; else the reader goes back to the stream's first pts."""
    from igde_stream.stream.seek import Seek

    c = _Container()
    s = Seek(c, None, _info(start_pts), 1.0, absolute=True)
    assert c.seeks == [max(960, start_pts)]
    assert s.holds(pts) is holds
    if holds:
        assert s.number(pts) == number
    else:
        assert c.seeks[-1] == start_pts


def test_a_30_fps_millisecond_stream_numbers_its_frames_by_the_nearest_grid_place():
    """30 fps in 1 ms: frame 1 at pts 33 (0.99 of a frame), frame 4 at 133 (3.99), frame 29 at 967."""
    from igde_stream.stream.seek import Seek

    s = Seek(_Container(), None, _info(0, 30), 0.5, absolute=False)
    assert [s.number(p) for p in (33, 67, 100, 133, 967)] == [1, 2, 3, 4, 29]


def test_a_late_stream_in_relative_sync_seeks_from_its_own_start(tmp_path, decoded):
    """FFV1 from 2 s (25 fps, 30 frames, PyAV's keyframe every 12), relative sync, cut at 0.6 s (2.6 s as
    pts time): frames 15..29 (0.6 s on), decoded from the keyframe at frame 12 (the seek aims at 0.56 s
    from the stream's start): 18 frames, not the 30 (and one) of a seek measured from pts 0, which lands
    on the first frame and goes back."""
    from conftest import read_video, write_video

    path = write_video(tmp_path / "d.mkv", scene(30)[1], fmt="gray", rate=RATE, start=2.0)
    got, _ = _frames(path, 0.6)
    pts = read_video(path)[1]
    assert [(i, t) for i, t, _ in got] == [(k, round(k * 0.04, 6)) for k in range(15, 30)]
    assert pts[15] == 2600
    assert decoded[str(path)] == 18


# ---- the reader's cut ---------------------------------------------------------------------------------

def test_a_start_past_the_end_names_the_last_frame_passed_over(tmp_path, capsys):
    """10 files (frames at 0 .. 0.36 s): --start 0.4 s lies within the last frame's time, so it passes the
    duration check; no frame is at or after it, and the message names the last one: 10th, at 0.360 s."""
    from igde_stream.views_cli import main as views_main

    colors, depths, _ = scene(10)
    color = _sequence(tmp_path / "c", [c[:, :, ::-1] for c in colors], name="c")
    depth = _sequence(tmp_path / "d", depths)
    assert views_main(["render", color, depth, "-o", str(tmp_path / "v.mkv"), "--start", "0.4", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("no depth frame at or after --start 0.4 s (its last frame, of 10, at 0.360 s)")


def test_the_first_frame_after_a_start_is_checked_as_a_first_frame(tmp_path, caplog):
    """Untagged FFV1 yuv420p depth holding 40..200 (within limited luma): the warning a whole read gives on
    its first frame is given on the first frame after a start too (frame 5, decoded after a seek)."""
    import logging

    from conftest import write_video

    depths = [np.clip(d, 40, 200).astype(np.uint8) for d in scene(10)[1]]
    path = write_video(tmp_path / "d.mkv", depths, fmt="yuv420p", codec="ffv1", rate=RATE)
    said = []
    for cut in (None, 0.2):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="igde_stream"):
            got, _ = _frames(path, cut)
        said.append([r.getMessage() for r in caplog.records if "within the limited range" in r.getMessage()])
    assert got[0][0] == 5 and len(said[0]) == 1 and len(said[1]) == 1  # (of each first frame's values)


@pytest.mark.skipif(__import__("shutil").which("ffmpeg") is None, reason="needs the ffmpeg command line for an edit list")
def test_an_mp4_trimmed_with_an_edit_list_seeks_and_gives_the_whole_read_s_frames(tmp_path):
    """H.264 (B-frames, a keyframe every 10) cut with ffmpeg -ss 0.5 -c copy: the MP4 keeps the samples from
    the keyframe before 0.5 s, and an edit list hides those before it (the container declares them, the
    decoder drops them). From 1 s the reader seeks; its frames are PyAV's whole decode from 1 s: pts, the
    pixels of a whole read, numbers counted from the first shown frame; the samples hidden before the seek are not counted
    missing (no "truncated")."""
    import subprocess

    from conftest import read_video

    src = _x264(tmp_path / "s.mp4", scene(40)[0])
    out = tmp_path / "t.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-ss", "0.5", "-i", str(src), "-c", "copy", str(out)], check=True)
    pts, tb = read_video(out)[1], read_video(out)[2]["time_base"]
    with VideoReader(str(out), "color") as r:
        frames = [f.data for f in r.frames()]
    times = [round(float((p - pts[0]) * tb), 6) for p in pts]
    first = next(k for k, t in enumerate(times) if t >= 0.6)
    with VideoReader(str(out), "color") as r:
        assert r.info.frames and r.info.frames > len(pts)  # samples hidden by the edit list are declared
        r.skip_before = 0.6
        got = [(f.index, f.pts, f.data) for f in r.frames()]
    assert [(i, p) for i, p, _ in got] == list(zip(range(first, len(pts)), pts[first:]))
    for (_, _, a), b in zip(got, frames[first:]):
        np.testing.assert_array_equal(a, b)


def _x264(path, colors, gop=10, options=None):
    """H.264 with a keyframe every ``gop`` frames and B-frames; ``options``: the muxer's."""
    import av

    return encode_frames(path, [av.VideoFrame.from_ndarray(c, format="rgb24").reformat(format="yuv420p")
                                for c in colors], "libx264", "yuv420p", rate=RATE, container_options=options,
                         options={"g": str(gop), "keyint_min": str(gop), "bf": "2", "sc_threshold": "0", "crf": "20"})


def test_an_mp4_cut_short_after_whole_packets_is_refused_by_its_declared_count(tmp_path):
    """H.264 MP4 with its index first (faststart), 40 frames, the file cut where the 25th packet begins: the
    index declares 40 samples, 24 are there, and a whole read says so by the count (not the duration)."""
    import av

    whole = _x264(tmp_path / "w.mp4", scene(40)[0], options={"movflags": "+faststart"})
    with av.open(str(whole)) as c:
        offsets = sorted(p.pos for p in c.demux(video=0) if p.pos is not None)
    assert len(offsets) == 40
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[:offsets[24]])
    from igde_stream.errors import CorruptInputError

    with pytest.raises(CorruptInputError, match=r"truncated: decoded 24 frames but the container declares 40$"):
        _frames(cut, None, role="color")


def test_a_jpeg_turned_by_its_exif_is_found_at_its_own_frame_after_a_start(tmp_path):
    """JPEG files c000..c009, c007 on tagged EXIF orientation 6 (turned 90 degrees clockwise): read from
    0.2 s (frame 5, after a seek), the orientation changes at frame 7, each frame's tag read from its own file."""
    from PIL import Image

    from igde_stream.errors import IGDEError

    (tmp_path / "c").mkdir()
    for i, a in enumerate(scene(10)[0]):
        im = Image.fromarray(a)
        exif = im.getexif()
        exif[0x0112] = 6 if i >= 7 else 1
        im.save(tmp_path / "c" / f"c{i:03d}.jpg", exif=exif.tobytes())
    with pytest.raises(IGDEError, match=r"display orientation changes at frame 7: as stored before, turned 90"):
        _frames(str(tmp_path / "c" / "c%03d.jpg"), 0.2, role="color")


@pytest.mark.skipif(__import__("shutil").which("ffmpeg") is None, reason="needs the ffmpeg command line to join two sizes")
def test_a_video_that_changes_size_after_the_start_is_refused(tmp_path):
    """H.264, 8 frames of 64x48 then 8 of 32x24 in one Matroska track (two streams joined, copied): read from
    0.12 s, the size changes at frame 8 (0.32 s), as a whole read says."""
    import subprocess

    from igde_stream.errors import IGDEError

    ff = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    parts = []
    for size in ("64x48", "32x24"):
        parts.append(tmp_path / f"{size}.h264")
        subprocess.run([*ff, "-f", "lavfi", "-i", f"testsrc=size={size}:rate=25", "-frames:v", "8", "-c:v", "libx264",
                        "-pix_fmt", "yuv420p", "-bf", "0", str(parts[-1])], check=True)
    (tmp_path / "ab.h264").write_bytes(b"".join(p.read_bytes() for p in parts))
    subprocess.run([*ff, "-r", "25", "-i", str(tmp_path / "ab.h264"), "-c", "copy", str(tmp_path / "ab.mkv")], check=True)
    for cut in (None, 0.12):
        with pytest.raises(IGDEError, match=r"frame size changes mid-stream at frame 8 \(0\.320 s\): 64x48 before, 32x24"):
            _frames(tmp_path / "ab.mkv", cut, role="color")


# ---- who seeks -----------------------------------------------------------------------------------------

def _render_tail(tmp_path, args_part, args_whole, first, piped=None):
    """views render of ``args_part`` (with its --start; ``piped``: bytes on a real pipe into a separate
    process's stdin) gives the frames (pts, pixels) of the whole render ``args_whole`` from frame ``first``."""
    import subprocess
    import sys

    import av

    from igde_stream.views_cli import main as views_main

    part, whole = tmp_path / "part.mkv", tmp_path / "whole.mkv"
    assert views_main(["render", *args_whole, "-o", str(whole), "--views", "2", "-q"]) == 0
    args = ["render", *args_part, "-o", str(part), "--views", "2", "-q"]
    if piped is None:
        assert views_main(args) == 0
    else:
        run = subprocess.run([sys.executable, "-m", "igde_stream", "views", *args], input=piped, capture_output=True)
        assert run.returncode == 0, run.stderr.decode()[-2000:]
    with av.open(str(whole)) as w, av.open(str(part)) as p:
        wf = [(f.pts, f.to_ndarray(format="rgb24")) for f in w.decode(video=0)][first:]
        pf = [(f.pts, f.to_ndarray(format="rgb24")) for f in p.decode(video=0)]
    assert [t for t, _ in pf] == [t for t, _ in wf] and pf
    for (_, a), (_, b) in zip(pf, wf):
        np.testing.assert_array_equal(a, b)


def test_packed_halves_from_a_start_are_the_whole_render_s_frames(tmp_path):
    """Colour | depth packed side by side (FFV1, 25 fps, 20 frames): from 0.5 s, frames 13..19 of the whole
    render (the halves share one decode, which reads on from the start)."""
    from conftest import write_video

    colors, depths, _ = scene(20)
    frames = [np.concatenate([c, np.repeat(d[..., None], 3, axis=2)], axis=1) for c, d in zip(colors, depths)]
    path = str(write_video(tmp_path / "p.mkv", frames, fmt="rgb24", codec="ffv1", rate=RATE))
    _render_tail(tmp_path, [path, "--packed", "rgbd", "--start", "0.5"], [path, "--packed", "rgbd"], 13)


def test_colour_on_stdin_from_a_start_is_read_on_not_sought(tmp_path):
    """Colour piped in (NUT through a real pipe), depth a file: from 0.5 s the render is the whole render's
    frames 13..19 (a pipe cannot seek: its reader passes over the frames before the start)."""
    from conftest import write_video

    colors, depths, _ = scene(20)
    c = write_video(tmp_path / "c.nut", colors, fmt="rgb24", codec="ffv1", rate=RATE)
    d = str(write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=RATE))
    _render_tail(tmp_path, ["-", d, "--start", "0.5"], [str(c), d], 13, piped=c.read_bytes())


# ---- Span and pairing's reach ----------------------------------------------------------------------------

def test_nearest_pairing_from_a_start_keeps_the_earlier_colour_frame_within_reach(tmp_path):
    """Colour at 10 fps (frames at 0.4 and 0.5 s) beside depth at 25 fps, --pair nearest: depth frame 11
    (0.44 s) pairs with colour 0.4 s (40 ms away, not 60). From --start 0.44 the colour reader must keep
    frames back to half the longer frame (50 ms): the render from there is the whole render's."""
    from conftest import write_video

    c = str(write_video(tmp_path / "c.mkv", scene(16)[0], fmt="rgb24", codec="ffv1", rate=Fraction(10)))
    d = str(write_video(tmp_path / "d.mkv", scene(30)[1], fmt="gray", rate=RATE))
    _render_tail(tmp_path, [c, d, "--pair", "nearest", "--start", "0.44"], [c, d, "--pair", "nearest"], 11)


def test_nearest_pairing_from_a_start_keeps_a_tie_within_the_timestamps_rounding(tmp_path):
    """Matroska (1 ms) colour at 30 fps (33, 67 ms) beside depth at 60 fps (17, 33, 50 ms ...), --pair nearest:
    depth 50 ms is 17 ms from colour 33 and 67, a tie, which the earlier takes. From --start 0.05 the colour
    reader keeps 33 ms, 17 ms back: half the 30 fps frame (16.7 ms) plus the rounding of 1 ms time bases."""
    from conftest import write_video

    ms = Fraction(1, 1000)
    c = str(write_video(tmp_path / "c.mkv", scene(15)[0], fmt="rgb24", codec="ffv1", rate=Fraction(30), time_base=ms))
    d = str(write_video(tmp_path / "d.mkv", scene(28)[1], fmt="gray", rate=Fraction(60), time_base=ms))
    _render_tail(tmp_path, [c, d, "--pair", "nearest", "--start", "0.05"], [c, d, "--pair", "nearest"], 3)


def test_a_start_typed_as_minutes_takes_the_frame_at_it(tmp_path):
    """--start 1:08.96 is 60 + 8.96 = 68.96000000000001 as a float, a hair after the frame at 68.96 s
    (frame 2 of a clip from 68.88 s at 25 fps, read on pts 0's times): that frame is the first taken."""
    from conftest import write_video
    from igde_stream.cli_parser import time_arg
    from igde_stream.stream.span import Span

    start = time_arg("1:08.96")
    assert start > 68.96
    colors, depths, _ = scene(6)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=RATE, start=68.88)
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=RATE, start=68.88)
    with VideoReader(c, "color", sync="absolute") as cr, VideoReader(d, "depth", sync="absolute") as dr:
        Span(start).cut("exact", cr, [dr])
        got = [(f.index, f.pts) for f in dr.frames()]
    assert got == [(2, 68960), (3, 69000), (4, 69040), (5, 69080)]  # Matroska: pts in ms


def test_ground_truth_a_little_earlier_is_kept_for_the_first_frame_and_sought(tmp_path, enhancer, decoded):
    """--sync absolute: 20 frames of colour and depth from 1 s, the ground truth 10 ms earlier (0.99 + k x 40 ms, 1 ms
    time base); each depth frame matches the ground-truth frame 10 ms before it. From 1.6 s (depth frame
    15) the report's frames are the whole run's from frame 15, the first with ground truth 1.59 s; the
    ground truth is decoded from its keyframe before 1.52 s (frame 12, PyAV's keyframe every 12), not
    from its start."""
    import json

    from conftest import write_video
    from igde_stream.stream import enhance_file

    colors, depths, gts = scene(20, (32, 32))
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=RATE, start=1.0)
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=RATE, start=1.0)
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray", rate=RATE, time_base=Fraction(1, 1000),
                    times=[0.99 + k * 0.04 for k in range(20)])
    reports = []
    for name, start in (("all", 0.0), ("part", 1.6)):
        decoded.clear()
        enhance_file(c, d, tmp_path / f"{name}.mkv", enhancer=enhancer, gt_path=g, sync="absolute", start=start,
                     report_path=tmp_path / f"{name}.json")
        reports.append(json.loads((tmp_path / f"{name}.json").read_text()))
    assert decoded[str(g)] == 20 - 12
    keep = ("index", "pts_time", "gt_pts_time", "mse", "input_mse")
    whole, part = ([{k: f.get(k) for k in keep} for f in r["frames"]] for r in reports)
    assert part == whole[15:] and part[0]["index"] == 15 and part[0]["gt_pts_time"] == 1.59


def test_views_quality_refuses_a_start_past_a_late_clip_s_length_before_reading(tmp_path):
    """A clip from 10 s lasting 0.24 s (6 frames at 25 fps): --start 5 is counted from the depth's own
    start, past its end: refused on the declared duration, before any frame is read."""
    from conftest import write_video
    from igde_stream.errors import IGDEError
    from igde_stream.stream import views
    from igde_stream import multiview as mv

    colors, depths, gts = scene(6)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=RATE, start=10.0)
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=RATE, start=10.0)
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray", rate=RATE, start=10.0)
    with pytest.raises(IGDEError, match=r"no depth frame at or after --start 5 s: the depth lasts 0\.240 s$"):
        views.view_quality_files(c, g, {"d": d}, mv.ViewConfig(4, 12), start=5.0)


def test_views_quality_from_a_start_in_the_last_frame_s_time_names_the_last_frame(tmp_path):
    """5 frames at 25 fps (to 0.16 s, lasting 0.2 s): --start 0.2 passes the duration check (the end and
    a frame more), and no frame is at or after it: the message names the start and the last frame passed
    over, the 5th at 0.160 s."""
    from conftest import write_video
    from igde_stream.errors import IGDEError
    from igde_stream.stream import views
    from igde_stream import multiview as mv

    colors, depths, gts = scene(5)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=RATE)
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=RATE)
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray", rate=RATE)
    with pytest.raises(IGDEError, match=r"no depth frame at or after --start 0\.2 s \(its last frame, of 5, at 0\.160 s\)$"):
        views.view_quality_files(c, g, {"d": d}, mv.ViewConfig(4, 12), start=0.2)


# ---- NumPy arrays -------------------------------------------------------------------------------------

def test_an_array_clip_from_a_start_gives_its_frames_from_there(tmp_path):
    """8 frames in a .npy at 25 fps (frame k at k x 40 ms): from 0.2 s, frames 5, 6, 7 with their arrays;
    the last passed over is frame 4 at 0.16 s; from 0.4 s, none, the last passed over frame 7 at 0.28 s."""
    depths = np.stack(scene(8, bits=16)[1])
    path = tmp_path / "d.npy"
    np.save(path, depths)
    got, passed = _frames(path, 0.2)
    assert [(i, t) for i, t, _ in got] == [(5, 0.2), (6, 0.24), (7, 0.28)] and passed == (4, 0.16)
    for (_, _, a), b in zip(got, depths[5:]):
        np.testing.assert_array_equal(a, b)
    assert _frames(path, 0.4) == ([], (7, 0.28))
