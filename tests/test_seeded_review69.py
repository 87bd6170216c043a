"""Seeded-bug review 69: the timecode at another rate and the colour's offset, the early refusal of
declared counts and live pairing, a YUV4MPEG cut on a pipe, the OS files of a replaced sequence, the
MP4 / MOV frame grid's tolerance, float edge confidence above 1, the float range advice, refusals in
the caller's words, and older code (the depth-range warnings), where a planted bug passed every test.
Each test was checked to fail with its bug planted and to pass without it (results/mutation.md,
"Seeded-bug review 69"); expected values are worked out by hand or with NumPy, outputs read back by
FFmpeg's demuxers."""

from __future__ import annotations

import os
from fractions import Fraction
from types import SimpleNamespace

import av
import numpy as np
import pytest

from conftest import timed_frames as frames
from conftest import write_video
from igde_stream import multiview as mv
from igde_stream.errors import PairingError
from igde_stream.stream.firstframe import color_offset
from igde_stream.stream.info import VideoInfo
from igde_stream.stream.pairing import _sure_count, pair_frames, pair_nearest
from igde_stream.stream.timecode import at_rate, with_timecode
from igde_stream.stream.views import render_file

# --- timecode at another rate, the colour's offset --------------------------------------------------

def _info(rate, timecode=None, start_pts=None, time_base=Fraction(1, 1000)):
    return VideoInfo("x.mkv", "ffv1", 8, 8, "gray16le", time_base, Fraction(rate), start_pts, None, None,
                     timecode=timecode)


@pytest.mark.parametrize("tc, rate, to_rate, want", [
    # frame f at R fps starts f / R s into its second; at R' fps that instant lies in frame floor(f R' / R)
    ("10:00:00:13", 25, 50, "10:00:00:26"),    # 0.52 s: 50 fps frame 26
    ("10:00:00:13", 25, 30, "10:00:00:15"),    # 0.52 s: 30 fps frames 15 (0.500-0.533 s), not 16
    ("10:00:00:49", 50, 25, "10:00:00:24"),    # 0.98 s: 25 fps frame 24
    ("01:00:00;29", Fraction(30000, 1001), 25, "01:00:00:24"),  # 29 / 30 s at 25 fps: frame 24, no drop-frame at 25
    ("01:00:00;20", Fraction(30000, 1001), Fraction(60000, 1001), "01:00:00;40"),  # drop-frame kept at 59.94
    # FFmpeg writes the frames in 2 digits up to 100 fps (av_timecode_make_string: 3 digits above 100)
    ("10:00:00:10", 50, 100, "10:00:00:20"),
])
def test_at_rate_keeps_the_second_and_scales_the_frame_number(tc, rate, to_rate, want):
    assert at_rate(tc, Fraction(rate), Fraction(to_rate)) == want


def test_a_colour_timecode_counted_on_is_counted_at_the_depths_rate():
    # colour at 50 fps from 10:00:00:00, depth at 25 fps from 1.2 s on the same clock (sync absolute): the
    # depth's first frame pairs with 25 fps frame 30 = 1 s and 5 frames: 10:00:01:05 (at 50 fps 30 frames
    # would be 10:00:00:30)
    depth, color = _info(25, start_pts=1200), _info(50, "10:00:00:00", start_pts=0)
    offset = color_offset(SimpleNamespace(info=depth, sync="absolute"), SimpleNamespace(info=color, sync="absolute"))
    assert offset == 30
    assert with_timecode(depth, color, (), offset).timecode == "10:00:01:05"


def test_a_colour_first_frames_timecode_is_counted_at_the_depths_rate_too():
    # neither container has one: the colour's first frame's (59.94 fps, ;58) at the depth's 29.97: ;29; the
    # depth's own first frame's timecode is its own rate already
    depth, color = _info(Fraction(30000, 1001)), _info(Fraction(60000, 1001))
    assert with_timecode(depth, color, (lambda: None, lambda: "01:00:00;58")).timecode == "01:00:00;29"
    assert with_timecode(color, depth, (lambda: "01:00:00;58", lambda: None)).timecode == "01:00:00;58"


@pytest.mark.parametrize("depth_start_ms, want", [(70, 2), (50, 1), (60, 1), (20, 0), (0, 0)])
def test_the_colour_offset_is_the_nearest_colour_frame(depth_start_ms, want):
    # 25 fps (40 ms frames): a depth from 70 ms pairs with colour frame 2 (80 ms, 10 ms away; frame 1 is 30 ms
    # away), from 50 ms with frame 1 (10 ms away), from 60 ms or 20 ms halfway: the earlier one, as pairing's
    # ties go (pair_nearest: ties to the earlier frame; pair_frames: the first within half a frame)
    depth, color = _info(25, start_pts=depth_start_ms), _info(25, start_pts=0)
    assert color_offset(SimpleNamespace(info=depth, sync="absolute"), SimpleNamespace(info=color, sync="absolute")) == want


def test_a_depth_that_starts_before_the_colour_counts_the_colour_on_by_nothing():
    depth, color = _info(25, start_pts=0), _info(25, start_pts=80)
    assert color_offset(SimpleNamespace(info=depth, sync="absolute"), SimpleNamespace(info=color, sync="absolute")) == 0
# --- early refusal of declared counts, live pairing --------------------------------------------------

@pytest.mark.parametrize("frames_declared, duration, sure", [
    (12, 0.48, 12),   # 12 frames at 25 fps: 0.48 s
    (12, 0.44, 12),   # the duration says 11: within a frame
    (12, 0.52, 12),   # 13: within a frame
    (12, 0.40, None),  # 10: two frames off
    (12, 0.28, None),  # 7: an MP4 cut with -c copy (12 samples of its GOP, 7 shown)
    (12, None, None),  # no duration to check the count against
])
def test_a_declared_count_is_sure_only_where_its_duration_agrees_within_a_frame(frames_declared, duration, sure):
    info = VideoInfo("c.mp4", "ffv1", 8, 8, "rgb24", Fraction(1, 1000), Fraction(25), 0, frames_declared, duration)
    assert _sure_count(info) == sure


def _mp4s(tmp_path, n_color, n_depth, depth_start=0.0):
    rng = np.random.default_rng(69)
    color = write_video(tmp_path / "c.mp4", rng.integers(0, 256, (n_color, 24, 32, 3), np.uint8), fmt="rgb24",
                        codec="ffv1", rate=Fraction(25), time_base=Fraction(1, 1000))
    depth = write_video(tmp_path / "d.mp4", rng.integers(0, 65536, (n_depth, 24, 32), np.uint16), fmt="gray16le",
                        rate=Fraction(25), time_base=Fraction(1, 1000),
                        times=[depth_start + k / 25 for k in range(n_depth)])
    return color, depth


def test_max_frames_within_both_streams_runs_beside_counts_that_would_not_pair(tmp_path, enhancer):
    # 12 colour beside 10 depth frames (MP4: declared) do not pair whole; their first 10 do (--max-frames of the
    # depth's own count: the run stops before the colour's last two, which are never paired)
    from igde_stream.stream import enhance_file

    color, depth = _mp4s(tmp_path, 12, 10)
    summary = enhance_file(color, depth, tmp_path / "e.mkv", enhancer=enhancer, max_frames=10)
    assert summary["frames"] == 10
    with av.open(str(tmp_path / "e.mkv")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 10


def test_a_later_depth_on_timestamps_is_refused_for_the_frames_past_the_colour(tmp_path, enhancer):
    # sync absolute, --pair nearest: colour frames at 0 ... 0.36 s, depth frames at 0.08 ... 0.52 s (25 fps, 20 ms
    # reach). Depth frames 0-7 (to 0.36 s) pair with colour frames 2-9; 8-11 (0.40 s on) are past the colour's
    # end: --max-frames 8, not the 10 that the declared counts (12 beside 10) give paired from one start
    from igde_stream.stream import enhance_file

    color, depth = _mp4s(tmp_path, 10, 12, depth_start=0.08)
    with pytest.raises(PairingError) as e:
        enhance_file(color, depth, tmp_path / "e.mkv", enhancer=enhancer, sync="absolute", pair="nearest")
    assert "of the depth stream (10 colour frames, 12 depth frames); the colour ends first: --max-frames 8 takes" \
        in e.value.problem, e.value.problem
    with pytest.raises(PairingError) as e:
        render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs", sync="absolute", pair="nearest")
    assert "--max-frames 8 takes" in e.value.problem, e.value.problem


class _Live:
    """A stream that gives ``frames`` and then would wait for ever (the test fails instead)."""

    def __init__(self, frames) -> None:
        self.items, self.pulled = frames, 0

    def __iter__(self):
        for f in self.items:
            self.pulled += 1
            yield f
        raise AssertionError("read past the frames a live source had sent: the run would wait here")


def test_exact_pairing_beside_a_live_depth_stops_at_its_first_depth_frame_without_colour():
    # colour file with frame 2 (80 ms) missing; live depth at 25 fps: depth frame 2 has no colour, and the
    # depth's next frame is read (to know the first unpaired frame is done with) and no further
    colour = frames([0.0, 0.04, 0.12, 0.16, 0.20])
    depth = _Live(frames([k * 0.04 for k in range(10)]))
    with pytest.raises(PairingError) as e:
        list(pair_frames(iter(colour), iter(depth), 0.02, ("c.mkv", "-")))
    assert depth.pulled == 4
    assert "frame 2 (0.080 s) of the depth stream has no colour frame" in e.value.problem, e.value.problem
    assert "3 depth frames read so far: a live input is not read to its end" in e.value.problem, e.value.problem


def test_no_max_frames_advice_where_no_depth_frame_has_colour():
    # colour at 0 and 0.04 s, depth at 0.2 and 0.24 s (25 fps): every depth frame lies past the colour's end;
    # --max-frames 0 would take nothing
    with pytest.raises(PairingError) as e:
        list(pair_nearest(iter(frames([0.0, 0.04])), iter(frames([0.2, 0.24])), 0.02, ("c.mkv", "d.mkv")))
    assert "of the depth stream" in e.value.problem and "--max-frames" not in e.value.problem, e.value.problem
# --- YUV4MPEG cut on a pipe -------------------------------------------------------------------------

def test_y4m_cut_inside_a_frame_on_a_real_pipe_is_one_line(tiny_model, tmp_path, monkeypatch, capsys):
    # stdin an OS pipe (as from `ffmpeg ... -f yuv4mpegpipe - | igde-stream ...`): its length is what was
    # read, not fstat's size (0 for a pipe). Written by hand: header, 3 whole 40 x 24 frames (6 + 960 bytes
    # each), frame 3's FRAME line and 500 of its 960 bytes: 506 bytes after the last whole frame
    import io
    import os
    import sys

    from conftest import scene
    from igde_stream.cli import main

    w, h = 40, 24
    colors, depths, _ = scene(5, (w, h), bits=8)
    color = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(30))
    header = f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 Cmono\n".encode()
    data = header + b"".join(b"FRAME\n" + d.tobytes() for d in depths[:3]) + b"FRAME\n" + depths[3].tobytes()[:500]
    r, wfd = os.pipe()
    os.write(wfd, data)  # 3.4 kB: within the pipe's buffer
    os.close(wfd)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(os.fdopen(r, "rb")))
    out = tmp_path / "o" / "e.mkv"
    out.parent.mkdir()
    rc = main([str(color), "-", "-o", str(out), "--model", str(tiny_model), "--backend", "torch", "-q",
               "--pair", "nearest"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err == ("igde-stream: error: -: the stream ends inside frame 3 (after frame 2 at 0.067 s): 506 "
                               "bytes after the last whole frame (cut in the middle of a frame)"), err
    assert list(out.parent.iterdir()) == []
# --- commit: the OS files of a replaced folder, a replaced file's backup -------------------------------

def test_an_os_file_the_new_folder_has_already_is_not_written_over(tmp_path):
    # a .DS_Store in both: the new folder's stays, the replaced folder (with its own) is kept, not deleted
    from igde_stream.stream.parts import _move_os_files

    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / ".DS_Store").write_bytes(b"old view settings")
    (old / "Thumbs.db").write_bytes(b"old thumbnails")
    (new / ".DS_Store").write_bytes(b"new view settings")
    assert _move_os_files(old, new) is False
    assert (new / ".DS_Store").read_bytes() == b"new view settings"
    assert (old / ".DS_Store").read_bytes() == b"old view settings"


def test_dot_ds_store_in_another_case_is_a_users_file(tmp_path):
    # OS_FILES: "compared in lower case but .DS_Store" (Windows' names are case-blind, Finder writes .DS_Store)
    from igde_stream.errors import OutputError
    from igde_stream.stream.imageseq import check_sequence_output, is_os_file

    assert is_os_file(".DS_Store") and is_os_file("THUMBS.DB") and is_os_file("Desktop.ini")
    assert not is_os_file(".ds_store") and not is_os_file(".DS_STORE")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".ds_store").write_bytes(b"a file of the user's")
    with pytest.raises(OutputError, match="holds other files"):
        check_sequence_output(out / "%04d.png", True)


def test_a_replaced_file_leaves_no_backup_behind(tmp_path):
    from igde_stream.stream.parts import commit

    final, tmp = tmp_path / "out.mkv", tmp_path / ".out.mkv.part"
    final.write_bytes(b"earlier run")
    tmp.write_bytes(b"this run")
    commit([(tmp, final)])
    assert sorted(os.listdir(tmp_path)) == ["out.mkv"] and final.read_bytes() == b"this run"
# --- MP4 / MOV frame grid -------------------------------------------------------------------------------

def test_a_frame_two_milliseconds_off_the_ntsc_grid_keeps_its_own_time_and_so_do_those_after_it(tmp_path):
    # Matroska at 30000/1001 fps: 0, 33, 67 ms are the grid's 0, 33.367, 66.733 rounded (within 0.5 ms);
    # frame 3 at 102 ms is 1.9 ms off 100.1: from it on, the times are the input's own
    from igde_stream.stream import DepthWriter, VideoReader

    ntsc = Fraction(30000, 1001)
    depth = write_video(tmp_path / "d.mkv", [np.full((24, 32), 1000 * k, np.uint16) for k in range(6)],
                        fmt="gray16le", rate=ntsc, time_base=Fraction(1, 1000),
                        times=[0, 0.033, 0.067, 0.102, 0.133, 0.167])
    with VideoReader(depth, "depth") as r, DepthWriter(tmp_path / "o.mp4", r.info) as w:
        for f in r.frames():
            w.write(f.data, f.pts)
    with av.open(str(tmp_path / "o.mp4")) as c:
        s = c.streams.video[0]
        times = sorted(Fraction(p.pts) * p.time_base for p in c.demux(s) if p.pts is not None)
    assert times == [0, Fraction(1001, 30000), Fraction(2002, 30000), Fraction(102, 1000), Fraction(133, 1000),
                     Fraction(167, 1000)]


def test_a_frame_near_the_grid_slot_of_the_one_before_keeps_its_own_time(tmp_path):
    # NUT in 1/64000 s at 30000/1001 fps: 0, 33, 67 ms lie within 0.5 ms of grid slots 0-2; 67.2 ms lies within
    # 0.5 ms of slot 2 too (66.733 ms), which the frame before holds: it keeps its own time, as do the frames
    # after it, rather than two frames on one time (which no writer takes)
    from igde_stream.stream import DepthWriter, VideoReader

    ntsc = Fraction(30000, 1001)
    times = [0, Fraction(33, 1000), Fraction(67, 1000), Fraction(4301, 64000), Fraction(100, 1000)]
    depth = write_video(tmp_path / "d.nut", [np.full((24, 32), 1000 * k, np.uint16) for k in range(5)],
                        fmt="gray16le", rate=ntsc, time_base=Fraction(1, 64000), times=times)
    with VideoReader(depth, "depth") as r:
        assert r.info.rate == ntsc and r.info.time_base == Fraction(1, 64000)  # the precondition
        with DepthWriter(tmp_path / "o.mp4", r.info) as w:
            for f in r.frames():
                w.write(f.data, f.pts)
    with av.open(str(tmp_path / "o.mp4")) as c:
        s = c.streams.video[0]
        got = sorted(Fraction(p.pts) * p.time_base for p in c.demux(s) if p.pts is not None)
    assert got == [0, Fraction(1001, 30000), Fraction(2002, 30000), Fraction(4301, 64000), Fraction(1, 10)]
# --- filters.edge_confidence on float depth above 1 -------------------------------------------------------

def test_float_depth_above_1_reads_as_1_in_the_edge_band():
    # docstring: "values above 1 read as 1": 1.2 beside 1.6 is no edge (both 1), 0.5 beside 1.6 is one (0.5 -> 1)
    from igde_stream.filters import edge_confidence

    d = np.full((6, 12), 1.2, np.float32)
    d[:, 6:] = 1.6
    np.testing.assert_array_equal(edge_confidence(d, band=1), np.ones((6, 12), np.float32))
    d[:, :6] = 0.5
    want = np.ones((6, 12), np.float32)
    want[:, 4:8] = 0.05  # the step's two pixels (5, 6) and one more each side (band 1, chessboard)
    np.testing.assert_array_equal(edge_confidence(d, band=1), want)
# --- float range advice ---------------------------------------------------------------------------------

@pytest.mark.parametrize("x, up, want", [
    # float32 0.1 is 0.100000001490116...: 9 digits below it 0.100000001, above it 0.100000002
    (float(np.float32(0.1)), False, "0.100000001"),
    (float(np.float32(0.1)), True, "0.100000002"),
    # float32 0.2334811985 is 0.233481198549...: 9 digits round it up to 0.233481199, below it 0.233481198
    (float(np.float32(0.2334811985)), True, "0.233481199"),
    (float(np.float32(0.2334811985)), False, "0.233481198"),
    (1500.0, True, "1500"), (1500.0, False, "1500"),  # held exactly
])
def test_outward_rounds_away_from_the_range_it_bounds(x, up, want):
    from igde_stream.run_summary import outward

    assert outward(x, up) == want
    assert (float(want) >= x) if up else (float(want) <= x)


def _array_reader(tmp_path, clip):
    from igde_stream.stream.arrays import ArrayReader

    np.save(tmp_path / "d.npy", np.asarray(clip, np.float32))
    return ArrayReader(tmp_path / "d.npy", "depth")


def test_the_range_of_a_numpy_clip_holds_every_frame_and_leaves_holes_out(tmp_path):
    from igde_stream.stream.floatdepth import clip_range

    clip = np.full((3, 4, 4), 5.0, np.float32)
    clip[0, 0, 0], clip[1, 1, 1], clip[2, 2, 2] = 2.0, 9.0, 4.0  # min in frame 0, max in frame 1
    clip[2, 0, :] = np.nan
    with _array_reader(tmp_path, clip) as r:
        assert clip_range(r, "near-high") == (2.0, 9.0)
        assert clip_range(r, "far-high") == (0.0, 9.0)  # far-high: 0..max
    # far-high distance of holes only (0 and -1: no measurement) has no range
    holes = np.zeros((2, 4, 4), np.float32)
    holes[1] = -1.0
    (tmp_path / "h").mkdir()
    with _array_reader(tmp_path / "h", holes) as r:
        assert clip_range(r, "far-high") is None


def test_values_filling_exactly_a_quarter_of_the_range_get_no_advice(tmp_path, caplog):
    # "fill under a quarter": 100..350 of --float-range 0:1000 is exactly 25 % (exact in binary)
    import logging

    from igde_stream.stream.floatdepth import FloatMap, _say_narrow

    clip = np.full((2, 4, 4), 200.0, np.float32)
    clip[0, 0, 0], clip[1, 3, 3] = 100.0, 350.0
    with _array_reader(tmp_path, clip) as r, caplog.at_level(logging.WARNING, logger="igde_stream"):
        _say_narrow(FloatMap(0.0, 1000.0, "near-high"), r, None, "near-high")
        assert not [m for m in caplog.messages if "spans only" in m]
        clip[1, 3, 3] = 349.0  # 24.9 %: said, with the range of every frame
        (tmp_path / "n").mkdir()
        with _array_reader(tmp_path / "n", clip) as r2:
            _say_narrow(FloatMap(0.0, 1000.0, "near-high"), r2, None, "near-high")
        said = [r for r in caplog.records if "spans only" in r.getMessage()]
        assert len(said) == 1 and "(every frame: 100..349)" in said[0].getMessage(), said
        assert "float_range=(100, 349)," in said[0].getMessage() and "--float-range=100:349," in said[0].cli_text
        # the share is of LO..HI: 1100..1400 fill 30 % of 1000:2000 (15 % of 0..2000): no advice
        (tmp_path / "o").mkdir()
        clip += 1000
        clip[1, 3, 3] = 1400.0
        with _array_reader(tmp_path / "o", clip) as r3:
            _say_narrow(FloatMap(1000.0, 2000.0, "near-high"), r3, None, "near-high")
    assert len([m for m in caplog.messages if "spans only" in m]) == 1


# --- refusals in the words of whoever called ---------------------------------------------------------------

def test_a_network_output_format_is_refused_in_the_callers_words():
    from igde_stream.errors import OutputError, cli_message
    from igde_stream.stream.urls import check_outputs, stream_url

    with pytest.raises(OutputError) as e:
        check_outputs(stream_url("udp://127.0.0.1:5004"), "ffv1", "mp4", "out_format")
    assert e.value.problem == "out_format='mp4': a network stream is written as nut, matroska, mpegts, flv"
    assert cli_message(e.value) == "udp://127.0.0.1:5004: --format mp4: a network stream is written as nut, matroska, " \
                                   "mpegts, flv"
# --- depth-range warnings (older code) -------------------------------------------------------------------

def test_far_high_advice_names_twenty_times_the_half_percentile_of_the_nearest():
    # 100 distances at max_depth 60000 (near limit 3000): 500, 500, 1000, 1000, 1000 nearer (5 %), 95 at
    # 20000. NumPy's 0.5th percentile lies between the two 500s: 500, so "e.g. 10000" (20 x 500)
    from igde_stream.depth_range import warn_depth_range

    d = np.full((10, 10), 20000, np.uint16)
    d.flat[[0, 11, 22, 33, 44]] = [500, 500, 1000, 1000, 1000]
    said = warn_depth_range(d, 60000.0, "far-high")
    assert len(said) == 1 and "5 % of the measured depth is nearer than the near limit 3000" in said[0], said
    assert said[0].endswith("set max_depth to about 20 x the nearest distance, e.g. 10000"), said


def test_the_distance_map_hint_needs_holes():
    # flat 16-bit near-high depth (1000..2000 of 0..65535): the hint that it may be a sensor's distance map
    # (larger = farther, 0 = no measurement) only where some pixels are 0
    from igde_stream.depth_range import warn_depth_range

    d = np.tile(np.linspace(1000, 2000, 16).astype(np.uint16), (8, 1))
    said = warn_depth_range(d, 65535.0, "near-high")
    assert len(said) == 1 and "span only 2 %" in said[0] and "distance map" not in said[0], said
    d[0, 0] = 0
    said = warn_depth_range(d, 65535.0, "near-high")
    assert len(said) == 1 and "distance map" in said[0], said
