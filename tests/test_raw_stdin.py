"""Raw depth frames on stdin: ``ffmpeg -i depth.mkv -f rawvideo -pix_fmt gray16le - | igde-stream
color.mkv - --size WxH --pix-fmt gray16le --fps R``, the way a live chain hands frames between
processes. Before, ``--size`` / ``--pix-fmt`` applied to ``.yuv`` / ``.raw`` files only and stdin
was always probed as a container: the run ended in "no video container on stdin", and the options
were passed over in silence.

Expected frames: the library's ``Enhancer`` on the same arrays, frame k at k / fps (what FFmpeg's
rawvideo demuxer gives); the byte counts of a cut frame from W x H x 2 (gray16le)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.cli import main

W, H, N = 40, 24, 5


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    colors, depths, _ = scene(N, (W, H), bits=16)
    folder = tmp_path_factory.mktemp("rawstdin")
    color = write_video(folder / "color.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(30))
    raw = b"".join(d.astype("<u2").tobytes() for d in depths)
    return {"colors": colors, "depths": depths, "color": color, "raw": raw}


def feed(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def read_back(path):
    with av.open(str(path)) as c:
        frames = [(f.to_ndarray(), f.time) for f in c.decode(video=0)]
    return np.stack([a for a, _ in frames]), [t for _, t in frames]


def test_raw_gray16_frames_on_stdin_are_enhanced_as_the_arrays(clip, tiny_model, enhancer, tmp_path, monkeypatch):
    feed(monkeypatch, clip["raw"])
    out = tmp_path / "out.mkv"
    rc = main([str(clip["color"]), "-", "--size", f"{W}x{H}", "--pix-fmt", "gray16le", "--fps", "30",
               "-o", str(out), "--model", str(tiny_model), "--backend", "torch", "-q"])
    assert rc == 0
    got, times = read_back(out)
    np.testing.assert_array_equal(got, enhancer.enhance(np.stack(clip["colors"]), np.stack(clip["depths"])))
    assert times == pytest.approx([k / 30 for k in range(N)], abs=5e-4)  # Matroska's 1 ms


def test_raw_stdin_cut_inside_a_frame_is_one_line_naming_the_bytes(clip, tiny_model, tmp_path, monkeypatch, capsys):
    per_frame = W * H * 2
    feed(monkeypatch, clip["raw"][: 3 * per_frame + 700])  # frames 0-2 whole, 700 bytes of frame 3
    out = tmp_path / "out.mkv"
    rc = main([str(clip["color"]), "-", "--size", f"{W}x{H}", "--pix-fmt", "gray16le", "--fps", "30",
               "-o", str(out), "--model", str(tiny_model), "--backend", "torch", "-q", "--pair", "nearest"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert err == (f"igde-stream: error: -: the stream ends inside frame 3 (after frame 2 at 0.067 s): only 700 of "
                   f"its {per_frame} bytes came: cut, or another --size / --pix-fmt")
    assert list(tmp_path.iterdir()) == []


def test_raw_stdin_beside_colour_of_another_rate_names_the_fps(clip, tiny_model, tmp_path, monkeypatch, capsys):
    feed(monkeypatch, clip["raw"])  # no --fps: read at 25, the colour runs at 30
    rc = main([str(clip["color"]), "-", "--size", f"{W}x{H}", "--pix-fmt", "gray16le",
               "-o", str(tmp_path / "out.mkv"), "--model", str(tiny_model), "--backend", "torch", "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and err.endswith("give --fps 30"), err
    assert list(tmp_path.iterdir()) == []


def test_raw_frames_on_stdin_without_size_say_what_raw_needs(clip, tiny_model, tmp_path, monkeypatch, capsys):
    feed(monkeypatch, clip["raw"])
    rc = main([str(clip["color"]), "-", "-o", str(tmp_path / "out.mkv"), "--model", str(tiny_model),
               "--backend", "torch", "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("igde-stream: error: -: no video container on stdin")
    assert err.endswith("raw depth frames on stdin need --size WxH and --pix-fmt NAME"), err


def test_a_container_on_stdin_beside_a_raw_ground_truth_file_stays_a_container(clip, tiny_model, enhancer, tmp_path,
                                                                                  monkeypatch):
    """--size / --pix-fmt describe the raw file there, as before: stdin is still probed."""
    gt = tmp_path / "gt.raw"
    gt.write_bytes(clip["raw"])
    buf = io.BytesIO()
    with av.open(buf, "w", format="nut") as out:
        s = out.add_stream("ffv1", rate=30)
        s.width, s.height, s.pix_fmt = W, H, "gray16le"
        for d in clip["depths"]:
            for p in s.encode(av.VideoFrame.from_ndarray(d, format="gray16le")):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    feed(monkeypatch, buf.getvalue())
    out = tmp_path / "out.mkv"
    rc = main([str(clip["color"]), "-", "--gt", str(gt), "--size", f"{W}x{H}", "--pix-fmt", "gray16le", "--fps", "30",
               "-o", str(out), "--model", str(tiny_model), "--backend", "torch", "-q"])
    assert rc == 0
    np.testing.assert_array_equal(read_back(out)[0],
                                  enhancer.enhance(np.stack(clip["colors"]), np.stack(clip["depths"])))


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command line (apt-get install ffmpeg)")
def test_ffmpeg_rawvideo_output_gives_the_file_run(clip, tiny_model, tmp_path, monkeypatch):
    """What FFmpeg sends down the pipe when it unwraps the depth (``-f rawvideo -pix_fmt gray16le -``)
    gives the frames and times of the run on the depth file."""
    depth = write_video(tmp_path / "depth.mkv", clip["depths"], fmt="gray16le", rate=Fraction(30))
    base = ["--model", str(tiny_model), "--backend", "torch", "-q"]
    assert main([str(clip["color"]), str(depth), "-o", str(tmp_path / "file.mkv"), *base]) == 0
    sent = subprocess.run(["ffmpeg", "-v", "error", "-i", str(depth), "-f", "rawvideo", "-pix_fmt", "gray16le", "-"],
                          capture_output=True, timeout=60, check=True).stdout
    feed(monkeypatch, sent)
    assert main([str(clip["color"]), "-", "--size", f"{W}x{H}", "--pix-fmt", "gray16le", "--fps", "30",
                 "-o", str(tmp_path / "pipe.mkv"), *base]) == 0
    a, ta = read_back(tmp_path / "file.mkv")
    b, tb = read_back(tmp_path / "pipe.mkv")
    np.testing.assert_array_equal(a, b)
    assert ta == tb


@pytest.mark.parametrize("given", [["--size", "40x24", "--pix-fmt", "gray16le"], ["--pix-fmt", "gray16le"]])
@pytest.mark.parametrize("inputs", [["c.mkv", "d.mkv"], ["rgbd.mkv"], ["c.mkv", "d.mkv", "--gt", "g.mkv"]])
def test_size_and_pix_fmt_without_raw_depth_are_a_usage_error(tmp_path, capsys, given, inputs):
    """They describe raw frames only; beside depth and ground truth that are videos (which describe
    themselves) they did nothing, in silence."""
    with pytest.raises(SystemExit) as e:
        main([*inputs, *given, "-o", str(tmp_path / "o.mkv")])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1, err
    names = " and ".join(o for o in given if o.startswith("--"))
    assert err.startswith(f"igde-stream: error: {names}: describe") and ".yuv / .raw file or - (stdin)" in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("inputs", [["c.mkv", "d.yuv"], ["c.mkv", "-"], ["c.mkv", "d.mkv", "--gt", "g.raw"]])
def test_size_and_pix_fmt_with_raw_depth_pass_the_option_check(inputs):
    from igde_stream.cli import _check_options, build_parser

    parser = build_parser()
    args = parser.parse_args([*inputs, "--size", "40x24", "--pix-fmt", "gray16le", "-o", "o.mkv"])
    _check_options(parser, args)  # no SystemExit


def test_packed_rgbd_on_stdin_is_never_raw():
    """A packed RGB-D stream is one colour-format stream: its depth half is not raw frames, whatever
    --size / --pix-fmt say (they describe a raw ground-truth file there)."""
    from igde_stream.stream.input_options import InputOptions

    opts = InputOptions(size=(W, H), pix_fmt="gray16le", packed="rgbd")
    assert not opts.stdin_is_raw("depth") and not opts.stdin_is_raw("color")
    assert InputOptions(size=(W, H), pix_fmt="gray16le").stdin_is_raw("depth")


def test_size_with_packed_stdin_and_no_raw_file_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["-", "--packed", "rgbd", "--size", f"{W}x{H}", "--pix-fmt", "gray", "-o", str(tmp_path / "o.mkv")])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and err.startswith("igde-stream: error: --size and --pix-fmt: describe raw"), err
