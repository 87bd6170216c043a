"""Colour of a variable frame rate (a phone's) beside depth an estimator made from it frame by frame,
written at a constant rate: frame k of the depth belongs with colour frame k, which pairing by time
does not give once the colour's steps drift off the depth's grid. The refusal says so and how to
re-time the colour, never advising --pair nearest there, and --pair nearest, which then pairs
neighbours, warns. Frame times and the pairs expected are worked out by hand."""

from __future__ import annotations

import logging
from fractions import Fraction

import numpy as np
import pytest

from conftest import scene, timed_frames as frames, write_video
from igde_stream.cli import main
from igde_stream.errors import PairingError
from igde_stream.stream.info import VideoInfo
from igde_stream.stream.pairing import pairs
from igde_stream.stream.streams import check_timing

NAMES = ("phone.mov", "depth.mp4")
STEP = 0.125  # binary-exact frame duration (8 fps): every comparison below is exact
DEPTH = [k * STEP for k in range(6)]
# the phone dropped the frame at 3 steps: colour frames 3, 4, 5 come a step later than the depth's
DROPPED = [0, STEP, 2 * STEP, 4 * STEP, 5 * STEP, 6 * STEP]


def test_a_dropped_colour_frame_is_refused_with_the_re_timing_not_pair_nearest():
    with pytest.raises(PairingError) as err:
        list(pairs("exact", frames(DROPPED), frames(DEPTH), (STEP, STEP), NAMES))
    msg = str(err.value)
    assert "frame 3 (0.375 s) of the depth stream has no colour frame" in msg  # depth 3 at 3 steps: no colour
    assert "steps of 125.0 to 250.0 ms: a variable frame rate" in msg
    assert "ffmpeg -i phone.mov -vf \"setpts=N/(8*TB)\" -r 8 -c:v ffv1 color_cfr.mkv" in msg
    assert "--pair nearest pairs streams" not in msg and "--pair nearest gives" not in msg
    assert "; --pair index pairs them so, as they are; or re-time the colour" in msg  # the simple route first
    # views quality, which takes no --pair, says the problem and the re-timing without it
    unadvised = err.value.unadvised
    assert "--pair index" not in unadvised and "; re-time the colour onto the depth's frames first: ffmpeg" in unadvised


def test_pair_nearest_pairs_neighbours_there_and_warns(caplog):
    # a burst (two frames half a step apart) then a long step: as many colour frames as depth frames,
    # each depth frame within half a step of some colour frame, none of them the frame of its number
    burst = [0, 0.5 * STEP, STEP, 2 * STEP, 3 * STEP, 4.5 * STEP]
    tally: dict[str, int] = {}
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        got = [(c.index, d.index) for c, d in
               pairs("nearest", frames(burst), frames(DEPTH), (STEP, STEP), NAMES, tally)]
    # depth 1 meets colour 2 exactly (colour 1 guides nothing), 2 and 3 colour 3 and 4; depth 4 and 5
    # lie half a step (the tolerance) from colour 5, which guides both
    assert got == [(0, 0), (2, 1), (3, 2), (4, 3), (5, 4), (5, 5)]
    assert tally == {"color_frames": 6, "color_skipped": 1, "color_reused": 1}
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1
    assert "both streams hold 6 frames, yet pairing by time left 1 colour frame unused and gave 1" in warned[0]
    assert "steps of 62.5 to 187.5 ms" in warned[0] and '"setpts=N/(8*TB)" -r 8' in warned[0]
    assert "--pair index pairs them so" in warned[0]


def test_rounded_timestamps_are_no_variable_rate():
    # 30 fps in a 1 ms time base (33 / 34 ms steps) with one depth frame missing: no re-timing advice
    colour = [round(k * 1000 / 30) / 1000 for k in range(6)]
    with pytest.raises(PairingError) as err:
        list(pairs("exact", frames(colour), frames(colour[:3] + colour[4:] + [0.2]), (1 / 30, 1 / 30), NAMES))
    assert "irregular" not in str(err.value)


def test_a_gifs_centisecond_delays_are_no_variable_rate():
    # a 30 fps clip as GIF: delays of 3 and 4 centiseconds (pts in 1/100 s); one depth frame missing
    from igde_stream.stream import Frame

    pts = [0, 3, 7, 10, 13, 17]
    gif = [Frame(i, p, p / 100, p / 100, np.zeros(1, np.uint8)) for i, p in enumerate(pts)]
    depth = [k / 30 for k in (0, 1, 2, 4, 5, 6)]
    with pytest.raises(PairingError) as err:
        list(pairs("exact", gif, frames(depth), (1 / 30, 1 / 30), NAMES))
    assert "irregular" not in str(err.value)
    # in a phone's 1/600 s: 2 units (3.3 ms) + a tenth of a frame (3.3 ms) is the most two steps may differ;
    # a frame 25 ms late (steps of 58.3 then 8.3 ms) is past it
    phone = [Frame(i, p, p / 600, p / 600, np.zeros(1, np.uint8)) for i, p in enumerate([0, 20, 40, 75, 80, 100])]
    with pytest.raises(PairingError, match=r"steps of 8\.3 to 58\.3 ms"):
        list(pairs("exact", phone, frames([k / 30 for k in range(6)]), (1 / 30, 1 / 30), NAMES))


def test_nearest_at_two_constant_rates_does_not_warn(caplog):
    # 8 fps colour beside 4 fps depth: every other colour frame skipped, as asked for
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert len(list(pairs("nearest", frames(DEPTH), frames(DEPTH[::2]), (STEP, 2 * STEP), NAMES))) == 3
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def _info(kind: str, rate: Fraction, declared: Fraction | None) -> VideoInfo:
    return VideoInfo(path="phone.mov" if kind == "file" else "depth/", codec="hevc", width=8, height=8,
                     pix_fmt="gray", time_base=Fraction(1, 600), rate=rate, start_pts=0, frames=12, duration=None,
                     kind=kind, declared_rate=declared)


def test_an_image_sequence_beside_a_variable_rate_video_names_the_re_timing():
    seq = _info("sequence", Fraction(30), None)
    # 12 frames over 0.415 s average 2400/83 fps; FFmpeg guesses 60 from the shortest steps
    with pytest.raises(PairingError) as err:
        check_timing(_info("file", Fraction(2400, 83), Fraction(60)), seq, "colour")
    msg = str(err.value)
    assert "give --fps 28.9157 (FFmpeg's average rate of it; it guesses 60 fps" in msg
    assert "ffmpeg -i phone.mov -vf \"setpts=N/(R*TB)\" -r R -c:v ffv1 color_cfr.mkv, then --fps R" in msg
    assert "--pair index" not in msg  # the ground truth's check, and views quality's: no --pair to give
    with pytest.raises(PairingError) as err:  # the main command and views render take --pair
        check_timing(_info("file", Fraction(2400, 83), Fraction(60)), seq, "colour", index=True)
    assert "no --fps pairs each image with its frame; --pair index pairs them so, as they are; or re-time" in str(err.value)
    with pytest.raises(PairingError) as err:  # a constant 25 fps video: the rate to give, no more
        check_timing(_info("file", Fraction(25), Fraction(25)), seq, "colour")
    assert str(err.value).endswith("give --fps 25")


def test_the_command_refuses_a_phone_clip_with_the_re_timing(tmp_path, tiny_model, capsys):
    colors, depths, _ = scene(6, (32, 24))
    times = [0, 1 / 30, 2 / 30, 4 / 30, 5 / 30, 6 / 30]  # one frame dropped
    color = write_video(tmp_path / "phone.mp4", colors, fmt="rgb24", rate=Fraction(30),
                        time_base=Fraction(1, 600), times=times)
    depth = write_video(tmp_path / "depth.mkv", depths, fmt="gray", rate=Fraction(30))
    out = tmp_path / "out.mkv"
    try:
        code = main([str(color), str(depth), "-o", str(out), "--model", str(tiny_model), "--backend", "torch"])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    line = [x for x in err.splitlines() if "error:" in x]
    assert len(line) == 1 and "a variable frame rate" in line[0]
    assert f"ffmpeg -i {color} -vf \"setpts=N/(30*TB)\" -r 30" in line[0]


def _printed_command(msg: str) -> str:
    return "ffmpeg " + msg.split("ffmpeg ", 1)[1].split(" color_cfr.mkv", 1)[0] + " color_cfr.mkv"


def test_the_printed_re_timing_is_one_shell_word_per_argument(tmp_path):
    """The filter holds ( ) and *, which a shell reads as syntax and a glob: pasted unquoted, bash
    stops at "syntax error near unexpected token '('". shlex with the shell's punctuation splits
    there as bash does; the filter must come through as one argument."""
    import shlex
    import shutil
    import subprocess

    with pytest.raises(PairingError) as err:
        list(pairs("exact", frames(DROPPED), frames(DEPTH), (STEP, STEP), NAMES))
    seq = _info("sequence", Fraction(30), None)
    with pytest.raises(PairingError) as err2:
        check_timing(_info("file", Fraction(2400, 83), Fraction(60)), seq, "colour")
    for cmd, filt in ((_printed_command(str(err.value)), "setpts=N/(8*TB)"),
                      (_printed_command(str(err2.value)), "setpts=N/(R*TB)")):
        words = list(shlex.shlex(cmd, posix=True, punctuation_chars=True))
        assert words[words.index("-vf") + 1] == filt, words
        if shutil.which("bash"):
            assert subprocess.run(["bash", "-n", "-c", cmd]).returncode == 0, cmd
    if shutil.which("ffmpeg"):  # the command itself, on a clip with a dropped frame
        src = write_video(tmp_path / "phone.mov", scene(6, (32, 24))[0], fmt="rgb24", rate=Fraction(8),
                          time_base=Fraction(1, 64), times=DROPPED)
        cmd = _printed_command(str(err.value)).replace("phone.mov", str(src)).replace(
            "color_cfr.mkv", str(tmp_path / "color_cfr.mkv"))
        run = subprocess.run(["bash", "-c", "ffmpeg -v error -nostdin " + cmd[len("ffmpeg "):]],
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                "frame=pts_time", "-of", "csv=p=0", str(tmp_path / "color_cfr.mkv")],
                               capture_output=True, text=True)
        assert [round(float(t), 3) for t in probe.stdout.split()] == DEPTH  # frame k at k / 8 s


def test_a_phone_that_drops_to_24_fps_gets_the_re_timing():
    """A phone at 30 fps in its 1/600 s time base (steps of 20 units) that drops to 24 fps in low light
    (25 units): colour 0, 20, 40, 65, 90, 115 / 600 s beside depth made from it at 30 fps. Colour 5
    (0.192 s) lies 25 ms from depth 5 (0.167 s), past half a frame: refused. Its steps differ by 5
    units, 8.3 ms, a quarter of a depth frame, which the threshold of a quarter frame + 2 units
    (11.7 ms) took for rounding: no advice at all. 8.3 ms is past a tenth of a frame + 2 units (6.7 ms)."""
    from igde_stream.stream import Frame

    phone = [Frame(i, p, p / 600, p / 600, np.zeros(1, np.uint8)) for i, p in enumerate([0, 20, 40, 65, 90, 115])]
    with pytest.raises(PairingError) as err:
        list(pairs("exact", phone, frames([k / 30 for k in range(6)]), (1 / 30, 1 / 30), NAMES))
    msg = str(err.value)
    assert "frame 5 (0.167 s) of the depth stream has no colour frame" in msg
    assert "steps of 33.3 to 41.7 ms: a variable frame rate" in msg
    assert 'ffmpeg -i phone.mov -vf "setpts=N/(30*TB)" -r 30 -c:v ffv1 color_cfr.mkv' in msg
