"""With --no-audio the colour's sound is not carried into the views or RGB-D (by default it is:
tests/test_views_audio.py): after writing them from a colour file with audio, one line says so and gives the FFmpeg command that adds it back (copied where the
output's container holds the codec, else coded to AAC). The command is run where the ffmpeg command
line is installed, and the result read back: the picture stream untouched, the sound beside it."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from conftest import scene, write_video
from test_views_audio import _with_sound as _clip_with_sound
from igde_stream.stream.sound import sound_note
from igde_stream.views_cli import main as views_main


def _with_sound(path, colors, codec):
    """Colour frames (H.264) and 0.2 s of a 440 Hz tone in ``codec`` in one file (PyAV)."""
    return _clip_with_sound(path, colors, codec, seconds=0.2)


def _streams(path):
    import av

    with av.open(str(path)) as c:
        return [s.type for s in c.streams]


def _stereo(path):
    """The "Stereo 3D" type ffprobe reads from the file's container (st3d, StereoMode), or None."""
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "stream_side_data=type", "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True)
    return r.stdout.strip() or None


# a stereo pair in MP4 / MOV keeps its st3d box through FFmpeg only with -strict unofficial, and only
# into an MP4 (FFmpeg writes st3d in no MOV); Matroska's StereoMode is copied as it is
@pytest.mark.parametrize("suffix, codec, layout, out_name, audio, result, stereo", [
    (".mp4", "aac", "sbs", "sbs.mp4", "-c copy -strict unofficial", "sbs_sound.mp4", "side by side"),
    (".mov", "pcm_s16le", "sbs", "sbs.mp4", "-c:v copy -c:a aac -strict unofficial", "sbs_sound.mp4", "side by side"),
    (".mp4", "aac", "tab", "sbs.mov", "-c copy -strict unofficial", "sbs_sound.mp4", "top and bottom"),
    (".mov", "pcm_s16le", "sbs", "sbs.mkv", "-c copy", "sbs_sound.mkv", "side by side"),
    (".mp4", "aac", "grid", "sbs.mp4", "-c copy", "sbs_sound.mp4", None)])
def test_views_of_a_colour_with_sound_say_how_to_add_it(tmp_path, capsys, suffix, codec, layout, out_name, audio,
                                                        result, stereo):
    colors, depths, _ = scene(3, (32, 24))
    color = _with_sound(tmp_path / f"phone{suffix}", colors, codec)
    assert _streams(color) == ["video", "audio"]
    depth = write_video(tmp_path / "depth.mkv", depths, fmt="gray", rate=Fraction(25))
    out = tmp_path / out_name
    assert views_main(["render", str(color), str(depth), "-o", str(out), "--layout", layout, "--codec", "h264", "--no-audio"]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "has sound" in line]
    assert said == [f"{color} has sound (1 audio stream: {codec}), which the views and RGB-D files do not carry: to "
                    f"add it, ffmpeg -i {out} -i {color} -map 0:v -map 1:a {audio} {tmp_path / result}"]
    if shutil.which("ffmpeg") is None:
        pytest.skip("the ffmpeg command line runs the advice")
    cmd = shlex.split(said[0].split("to add it, ", 1)[1])
    subprocess.run([cmd[0], "-v", "error", *cmd[1:]], check=True)
    assert sorted(_streams(tmp_path / result)) == ["audio", "video"]
    assert _stereo(out) == stereo and _stereo(tmp_path / result) == stereo


@pytest.mark.parametrize("layout, stereo", [("sbs", "side by side"), ("grid", None)])
def test_ffv1_in_mp4_is_remuxed_into_matroska(tmp_path, capsys, layout, stereo):
    """FFV1 views in MP4: the system's ffmpeg (5.1 here) has no MP4 tag for FFV1 ("Could not find tag
    for codec ffv1"), so an .mp4 result fails; the .mkv named runs, keeps the pair's packing (StereoMode)
    and copies the PCM sound as it is."""
    colors, depths, _ = scene(3, (32, 24))
    color = _with_sound(tmp_path / "phone.mov", colors, "pcm_s16le")
    depth = write_video(tmp_path / "depth.mkv", depths, fmt="gray", rate=Fraction(25))
    out = tmp_path / "v.mp4"
    assert views_main(["render", str(color), str(depth), "-o", str(out), "--layout", layout, "--codec", "ffv1", "--no-audio"]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "has sound" in line]
    assert len(said) == 1 and said[0].endswith(f"-map 0:v -map 1:a -c copy {tmp_path / 'v_sound.mkv'}")
    if shutil.which("ffmpeg") is None:
        pytest.skip("the ffmpeg command line runs the advice")
    cmd = shlex.split(said[0].split("to add it, ", 1)[1])
    subprocess.run([cmd[0], "-v", "error", *cmd[1:]], check=True)
    assert sorted(_streams(tmp_path / "v_sound.mkv")) == ["audio", "video"]
    assert _stereo(out) == stereo and _stereo(tmp_path / "v_sound.mkv") == stereo


def test_one_pass_stereo_views_get_the_st3d_advice(make_clip, tiny_model, capsys):
    """The main command's --views-out asks the same: an MP4 pair is told -strict unofficial."""
    from igde_stream import cli

    clip = make_clip(n=2, color_ext=".mkv", rate=Fraction(25))
    color = _with_sound(clip["color"].parent / "phone.mp4", [np.asarray(f) for f in clip["colors"]], "aac")
    out = clip["out"].parent / "v.mp4"
    assert cli.main([str(color), str(clip["depth"]), "-o", str(clip["out"]), "--views-out", str(out), "--layout", "sbs",
                     "--views-codec", "h264", "--no-audio", "--model", str(tiny_model), "--backend", "torch"]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "has sound" in line]
    assert len(said) == 1 and said[0].endswith(f"-c copy -strict unofficial {out.with_name('v_sound.mp4')}")


def test_no_sound_no_line(tmp_path):
    colors, _, _ = scene(2, (32, 24))
    color = write_video(tmp_path / "c.mp4", colors, fmt="rgb24")
    assert sound_note(str(color), [tmp_path / "v.mp4"]) == ""
    assert sound_note("-", [tmp_path / "v.mp4"]) == "" and sound_note("c/%04d.png", ["v.mp4"]) == ""


def test_a_run_without_views_or_rgbd_does_not_open_the_colour_again(tmp_path, monkeypatch):
    """Every igde-stream run asks for the note at its end; one that wrote no views or RGB-D file (the
    depth only, or an image pattern) must not probe the colour file a second time for its sound."""
    import av

    color = _with_sound(tmp_path / "c.mp4", scene(2, (32, 24))[0], "aac")
    opened = []
    real = av.open
    monkeypatch.setattr(av, "open", lambda *a, **k: opened.append(a[0]) or real(*a, **k))
    assert sound_note(str(color), []) == ""
    assert sound_note(str(color), [str(tmp_path / "views" / "%04d.png"), "-"]) == ""
    assert opened == []
    assert "has sound" in sound_note(str(color), [str(tmp_path / "v.mkv")]) and opened == [str(color)]
