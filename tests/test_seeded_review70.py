"""Seeded-bug review 70: the Looking Glass calibration's refusals, named pipes (the read-once join, the
waiting note, the drain, a raw pipe's suffix), stdin's interrupt, ``--hole-fill keep``, ``resize_colour``,
timestamp-named folders, variable-rate colour and its re-timing advice, the colour-mapped packed depth
check and the sound note, where a planted bug passed every test. Each test was checked to fail with
its bug planted and to pass without it (results/mutation.md, "Seeded-bug review 70"); expected values
are worked out by hand or with NumPy, or read from FFmpeg (ffprobe, its scale filter)."""

from __future__ import annotations

import logging
import os
import threading
import time
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import make_fifo, scene
from conftest import timed_frames as frames
from igde_stream import display
from igde_stream.errors import InputError

# --- Looking Glass visual.json -------------------------------------------------------------------------

PORTRAIT = {"pitch": {"value": 52.59267044067383}, "slope": {"value": -7.083540916442871},
            "center": {"value": 0.8167931437492371}, "invView": {"value": 1.0}, "DPI": {"value": 324.0},
            "screenW": {"value": 96.0}, "screenH": {"value": 128.0}, "flipImageX": {"value": 0.0},
            "flipImageY": {"value": 0.0}, "flipSubp": {"value": 0.0}}


@pytest.mark.parametrize("change, words", [
    # only the plain stripe (mode 0) is the shader's formula: every other mode is a per-cell layout
    ({"CellPatternMode": {"value": 1}}, "CellPatternMode 1"),
    ({"DPI": {"value": 0}}, "DPI must be > 0"),   # lenses = pitch W / DPI: no division by zero
    ({"screenW": {"value": 0}}, "whole pixels"),   # a screen of no pixels
    ({"screenH": {"value": -128}}, "whole pixels"),
])
def test_looking_glass_values_it_cannot_use_are_refused_in_one_line(change, words):
    with pytest.raises(InputError, match=words):
        display.looking_glass_calibration({**PORTRAIT, **change}, 8, "visual.json")


# --- named pipes, stdin ----------------------------------------------------------------------------------

def test_a_pipe_joins_one_reader_of_each_role_and_never_the_ground_truth():
    """Colour and depth may share one pipe's opening; a second depth reader (views quality given one
    pipe as two depths) or the ground truth may not: each would take packets the first one needs."""
    from igde_stream.stream.fifos import join_opened

    users = []
    shared = SimpleNamespace(add_user=lambda: users.append(1) or "joined")
    opened = {"k": (shared, {"depth"})}
    words = ("a named pipe", "pipe", "pipe")
    assert join_opened(opened, "other", "color", "p", words) is None  # not opened yet
    assert join_opened(opened, "k", "color", "p", words) == "joined" and opened["k"][1] == {"depth", "color"}
    for role in ("depth", "color", "gt"):
        with pytest.raises(InputError, match="a second reader of the same pipe"):
            join_opened(opened, "k", role, "p", words)
    assert users == [1]


def test_the_waiting_note_is_for_a_pipe_that_has_sent_nothing(monkeypatch, caplog):
    """A pipe whose writer pauses after its first bytes (an encoder between frames) is not 'waited for':
    the note is for a pipe that has sent nothing at all."""
    from igde_stream.stream import fifos

    monkeypatch.setattr(fifos, "NOTE_S", 0.1)
    r, w = os.pipe()
    reader = fifos.PipeReader(r, "paused.nut")
    os.write(w, b"ab")

    def later():
        time.sleep(0.4)
        os.write(w, b"cd")
        os.close(w)

    t = threading.Thread(target=later, daemon=True)
    try:
        with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
            assert reader.read(10) == b"ab"
            t.start()
            assert reader.read(10) == b"cd"  # waited 0.4 s, four times NOTE_S
            t.join()
            assert reader.read(10) == b""
    finally:
        reader.close()
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING]
    assert reader.total() == 4


def test_the_drain_reads_the_other_pipes_not_the_one_probed(monkeypatch):
    """While pipe A is probed, _Drain reads the run's other pipes into memory; read from A as well, it
    would hand A's reader its bytes out of order (some held, later ones read past them)."""
    from igde_stream.stream import fifos

    monkeypatch.setattr(fifos, "_waiting", {("a",): 11, ("b",): 12, ("c",): 13})
    monkeypatch.setattr(fifos, "_opened", {})
    monkeypatch.setattr(fifos, "_pending", {})
    assert sorted(fifos._Drain(12)._others()) == [11, 13]


def test_a_raw_pipe_named_in_capitals_is_raw(tmp_path):
    """kind_of reads .yuv / .raw in any case, for a file and a named pipe alike."""
    from igde_stream.stream.sources import kind_of

    (tmp_path / "f.YUV").write_bytes(b"\0" * 12)
    for name in ("D.YUV", "d.Raw"):
        assert kind_of(make_fifo(tmp_path, name)) == "raw"
    assert kind_of(make_fifo(tmp_path, "d.nut")) == "pipe" and kind_of(str(tmp_path / "f.YUV")) == "raw"


def test_stdin_reads_nothing_more_once_the_run_was_interrupted(monkeypatch):
    """A Ctrl-C (or SIGTERM) that came between two reads ends the stream at the next one, as one that
    came while a read waited does: the command then says what stopped it."""
    import io

    from igde_stream import signals
    from igde_stream.stream.stdin_reader import StdinReader

    reader = StdinReader(io.BytesIO(b"abcdef"))
    assert reader.read(2) == b"ab"
    monkeypatch.setitem(signals._received, "term", time.monotonic())
    assert reader.read(2) == b"" and reader.bytes_read == 2


# --- resize_colour ------------------------------------------------------------------------------------------

def _ffmpeg_scaled(png, w, h, flags):
    import subprocess

    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(png), "-vf", f"scale={w}:{h}:flags={flags}",
                          "-pix_fmt", "rgb24", "-f", "rawvideo", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(h, w, 3)


def test_resize_colour_turned_to_portrait_is_ffmpegs_bicubic_scale(tmp_path):
    """64x48 colour to a 48x64 grid: as many pixels, so the command's rule (area when shrinking, bicubic
    otherwise) takes bicubic; the result is 64 rows of 48 (not the 64x48 frame handed back)."""
    import shutil

    import cv2

    from igde_stream.stream.rgb import resize_colour

    if shutil.which("ffmpeg") is None:
        pytest.skip("needs the ffmpeg command line")
    colour = scene(1, size=(64, 48))[0][0]
    cv2.imwrite(str(tmp_path / "c.png"), colour[..., ::-1])
    got = resize_colour(colour, (48, 64))
    assert got.shape == (64, 48, 3)
    assert np.array_equal(got, _ffmpeg_scaled(tmp_path / "c.png", 48, 64, "bicubic"))


def test_resize_colour_edges_sizes_and_copies():
    from igde_stream.stream.rgb import resize_colour

    colour = scene(1, size=(32, 24))[0][0]
    assert resize_colour(np.zeros((0, 48, 64, 3), np.uint8), (32, 24)).shape == (0, 24, 32, 3)  # N x H x W x 3
    same = resize_colour(colour, (32, 24))
    assert np.array_equal(same, colour) and not np.shares_memory(same, colour)  # a copy, as documented
    for size in ((0, 24), (32, 0)):
        with pytest.raises(ValueError, match="at least 1 x 1"):
            resize_colour(colour, size)


# --- --hole-fill keep ---------------------------------------------------------------------------------------

def test_keep_takes_each_frames_own_holes_in_a_batch():
    """A batch of two frames with holes in other places: frame k's output is 0 exactly at frame k's holes
    (the frame alone gives the same), never at the other frame's."""
    from igde_stream.enhancer import Enhancer

    yy, xx = np.mgrid[:48, :64]
    box = (xx >= 16) & (xx < 36) & (yy >= 12) & (yy < 36)
    depth = np.where(box, 1000, 3000).astype(np.uint16)
    color = np.where(box[..., None], np.array([200, 40, 30], np.uint8), np.array([110, 110, 110], np.uint8))
    first, second = depth.copy(), depth.copy()
    first[12:36, 34:38] = 0  # a band along the box's right edge
    second[12:36, 14:18] = 0  # and along its left edge
    second[40, 5] = 0
    keep = Enhancer("igde-small", backend="onnxruntime", quiet=True, max_depth=5000, depth_order="far-high",
                    hole_fill="keep")
    both = keep.enhance(np.stack([color, color]), np.stack([first, second]))
    for k, d in enumerate((first, second)):
        assert np.array_equal(both[k] == 0, d == 0), k
        assert np.array_equal(both[k], keep.enhance(color, d)), k


# --- timestamp-named folders ---------------------------------------------------------------------------------

def _folder(folder, frames_, stamps):
    import cv2

    folder.mkdir()
    for f, t in zip(frames_, stamps):
        cv2.imwrite(str(folder / f"{t}.png"), f[..., ::-1] if f.ndim == 3 else f)
    return folder


DEPTH_UNIX = ["1305031102.160407", "1305031102.194330", "1305031102.226738"]  # TUM fr1/xyz's first depth maps


def test_a_depth_named_from_zero_beside_a_ground_truth_in_unix_time_is_two_clocks(tmp_path):
    """The other way round from a render's ground truth beside a sensor: here the depth is named in seconds
    from 0 (0, 0.033923, 0.066331: the sensor's steps) and the ground truth in Unix time. Their spans do
    not meet, so each counts from its first image: a ground truth on the depth's steps passes; one whose
    third image is 0.132593 s on is 0.132593 - 0.066331 = 0.066262 s off, more than the depth's median
    step (0.033923 s): refused at image 2, not at image 0 for the clocks alone."""
    from igde_stream.errors import PairingError
    from igde_stream.stream import VideoReader
    from igde_stream.stream.streams import check_numbering

    _, depths, gts = scene(3, (16, 12))
    d = _folder(tmp_path / "d", depths, ["0.000000", "0.033923", "0.066331"])
    ok = _folder(tmp_path / "ok", gts, DEPTH_UNIX)
    off = _folder(tmp_path / "off", gts, ["1305031102.160407", "1305031102.194330", "1305031102.293000"])
    with VideoReader(d, "depth") as dr, VideoReader(ok, "gt") as ok_r, VideoReader(off, "gt") as off_r:
        check_numbering(ok_r.info, dr.info)
        with pytest.raises(PairingError, match=r"image 2 of the ground truth is 1305031102\.293000\.png and of the "
                                               r"depth 0\.066331\.png: their names are timestamps 0\.066 s apart, "
                                               r"counted from each one's first image"):
            check_numbering(off_r.info, dr.info)


def test_seconds_beside_integer_timestamps_of_an_unknown_unit_are_not_compared(tmp_path, caplog):
    """Colour named in seconds (1305031102.175304) beside depth named in integer microseconds
    (1305031102160407): the integers' unit is not known, so no step is compared (compared, the colour's
    0.036 s from its first image would be taken for 33923 units off)."""
    from igde_stream.stream import VideoReader
    from igde_stream.stream.streams import check_numbering

    colors, depths, _ = scene(3, (16, 12))
    c = _folder(tmp_path / "rgb", colors, ["1305031102.175304", "1305031102.211214", "1305031102.243211"])
    d = _folder(tmp_path / "depth", depths, ["1305031102160407", "1305031102194330", "1305031102226738"])
    with VideoReader(d, "depth") as dr, VideoReader(c, "color") as cr, caplog.at_level(logging.WARNING):
        check_numbering(cr.info, dr.info, "colour")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_one_timestamp_folder_beside_a_numbered_one_of_other_length_gets_pair_nearest(tmp_path):
    """Only where both folders are named by timestamps is the associate.py advice given; colour named by
    timestamps (4 images) beside depth numbered 000000.png ... (3) is the plain case of a longer colour."""
    from igde_stream.errors import PairingError
    from igde_stream.stream import VideoReader
    from igde_stream.stream.streams import check_same_length

    colors, depths, _ = scene(4, (16, 12))
    c = _folder(tmp_path / "rgb", colors, ["1305031102.175304", "1305031102.211214", "1305031102.243211",
                                           "1305031102.275326"])
    d = _folder(tmp_path / "depth", depths[:3], [f"{k:06d}" for k in range(3)])
    with VideoReader(d, "depth") as dr, VideoReader(c, "color") as cr:
        with pytest.raises(PairingError) as err:
            check_same_length(cr.info, dr.info)
    assert "--pair nearest skips the extra colour frames" in str(err.value)
    assert "camera timestamps" not in str(err.value)


def test_a_list_is_of_times_and_images_not_of_any_word_and_an_image(tmp_path):
    """An FFmpeg concat list (file a.png) has two words a line, the second an image, but no time: it is no
    TUM list; TUM's lines are a time in seconds (digits, a point, digits) and an image."""
    from igde_stream.stream.streams import image_list

    def listed(text):
        path = tmp_path / "list.txt"
        path.write_text(text)
        return image_list(path)

    assert listed("file 000000.png\nfile 000001.png\n") is None
    assert listed("1305031102.160407 depth/1305031102.160407.png\n17 depth/17.png\n") is not None
    assert listed("1305031102.160407 depth/1305031102.160407.png\nnext depth/17.png\n") is None


# --- variable-rate colour: the re-timing advice ---------------------------------------------------------------

STEP = 0.125  # 8 fps, binary-exact
DEPTH = [k * STEP for k in range(6)]
NAMES = ("phone.mov", "depth.mp4")


def test_a_phone_clips_declared_rate_is_ffprobes_r_frame_rate(tmp_path):
    """A 30 fps phone clip in 1/600 s with one frame dropped: ffprobe gives r_frame_rate 30/1 (the guess
    from its steps) and avg_frame_rate 180/7 (6 frames over 7/30 s). declared_rate is the former,
    so that an image sequence beside it is told of the variable rate."""
    import json
    import shutil
    import subprocess

    from conftest import write_video
    from igde_stream.errors import PairingError
    from igde_stream.stream import VideoReader
    from igde_stream.stream.info import VideoInfo
    from igde_stream.stream.streams import check_timing

    colors, _, _ = scene(6, (32, 24))
    phone = write_video(tmp_path / "phone.mp4", colors, fmt="rgb24", rate=Fraction(30), time_base=Fraction(1, 600),
                        times=[0, 1 / 30, 2 / 30, 4 / 30, 5 / 30, 6 / 30])
    want = Fraction(30)
    if shutil.which("ffprobe"):
        probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                           "stream=r_frame_rate,avg_frame_rate", "-of", "json", str(phone)],
                                          capture_output=True, text=True, check=True).stdout)["streams"][0]
        assert (Fraction(probe["r_frame_rate"]), Fraction(probe["avg_frame_rate"])) == (30, Fraction(180, 7))
        want = Fraction(probe["r_frame_rate"])
    with VideoReader(phone, "color") as r:
        assert r.info.declared_rate == want and r.info.rate == Fraction(180, 7)
        seq = VideoInfo(path="depth/", codec="png", width=32, height=24, pix_fmt="gray", time_base=Fraction(1, 30),
                        rate=Fraction(30), start_pts=0, frames=6, duration=None, kind="sequence")
        with pytest.raises(PairingError, match=r"it guesses 30 fps from the timestamps\): if its frames come at "
                                               r"irregular times"):
            check_timing(r.info, seq, "colour")


def test_the_re_timing_rate_of_29_97_fps_depth_is_30000_over_1001():
    """Depth at 30000/1001 fps beside a phone clip that dropped frame 3: the command puts the colour on
    that grid, -r 30000/1001 (a denominator of at most 1000 gives 2997/100, which is not the depth's rate)."""
    from igde_stream.errors import PairingError
    from igde_stream.stream.pairing import pairs

    step = 1001 / 30000
    depth = [k * step for k in range(6)]
    colour = [k * step for k in (0, 1, 2, 4, 5, 6)]
    with pytest.raises(PairingError) as err:
        list(pairs("exact", frames(colour), frames(depth), (step, step), NAMES))
    assert 'ffmpeg -i phone.mov -vf "setpts=N/(30000/1001*TB)" -r 30000/1001 -c:v ffv1 color_cfr.mkv' in str(err.value)


def test_the_re_timing_is_onto_the_depths_rate_not_the_colours(caplog):
    """The colour's nominal frame duration (a phone clip's, 1/16 s here) is not the depth's (1/8 s): the
    re-timing puts the colour on the depth's grid, -r 8, under exact pairing and --pair nearest alike; the
    rates differ, yet exact pairing does not advise --pair nearest, which pairs neighbours here."""
    from igde_stream.errors import PairingError
    from igde_stream.stream.pairing import pairs

    dropped = [0, STEP, 2 * STEP, 4 * STEP, 5 * STEP, 6 * STEP]
    with pytest.raises(PairingError) as err:
        list(pairs("exact", frames(dropped), frames(DEPTH), (STEP / 2, STEP), NAMES))
    assert '"setpts=N/(8*TB)" -r 8 ' in str(err.value)
    assert "--pair nearest pairs streams" not in str(err.value)  # it pairs neighbours here: the re-timing alone
    burst = [0, 0.5 * STEP, STEP, 2 * STEP, 3 * STEP, 4.5 * STEP]
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert len(list(pairs("nearest", frames(burst), frames(DEPTH), (STEP / 2, STEP), NAMES))) == 6
    (said,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert '"setpts=N/(8*TB)" -r 8 ' in said


def test_more_colour_frames_than_depth_get_no_re_timing_advice(caplog):
    """The advice is for streams of as many frames (depth made from the colour frame by frame). Seven
    irregular colour frames beside six depth frames: --pair nearest says nothing of it (by hand: colour
    0.031 and 0.062 s are skipped, 0.562 s guides depth 4 and 5), and exact pairing keeps its own advice."""
    from igde_stream.errors import PairingError
    from igde_stream.stream.pairing import pairs

    colour = [0, 0.25 * STEP, 0.5 * STEP, STEP, 2 * STEP, 3 * STEP, 4.5 * STEP]
    tally: dict[str, int] = {}
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        got = [(c.index, d.index) for c, d in pairs("nearest", frames(colour), frames(DEPTH), (STEP, STEP), NAMES, tally)]
    assert got == [(0, 0), (3, 1), (4, 2), (5, 3), (6, 4), (6, 5)]
    assert tally == {"color_frames": 7, "color_skipped": 2, "color_reused": 1}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    more = [0, STEP, 2 * STEP, 4 * STEP, 5 * STEP, 6 * STEP, 6.5 * STEP]
    with pytest.raises(PairingError) as err:
        list(pairs("exact", frames(more), frames(DEPTH), (STEP, STEP), NAMES))
    assert "frame 3 (0.375 s) of the depth stream has no colour frame" in str(err.value)
    assert "irregular" not in str(err.value)


def test_one_dropped_frame_a_second_is_a_variable_rate_beside_an_image_sequence():
    """A phone clip that drops one frame a second averages 29 fps where FFmpeg guesses 30 from its steps:
    3.3 % off, past the 0.5 % (RATE_SNAP) within which an average is the declared rate through rounded
    timestamps; the refusal names the variable rate."""
    from igde_stream.errors import PairingError
    from igde_stream.stream.info import VideoInfo
    from igde_stream.stream.streams import check_timing

    def info(kind, rate, declared):
        return VideoInfo(path="phone.mov" if kind == "file" else "depth/", codec="hevc", width=8, height=8,
                         pix_fmt="gray", time_base=Fraction(1, 600), rate=rate, start_pts=0, frames=58, duration=None,
                         kind=kind, declared_rate=declared)

    with pytest.raises(PairingError, match=r"give --fps 29 \(FFmpeg's average rate of it; it guesses 30 fps"):
        check_timing(info("file", Fraction(29), Fraction(30)), info("sequence", Fraction(30), None), "colour")


def test_views_render_pairs_a_depth_folder_at_its_own_fps_nearest(tmp_path):
    """views render, as the main command: depth images at --fps 30 beside 15 fps colour with --pair nearest
    run (the rates of each said), 6 frames at k / 30 s; exact pairing of the two is refused."""
    import av
    import cv2

    from conftest import write_video
    from igde_stream.views_cli import main as views_main

    colors, depths, _ = scene(6, (32, 24))
    color = write_video(tmp_path / "c15.mkv", colors[::2], fmt="rgb24", codec="ffv1", rate=Fraction(15))
    folder = tmp_path / "d30"
    folder.mkdir()
    for k, d in enumerate(depths):
        cv2.imwrite(str(folder / f"{k:06d}.png"), d)
    out = tmp_path / "v.mkv"
    assert views_main(["render", str(color), str(folder), "-o", str(out), "--fps", "30", "--pair", "nearest",
                       "--layout", "sbs"]) == 0
    with av.open(str(out)) as c:
        times = [float(f.time) for f in c.decode(video=0)]
    assert np.allclose(times, [k / 30 for k in range(6)], atol=1e-3)
    assert views_main(["render", str(color), str(folder), "-o", str(tmp_path / "x.mkv"), "--fps", "30",
                       "--layout", "sbs"]) == 2


# --- the sound note -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("codecs, out, audio", [
    (["aac", "pcm_s16le"], "v.mp4", "-c:v copy -c:a aac"),  # MP4 holds AAC, not PCM: both coded
    (["aac", "opus"], "v.mp4", "-c copy"),
    (["pcm_s24le"], "v.mov", "-c copy"),  # MOV holds PCM as it is
    (["pcm_s24le"], "V.MP4", "-c:v copy -c:a aac"),  # the suffix in any case
])
def test_the_sound_note_copies_only_what_the_outputs_container_holds(monkeypatch, tmp_path, codecs, out, audio):
    from igde_stream.stream import sound

    monkeypatch.setattr(sound, "audio_codecs", lambda path: list(codecs))
    first, second = tmp_path / out, tmp_path / ("w" + out[1:])
    said = sound.sound_note("c.mov", [first, second])  # the first output named
    stem, suffix = os.path.splitext(out)
    assert said == (f"c.mov has sound ({len(codecs)} audio stream{'s' if len(codecs) > 1 else ''}: {', '.join(codecs)}), "
                    f"which the views and RGB-D files do not carry: to add it, ffmpeg -i {first} -i c.mov -map 0:v "
                    f"-map 1:a {audio} {tmp_path / (stem + '_sound' + suffix)}")


def test_the_command_says_the_sound_is_not_in_its_rgbd_output(tmp_path, capsys):
    """igde-stream with --rgbd-out (no --views-out): the RGB-D file is the one the note names."""
    from igde_stream.cli import main
    from test_sound_note import _with_sound

    colors, depths, _ = scene(5, (32, 24))  # 0.2 s at 25 fps, as long as the helper's tone
    color = _with_sound(tmp_path / "phone.mkv", colors, "flac")
    depth = tmp_path / "depth"
    depth.mkdir()
    import cv2

    for k, d in enumerate(depths):
        cv2.imwrite(str(depth / f"{k:06d}.png"), d)
    rgbd = tmp_path / "rgbd.mkv"
    assert main([str(color), str(depth), "-o", str(tmp_path / "o.mkv"), "--rgbd-out", str(rgbd), "--backend",
                 "onnxruntime", "--fps", "25", "--no-audio"]) == 0  # by default the RGB-D file carries it
    said = [line for line in capsys.readouterr().out.splitlines() if "has sound" in line]
    assert said == [f"{color} has sound (1 audio stream: flac), which the views and RGB-D files do not carry: to add "
                    f"it, ffmpeg -i {rgbd} -i {color} -map 0:v -map 1:a -c copy {tmp_path / 'rgbd_sound.mkv'}"]


# --- the colour-mapped packed depth check ---------------------------------------------------------------------

@pytest.mark.parametrize("rgb", [(230, 230, 20), (20, 20, 230), (230, 20, 230), (20, 230, 230)],
                         ids=["yellow", "blue", "magenta", "cyan"])
def test_a_depth_half_of_any_hue_is_far_from_gray(rgb):
    """Spread = max - min over all three channels: yellow (230, 230, 20) spreads 210 levels, though its
    red and green agree; blue (20, 20, 230) 210, though red and green agree there too. Turbo and
    inferno hold such colours; a half of them is a colour picture (100 %), not gray."""
    from igde_stream.stream.packed import Unpacker

    half = np.zeros((8, 16, 3), np.uint8)
    half[:] = rgb
    with pytest.raises(InputError, match="frame 3: 100 % of the depth half's pixels are far from gray"):
        Unpacker("rgbd", "depth", "p.mkv").check_gray(half, 3)
    Unpacker("rgbd", "depth", "p.mkv").check_gray(np.full((8, 16, 3), 128, np.uint8), 3)  # gray passes


def test_the_spread_that_counts_is_over_32_levels():
    """The rule, "pixels that spread over 32 levels between their channels": a gray map through a lossy
    codec whose every pixel spreads 32 levels (R = G + 32) passes; 33 levels is colour."""
    from igde_stream.stream.packed import Unpacker

    half = np.full((8, 16, 3), 100, np.uint8)
    half[..., 0] = 132
    Unpacker("rgbd", "depth", "p.mkv").check_gray(half, 0)
    half[..., 0] = 133
    with pytest.raises(InputError, match="100 % of the depth half's pixels are far from gray"):
        Unpacker("rgbd", "depth", "p.mkv").check_gray(half, 0)


# --- the alpha-channel hint -------------------------------------------------------------------------------------

def test_a_depth_with_alpha_in_a_format_depth_is_not_read_in_gets_the_hint(tmp_path):
    """FFV1 yuva420p (as ProRes 4444's yuva444p12le): no depth format, refused naming alphaextract."""
    import av

    from igde_stream.stream import VideoReader

    path = tmp_path / "matte.mkv"
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = 16, 12, "yuva420p"
        for i in range(2):
            f = av.VideoFrame.from_ndarray(np.full((12, 16, 4), 90 + i, np.uint8), format="rgba").reformat(format="yuva420p")
            f.pts = i
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    with pytest.raises(InputError, match=r"yuva420p, which is not supported .*alphaextract"):
        VideoReader(path, "depth").close()


def test_the_alpha_hints_glob_takes_the_suffix_of_the_images_not_of_a_hidden_file(tmp_path):
    """A folder copied from a Mac holds ._.DS_Store (AppleDouble), which sorts first: the glob is *.png."""
    from igde_stream.stream.formats import alpha_hint

    (tmp_path / "._.DS_Store").write_bytes(b"\0" * 8)
    for k in range(2):
        (tmp_path / f"{k:04d}.png").write_bytes(b"")
    assert f"-pattern_type glob -i '{tmp_path / '*.png'}'" in alpha_hint("rgba", str(tmp_path))


def test_the_depth_half_is_checked_as_displayed():
    """A side-by-side RGB-D frame stored turned a quarter (a phone's display matrix): as displayed, its
    right half is gray depth; as stored, its right half holds colour and depth. The check is of the
    displayed half (the depth read back is that half)."""
    import av
    from av.video.reformatter import VideoReformatter

    from igde_stream.stream.packed import Unpacker

    rng = np.random.default_rng(1)
    shown = np.zeros((16, 32, 3), np.uint8)
    shown[:, :16] = rng.integers(0, 256, (16, 16, 3), np.uint8)  # colour, left
    gray = np.tile(np.arange(16, dtype=np.uint8)[None, :] * 15, (16, 1))
    shown[:, 16:] = gray[..., None]  # depth, right, near = white
    stored = np.ascontiguousarray(np.rot90(shown, 1))  # 32 x 16 as stored
    frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
    depth = Unpacker("rgbd", "depth", "p.mp4").split(frame, VideoReformatter(), lambda a: np.rot90(a, -1), 0)
    assert np.array_equal(depth, gray)


# --- the float range advice: the Python API's words and the command's ------------------------------------------

@pytest.mark.parametrize("values, what", [(np.full((4, 4), 2.5, np.float32), "is constant (2.5)"),
                                          (np.full((4, 4), np.nan, np.float32), "holds no finite value")])
def test_a_first_float_frame_without_a_range_asks_each_caller_in_its_words(values, what):
    from igde_stream.errors import cli_message
    from igde_stream.stream.floatdepth import FloatMap

    with pytest.raises(InputError) as err:
        FloatMap.from_frame(values, "near-high", "d.exr")
    assert what in str(err.value)
    assert str(err.value).endswith("give float_range=(LO, HI)")  # a Python caller has no --float-range
    assert cli_message(err.value).endswith("give --float-range LO:HI")


# --- a display matrix on one input only -------------------------------------------------------------------------

def test_one_turned_input_is_told_of_no_autorotate_not_of_two_turns(caplog):
    """A phone clip stored 32x24 and shown 24x32 (a quarter turn) beside depth made from its stored
    frames (32x24, no matrix): --no-autorotate pairs them; the advice for two turned inputs (take the
    depth's matrix off) is for depth that carries a turn of its own."""
    from igde_stream.stream.orientation import warn_portrait_landscape

    def reader(path, size, turned):
        return SimpleNamespace(path=path, info=SimpleNamespace(width=size[0], height=size[1]), source_size=size,
                               sar=1, rotated=turned, autorotate=True, orientation=SimpleNamespace(transpose=turned))

    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        warn_portrait_landscape(reader("phone.mp4", (24, 32), True), reader("depth.mkv", (32, 24), False))
    (said,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said.endswith("a depth made from the stored frames of a video with a display rotation needs "
                         "--no-autorotate")


# --- older code the changes touch: rates, shapes -----------------------------------------------------------------

def test_a_ground_truth_at_another_rate_is_not_advised_pair_nearest():
    """--pair nearest pairs the colour with the depth, never the ground truth: a ground truth image folder
    at --fps 25 beside a 30 fps depth video is told the rate to give, and no more."""
    from igde_stream.errors import PairingError
    from igde_stream.stream.info import VideoInfo
    from igde_stream.stream.streams import check_timing

    gt = VideoInfo(path="gt/", codec="png", width=8, height=8, pix_fmt="gray16le", time_base=Fraction(1, 25),
                   rate=Fraction(25), start_pts=0, frames=12, duration=None, kind="sequence")
    depth = VideoInfo(path="depth.mkv", codec="ffv1", width=8, height=8, pix_fmt="gray16le",
                      time_base=Fraction(1, 15360), rate=Fraction(30), start_pts=0, frames=12, duration=None, kind="file",
                      declared_rate=Fraction(30))
    with pytest.raises(PairingError) as err:
        check_timing(gt, depth, "ground truth", fps_given=True)
    assert str(err.value).endswith("give --fps 30") and "--pair nearest" not in str(err.value)


def test_colour_and_depth_of_one_orientation_and_other_shapes_are_said_to_be_stretched(caplog):
    """Colour 64x40 (16:10) beside depth 64x36 (16:9): shapes 11 % apart (64 x 36 / (40 x 64) = 0.9), one
    stretched to the other's grid; within 2 % (64x36 beside 128x72) they are one shape."""
    from igde_stream.stream.orientation import warn_portrait_landscape

    def reader(path, size):
        return SimpleNamespace(path=path, info=SimpleNamespace(width=size[0], height=size[1]), source_size=size,
                               sar=1, rotated=False, autorotate=True, orientation=SimpleNamespace(transpose=False))

    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        warn_portrait_landscape(reader("c.mp4", (64, 40)), reader("d.mkv", (64, 36)))
        warn_portrait_landscape(reader("c.mp4", (128, 72)), reader("d.mkv", (64, 36)))
    (said,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said.startswith("colour c.mp4 is 64x40 (aspect 1.60) and depth d.mkv is 64x36 (aspect 1.78): one is "
                           "stretched to the other's grid")
