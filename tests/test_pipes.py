"""Pipes: depth (or colour and depth) on stdin, enhanced depth on stdout, and one input with two streams.

The command runs as a real process whose stdin / stdout are pipes; the containers fed to it and read
from it are made and parsed with PyAV (and, when the ``ffmpeg`` binary is installed, by FFmpeg
itself on both sides). Expected frames: the library's ``Enhancer`` on the same arrays.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import scene
from igde_stream.cli import main

ROOT = Path(__file__).resolve().parents[1]
RATE = Fraction(25)


def nut_bytes(tracks: list[tuple[str, list[np.ndarray]]], fmt: str = "nut") -> bytes:
    """A container in memory, one FFV1 stream per (pixel format, frames): rgb24 frames are stored as
    bgr0 (lossless), depth as given; frames interleaved like a muxer would."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        streams = []
        for pix_fmt, frames in tracks:
            s = out.add_stream("ffv1", rate=RATE)
            s.width, s.height = frames[0].shape[1], frames[0].shape[0]
            s.pix_fmt = "bgr0" if pix_fmt == "rgb24" else pix_fmt
            streams.append(s)
        for i in range(len(tracks[0][1])):
            for s, (pix_fmt, frames) in zip(streams, tracks):
                f = av.VideoFrame.from_ndarray(frames[i], format=pix_fmt)
                if pix_fmt == "rgb24":
                    f = f.reformat(format="bgr0")
                f.pts = i
                for p in s.encode(f):
                    out.mux(p)
        for s in streams:
            for p in s.encode(None):
                out.mux(p)
    return buf.getvalue()


def decode(data: bytes) -> tuple[str, list[np.ndarray], list[int]]:
    """(container format, depth frames as arrays, pts) of a stream read back with PyAV."""
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        frames = [(f.to_ndarray(), f.pts) for f in c.decode(s)]
        return c.format.name, [f for f, _ in frames], [p for _, p in frames]


def run_cli(args: list[str], stdin: bytes, tmp_path: Path) -> subprocess.CompletedProcess:
    import torch

    # the same intra-op thread count as the in-process Enhancer the frames are compared with: float
    # sums split over other thread counts may round a 16-bit level the other way
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": str(torch.get_num_threads())}
    return subprocess.run([sys.executable, "-m", "igde_stream", *args], input=stdin, capture_output=True,
                          cwd=tmp_path, env=env, timeout=300)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    colors, depths, _ = scene(6, (48, 32), bits=16)
    folder = tmp_path_factory.mktemp("pipe")
    (folder / "color.nut").write_bytes(nut_bytes([("rgb24", colors)]))
    return {"colors": colors, "depths": depths, "dir": folder, "color": folder / "color.nut"}


def test_depth_from_stdin_to_stdout_carries_only_the_container(clip, tiny_model, enhancer, tmp_path):
    r = run_cli([str(clip["color"]), "-", "-o", "-", "--model", str(tiny_model), "--backend", "torch"],
                nut_bytes([("gray16le", clip["depths"])]), tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    fmt, got, pts = decode(r.stdout)  # stdout parses as one NUT stream, nothing else in it
    assert fmt == "nut" and len(got) == 6 and got[0].dtype == np.uint16
    np.testing.assert_array_equal(np.stack(got), enhancer.enhance(np.stack(clip["colors"]), np.stack(clip["depths"])))
    assert b"wrote stdout: 6 frames" in r.stderr  # the summary went to stderr
    assert list(tmp_path.iterdir()) == []


def test_one_stdin_with_colour_and_depth_streams_to_matroska(clip, tiny_model, enhancer, tmp_path):
    data = nut_bytes([("gray16le", clip["depths"]), ("rgb24", clip["colors"])])  # depth first: found by format
    r = run_cli(["-", "-o", "-", "--format", "matroska", "--model", str(tiny_model), "--backend", "torch", "-q"],
                data, tmp_path)
    assert r.returncode == 0 and r.stderr == b"", r.stderr.decode()
    fmt, got, _ = decode(r.stdout)
    assert "matroska" in fmt and len(got) == 6
    np.testing.assert_array_equal(np.stack(got), enhancer.enhance(np.stack(clip["colors"]), np.stack(clip["depths"])))


@pytest.mark.parametrize("inputs", [["-", "-"], ["-"]])
def test_colour_and_depth_from_a_stdin_of_one_stream_say_how_to_send_both(clip, tiny_model, tmp_path, inputs):
    """``igde-stream - -`` (or ``-``) with one video stream piped: one line saying that stdin holds
    one stream and how to send two (the ffmpeg line that muxes both into one NUT), exit 2, nothing
    written. Before, it said to give the depth as a second input, which ``- -`` had done."""
    r = run_cli([*inputs, "-o", "out.mkv", "--model", str(tiny_model), "--backend", "torch", "-q"],
                nut_bytes([("rgb24", clip["colors"])]), tmp_path)
    err = r.stderr.decode().strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("igde-stream: error: -: colour and depth both read stdin, which holds one video stream "
                          "(bgr0): pipe one container holding both (ffmpeg -i COLOR -i DEPTH -map 0:v -map 1:v"), err
    assert "- DEPTH -o OUT" in err and "--packed rgbd" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cut", ["empty", "half"])
def test_a_pipe_that_ends_early_is_one_line_and_leaves_nothing(clip, tiny_model, tmp_path, cut):
    data = nut_bytes([("gray16le", clip["depths"])])
    data = b"" if cut == "empty" else data[: len(data) // 2]
    r = run_cli([str(clip["color"]), "-", "-o", "out.mkv", "--model", str(tiny_model), "--backend", "torch", "-q"],
                data, tmp_path)
    err = r.stderr.decode().strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and err.startswith("igde-stream: error: -: "), err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("share", [20, 50, 70])
def test_stdin_redirected_from_a_cut_file_is_one_line_about_the_data(clip, tiny_model, tmp_path, share):
    """``igde-stream C - < cut.nut``: stdin is then a regular file, which FFmpeg's NUT demuxer seeks in
    for its index; the damaged index pointer at the end of a cut file asks for an offset the file
    system refuses (EINVAL). The run ends as a piped cut does, on the data ("-: cannot decode ..." or
    "no video container"), never "cannot open: Invalid argument"; nothing is written. 20 % and 70 %
    of this file gave that EINVAL before stdin's seek caught it, 50 % did not."""
    data = nut_bytes([("gray16le", clip["depths"])])
    cut = tmp_path / "in" / "cut.nut"
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) * share // 100])
    out = tmp_path / "out"
    out.mkdir()
    with cut.open("rb") as stdin:
        r = subprocess.run([sys.executable, "-m", "igde_stream", str(clip["color"]), "-", "-o", "out.mkv", "--model",
                            str(tiny_model), "--backend", "torch", "-q"], stdin=stdin, capture_output=True, cwd=out,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    err = r.stderr.decode().strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and err.startswith("igde-stream: error: -: "), err
    assert "Invalid argument" not in err and ("decode" in err or "container" in err), err
    assert list(out.iterdir()) == []


class _RefusingFile(io.BytesIO):
    """A regular file whose file system refuses offsets from ``limit`` on (EINVAL), as ext4 does past
    its largest file size."""

    limit = 1 << 40

    def seek(self, offset, whence=0):
        if whence == os.SEEK_SET and offset >= self.limit:
            raise OSError(errno.EINVAL, "Invalid argument")
        return super().seek(offset, whence)


def test_stdin_seek_to_an_offset_the_file_system_refuses_lands_at_the_end():
    from igde_stream.stream.stdin_reader import StdinReader as _StdinReader

    stdin = _StdinReader(_RefusingFile(b"0123456789"))
    assert stdin.seek(4) == 4 and stdin.read(2) == b"45"  # an ordinary seek is the file's
    assert stdin.seek(1 << 50) == 10 and stdin.read(4) == b""  # refused: at the end, which reads as its end
    assert stdin.tell() == 10


def test_stdin_seek_keeps_other_errors():
    from igde_stream.stream.stdin_reader import StdinReader as _StdinReader

    class Pipe(io.BytesIO):
        def seek(self, offset, whence=0):
            raise OSError(errno.ESPIPE, "Illegal seek")

    with pytest.raises(OSError) as exc:
        _StdinReader(Pipe(b"x")).seek(0)
    assert exc.value.errno == errno.ESPIPE


def test_one_file_with_two_streams_and_explicit_stream_indexes(clip, tiny_model, enhancer, tmp_path, capsys):
    both = tmp_path / "rgbd.mkv"
    colors, depths = clip["colors"], [d >> 8 for d in clip["depths"]]  # 8-bit depth, stored as gray
    depths = [d.astype(np.uint8) for d in depths]
    both.write_bytes(nut_bytes([("rgb24", colors), ("gray", depths), ("gray", depths[::-1])], fmt="matroska"))
    base = ["--model", str(tiny_model), "--backend", "torch", "-q"]
    assert main([str(both), "-o", str(tmp_path / "a.mkv"), *base]) == 0  # default: stream 0 colour, 1 depth
    assert main([str(both), "-o", str(tmp_path / "b.mkv"), "--depth-stream", "2", *base]) == 0
    want = enhancer.enhance(np.stack(colors), np.stack(depths))
    want_rev = enhancer.enhance(np.stack(colors), np.stack(depths[::-1]))
    np.testing.assert_array_equal(np.stack(decode((tmp_path / "a.mkv").read_bytes())[1]), want)
    np.testing.assert_array_equal(np.stack(decode((tmp_path / "b.mkv").read_bytes())[1]), want_rev)
    assert main([str(both), "-o", str(tmp_path / "c.mkv"), "--color-stream", "3", *base]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("--color-stream 3: the input has 3 video streams (0..2)") and len(err.splitlines()) == 1
    assert not (tmp_path / "c.mkv").exists()


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="the ffmpeg binary is not installed (apt-get install ffmpeg)")
def test_ffmpeg_to_igde_stream_to_ffmpeg_is_frame_exact(clip, tiny_model, enhancer, tmp_path):
    import torch

    # the same intra-op thread count as the in-process Enhancer the frames are compared with: float
    # sums split over other thread counts may round a 16-bit level the other way
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": str(torch.get_num_threads())}
    src = tmp_path / "depth.mkv"
    src.write_bytes(nut_bytes([("gray16le", clip["depths"])], fmt="matroska"))
    out = tmp_path / "out.mkv"
    shell = (f"ffmpeg -v error -i {src} -c:v ffv1 -f nut - | "
             f"{sys.executable} -m igde_stream {clip['color']} - -o - -q --model {tiny_model} --backend torch | "
             f"ffmpeg -v error -f nut -i - -c:v copy {out}")
    r = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    _, got, pts = decode(out.read_bytes())
    assert len(got) == 6 and pts == sorted(pts) and len(set(pts)) == 6
    np.testing.assert_array_equal(np.stack(got), enhancer.enhance(np.stack(clip["colors"]), np.stack(clip["depths"])))
