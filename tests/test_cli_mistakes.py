"""Natural user mistakes: each gets one line on stderr (exit 2, nothing written) or one warning line.

Argparse errors without the usage block, one input holding only a colour stream, colour and depth
swapped, ``-q`` silencing warnings, the depth-range advice and the unknown-model hint.
"""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream.cli import main

from conftest import scene, write_video


def run(argv, capsys):
    """(exit status, stdout, stderr) of ``igde-stream argv``, argparse's SystemExit included."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def clip(tmp_path):
    """A 64x48, 3-frame colour video (H.264, yuv420p) and its 8-bit gray depth (FFV1)."""
    colors, depths, _ = scene(3)
    return {"color": write_video(tmp_path / "color.mp4", colors, fmt="rgb24"),
            "depth": write_video(tmp_path / "depth.mkv", depths, fmt="gray"),
            "out": tmp_path / "out.mkv", "colors": colors, "depths": depths}


def model(tiny_model):
    return ["--model", tiny_model, "--backend", "torch"]


# 1. argparse errors: one line, no usage block, exit 2 -------------------------------------------------

@pytest.mark.parametrize("argv, prefix, message", [
    (["c.mp4", "d.mkv", "-o", "w.mkv", "--max-depth", "0"], "igde-stream", "--max-depth must be a finite number"),
    (["c.mp4", "d.mkv", "-o", "w.mkv", "--batch", "0"], "igde-stream", "--batch must be >= 1"),
    (["c.mp4", "d.mkv", "-o", "w.mkv", "--no-such-option"], "igde-stream", "unrecognized arguments"),
    (["c.mp4", "d.mkv"], "igde-stream", "-o OUT are required"),
    (["c.mp4", "d.mkv", "-o", "w.mkv", "--batch", "x"], "igde-stream", "invalid int value"),
    (["batch", "-j", "0"], "igde-stream", "JOBS is required"),
    (["batch", "jobs.csv", "-j", "0"], "igde-stream", "--jobs must be >= 1"),
    (["batch", "jobs.csv", "--nope"], "igde-stream", "unrecognized arguments"),
    (["views"], "igde-stream views", "required: command"),
    (["views", "render", "c.mp4", "d.mkv"], "igde-stream views", "required: -o/--out"),
    (["views", "render", "c.mp4", "d.mkv", "-o", "v.mkv", "--layout", "nope"], "igde-stream views",
     "invalid choice"),
    (["views", "quality", "c.mp4"], "igde-stream views", "required: --gt"),
])
def test_argparse_errors_are_one_line_without_usage(tmp_path, monkeypatch, capsys, argv, prefix, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"{prefix}: error: ") and message in err and "usage:" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["--help"], ["batch", "--help"], ["views", "render", "--help"]])
def test_help_still_prints_the_usage(capsys, argv):
    code, out, _ = run(argv, capsys)
    assert code == 0 and out.startswith("usage: igde-stream") and "--help" in out


# 2a. one input holding only a colour stream ------------------------------------------------------------

def test_one_colour_only_input_is_refused(clip, tiny_model, capsys):
    code, out, err = run([clip["color"], "-o", clip["out"], *model(tiny_model)], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"igde-stream: error: {clip['color']}: ")
    assert "same video stream" in err and "--packed rgbd" in err and "depth" in err
    assert not clip["out"].exists()


def test_one_depth_only_input_is_refused_by_the_api(clip, tiny_model):
    from igde_stream import enhance_file
    from igde_stream.errors import InputError

    with pytest.raises(InputError, match="same video stream"):
        enhance_file(clip["depth"], clip["depth"], clip["out"], model=tiny_model, backend="torch")
    assert not clip["out"].exists()


def test_a_packed_single_input_is_still_accepted(tmp_path, tiny_model, capsys):
    colors, depths, _ = scene(3)
    packed = [np.concatenate([c, np.repeat(d[..., None], 3, axis=2)], axis=1) for c, d in zip(colors, depths)]
    src = write_video(tmp_path / "packed.mkv", packed, fmt="rgb24", codec="ffv1")
    code, _, err = run([src, "--packed", "rgbd", "-o", tmp_path / "o.mkv", *model(tiny_model), "-q"], capsys)
    assert code == 0 and err == "" and (tmp_path / "o.mkv").exists()


# 2b. colour and depth swapped -------------------------------------------------------------------------

def swapped_lines(err):
    return [line for line in err.splitlines() if "may be swapped" in line]


def test_swapped_inputs_warn_in_one_line_then_the_colour_is_refused_as_depth(clip, tiny_model, capsys):
    """The warning names the swap; then the colour video, read as depth, is refused for its chroma
    (a colour picture, not a depth map): exit 2, one error line, no output."""
    code, _, err = run([clip["depth"], clip["color"], "-o", clip["out"], *model(tiny_model)], capsys)
    assert code == 2 and not clip["out"].exists()
    (line,) = swapped_lines(err)
    assert line.startswith("igde-stream: ") and "gray" in line and "yuv420p" in line
    assert "colour format" in line
    (error,) = [x for x in err.splitlines() if "error" in x]
    assert "chroma is far from neutral" in error and "not a depth map" in error


def test_monochrome_colour_warns_without_calling_the_depth_colour(clip, tmp_path, tiny_model, capsys):
    mono = write_video(tmp_path / "mono.mkv", [c[..., 1] for c in clip["colors"]], fmt="gray")
    code, _, err = run([mono, clip["depth"], "-o", clip["out"], *model(tiny_model)], capsys)
    assert code == 0
    (line,) = swapped_lines(err)
    assert "may be swapped" in line and "colour format" not in line


def test_colour_then_depth_says_nothing_about_swapping(clip, tiny_model, capsys):
    code, _, err = run([clip["color"], clip["depth"], "-o", clip["out"], *model(tiny_model)], capsys)
    assert code == 0 and swapped_lines(err) == []


# 3. -q: errors only -----------------------------------------------------------------------------------

def test_quiet_silences_the_lossy_codec_and_depth_range_warnings(clip, tmp_path, tiny_model, capsys):
    flat = write_video(tmp_path / "flat.mkv", [np.full((48, 64), 40 + i, np.uint8) for i in range(3)], fmt="gray")
    code, out, err = run([clip["color"], flat, "-o", clip["out"], "--codec", "libx264", "-q", *model(tiny_model)],
                         capsys)
    assert code == 0 and out == "" and err == ""


def test_without_quiet_the_range_warning_has_the_prefix_and_names_the_option(clip, tmp_path, tiny_model, capsys):
    flat = write_video(tmp_path / "flat.mkv", [np.full((48, 64), 40 + i, np.uint8) for i in range(3)], fmt="gray")
    code, _, err = run([clip["color"], flat, "-o", clip["out"], *model(tiny_model)], capsys)
    (line,) = [x for x in err.splitlines() if "span only" in x]
    assert code == 0 and line.startswith("igde-stream: ")
    assert "--max-depth" in line and "max_depth" not in line and "e.g. 42" in line


# 4. the depth-range advice ----------------------------------------------------------------------------

def test_no_max_depth_advice_for_depth_at_the_peak():
    from igde_stream.enhancer import warn_depth_range

    assert warn_depth_range(np.full((48, 64), 255, np.uint8), 255) == []
    assert warn_depth_range(np.full((48, 64), 65535, np.uint16), 65535) == []
    near_peak = np.full((48, 64), 240, np.uint8)
    near_peak[:, 32:] = 250
    assert warn_depth_range(near_peak, 255) == []


def test_max_depth_advice_below_the_peak_names_the_api_parameter():
    from igde_stream.enhancer import warn_depth_range

    low = np.full((48, 64), 40, np.uint8)
    low[:, 32:] = 60
    (said,) = warn_depth_range(low, 255)
    assert "span only" in said and "max_depth" in said and "--max-depth" not in said and "e.g. 60" in said


# 5. the unknown-model hint ----------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_unknown_model_hint_is_right_for_a_pip_install(clip, capsys, backend):
    code, _, err = run([clip["color"], clip["depth"], "-o", clip["out"], "--model", "nosuch",
                        "--backend", backend], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "tools/export_onnx.py" not in err
    assert "igde-small" in err and "igde-small-hq" in err and ".onnx" in err and ".pt" in err


def test_views_quality_warnings_carry_the_views_prefix_and_the_option_name(clip, tmp_path, tiny_model, capsys):
    """``views`` logs through the same setup as the main command (``cli_logging``): the Enhancer's
    range warning of ``--enhance`` reads ``igde-stream views: ... --max-depth``, not the bare API text."""
    from igde_stream.views_cli import main as views_main

    flat = write_video(tmp_path / "flat.mkv", [np.full((48, 64), 40 + i, np.uint8) for i in range(3)], fmt="gray")
    code = views_main(["quality", str(clip["color"]), "--gt", str(clip["depth"]), "--depth", f"flat={flat}",
                       "--enhance", "flat", *map(str, model(tiny_model))])
    err = capsys.readouterr().err
    # two readings of the flat file: the views' (naming the file, since several depths may be compared)
    # and the model input's (the Enhancer's own text)
    lines = [x for x in err.splitlines() if "span only" in x]
    assert code == 0 and len(lines) == 2 and sum(f"{flat}: depth values span only" in x for x in lines) == 1
    for line in lines:
        assert line.startswith("igde-stream views: ") and "--max-depth" in line and "max_depth" not in line


# 6. a container that cannot hold the codec ------------------------------------------------------------

def test_default_codec_in_a_container_without_it_says_what_to_use(clip, tmp_path, tiny_model, capsys):
    out = tmp_path / "out.mov"  # FFmpeg's mov muxer takes no FFV1
    code, _, err = run([clip["color"], clip["depth"], "-o", out, "-q", *model(tiny_model)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "'mov' format does not support 'ffv1'" in err
    # what FFmpeg writes losslessly in QuickTime instead (tests/test_post_codecs.py reads them back)
    assert err.rstrip().endswith("use .mkv or .nut, or --codec png, tiff or dpx (lossless gray) in .mov")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["color.mp4", "depth.mkv"]  # no partial output


def test_another_codec_that_the_container_refuses_points_to_the_default(clip, tmp_path, tiny_model, capsys):
    """``-o out.mkv --codec png``: FFmpeg's Matroska muxer takes no PNG. The hint must not tell a user
    whose output already is .mkv to use .mkv."""
    out = tmp_path / "out.mkv"
    code, _, err = run([clip["color"], clip["depth"], "-o", out, "--codec", "png", "-q", *model(tiny_model)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "'matroska' format does not support 'png'" in err
    assert err.rstrip().endswith("use --codec ffv1 (the default, in .mkv or .nut), or a container that takes png")
    assert not out.exists()


@pytest.mark.parametrize("backend", ["auto", "onnxruntime", "torch"])
def test_a_video_given_as_the_model_is_named_as_not_a_model_file(clip, tmp_path, backend, capsys, monkeypatch):
    """``--model depth.mkv`` (an existing file of another kind, in the working folder): the error says
    it is not a model file, not that it is "not a file" nor that no shipped model has that name."""
    monkeypatch.chdir(clip["depth"].parent)
    code, _, err = run([clip["color"], clip["depth"], "-o", tmp_path / "o.mkv", "--model", clip["depth"].name,
                        "--backend", backend], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"{clip['depth'].name}: not a model file (give a shipped model name, or a .onnx, .pt" in err
    assert "not a file" not in err and "no shipped" not in err


@pytest.mark.parametrize("name,message", [
    ("out.yuv", "a .yuv output holds uncompressed frames, not ffv1: use --codec rawvideo with .yuv, or .mkv"),
    ("out.y4m", "a .y4m output holds uncompressed frames (--codec wrapped_avframe), not ffv1: use .mkv for FFV1"),
    ("frames/%06d.jpg", "image-sequence outputs are .exr, .jp2, .pfm, .pgm, .png, .ppm, .tif, .tiff (depth kept exactly), not .jpg"),
    ("frames/%06d.bmp", "not .bmp"),
])
def test_outputs_that_would_hold_wrong_bytes_are_refused_up_front(clip, tmp_path, tiny_model, capsys, name, message):
    """FFV1 packets in a raw .yuv (exit 0 before, an unreadable file), a .y4m muxer that refused FFV1 at
    the first frame (a traceback, exit 1), a lossy image pattern (a message about a missing folder or
    the ffv1 encoder): one line each, exit 2, nothing written."""
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = run([clip["color"], clip["depth"], "-o", tmp_path / name, "-q", *model(tiny_model)], capsys)
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_raw_output_with_rawvideo_holds_the_frames(clip, tmp_path, tiny_model, capsys):
    out = tmp_path / "out.yuv"
    code, _, _ = run([clip["color"], clip["depth"], "-o", out, "--codec", "rawvideo", "-q", *model(tiny_model)], capsys)
    assert code == 0 and out.stat().st_size == 3 * 64 * 48  # 3 gray frames of 64 x 48, one byte a sample


def test_quiet_silences_the_x265_library_too(clip, tmp_path, tiny_model, capfd):
    """x265 writes its banner and statistics straight to the process's stderr (not through Python):
    its own log level is set to errors."""
    from igde_stream.cli import main

    code = main([str(clip["color"]), str(clip["depth"]), "-o", str(tmp_path / "x.mkv"), "--codec", "libx265", "-q",
                 *map(str, model(tiny_model))])
    assert code == 0 and "x265 [" not in capfd.readouterr().err
